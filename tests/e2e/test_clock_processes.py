"""Real processes, real training (tiny epochs), real stores: what the scheduled-retraining issue must show."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import delete, func, select

from store.db import make_engine
from store.tables import ModelRecord, Price
from tests.support.services import ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

TINY = {"PIPELINE_EPOCHS": "2", "PIPELINE_FINETUNE_EPOCHS": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}


def _models(url: str) -> list[tuple[int, int | None]]:
    eng = make_engine(url)
    with eng.connect() as conn:
        rows = conn.execute(select(ModelRecord.id, ModelRecord.run_id).order_by(ModelRecord.id)).all()
    eng.dispose()
    return [tuple(r) for r in rows]


def _runs(run_cli, url: str) -> list[dict]:
    out = run_cli("runs", "--json", database_url=url)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def _popen(args: list[str], url: str, tmp_path, env: dict | None = None) -> subprocess.Popen:
    full_env = {**os.environ, "DATABASE_URL": url, "PRICE_SOURCE": "offline", "DATA_DIR": str(tmp_path / "data"),
                **TINY, **(env or {})}
    return subprocess.Popen([sys.executable, "-m", "jobs", *args], cwd=ROOT, env=full_env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_until_training(url: str, proc: subprocess.Popen, timeout: float = 120) -> int:
    """Poll the store until the process's run reports a training epoch; its run id."""
    from store.tables import Run

    eng = make_engine(url)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            assert proc.poll() is None, f"finished before it could be killed: {proc.communicate()}"
            with eng.connect() as conn:
                row = conn.execute(select(Run.id, Run.progress_message).where(Run.status == "running")).first()
            if row is not None and "epoch" in row.progress_message:
                return row.id
            time.sleep(0.05)
    finally:
        eng.dispose()
    raise AssertionError("the run never reported a training epoch")


def test_two_nightly_runs_in_a_row_second_is_skipped(run_cli, sqlite_url):
    first = run_cli("nightly", database_url=sqlite_url, env=TINY)
    assert first.returncode == 0, first.stderr
    assert "succeeded" in first.stdout
    n_models = len(_models(sqlite_url))
    assert n_models == 3  # first-time training: SimpleRNN, LSTM, GRU

    second = run_cli("nightly", database_url=sqlite_url, env=TINY)
    assert second.returncode == 0, second.stderr
    assert "skipped: no new trading day" in second.stdout
    assert len(_models(sqlite_url)) == n_models  # no new model
    history = _runs(run_cli, sqlite_url)
    assert [r["status"] for r in history] == ["skipped", "succeeded"]
    assert "no new trading day" in history[0]["detail"]["reason"]


def test_two_trainings_started_together_one_runs_one_is_refused(run_cli, database_url, tmp_path):
    assert run_cli("init", database_url=database_url).returncode == 0
    args = ["nightly", "--action", "retrain", "--cells", "gru", "--epochs", "3", "--quiet"]
    procs = [_popen(args, database_url, tmp_path) for _ in range(2)]
    results = [(p.wait(timeout=300), *p.communicate()) for p in procs]
    codes = sorted(code for code, _, _ in results)
    assert codes == [0, 2], results
    winner = next(r for r in results if r[0] == 0)
    loser = next(r for r in results if r[0] == 2)
    assert "succeeded" in winner[1]
    # The refusal names the run in progress and when it started.
    assert "another training run is in progress: run #1 (manual retrain requested by cli:" in loser[2]
    assert "started 20" in loser[2] and "UTC" in loser[2]
    assert len(_models(database_url)) == 1  # exactly one new model
    assert [r["status"] for r in _runs(run_cli, database_url)] == ["succeeded"]


def test_kill_9_mid_training_leaves_served_outputs_and_next_run_succeeds(run_cli, database_url, tmp_path):
    ttl = {"LEASE_TTL_SECONDS": "3"}
    assert run_cli("init", database_url=database_url).returncode == 0
    # The champion is trained before the newest day arrived: hold that day back, train directly.
    eng = make_engine(database_url)
    with eng.begin() as conn:
        conn.execute(delete(Price).where(Price.date == conn.execute(select(func.max(Price.date))).scalar()))
    eng.dispose()
    first = run_cli("train", "--cells", "gru", "--epochs", "2", database_url=database_url, env=TINY)
    assert first.returncode == 0, first.stderr
    before = run_cli("export", "predictions", "--cell", "gru", database_url=database_url)
    assert before.returncode == 0 and before.stdout.startswith("Date,Actual,Predicted,Residual"), before.stderr

    victim = _popen(["nightly", "--action", "retrain", "--cells", "gru", "--epochs", "400", "--quiet"],
                    database_url, tmp_path, env=ttl)
    killed_run = _wait_until_training(database_url, victim)
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=30)

    after = run_cli("export", "predictions", "--cell", "gru", database_url=database_url)
    assert after.stdout == before.stdout  # what is served did not change
    assert all(run_id != killed_run for _, run_id in _models(database_url))  # no half-written model

    time.sleep(3.5)  # the killed process's lease expires (LEASE_TTL_SECONDS=3)
    nxt = run_cli("nightly", database_url=database_url, env={**TINY, **ttl})
    assert nxt.returncode == 0, nxt.stderr
    assert "succeeded" in nxt.stdout
    history = {r["id"]: r for r in _runs(run_cli, database_url)}
    assert history[killed_run]["status"] == "failed" and "killed or crashed" in history[killed_run]["error"]
    newest_run = max(history)
    # The day the killed run had fetched is picked up: the GRU champion is fine-tuned on it.
    assert history[newest_run]["status"] == "succeeded" and history[newest_run]["detail"]["plan"] == "finetune"


def test_clock_bootstraps_a_fresh_store_and_publishes_its_next_run(run_cli, sqlite_url, tmp_path):
    # a retrain weekday (the suite runs without one, tests/conftest.py), so the clock has its weekly job to publish
    proc = _popen(["clock"], sqlite_url, tmp_path, env={"PIPELINE_EPOCHS": "1", "RETRAIN_WEEKDAY": "sat"})
    try:
        deadline = time.monotonic() + 180
        done = None
        while time.monotonic() < deadline and proc.poll() is None:
            out = run_cli("runs", "--json", database_url=sqlite_url)
            history = json.loads(out.stdout) if out.returncode == 0 and out.stdout.strip() else []
            done = next((r for r in history if r["trigger"] == "bootstrap" and r["status"] != "running"), None)
            if done:
                break
            time.sleep(1)
        assert done is not None and done["status"] == "succeeded", (done, proc.poll(), proc.poll() is not None and proc.communicate())
        assert done["detail"]["plan"] == "first"
        listing = run_cli("runs", database_url=sqlite_url).stdout
        assert "clock: nightly-pipeline next at" in listing and "clock: weekly-retrain next at" in listing
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
        stdout = proc.stdout.read()
    assert code == 0
    assert "scheduled nightly-pipeline" in stdout and "clock stopped" in stdout


def test_simulate_replays_nights_through_the_pipeline(run_cli, sqlite_url):
    out = run_cli("simulate", "--nights", "3", "--policy", "finetune,none", "--epochs", "1", "--finetune-epochs", "1",
                  "--json", database_url=sqlite_url, env=TINY)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["nights"] == 3 and set(result["policies"]) == {"finetune", "none"}
    ft, none = result["policies"]["finetune"], result["policies"]["none"]
    assert ft["trainings"] == 2 and none["trainings"] == 0 and none["train_seconds"] == 0
    # Same days, same first model: persistence is the same yardstick for both policies.
    assert ft["persistence_rmse"] == none["persistence_rmse"] > 0
    assert _runs(run_cli, sqlite_url) == []  # the replay never touches the real store


def test_sigterm_mid_training_cancels_the_run_and_frees_the_lease(run_cli, sqlite_url, tmp_path):
    assert run_cli("init", database_url=sqlite_url).returncode == 0
    proc = _popen(["nightly", "--action", "retrain", "--cells", "gru", "--epochs", "400", "--quiet"],
                  sqlite_url, tmp_path)
    run_id = _wait_until_training(sqlite_url, proc)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, err
    assert f"run #{run_id} AAPL cancelled" in out
    assert _models(sqlite_url) == []  # nothing half-trained was stored
    # No lease left behind: the next run starts at once, without waiting for an expiry.
    again = run_cli("nightly", "--action", "retrain", "--cells", "gru", database_url=sqlite_url, env=TINY)
    assert again.returncode == 0 and "succeeded" in again.stdout, again.stderr
