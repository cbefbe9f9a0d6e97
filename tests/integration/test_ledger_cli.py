"""``python -m jobs ledger backfill`` and ``export ledger`` as real processes."""
from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import func, select

from store.db import create_schema, make_engine
from store.ledger import CSV_HEADER
from store.tables import LedgerEntry, ModelRecord, Run
from scripts.bench_ledger import fill_ledger

TINY = {"PIPELINE_EPOCHS": "1", "PIPELINE_FINETUNE_EPOCHS": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}


def counts(url: str) -> tuple[int, int, int]:
    """(ledger rows, models, runs) of the store."""
    engine = make_engine(url)
    create_schema(engine)  # a command refused before it opened the store leaves no tables
    with engine.connect() as conn:
        out = tuple(conn.execute(select(func.count()).select_from(t)).scalar() for t in (LedgerEntry, ModelRecord, Run))
    engine.dispose()
    return out


@pytest.mark.slow
def test_backfill_replays_nights_into_replayed_rows_only(run_cli, sqlite_url):
    assert run_cli("init", database_url=sqlite_url).returncode == 0
    out = run_cli("ledger", "backfill", "--days", "2", database_url=sqlite_url, env=TINY)
    assert out.returncode == 0, out.stderr
    # N days are N origins, each served by every cell: 2 x 3 x 5 rows, and the message counts them
    assert out.stdout.startswith("AAPL: replayed 2 trading days (origins 2013-02-28 to 2013-03-01); "
                                 "2 origins x 3 cells, 30 replayed rows written, 3 scored")
    assert "night 2/2 (2013-03-01)" in out.stderr
    rows, models, runs = counts(sqlite_url)
    assert models == 0 and runs == 0  # the replay trained in a throw-away store; the real one only gained rows
    lines = list(csv.reader(io.StringIO(run_cli("export", "ledger", database_url=sqlite_url).stdout)))
    assert lines[0] == CSV_HEADER and len(lines) - 1 == rows == 30
    assert {(r[2], r[5]) for r in lines[1:]} == {(o, c) for o in ("2013-02-28", "2013-03-01")
                                                  for c in ("gru", "lstm", "simplernn")}
    assert {r[15] for r in lines[1:]} == {"replayed"} and {r[6] for r in lines[1:]} == {""}  # no registry model id
    scored = [r for r in lines[1:] if r[13]]
    assert scored and all(r[3] <= "2013-03-01" for r in scored)  # only stored closes score a row
    # the night-0 one-day forecasts were scored against the next close, one per cell
    assert [r[3] for r in scored] == ["2013-03-01"] * 3 and {r[2] for r in scored} == {"2013-02-28"}
    again = run_cli("ledger", "backfill", "--days", "2", database_url=sqlite_url, env=TINY)
    assert again.returncode == 0 and counts(sqlite_url)[0] == rows  # a second replay of the same days adds nothing
    assert run_cli("export", "ledger", "--kind", "live", database_url=sqlite_url).returncode == 2


def test_export_writes_every_row_oldest_first_and_filters_by_kind(run_cli, sqlite_url):
    engine = make_engine(sqlite_url)
    create_schema(engine)
    fill_ledger(engine, ("AAPL", "MSFT"), days=30)
    engine.dispose()
    full = run_cli("export", "ledger", database_url=sqlite_url, env={"TICKERS": "AAPL,MSFT"})
    lines = list(csv.reader(io.StringIO(full.stdout)))
    assert full.returncode == 0 and lines[0] == CSV_HEADER and len(lines) - 1 == counts(sqlite_url)[0]
    assert [r[1] for r in lines[1:]] == sorted(r[1] for r in lines[1:])  # oldest publication first
    assert {r[0] for r in lines[1:]} == {"AAPL", "MSFT"}  # a ticker column tells the tickers apart
    live = run_cli("export", "ledger", "--ticker", "msft", "--kind", "live", database_url=sqlite_url,
                   env={"TICKERS": "AAPL,MSFT"})
    rows = list(csv.reader(io.StringIO(live.stdout)))[1:]
    assert rows and {r[15] for r in rows} == {"live"} and all(r[6] for r in rows) and {r[0] for r in rows} == {"MSFT"}
    assert live.stdout == run_cli("export", "ledger", "--ticker", "MSFT", "--kind", "live", database_url=sqlite_url,
                                  env={"TICKERS": "AAPL,MSFT"}).stdout  # byte-for-byte repeatable


@pytest.mark.parametrize("args, says", [
    (["ledger", "backfill", "--days", "0"], "error: --days must be within 1..2520, got 0"),
    (["ledger", "backfill", "--days", "5", "--ticker", "ZZZZ"], "error: --ticker 'ZZZZ' is not configured"),
    (["ledger", "backfill", "--days", "5"], "error: no prices stored for AAPL; run: python -m jobs init"),
    (["ledger", "backfill", "--days", "5", "--epochs", "0"], "error: --epochs must be at least 1, got 0"),
    (["export", "ledger"], "error: no published forecasts in the ledger yet"),
    (["export", "ledger", "--ticker", "AAPL", "--kind", "replayed"], "error: no replayed forecasts in the ledger for AAPL"),
])
def test_expected_failures_say_what_in_one_line_and_change_nothing(run_cli, sqlite_url, args, says):
    out = run_cli(*args, database_url=sqlite_url)
    assert out.returncode == 2 and out.stderr.startswith(says) and out.stderr.count("\n") == 1, out.stderr
    assert counts(sqlite_url)[0] == 0


def test_backfill_refuses_more_days_than_leave_a_history_to_train_on(run_cli, sqlite_url):
    from datetime import datetime, timezone

    from store.db import session_factory
    from store.prices import upsert_prices
    from marketdata.sources.offline import OfflineSampleSource

    engine = make_engine(sqlite_url)
    create_schema(engine)
    with session_factory(engine).begin() as s:  # 310 stored days: 20 replayed origins leave 291 to train on
        upsert_prices(s, "AAPL", OfflineSampleSource().fetch("AAPL").iloc[-310:], "offline-sample",
                      datetime(2013, 3, 1, tzinfo=timezone.utc))
    engine.dispose()
    out = run_cli("ledger", "backfill", "--days", "20", database_url=sqlite_url)
    assert out.returncode == 2 and out.stderr.startswith("error: 20 days leave 291 of 310 stored days for AAPL")
    assert counts(sqlite_url) == (0, 0, 0)
