"""Read-side queries and the snapshot cache, on real SQLite and real Postgres."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import delete, update

from dashboard.cache import ledgers, snapshots
from store import queries, registry
from store.db import session_factory
from store.tables import Champion, ChampionEvent

NOW = datetime(2026, 11, 27, 4, 0, tzinfo=timezone.utc)


@pytest.fixture
def filled(engine):
    """The engine's store with offline prices and the stand-in models (ids 1-4; GRU v2 = 4 is champion)."""
    from scripts.fixture_store import write_fixture_models

    ids = write_fixture_models(engine, now=NOW)
    assert ids == [1, 2, 3, 4]
    return engine


def test_empty_store_snapshot_says_nothing_is_there(engine):
    snap = queries.load_snapshot(engine, "AAPL")
    assert not snap.has_prices and not snap.has_models and snap.status is None


def test_snapshot_serves_champions(filled):
    snap = queries.load_snapshot(filled, "AAPL")
    assert list(snap.cells) == ["simplernn", "lstm", "gru"]
    assert snap.cells["gru"].info.id == 4 and snap.cells["gru"].info.version == 2
    assert set(snap.cells["gru"].outputs) == {"predictions", "forecast", "loss_curve", "metrics", "residual_diagnostics"}
    assert not hasattr(snap.cells["gru"].info, "keras_bytes")  # the web never pulls model bytes
    assert snap.status.rows == 3270 and snap.status.latest_source == "offline-sample"
    assert len(snap.closes) == 3270 and snap.closes.index.is_monotonic_increasing


def test_newest_model_is_served_when_a_cell_has_no_champion(filled):
    with session_factory(filled).begin() as s:
        s.execute(delete(Champion).where(Champion.cell == "lstm"))
        s.execute(update(Champion).where(Champion.cell == "gru").values(model_id=3))
    assert queries.served_model_ids(filled, "AAPL") == {"simplernn": 1, "lstm": 2, "gru": 3}


def test_models_table_and_champion_history(filled):
    models = registry.list_models(filled, "AAPL")
    assert [m.id for m in models] == [4, 3, 2, 1]
    assert [m.is_champion for m in models] == [True, False, True, True]
    events = registry.champion_events(filled, "AAPL", limit=20)
    assert [e.model_id for e in events] == [4, 3, 2, 1] and events[0].previous_model_id == 3


def _promote(engine, cell: str, model_id: int) -> None:
    """What the registry does on promotion/rollback: move the champion, append an event."""
    with session_factory(engine).begin() as s:
        s.execute(update(Champion).where(Champion.cell == cell).values(model_id=model_id, promoted_at=NOW))
        s.add(ChampionEvent(ticker="AAPL", cell=cell, model_id=model_id, previous_model_id=None, action="rollback",
                            actor="test", at=NOW))


def test_cache_is_reused_until_a_champion_changes(filled):
    cache = snapshots(filled)
    first = cache.get("AAPL")
    assert cache.get("AAPL") is first and cache.loads == 1  # same version: no reload
    _promote(filled, "gru", 3)  # a rollback to GRU v1
    second = cache.get("AAPL")
    assert cache.loads == 2 and second.cells["gru"].info.version == 1
    assert cache.memo(second, "k", lambda: object()) is cache.memo(second, "k", lambda: object())


def _correct_one_close(engine, factor: float) -> None:
    """A correction of the newest close, as ``import-csv --replace`` writes it (the store stamps it with its time)."""
    from store.prices import load_prices, upsert_prices

    day = load_prices(engine, "AAPL").iloc[-1:]
    with session_factory(engine).begin() as s:
        upsert_prices(s, "AAPL", day.assign(close=day["close"] * factor, high=day["high"] * factor), "csv:fix.csv",
                      NOW + timedelta(days=1))


@pytest.mark.parametrize("write", ["fetch time", "corrected close", "deleted day"])
def test_every_price_write_reloads_the_next_read_and_nothing_else_does(filled, write):
    """No time-to-live: a snapshot lives exactly as long as the store is unchanged."""
    from store.tables import Price
    cache = snapshots(filled)
    before = cache.get("AAPL")
    assert cache.get("AAPL") is before and cache.loads == 1
    if write == "fetch time":
        with session_factory(filled).begin() as s:
            s.execute(update(Price).where(Price.ticker == "AAPL").values(fetched_at=NOW + timedelta(days=1)))
    elif write == "corrected close":
        _correct_one_close(filled, 1.1)
    else:
        with session_factory(filled).begin() as s:
            s.execute(delete(Price).where(Price.ticker == "AAPL", Price.date == before.closes.index[0].date()))
    after = cache.get("AAPL")
    assert cache.loads == 2 and after is not before
    if write == "corrected close":  # the next read shows the corrected close, not the cached one
        assert after.closes.iloc[-1] == pytest.approx(before.closes.iloc[-1] * 1.1)


def test_the_caches_stay_bounded(filled):
    """However many tickers are asked for, at most max_entries snapshots and ledger views are kept."""
    snaps, views = snapshots(filled, max_entries=2), ledgers(filled, max_entries=2)
    for ticker in ("AAPL", "MSFT", "GOOG", "AMZN"):
        snaps.get(ticker), views.get(ticker)
    assert len(snaps._entries) == 2 and len(views._entries) == 2
    assert list(snaps._entries) == ["GOOG", "AMZN"]  # least recently used first out
