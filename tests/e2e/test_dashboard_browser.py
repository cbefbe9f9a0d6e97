"""The dashboard under real gunicorn, driven by headless Chromium (Playwright).

Screenshots of every page go to artifacts/screenshots/.
"""
from __future__ import annotations

import importlib.util
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import urllib.error
import urllib.request

import pytest
from playwright.sync_api import Error as PlaywrightError
from sqlalchemy import func, select

from store.db import make_engine
from store.tables import Run
from tests.support.cli import run_jobs_in_process
from tests.support.services import ROOT
from tests.support.clock import running_clock
from tests.support.dash_client import basic
from tests.support.dashboard_env import ADMIN
from scripts.web_server import WebServer
from dashboard import ids
from tests.support.browser import wait_js

pytestmark = pytest.mark.e2e

SHOTS = ROOT / "artifacts" / "screenshots"
PAGES = [("/", "forecast", 2), ("/residuals", "residuals", 5), ("/compare", "compare", 3), ("/admin", "admin", 0)]


@pytest.fixture(scope="module")
def store_url(fixture_store_file, tmp_path_factory) -> str:
    """A store trained by the forecasting core (``jobs init`` + ``jobs train --epochs 2``, ~15 s);
    the numpy fixture store where TensorFlow is not installed; E2E_DATABASE_URL overrides both."""
    if os.environ.get("E2E_DATABASE_URL"):
        return os.environ["E2E_DATABASE_URL"]
    tmp = tmp_path_factory.mktemp("e2e")
    url = f"sqlite:///{tmp / 'store.db'}"
    if importlib.util.find_spec("tensorflow") is None or importlib.util.find_spec("jobs.candidates") is None:
        shutil.copy(fixture_store_file, tmp / "store.db")
        return url
    env = {**os.environ, "DATABASE_URL": url, "PRICE_SOURCE": "offline", "DATA_DIR": str(tmp / "data")}
    for args in (["init"], ["train", "--epochs", "2"]):
        proc = run_jobs_in_process(args, env)
        assert proc.returncode == 0, proc.stderr[-2000:]
    return url


@pytest.fixture(scope="module")
def web(store_url, tmp_path_factory):
    """gunicorn with 2 workers on the store, admin login configured, and the clock that runs the
    admin's queued runs in its child (Procfile.local: web and clock)."""
    tmp = tmp_path_factory.mktemp("web")
    env = {"DATABASE_URL": store_url, "CACHE_DIR": str(tmp / "cache"), "PRICE_SOURCE": "offline",
           "ADMIN_USER": ADMIN[0], "ADMIN_PASSWORD": ADMIN[1], "DATA_DIR": str(tmp / "data"),
           # the nightly pipeline run from the page trains as the schedule says: one epoch here
           "PIPELINE_EPOCHS": "1", "PIPELINE_FINETUNE_EPOCHS": "1", "EVAL_REFIT_EPOCHS": "0"}
    for key in ("ANALYST_USER", "ANALYST_PASSWORD", "REDIS_URL"):
        os.environ.get(key) and env.update({key: ""})
    with running_clock(env, tmp / "clock.log"), WebServer(env, workers=2, log_path=tmp / "gunicorn.log") as server:
        yield server


@pytest.fixture(scope="module")
def browser(chromium_browser):
    """The session's one Chromium (tests/conftest.py)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    return chromium_browser


@pytest.fixture
def page(browser):
    """A page logged in as admin that records console errors and uncaught exceptions."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000},
                              http_credentials={"username": ADMIN[0], "password": ADMIN[1]})
    pg = ctx.new_page()
    pg.errors = []
    pg.on("console", lambda m: m.type == "error" and pg.errors.append(m.text))
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    yield pg
    ctx.close()


@pytest.mark.parametrize("path, name, graphs", PAGES)
def test_every_page_renders_its_graphs_without_console_errors(web, page, path, name, graphs):
    page.goto(web.url + path)
    if graphs:
        wait_js(page, f"document.querySelectorAll('.js-plotly-plot .main-svg').length >= {graphs}", timeout=20000)
    else:
        page.wait_for_selector(f"#{ids.Admin.RUNS} > *", timeout=20000)  # the poll callback filled the history
    page.wait_for_timeout(500)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    assert page.errors == []


def test_changing_cell_type_redraws_the_forecast(web, page):
    page.goto(web.url + "/")
    page.wait_for_selector(f"#{ids.Forecast.GRAPH} .main-svg", timeout=20000)
    assert page.inner_text(f"#{ids.Forecast.MODEL_CARD}").splitlines()[1].startswith("GRU v")
    before = page.inner_text(f"#{ids.Forecast.GRAPH}")
    page.click("label:has-text('LSTM')")
    wait_js(page,
        f"document.querySelector('#{ids.Forecast.GRAPH}').innerText.includes('LSTM one-step prediction')", timeout=10000)
    assert "GRU one-step prediction" in before and "GRU one-step prediction" not in page.inner_text(f"#{ids.Forecast.GRAPH}")
    assert "LSTM one-step predictions" in page.evaluate(f"document.querySelector('#{ids.Forecast.GRAPH} .js-plotly-plot').layout.title.text")
    assert page.inner_text(f"#{ids.Forecast.MODEL_CARD}").splitlines()[1].startswith("LSTM v")
    page.screenshot(path=str(SHOTS / "forecast-lstm.png"), full_page=True)
    assert page.errors == []


def _post(url: str, body: dict, headers: dict | None = None) -> int:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as exc:
        return exc.code


def _run_count(url: str) -> int:
    eng = make_engine(url)
    with eng.connect() as conn:
        n = conn.execute(select(func.count()).select_from(Run)).scalar()
    eng.dispose()
    return n


def test_request_without_credentials_is_refused(web, browser, store_url):
    before = _run_count(store_url)
    ctx = browser.new_context()  # no credentials
    pg = ctx.new_page()
    try:  # new headless Chromium gives up on a 401 it has no login prompt for; the old headless shell shows it
        shown = pg.goto(web.url + "/admin")
    except PlaywrightError as exc:
        assert "ERR_INVALID_AUTH_CREDENTIALS" in str(exc)
    else:
        assert shown is not None and shown.status == 401
        assert pg.locator(f"#{ids.Admin.START}").count() == 0  # no admin page behind it
    assert ctx.request.get(web.url + "/admin").status == 401
    assert ctx.new_page().goto(web.url + "/").status == 200  # analyst pages are open (fresh tab: no error page racing)
    ctx.close()
    start = {"output": f"..{ids.Admin.REQUEST}.data...{ids.Admin.START_MSG}.children..",
             "outputs": [{"id": ids.Admin.REQUEST, "property": "data"}, {"id": ids.Admin.START_MSG, "property": "children"}],
             "inputs": [{"id": ids.Admin.START, "property": "n_clicks", "value": 1}],
             "state": [{"id": ids.Admin.ACTION, "property": "value", "value": "retrain"},
                       {"id": ids.Admin.CELLS, "property": "value", "value": ["gru"]},
                       {"id": ids.Admin.EPOCHS, "property": "value", "value": 1},
                       {"id": ids.Admin.TICKER, "property": "value", "value": "AAPL"}],
             "changedPropIds": [f"{ids.Admin.START}.n_clicks"]}
    assert _post(web.url + "/_dash-update-component", start) == 401
    assert _post(web.url + "/_dash-update-component", start, basic("boss", "guess")) == 401
    outcome = {"output": f"{ids.Admin.RUN_RESULT}.children", "outputs": {"id": ids.Admin.RUN_RESULT, "property": "children"},
               "inputs": [{"id": ids.Admin.POLL, "property": "n_intervals", "value": 1}],
               "state": [{"id": ids.Admin.REQUEST, "property": "data", "value": 1}],
               "changedPropIds": [f"{ids.Admin.POLL}.n_intervals"]}
    assert _post(web.url + "/_dash-update-component", outcome) == 401
    assert _run_count(store_url) == before  # nothing started


def _needs_training():
    if importlib.util.find_spec("jobs.run") is None or importlib.util.find_spec("tensorflow") is None:
        pytest.skip("needs jobs.run and TensorFlow to train")


def test_admin_starts_a_short_retrain_and_sees_it_in_history(web, page, store_url):
    _needs_training()
    assert_a_retrain_from_the_browser_lands(page, web.url, store_url, "admin")


def test_admin_runs_the_nightly_pipeline_now(web, page, store_url):
    """Was: the nightly pipeline ran only from the clock or the command line. From the page it
    fetches prices, then fine-tunes or retrains as the schedule decides, and says so."""
    _needs_training()
    before = _run_count(store_url)
    page.goto(web.url + "/admin")
    page.wait_for_selector(f"#{ids.Admin.RUNS} > *", timeout=20000)
    page.check("input[value='auto']", force=True)
    page.click(f"#{ids.Admin.START}")
    page.wait_for_selector(f"#{ids.Admin.RUN_OUTCOME}", timeout=300000)
    outcome = page.inner_text(f"#{ids.Admin.RUN_OUTCOME}")
    assert outcome.startswith("Run finished"), outcome
    assert _run_count(store_url) == before + 1
    run_id = outcome.split("run #", 1)[1].split()[0]
    wait_js(page, f"document.querySelector('#{ids.Admin.RUNS_TABLE} tbody tr') && document.querySelector("
            f"'#{ids.Admin.RUNS_TABLE} tbody tr td').innerText.trim() === '{run_id}'", timeout=15000)
    newest = page.inner_text(f"#{ids.Admin.RUNS_TABLE} tbody tr")
    assert "AAPL" in newest and "manual" in newest and "ui:boss" in newest
    assert page.errors == []


def test_retrain_runs_on_a_celery_worker_when_redis_is_configured(browser, store_url, redis_url, tmp_path):
    """With REDIS_URL the same button's request runs on a Celery worker (Procfile worker:)."""
    _needs_training()
    # A store of its own: the module's clock (the `web` fixture) watches the shared one's queue and would
    # claim this request before the worker does (a race the worker lost in CI: "already claimed").
    store_url = _private_copy(store_url, tmp_path)
    env = {**os.environ, "DATABASE_URL": store_url, "CACHE_DIR": str(tmp_path / "cache"), "PRICE_SOURCE": "offline",
           "ADMIN_USER": ADMIN[0], "ADMIN_PASSWORD": ADMIN[1], "DATA_DIR": str(tmp_path / "data"), "REDIS_URL": redis_url}
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "jobs.worker:celery_app", "worker", "--concurrency=1", "--loglevel=info"],
        cwd=ROOT, env=env, stdout=open(tmp_path / "celery.log", "wb"), stderr=subprocess.STDOUT, start_new_session=True)
    try:
        with WebServer(env, workers=2, log_path=tmp_path / "gunicorn.log") as server:
            ctx = browser.new_context(viewport={"width": 1400, "height": 1000},
                                      http_credentials={"username": ADMIN[0], "password": ADMIN[1]})
            pg = ctx.new_page()
            pg.errors = []
            pg.on("console", lambda m: m.type == "error" and pg.errors.append(m.text))
            assert_a_retrain_from_the_browser_lands(pg, server.url, store_url, "admin-celery")
            ctx.close()
        assert b"succeeded" in (tmp_path / "celery.log").read_bytes()  # the worker, not the web process, ran it
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()


def _private_copy(store_url: str, tmp_path) -> str:
    """A consistent copy of a SQLite store in use (SQLite's backup API: the WAL's pages included); a
    server store (E2E_DATABASE_URL) is returned as it is."""
    if not store_url.startswith("sqlite:///"):
        return store_url
    copy = tmp_path / "own-store.db"
    source, target = sqlite3.connect(store_url[len("sqlite:///"):]), sqlite3.connect(copy)
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()
    return f"sqlite:///{copy}"


def assert_a_retrain_from_the_browser_lands(page, url: str, store_url: str, shot: str) -> None:
    before = _run_count(store_url)
    page.goto(url + "/admin")
    page.wait_for_selector(f"#{ids.Admin.RUNS} > *", timeout=20000)
    page.check("input[value='retrain']", force=True)
    page.fill(f"#{ids.Admin.EPOCHS}", "1")
    page.click(f"#{ids.Admin.START}")
    # progress: the bar shows a running run's message, then the outcome appears
    # a Celery worker's first task loads TensorFlow (seconds on a quiet machine, a minute or more beside a busy suite)
    wait_js(page, f"document.querySelector('#{ids.Admin.PROGRESS_TEXT}').innerText.startsWith('AAPL run #')", timeout=180000)
    page.screenshot(path=str(SHOTS / f"{shot}-running.png"), full_page=True)
    page.wait_for_selector(f"#{ids.Admin.RUN_OUTCOME}", timeout=180000)
    outcome = page.inner_text(f"#{ids.Admin.RUN_OUTCOME}")
    assert outcome.startswith("Run finished"), outcome
    wait_js(page, f"document.querySelector('#{ids.Admin.RUNS_TABLE}') && "
            f"document.querySelector('#{ids.Admin.RUNS_TABLE}').innerText.includes('ui:boss')", timeout=10000)
    page.screenshot(path=str(SHOTS / f"{shot}-after-run.png"), full_page=True)
    assert _run_count(store_url) == before + 1
    assert page.errors == []


def test_admin_cancels_a_running_retrain(web, page, store_url):
    _needs_training()
    page.goto(web.url + "/admin")
    page.wait_for_selector(f"#{ids.Admin.RUNS} > *", timeout=20000)
    page.check("input[value='retrain']", force=True)
    for cell in ("simplernn", "lstm"):
        page.check(f"#{ids.Admin.CELLS} input[value='{cell}']", force=True)
    page.fill(f"#{ids.Admin.EPOCHS}", "200")
    page.click(f"#{ids.Admin.START}")
    # a Celery worker's first task loads TensorFlow (seconds on a quiet machine, a minute or more beside a busy suite)
    wait_js(page, f"document.querySelector('#{ids.Admin.PROGRESS_TEXT}').innerText.startsWith('AAPL run #')", timeout=180000)
    page.wait_for_selector(f"#{ids.Admin.CANCEL}:not([disabled])", timeout=10000)
    page.click(f"#{ids.Admin.CANCEL}")
    page.wait_for_selector(f"#{ids.Admin.RUN_OUTCOME}", timeout=120000)
    assert page.inner_text(f"#{ids.Admin.RUN_OUTCOME}").startswith("Run cancelled")
    wait_js(page, f"document.querySelector('#{ids.Admin.RUNS_TABLE}').innerText.includes('cancelled')", timeout=10000)
    page.screenshot(path=str(SHOTS / "admin-cancelled.png"), full_page=True)
    assert page.errors == []


def test_first_start_on_an_empty_store_explains_what_is_missing(browser, tmp_path):
    """No schema, no prices, no models: every page says what is missing and what fills it, without errors."""
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}", "CACHE_DIR": str(tmp_path / "cache"),
           "ADMIN_USER": ADMIN[0], "ADMIN_PASSWORD": ADMIN[1], "DATA_DIR": str(tmp_path / "data")}
    with WebServer(env, workers=1, log_path=tmp_path / "gunicorn.log") as server:
        ctx = browser.new_context(viewport={"width": 1400, "height": 700},
                                  http_credentials={"username": ADMIN[0], "password": ADMIN[1]})
        pg = ctx.new_page()
        errors = []
        pg.on("console", lambda m: m.type == "error" and errors.append(m.text))
        pg.on("pageerror", lambda e: errors.append(str(e)))
        for path, selector, says in [("/", f"#{ids.Forecast.EMPTY}", "python -m jobs init"),
                                     ("/residuals", f"#{ids.Residuals.EMPTY}", "python -m jobs init"),
                                     ("/compare", f"#{ids.Compare.EMPTY}", "python -m jobs init"),
                                     ("/admin", f"#{ids.Admin.RUNS_TABLE}, #{ids.Admin.RUNS} > p", "No runs yet")]:
            pg.goto(server.url + path)
            pg.wait_for_selector(selector, timeout=20000)
            assert says in pg.inner_text("body")
        pg.screenshot(path=str(SHOTS / "empty-admin.png"), full_page=True)
        pg.goto(server.url + "/")
        pg.wait_for_selector(f"#{ids.Forecast.EMPTY}", timeout=20000)
        pg.screenshot(path=str(SHOTS / "empty-forecast.png"), full_page=True)
        ctx.close()
    assert errors == []
