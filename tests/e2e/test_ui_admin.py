"""The admin page as a demanding admin uses it, in Debian Chromium (issue 13, points 5 and 6).

Runs are written to the store the way the pipeline writes them (``store.runs``), so
no network is trained here; tests/e2e/test_dashboard_browser.py starts real runs.
"""
from __future__ import annotations

import shutil
from datetime import datetime, timedelta, timezone

import pytest
import requests
from sqlalchemy import select, text

from store import runs
from store.db import make_engine, session_factory
from store.tables import Champion, ClockStatus
from scripts.web_server import WebServer
from tests.support.browser import open_page, settle, wait_js, web_env
from tests.support.dashboard_env import ADMIN
from dashboard import ids

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def store_url(two_ticker_store, tmp_path_factory) -> str:
    """A private copy of the two-ticker store with six older AAPL LSTM versions (10 AAPL models: two pages)."""
    path = tmp_path_factory.mktemp("ui-admin") / "store.db"
    shutil.copy(two_ticker_store, path)
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    cols = ("ticker, cell, {v}, kind, parent_id, run_id, hyperparams, seed, data_start, data_end, val_start, test_start, "
            "data_hash, metrics, train_seconds, param_count, keras_bytes, created_at")
    with engine.begin() as conn:
        for k in range(1, 7):
            conn.execute(text(f"INSERT INTO models ({cols.format(v='version')}) SELECT {cols.format(v=f'version + {k}')} "
                              "FROM models WHERE ticker = 'AAPL' AND cell = 'lstm' AND version = 1"))
    engine.dispose()
    return url


@pytest.fixture(scope="module")
def web(store_url, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ui-admin-web")
    with WebServer(web_env(store_url, tmp), workers=1, log_path=tmp / "gunicorn.log") as server:
        yield server


@pytest.fixture
def page(chromium):
    pg = open_page(chromium)
    yield pg
    pg.context.close()


@pytest.fixture
def engine(store_url):
    eng = make_engine(store_url)
    yield eng
    eng.dispose()


def _admin(page, url: str, ticker: str | None = None) -> None:
    page.goto(url + "/admin")
    page.wait_for_selector(f"#{ids.Admin.RUNS_TABLE}, #{ids.Admin.RUNS} > p", timeout=20000)
    if ticker:
        _pick(page, f"#{ids.Admin.TICKER}", ticker)


def _pick(page, dropdown: str, option_text: str) -> None:
    """Choose an option of a dcc.Dropdown the way a user does: open it, click the option."""
    # Centred first, as a user scrolls: opened at the viewport's bottom edge, its menu falls outside.
    page.wait_for_selector(dropdown, timeout=20000)  # the page's sections render one callback after another
    # ... and push the dropdown down as they arrive: centred before they were all in, it once ended at the
    # bottom edge on a slow machine and its option stayed "outside of the viewport" for 30 s.
    settle(page)
    page.eval_on_selector(dropdown, "e => e.scrollIntoView({block: 'center'})")
    page.click(dropdown)
    page.locator("[role=option]", has_text=option_text).first.click()


def _finished_run(engine, ticker: str, status: str = "succeeded", progress: float = 1.0) -> int:
    now = datetime.now(timezone.utc)
    run_id = runs.start_run(engine, ticker=ticker, trigger="manual", requested_by="ui:boss", action="retrain", now=now)
    runs.add_step(engine, run_id, "prices", f"{ticker}: training on the stored prices", now)
    runs.add_step(engine, run_id, "plan", "retrain asked for", now)
    runs.update_progress(engine, run_id, progress, "training gru", now)
    runs.finish_run(engine, run_id, status, now=now, message="retrain: trained gru in 3.0s; champion kept (candidate was worse)",
                    error=None if status == "succeeded" else "training cancelled by the admin",
                    detail={"plan": "retrain", "cells": ["gru"], "epochs": 3,
                            "models": [{"model_id": 2, "cell": "gru", "kind": "train", "promoted": False}]},
                    metrics_before={"gru": {"model_id": 1, "rmse_ratio": 1.041}},
                    metrics_after={"gru": {"model_id": 2, "rmse_ratio": 1.0526}})
    return run_id


def test_run_history_names_ticker_cells_epochs_notes_and_before_after(web, page, engine):
    """Was: no ticker column, no stored notes; MSFT runs looked like AAPL runs."""
    run_id = _finished_run(engine, "MSFT")
    _admin(page, web.url)
    wait_js(page, f"document.querySelector('#{ids.Admin.RUNS_TABLE}').innerText.includes('champion kept')", timeout=10000)
    row = page.locator(f"#{ids.Admin.RUNS_TABLE} tr", has_text="champion kept").first.inner_text()
    for expected in (str(run_id), "MSFT", "manual", "ui:boss", "GRU", "3", "champion kept (candidate was worse)",
                     "GRU 1.0410 -> 1.0526"):
        assert expected in row, (expected, row)
    _pick(page, f"#{ids.Admin.RUN_PICK}", f"#{run_id} MSFT")
    page.wait_for_selector(f"#{ids.Admin.STEPS_LIST}", timeout=10000)
    steps = page.inner_text(f"#{ids.Admin.RUN_STEPS}")
    assert "prices" in steps and "retrain asked for" in steps and "1.0410 -> 1.0526" in steps
    assert page.errors == []


def test_progress_reaches_100_or_says_why_it_stopped(web, page, engine):
    """Was: the bar vanished at 79-96% when a run ended."""
    _finished_run(engine, "AAPL", status="succeeded", progress=0.9)
    _admin(page, web.url)
    wait_js(page, f"document.querySelector('#{ids.Admin.PROGRESS_TEXT}').innerText.includes('succeeded')", timeout=10000)
    assert page.get_attribute(f"#{ids.Admin.PROGRESS} .progress-bar", "aria-valuenow") == "100"
    stopped = _finished_run(engine, "AAPL", status="cancelled", progress=0.42)
    wait_js(page, f"document.querySelector('#{ids.Admin.PROGRESS_TEXT}').innerText.includes('#{stopped} cancelled')",
            timeout=10000)
    assert "stopped at 42%" in page.inner_text(f"#{ids.Admin.PROGRESS}")
    assert "training cancelled by the admin" in page.inner_text(f"#{ids.Admin.PROGRESS_TEXT}")


def test_cancel_message_clears_when_the_run_has_ended(web, page, engine):
    """Was: 'Asked run #4 to stop ...' stayed after the cancel finished."""
    run_id = runs.start_run(engine, ticker="AAPL", trigger="manual", requested_by="cli", action="retrain",
                            now=datetime.now(timezone.utc))
    _admin(page, web.url)
    page.wait_for_selector(f"#{ids.Admin.CANCEL}:not([disabled])", timeout=10000)
    page.click(f"#{ids.Admin.CANCEL}")
    wait_js(page, f"document.querySelector('#{ids.Admin.CANCEL_MSG}').innerText.includes('run #{run_id} to stop')",
            timeout=10000)
    runs.finish_run(engine, run_id, "cancelled", now=datetime.now(timezone.utc), error="cancelled")
    wait_js(page, f"document.querySelector('#{ids.Admin.CANCEL_MSG}').innerText.trim() === ''", timeout=10000)
    assert page.inner_text(f"#{ids.Admin.CANCEL_MSG}").strip() == ""
    wait_js(page, f"document.querySelector('#{ids.Admin.RUNS_TABLE}') && "
            f"document.querySelector('#{ids.Admin.RUNS_TABLE}').innerText.includes('cancelled')", timeout=10000)
    assert page.is_disabled(f"#{ids.Admin.CANCEL}")  # nothing left to cancel


def test_champions_apart_from_a_paginated_model_list(web, page):
    """Was: one 'Champions' card listing every model, cut at 12 rows."""
    _admin(page, web.url)
    page.wait_for_selector(f"#{ids.Admin.CHAMPIONS_TABLE}", timeout=10000)
    champions = page.locator(f"#{ids.Admin.CHAMPIONS_TABLE} tbody tr")
    assert champions.count() == 3  # one per cell type
    page.wait_for_selector(f"#{ids.Admin.MODELS_TABLE} td", timeout=10000)
    first_page = page.locator(f"#{ids.Admin.MODELS_TABLE} td[data-dash-column=id]").all_inner_texts()
    assert len(first_page) == 8  # 10 models: a full first page...
    page.click(f"#{ids.Admin.MODELS_TABLE} .next-page")
    wait_js(page, f"document.querySelectorAll('#{ids.Admin.MODELS_TABLE} td[data-dash-column=id]').length == 2")
    second = page.locator(f"#{ids.Admin.MODELS_TABLE} td[data-dash-column=id]").all_inner_texts()
    assert not set(first_page) & set(second)  # ...and the rest on the next, none dropped


def _champion(engine, cell: str) -> int:
    with session_factory(engine)() as s:
        return s.execute(select(Champion.model_id).where(Champion.ticker == "AAPL", Champion.cell == cell)).scalar()


def test_promotion_asks_first_and_compares_on_the_same_days(web, page, engine):
    """Was: promote acted at once, with no confirmation and no warning when the model was worse."""
    served = _champion(engine, "gru")
    candidate = served - 1  # the GRU trained before the fine-tune that is served
    _admin(page, web.url)
    page.wait_for_selector(f"#{ids.Admin.CHAMPIONS_TABLE}", timeout=10000)
    _pick(page, f"#{ids.Admin.PROMOTE_MODEL}", f"#{candidate} GRU")
    page.click(f"#{ids.Admin.PROMOTE}")
    page.wait_for_selector(f"#{ids.Admin.PROMOTE_TABLE}", timeout=10000)
    dialog = page.inner_text(f"#{ids.Admin.PROMOTE_COMPARE}")
    assert "same" in dialog and "test days" in dialog and f"#{candidate}" in dialog and f"#{served}" in dialog
    rmse = [float(page.inner_text(f"#{ids.Admin.PROMOTE_TABLE} tbody tr:nth-child({i}) td:nth-child(3)").lstrip("$"))
            for i in (1, 2)]
    assert (page.locator(f"#{ids.Admin.PROMOTE_WORSE}").count() == 1) == (rmse[0] > rmse[1])
    assert _champion(engine, "gru") == served  # nothing changed before the confirmation
    worse = page.locator(f"#{ids.Admin.PROMOTE_WORSE}").count() == 1
    confirm = page.locator(f"#{ids.Admin.PROMOTE_CONFIRM}")
    # issue 22: not the green of a safe choice when the dialog warns the candidate is worse
    assert ("btn-success" in confirm.get_attribute("class")) is not worse
    assert confirm.inner_text() == ("Promote anyway (worse)" if worse else "Promote")
    page.click(f"#{ids.Admin.PROMOTE_CONFIRM}")
    page.wait_for_selector(f"#{ids.Admin.PROMOTED}", timeout=10000)
    assert _champion(engine, "gru") == candidate
    wait_js(page, f"document.querySelector('#{ids.Admin.AUDIT}').innerText.includes('ui:boss')", timeout=10000)
    assert f"promote\tGRU\t#{candidate}\t#{served}\tui:boss" in page.inner_text(f"#{ids.Admin.AUDIT}")


def test_scheduler_in_its_time_zone_without_finished_one_offs(web, page, engine):
    """Was: a finished one-off 'bootstrap' listed, times in UTC although the schedule is 18:30 New York."""
    now = datetime.now(timezone.utc)
    with session_factory(engine).begin() as s:
        s.add(ClockStatus(job_id="nightly-update", next_run_at=datetime(2031, 1, 6, 23, 30, tzinfo=timezone.utc),
                          heartbeat_at=now, detail={}))
        s.add(ClockStatus(job_id="bootstrap", next_run_at=now - timedelta(hours=2), heartbeat_at=now, detail={}))
    _admin(page, web.url)
    page.wait_for_selector(f"#{ids.Admin.CLOCK_LIST}", timeout=10000)
    clock = page.inner_text(f"#{ids.Admin.CLOCK}")
    assert "2031-01-06 18:30 EST" in clock and "bootstrap" not in clock


def test_price_status_per_ticker_and_sign_out(web, page):
    """Was: no per-ticker price status in the browser, and no way to sign out of HTTP Basic."""
    _admin(page, web.url)
    page.wait_for_selector(f"#{ids.Admin.PRICES_TABLE}", timeout=10000)
    prices = page.inner_text(f"#{ids.Admin.PRICES_TABLE}")
    assert "AAPL" in prices and "MSFT" in prices and "offline-sample" in prices
    assert page.get_attribute(f"#{ids.Admin.SIGNOUT}", "href") == "/logout"
    first, second = (requests.get(web.url + "/logout", auth=ADMIN, timeout=10) for _ in range(2))
    assert first.status_code == second.status_code == 401
    assert first.headers["WWW-Authenticate"] != second.headers["WWW-Authenticate"]  # a fresh realm each time


def test_empty_store_defaults_to_full_retrain(chromium, tmp_path):
    """Was: 'Fine-tune' was the default on an empty store, and failed pointing to a command line."""
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    with WebServer(web_env(url, tmp_path), workers=1, log_path=tmp_path / "gunicorn.log") as server:
        pg = open_page(chromium)
        _admin(pg, server.url)
        assert pg.is_checked(f"#{ids.Admin.ACTION} input[value='retrain']")
        pg.context.close()


def test_pause_and_resume_the_nightly_schedule(web, page, engine):
    """Was: no way to pause the nightly schedule from the browser."""
    from store.pause import paused

    _admin(page, web.url)
    # issue 22: only the button that changes anything is enabled
    page.wait_for_selector(f"#{ids.Admin.RESUME}[disabled]", timeout=10000)
    assert not page.is_disabled(f"#{ids.Admin.PAUSE}")
    page.click(f"#{ids.Admin.PAUSE}")
    wait_js(page, f"document.querySelector('#{ids.Admin.PAUSE_STATE}').innerText.includes('PAUSED by ui:boss')",
            timeout=10000)
    assert paused(engine).by == "ui:boss"  # the flag the clock reads (tests/integration/test_schedule_pause.py)
    page.wait_for_selector(f"#{ids.Admin.PAUSE}[disabled]", timeout=10000)
    assert not page.is_disabled(f"#{ids.Admin.RESUME}")
    page.click(f"#{ids.Admin.RESUME}")
    wait_js(page, f"document.querySelector('#{ids.Admin.PAUSE_STATE}').innerText.includes('not paused')", timeout=10000)
    assert paused(engine) is None
    page.wait_for_selector(f"#{ids.Admin.RESUME}[disabled]", timeout=10000)
    assert not page.is_disabled(f"#{ids.Admin.PAUSE}")


def test_fetch_prices_now_runs_in_the_background_and_shows_it(web, page):
    """Was: fetching prices was command line only, then a request that held the page without a
    running state. Now a background callback: the button is disabled and says it is fetching."""
    _admin(page, web.url, "MSFT")
    # record what the page shows while the fetch runs (it may take less than a poll interval)
    page.evaluate("""() => { window.seen = {disabled: false, running: ""};
        new MutationObserver(() => {
            const b = document.querySelector('#admin-fetch');
            if (b && b.disabled) { window.seen.disabled = true; }
            const r = document.querySelector('#admin-fetch-running');
            if (r && r.innerText) { window.seen.running = r.innerText; }
        }).observe(document.body, {subtree: true, childList: true, attributes: true, characterData: true}); }""")
    page.click(f"#{ids.Admin.FETCH}")
    page.wait_for_selector(f"#{ids.Admin.FETCH_RESULT}", timeout=30000)
    fetched = page.inner_text(f"#{ids.Admin.FETCH_RESULT}")
    assert fetched.startswith("MSFT: added 0 new rows")  # the offline sample: nothing new
    assert "fetching from it never adds days" in fetched and "PRICE_SOURCE=yahoo" in fetched  # and it says so
    seen = page.evaluate("window.seen")
    assert seen == {"disabled": True, "running": "Fetching prices..."}
    wait_js(page, f"!document.querySelector('#{ids.Admin.FETCH}').disabled && "
            f"!document.querySelector('#{ids.Admin.FETCH_RUNNING}').innerText", timeout=10000)
    assert page.errors == []


def test_sign_out_from_the_browser(web, page):
    """Was: HTTP Basic had no sign-out. The link answers 401 under a fresh realm, which makes the
    browser drop the credentials it was sending, and says how to sign in again."""
    _admin(page, web.url)
    with page.expect_response(lambda r: r.url.endswith("/logout")) as answer:
        page.click(f"#{ids.Admin.SIGNOUT}")
    assert answer.value.status == 401
    assert answer.value.headers["www-authenticate"].startswith('Basic realm="signed out ')
    page.wait_for_load_state()
    assert page.url.endswith("/logout")
    assert "Signed out" in page.inner_text("body") and page.locator(f"#{ids.Admin.START}").count() == 0
    page.click("#auth-home")  # issue 22: a proper page with a way back, not a plain-text 401
    page.wait_for_url(web.url + "/", timeout=10000)


def test_the_401_page_has_a_way_back(web, chromium):
    """Was: a plain-text 'admin credentials required' with nothing to click."""
    answer = requests.get(web.url + "/admin", auth=("boss", "wrong"), headers={"Accept": "text/html"}, timeout=10)
    assert answer.status_code == 401 and answer.headers["Content-Type"].startswith("text/html")
    assert '<html lang="en">' in answer.text and 'href="/"' in answer.text and "Admin credentials required." in answer.text
    api = requests.get(web.url + "/admin", auth=("boss", "wrong"), headers={"Accept": "application/json"}, timeout=10)
    assert api.status_code == 401 and api.text == "admin credentials required\n"  # a script still reads one line
    page = open_page(chromium, admin=False, http_credentials={"username": "boss", "password": "wrong"})
    response = page.goto(web.url + "/admin")
    assert response.status == 401
    assert page.get_attribute("#auth-home", "href") == "/" and page.get_attribute("#auth-signin", "href") == "/admin"
    page.context.close()


GOOD_CSV = ("Date,Open,High,Low,Close,Volume\n"
            "2013-03-04,30.1,30.5,29.9,30.2,1000\n2013-03-05,30.2,30.9,30.0,30.8,1200\n")


def test_csv_import_previews_then_writes_all_or_nothing(web, page, tmp_path, store_url):
    """Was: importing a CSV was command line only."""
    from store.prices import last_stored_date

    eng = make_engine(store_url)
    bad = tmp_path / "bad.csv"
    bad.write_text(GOOD_CSV + "2013-03-06,31,30,31,31,5\n")  # high below low on line 4
    good = tmp_path / "msft-march.csv"
    good.write_text(GOOD_CSV)
    _admin(page, web.url, "MSFT")
    page.set_input_files(f"#{ids.Admin.UPLOAD} input[type=file]", str(bad))
    page.wait_for_selector(f"#{ids.Admin.UPLOAD_REFUSED}", timeout=10000)
    assert "line 4" in page.inner_text(f"#{ids.Admin.UPLOAD_REFUSED}")  # the command line's own message
    assert page.is_disabled(f"#{ids.Admin.IMPORT}")
    page.set_input_files(f"#{ids.Admin.UPLOAD} input[type=file]", str(good))
    page.wait_for_selector(f"#{ids.Admin.UPLOAD_SUMMARY}", timeout=10000)
    summary = page.inner_text(f"#{ids.Admin.UPLOAD_SUMMARY}")
    assert "2 valid rows for MSFT, 2013-03-04 to 2013-03-05: 2 new days" in summary
    assert str(last_stored_date(eng, "MSFT")) == "2013-03-01"  # the preview wrote nothing
    page.click(f"#{ids.Admin.IMPORT}")
    page.wait_for_selector(f"#{ids.Admin.IMPORTED}", timeout=10000)
    assert str(last_stored_date(eng, "MSFT")) == "2013-03-05"
    eng.dispose()


def _stored_day(engine, ticker: str, day: str):
    from store.tables import Price

    with session_factory(engine)() as session:
        return session.execute(select(Price).where(Price.ticker == ticker, Price.date == datetime.strptime(day, "%Y-%m-%d").date())).scalar_one()


def test_csv_correction_previews_a_table_then_replaces_the_confirmed_days(web, page, tmp_path, engine):
    """Was: a file changing a stored day was refused with "the command line needs --replace", naming neither
    the day nor the size, and the preview was one sentence. Now a table of the rows with the changed cells
    highlighted, the changes (day, column, old, new, change), then "Replace this 1 day", recorded."""
    from store.tables import PriceDeletion

    old = _stored_day(engine, "MSFT", "2013-02-28")
    new_close = round(old.close * 1.02, 4)
    fixed = tmp_path / "msft-fix.csv"  # 2013-02-28's close corrected by +2%, 2013-03-01 repeated as stored
    same = _stored_day(engine, "MSFT", "2013-03-01")
    fixed.write_text("Date,Open,High,Low,Close,Volume\n"
                     f"2013-02-28,{old.open},{max(old.high, new_close)},{old.low},{new_close},{old.volume}\n"
                     f"2013-03-01,{same.open},{same.high},{same.low},{same.close},{same.volume}\n")
    _admin(page, web.url, "MSFT")
    page.set_input_files(f"#{ids.Admin.UPLOAD} input[type=file]", str(fixed))
    page.wait_for_selector(f"#{ids.Admin.UPLOAD_CHANGES}", timeout=10000)
    summary = page.inner_text(f"#{ids.Admin.UPLOAD_SUMMARY}")
    assert "1 already stored unchanged, 1 stored day it changes" in summary
    changes = page.inner_text(f"#{ids.Admin.UPLOAD_CHANGES}")
    assert "2013-02-28" in changes and "close" in changes and "+2.00%" in changes  # day, column, size
    # the rows table: the changed cell reads stored -> file and is highlighted; the other cells are not
    cell = page.locator(f"#{ids.Admin.UPLOAD_ROWS} td[data-dash-column=close]", has_text="\u2192")
    assert cell.count() == 1 and "2013-02-28" in page.inner_text(f"#{ids.Admin.UPLOAD_ROWS} tr:has(td[data-dash-column=close]:has-text('\u2192'))")
    assert cell.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(255, 243, 205)"
    plain = page.locator(f"#{ids.Admin.UPLOAD_ROWS} td[data-dash-column=open]").first
    assert plain.evaluate("e => getComputedStyle(e).backgroundColor") != "rgb(255, 243, 205)"
    assert page.is_disabled(f"#{ids.Admin.IMPORT}")  # all or nothing: the plain import does not apply it
    assert page.inner_text(f"#{ids.Admin.REPLACE}") == "Replace this 1 day"
    assert _stored_day(engine, "MSFT", "2013-02-28").close == old.close  # the preview wrote nothing
    page.screenshot(path=str(tmp_path / "correction-preview.png"), full_page=True)
    page.click(f"#{ids.Admin.REPLACE}")
    page.wait_for_selector(f"#{ids.Admin.IMPORTED}", timeout=10000)
    said = page.inner_text(f"#{ids.Admin.IMPORTED}")
    assert "1 replaced (2013-02-28; the old values are recorded as price deletions" in said and "by web:boss" in said
    assert _stored_day(engine, "MSFT", "2013-02-28").close == pytest.approx(new_close)
    with session_factory(engine)() as session:
        record = session.execute(select(PriceDeletion).where(PriceDeletion.ticker == "MSFT")).scalars().all()
    assert [(r.date.isoformat(), r.close, r.deleted_by) for r in record] == [
        ("2013-02-28", old.close, "web:boss via csv:msft-fix.csv")]  # who, which day, the old value; when:
    assert record[0].deleted_at is not None
    wait_js(page, f"document.querySelector('#{ids.Admin.REPLACE}').disabled", timeout=5000)  # not twice
    assert page.errors == []


def test_roll_back_asks_first(web, page, engine):
    """Was: Roll back acted at once, with no confirmation."""
    served = _champion(engine, "lstm")
    _admin(page, web.url)
    page.wait_for_selector(f"#{ids.Admin.CHAMPIONS_TABLE}", timeout=10000)
    _pick(page, f"#{ids.Admin.ROLLBACK_CELL}", "LSTM")
    page.click(f"#{ids.Admin.ROLLBACK}")
    page.wait_for_selector(f"#{ids.Admin.ROLLBACK_ASK}", state="visible", timeout=10000)
    assert f"model #{served}" in page.inner_text(f"#{ids.Admin.ROLLBACK_ASK}") and "stops serving" in page.inner_text(f"#{ids.Admin.ROLLBACK_ASK}")
    page.click(f"#{ids.Admin.ROLLBACK_ABORT}")
    page.wait_for_selector(f"#{ids.Admin.ROLLBACK_ASK}", state="detached", timeout=10000)
    assert _champion(engine, "lstm") == served  # cancelled: nothing changed
    page.click(f"#{ids.Admin.ROLLBACK}")
    page.wait_for_selector(f"#{ids.Admin.ROLLBACK_CONFIRM}", state="visible", timeout=10000)
    page.click(f"#{ids.Admin.ROLLBACK_CONFIRM}")
    page.wait_for_selector(f"#{ids.Admin.CHAMPION_MSG} .alert", timeout=10000)
    # the fixture's LSTM has no earlier champion: the registry's refusal, after the confirmation
    said = page.inner_text(f"#{ids.Admin.CHAMPION_MSG}")
    assert ("Rolled back" in said) != (_champion(engine, "lstm") == served), said
    assert page.errors == []


def test_epochs_disabled_and_explained_for_the_nightly_run(web, page):
    """Was: Epochs was silently ignored for "Run the nightly pipeline now"."""
    _admin(page, web.url)
    assert not page.is_disabled(f"#{ids.Admin.EPOCHS}")
    page.check(f"#{ids.Admin.ACTION} input[value='auto']")
    page.wait_for_selector(f"#{ids.Admin.EPOCHS}[disabled]", timeout=10000)
    assert "scheduled epochs" in page.inner_text(f"#{ids.Admin.EPOCHS_HELP}")
    page.check(f"#{ids.Admin.ACTION} input[value='retrain']")
    page.wait_for_selector(f"#{ids.Admin.EPOCHS}:not([disabled])", timeout=10000)
    assert page.inner_text(f"#{ids.Admin.EPOCHS_HELP}").strip() == ""


def test_start_says_it_will_queue_while_another_process_holds_the_ticker(web, page, engine):
    """Was: Start looked like it would run at once while a command-line run held the ticker's lease. Every
    run is a request in the queue now: Start stays usable and says the run would wait behind that one
    (test_admin_queue.py shows such a request queued, then run)."""
    from store import lease

    name = lease.training_lease("MSFT")
    lease.acquire(engine, holder="cli-host:4242:abc", ttl_s=120, name=name)
    try:
        _admin(page, web.url, "MSFT")
        wait_js(page, f"document.querySelector('#{ids.Admin.START_BUSY}').innerText.includes('queued behind')",
                timeout=10000)
        busy = page.inner_text(f"#{ids.Admin.START_BUSY}")
        assert "held by cli-host:4242:abc" in busy and "a run started now is queued behind it" in busy, busy
        assert page.locator(f"#{ids.Admin.START}").is_enabled()
    finally:
        lease.release(engine, holder="cli-host:4242:abc", name=name)
    wait_js(page, f"document.querySelector('#{ids.Admin.START_BUSY}').innerText.trim() === ''", timeout=10000)
    assert page.inner_text(f"#{ids.Admin.START_BUSY}").strip() == ""


@pytest.mark.parametrize("width, height", [(1400, 900), (390, 844)])
def test_run_history_fits_its_card(web, chromium, engine, tmp_path, width, height):
    """Was: the run history was wider than its card: notes cut mid-word, before/after off-screen."""
    run_id = _finished_run(engine, "AAPL", status="cancelled", progress=0.5)
    page = open_page(chromium, width=width, height=height)
    _admin(page, web.url)
    row = page.locator(f"#{ids.Admin.RUNS_TABLE} tr", has_text="training cancelled by the admin").first
    row.wait_for(timeout=10000)
    assert row.locator("td").first.inner_text().strip() == str(run_id)
    # Every cell, before/after included, inside the card: measured in one script, since the history's
    # poll may re-render the table between two separate reads (a detached cell has no box).
    cells = page.evaluate("""([table, card, text]) => {
        const c = document.querySelector(card).getBoundingClientRect();
        const row = [...document.querySelectorAll(table + ' tr')].find(r => r.innerText.includes(text));
        return [...row.cells].map(td => { const b = td.getBoundingClientRect();
                                         return [td.innerText, b.left >= c.left - 1 && b.right <= c.right + 1]; });
    }""", [f"#{ids.Admin.RUNS_TABLE}", f"#{ids.Admin.RUNS}", "training cancelled by the admin"])
    assert len(cells) >= 4 and all(inside for _text, inside in cells), cells
    table = page.locator(f"#{ids.Admin.RUNS_TABLE}")
    assert table.evaluate("t => t.scrollWidth <= t.parentElement.clientWidth + 1")  # nothing to scroll to
    assert "GRU 1.0410 -> 1.0526" in row.inner_text()
    page.screenshot(path=str(tmp_path / f"runs-{width}.png"), full_page=True)
    assert page.errors == []
    page.context.close()


@pytest.mark.parametrize("width, height", [(1400, 900), (390, 844)])
def test_axe_finds_no_critical_or_serious_violation(web, chromium, tmp_path, width, height):
    """Was (axe-core 4.14): unlabelled epochs and file inputs (critical); contrast of Promote, Roll back,
    Sign out and the clock line, focusable aria-hidden dropdown inputs, an unnamed progress bar, no lang."""
    from tests.support.axe_admin import violations

    page = open_page(chromium, width=width, height=height)
    _admin(page, web.url)
    page.wait_for_selector(f"#{ids.Admin.CHAMPIONS_TABLE}", timeout=10000)
    page.wait_for_selector(f"#{ids.Admin.RESUME}[disabled]", timeout=10000)  # the state callbacks have answered
    assert violations(page) == []
    fixed = tmp_path / "preview.csv"  # the upload preview's tables and its Replace button
    fixed.write_text("Date,Open,High,Low,Close,Volume\n2013-03-01,1,2,1,1.5,10\n")
    page.set_input_files(f"#{ids.Admin.UPLOAD} input[type=file]", str(fixed))
    page.wait_for_selector(f"#{ids.Admin.UPLOAD_CHANGES}", timeout=10000)
    assert violations(page) == []
    # the dropdowns are reached with the keyboard on their own button, which opens the list
    page.focus(f"#{ids.Admin.ROLLBACK_CELL}")
    page.keyboard.press("Enter")
    page.wait_for_selector("[role=option]", timeout=5000)
    assert page.errors == []
    page.context.close()


def test_progress_names_the_steps_so_far(web, page, engine):
    """Was: the bar sat at 8% then 96% for 16 s each with one unchanging line; the steps move it on."""
    now = datetime.now(timezone.utc)
    run_id = runs.start_run(engine, ticker="MSFT", trigger="manual", requested_by="cli", action="retrain", now=now)
    runs.add_step(engine, run_id, "prices", "MSFT: training on the stored prices", now)
    runs.update_progress(engine, run_id, 0.08, "gru: training on 3270 days", now)
    try:
        _admin(page, web.url, "MSFT")
        wait_js(page, f"document.querySelector('#{ids.Admin.PROGRESS_TEXT}').innerText.includes('steps so far: prices')",
                timeout=10000)
        runs.add_step(engine, run_id, "evaluate", "rolling origins", now)
        wait_js(page, f"document.querySelector('#{ids.Admin.PROGRESS_TEXT}').innerText"
                ".includes('steps so far: prices, evaluate')", timeout=10000)
        assert f"MSFT run #{run_id}" in page.inner_text(f"#{ids.Admin.PROGRESS_TEXT}")
    finally:
        runs.finish_run(engine, run_id, "cancelled", now=datetime.now(timezone.utc), error="test over")
