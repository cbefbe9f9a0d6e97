"""Hostile prices against the forecast ledger: a close that is not positive never reaches scoring,
on real SQLite and real Postgres (Postgres once failed scoring with a division by zero)."""
from __future__ import annotations

import math

import pandas as pd
import pytest
from sqlalchemy import insert, select

from contract.vocab import LedgerKind
from marketdata.frames import PriceDataError
from store import ledger
from store.db import session_factory
from store.prices import upsert_prices
from store.tables import Price
from tests.support.ledger import NOW, H, save_model, store_prices
from tests.support.cli import assert_one_error_line
from tests.support.ledger import dump


@pytest.fixture(scope="module")
def aapl() -> pd.DataFrame:
    """The last 80 days of the offline AAPL sample."""
    from marketdata.sources.offline import OfflineSampleSource

    return OfflineSampleSource().fetch("AAPL").iloc[-80:]


@pytest.fixture
def published(engine, aapl):
    """A store with prices up to ten days before the sample's end and a published GRU forecast from there."""
    known = aapl.iloc[:-10]
    store_prices(engine, known)
    save_model(engine, "gru", known, 0.0)
    ledger.publish_champion_forecasts(engine, "AAPL", kind=LedgerKind.LIVE, now=NOW)
    return engine


def _prices(engine) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(Price.__table__).order_by(Price.date))]


@pytest.mark.parametrize("column, value", [("close", 0.0), ("close", -56.1), ("close", math.nan), ("close", math.inf),
                                           ("open", 0.0), ("low", -1.0)])
def test_the_store_refuses_a_price_that_is_not_positive_and_changes_nothing(published, aapl, column, value):
    day = aapl.iloc[-10:-9].copy()
    day[column] = value
    before_prices, before_ledger = _prices(published), dump(published)
    with pytest.raises(PriceDataError, match=f"AAPL.*{day.index[0].date()}, column {column}: .*(positive|finite)"):
        with session_factory(published).begin() as s:
            upsert_prices(s, "AAPL", day, "csv:bad.csv", NOW)
    assert _prices(published) == before_prices and dump(published) == before_ledger  # nothing written, nothing scored


@pytest.mark.parametrize("close", [0.0, -1.0])
def test_a_bad_close_written_behind_the_store_s_back_is_never_scored(published, aapl, close):
    """Even a row no store function wrote (a hand-edited table) cannot reach scoring, nor fail it."""
    day = aapl.index[-10].date()
    with published.begin() as conn:
        conn.execute(insert(Price).values(ticker="AAPL", date=day, open=1.0, high=1.0, low=1.0, close=close,
                                          volume=1, source="hand", fetched_at=NOW))
    assert ledger.score_pending(published, "AAPL", NOW) == 0
    assert ledger.load_ledger(published, "AAPL").actual.isna().sum() == H


def test_the_command_line_refuses_a_zero_close_before_anything_is_scored(published, database_url, run_cli, aapl,
                                                                        tmp_path):
    path = tmp_path / "zero.csv"
    path.write_text("Date,Open,High,Low,Close,Volume\n" f"{aapl.index[-10]:%Y-%m-%d},56.0,57.0,55.0,0,1000\n")
    before = dump(published), _prices(published)
    result = run_cli("import-csv", str(path), "--ticker", "AAPL", database_url=database_url)
    assert_one_error_line(result, "zero.csv", "Close", "positive")
    assert (dump(published), _prices(published)) == before
