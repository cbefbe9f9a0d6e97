"""Serving beside training: wall time and peak memory of each as its own process, in one run.

    python -m scripts.bench_serve [--database-url URL]

On the full offline AAPL history (a fresh SQLite store unless a URL is given), with
three champions trained first (two epochs; setup, not measured):

1. baseline: ``python -c "import tensorflow"``, TensorFlow's start alone;
2. ``python -m jobs serve --ticker AAPL`` after one new close is stored: all three
   champions forecast from it (TensorFlow start, three model loads, the bands rolled
   forward), published to the ledger;
3. ``python -m jobs nightly --ticker AAPL`` on the next close: the GRU fine-tune night
   (production epochs and rolling evaluation), which then serves all three cells.

Each is one process, measured the way a dyno sees it: wall time from spawn to exit,
peak resident set size of the process (``wait4``'s ``ru_maxrss``). Goal for serving:
under 10 s and under 700 MB.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOAL_S, GOAL_MB = 10.0, 700.0


@dataclass(frozen=True)
class Measured:
    label: str
    wall_s: float
    peak_mb: float
    line: str  # the process's last stdout line


def measure(label: str, argv: list[str], env: dict[str, str]) -> Measured:
    """Spawn ``argv``, reap it with ``wait4``: its wall time and peak RSS (RuntimeError if it failed)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        out.seek(0), err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode:
        raise RuntimeError(f"{label}: exit {proc.returncode}: {stderr.strip()[-500:]}")
    lines = stdout.strip().splitlines()
    return Measured(label, wall, usage.ru_maxrss / 1024, lines[-1] if lines else "")  # ru_maxrss: KiB on Linux


def setup(url: str, env: dict[str, str]) -> list[str]:
    """The store at ``url``: the offline history but its last two days, three champions trained on it."""
    from marketdata.sources.offline import OfflineSampleSource
    from store.db import create_schema, make_engine, session_factory
    from store.prices import upsert_prices

    full = OfflineSampleSource().fetch("AAPL")
    engine = make_engine(url)
    create_schema(engine)
    with session_factory(engine).begin() as s:
        upsert_prices(s, "AAPL", full.iloc[:-2], "offline-sample", datetime.now(timezone.utc))
    engine.dispose()
    out = subprocess.run([sys.executable, "-m", "jobs", "train", "--ticker", "AAPL", "--epochs", "2"], cwd=ROOT,
                         env=env, capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"setup training failed: {out.stderr.strip()[-500:]}")
    return [str(d.date()) for d in full.index[-2:]]


def store_day(url: str, day: str) -> None:
    """One more close stored, as an import would (the serve step's trigger)."""
    from marketdata.sources.offline import OfflineSampleSource
    from store.db import make_engine, session_factory
    from store.prices import upsert_prices

    full = OfflineSampleSource().fetch("AAPL")
    engine = make_engine(url)
    with session_factory(engine).begin() as s:
        upsert_prices(s, "AAPL", full.loc[day:day], "offline-sample", datetime.now(timezone.utc))
    engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="an empty store (default: a fresh SQLite file)")
    args = parser.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    url = args.database_url or f"sqlite:///{tmp / 'bench.db'}"
    env = {**os.environ, "DATABASE_URL": url, "TICKERS": "AAPL", "PRICE_SOURCE": "offline",
           "DATA_DIR": str(tmp / "data"), "RETRAIN_WEEKDAY": "", "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.pop("REDIS_URL", None)
    env.pop("PIPELINE_EPOCHS", None)
    env.pop("PIPELINE_FINETUNE_EPOCHS", None)
    print("setup: three champions on the offline AAPL history (2 epochs, not measured) ...", flush=True)
    serve_day, night_day = setup(url, env)
    rows = [measure("baseline: import tensorflow", [sys.executable, "-c", "import tensorflow"], env)]
    store_day(url, serve_day)
    rows.append(measure(f"serve 3 cells ({serve_day})", [sys.executable, "-m", "jobs", "serve", "--ticker", "AAPL",
                                                         "--quiet"], env))
    rows.append(measure(f"GRU fine-tune night ({night_day})", [sys.executable, "-m", "jobs", "nightly", "--ticker",
                                                               "AAPL", "--quiet"], env))
    print(f"{'process':<34}{'wall s':>8}{'peak MB':>9}  last line")
    for m in rows:
        print(f"{m.label:<34}{m.wall_s:>8.1f}{m.peak_mb:>9.0f}  {m.line[:90]}")
    serve, night = rows[1], rows[2]
    ok = serve.wall_s < GOAL_S and serve.peak_mb < GOAL_MB
    print(f"serving: {serve.wall_s:.1f}s and {serve.peak_mb:.0f} MB (goal under {GOAL_S:.0f}s and {GOAL_MB:.0f} MB: "
          f"{'met' if ok else 'MISSED'}); {serve.wall_s / night.wall_s:.0%} of the fine-tune night's time, "
          f"{serve.peak_mb - rows[0].peak_mb:+.0f} MB over TensorFlow's start")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
