"""The pipeline's decisions and records, with a fake trainer (no TensorFlow), on both stores."""
from __future__ import annotations

import threading
from datetime import datetime, timezone

import pandas as pd
import pytest
from sqlalchemy import func, select

from jobs.context import JobContext
from jobs.errors import RunInProgress
from jobs.pipeline import run_pipeline
from marketdata import lease as leases
from marketdata import runs
from marketdata.config import load_settings
from marketdata.sources.replay import ReplaySource
from marketdata.tables import Champion, ModelRecord
from tests.fakes import DownSource, FakeTrainer

FRI_EVENING = datetime(2026, 3, 6, 23, 30, tzinfo=timezone.utc)  # Friday 18:30 New York
SAT_EVENING = datetime(2026, 3, 7, 23, 30, tzinfo=timezone.utc)
THANKSGIVING = datetime(2026, 11, 26, 23, 30, tzinfo=timezone.utc)
AAPL_LEASE = leases.training_lease("AAPL")


def _frame(n: int = 120) -> pd.DataFrame:
    idx = pd.bdate_range("2024-01-02", periods=n, name="date")
    close = pd.Series(range(100, 100 + n), index=idx, dtype=float)
    return pd.DataFrame({"open": close, "high": close + 1, "low": close - 1, "close": close, "volume": 1000}, index=idx)


@pytest.fixture
def ctx(engine, tmp_path):
    """A job context on the fresh store with a settable clock and no retrain weekday."""
    settings = load_settings({"DATA_DIR": str(tmp_path), "PRICE_SOURCE": "offline", "RETRAIN_WEEKDAY": ""})
    clock = {"now": FRI_EVENING}
    c = JobContext(settings=settings, engine=engine, now=lambda: clock["now"])
    c.clock = clock
    return c


@pytest.fixture
def source():
    """A replay source that has shown 100 of 120 days."""
    return ReplaySource(_frame(), visible=100, name="offline-sample")


def _models(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(ModelRecord)).scalar()


def _run(ctx, source, trainer, **kw):
    args = dict(trigger="nightly", requested_by="clock", source=source, trainer=trainer)
    return run_pipeline(ctx, **{**args, **kw})


def test_first_run_trains_every_cell_then_second_run_is_skipped(ctx, source):
    trainer = FakeTrainer()
    first = _run(ctx, source, trainer)
    assert first["status"] == "succeeded" and first["detail"]["plan"] == "first"
    assert {c for _, c, _ in trainer.calls} == {"simplernn", "lstm", "gru"}
    assert first["rows_fetched"] == 100 and first["promoted"] is True
    assert set(first["metrics_after"]) == {"simplernn", "lstm", "gru"}
    second = _run(ctx, source, trainer)
    # Same day again: recorded as skipped with the reason, nothing trained.
    assert second["status"] == "skipped" and "no new trading day" in second["detail"]["reason"]
    assert _models(ctx.engine) == 3 and len(trainer.calls) == 3


def test_weekend_skip_says_it_is_a_weekend(ctx, source):
    _run(ctx, source, FakeTrainer())
    ctx.clock["now"] = SAT_EVENING
    run = _run(ctx, source, FakeTrainer())
    assert run["status"] == "skipped" and "2026-03-07 (Saturday) is a weekend" in run["detail"]["reason"]
    assert run["progress_message"] == run["detail"]["reason"]  # what the history table shows


def test_holiday_skip_says_it_is_a_holiday(ctx, source):
    _run(ctx, source, FakeTrainer())
    ctx.clock["now"] = THANKSGIVING
    run = _run(ctx, source, FakeTrainer())
    assert "NYSE holiday" in run["detail"]["reason"]


def test_a_new_day_fine_tunes_the_gru_and_records_before_and_after(ctx, source):
    _run(ctx, source, FakeTrainer())
    source.advance()
    trainer = FakeTrainer(rmse=0.9)
    run = _run(ctx, source, trainer)
    assert run["status"] == "succeeded" and run["detail"]["plan"] == "finetune"
    assert trainer.calls == [("finetune", "gru", None)]
    assert run["rows_fetched"] == 1
    assert run["metrics_before"]["gru"]["rmse"] == 1.0 and run["metrics_after"]["gru"]["rmse"] == 0.9
    assert run["promoted"] is True


def test_a_worse_candidate_is_recorded_but_not_promoted(ctx, source):
    _run(ctx, source, FakeTrainer())
    with ctx.engine.connect() as conn:
        champion = conn.execute(select(Champion.model_id).where(Champion.cell == "gru")).scalar()
    source.advance()
    run = _run(ctx, source, FakeTrainer(rmse=5.0))
    assert run["status"] == "succeeded" and run["promoted"] is False
    assert run["detail"]["models"][0]["previous_champion_id"] == champion
    with ctx.engine.connect() as conn:
        assert conn.execute(select(Champion.model_id).where(Champion.cell == "gru")).scalar() == champion


def test_retrain_weekday_and_every_n_nights(ctx, source, tmp_path):
    ctx.settings = load_settings({"DATA_DIR": str(tmp_path), "RETRAIN_WEEKDAY": "", "RETRAIN_EVERY_N_NIGHTS": "2"})
    _run(ctx, source, FakeTrainer())
    plans = []
    for _ in range(4):
        source.advance()
        plans.append(_run(ctx, source, FakeTrainer())["detail"]["plan"])
    assert plans == ["finetune", "finetune", "retrain", "finetune"]
    ctx.settings = load_settings({"DATA_DIR": str(tmp_path), "RETRAIN_WEEKDAY": "fri"})
    source.advance()
    assert _run(ctx, source, FakeTrainer())["detail"]["plan"] == "retrain"


def test_network_down_fails_cleanly_and_keeps_the_champion(ctx, source):
    _run(ctx, source, FakeTrainer())
    run = _run(ctx, DownSource(), FakeTrainer())
    assert run["status"] == "failed"
    assert run["error"].startswith("price update failed, nothing trained: Yahoo unreachable")
    assert "\n" not in run["error"] and _models(ctx.engine) == 3
    assert leases.current_lease(ctx.engine, AAPL_LEASE) is None  # released for the next run


def test_a_training_exception_fails_the_run_with_one_line(ctx, source):
    run = _run(ctx, source, FakeTrainer(fail_with=MemoryError("out of memory\nat layer 2")))
    assert run["status"] == "failed" and run["error"] == "MemoryError: out of memory"
    assert _models(ctx.engine) == 0 and leases.current_lease(ctx.engine, AAPL_LEASE) is None


def test_cancel_from_another_process_stops_training(ctx, source):
    """The admin UI sets the cancel flag in the run row; training stops at the next epoch."""
    def on_epoch(epoch):
        if epoch == 2:
            runs.request_cancel(ctx.engine, runs.active_run(ctx.engine)["id"])

    import jobs.pipeline as pipeline

    pipeline.CANCEL_POLL_INTERVAL_S, old = 0.0, pipeline.CANCEL_POLL_INTERVAL_S
    try:
        run = _run(ctx, source, FakeTrainer(on_epoch=on_epoch), trigger="manual", requested_by="alice")
    finally:
        pipeline.CANCEL_POLL_INTERVAL_S = old
    assert run["status"] == "cancelled" and _models(ctx.engine) == 0


def test_caller_cancel_and_progress_reach_the_run_row(ctx, source):
    seen: list[tuple[float, str]] = []
    started: list[dict] = []
    run = _run(ctx, source, FakeTrainer(), progress=lambda f, m: seen.append((f, m)), should_cancel=lambda: False,
               on_start=lambda run_id: started.append(runs.get_run(ctx.engine, run_id)))
    # on_start hands the caller the run id while it is running, before any work.
    assert [(r["id"], r["status"]) for r in started] == [(run["id"], "running")]
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] >= 0.95
    assert any("gru epoch 3/3" in m for _, m in seen)
    assert run["progress"] == 1.0
    run2 = _run(ctx, source, FakeTrainer(), action="retrain", should_cancel=lambda: True)
    assert run2["status"] == "cancelled"


def test_a_second_request_while_one_runs_is_refused_with_the_run_named(ctx, source):
    started, release = threading.Event(), threading.Event()

    def on_epoch(epoch):
        started.set()
        release.wait(10)

    result = {}
    t = threading.Thread(target=lambda: result.update(run=_run(ctx, source, FakeTrainer(on_epoch=on_epoch),
                                                                trigger="manual", requested_by="alice")))
    t.start()
    try:
        assert started.wait(10)
        with pytest.raises(RunInProgress) as refused:
            _run(ctx, source, FakeTrainer())
        assert "requested by alice" in str(refused.value) and "started 2026-03-06 23:30:00 UTC" in str(refused.value)
    finally:
        release.set()
        t.join()
    assert result["run"]["status"] == "succeeded"
    assert len(runs.list_runs(ctx.engine)) == 1  # the refused request started nothing


def test_explicit_finetune_without_champion_trains_first(ctx, source):
    run = _run(ctx, source, FakeTrainer(), action="finetune", trigger="manual", requested_by="bob")
    assert run["detail"]["plan"] == "first"


def test_retrain_of_chosen_cells(ctx, source):
    trainer = FakeTrainer()
    run = _run(ctx, source, trainer, action="retrain", cells=["lstm"], epochs=2, trigger="manual", requested_by="bob")
    assert trainer.calls == [("train", "lstm", 2)] and run["detail"]["cells"] == ["lstm"]


@pytest.mark.parametrize("bad", [dict(action="nightly"), dict(trigger="cron"), dict(cells=["transformer"])])
def test_bad_requests_are_refused_before_anything_starts(ctx, source, bad):
    from jobs.errors import JobError

    with pytest.raises(JobError):
        _run(ctx, source, FakeTrainer(), **bad)
    assert runs.list_runs(ctx.engine) == [] and leases.current_lease(ctx.engine, AAPL_LEASE) is None


def test_skip_on_a_session_whose_prices_are_late_says_so(ctx, source):
    _run(ctx, source, FakeTrainer())
    ctx.clock["now"] = datetime(2026, 3, 9, 23, 30, tzinfo=timezone.utc)  # Monday evening, a session
    run = _run(ctx, source, FakeTrainer())
    assert run["status"] == "skipped" and "2026-03-09 is an NYSE session but the source has no prices" in run["detail"]["reason"]
