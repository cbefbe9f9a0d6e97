"""The forecast ledger on real SQLite and real Postgres: append-only, one row per key, scored exactly once."""
from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest
from sqlalchemy import delete, or_

from store import ledger, registry
from store.db import session_factory
from contract.vocab import LedgerKind
from store.prices import replace_all_prices
from marketdata.sources.offline import OfflineSampleSource
from marketdata.sources.replay import ReplaySource
from store.tables import ChampionEvent, ModelOutput, ModelRecord
from price_feed.updates import update_from_sources
from tests.support.ledger import NOW, H, dump, save_model, store_prices


@pytest.fixture(scope="module")
def aapl() -> pd.DataFrame:
    """The last 80 days of the offline AAPL sample."""
    return OfflineSampleSource().fetch("AAPL").iloc[-80:]


def test_publication_keeps_the_forecast_as_shown_and_never_twice(engine, aapl):
    known = aapl.iloc[:-10]
    store_prices(engine, known)
    gru = save_model(engine, "gru", known, 0.01)
    save_model(engine, "lstm", known, -0.01)
    first = ledger.publish_champion_forecasts(engine, "AAPL", kind=LedgerKind.LIVE, now=NOW)
    assert (first.written, first.already, first.too_late, first.cells) == (2 * H, 0, 0, ("gru", "lstm"))
    again = ledger.publish_champion_forecasts(engine, "AAPL", kind=LedgerKind.LIVE, now=NOW + timedelta(days=1))
    assert (again.written, again.already) == (0, 2 * H)  # the unique key refuses the duplicates
    shown = registry.load_outputs(engine, gru)["forecast"]
    rows = ledger.load_ledger(engine, "AAPL")
    g = rows[rows.cell == "gru"].sort_values("horizon")
    assert list(g.predicted) == shown["predicted"] and list(g.upper95) == shown["upper95"]
    assert list(g.target_date.dt.strftime("%Y-%m-%d")) == shown["dates"]
    assert set(g.origin) == {pd.Timestamp(shown["last_date"])} and set(g.model_id) == {gru}
    assert set(rows.kind) == {"live"} and rows.actual.isna().all()


def test_a_live_step_whose_close_is_already_known_is_never_published(engine, aapl):
    known = aapl.iloc[:-10]
    store_prices(engine, aapl.iloc[:-8])  # two closes after the forecast's origin are already stored
    save_model(engine, "gru", known, 0.0)
    result = ledger.publish_champion_forecasts(engine, "AAPL", kind=LedgerKind.LIVE, now=NOW)
    assert (result.written, result.too_late) == (H - 2, 2)
    assert ledger.load_ledger(engine, "AAPL").horizon.min() == 3


def test_each_arriving_close_scores_its_target_rows_exactly_once(engine, aapl):
    known = aapl.iloc[:-10]
    store_prices(engine, known)
    save_model(engine, "gru", known, 0.002)
    ledger.publish_champion_forecasts(engine, "AAPL", kind=LedgerKind.LIVE, now=NOW)
    source = ReplaySource(aapl, len(known))
    origin_close = float(known["close"].iloc[-1])
    for night in range(1, H + 1):
        day = source.advance()
        update_from_sources(engine, "AAPL", [source], overlap_days=3, now=NOW + timedelta(days=night))
        rows = ledger.load_ledger(engine, "AAPL").set_index("horizon")
        scored = rows[rows.actual.notna()]
        # exactly the steps whose target day has arrived, each with that day's close
        assert list(scored.index) == list(range(1, night + 1))
        assert scored.loc[night, "target_date"] == pd.Timestamp(day)
        assert scored.loc[night, "actual"] == float(aapl.loc[pd.Timestamp(day), "close"])
        assert set(scored.persistence) == {origin_close}
        before = dump(engine)
        assert ledger.score_pending(engine, "AAPL", NOW + timedelta(days=30)) == 0  # nothing is scored twice
        assert dump(engine) == before


def test_actuals_are_brought_back_to_the_published_basis_after_a_rebase(engine, aapl):
    known = aapl.iloc[:-10]
    store_prices(engine, known)
    save_model(engine, "gru", known, 0.0)
    ledger.publish_champion_forecasts(engine, "AAPL", kind=LedgerKind.LIVE, now=NOW)
    halved = aapl.iloc[:-5].copy()
    halved[["open", "high", "low", "close"]] /= 2  # a 2:1 split re-bases the whole adjusted history
    with session_factory(engine).begin() as s:
        replace_all_prices(s, "AAPL", halved, "offline-sample", NOW)  # scores in its own transaction
    assert ledger.score_pending(engine, "AAPL", NOW) == 0
    rows = ledger.load_ledger(engine, "AAPL")
    expected = aapl["close"].reindex(rows.target_date).to_numpy()
    assert rows.actual.to_numpy() == pytest.approx(expected, rel=1e-12)


def test_promotion_rollback_and_model_deletion_leave_the_rows_identical(engine, aapl):
    known = aapl.iloc[:-10]
    store_prices(engine, known)
    first = save_model(engine, "gru", known, 0.01)
    ledger.publish_champion_forecasts(engine, "AAPL", kind=LedgerKind.LIVE, now=NOW)
    store_prices(engine, aapl.iloc[:-9])
    second = save_model(engine, "gru", aapl.iloc[:-9], -0.01)  # promoted: a new champion, published too
    ledger.publish_after_run(engine, "AAPL", trigger="nightly", now=NOW + timedelta(days=1))
    before = dump(engine)
    assert {r.model_id for r in ledger.load_ledger(engine, "AAPL").itertuples()} == {first, second}
    registry.rollback(engine, "AAPL", "gru", actor="test", now=NOW)
    assert registry.champion(engine, "AAPL", "gru").id == first
    assert dump(engine) == before
    with session_factory(engine).begin() as s:  # delete the second model outright, audit trail and all
        s.execute(delete(ChampionEvent).where(or_(ChampionEvent.model_id == second,
                                                  ChampionEvent.previous_model_id == second)))
        s.execute(delete(ModelOutput).where(ModelOutput.model_id == second))
        s.execute(delete(ModelRecord).where(ModelRecord.id == second))
    assert dump(engine) == before
    ledger.publish_after_run(engine, "AAPL", trigger="nightly", now=NOW + timedelta(days=2))
    assert dump(engine) == before  # the rolled-back champion's forecast was published already


def test_replayed_rows_are_copied_without_a_registry_model_and_only_once(engine, tmp_path, aapl):
    from store.db import create_schema, make_engine

    replay = make_engine(f"sqlite:///{tmp_path / 'replay.db'}")
    create_schema(replay)
    known = aapl.iloc[:-10]
    store_prices(replay, known)
    store_prices(engine, aapl)
    save_model(replay, "gru", known, 0.0)
    ledger.publish_champion_forecasts(replay, "AAPL", kind=LedgerKind.REPLAYED, now=NOW)
    written, last_id = ledger.copy_replayed(replay, engine, "AAPL", NOW)
    assert written == H and ledger.copy_replayed(replay, engine, "AAPL", NOW, after_id=last_id) == (0, last_id)
    assert ledger.copy_replayed(replay, engine, "AAPL", NOW)[0] == 0  # copied again from the start: all ignored
    ledger.score_pending(engine, "AAPL", NOW)
    rows = ledger.load_ledger(engine, "AAPL")
    assert set(rows.kind) == {"replayed"} and rows.model_id.isna().all() and rows.actual.notna().all()
    replay.dispose()


def test_the_ledger_refuses_an_unknown_kind(engine):
    with pytest.raises(ValueError):
        ledger.publish_champion_forecasts(engine, "AAPL", kind="guessed", now=NOW)


def test_the_export_reads_the_same_on_both_databases(engine, aapl):
    known = aapl.iloc[:-10]
    store_prices(engine, known)
    save_model(engine, "gru", known, 0.01)
    ledger.publish_champion_forecasts(engine, "AAPL", kind=LedgerKind.LIVE, now=NOW)
    store_prices(engine, aapl.iloc[:-9])
    ledger.score_pending(engine, "AAPL", NOW)
    lines = ledger.csv_text(ledger.export_frame(engine, ticker="AAPL")).splitlines()
    assert lines[0] == ",".join(ledger.CSV_HEADER) and len(lines) == 1 + H
    first = lines[1].split(",")
    # UTC to the second (SQLite hands back naive datetimes, Postgres aware ones), fixed decimals, blanks unscored
    assert first[:6] == ["AAPL", "2013-01-02T23:00:00Z", str(known.index[-1].date()), str(aapl.index[-10].date()), "1", "gru"]
    assert first[13] == f"{aapl['close'].iloc[-10]:.2f}" and lines[2].split(",")[13] == ""  # to the cent
