"""The real clock process trains in a child: it never maps TensorFlow, and SIGTERM cancels the child's run."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

from tests.support.services import ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _clock(sqlite_url: str, tmp_path, epochs: str) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": sqlite_url, "PRICE_SOURCE": "offline", "DATA_DIR": str(tmp_path / "data"),
           "PIPELINE_EPOCHS": epochs, "REDIS_URL": "", "TF_CPP_MIN_LOG_LEVEL": "3",
           # The ledger's bootstrap backfill (its own child, tests/integration/test_ledger_clock.py) would
           # start training again right after the bootstrap run that these tests watch.
           "LEDGER_BOOTSTRAP_DAYS": "0"}
    return subprocess.Popen([sys.executable, "-m", "jobs", "clock"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def _bootstrap_run(run_cli, sqlite_url: str, proc: subprocess.Popen, done, timeout: float = 240) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()[0][-2000:]
        out = run_cli("runs", "--json", database_url=sqlite_url)
        history = json.loads(out.stdout) if out.returncode == 0 and out.stdout.strip() else []
        run = next((r for r in history if r["trigger"] == "bootstrap"), None)
        if run is not None and done(run):
            return run
        time.sleep(0.5)
    raise AssertionError("the bootstrap run never reached the expected state")


def _training_children(pid: int) -> list[str]:
    """Command lines of the clock's children other than multiprocessing's resource tracker
    (a small helper every 'spawn' start keeps for the life of the parent)."""
    lines = []
    for child in psutil.Process(pid).children():
        try:
            if child.status() != psutil.STATUS_ZOMBIE:  # exited, waiting to be reaped
                lines.append(" ".join(child.cmdline()))
        except psutil.NoSuchProcess:
            pass
    return [line for line in lines if "resource_tracker" not in line]


def _tensorflow_mapped(pid: int) -> bool:
    return any("tensorflow" in m.path for m in psutil.Process(pid).memory_maps())


def test_the_clock_bootstraps_in_a_child_and_never_holds_tensorflow(run_cli, sqlite_url, tmp_path):
    proc = _clock(sqlite_url, tmp_path, epochs="1")
    try:
        seen_child = False
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and not seen_child:  # the training happens in a child process
            seen_child = any(_tensorflow_mapped(c.pid) for c in psutil.Process(proc.pid).children()
                             if c.is_running())
            time.sleep(0.2)
        assert seen_child, "no child process of the clock loaded TensorFlow"
        run = _bootstrap_run(run_cli, sqlite_url, proc, lambda r: r["status"] != "running")
        assert run["status"] == "succeeded" and run["detail"]["plan"] == "first"
        deadline = time.monotonic() + 60  # the child exits once it has sent its outcome (TensorFlow's teardown)
        while _training_children(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _training_children(proc.pid) == []  # the child exited with its run
        assert not _tensorflow_mapped(proc.pid)
        # bench_memory measures ~110 MB idle; this guard is looser so a slower machine does not flake.
        assert psutil.Process(proc.pid).memory_info().rss < 160 * 2**20
    finally:
        proc.send_signal(signal.SIGTERM)
        out = proc.communicate(timeout=60)[0]
    assert proc.returncode == 0 and "training process" in out and "clock stopped" in out


def test_sigterm_to_the_clock_cancels_the_childs_run_and_both_exit(run_cli, sqlite_url, tmp_path):
    proc = _clock(sqlite_url, tmp_path, epochs="400")
    _bootstrap_run(run_cli, sqlite_url, proc, lambda r: "epoch" in (r.get("progress_message") or ""))
    children = psutil.Process(proc.pid).children()
    proc.send_signal(signal.SIGTERM)  # Heroku signals every process; the parent alone must be enough
    out = proc.communicate(timeout=120)[0]
    assert proc.returncode == 0, out[-2000:]
    history = json.loads(run_cli("runs", "--json", database_url=sqlite_url).stdout)
    assert [(r["trigger"], r["status"]) for r in history] == [("bootstrap", "cancelled")], history
    assert "shutting down" in history[0]["error"], history[0]  # why, not "cancelled by the caller"
    # A deploy or a dyno's daily restart must not cost the night: the next clock runs it again.
    queue = run_cli("queue", database_url=sqlite_url).stdout
    waiting = [line.split() for line in queue.splitlines()[1:]]
    assert [(w[1], w[2], w[3]) for w in waiting] == [("AAPL", "auto/bootstrap", "waiting")], queue
    assert f"queued again as request #{waiting[0][0]}" in out
    assert _still_alive(children, timeout=30) == []


def _still_alive(procs: list[psutil.Process], timeout: float) -> list[str]:
    """Command lines of ``procs`` still running after ``timeout`` s. Orphans are reaped by
    whatever PID 1 is, late or (in some containers) never, so a zombie counts as exited."""
    _gone, alive = psutil.wait_procs(procs, timeout=timeout)
    lines = []
    for proc in alive:
        try:
            if proc.status() != psutil.STATUS_ZOMBIE:
                lines.append(" ".join(proc.cmdline()))
        except psutil.NoSuchProcess:
            pass
    return lines
