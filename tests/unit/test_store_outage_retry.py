"""Retrying through a database outage: what is retried, for how long, and what it says at the end."""
from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError, OperationalError

from store.db import StoreUnavailable, best_effort, retry_on_outage


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


@pytest.mark.parametrize(
    "message, outage, described",
    [
        ("connection refused", True, "database unreachable (postgresql db.example:5432/forecast): connection refused"),
        ("server closed the connection unexpectedly", True, "database unreachable"),
        ("attempt to write a readonly database", False, "is read-only (attempt to write a readonly database)"),
        ('FATAL:  database "forecast" does not exist', False, 'postgresql db.example:5432/forecast: database "forecast" does not exist'),
        ('FATAL:  role "bob" does not exist', False, 'role "bob" does not exist'),
        ('FATAL:  password authentication failed for user "bob"', False, "password authentication failed"),
    ],
)
def test_configuration_errors_are_not_outages(message, outage, described):
    """A read-only file or a missing database is not retried for STORE_RETRY_SECONDS: a retry gives the same answer."""
    from store.db import describe_store_error, is_outage

    exc = OperationalError("select 1", {}, Exception(message))
    assert is_outage(exc) is outage
    calls = []

    def fail():
        calls.append(1)
        raise exc

    with pytest.raises((OperationalError, StoreUnavailable)):
        retry_on_outage(fail, what="saving", budget_s=0.0 if outage else 60.0, sleep=lambda s: None)
    assert len(calls) == 1  # a configuration error is raised at once with 60 s of budget left (an outage here has none)
    line = describe_store_error(exc, "postgresql://u:secret@db.example:5432/forecast")
    assert described in line and "secret" not in line


def test_store_failures_become_one_store_error_naming_the_store():
    """The one place a database error becomes the StoreError line the CLI, the nightly and build_context show."""
    from sqlalchemy.exc import InterfaceError

    from store.db import StoreError, describe_store_error, store_failures_as_errors

    url = "postgresql://u:secret@db.example:5432/forecast"
    for exc in (OperationalError("select 1", {}, Exception("attempt to write a readonly database")),
                InterfaceError("select 1", {}, Exception("connection already closed"))):
        with pytest.raises(StoreError) as caught:
            with store_failures_as_errors(lambda: url):
                raise exc
        assert str(caught.value) == describe_store_error(exc, url)
    with pytest.raises(ValueError):  # anything else passes through unchanged
        with store_failures_as_errors(url):
            raise ValueError("not the store")
