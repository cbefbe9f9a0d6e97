"""The admin page's upload asks for a serve when it left a champion stale (issue 19, point 1).

The web never imports jobs.serve: with REDIS_URL it sends the serve task by name to
the workers; without it the clock's minute job serves, and the message says which
(or that nothing will until a clock runs). Real SQLite and Postgres; real Redis.
"""
from __future__ import annotations

import json

import pytest
import redis

from config.settings import load_settings
from dashboard.admin import actions
from store import lease as leases
from tests.support.ledger import save_model, store_prices, stale_champion
from tests.support.pipeline import history



@pytest.fixture
def stale(engine):
    """A GRU champion forecasting from the close before the newest stored one."""
    return stale_champion(engine, history().iloc[-40:])


def test_nothing_is_asked_when_every_champion_is_current(engine):
    """A champion forecasting from the newest close: no serve is due, no sentence."""
    frame = history().iloc[-40:]
    store_prices(engine, frame)
    save_model(engine, "gru", frame, 0.0)
    assert not actions.serve_due(engine, "AAPL")
    assert actions.request_serve(load_settings({}), engine, "AAPL") == ""


def test_without_a_clock_the_message_says_what_serves_it(stale):
    """No queue and no clock: nothing would serve, so the sentence gives the two commands that do."""
    assert actions.serve_due(stale, "AAPL")
    said = actions.request_serve(load_settings({}), stale, "AAPL")
    assert said.startswith("No clock is running") and "python -m jobs serve --ticker AAPL" in said


def test_with_a_clock_running_the_forecast_is_on_its_way(stale):
    """A live clock lease: the clock's minute job serves it, and the page says so."""
    leases.acquire(stale, holder="clock-under-test", ttl_s=60, name=leases.CLOCK_LEASE)
    said = actions.request_serve(load_settings({}), stale, "AAPL")
    assert said == "The forecast from the new close is on its way: the clock serves every champion within a minute."


@pytest.mark.redis
def test_with_a_queue_the_serve_task_is_sent_by_name(stale, redis_url):
    """REDIS_URL: one ``forecast.serve_ticker`` message for the ticker lands in the workers' queue."""
    from config.celery_app import make_celery
    from jobs.tasks import SERVE_TASK_NAME, register_tasks

    broker = redis.Redis.from_url(redis_url)
    said = actions.request_serve(load_settings({"REDIS_URL": redis_url}), stale, "AAPL")
    assert said == "The forecast from the new close is on its way: a worker is serving every champion now."
    messages = [json.loads(m) for m in broker.lrange("celery", 0, -1)]
    assert [(m["headers"]["task"], m["headers"]["argsrepr"]) for m in messages] == [(SERVE_TASK_NAME, "['AAPL']")]
    app = make_celery(load_settings({"REDIS_URL": "redis://127.0.0.1:1/0"}))
    register_tasks(app)
    assert SERVE_TASK_NAME in app.tasks  # the name the web sends is a task the worker runs


@pytest.mark.parametrize("clock, says", [
    (False, "but the close of 2013-03-01 is stored: not served since"),
    (True, "the forecast from the close of 2013-03-01 is being prepared"),
])
def test_the_forecast_page_says_being_prepared_only_while_a_clock_runs(stale, database_url, dash_client, clock, says):
    """The stale card reads the clock's lease: a live clock serves within a minute, else the fix is a command."""
    from tests.support.dash_client import render_page

    if clock:
        leases.acquire(stale, holder="clock-under-test", ttl_s=60, name=leases.CLOCK_LEASE)
    page = render_page(dash_client(database_url), "/", search="?ticker=AAPL")
    assert page.status_code == 200 and says in page.get_data(as_text=True)


def test_a_promotion_from_the_page_asks_for_a_serve_of_the_new_champion(dash_client, database_url):
    """A model promoted (or restored) forecasts from its training's close: the page asks for a serve at once
    (review finding: it kept that old forecast until the nightly)."""
    from dashboard import data, ids
    from tests.support.dash_client import basic, call
    from tests.support.dashboard_env import ADMIN, admin_env

    client = dash_client(database_url, **admin_env())
    engine = data.engine()  # the web's own: its first use creates the schema
    frame = history().iloc[-40:]
    store_prices(engine, frame.iloc[:-1])
    older = save_model(engine, "gru", frame.iloc[:-1], 0.0, promote=False)  # trained a day before the newest close
    store_prices(engine, frame)
    save_model(engine, "gru", frame, 0.0)  # the champion, current
    leases.acquire(engine, holder="clock-under-test", ttl_s=60, name=leases.CLOCK_LEASE)
    r = call(client, f"{ids.Admin.PROMOTE_DONE}.children", [(ids.Admin.PROMOTE_CONFIRM, "n_clicks", 1)],
             [(ids.Admin.PROMOTE_MODEL, "value", older), (ids.Admin.TICKER, "value", "AAPL")], headers=basic(*ADMIN))
    said = r.get_data(as_text=True)
    assert f"Model #{older} is now the champion of AAPL gru" in said
    assert "The forecast from the new close is on its way: the clock serves every champion within a minute." in said
    assert actions.serve_due(data.engine(), "AAPL")  # what the clock's minute job will find
