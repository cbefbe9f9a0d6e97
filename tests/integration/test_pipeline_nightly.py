"""The pipeline's decisions and records, with real training on a short history, on both stores.

The networks are the real ones (``jobs.candidates``), trained for two epochs on 300
days of the offline AAPL sample: about a second per cell. Only Yahoo, which we
cannot reach here, is stood in for (a download that raises a network error).
"""
from __future__ import annotations

import threading
from dataclasses import replace
from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select

from contract.errors import Refusal
from contract.run import RunRequest, RunResult
from jobs.context import JobContext
from jobs.errors import RunInProgress
from jobs.run import RunHooks, run_pipeline
from store import lease as leases
from store import runs
from config.settings import load_settings
from contract.vocab import CELLS
from marketdata.sources.replay import ReplaySource
from marketdata.sources.yahoo import YahooSource
from store.tables import Champion, ModelRecord
from tests.support.pipeline import FRI_EVENING, TINY, history

pytestmark = pytest.mark.slow

SAT_EVENING = datetime(2026, 3, 7, 23, 30, tzinfo=timezone.utc)
THANKSGIVING = datetime(2026, 11, 26, 23, 30, tzinfo=timezone.utc)
AAPL_LEASE = leases.training_lease("AAPL")


@pytest.fixture
def ctx(engine, tmp_path):
    """A job context on the fresh store: settable clock, no retrain weekday, two-epoch training."""
    settings = load_settings({"DATA_DIR": str(tmp_path), "PRICE_SOURCE": "offline", "RETRAIN_WEEKDAY": "", **TINY})
    clock = {"now": FRI_EVENING}
    c = JobContext(settings=settings, engine=engine, now=lambda: clock["now"])
    c.clock = clock
    return c


@pytest.fixture
def source():
    """A replay source that has shown 300 of 320 days."""
    return ReplaySource(history(), visible=300, name="offline-sample")


def yahoo_down() -> YahooSource:
    """Yahoo with the network down: every download raises, retries without waiting."""
    def download(*args, **kwargs):
        raise ConnectionError("network down")

    return YahooSource(download=download, sleep=lambda s: None)


def _models(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(ModelRecord)).scalar()


def _champion(engine, cell: str = "gru") -> int | None:
    with engine.connect() as conn:
        return conn.execute(select(Champion.model_id).where(Champion.cell == cell)).scalar()


def _trained(run: dict) -> list[tuple[str, str]]:
    """(kind, cell) of every model the run stored."""
    return [(m["kind"], m["cell"]) for m in run["detail"].get("models", [])]


HOOKS = ("progress", "should_cancel", "on_start")


def _run(ctx, source, **kw):
    """A nightly run from ``source``; only the GRU is trained unless the test says otherwise (it is the
    quick part). Returns the run's stored record (what the history shows), once the typed result the
    caller got is checked to say the same."""
    hooks = RunHooks(**{k: kw.pop(k) for k in HOOKS if k in kw})
    fields = {"trigger": "nightly", "requested_by": "clock", "cells": ["gru"], **kw}
    result = run_pipeline(replace(ctx, sources=[source]), RunRequest.build(fields.pop("ticker", "AAPL"), **fields),
                          hooks)
    record = runs.get_run(ctx.engine, result.run_id)
    assert result == RunResult.from_record(record)
    return record


def test_first_run_trains_every_cell_then_second_run_is_skipped(ctx, source):
    first = _run(ctx, source, cells=None)
    assert first["status"] == "succeeded" and first["detail"]["plan"] == "first"
    assert sorted(_trained(first)) == sorted(("train", c) for c in CELLS)
    assert first["rows_fetched"] == 300 and first["promoted"] is True
    assert set(first["metrics_after"]) == set(CELLS)
    # Real metrics, with the persistence baseline beside each network.
    assert all(m["rmse"] > 0 and m["persistence_rmse"] > 0 for m in first["metrics_after"].values())
    second = _run(ctx, source, cells=None)
    # Same day again: recorded as skipped with the reason, nothing trained.
    assert second["status"] == "skipped" and "no new trading day" in second["detail"]["reason"]
    assert _models(ctx.engine) == 3


def test_weekend_skip_says_it_is_a_weekend(ctx, source):
    _run(ctx, source)
    ctx.clock["now"] = SAT_EVENING
    run = _run(ctx, source)
    assert run["status"] == "skipped" and "2026-03-07 (Saturday) is a weekend" in run["detail"]["reason"]
    assert run["progress_message"] == run["detail"]["reason"]  # what the history table shows


def test_holiday_skip_says_it_is_a_holiday(ctx, source):
    _run(ctx, source)
    ctx.clock["now"] = THANKSGIVING
    run = _run(ctx, source)
    assert "NYSE holiday" in run["detail"]["reason"]


def test_a_new_day_fine_tunes_the_gru_and_records_before_and_after(ctx, source):
    first = _run(ctx, source)
    champion = _champion(ctx.engine)
    source.advance()
    run = _run(ctx, source)
    assert run["status"] == "succeeded" and run["detail"]["plan"] == "finetune"
    assert _trained(run) == [("finetune", "gru")] and run["rows_fetched"] == 1
    new_id = run["detail"]["models"][0]["model_id"]
    assert run["metrics_before"]["gru"]["model_id"] == champion == first["detail"]["models"][0]["model_id"]
    assert run["metrics_after"]["gru"]["model_id"] == new_id and run["metrics_after"]["gru"]["rmse"] > 0
    # Whatever training decided, the record and the served champion agree.
    assert _champion(ctx.engine) == (new_id if run["promoted"] else champion)
    # Both figures of the promotion comparison sit side by side in the run history, on one window.
    pr = run["detail"]["models"][0]["promotion"]
    assert pr["champion_id"] == champion and pr["days"] > 0 and pr["window_start"] < pr["window_end"]
    assert run["promoted"] == (pr["candidate_rmse"] <= pr["champion_rmse"]) == pr["promote"]


def test_a_candidate_that_is_not_promoted_is_recorded_and_the_champion_kept(ctx, source):
    _run(ctx, source)
    champion = _champion(ctx.engine)
    run = _run(ctx, source, action="retrain", promote=False, trigger="manual", requested_by="bob")
    assert run["status"] == "succeeded" and run["promoted"] is False
    assert run["detail"]["models"][0]["previous_champion_id"] == champion
    assert _champion(ctx.engine) == champion and _models(ctx.engine) == 2


def test_retrain_weekday_and_every_n_nights(ctx, source, tmp_path):
    ctx.settings = load_settings({"DATA_DIR": str(tmp_path), "RETRAIN_WEEKDAY": "", "RETRAIN_EVERY_N_NIGHTS": "2",
                                  **TINY})
    _run(ctx, source)
    plans = []
    for _ in range(4):
        source.advance()
        plans.append(_run(ctx, source)["detail"]["plan"])
    assert plans == ["finetune", "finetune", "retrain", "finetune"]
    ctx.settings = load_settings({"DATA_DIR": str(tmp_path), "RETRAIN_WEEKDAY": "fri", **TINY})
    source.advance()
    assert _run(ctx, source)["detail"]["plan"] == "retrain"


def test_network_down_fails_cleanly_and_keeps_the_champion(ctx, source):
    _run(ctx, source)
    champion = _champion(ctx.engine)
    run = _run(ctx, yahoo_down())
    assert run["status"] == "failed"
    assert run["error"].startswith("price update failed, nothing trained: Yahoo unreachable for AAPL after 3 attempts")
    assert "ConnectionError: network down" in run["error"]
    assert "\n" not in run["error"] and _models(ctx.engine) == 1 and _champion(ctx.engine) == champion
    assert leases.current_lease(ctx.engine, AAPL_LEASE) is None  # released for the next run


def test_a_training_error_fails_the_run_with_one_line(ctx):
    """Real training refuses a history too short to split: the run fails with that one line."""
    short = ReplaySource(history().iloc[-12:], visible=12, name="offline-sample")  # a history too short to split
    run = _run(ctx, short, action="retrain", trigger="manual", requested_by="bob")
    assert run["status"] == "failed" and run["error"].startswith("AAPL gru: 12 price rows are too few")
    assert "\n" not in run["error"]
    assert _models(ctx.engine) == 0 and leases.current_lease(ctx.engine, AAPL_LEASE) is None


def test_cancel_from_another_process_stops_training(ctx, source, monkeypatch):
    """The admin UI sets the cancel flag in the run row after the first epoch; training stops there."""
    import jobs.run_watch as run_watch

    monkeypatch.setattr(run_watch, "CANCEL_POLL_INTERVAL_S", 0.0)

    seen: list[str] = []

    def admin_cancels_after_first_epoch(fraction, message):
        seen.append(message)
        if "epoch 1/" in message:
            runs.request_cancel(ctx.engine, runs.active_run(ctx.engine)["id"])

    run = _run(ctx, source, epochs=3, trigger="manual", requested_by="alice", progress=admin_cancels_after_first_epoch)
    assert run["status"] == "cancelled" and run["error"].startswith("training cancelled during gru")
    assert "nothing was saved" in run["error"] and not any("epoch 3/3" in m for m in seen)
    assert _models(ctx.engine) == 0 and leases.current_lease(ctx.engine, AAPL_LEASE) is None


def test_caller_cancel_and_progress_reach_the_run_row(ctx, source):
    seen: list[tuple[float, str]] = []
    started: list[dict] = []
    run = _run(ctx, source, progress=lambda f, m: seen.append((f, m)), should_cancel=lambda: False,
               on_start=lambda run_id: started.append(runs.get_run(ctx.engine, run_id)))
    # on_start hands the caller the run id while it is running, before any work.
    assert [(r["id"], r["status"]) for r in started] == [(run["id"], "running")]
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] >= 0.95
    assert any("gru: epoch 2/2" in m for _, m in seen)
    assert run["progress"] == 1.0

    # The caller (a SIGTERM, a UI) says stop once the first epoch is reported.
    stop = threading.Event()
    run2 = _run(ctx, source, action="retrain",
                progress=lambda f, m: stop.set() if "epoch 1/" in m else None, should_cancel=stop.is_set)
    assert run2["status"] == "cancelled" and "nothing was saved" in run2["progress_message"]
    assert _models(ctx.engine) == 1


def test_one_training_per_ticker_a_second_is_refused_another_ticker_runs(ctx, source):
    """While AAPL trains, a second AAPL request is refused naming the run; MSFT trains alongside."""
    started, release = threading.Event(), threading.Event()

    def hold_at_first_epoch(fraction, message):
        if "epoch" in message:
            started.set()
            release.wait(30)

    result = {}
    t = threading.Thread(target=lambda: result.update(run=_run(ctx, source, trigger="manual", requested_by="alice",
                                                                progress=hold_at_first_epoch)))
    t.start()
    try:
        assert started.wait(60)
        with pytest.raises(RunInProgress) as refused:
            _run(ctx, source)
        msg = str(refused.value)
        since = runs.active_run(ctx.engine, "AAPL")["started_at"]  # the store's clock, not the injected one
        assert "requested by alice) of AAPL" in msg and f"started {since:%Y-%m-%d %H:%M:%S} UTC" in msg
        msft = _run(ctx, ReplaySource(history("MSFT"), visible=300), ticker="MSFT")
        assert msft["status"] == "succeeded" and msft["ticker"] == "MSFT"
    finally:
        release.set()
        t.join()
    assert result["run"]["status"] == "succeeded"
    # The refused request started nothing: one AAPL run, one MSFT run.
    assert sorted(r["ticker"] for r in runs.list_runs(ctx.engine)) == ["AAPL", "MSFT"]


def test_explicit_finetune_without_champion_trains_first(ctx, source):
    run = _run(ctx, source, action="finetune", cells=None, trigger="manual", requested_by="bob")
    assert run["detail"]["plan"] == "first"


def test_finetune_of_a_cell_without_champion_fails_with_what_to_do(ctx, source):
    run = _run(ctx, source, action="finetune", cells=["lstm"], trigger="manual", requested_by="bob")
    assert run["status"] == "failed"
    assert run["error"] == "no lstm champion for AAPL to fine-tune; run: python -m jobs train --cells lstm"


def test_retrain_of_chosen_cells(ctx, source):
    run = _run(ctx, source, action="retrain", cells=["lstm"], epochs=2, trigger="manual", requested_by="bob")
    assert _trained(run) == [("train", "lstm")] and run["detail"]["cells"] == ["lstm"]
    assert _champion(ctx.engine, "lstm") == run["detail"]["models"][0]["model_id"]


@pytest.mark.parametrize("bad", [dict(action="nightly"), dict(trigger="cron"), dict(cells=["transformer"])])
def test_bad_requests_are_refused_before_anything_starts(ctx, source, bad):
    with pytest.raises(Refusal):
        _run(ctx, source, **bad)
    assert runs.list_runs(ctx.engine) == [] and leases.current_lease(ctx.engine, AAPL_LEASE) is None


def test_skip_on_a_session_whose_prices_are_late_says_so(ctx, source):
    _run(ctx, source)
    ctx.clock["now"] = datetime(2026, 3, 9, 23, 30, tzinfo=timezone.utc)  # Monday evening, a session
    run = _run(ctx, source)
    assert run["status"] == "skipped" and "2026-03-09 is an NYSE session but the source has no prices" in run["detail"]["reason"]


def test_a_refused_ticker_never_stops_the_others(ctx):
    """AAPL's lease is held by another process: AAPL is refused, MSFT still trains (nightly, the clock)."""
    from contract.run import TickerState
    from jobs.each_ticker import run_each

    leases.acquire(ctx.engine, holder="another-process", ttl_s=600, name=AAPL_LEASE)
    msft = ReplaySource(history("MSFT"), visible=300, name="offline-sample")
    requests = [RunRequest.build(t, trigger="nightly", requested_by="clock", cells=["gru"]) for t in ("AAPL", "MSFT")]
    aapl_out, msft_out = run_each(replace(ctx, sources=[msft]), requests, run_pipeline, RunHooks())
    assert aapl_out.state is TickerState.REFUSED and "another training run is" in aapl_out.message
    assert msft_out.state is TickerState.RAN and msft_out.result.status == "succeeded" and msft_out.ok
    assert [r["ticker"] for r in runs.list_runs(ctx.engine)] == ["MSFT"]  # the refusal recorded nothing
