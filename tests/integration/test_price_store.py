"""The price store and its incremental update, on SQLite and on the real Postgres."""
from datetime import datetime, timezone

import pandas as pd
import pytest
from sqlalchemy import func, inspect, select, table

from store.db import create_schema, session_factory
from store.prices import insert_prices, load_prices, price_summaries
from marketdata.sources.base import PriceSource, SourceUnavailable
from marketdata.sources.yahoo import YahooSource
from price_feed.updates import seed_prices, update_from_sources, update_prices
from store.tables import Base
from tests.support.yf_frames import ScriptedDownload, yf_empty, yf_frame

NOW = datetime(2024, 1, 20, 23, 0, tzinfo=timezone.utc)
DAYS = pd.bdate_range("2024-01-02", periods=12)


def yahoo(*answers):
    return YahooSource(download=ScriptedDownload(*answers), retries=1, sleep=lambda s: None)


def seed(engine, closes, days=DAYS[:8]):
    """Seed AAPL with the given closes through the real Yahoo adapter."""
    return seed_prices(engine, "AAPL", [yahoo(yf_frame("AAPL", days, closes))], NOW)


def schema_and_rows(engine) -> tuple[dict, dict]:
    """Every table's columns (name, type, nullable) and every table's row count."""
    inspector = inspect(engine)  # a new inspector each time: they cache what they read
    tables = {name: [(c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(name)]
              for name in sorted(inspector.get_table_names())}
    with engine.connect() as conn:
        counts = {name: conn.execute(select(func.count()).select_from(table(name))).scalar_one() for name in tables}
    return tables, counts


def test_schema_creation_is_idempotent(engine):
    """Creating the schema again on a store with data keeps its tables, columns and rows."""
    seed(engine, [1, 2, 3, 4, 5, 6, 7, 8])
    tables, counts = schema_and_rows(engine)
    assert set(tables) == set(Base.metadata.tables) | {"alembic_version"} and counts["prices"] == 8
    create_schema(engine)  # the engine fixture created it once; again must neither fail nor drop data
    create_schema(engine)
    assert schema_and_rows(engine) == (tables, counts)
    assert load_prices(engine, "AAPL")["close"].tolist() == [1, 2, 3, 4, 5, 6, 7, 8]


def test_seed_then_load_round_trips(engine):
    result = seed(engine, [1, 2, 3, 4, 5, 6, 7, 8])
    assert result.added == 8 and result.source == "yahoo"
    frame = load_prices(engine, "AAPL")
    assert frame["close"].tolist() == [1, 2, 3, 4, 5, 6, 7, 8]
    [summary] = price_summaries(engine)
    assert (summary.rows, summary.sources) == (8, ["yahoo"])


def test_update_appends_only_new_days_when_overlap_agrees(engine):
    seed(engine, [1, 2, 3, 4, 5, 6, 7, 8])
    # Yahoo answers the overlap window (days 4..8) identically plus 4 new days.
    answer = yf_frame("AAPL", DAYS[3:], [4, 5, 6, 7, 8, 9, 10, 11, 12])
    result = update_prices(engine, "AAPL", yahoo(answer), overlap_days=5, now=NOW)
    assert (result.added, result.replaced_history) == (4, False)
    assert load_prices(engine, "AAPL")["close"].tolist() == list(range(1, 13))


def test_update_replaces_history_when_a_split_rebased_it(engine):
    seed(engine, [2, 4, 6, 8, 10, 12, 14, 16])
    # After a 2:1 split Yahoo's adjusted history is halved: the overlap disagrees...
    overlap = yf_frame("AAPL", DAYS[3:], [4, 5, 6, 7, 8, 9, 10, 11, 12])
    full = yf_frame("AAPL", DAYS, range(1, 13))
    result = update_prices(engine, "AAPL", yahoo(overlap, full), overlap_days=5, now=NOW)
    # ...so the whole history is refetched and replaced.
    assert result.replaced_history and result.added == 4
    assert load_prices(engine, "AAPL")["close"].tolist() == list(range(1, 13))


def test_failed_update_leaves_store_unchanged(engine):
    seed(engine, [1, 2, 3, 4, 5, 6, 7, 8])
    before = load_prices(engine, "AAPL")
    with pytest.raises(SourceUnavailable):
        update_prices(engine, "AAPL", yahoo(yf_empty("AAPL")), overlap_days=10, now=NOW)
    pd.testing.assert_frame_equal(load_prices(engine, "AAPL"), before)


def test_failed_full_refetch_leaves_store_unchanged(engine):
    seed(engine, [2, 4, 6, 8, 10, 12, 14, 16])
    before = load_prices(engine, "AAPL")
    overlap = yf_frame("AAPL", DAYS[3:], [4, 5, 6, 7, 8, 9, 10, 11, 12])
    with pytest.raises(SourceUnavailable):
        update_prices(engine, "AAPL", yahoo(overlap, yf_empty("AAPL")), overlap_days=5, now=NOW)
    pd.testing.assert_frame_equal(load_prices(engine, "AAPL"), before)


class _Broken(PriceSource):
    name = "yahoo"

    def fetch(self, ticker, start=None):
        raise SourceUnavailable("Yahoo unreachable for AAPL after 3 attempts: DNSError")


def test_seed_falls_back_to_offline_sample_when_yahoo_is_down(engine):
    from marketdata.sources.offline import OfflineSampleSource

    result = seed_prices(engine, "AAPL", [_Broken(), OfflineSampleSource()], NOW)
    assert result.source == "offline-sample" and result.added == 3270


def test_update_of_yahoo_rows_does_not_fall_back_to_sample(engine):
    from marketdata.sources.offline import OfflineSampleSource

    seed(engine, [1, 2, 3, 4, 5, 6, 7, 8])
    with pytest.raises(SourceUnavailable, match="DNSError"):
        update_from_sources(engine, "AAPL", [_Broken(), OfflineSampleSource()], overlap_days=10, now=NOW)
    assert len(load_prices(engine, "AAPL")) == 8


def test_tickers_are_kept_apart(engine):
    frame = load_prices(engine, "AAPL")
    assert frame.empty
    days = DAYS[:3]
    with session_factory(engine).begin() as s:
        insert_prices(s, "AAPL", yf_frame_as_prices([1, 2, 3], days), "test", NOW)
        insert_prices(s, "MSFT", yf_frame_as_prices([7, 8, 9], days), "test", NOW)
    assert load_prices(engine, "MSFT")["close"].tolist() == [7, 8, 9]
    assert [s.ticker for s in price_summaries(engine)] == ["AAPL", "MSFT"]


def yf_frame_as_prices(closes, days):
    from marketdata.sources.yahoo import frame_from_download

    return frame_from_download(yf_frame("X", days, closes), "X")
