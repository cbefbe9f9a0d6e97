"""What starting the web costs: gunicorn as the Procfile runs it, booted to /healthz, side by side.

    python -m scripts.bench_web_boot --baseline /tmp/baseline-main      # 5 boots per checkout, 2 workers
    python -m scripts.bench_web_boot --workers 3 --runs 3

For each checkout (this tree, and ``--baseline`` for another one, booted alternately in the same run)
gunicorn starts on an empty SQLite store with ``--workers N``. Once ``/healthz`` answers and every worker
has booted (the tree's CPU stops growing) the script reads, over the whole process tree (psutil):

- the CPU seconds spent booting (user + system, master and workers);
- the memory: the sum of each process's PSS (pages shared between the master and the workers it forked
  counted once, split between them) beside the sum of RSS (shared pages counted in every process).

It prints each checkout's median and the change. Heroku restarts a dyno's web at least daily and gunicorn
replaces a worker that dies or times out, so boot CPU is paid in production too, not only by the tests.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from scripts.process_tree import process_tree, tree_cpu_seconds
from scripts.web_server import WebServer

ROOT = Path(__file__).resolve().parents[1]
MIB = 2**20


def _settled(pid: int, timeout: float = 60) -> float:
    """The tree's CPU seconds once it stops growing (under 0.05 s in a second): every worker has booted."""
    deadline, last = time.monotonic() + timeout, tree_cpu_seconds(pid)
    while time.monotonic() < deadline:
        time.sleep(1.0)
        now = tree_cpu_seconds(pid)
        if now - last < 0.05:
            return now
        last = now
    raise RuntimeError(f"the web's CPU was still growing after {timeout:g} s")


def boot_once(checkout: Path, workers: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        env = {"DATABASE_URL": f"sqlite:///{tmp}/store.db", "CACHE_DIR": f"{tmp}/cache", "DATA_DIR": f"{tmp}/data",
               "PRICE_SOURCE": "offline", "ADMIN_PASSWORD": "bench-only-password-1234"}
        with WebServer(env, workers=workers, cwd=checkout, log_path=Path(tmp) / "web.log") as server:
            cpu = _settled(server.proc.pid)
            tree = process_tree(server.proc.pid)
            mem = [p.memory_full_info() for p in tree]
            return {"ready_s": server.ready_after_s, "cpu_s": cpu, "pss_mib": sum(m.pss for m in mem) / MIB,
                    "rss_mib": sum(m.rss for m in mem) / MIB, "processes": len(tree)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, help="another checkout to boot beside this one")
    parser.add_argument("--workers", type=int, default=2, choices=range(1, 9), metavar="1-8")
    parser.add_argument("--runs", type=int, default=5, choices=range(1, 51), metavar="1-50")
    args = parser.parse_args(argv)
    if args.baseline is not None and not (args.baseline / "dashboard" / "app.py").is_file():
        raise SystemExit(f"error: --baseline {args.baseline} is not a checkout of this project (no dashboard/app.py)")
    checkouts = [("this tree", ROOT)] + ([("baseline", args.baseline.resolve())] if args.baseline else [])
    results: dict[str, list[dict[str, float]]] = {name: [] for name, _ in checkouts}
    for run in range(args.runs):
        for name, path in checkouts:  # alternated, so both see the same machine
            results[name].append(boot_once(path, args.workers))
            r = results[name][-1]
            print(f"run {run + 1}/{args.runs} {name:9s}: ready {r['ready_s']:.2f}s, boot CPU {r['cpu_s']:.2f}s, "
                  f"PSS {r['pss_mib']:.0f} MiB, RSS {r['rss_mib']:.0f} MiB ({r['processes']:.0f} processes)",
                  file=sys.stderr, flush=True)
    print(f"gunicorn -w {args.workers}, {args.runs} boots per checkout, medians:")
    medians = {name: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for name, rs in results.items()}
    for name, m in medians.items():
        print(f"  {name:9s}  ready {m['ready_s']:5.2f} s   boot CPU {m['cpu_s']:5.2f} s   "
              f"PSS {m['pss_mib']:5.0f} MiB   RSS {m['rss_mib']:5.0f} MiB")
    if "baseline" in medians:
        a, b = medians["this tree"], medians["baseline"]
        print(f"  change     ready {a['ready_s'] - b['ready_s']:+5.2f} s   boot CPU {a['cpu_s'] - b['cpu_s']:+5.2f} s   "
              f"PSS {a['pss_mib'] - b['pss_mib']:+5.0f} MiB   RSS {a['rss_mib'] - b['rss_mib']:+5.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
