"""Pages and callbacks as plain functions and through the callback endpoint, on empty and filled stores."""
from __future__ import annotations

import json
from datetime import datetime, time, timedelta, timezone

import pytest

from contract.run import RunResult

from dashboard import data, ids
from dashboard.admin import actions as admin_actions, run_callbacks
from store.db import make_engine, session_factory
from store.tables import ClockStatus, Run
from tests.support.dash_client import ADMIN_POLL_OUT, basic, call, ids_in, render_page
from tests.support.dashboard_env import ADMIN, admin_env

PAGES = ["/", "/residuals", "/compare", "/admin"]
FORECAST_OUT = f"..{ids.Forecast.GRAPH}.figure...{ids.Forecast.ZOOM}.figure...{ids.Forecast.CARDS}.children...{ids.Forecast.RMSE_WORDS}.children.."
DOWNLOAD_OUT = f"..{ids.Forecast.DOWNLOAD}.data...{ids.Forecast.DOWNLOAD_MSG}.children.."
NOW = datetime(2026, 11, 27, 4, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    "path, empty_id, says",
    [("/", ids.Forecast.EMPTY, "python -m jobs init"), ("/residuals", ids.Residuals.EMPTY, "python -m jobs init"),
     ("/compare", ids.Compare.EMPTY, "python -m jobs init")],
)
def test_every_page_explains_an_empty_store(dash_client, sqlite_url, path, empty_id, says):
    client = dash_client(sqlite_url)  # not even a schema: the app creates the tables itself
    r = render_page(client, path)
    assert r.status_code == 200
    assert empty_id in ids_in(r.json) and says in r.get_data(as_text=True)


def test_admin_page_on_an_empty_store(dash_client, sqlite_url):
    client = dash_client(sqlite_url, **admin_env())
    assert render_page(client, "/admin", headers=basic(*ADMIN)).status_code == 200
    r = call(client, ADMIN_POLL_OUT, [(ids.Admin.POLL, "n_intervals", 1)],
             [(ids.Admin.TICKER, "value", None), (ids.Admin.POLL_SHOWN, "data", None)], headers=basic(*ADMIN))
    text = r.get_data(as_text=True)
    assert r.status_code == 200 and "No runs yet" in text and "python -m jobs clock" in text and "No trained models yet" in text


def test_prices_without_models_show_history_and_what_is_missing(dash_client, tmp_path):
    from marketdata.sources.offline import OfflineSampleSource
    from price_feed.updates import seed_prices
    from store.db import create_schema

    url = f"sqlite:///{tmp_path / 'prices-only.db'}"
    eng = make_engine(url)
    create_schema(eng)
    seed_prices(eng, "AAPL", [OfflineSampleSource()], NOW)
    client = dash_client(url)
    r = render_page(client, "/")
    assert {ids.Forecast.EMPTY, ids.Forecast.GRAPH} <= ids_in(r.json) and "python -m jobs train" in r.get_data(as_text=True)


@pytest.mark.parametrize("path, graphs", [
    ("/", {ids.Forecast.GRAPH, ids.Forecast.ZOOM}),
    ("/residuals", {ids.Residuals.TIME, ids.Residuals.HIST, ids.Residuals.ACF, ids.Residuals.QQ, ids.Residuals.BIAS}),
    ("/compare", {ids.Compare.TABLE, ids.Compare.OVERLAY, ids.Compare.LOSS, ids.Compare.HORIZON}),
])
def test_pages_draw_their_graphs(dash_client, fixture_store_url, path, graphs):
    r = render_page(dash_client(fixture_store_url), path)
    assert r.status_code == 200 and graphs <= ids_in(r.json)


def test_changing_cell_redraws_forecast(dash_client, fixture_store_url):
    client = dash_client(fixture_store_url)
    r = call(client, FORECAST_OUT, [(ids.Forecast.CELL, "value", "lstm")], [(ids.Forecast.TICKER, "data", None)])
    patch = r.json["response"][ids.Forecast.GRAPH]["figure"]
    # a Patch: traces 1.. and the split shading are replaced, the 3,270-point history is not resent
    replaced = {tuple(op["location"]): op["params"]["value"] for op in patch["operations"] if op["operation"] == "Assign"}
    assert replaced[("data", 1)]["name"] == "LSTM one-step prediction (rolling origins)"
    assert ("data", 0) not in replaced and ("layout", "shapes") in replaced
    assert "LSTM" in r.json["response"][ids.Forecast.RMSE_WORDS]["children"]


def test_download_is_the_shown_forecast_as_csv(dash_client, fixture_store_url):
    client = dash_client(fixture_store_url)
    r = call(client, DOWNLOAD_OUT, [(ids.Forecast.DOWNLOAD_BTN, "n_clicks", 1)], [(ids.Forecast.CELL, "value", "gru"), (ids.Forecast.TICKER, "data", None)])
    payload = r.json["response"][ids.Forecast.DOWNLOAD]["data"]
    lines = payload["content"].strip().splitlines()
    assert payload["filename"] == "AAPL-gru-v2-forecast.csv"
    assert lines[0].startswith("ticker,date,cell,model_version,predicted_close") and len(lines) == 1 + 5


def test_residual_and_compare_callbacks(dash_client, fixture_store_url):
    client = dash_client(fixture_store_url)
    out = f"..{ids.Residuals.TIME}.figure...{ids.Residuals.HIST}.figure...{ids.Residuals.ACF}.figure...{ids.Residuals.QQ}.figure...{ids.Residuals.BIAS}.figure...{ids.Residuals.NOTES}.children.."
    r = call(client, out, [(ids.Residuals.CELL, "value", "simplernn")], [(ids.Residuals.TICKER, "data", None)])
    assert r.status_code == 200 and "Ljung-Box" in r.get_data(as_text=True)
    r = call(client, f"{ids.Compare.HORIZON}.figure", [(ids.Compare.MEASURE, "value", "mape")], [(ids.Compare.TICKER, "data", None)])
    assert r.json["response"][ids.Compare.HORIZON]["figure"]["layout"]["yaxis"]["title"]["text"] == "MAPE (%)"


def _running_run(url: str) -> int:
    eng = make_engine(url)
    with session_factory(eng).begin() as s:
        # a live run: its heartbeat is fresh (a stale one is a dead process and blocks nothing)
        run = Run(ticker="AAPL", trigger="nightly", requested_by="clock", action="finetune", status="running",
                  started_at=NOW, heartbeat_at=datetime.now(timezone.utc), steps=[], progress=0.4,
                  progress_message="training gru epoch 2/5")
        s.add(run)
        s.add(ClockStatus(job_id="nightly-update", next_run_at=NOW, heartbeat_at=NOW, detail={}))
        s.flush()
        run_id = run.id
    eng.dispose()
    return run_id


def test_start_is_refused_while_another_run_is_in_progress(dash_client, fixture_store_url):
    run_id = _running_run(fixture_store_url)
    client = dash_client(fixture_store_url, **admin_env())
    r = call(client, f"..{ids.Admin.REQUEST}.data...{ids.Admin.START_MSG}.children..", [(ids.Admin.START, "n_clicks", 1)],
             [(ids.Admin.ACTION, "value", "finetune"), (ids.Admin.CELLS, "value", []), (ids.Admin.EPOCHS, "value", 3), (ids.Admin.TICKER, "value", None)],
             headers=basic(*ADMIN))
    body = r.json["response"]
    assert ids.Admin.REQUEST not in body  # no request id: nothing will start
    assert f"Refused: AAPL run #{run_id}" in str(body[ids.Admin.START_MSG])


def test_progress_poll_and_cancel(dash_client, fixture_store_url):
    run_id = _running_run(fixture_store_url)
    client = dash_client(fixture_store_url, **admin_env())
    pct, label, text, cancel_disabled, runs, clock, models, options = run_callbacks.poll_view(data.engine())
    assert pct == 40 and label == "40%" and "epoch 2/5" in text and cancel_disabled is False
    assert {o["value"] for o in options} == {1, 2, 3, 4}
    # the scheduler's next run, from clock_status, in the schedule's time zone (04:00 UTC is 23:00 New York)
    assert "nightly-update: next run 2026-11-26 23:00 EST" in str(clock)
    r = call(client, f"{ids.Admin.CANCEL_MSG}.children", [(ids.Admin.CANCEL, "n_clicks", 1)], [(ids.Admin.TICKER, "value", "AAPL")],
             headers=basic(*ADMIN))
    assert f"Asked AAPL run #{run_id} to stop" in r.get_data(as_text=True)
    from store.runs import active_run
    assert active_run(data.engine())["cancel_requested"] is True


@pytest.mark.parametrize(
    "action, cells, epochs, expect",
    [
        ("finetune", [], 3, {"action": "finetune", "cells": ["gru"], "epochs": 3, "ticker": None}),
        ("auto", ["lstm"], None, {"action": "auto", "cells": None, "epochs": None, "ticker": None}),  # as the clock runs it
        ("retrain", ["lstm", "gru"], "5", {"action": "retrain", "cells": ["lstm", "gru"], "epochs": 5, "ticker": None}),
        ("retrain", ["lstm", "gru", "bogus"], 5, "unknown cell type 'bogus'"),  # refused, not silently dropped
        ("retrain", ["gru"], None, "epochs is blank"),
        ("retrain", [], 3, "at least one cell"),
        ("retrain", ["gru"], 0, "from 1 to 500, not 0"),
        ("retrain", ["gru"], 2.5, "whole number"),
        ("retrain", ["gru"], "ten", "whole number"),
        ("delete", ["gru"], 3, "unknown action"),
    ],
)
def test_validate_request(action, cells, epochs, expect):
    if isinstance(expect, dict):
        assert admin_actions.validate_request(action, cells, epochs) == expect
    else:
        with pytest.raises(admin_actions.Refused, match=expect):
            admin_actions.validate_request(action, cells, epochs)


RUN = {"ticker": "AAPL", "trigger": "manual", "action": "auto", "requested_by": "ui:boss"}


@pytest.mark.parametrize("run, color, words", [
    ({"id": 7, "status": "succeeded", "duration_s": 12.0, "promoted": True,
      "detail": {"models": [{"cell": "gru", "model_id": 9, "kind": "train", "promoted": True,
                             "previous_champion_id": 4},
                            {"cell": "lstm", "model_id": 10, "kind": "train", "promoted": False}]}},
     "success", "run #7 succeeded in 12 s; promoted GRU #9 (replacing #4)"),
    ({"id": 7, "status": "succeeded", "duration_s": 3.0, "promoted": False,
      "detail": {"models": [{"cell": "gru", "model_id": 11, "kind": "finetune", "promoted": False}]}},
     "success", "the champion was kept (candidate GRU #11 not promoted)"),
    ({"id": 8, "status": "skipped", "duration_s": 0.1, "progress_message": "no new trading day"}, "secondary", "no new trading day"),
    ({"id": 6, "status": "cancelled", "duration_s": 3.0, "error": "training cancelled"}, "secondary", "Run cancelled: run #6"),
    ({"id": 9, "status": "failed", "duration_s": 1.0, "error": "JobError: boom"}, "danger", "JobError: boom"),
])
def test_run_outcome_in_words(run, color, words):
    # The admin page words the same RunResult every caller gets, read back from the run's record.
    got_color, sentence = admin_actions.describe_run(RunResult.from_record({**RUN, **run}))
    assert got_color == color and words in sentence


def test_compare_names_the_cells_not_trained_yet(dash_client, fixture_store_url):
    eng = make_engine(fixture_store_url)
    from sqlalchemy import delete
    from store.tables import Champion, ChampionEvent, ModelOutput, ModelRecord
    with session_factory(eng).begin() as s:
        s.execute(delete(ChampionEvent).where(ChampionEvent.cell != "gru"))
        s.execute(delete(Champion).where(Champion.cell != "gru"))
        ids = [1, 2]
        s.execute(delete(ModelOutput).where(ModelOutput.model_id.in_(ids)))
        s.execute(delete(ModelRecord).where(ModelRecord.id.in_(ids)))
    eng.dispose()
    r = render_page(dash_client(fixture_store_url), "/compare")
    assert "Not trained yet: simplernn, lstm" in r.get_data(as_text=True)
    assert "python -m jobs train --cells simplernn,lstm" in r.get_data(as_text=True)


def test_data_card_flags_stale_prices(dash_client, fixture_store_url):
    """The offline sample ends in 2013: the freshness of the last close is shown in red, not hidden."""
    r = render_page(dash_client(fixture_store_url), "/")
    text = r.get_data(as_text=True)
    assert ids.Forecast.DATA_CARD in text and "text-danger" in text and "days ago" in text


def _component(tree, component_id: str):
    """The serialised component with this id in a layout, or None."""
    if isinstance(tree, dict):
        if isinstance(tree.get("props"), dict) and tree["props"].get("id") == component_id:
            return tree
        tree = list(tree.values())
    if isinstance(tree, list):
        return next((found for v in tree if (found := _component(v, component_id)) is not None), None)
    return None


def test_freshness_is_counted_by_the_apps_clock_on_the_markets_calendar(dash_client, fixture_store_url):
    """The web's one clock decides staleness, on New York's date: at 02:00 UTC the day after the last close
    (21:00 New York in winter, 22:00 in summer: still that day there, though a UTC date would call it a day
    old) the close is today's and the forecast current; a week later the DATA card is red and the forecast
    says it is stale."""
    from sqlalchemy import func, select

    from store.tables import Price

    engine = make_engine(fixture_store_url)
    with engine.connect() as conn:
        last = conn.execute(select(func.max(Price.date)).where(Price.ticker == "AAPL")).scalar()
    engine.dispose()
    evening = datetime.combine(last + timedelta(days=1), time(2, 0), tzinfo=timezone.utc)
    for now, stale in ((evening, False), (evening + timedelta(days=7), True)):
        tree = render_page(dash_client(fixture_store_url, now=lambda now=now: now), "/").json
        card = json.dumps(_component(tree, ids.Forecast.DATA_CARD))
        assert f"last day {last}" in card
        assert ("(just now)" in card, "text-danger" in card) == (not stale, stale), (now, card)
        assert (_component(tree, ids.Forecast.STALE) is not None) == stale, now


def test_compare_page_shows_rolling_origins_noise_and_base_rates(dash_client, fixture_store_url):
    r = render_page(dash_client(fixture_store_url), "/compare")
    text = r.get_data(as_text=True)
    assert {ids.Compare.VERDICT, ids.Compare.PAIRS, ids.Compare.DIRECTION, ids.Compare.INTERVALS} <= ids_in(r.json)
    assert "Rolling-origin evaluation:" in text and "forecast origins from" in text  # the origins are counted
    assert "Always up (baseline)" in text and "Linear AR (ridge) (baseline)" in text
    # the comparison of the served models is stored, so pairs carry a verdict, never a bare ranking
    assert "indistinguishable" in text or " better" in text


def test_compare_page_shows_bands_by_volatility_third_their_tests_and_goals(dash_client, fixture_store_url):
    r = render_page(dash_client(fixture_store_url), "/compare")
    text = r.get_data(as_text=True)
    assert {ids.Compare.TERCILES, ids.Compare.TESTS, ids.Compare.GOALS} <= ids_in(r.json)
    for band in ("GARCH(1,1)-t band", "Conformal band (persistence)", "Random-walk band"):
        assert band in text
    assert "calm below" in text and "Holm" in text and "Christoffersen conditional-coverage p above 0.05" in text
