"""``nightly --queue --wait`` when the workers do not finish in time: each ticker says its request was
queued and is still waiting, and the command says how to follow the rest, instead of one "could not
queue the pipeline" error; a broker that refuses the message leaves no request blocking its ticker."""
from __future__ import annotations

import time

import pytest
from sqlalchemy import text


@pytest.fixture
def broker(redis_url):
    """A client of this module's Redis database (no worker listens on it)."""
    import redis

    return redis.Redis.from_url(redis_url)


def _requests(engine):
    with engine.connect() as conn:
        return conn.execute(text("select ticker, status, outcome from run_requests order by id")).all()


def test_a_wait_that_times_out_names_what_was_queued(broker, redis_url, engine, database_url, run_cli):
    env = {"REDIS_URL": redis_url, "TICKERS": "AAPL,MSFT", "PRICE_SOURCE": "offline"}
    done = run_cli("nightly", "--queue", "--wait", "1", database_url=database_url, env=env)
    lines = done.stdout.splitlines()
    for ticker in ("AAPL", "MSFT"):
        (line,) = [x for x in lines if x.startswith(ticker)]
        assert "queued" in line and "still queued" in line, line  # queued is not a failure: a worker may run it
    assert "not every run ended within 1 s; follow them with: python -m jobs queue" in done.stderr
    assert [(t, s) for t, s, _o in _requests(engine)] == [("AAPL", "queued"), ("MSFT", "queued")]
    assert broker.llen("celery") == 2  # both messages are still in the queue


def test_a_message_the_broker_refuses_leaves_no_request_waiting(engine, database_url, run_cli):
    """One request per ticker may wait: a row no message names would block the ticker's every later run."""
    env = {"REDIS_URL": "redis://127.0.0.1:1/0", "TICKERS": "AAPL", "PRICE_SOURCE": "offline"}
    started = time.monotonic()
    done = run_cli("nightly", "--queue", database_url=database_url, env=env)
    took = time.monotonic() - started
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "not sent: the queue did not take it" in done.stdout + done.stderr
    # A refused connection is an answer: said at once (it took 19 s while Celery kept a result backend, which
    # retried its own connection 20 times before the send could fail).
    assert took < 5, f"took {took:.1f} s to say the queue refused"
    ((ticker, status, outcome),) = _requests(engine)
    assert (ticker, status) == ("AAPL", "cancelled") and outcome.startswith("not sent: the queue did not take it")
