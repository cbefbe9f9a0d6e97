"""Issue 22, point 7: the one write behind ``import-csv [--replace]`` and the admin page's correction
(store.price_corrections): a changed stored day is refused naming the day and the size, or replaced
with its old row recorded, all in one transaction. SQLite and Postgres."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from store.db import create_schema, make_engine, session_factory
from store.price_corrections import ChangedDays, Replacement, ReplacementChanged, import_prices, price_changes
from store.prices import insert_prices, load_prices
from store.tables import PriceDeletion
from tests.support.prices import prices

NOW = datetime(2024, 3, 1, 23, 0, tzinfo=timezone.utc)


@pytest.fixture
def engine(database_url):
    """A fresh store holding 10 days of AAPL."""
    eng = make_engine(database_url)
    create_schema(eng)
    with session_factory(eng).begin() as session:
        insert_prices(session, "AAPL", prices(10), "offline-sample", NOW)
    yield eng
    eng.dispose()


def _file(engine, bump: float = 1.03):
    """The last two stored days (the newest with its close raised by ``bump``) and one new day."""
    stored = load_prices(engine, "AAPL")
    frame = prices(11).iloc[-3:].copy()
    frame.iloc[:2] = stored.iloc[-2:].to_numpy()
    frame.iloc[1, frame.columns.get_loc("close")] *= bump
    frame.iloc[1, frame.columns.get_loc("high")] = frame.iloc[1]["close"] * 1.01
    return frame


def test_a_changed_day_is_refused_naming_the_day_and_the_size(engine):
    before = load_prices(engine, "AAPL")
    frame = _file(engine)
    with pytest.raises(ChangedDays, match=r"fix\.csv: 1 of 2 rows already stored for AAPL differ, by up to 3\.00% "
                                          r"\(high on 2020-01-14\); nothing imported"):
        with session_factory(engine).begin() as session:
            import_prices(session, "AAPL", frame, "fix.csv", NOW)
    assert load_prices(engine, "AAPL").equals(before)  # nothing written


def test_the_changes_name_day_column_old_and_new(engine):
    frame = _file(engine)
    with session_factory(engine)() as session:
        changes = price_changes(session, "AAPL", frame)
    assert [(str(c.day), c.column) for c in changes] == [("2020-01-14", "high"), ("2020-01-14", "close")]
    assert changes[1].rel_change == pytest.approx(0.03)


def test_a_replacement_records_the_old_row_and_writes_the_file(engine):
    old = load_prices(engine, "AAPL").iloc[-1]
    frame = _file(engine)
    with session_factory(engine).begin() as session:
        done = import_prices(session, "AAPL", frame, "fix.csv", NOW, Replacement("web:boss", 1))
    assert (done.written, done.new_rows, [str(d) for d in done.replaced]) == (3, 1, ["2020-01-14"])
    after = load_prices(engine, "AAPL")
    assert len(after) == 11 and after["close"].iloc[-2] == pytest.approx(frame["close"].iloc[1])
    with session_factory(engine)() as session:
        records = session.execute(select(PriceDeletion)).scalars().all()
    assert [(r.id, str(r.date), r.deleted_by) for r in records] == [(done.record_ids[0], "2020-01-14",
                                                                      "web:boss via csv:fix.csv")]
    assert records[0].close == pytest.approx(old["close"]) and records[0].source == "offline-sample"


def test_a_count_other_than_the_confirmed_one_writes_nothing(engine):
    before = load_prices(engine, "AAPL")
    with pytest.raises(ReplacementChanged, match="1 stored days of AAPL would change now, not the 2 confirmed"):
        with session_factory(engine).begin() as session:
            import_prices(session, "AAPL", _file(engine), "fix.csv", NOW, Replacement("web:boss", 2))
    assert load_prices(engine, "AAPL").equals(before)
    with session_factory(engine)() as session:
        assert session.execute(select(PriceDeletion)).first() is None
