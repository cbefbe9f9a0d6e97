"""Promote and roll back from the admin page; the analyst pages follow at once (cache invalidation)."""
from __future__ import annotations

import pytest

from tests.support.dash_client import basic, call, duplicate_output
from tests.support.dashboard_env import ADMIN, admin_env
from dashboard import ids

CHAMPION = f"{ids.Admin.CHAMPION_MSG}.children"
CONFIRM = f"{ids.Admin.PROMOTE_DONE}.children"
FORECAST_OUT = f"..{ids.Forecast.GRAPH}.figure...{ids.Forecast.ZOOM}.figure...{ids.Forecast.CARDS}.children...{ids.Forecast.RMSE_WORDS}.children.."


def _champion_action(client, button: str, model_id=None, cell=None, headers=None):
    return call(client, CHAMPION, [(ids.Admin.PROMOTE, "n_clicks", 1 if button == ids.Admin.PROMOTE else None),
                                   (ids.Admin.ROLLBACK, "n_clicks", 1 if button == ids.Admin.ROLLBACK else None)],
                [(ids.Admin.PROMOTE_MODEL, "value", model_id), (ids.Admin.ROLLBACK_CELL, "value", cell), (ids.Admin.TICKER, "value", None)],
                headers=headers if headers is not None else basic(*ADMIN), changed=[f"{button}.n_clicks"])


def _rollback(client, cell: str):
    """Roll back as the page does: Roll back opens a confirmation (nothing changes), its button acts."""
    asked = _champion_action(client, ids.Admin.ROLLBACK, cell=cell)
    assert asked.json["response"][ids.Admin.CHAMPION_MSG]["children"] is None  # valid: the dialog asks first
    output = duplicate_output(client, CHAMPION, ids.Admin.ROLLBACK_CONFIRM)
    return call(client, output, [(ids.Admin.ROLLBACK_CONFIRM, "n_clicks", 1)],
                [(ids.Admin.ROLLBACK_CELL, "value", cell), (ids.Admin.TICKER, "value", None)], headers=basic(*ADMIN))


def _gru_card(client) -> str:
    r = call(client, FORECAST_OUT, [(ids.Forecast.CELL, "value", "gru")], [(ids.Forecast.TICKER, "data", None)])
    return str(r.json["response"][ids.Forecast.CARDS]["children"])


def test_rollback_and_promote_show_up_on_the_forecast_page(dash_client, fixture_store_url):
    client = dash_client(fixture_store_url, **admin_env())
    assert "GRU v2" in _gru_card(client)  # warm the cache on the current champion
    r = _rollback(client, "gru")
    assert "model #3 is champion again" in r.get_data(as_text=True)
    assert "GRU v1" in _gru_card(client)  # new champion_events row -> snapshot rebuilt
    r = _champion_action(client, ids.Admin.PROMOTE, model_id=4)
    assert r.json["response"][ids.Admin.CHAMPION_MSG]["children"] is None  # valid: nothing promoted before the confirmation
    assert "GRU v1" in _gru_card(client)
    r = call(client, CONFIRM, [(ids.Admin.PROMOTE_CONFIRM, "n_clicks", 1)], [(ids.Admin.PROMOTE_MODEL, "value", 4), (ids.Admin.TICKER, "value", None)], headers=basic(*ADMIN))
    assert "Model #4 is now the champion" in r.get_data(as_text=True) and "replacing #3" in r.get_data(as_text=True)
    assert "GRU v2" in _gru_card(client)


@pytest.mark.parametrize("button, model_id, cell, says", [
    (ids.Admin.PROMOTE, 4, None, "already the AAPL gru champion"),
    (ids.Admin.PROMOTE, 999, None, "no model with id 999"),
    (ids.Admin.ROLLBACK, None, "lstm", "no earlier champion"),
    (ids.Admin.PROMOTE, None, None, "Choose a model"),
])
def test_registry_refusals_are_shown(dash_client, fixture_store_url, button, model_id, cell, says):
    client = dash_client(fixture_store_url, **admin_env())
    answer = _rollback(client, cell) if button == ids.Admin.ROLLBACK else _champion_action(client, button, model_id, cell)
    assert says in answer.get_data(as_text=True)


def test_promote_without_credentials_changes_nothing(dash_client, fixture_store_url):
    client = dash_client(fixture_store_url, **admin_env())
    assert _champion_action(client, ids.Admin.ROLLBACK, cell="gru", headers={}).status_code == 401
    assert "GRU v2" in _gru_card(client)
