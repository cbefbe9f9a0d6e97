"""``nightly --queue --wait`` when the workers do not finish in time: each ticker says it was queued,
with its task id and how to follow it, instead of one "could not queue the pipeline" error."""
from __future__ import annotations

import pytest

from config.celery_app import make_celery
from config.settings import load_settings
from contract.run import RunRequest, TickerState
from jobs.tasks import fan_out
from tests.support.services import own_redis_url, service_missing

REDIS_URL = own_redis_url(13)  # emptied by this module: a database no other module uses


@pytest.fixture
def broker():
    """The Redis database of this module, emptied before and after (no worker listens on it)."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.flushdb()
    except redis.exceptions.ConnectionError as exc:
        service_missing(f"Redis at {REDIS_URL}: {exc}")
    yield client
    client.flushdb()


def test_a_wait_that_times_out_names_what_was_queued(broker, tmp_path):
    settings = load_settings({"DATA_DIR": str(tmp_path), "REDIS_URL": REDIS_URL, "TICKERS": "AAPL,MSFT"})
    requests = [RunRequest.build(t, trigger="manual", requested_by="cli:test") for t in settings.tickers]
    outcomes = fan_out(make_celery(settings), requests, wait_s=1.0)
    assert [(o.ticker, o.state) for o in outcomes] == [("AAPL", TickerState.QUEUED), ("MSFT", TickerState.QUEUED)]
    for o in outcomes:
        assert "not finished after 1 s" in o.message and "python -m jobs runs" in o.message
        assert o.message.startswith("task ") and o.ok  # queued is not a failure: the workers may still run it
    assert broker.llen("celery") == 2  # both tasks are still in the queue
