"""Fault drill: PostgreSQL restarted in the middle of a training run.

Runs against a private cluster on a spare port (never the machine's shared
server). The run must end cleanly - failed with a one-line error, or succeeded
after reconnecting - and nothing stored before may be lost or half-written.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
import sqlalchemy as sa

from contract.outputs import OUTPUT_NAMES
from tests.support.services import ROOT, service_missing
from tests.support.private_services import PG_BIN, private_postgres

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]


@pytest.fixture
def pg(tmp_path):
    """A private PostgreSQL cluster, removed afterwards."""
    if not (PG_BIN / "initdb").exists():
        service_missing(f"PostgreSQL server binaries not found in {PG_BIN}")
    with private_postgres(tmp_path) as cluster:
        yield cluster


def jobs(*args, env):
    return subprocess.Popen([sys.executable, "-m", "jobs", *args], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def latest_run(engine):
    with engine.connect() as conn:
        return conn.execute(sa.text("select id, status, progress, error from runs order by id desc limit 1")).first()


def test_postgres_restart_during_training_ends_the_run_cleanly(pg, tmp_path):
    env = {**os.environ, "DATABASE_URL": pg.url, "PRICE_SOURCE": "offline", "DATA_DIR": str(tmp_path / "data"),
           "LEASE_TTL_SECONDS": "30"}
    init = jobs("init", env=env)
    assert init.wait(120) == 0, init.stderr.read()
    engine = sa.create_engine(pg.url, pool_pre_ping=True)
    with engine.connect() as conn:
        prices_before = conn.execute(sa.text("select count(*), sum(close) from prices")).one()

    run = jobs("nightly", "--action", "retrain", "--epochs", "40", env=env)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        row = latest_run(engine)
        if row is not None and row.progress > 0.15:  # prices updated, networks training
            break
        assert run.poll() is None, run.stderr.read()
        time.sleep(0.2)
    else:
        pytest.fail("training never got under way")
    engine.dispose()

    pg.stop("fast")  # connections cut, as in a real restart
    time.sleep(3)
    pg.start()

    out, err = run.communicate(timeout=300)
    assert "Traceback" not in err, err[-3000:]
    row = latest_run(engine)
    # Either outcome is clean; "running" forever would not be.
    assert row.status in ("failed", "succeeded"), row
    if row.status == "failed":
        assert run.returncode != 0 and row.error and "\n" not in row.error
    with engine.connect() as conn:
        assert conn.execute(sa.text("select count(*), sum(close) from prices")).one() == prices_before
        # No half-written model: every stored model has all its outputs.
        partial = conn.execute(sa.text(
            "select m.id from models m left join model_outputs o on o.model_id = m.id "
            f"group by m.id having count(o.name) <> {len(OUTPUT_NAMES)}")).all()
        assert partial == []
    # And the store works again: the next run succeeds.
    again = jobs("nightly", "--action", "retrain", "--epochs", "2", env=env)
    out2, err2 = again.communicate(timeout=300)
    assert again.returncode == 0, err2[-2000:]
    assert latest_run(engine).status == "succeeded"
    engine.dispose()


def test_postgres_down_past_the_retry_budget_fails_with_one_line_and_is_recovered(pg, tmp_path):
    """The database stays down longer than the run retries (STORE_RETRY_SECONDS=5): the CLI gives up
    with one ``error:`` line, stores nothing half-written, and the next run fails the orphan and succeeds."""
    env = {**os.environ, "DATABASE_URL": pg.url, "PRICE_SOURCE": "offline", "DATA_DIR": str(tmp_path / "data"),
           "LEASE_TTL_SECONDS": "3", "STORE_RETRY_SECONDS": "5"}
    init = jobs("init", env=env)
    assert init.wait(120) == 0, init.stderr.read()
    engine = sa.create_engine(pg.url, pool_pre_ping=True)
    run = jobs("nightly", "--action", "retrain", "--cells", "gru", "--epochs", "30", env=env)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        row = latest_run(engine)
        if row is not None and row.progress > 0.15:
            break
        assert run.poll() is None, run.stderr.read()
        time.sleep(0.2)
    else:
        pytest.fail("training never got under way")
    stuck_run = row.id
    engine.dispose()

    pg.stop("fast")
    try:
        out, err = run.communicate(timeout=300)
    finally:
        pg.start()
    assert "Traceback" not in err, err[-3000:]
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert run.returncode == 2 and len(errors) == 1, err[-3000:]
    # The nightly names the ticker its one error line is about.
    assert errors[0].startswith("error: AAPL: database unreachable for 5s while ") and err.rstrip().endswith(errors[0])
    with engine.connect() as conn:
        assert conn.execute(sa.text("select count(*) from models")).scalar() == 0  # nothing half-written

    time.sleep(3.5)  # the given-up run's lease expires (LEASE_TTL_SECONDS=3)
    again = jobs("nightly", "--action", "retrain", "--cells", "gru", "--epochs", "2", env=env)
    out2, err2 = again.communicate(timeout=300)
    assert again.returncode == 0, err2[-2000:]
    with engine.connect() as conn:
        status = dict(conn.execute(sa.text("select id, status from runs")).all())
    assert status[stuck_run] == "failed" and status[max(status)] == "succeeded"
    engine.dispose()
