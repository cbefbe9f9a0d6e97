"""How fast this machine is at what the test suite mostly does, against the machine the suite's figures came from.

    python -m scripts.machine_speed [--rounds 3]

Machines of the same kind (2 cores) have differed by more than two to one from one day to the next: the
same code ran the whole suite in 693.6-747.6 s on one and in 1,730-1,951 s on another (docs/extending.md). A
suite time means little without the speed of the machine it was measured on, so this prints two figures:

- the CPU-seconds of a new interpreter that imports TensorFlow and Keras, which about 110 processes of a
  suite run do before any work of their own (it is shared libraries and thousands of Python modules, like
  most of the suite's CPU);
- the CPU-seconds of a fixed pure-Python loop (the interpreter alone).

Each is the median of ``--rounds``. The import is also compared with the machine on which the suite met its
12-minute line. It is a guide to the machine, not a prediction of the suite: on the machine of 2026-12-05's
second session the import took 5.4-6.9 CPU-s (the machine slowed within the session), 1.8-2.9x the
reference, and the suite 2.3-2.8x its time.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

IMPORT = [sys.executable, "-c", "import tensorflow, keras"]
LOOP_STEPS = 10_000_000
# The machine of 2026-12-05 on which the same suite took 693.6-747.6 s (session 37): its import figures.
REFERENCE_IMPORT_CPU_S = (2.4, 2.9)
REFERENCE_SUITE_S = (693.6, 747.6)


def child_cpu_seconds(argv: list[str]) -> float:
    """User plus system CPU-seconds of ``argv`` run to its end as a child process (which must succeed).
    ``os.wait4`` gives that one child's usage: the whole-children total of ``getrusage`` would also count any
    other child this process happened to reap meanwhile."""
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait for it again
    if proc.returncode != 0:
        raise subprocess.CalledProcessError(proc.returncode, argv)
    return usage.ru_utime + usage.ru_stime


def loop_cpu_seconds(steps: int = LOOP_STEPS) -> float:
    """CPU-seconds of ``steps`` additions in a plain Python loop, in this process."""
    started, total = time.process_time(), 0
    for i in range(steps):
        total += i
    return time.process_time() - started


def _rounds(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= 20:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to 20, not {text!r}")
    return int(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=_rounds, default=3, help="measurements of each figure, 1-20 (default 3)")
    rounds = parser.parse_args(argv).rounds
    imports = [child_cpu_seconds(IMPORT) for _ in range(rounds)]
    loops = [loop_cpu_seconds(LOOP_STEPS) for _ in range(rounds)]
    imported, looped = statistics.median(imports), statistics.median(loops)
    print(f"import tensorflow, keras: {imported:.2f} CPU-s (median of {rounds}: "
          f"{', '.join(f'{v:.2f}' for v in imports)})")
    print(f"python loop of {LOOP_STEPS:,} additions: {looped:.2f} CPU-s")
    low, high = (imported / ref for ref in reversed(REFERENCE_IMPORT_CPU_S))
    print(f"against the machine where the suite took {REFERENCE_SUITE_S[0]}-{REFERENCE_SUITE_S[1]} s (its import "
          f"{REFERENCE_IMPORT_CPU_S[0]}-{REFERENCE_IMPORT_CPU_S[1]} CPU-s): {low:.1f}-{high:.1f}x its CPU time")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
