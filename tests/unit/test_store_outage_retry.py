"""Retrying through a database outage: what is retried, for how long, and what it says at the end."""
from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError, OperationalError

from marketdata.db import StoreUnavailable, best_effort, retry_on_outage


def _outage() -> OperationalError:
    return OperationalError("select 1", {}, Exception("connection refused\nis the server running?"))


def test_an_outage_is_retried_until_the_database_is_back():
    calls, waits = [], []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise _outage()
        return "saved"

    assert retry_on_outage(flaky, what="saving", sleep=waits.append) == "saved"
    assert len(calls) == 3 and waits == [0.5, 1.0]  # exponential backoff


def test_after_the_budget_it_gives_up_with_one_line():
    def down():
        raise _outage()

    with pytest.raises(StoreUnavailable) as err:
        retry_on_outage(down, what="saving the AAPL gru model", budget_s=0.0, sleep=lambda s: None)
    msg = str(err.value)
    assert msg.startswith("database unreachable for 0s while saving the AAPL gru model") and "\n" not in msg


def test_errors_in_what_we_asked_are_not_retried():
    calls = []

    def bad():
        calls.append(1)
        raise IntegrityError("insert", {}, Exception("duplicate key"))

    with pytest.raises(IntegrityError):
        retry_on_outage(bad, what="saving", sleep=lambda s: None)
    assert calls == [1]


def test_best_effort_logs_and_carries_on(caplog):
    def down():
        raise _outage()

    assert best_effort(down, what="writing progress", default=False) is False
    assert "carrying on" in caplog.text and "Traceback" not in caplog.text
