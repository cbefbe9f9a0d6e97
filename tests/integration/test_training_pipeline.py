"""jobs.candidates: the one code path that trains, evaluates, stores and promotes."""
from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select

from jobs.context import JobContext
from contract.errors import Refusal
from jobs.errors import Cancelled, JobError
from jobs.candidates import TrainControls, finetune_champion, train_cells
from jobs.progress import Follow
from store import registry
from config.settings import load_settings
from store.db import create_schema, make_engine, session_factory
from contract.outputs import OUTPUT_NAMES
from store.prices import upsert_prices
from marketdata.sources.offline import OfflineSampleSource
from store.tables import ModelRecord
from tests.support.shapes import output_shape_errors

pytestmark = pytest.mark.slow
NOW = datetime(2026, 1, 5, 22, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def aapl():
    """The newest 700 days of the offline AAPL sample (enough to train, quick to fit)."""
    return OfflineSampleSource().fetch("AAPL").iloc[-700:]


def context(engine, prices) -> JobContext:
    """A job context on ``engine`` with ``prices`` stored and a fixed clock."""
    with session_factory(engine).begin() as s:
        upsert_prices(s, "AAPL", prices, "offline-sample", NOW)
    return JobContext(settings=load_settings({"DATABASE_URL": str(engine.url)}), engine=engine, now=lambda: NOW)


@pytest.fixture
def ctx(sqlite_url, aapl):
    """A context on a fresh SQLite store holding the 700 days."""
    engine = make_engine(sqlite_url)
    create_schema(engine)
    yield context(engine, aapl)
    engine.dispose()


def test_first_models_are_promoted_with_every_output(engine, aapl):
    ctx = context(engine, aapl)
    progress = []
    outcomes = train_cells(ctx, "AAPL", ["simplernn", "gru"], TrainControls(epochs=2),
                           Follow(progress=lambda f, m: progress.append(f)))
    assert [(o.cell, o.kind, o.promoted, o.previous_champion_id) for o in outcomes] == [
        ("simplernn", "train", True, None), ("gru", "train", True, None)]
    assert progress == sorted(progress) and progress[-1] == 1.0
    gru = outcomes[1]
    assert registry.champion(engine, "AAPL", "gru").id == gru.model_id
    outs = registry.load_outputs(engine, gru.model_id)
    assert set(outs) == set(OUTPUT_NAMES)
    # the real producer's payloads have the shapes the fixture store is pinned to (test_fixture_store_shape)
    assert [e for name in OUTPUT_NAMES for e in output_shape_errors(name, outs[name])] == []
    assert len(outs["predictions"]["dates"]) == gru.metrics["test_days"]
    assert len(outs["loss_curve"]["epoch"]) == 2
    # forecast dates are the next NYSE sessions after the last close (2013-03-01 is a Friday)
    assert outs["forecast"]["last_date"] == "2013-03-01"
    assert outs["forecast"]["dates"] == ["2013-03-04", "2013-03-05", "2013-03-06", "2013-03-07", "2013-03-08"]
    info = registry.get_model(engine, gru.model_id)
    assert info.test_start.isoformat() == outs["predictions"]["split"]["test_start"]
    assert info.val_start < info.test_start and info.param_count > 0
    assert "scaler" in info.hyperparams


def test_retrain_is_compared_with_the_champion_on_the_same_window(ctx):
    first = train_cells(ctx, "AAPL", ["gru"], TrainControls(epochs=2))[0]
    again = train_cells(ctx, "AAPL", ["gru"], TrainControls(epochs=2))[0]
    # same seed, same data: the same network, so the two figures are equal and "not worse" holds
    assert again.previous_champion_id == first.model_id
    pr = again.promotion
    assert pr.champion_id == first.model_id and pr.days > 0
    assert pr.candidate_rmse == pytest.approx(pr.champion_rmse)
    assert again.promoted
    # the window is the promotion window: it ends where the reported origins begin
    assert pr.window_end == again.metrics["evaluation"]["report_start"]
    assert pr.window_start == again.metrics["evaluation"]["promotion_start"]
    assert registry.get_model(ctx.engine, again.model_id).version == 2


def test_rolling_figures_are_stored_with_baselines_and_origin_counts(ctx):
    out = train_cells(ctx, "AAPL", ["gru", "lstm"], TrainControls(epochs=1))
    m = out[0].metrics
    ev = m["evaluation"]
    assert ev["method"] == "rolling-origin" and ev["refit_every"] == 20 and ev["refits"] > 0
    assert set(m["rows"]) == {"gru", "persistence", "drift", "ridge"}
    assert len(ev["origins"]) == 5 and ev["origins"][0] == m["test_days"]
    # reported origins start after the promotion window, which starts at the evaluation start
    assert ev["promotion_start"] < ev["report_start"]
    outs = registry.load_outputs(ctx.engine, out[0].model_id)
    assert outs["predictions"]["dates"][0] == ev["report_start"]
    assert len(outs["backtest"]["actual"]) == m["test_days"]
    # both cells are served: their comparison is stored for exactly these two models
    from store.queries import latest_comparison

    comp = latest_comparison(ctx.engine, "AAPL", {"gru": out[0].model_id, "lstm": out[1].model_id})
    assert comp is not None and comp["origins"] == m["test_days"]
    assert {frozenset((p["a"], p["b"])) for p in comp["pairs"]} == {frozenset(x) for x in [("gru", "lstm"), ("gru", "ridge"), ("lstm", "ridge")]}


def test_no_promote_stores_but_keeps_the_champion(ctx):
    first = train_cells(ctx, "AAPL", ["gru"], TrainControls(epochs=1))[0]
    other = train_cells(ctx, "AAPL", ["gru"], TrainControls(epochs=1, seed=5, promote=False))[0]
    assert not other.promoted
    assert registry.champion(ctx.engine, "AAPL", "gru").id == first.model_id


def test_finetune_on_new_days_is_judged_on_the_newest_window(sqlite_url, aapl):
    engine = make_engine(sqlite_url)
    create_schema(engine)
    ctx = context(engine, aapl.iloc[:-30])  # the champion never saw the last 30 days
    champ = train_cells(ctx, "AAPL", ["gru"], TrainControls(epochs=2))[0]
    ctx = context(engine, aapl)  # 30 new trading days arrive
    tuned = finetune_champion(ctx, "AAPL", "gru", TrainControls(epochs=2))
    assert tuned.kind == "finetune" and tuned.previous_champion_id == champ.model_id
    assert registry.get_model(engine, tuned.model_id).parent_id == champ.model_id
    # same evaluation length, moved forward by the new days; both scored on one shared window
    assert tuned.metrics["evaluation"]["evaluation_days"] == champ.metrics["evaluation"]["evaluation_days"]
    pr = tuned.promotion
    assert pr.days > 0 and pr.window_start >= str(registry.get_model(engine, champ.model_id).test_start)
    # ... and ends before either model's reported origins begin
    assert pr.window_end <= min(champ.metrics["evaluation"]["report_start"], tuned.metrics["evaluation"]["report_start"])
    assert tuned.promoted == (pr.candidate_rmse <= pr.champion_rmse)
    served = registry.champion(engine, "AAPL", "gru").id
    assert served == (tuned.model_id if tuned.promoted else champ.model_id)
    engine.dispose()


def test_finetune_refuses_prices_older_than_the_champion(ctx, aapl):
    # A replay that hands in history ending before the champion's test period would
    # judge both models on days the champion was trained on.
    train_cells(ctx, "AAPL", ["gru"], TrainControls(epochs=1))
    with pytest.raises(JobError, match="retrain instead"):
        finetune_champion(ctx, "AAPL", "gru", prices=aapl.iloc[:-200])


def test_a_candidate_of_older_prices_is_never_promoted(ctx, aapl):
    # The defect this guards: a replay of prices cut before the champion's data end used
    # to be promoted unseen ("champion cannot be scored"), serving a forecast dated years back.
    first = train_cells(ctx, "AAPL", ["gru"], TrainControls(epochs=1))[0]
    out = train_cells(ctx, "AAPL", ["gru"], TrainControls(epochs=1), prices=aapl.iloc[:-200])[0]
    assert not out.promoted and "before the champion's" in out.promotion.reason
    assert registry.champion(ctx.engine, "AAPL", "gru").id == first.model_id


def test_cancel_saves_nothing(ctx):
    calls = []

    def cancel_on_second_check():
        calls.append(1)
        return len(calls) >= 2

    with pytest.raises(Cancelled, match="nothing was saved"):
        train_cells(ctx, "AAPL", ["gru"], TrainControls(epochs=3), Follow(should_cancel=cancel_on_second_check))
    with ctx.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(ModelRecord)).scalar() == 0


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda c: train_cells(c, "AAPL", ["transformer"]), "cell type 'transformer' must be one of"),
        (lambda c: train_cells(c, "AAPL", []), "cell types must be a non-empty list"),
        (lambda c: train_cells(c, "AAPL", ["gru"], TrainControls(epochs=0)), "epochs"),
        (lambda c: train_cells(c, "MSFT", ["gru"]), "no prices stored for MSFT"),
        (lambda c: finetune_champion(c, "AAPL", "gru"), "no gru champion"),
        (lambda c: train_cells(c, "AAPL", ["gru"], prices=OfflineSampleSource().fetch("AAPL").iloc[:15]), "too few"),
    ],
)
def test_expected_failures_are_refusals(ctx, call, message):
    """Each is a Refusal (JobError is one; a bad cell type is refused by contract.vocab), which
    every caller shows as one line."""
    with pytest.raises(Refusal, match=message):
        call(ctx)
