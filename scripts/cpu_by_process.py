"""Where a command's CPU goes on this machine: CPU-seconds by kind of process, sampled from /proc.

    python -m scripts.cpu_by_process -- .venv/bin/python -m pytest      # the suite, say

Runs the command and, every ``--every`` seconds while it runs, reads every process's user + system time
(psutil, from /proc: the whole machine's, not only the command's: a suite's servers, browsers and
databases are not all its descendants). A process is counted from its first sighting to its last, so
one that lives less than a sample is missed, and one that was already running counts only what it spent
during the run. At the end it prints the wall time, the machine's busy and idle core-seconds, and a
table of CPU-seconds and process counts per kind, and exits with the command's status; ``--top N`` also
lists the N costliest command lines, ``--timeline S`` the idle core-seconds in each S-second interval.
Session 36 used it to find that the suite is CPU-bound (docs/extending.md).
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable

import psutil

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


def _processes() -> list[tuple[tuple[int, float], float, str | None]]:
    """Every process now: ((pid, start time), user + system seconds, command line), the command line None
    where /proc has none: a kernel thread, or a process that ended and is not yet reaped (a zombie)."""
    seen = []
    for proc in psutil.process_iter(["cmdline", "create_time", "cpu_times"]):
        info = proc.info
        if info["cpu_times"] is None:  # gone while we looked, or not ours to read
            continue
        command = " ".join(info["cmdline"] or []) or None
        seen.append(((proc.pid, info["create_time"]), info["cpu_times"].user + info["cpu_times"].system, command))
    return seen


def _name(pid: int) -> str:
    """A process's name, for one seen only without a command line ("" once it is gone)."""
    try:
        return psutil.Process(pid).name()
    except psutil.Error:
        return ""


def _idle(times) -> float:
    """The idle core-seconds (idle, or waiting on a disk) in ``psutil.cpu_times()``, since the machine booted."""
    return times.idle + getattr(times, "iowait", 0.0)


def sample_while(proc: subprocess.Popen, every: float,
                 idle_log: list[tuple[float, float]] | None = None) -> list[tuple[float, str]]:
    """(CPU-seconds spent while ``proc`` runs, command line) of every process seen; each sample also
    appends (monotonic seconds, the machine's idle core-seconds) to ``idle_log`` when one is given."""
    first: dict[tuple[int, float], float] = {}  # what a process had spent when first seen, if it ran before
    last: dict[tuple[int, float], tuple[float, str]] = {}
    try:  # anything started with or after the command counts from nothing, even if the first sample finds it
        since = psutil.Process(proc.pid).create_time()
    except psutil.Error:
        since = time.time()
    while True:
        done = proc.poll() is not None
        for key, cpu, command in _processes():
            if key not in last:
                first[key] = cpu if key[1] < since else 0.0
            # A zombie's /proc entry has no command line: it keeps the one it was last seen with (a process
            # that renames itself, such as a Chromium renderer forked from its zygote, takes its new one).
            last[key] = (cpu, command or (last[key][1] if key in last else _name(key[0])))
        if idle_log is not None:
            idle_log.append((time.monotonic(), _idle(psutil.cpu_times())))
        if done:
            break
        time.sleep(every)
    return [(cpu - first[key], command) for key, (cpu, command) in last.items()]


def tally(spent: list[tuple[float, str]], label: Callable[[str], str] = kind) -> tuple[Counter, Counter]:
    """CPU-seconds and process counts per ``label`` of the command line (its kind, by default)."""
    seconds, count = Counter(), Counter()
    for cpu, command in spent:
        seconds[label(command)] += cpu
        count[label(command)] += 1
    return seconds, count


def idle_by_interval(idle_log: list[tuple[float, float]], began: float, width: float) -> list[float]:
    """The machine's idle core-seconds in each ``width``-second interval from ``began``: where in a run
    the cores stood idle (its start, a module that waits alone, its tail)."""
    buckets: list[float] = []
    for (_, idle_before), (at, idle_after) in zip(idle_log, idle_log[1:]):
        k = int((at - began) // width)
        buckets.extend([0.0] * (k + 1 - len(buckets)))
        buckets[k] += idle_after - idle_before
    return buckets


def _head(command: str, width: int = 90) -> str:
    """A command line on one line, cut to ``width`` characters, with the venv's path shortened: processes that differ
    only in their arguments' tails (a temporary folder, a port) count together."""
    short = command.replace(sys.prefix + "/bin/", "").replace(sys.base_prefix + "/bin/", "")
    return " ".join(short.split())[:width]  # one line: a ``-c`` program's newlines become spaces


def _print_table(seconds: Counter, count: Counter, rows: int | None = None) -> None:
    """One line per label, costliest first: CPU-seconds, processes, label (the first ``rows`` only)."""
    for name, cpu in seconds.most_common(rows):
        print(f"{cpu:9.1f} CPU-s {count[name]:5d} processes  {name}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--every", type=float, default=0.5, help="seconds between samples (default 0.5)")
    parser.add_argument("--top", type=int, default=0, metavar="N",
                        help="also list the N costliest command lines (their first 90 characters)")
    parser.add_argument("--timeline", type=float, default=0, metavar="SECONDS",
                        help="also print the machine's idle core-seconds in each interval of this many seconds "
                             "(each gap between two samples counts in the interval it ends in; the last is partial)")
    parser.add_argument("command", nargs="+", help="the command to run, after --")
    args = parser.parse_args(argv)
    if not 0.01 <= args.every <= 60:
        parser.error(f"--every must be between 0.01 and 60 seconds, got {args.every}")
    if not 0 <= args.top <= 1000:
        parser.error(f"--top must be between 0 and 1000, got {args.top}")
    if args.timeline and not args.every <= args.timeline <= 3600:
        parser.error(f"--timeline must be between --every ({args.every}) and 3600 seconds, got {args.timeline}")
    before, began = psutil.cpu_times(), time.monotonic()
    idle_log = [(began, _idle(before))]
    proc = subprocess.Popen(args.command)
    spent = sample_while(proc, args.every, idle_log)
    after = psutil.cpu_times()
    idle = _idle(after) - _idle(before)
    busy = sum(after) - sum(before) - idle
    print(f"wall {time.monotonic() - began:.1f} s; machine busy {busy:.0f} core-s, idle {idle:.0f} core-s",
          file=sys.stderr)
    _print_table(*tally(spent))
    if args.top:
        print(f"the {args.top} costliest command lines:", file=sys.stderr)
        _print_table(*tally(spent, _head), rows=args.top)
    if args.timeline:
        per_interval = idle_by_interval(idle_log, began, args.timeline)
        print(f"idle core-s per {args.timeline:g} s: " + " ".join(f"{v:.0f}" for v in per_interval), file=sys.stderr)
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
