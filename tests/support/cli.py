"""What every expected failure of a command must look like, checked on real processes."""
from __future__ import annotations

import subprocess

from sqlalchemy import select

from store.db import make_engine
from store.tables import Lease, ModelRecord, Price, Run


def assert_one_error_line(result: subprocess.CompletedProcess, *fragments: str) -> str:
    """Exit status 2, no traceback, and exactly one stderr line, starting ``error:`` and
    holding each fragment (progress lines of long commands may come before it)."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error:")]
    assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert len(errors) == 1 and lines[-1] == errors[0], lines[-10:]
    for fragment in fragments:
        assert fragment in errors[0], (fragment, errors[0])
    return errors[0]


def stored(url: str) -> dict[str, list]:
    """Everything a refused command must not have changed: prices, runs, models, leases."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return {
                "prices": conn.execute(select(Price.ticker, Price.date, Price.close, Price.volume)
                                       .order_by(Price.ticker, Price.date)).all(),
                "runs": conn.execute(select(Run.id, Run.ticker, Run.status).order_by(Run.id)).all(),
                "models": conn.execute(select(ModelRecord.id).order_by(ModelRecord.id)).all(),
                "leases": conn.execute(select(Lease.name, Lease.holder)).all(),
            }
    finally:
        engine.dispose()
