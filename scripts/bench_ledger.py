"""Benchmark the Track record page on a ledger of ten years for four tickers (about 150,000 rows).

Fills a fresh SQLite store (or ``--database-url``) with the offline prices of AAPL,
MSFT, IBM and GOOG, the fixture models of AAPL (``scripts.fixture_store``) and a
synthetic ledger: for each of the last ~2,520 trading days of each ticker, a
five-day forecast per cell type (persistence nudged by noise, with bands from the
recent volatility: stand-ins, not trained networks), scored against the real
closes, the model changing every 20 days; the GRU's last 60 days also replayed.

Then starts gunicorn with two workers on loopback and measures, side by side in one
run at N concurrent clients (bounded loops), the baseline ``/healthz``, the Forecast
page's cell-switch callback and the Track record page's callbacks: page load (the
router building the layout), cell switch, table paging/filtering, CSV download.

    python -m scripts.bench_ledger                      # fill a temp store, measure, print
    python -m scripts.bench_ledger --clients 20 --rounds 10
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
from sqlalchemy import Engine, func, insert, select

from marketdata.calendar import next_trading_days
from store.db import create_schema, make_engine
from store.prices import load_prices
from marketdata.sources.offline import OfflineSampleSource
from store.tables import LedgerEntry
from price_feed.updates import seed_prices
from contract.vocab import CELLS, DEFAULT_CELL
from dashboard import ids

TICKERS = ("AAPL", "MSFT", "IBM", "GOOG")
# share of daily volatility (0.25 for a cell added to contract.vocab since)
CELL_NOISE = {c: {"simplernn": 0.35, "lstm": 0.22, "gru": 0.18}.get(c, 0.25) for c in CELLS}
H = 5
NOW = datetime(2013, 3, 1, 23, 0, tzinfo=timezone.utc)


def _rows(ticker: str, prices: pd.DataFrame, days: int, seed: int) -> list[dict]:
    """Synthetic live rows (and replayed GRU rows for the last 60 origins), scored where the close is known."""
    rng = np.random.default_rng(seed)
    close = prices["close"].to_numpy(float)
    dates = [ts.date() for ts in prices.index]
    vol = pd.Series(close).pct_change().rolling(60, min_periods=5).std().bfill().to_numpy()
    future = next_trading_days(dates[-1], H)
    out, first = [], max(60, len(close) - days)
    for i in range(first, len(close)):
        targets = [*dates[i + 1:i + 1 + H], *future][:H]
        for c, (cell, noise) in enumerate(CELL_NOISE.items()):
            step = rng.normal(0, noise * vol[i], H).cumsum()
            kinds = ["live", "replayed"] if cell == DEFAULT_CELL and i >= len(close) - 60 else ["live"]
            for kind in kinds:
                version = 1 + (i - first) // 20
                for h in range(1, H + 1):
                    pred = close[i] * (1 + step[h - 1])
                    half = vol[i] * np.sqrt(h) * close[i]
                    known = i + h < len(close)
                    out.append(dict(
                        ticker=ticker, cell=cell, model_id=None if kind == "replayed" else seed * 1000 + c * 300 + version,
                        model_version=version, origin=dates[i], origin_close=close[i], target_date=targets[h - 1],
                        horizon=h, predicted=pred, lower80=pred - 1.28 * half, upper80=pred + 1.28 * half,
                        lower95=pred - 1.96 * half, upper95=pred + 1.96 * half,
                        published_at=NOW - timedelta(days=len(close) - i), kind=kind,
                        actual=close[i + h] if known else None, persistence=close[i] if known else None,
                        scored_at=NOW if known else None))
    return out


def fill_ledger(engine: Engine, tickers=TICKERS, days: int = 2520) -> int:
    """Seed offline prices for ``tickers`` and write their synthetic ledger; returns the row count."""
    create_schema(engine)
    for k, ticker in enumerate(tickers):
        seed_prices(engine, ticker, [OfflineSampleSource()], NOW)
        rows = _rows(ticker, load_prices(engine, ticker), days, seed=k + 1)
        with engine.begin() as conn:
            for i in range(0, len(rows), 5000):
                conn.execute(insert(LedgerEntry), rows[i:i + 5000])
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(LedgerEntry)).scalar()


def _track_cell_body(cell: str, ticker: str) -> bytes:
    from scripts.dash_client import callback_body

    out = f"..{ids.Track.FAN}.figure...{ids.Track.CUMULATIVE}.figure...{ids.Track.COVERAGE}.figure...{ids.Track.VERDICT}.children...{ids.Track.SCORES}.data.."
    return json.dumps(callback_body(out, [(ids.Track.CELL, "value", cell)], [(ids.Track.TICKER, "data", ticker)])).encode()


def _track_table_body(i: int, ticker: str) -> bytes:
    from scripts.dash_client import callback_body

    out = f"..{ids.Track.TABLE}.data...{ids.Track.TABLE}.page_count...{ids.Track.TABLE_COUNT}.children...{ids.Track.TABLE}.page_current.."
    inputs = [(ids.Track.TABLE, "page_current", i % 50), (ids.Track.CELL, "value", CELLS[i % len(CELLS)]),
              (ids.Track.FILTER_KIND, "value", ("all", "live", "replayed")[i % 3]),
              (ids.Track.FILTER_HORIZON, "value", i % 6), (ids.Track.FILTER_SCORED, "value", ("all", "scored")[i % 2])]
    return json.dumps(callback_body(out, inputs, [(ids.Track.TICKER, "data", ticker)])).encode()


def _download_body(ticker: str) -> bytes:
    from scripts.dash_client import callback_body

    state = [(ids.Track.CELL, "value", DEFAULT_CELL), (ids.Track.FILTER_KIND, "value", "all"),
             (ids.Track.FILTER_HORIZON, "value", 0), (ids.Track.FILTER_SCORED, "value", "all"), (ids.Track.TICKER, "data", ticker)]
    return json.dumps(callback_body(f"..{ids.Track.DOWNLOAD}.data...{ids.Track.DOWNLOAD_MSG}.children..", [(ids.Track.DOWNLOAD_BTN, "n_clicks", 1)], state)).encode()


def _forecast_body(cell: str) -> bytes:
    from scripts.dash_client import callback_body
    from scripts.dash_client import FORECAST_OUT

    return json.dumps(callback_body(FORECAST_OUT, [(ids.Forecast.CELL, "value", cell)],
                                    [(ids.Forecast.TICKER, "data", "AAPL")])).encode()


def _router(path: str, search: str) -> bytes:
    from scripts.dash_client import PAGE_OUT, callback_body, page_inputs

    return json.dumps(callback_body(PAGE_OUT, page_inputs(path, search))).encode()


def main() -> None:
    from scripts.bench_web import _load, _request, _stats
    from scripts.fixture_store import write_fixture_models
    from scripts.web_server import WebServer

    ap = argparse.ArgumentParser(description="benchmark the Track record page on a 150,000-row ledger")
    ap.add_argument("--database-url", help="store to fill (default: a SQLite file in a temp dir)")
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=10, help="requests per client per scenario")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-ledger-"))
    url = args.database_url or f"sqlite:///{tmp / 'store.db'}"
    engine = make_engine(url)
    t = time.perf_counter()
    write_fixture_models(engine)
    n = fill_ledger(engine)
    engine.dispose()
    print(f"store {url}: {n:,} ledger rows for {', '.join(TICKERS)} (filled in {time.perf_counter() - t:.0f} s)")
    env = {"DATABASE_URL": url, "CACHE_DIR": str(tmp / "cache"), "TICKERS": ",".join(TICKERS), "ANALYST_USER": "",
           "ANALYST_PASSWORD": "", "REDIS_URL": "", "ADMIN_USER": "bench", "ADMIN_PASSWORD": "bench-password"}
    post = "/_dash-update-component"
    with WebServer(env, workers=args.workers, log_path=tmp / "gunicorn.log") as server:
        base = server.url
        t = time.perf_counter()
        for _ in range(4 * args.workers):  # every worker loads every ticker's ledger once
            for ticker in TICKERS:
                _request(base, "POST", post, _router("/track-record", f"?ticker={ticker}"))
                for cell in CELL_NOISE:
                    _request(base, "POST", post, _track_cell_body(cell, ticker))
                _request(base, "POST", post, _track_table_body(0, ticker))
            _request(base, "POST", post, _forecast_body("gru"))
        print(f"warm-up (each worker reads each ticker's ledger once): {time.perf_counter() - t:.1f} s")
        def tick(i: int) -> str:
            return TICKERS[i % len(TICKERS)]

        cells = list(CELL_NOISE)
        scenarios = {
            "baseline GET /healthz": lambda i: _request(base, "GET", "/healthz"),
            "baseline forecast cell-switch callback": lambda i: _request(base, "POST", post,
                                                                         _forecast_body(cells[i % 3])),
            "track record page load (router)": lambda i: _request(base, "POST", post,
                                                                  _router("/track-record", f"?ticker={tick(i)}")),
            "track record cell switch": lambda i: _request(base, "POST", post, _track_cell_body(cells[i % 3], tick(i))),
            "track record table page/filter": lambda i: _request(base, "POST", post, _track_table_body(i, tick(i))),
            "track record CSV download (gru, all rows)": lambda i: _request(base, "POST", post, _download_body(tick(i))),
        }
        results = {}
        for name, fn in scenarios.items():
            t = time.perf_counter()
            ts = _load(base, fn, args.clients, args.rounds)
            results[name] = _stats(ts) | {"rps": len(ts) / (time.perf_counter() - t)}
        rss = [psutil.Process(pid).memory_info().rss / 2**20 for pid in server.worker_pids()]
    print(f"worker RSS after every ticker's ledger was cached: {', '.join(f'{mb:.0f} MB' for mb in rss)}")
    print(f"gunicorn -w {args.workers} on loopback; {args.clients} concurrent clients x {args.rounds} requests each")
    print(f"{'scenario':<44}{'n':>6}{'p50 ms':>10}{'p95 ms':>10}{'max ms':>10}{'req/s':>8}")
    for name, r in results.items():
        print(f"{name:<44}{r['n']:>6}{r['p50']:>10.1f}{r['p95']:>10.1f}{r['max']:>10.1f}{r['rps']:>8.0f}")


if __name__ == "__main__":
    main()
