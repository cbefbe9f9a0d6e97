"""Promote and roll back from the admin page; the analyst pages follow at once (cache invalidation)."""
from __future__ import annotations

import pytest

from config.settings import load_settings
from tests.support.dash_client import basic, call
from tests.support.dashboard_env import ADMIN, admin_env

CHAMPION = "admin-champion-msg.children"
CONFIRM = "admin-promote-done.children"
FORECAST_OUT = "..forecast-graph.figure...forecast-zoom.figure...forecast-cards.children...forecast-rmse-words.children.."


def _champion_action(client, button: str, model_id=None, cell=None, headers=None):
    return call(client, CHAMPION, [("admin-promote", "n_clicks", 1 if button == "admin-promote" else None),
                                   ("admin-rollback", "n_clicks", 1 if button == "admin-rollback" else None)],
                [("admin-promote-model", "value", model_id), ("admin-rollback-cell", "value", cell), ("admin-ticker", "value", None)],
                headers=headers if headers is not None else basic(*ADMIN), changed=[f"{button}.n_clicks"])


def _gru_card(client) -> str:
    r = call(client, FORECAST_OUT, [("forecast-cell", "value", "gru")], [("forecast-ticker", "data", None)])
    return str(r.json["response"]["forecast-cards"]["children"])


def test_rollback_and_promote_show_up_on_the_forecast_page(dash_client, fixture_store_url):
    client = dash_client(fixture_store_url, **admin_env())
    assert "GRU v2" in _gru_card(client)  # warm the cache on the current champion
    r = _champion_action(client, "admin-rollback", cell="gru")
    assert "model #3 is champion again" in r.get_data(as_text=True)
    assert "GRU v1" in _gru_card(client)  # new champion_events row -> snapshot rebuilt
    r = _champion_action(client, "admin-promote", model_id=4)
    assert r.json["response"]["admin-champion-msg"]["children"] is None  # valid: nothing promoted before the confirmation
    assert "GRU v1" in _gru_card(client)
    r = call(client, CONFIRM, [("admin-promote-confirm", "n_clicks", 1)], [("admin-promote-model", "value", 4), ("admin-ticker", "value", None)], headers=basic(*ADMIN))
    assert "Model #4 is now the champion" in r.get_data(as_text=True) and "replacing #3" in r.get_data(as_text=True)
    assert "GRU v2" in _gru_card(client)


@pytest.mark.parametrize("button, model_id, cell, says", [
    ("admin-promote", 4, None, "already the AAPL gru champion"),
    ("admin-promote", 999, None, "no model with id 999"),
    ("admin-rollback", None, "lstm", "no earlier champion"),
    ("admin-promote", None, None, "Choose a model"),
])
def test_registry_refusals_are_shown(dash_client, fixture_store_url, button, model_id, cell, says):
    client = dash_client(fixture_store_url, **admin_env())
    assert says in _champion_action(client, button, model_id, cell).get_data(as_text=True)


def test_promote_without_credentials_changes_nothing(dash_client, fixture_store_url):
    client = dash_client(fixture_store_url, **admin_env())
    assert _champion_action(client, "admin-rollback", cell="gru", headers={}).status_code == 401
    assert "GRU v2" in _gru_card(client)


def test_background_manager_follows_redis_url(tmp_path):
    from dash import CeleryManager, DiskcacheManager

    from dashboard.background import make_manager

    assert isinstance(make_manager(load_settings({"CACHE_DIR": str(tmp_path)})), DiskcacheManager)
    assert isinstance(make_manager(load_settings({"REDIS_URL": "redis://127.0.0.1:6379/15"})), CeleryManager)
