"""Replay real daily prices fed by CSV one day at a time through the nightly pipeline, with no network.

    python -m scripts.replay_csv_days [--days 20] [--database-url URL] [--queue]

Real prices: the ``backtesting`` package's GOOG series if it is installed, else the
offline AAPL sample. A history of ``--history`` days is imported first and the
first models trained (``nightly``); then each of the next ``--days`` days is written
to its own CSV, imported (``import-csv``) and followed by one ``nightly`` run, every
command a real process (``--queue``: the nightly goes through Redis to a Celery
worker this script starts). ``PRICE_SOURCE=offline``: the CSV ticker must never be
fetched from the sample. Then the ledger is checked against the store:

- every fed day is an origin of every cell (days x cells counted, 5 horizons each);
- every actual equals the stored close of its date, every persistence the origin's close;
- every champion's forecast starts from the last fed day.

Prints one line per night and the figures; exit status 1 when a check fails.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import pandas as pd

from contract.vocab import CELLS

ROOT = Path(__file__).resolve().parents[1]
HORIZON = 5


def real_prices() -> tuple[str, pd.DataFrame]:
    """(ticker, daily OHLCV frame): backtesting's GOOG if installed, else the offline AAPL sample."""
    try:
        from backtesting.test import GOOG  # type: ignore[import-not-found]

        frame = GOOG.rename(columns=str.lower)[["open", "high", "low", "close", "volume"]]
        frame.index = pd.DatetimeIndex(frame.index, name="date")
        return "GOOG", frame
    except ImportError:
        from marketdata.sources.offline import OfflineSampleSource

        return "AAPL", OfflineSampleSource().fetch("AAPL")


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    """``frame`` as a Yahoo-style CSV (Date,Open,High,Low,Close,Volume)."""
    out = pd.DataFrame({"Date": pd.DatetimeIndex(frame.index).strftime("%Y-%m-%d"), "Open": frame["open"].round(4),
                        "High": frame["high"].round(4), "Low": frame["low"].round(4),
                        "Close": frame["close"].round(4), "Volume": frame["volume"].astype("int64")})
    out.to_csv(path, index=False)
    return path


@dataclass
class Replay:
    """One replay: where it runs, what it feeds, and what each night took."""

    url: str
    ticker: str
    frame: pd.DataFrame  # history then the fed days
    days: int
    workdir: Path
    queue_url: str | None = None
    nights: list[tuple[str, float, str]] = field(default_factory=list)  # (day, seconds, nightly's line)

    def env(self) -> dict[str, str]:
        env = {**os.environ, "DATABASE_URL": self.url, "TICKERS": self.ticker, "PRICE_SOURCE": "offline",
               "DATA_DIR": str(self.workdir / "data"), "RETRAIN_WEEKDAY": "", "RETRAIN_EVERY_N_NIGHTS": "0",
               "PIPELINE_EPOCHS": os.environ.get("PIPELINE_EPOCHS", "2"),
               "PIPELINE_FINETUNE_EPOCHS": os.environ.get("PIPELINE_FINETUNE_EPOCHS", "1"),
               "LEDGER_BOOTSTRAP_DAYS": "0", "TF_CPP_MIN_LOG_LEVEL": "3"}
        if self.queue_url:
            env["REDIS_URL"] = self.queue_url
        else:
            env.pop("REDIS_URL", None)
        return env

    def jobs(self, *args: str) -> str:
        """``python -m jobs ARGS`` as a process; its stdout (RuntimeError naming stderr on failure)."""
        out = subprocess.run([sys.executable, "-m", "jobs", *args], cwd=ROOT, env=self.env(), capture_output=True,
                             text=True, timeout=900)
        if out.returncode:
            raise RuntimeError(f"jobs {' '.join(args)} exited {out.returncode}: {out.stderr.strip()[-600:]}")
        return out.stdout.strip()

    def nightly(self) -> str:
        if self.queue_url:
            return self.jobs("nightly", "--ticker", self.ticker, "--queue", "--wait", "600", "--quiet")
        return self.jobs("nightly", "--ticker", self.ticker, "--quiet")


@contextmanager
def celery_worker(replay: Replay) -> Iterator[None]:
    """A Celery worker process for ``--queue`` (stopped, by its own id, on the way out)."""
    log = open(replay.workdir / "worker.log", "ab")
    proc = subprocess.Popen([sys.executable, "-m", "celery", "-A", "jobs.worker:celery_app", "worker",
                             "--pool=solo", "--concurrency=1", "--loglevel=INFO", "--without-mingle",
                             "--without-gossip"], cwd=ROOT, env=replay.env(), stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def run_replay(replay: Replay) -> None:
    """The history, its first models, then one CSV and one nightly per fed day."""
    history = replay.frame.iloc[: len(replay.frame) - replay.days]
    replay.jobs("import-csv", str(write_csv(history, replay.workdir / "history.csv")), "--ticker", replay.ticker)
    replay.nightly()  # first models, on the imported history
    for k in range(replay.days):
        day = replay.frame.iloc[len(history) + k: len(history) + k + 1]
        started = time.perf_counter()
        name = f"{replay.ticker.lower()}-{day.index[0]:%Y-%m-%d}.csv"
        # --no-serve: the night's nightly serves (what this replay measures); import-csv alone serves too.
        replay.jobs("import-csv", str(write_csv(day, replay.workdir / name)), "--ticker", replay.ticker, "--no-serve")
        line = replay.nightly()
        replay.nights.append((f"{day.index[0]:%Y-%m-%d}", time.perf_counter() - started, line))
        print(f"night {k + 1}/{replay.days} {day.index[0]:%Y-%m-%d}: {time.perf_counter() - started:.1f}s  {line}",
              flush=True)


@dataclass(frozen=True)
class Checked:
    """What the store holds after the replay, against the fed days."""

    origins: int  # fed days that are an origin of every cell
    cells: int
    rows: int  # live rows with a fed day as origin
    actual_mismatches: int
    persistence_mismatches: int
    scored: int
    served_from: tuple[str, ...]  # the champions' forecast origins

    def ok(self, days: int, last_day: str) -> bool:
        return (self.origins == days and self.cells == len(CELLS) and self.rows == days * len(CELLS) * HORIZON
                and not self.actual_mismatches and not self.persistence_mismatches
                and set(self.served_from) == {last_day})


def check(url: str, ticker: str, fed: list[str]) -> Checked:
    """The ledger against the store's closes (read through the product's own store functions)."""
    from store import ledger, registry
    from store.db import make_engine
    from store.prices import load_prices

    engine = make_engine(url)
    try:
        rows = ledger.load_ledger(engine, ticker)
        closes = load_prices(engine, ticker)["close"]
        served = registry.champion_forecast_origins(engine, ticker)
    finally:
        engine.dispose()
    rows = rows[(rows["kind"] == "live") & rows["origin"].isin(pd.to_datetime(fed))]
    per_origin = rows.groupby("origin")["cell"].nunique()
    scored = rows[rows["actual"].notna()]
    actual_bad = (scored["actual"] - closes.reindex(scored["target_date"]).to_numpy()).abs() > 1e-9
    pers_bad = (scored["persistence"] - closes.reindex(scored["origin"]).to_numpy()).abs() > 1e-9
    return Checked(origins=int((per_origin == len(CELLS)).sum()), cells=int(rows["cell"].nunique()), rows=len(rows),
                   actual_mismatches=int(actual_bad.sum()), persistence_mismatches=int(pers_bad.sum()),
                   scored=len(scored), served_from=tuple(str(d) for d in served.values()))


def replay_days(url: str, days: int, history: int = 320, queue_url: str | None = None,
                workdir: Path | None = None) -> tuple[Replay, Checked]:
    """Run a whole replay on the store at ``url`` (empty) and check it."""
    ticker, frame = real_prices()
    tmp = Path(workdir or tempfile.mkdtemp(prefix="replay-csv-"))
    tmp.mkdir(parents=True, exist_ok=True)
    replay = Replay(url, ticker, frame.iloc[-(history + days):], days, tmp, queue_url)
    if queue_url:
        with celery_worker(replay):
            run_replay(replay)
    else:
        run_replay(replay)
    return replay, check(url, ticker, [d for d, _, _ in replay.nights])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=20)
    parser.add_argument("--history", type=int, default=320, help="days imported before the first night")
    parser.add_argument("--database-url", help="an empty store (default: a fresh SQLite file)")
    parser.add_argument("--queue", metavar="REDIS_URL", help="run each nightly through Celery on this Redis")
    args = parser.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="replay-csv-"))
    url = args.database_url or f"sqlite:///{tmp / 'replay.db'}"
    started = time.perf_counter()
    replay, c = replay_days(url, args.days, args.history, args.queue, tmp)
    last = replay.nights[-1][0]
    print(f"{replay.ticker}: {args.days} CSV days replayed in {time.perf_counter() - started:.0f}s "
          f"({sum(s for _, s, _ in replay.nights) / args.days:.1f}s a night, import and nightly processes)")
    print(f"ledger: {c.origins} origins x {c.cells} cells counted ({c.rows} live rows, {c.scored} scored); "
          f"actual != stored close: {c.actual_mismatches}; persistence != origin close: {c.persistence_mismatches}; "
          f"champions serve from {', '.join(sorted(set(c.served_from)))} (last fed day {last})")
    ok = c.ok(args.days, last)
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
