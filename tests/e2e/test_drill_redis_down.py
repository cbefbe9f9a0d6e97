"""Fault drill: Redis (the Celery broker) goes down under a running web process.

Analysts' pages keep serving forecasts (they read the database, never Redis);
admins see that the queue is unavailable, and a retrain request is refused with
that reason instead of an error page. Uses a private redis-server on a spare port.
"""
from __future__ import annotations

import pytest

from scripts.web_server import WebServer
from tests.support.private_services import private_redis
from tests.support.dash_client import ADMIN_POLL_OUT, basic
from tests.support.dashboard_env import ADMIN
from tests.support.http_dash import page, forecast, post_callback
from dashboard import ids

pytestmark = [pytest.mark.e2e, pytest.mark.redis]

START_OUT = f"..{ids.Admin.REQUEST}.data...{ids.Admin.START_MSG}.children.."
START_STATE = [(ids.Admin.ACTION, "value", "finetune"), (ids.Admin.CELLS, "value", []), (ids.Admin.EPOCHS, "value", 2),
               (ids.Admin.TICKER, "value", None)]


def test_redis_down_keeps_analyst_pages_serving(fixture_store_url, tmp_path):
    with private_redis(tmp_path) as redis:
        env = {"DATABASE_URL": fixture_store_url, "CACHE_DIR": str(tmp_path / "cache"), "REDIS_URL": redis.url,
               "ADMIN_USER": ADMIN[0], "ADMIN_PASSWORD": ADMIN[1], "TICKERS": "AAPL"}
        with WebServer(env, workers=2, log_path=tmp_path / "gunicorn.log") as web:
            admin = basic(*ADMIN)
            up = post_callback(web.url, ADMIN_POLL_OUT, [(ids.Admin.POLL, "n_intervals", 1)],
                               [(ids.Admin.TICKER, "value", None), (ids.Admin.POLL_SHOWN, "data", None)], headers=admin)
            assert up.status_code == 200 and "Queue available" in up.text

            redis.stop()  # the broker is gone

            for path in ["/", "/residuals", "/compare"]:
                r = page(web.url, path)
                assert r.status_code == 200 and '"type":"Graph"' in r.text.replace(" ", ""), path
            for cell in ["gru", "lstm", "simplernn"]:  # both workers answer the forecast callback
                r = forecast(web.url, cell)
                assert r.status_code == 200 and "figure" in r.text
            poll = post_callback(web.url, ADMIN_POLL_OUT, [(ids.Admin.POLL, "n_intervals", 2)],
                                 [(ids.Admin.TICKER, "value", None), (ids.Admin.POLL_SHOWN, "data", None)], headers=admin)
            assert poll.status_code == 200 and "Queue unavailable: Redis did not answer" in poll.text
            start = post_callback(web.url, START_OUT, [(ids.Admin.START, "n_clicks", 1)], START_STATE, headers=admin)
            assert start.status_code == 200
            assert "Not started: queue unavailable" in start.text
