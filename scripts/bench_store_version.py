"""What the web caches' version check costs per request, beside the check it replaced, in one run.

``python -m scripts.bench_store_version [--database-url URL]`` fills a fresh store (default: a
temporary SQLite file) with the offline AAPL prices, the fixture models and ten years of
synthetic ledger rows (``scripts.bench_ledger``), then times, 300 times each:

- baseline: the snapshot fingerprint before issue 19 (six scalar sub-queries: models and
  prices only; the ledger had its own check, asked at most once a second);
- ``store.queries.store_version``: the one fingerprint every price, ledger and model
  write changes, asked on every request by both caches.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Callable

from sqlalchemy import Engine, func, select

from scripts.bench_ledger import fill_ledger
from scripts.fixture_store import write_fixture_models
from store.db import make_engine
from store.queries import store_version
from store.tables import Champion, ChampionEvent, Comparison, ModelRecord, Price

ROUNDS = 300


def baseline_version(engine: Engine, ticker: str) -> tuple:
    """The fingerprint the snapshot cache used before (models and prices only)."""
    stmt = select(
        select(func.max(ChampionEvent.id)).where(ChampionEvent.ticker == ticker).scalar_subquery(),
        select(func.max(ModelRecord.id)).where(ModelRecord.ticker == ticker).scalar_subquery(),
        select(func.count()).select_from(Champion).where(Champion.ticker == ticker).scalar_subquery(),
        select(func.max(Price.date)).where(Price.ticker == ticker).scalar_subquery(),
        select(func.max(Price.fetched_at)).where(Price.ticker == ticker).scalar_subquery(),
        select(func.max(Comparison.id)).where(Comparison.ticker == ticker).scalar_subquery(),
    )
    with engine.connect() as conn:
        return tuple(conn.execute(stmt).one())


def _times(check: Callable[[Engine, str], tuple], engine: Engine) -> tuple[float, float]:
    for _ in range(10):
        check(engine, "AAPL")
    ms = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        check(engine, "AAPL")
        ms.append((time.perf_counter() - start) * 1000)
    ms.sort()
    return statistics.median(ms), ms[int(0.95 * len(ms)) - 1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="an empty store to fill (default: a temporary SQLite file)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(args.database_url or f"sqlite:///{Path(tmp) / 'store.db'}")
        write_fixture_models(engine, "AAPL")
        rows = fill_ledger(engine, ("AAPL",), days=2520)
        print(f"{engine.dialect.name}: AAPL with {rows:,} ledger rows; {ROUNDS} checks each")
        for name, check in (("baseline (models and prices)", baseline_version), ("store_version", store_version)):
            p50, p95 = _times(check, engine)
            print(f"  {name:<30} p50 {p50:6.2f} ms   p95 {p95:6.2f} ms")
        engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
