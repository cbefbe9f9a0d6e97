"""SIGTERM (a dyno restart) and SIGINT (Ctrl-C) of every long command: real processes, real
signals. The work stops at its next epoch, the run is recorded ``cancelled`` naming the signal,
nothing half-trained is stored, the training lease is released, and the command ends with one
``error:`` line and exit status 2 (``nightly`` reports each ticker on stdout and exits 1)."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from store.db import make_engine
from store.tables import Run
from tests.support.cli import assert_one_error_line, run_jobs_in_process, stored
from tests.support.services import ROOT

pytestmark = [pytest.mark.slow]

TINY = {"PIPELINE_EPOCHS": "2", "PIPELINE_FINETUNE_EPOCHS": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}


def _popen(args: list[str], url: str, workdir: Path) -> tuple[subprocess.Popen, Path]:
    """The command as a real process; stderr goes to a file the test can read while it runs."""
    err = workdir / f"stderr-{time.monotonic_ns()}.txt"
    env = {**os.environ, "DATABASE_URL": url, "PRICE_SOURCE": "offline", "DATA_DIR": str(workdir / "data"),
           "TF_CPP_MIN_LOG_LEVEL": "3"}
    with err.open("w") as sink:
        proc = subprocess.Popen([sys.executable, "-m", "jobs", *args], cwd=ROOT, env=env, text=True,
                                stdout=subprocess.PIPE, stderr=sink)
    return proc, err


def _wait(proc: subprocess.Popen, ready, what: str, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"ended before {what}: {proc.communicate()}"
        if ready():
            return
        time.sleep(0.05)
    proc.kill()
    raise AssertionError(f"never saw {what}")


def _training_epoch(url: str):
    engine = make_engine(url)

    def ready() -> bool:
        with engine.connect() as conn:
            row = conn.execute(select(Run.progress_message).where(Run.status == "running")).first()
        return row is not None and "epoch" in row.progress_message

    return ready


def _stop(proc: subprocess.Popen, err: Path, sig: signal.Signals) -> subprocess.CompletedProcess:
    proc.send_signal(sig)
    out, _ = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err.read_text())


def _assert_recorded_cancelled(url: str, before: dict, sig: signal.Signals) -> None:
    after = stored(url)
    new_runs = [r for r in after["runs"] if r not in before["runs"]]
    assert [r.status for r in new_runs] == ["cancelled"], new_runs
    engine = make_engine(url)
    with engine.connect() as conn:
        error = conn.execute(select(Run.error).where(Run.id == new_runs[0].id)).scalar()
    engine.dispose()
    assert f"{sig.name} received" in error and "nothing was saved" in error
    assert after["models"] == before["models"]  # nothing half-trained stored
    assert after["leases"] == []  # released at once, not left to expire


@pytest.fixture(scope="module")
def champion_store(tmp_path_factory) -> Path:
    """A SQLite store with the offline prices and a GRU champion, built once; tests copy it."""
    folder = tmp_path_factory.mktemp("champion")
    url = f"sqlite:///{folder / 'store.db'}"
    env = {**os.environ, "DATABASE_URL": url, "PRICE_SOURCE": "offline", "DATA_DIR": str(folder / "data"), **TINY}
    for args in (["init"], ["train", "--cells", "gru"]):
        done = run_jobs_in_process(args, env)  # building the store is not what is tested: no process needed
        assert done.returncode == 0, done.stderr
    return folder / "store.db"


@pytest.fixture
def trained_url(champion_store, tmp_path) -> str:
    for suffix in ("", "-wal", "-shm"):
        source = Path(f"{champion_store}{suffix}")
        if source.exists():
            shutil.copy(source, tmp_path / f"store.db{suffix}")
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_train_is_cancelled_at_the_next_epoch(run_cli, database_url, tmp_path, sig):
    assert run_cli("init", database_url=database_url).returncode == 0
    before = stored(database_url)
    proc, err = _popen(["train", "--cells", "simplernn,lstm,gru", "--epochs", "400"], database_url, tmp_path)
    _wait(proc, _training_epoch(database_url), "a training epoch")
    result = _stop(proc, err, sig)
    assert_one_error_line(result, "error: run #", "AAPL cancelled", f"({sig.name} received)")
    _assert_recorded_cancelled(database_url, before, sig)


def test_finetune_is_cancelled_at_the_next_epoch(trained_url, tmp_path):
    before = stored(trained_url)
    proc, err = _popen(["finetune", "--epochs", "400"], trained_url, tmp_path)
    _wait(proc, _training_epoch(trained_url), "a fine-tune epoch")
    result = _stop(proc, err, signal.SIGTERM)
    assert_one_error_line(result, "AAPL cancelled", "fine-tune cancelled", "(SIGTERM received)")
    _assert_recorded_cancelled(trained_url, before, signal.SIGTERM)


def test_backtest_is_cancelled_at_the_next_block(trained_url, tmp_path):
    """A backtest records no run; it stops at its next block and says so."""
    before = stored(trained_url)
    proc, err = _popen(["backtest", "--every", "5"], trained_url, tmp_path)
    _wait(proc, lambda: "block 1/" in err.read_text(), "a backtest block")
    result = _stop(proc, err, signal.SIGTERM)
    assert_one_error_line(result, "backtest cancelled at block", "(SIGTERM received); nothing is stored")
    assert result.stdout == ""  # no half CSV on stdout
    assert stored(trained_url) == before


def test_simulate_is_cancelled_between_or_within_nights(run_cli, sqlite_url, tmp_path):
    """The replay runs in throw-away stores; the real one is never touched."""
    proc, err = _popen(["simulate", "--nights", "40", "--policy", "finetune", "--epochs", "2",
                        "--finetune-epochs", "1"], sqlite_url, tmp_path)
    _wait(proc, lambda: "night 1/40" in err.read_text(), "the first replayed night")
    result = _stop(proc, err, signal.SIGTERM)
    assert_one_error_line(result, "cancel", "SIGTERM received")
    assert stored(sqlite_url)["runs"] == []


def test_nightly_is_cancelled_by_ctrl_c(run_cli, database_url, tmp_path):
    assert run_cli("init", database_url=database_url).returncode == 0
    before = stored(database_url)
    proc, err = _popen(["nightly", "--action", "retrain", "--epochs", "400", "--quiet"], database_url, tmp_path)
    _wait(proc, _training_epoch(database_url), "a training epoch")
    result = _stop(proc, err, signal.SIGINT)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert "AAPL cancelled" in result.stdout and "(SIGINT received)" in result.stdout
    _assert_recorded_cancelled(database_url, before, signal.SIGINT)
