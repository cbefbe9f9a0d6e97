"""The ledger as the real pipeline writes it (real training, two epochs, 300 days), on SQLite and Postgres.

A run publishes its champions' forecasts; the next night's prices score them; a
retrain, a rollback and a model deletion leave every earlier row byte-identical; a
publication that fails leaves the run's outcome alone and is made by the next run.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import delete, or_

from jobs.context import JobContext
from contract.run import RunRequest, RunResult
from jobs.run import run_pipeline
from store import ledger, registry
from config.settings import load_settings
from store.db import session_factory
from contract.vocab import CELLS
from marketdata.sources.replay import ReplaySource
from store.tables import ChampionEvent, ModelOutput, ModelRecord
from tests.support.ledger import dump
from tests.support.pipeline import FRI_EVENING, TINY, history

pytestmark = pytest.mark.slow
PREDICTION_COLUMNS = ["id", "ticker", "cell", "model_id", "model_version", "origin", "origin_close", "target_date",
                      "horizon", "predicted", "lower80", "upper80", "lower95", "upper95", "published_at", "kind"]


@pytest.fixture
def ctx(engine, tmp_path):
    """A job context on the fresh store with a settable clock and two-epoch training."""
    settings = load_settings({"DATA_DIR": str(tmp_path), "PRICE_SOURCE": "offline", "RETRAIN_WEEKDAY": "", **TINY})
    clock = {"now": FRI_EVENING}
    c = JobContext(settings=settings, engine=engine, now=lambda: clock["now"])
    c.clock = clock
    return c


def run(ctx, source, **kw) -> RunResult:
    out = run_pipeline(replace(ctx, sources=[source]),
                       RunRequest.build("AAPL", trigger="nightly", requested_by="test", **kw))
    assert out.ok, out.error
    return out


def served_forecasts(engine) -> dict[str, tuple[int, dict]]:
    return {c: (m.id, registry.load_outputs(engine, m.id)["forecast"])
            for c in CELLS if (m := registry.champion(engine, "AAPL", c))}


def test_runs_publish_nights_score_and_retrain_rollback_deletion_leave_rows_identical(ctx):
    source = ReplaySource(history(), visible=300, name="offline-sample")
    run(ctx, source)  # first models of every cell
    shown = served_forecasts(ctx.engine)
    rows = ledger.load_ledger(ctx.engine, "AAPL")
    assert len(rows) == 5 * len(CELLS) and set(rows.kind) == {"live"}
    for cell, (model_id, fc) in shown.items():
        mine = rows[rows.cell == cell].sort_values("horizon")
        assert set(mine.model_id) == {model_id} and list(mine.predicted) == fc["predicted"]
    published = dump(ctx.engine)

    day = source.advance()  # the next night brings one close: the one-day forecasts are scored, nothing else
    ctx.clock["now"] += timedelta(days=3)
    run(ctx, source)
    after = ledger.load_ledger(ctx.engine, "AAPL").set_index("id")
    first = after.loc[[r[0] for r in published]]
    assert set(first[first.actual.notna()].horizon) == {1} and set(first[first.actual.notna()].target_date.dt.date) == {day}
    assert (first.loc[first.horizon == 1, "actual"] == float(history().loc[str(day), "close"])).all()
    width = len(PREDICTION_COLUMNS)
    assert [r[:width] for r in dump(ctx.engine)[:len(published)]] == [r[:width] for r in published]

    before = dump(ctx.engine)
    retrained = run(ctx, source, action="retrain", cells=["gru"], update_prices=False)
    new_gru = retrained.models[0].model_id
    assert dump(ctx.engine)[:len(before)] == before  # a retrain only appends
    if registry.champion(ctx.engine, "AAPL", "gru").id == new_gru:
        registry.rollback(ctx.engine, "AAPL", "gru", actor="test", now=ctx.now())
    before = dump(ctx.engine)
    with session_factory(ctx.engine).begin() as s:
        s.execute(delete(ChampionEvent).where(or_(ChampionEvent.model_id == new_gru,
                                                  ChampionEvent.previous_model_id == new_gru)))
        s.execute(delete(ModelOutput).where(ModelOutput.model_id == new_gru))
        s.execute(delete(ModelRecord).where(ModelRecord.id == new_gru))
    run(ctx, source)  # a skipped night: publishes nothing new, rewrites nothing
    assert dump(ctx.engine) == before


CLOSE_LEDGER = {
    "sqlite": ["CREATE TRIGGER ledger_closed BEFORE INSERT ON forecast_ledger "
               "BEGIN SELECT RAISE(ABORT, 'the ledger is closed'); END"],
    "postgresql": ["CREATE FUNCTION ledger_closed() RETURNS trigger LANGUAGE plpgsql AS "
                   "$$ BEGIN RAISE EXCEPTION 'the ledger is closed'; END $$",
                   "CREATE TRIGGER ledger_closed BEFORE INSERT ON forecast_ledger FOR EACH ROW "
                   "EXECUTE FUNCTION ledger_closed()"],
}
OPEN_LEDGER = {"sqlite": ["DROP TRIGGER ledger_closed"], "postgresql": ["DROP TRIGGER ledger_closed ON forecast_ledger"]}


def _ledger_statements(engine, statements: dict[str, list[str]]) -> None:
    from sqlalchemy import text

    with engine.begin() as conn:
        for statement in statements[engine.dialect.name]:
            conn.execute(text(statement))


def test_a_failed_publication_never_fails_the_run_and_the_next_run_makes_it(ctx, caplog):
    # The ledger refuses inserts (a real failure, not a mock); scoring, which every price write does in its own
    # transaction, still works, so the prices are stored and only the publication fails.
    _ledger_statements(ctx.engine, CLOSE_LEDGER)
    source = ReplaySource(history(), visible=300, name="offline-sample")
    first = run(ctx, source)
    assert first.status == "succeeded" and "ledger: could not publish the AAPL forecasts" in caplog.text
    assert not ledger.has_rows(ctx.engine, "AAPL")
    _ledger_statements(ctx.engine, OPEN_LEDGER)
    second = run(ctx, source)  # no new day: the run is skipped, but publishes what is missing
    assert second.status == "skipped"
    rows = ledger.load_ledger(ctx.engine, "AAPL")
    assert len(rows) == 5 * len(CELLS) and set(rows.origin.dt.date) == {history().index[299].date()}
