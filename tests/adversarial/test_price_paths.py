"""Issue 20, point 1: every path a price takes into the store (Yahoo, the admin upload, a
replay, the store's own write) refuses the same poison after the ``Adj Close`` adjustment,
leaving the store as it was; and a stored day can be removed, on the record, by a command
that leaves the forecast ledger's scored rows alone. SQLite and Postgres."""
from __future__ import annotations

import base64
from datetime import date, datetime, timezone

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select

from dashboard import inputs
from dashboard.admin import csv_import
from marketdata.frames import PriceDataError
from marketdata.sources.base import SourceUnavailable
from marketdata.sources.replay import ReplaySource
from marketdata.sources.yahoo import YahooSource
from store.db import session_factory
from price_feed.updates import update_from_sources
from store.prices import insert_prices, load_prices
from store.queries import store_version
from store.tables import LedgerEntry, PriceDeletion
from tests.support.cli import assert_one_error_line
from tests.support.prices import prices
from tests.support.yf_frames import ScriptedDownload, yf_frame

NOW = datetime(2024, 3, 1, 23, 0, tzinfo=timezone.utc)
DAYS = pd.bdate_range("2024-01-02", periods=20, name="date")
POISON = [  # (what, column, value): one cell of the newest day, as a yfinance frame with Adj Close carries it
    ("adj close 5e-324", "Adj Close", 5e-324),
    ("adj close 1e7 on a tiny close", "Adj Close", 1e7),
    ("subnormal close", "Close", 1e-320),
    ("close 1e-300", "Close", 1e-300),
    ("nan adj close", "Adj Close", float("nan")),
]


def _seed(engine) -> pd.DataFrame:
    history = prices(len(DAYS) - 1).set_axis(DAYS[:-1])
    with session_factory(engine).begin() as session:
        insert_prices(session, "AAPL", history, "offline-sample", NOW)
    return history


def _stored(engine) -> tuple:
    """Every stored price row and deletion record, as values."""
    frame = load_prices(engine, "AAPL")
    with engine.connect() as conn:
        deletions = conn.execute(select(PriceDeletion.ticker, PriceDeletion.date)).all()
    return frame.to_csv(), deletions


def _yahoo_with(history: pd.DataFrame, column: str, value: float) -> pd.DataFrame:
    """The history plus one new day, in yfinance's auto_adjust=False shape (with Adj Close)."""
    raw = yf_frame("AAPL", DAYS, np.append(history["close"].to_numpy(), history["close"].iloc[-1]))
    raw[("Adj Close", "AAPL")] = raw[("Close", "AAPL")]
    raw.loc[DAYS[-1], (column, "AAPL")] = value
    if column == "Close":  # a whole row of the tiny price, so only the band can refuse it
        for col in ("Open", "High", "Low", "Adj Close"):
            raw.loc[DAYS[-1], (col, "AAPL")] = value
    return raw


@pytest.mark.parametrize("what, column, value", POISON, ids=[p[0] for p in POISON])
def test_yahoo_prices_are_checked_after_adjustment(engine, what, column, value):
    history = _seed(engine)
    before = _stored(engine)
    source = YahooSource(download=ScriptedDownload(_yahoo_with(history, column, value)), retries=1,
                         sleep=lambda s: None)
    with pytest.raises(SourceUnavailable, match=f"Yahoo AAPL, {DAYS[-1].date()}, column "):
        update_from_sources(engine, "AAPL", [source], overlap_days=5, now=NOW)
    assert _stored(engine) == before


def _upload(text: str) -> str:
    return "data:text/csv;base64," + base64.b64encode(text.encode()).decode()


UPLOADS = [
    ("adj close 5e-324", "2024-01-30,1,2,0.5,1.5,5e-324,10", "column Open: price 5e-324"),
    ("adj close 1e7", "2024-01-30,0.01,10000000,0.01,0.01,10000000,10", "column High: price 1e+16"),
    ("underscore", "2024-01-30,50_0,501,499,500,500,10", "'50_0' is not a number"),
    ("arabic-indic", "2024-01-30,\u0665\u0660,51,49,50,50,10", "is not a number"),
    ("date and words", "2024-01-29 is a monday,1,2,0.5,1.5,1.5,10", "is not a YYYY-MM-DD date"),
    ("volume -0", "2024-01-30,1,2,0.5,1.5,1.5,-0", "negative volume -0"),
]


@pytest.mark.parametrize("what, row, message", UPLOADS, ids=[u[0] for u in UPLOADS])
def test_the_admin_upload_refuses_what_import_csv_refuses(engine, what, row, message):
    """The page's preview and its import both read with the command line's reader."""
    _seed(engine)
    before = _stored(engine)
    contents = _upload("Date,Open,High,Low,Close,Adj Close,Volume\n" + row + "\n")
    for step in (csv_import.preview, csv_import.import_upload):
        with pytest.raises(inputs.Refused, match="upload.csv, line 2, ") as err:
            step(engine, contents, "upload.csv", "AAPL", NOW)
        assert message in str(err.value)
    assert _stored(engine) == before


@pytest.mark.parametrize("column, value", [("close", 1e-300), ("high", 1e16), ("volume", -1), ("open", 3.0)])
def test_no_writer_can_store_a_poisoned_row(engine, column, value):
    """The store's own write is the last guard (open 3.0 is above high): nothing of the frame lands."""
    history = _seed(engine)
    before = _stored(engine)
    new = prices(2, seed=1).set_axis(pd.bdate_range("2024-02-01", periods=2, name="date"))
    new.loc[new.index[-1], column] = value
    with pytest.raises(PriceDataError, match=f"AAPL prices from csv:x.csv, 2024-02-02, column {column}: "):
        with session_factory(engine).begin() as session:
            insert_prices(session, "AAPL", new, "csv:x.csv", NOW)
    assert _stored(engine) == before and len(history) == len(DAYS) - 1


def test_a_replay_of_a_poisoned_history_is_refused():
    frame = prices(30)
    frame.iloc[10, frame.columns.get_loc("close")] = 5e-324
    with pytest.raises(PriceDataError, match="replay prices, .*, column close: price 5e-324 is implausible"):
        ReplaySource(frame, visible=20, name="replay")


def _ledger_row(target: date, scored: bool) -> LedgerEntry:
    return LedgerEntry(ticker="AAPL", cell="gru", model_id=1, model_version=1, origin=date(2024, 1, 2),
                       origin_close=50.0, target_date=target, horizon=1 if scored else 2, predicted=51.0,
                       lower80=49.0, upper80=53.0, lower95=48.0, upper95=54.0, published_at=NOW, kind="live",
                       actual=50.5 if scored else None, persistence=50.0 if scored else None,
                       scored_at=NOW if scored else None)


def _ledger(engine) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(LedgerEntry.__table__).order_by(LedgerEntry.id)).all()]


def test_delete_day_removes_one_day_on_the_record_and_leaves_the_ledger(run_cli, database_url, engine):
    history = _seed(engine)
    day = DAYS[3].date()
    with session_factory(engine).begin() as session:
        session.add_all([_ledger_row(day, scored=True), _ledger_row(DAYS[4].date(), scored=False)])
    ledger_before = _ledger(engine)
    version_before = store_version(engine, "AAPL")
    done = run_cli("delete-day", "--ticker", "aapl", "--date", str(day), "--by", "ops on call",
                   database_url=database_url)
    assert done.returncode == 0, done.stderr
    row = history.loc[pd.Timestamp(day)]
    assert done.stdout.strip().splitlines() == [
        f"AAPL: deleted the prices of {day} (open {row.open:g}, high {row.high:g}, low {row.low:g}, "
        f"close {row.close:g}, volume {int(row.volume)}, from offline-sample); recorded as price deletion #1 by ops on call"]
    assert pd.Timestamp(day) not in load_prices(engine, "AAPL").index and len(load_prices(engine, "AAPL")) == 18
    with session_factory(engine)() as session:
        record = session.execute(select(PriceDeletion)).scalars().one()
    assert (record.ticker, record.date, record.close, record.volume, record.deleted_by) == (
        "AAPL", day, pytest.approx(row.close), int(row.volume), "ops on call")
    assert record.deleted_at is not None and record.source == "offline-sample"
    assert _ledger(engine) == ledger_before  # the scored row keeps its actual; nothing rewritten
    assert store_version(engine, "AAPL") != version_before  # the web's cached reads see the removal


@pytest.mark.parametrize("args, message", [
    (["--ticker", "AAPL", "--date", "2024-01-06"], "AAPL: no prices stored on 2024-01-06; nothing deleted"),
    (["--ticker", "MSFT", "--date", "2024-01-05"], "MSFT: no prices stored on 2024-01-05; nothing deleted"),
    (["--ticker", "AAPL", "--date", "2024-01-05T00:00"], "'2024-01-05T00:00' is not a YYYY-MM-DD date"),
    (["--ticker", "AAPL", "--date", "2024-02-30"], "'2024-02-30' is not a YYYY-MM-DD date"),
    (["--ticker", "AAPL;--", "--date", "2024-01-05"], "argument --ticker"),
    (["--date", "2024-01-05"], "the following arguments are required: --ticker"),
])
def test_delete_day_refuses_in_one_line_and_removes_nothing(run_cli, database_url, engine, args, message):
    _seed(engine)
    before = _stored(engine)
    assert_one_error_line(run_cli("delete-day", *args, database_url=database_url), message)
    assert _stored(engine) == before
