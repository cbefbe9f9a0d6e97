"""Where a command's CPU goes on this machine: CPU-seconds by kind of process, sampled from /proc.

    python -m scripts.cpu_by_process -- .venv/bin/python -m pytest      # the suite, say

Runs the command and, every ``--every`` seconds while it runs, reads every process's user + system time
from ``/proc/PID/stat`` (the whole machine's, not only the command's: a suite's servers, browsers and
databases are not all its descendants). A process is counted from its first sighting to its last, so
one that lives less than a sample is missed, and one that was already running counts only what it spent
during the run. At the end it prints the wall time, the machine's busy and idle core-seconds from
``/proc/stat``, and a table of CPU-seconds and process counts per kind, and exits with the command's
status. Session 36 used it to find that the suite is CPU-bound (docs/extending.md).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

HZ = os.sysconf("SC_CLK_TCK")

# (what the command line or name contains, the kind it is counted as), first match wins
KINDS = [
    ("chrom", "chromium"), ("gunicorn", "gunicorn"), ("celery", "celery"), ("-m jobs clock", "jobs clock"),
    ("multiprocessing", "spawned child"), ("-m jobs", "jobs command"), ("pytest", "pytest"),
    ("import sys;exec(eval(sys.stdin", "pytest worker"), ("node", "node (Playwright)"), ("postgres", "postgres"),
    ("redis", "redis"), ("beam", "rabbitmq"), ("prometheus", "prometheus"), ("python", "python, other"),
]


def kind(command: str) -> str:
    """The kind a process is counted as, from its command line (or its name where it has none)."""
    return next((name for part, name in KINDS if part in command), "other")


def _cpu_seconds(pid: str) -> tuple[tuple[int, int], float, str] | None:
    """((pid, start time), user + system seconds, command line) of one process, or None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2:].split()
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except (OSError, ValueError):
        return None
    name = stat[stat.index("(") + 1:stat.rindex(")")]
    return (int(pid), int(fields[19])), (int(fields[11]) + int(fields[12])) / HZ, command or name


def _machine() -> list[int]:
    return [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]


def sample_while(proc: subprocess.Popen, every: float) -> tuple[Counter, Counter]:
    """CPU-seconds and process counts per kind, spent while ``proc`` runs."""
    first: dict[tuple[int, int], float] = {}  # what a process had spent when first seen, if it ran before
    last: dict[tuple[int, int], tuple[float, str]] = {}
    started = True
    while True:
        done = proc.poll() is not None
        for pid in filter(str.isdigit, os.listdir("/proc")):
            seen = _cpu_seconds(pid)
            if seen is None:
                continue
            key, cpu, command = seen
            if key not in last:
                first[key] = cpu if started else 0.0
            last[key] = (cpu, command)
        started = False
        if done:
            break
        time.sleep(every)
    seconds, count = Counter(), Counter()
    for key, (cpu, command) in last.items():
        seconds[kind(command)] += cpu - first[key]
        count[kind(command)] += 1
    return seconds, count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--every", type=float, default=0.5, help="seconds between samples (default 0.5)")
    parser.add_argument("command", nargs="+", help="the command to run, after --")
    args = parser.parse_args(argv)
    if not 0.01 <= args.every <= 60:
        parser.error(f"--every must be between 0.01 and 60 seconds, got {args.every}")
    before, began = _machine(), time.monotonic()
    proc = subprocess.Popen(args.command)
    seconds, count = sample_while(proc, args.every)
    spent = [b - a for a, b in zip(before, _machine())]
    busy, idle = (sum(spent) - spent[3] - spent[4]) / HZ, (spent[3] + spent[4]) / HZ  # idle and iowait
    print(f"wall {time.monotonic() - began:.1f} s; machine busy {busy:.0f} core-s, idle {idle:.0f} core-s",
          file=sys.stderr)
    for name, cpu in seconds.most_common():
        print(f"{cpu:9.1f} CPU-s {count[name]:5d} processes  {name}", file=sys.stderr)
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
