"""A real Prometheus server scrapes ``/metrics`` from a real gunicorn with two workers, behind the
analyst login, and its PromQL answers are the store's values: per ticker, summed across tickers,
the same from scrape to scrape (whichever worker answered), and following a change in the store.

Needs Debian's ``prometheus`` binary (``apt-get install prometheus``; ``.ci/run`` installs it)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from contract.run import RunRequest
from scripts.web_server import WebServer, free_port
from store import run_requests, runs
from store.db import make_engine
from store.tables import Champion, Run
from tests.support.dashboard_env import ANALYST
from tests.support.services import service_missing

pytestmark = pytest.mark.e2e

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
TICKERS = ("AAPL", "MSFT")


@pytest.fixture
def store(fixture_store_url):
    """The fixture store (AAPL models and prices) with runs of both tickers and a waiting MSFT request."""
    engine = make_engine(fixture_store_url)
    now = datetime.now(timezone.utc)
    for ticker, statuses in (("AAPL", ("succeeded", "failed", "failed")), ("MSFT", ("failed", "skipped"))):
        for status in statuses:
            rid = runs.start_run(engine, ticker=ticker, trigger="nightly", requested_by="clock", action="auto")
            runs.finish_run(engine, rid, status, error="source down" if status == "failed" else None)
    run_requests.add(engine, RunRequest.build("MSFT", requested_by="ui:boss"), now - timedelta(minutes=5))
    yield engine
    engine.dispose()


@pytest.fixture
def web(fixture_store_url, store, tmp_path):
    env = {"DATABASE_URL": fixture_store_url, "CACHE_DIR": str(tmp_path / "cache"), "DATA_DIR": str(tmp_path / "data"),
           "TICKERS": ",".join(TICKERS),
           "ANALYST_USER": ANALYST[0], "ANALYST_PASSWORD": ANALYST[1], "ADMIN_USER": "", "ADMIN_PASSWORD": "",
           "REDIS_URL": ""}
    with WebServer(env, workers=2, log_path=tmp_path / "gunicorn.log") as server:
        assert len(server.worker_pids()) == 2
        yield server


@pytest.fixture
def prometheus(web, tmp_path):
    """Our own Prometheus (temp config and storage, a free port) scraping the web every second with basic auth."""
    if not os.path.exists(PROMETHEUS):
        service_missing("the prometheus binary is not installed (apt-get install -y prometheus)")
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
        "scrape_configs:\n  - job_name: forecast\n    metrics_path: /metrics\n"
        f"    basic_auth:\n      username: {ANALYST[0]}\n      password: {ANALYST[1]}\n"
        f"    static_configs:\n      - targets: ['127.0.0.1:{web.port}']\n")
    port = free_port()
    proc = subprocess.Popen([PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                             f"--web.listen-address=127.0.0.1:{port}"],
                            stdout=open(tmp_path / "prometheus.log", "wb"), stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def query(base: str, promql: str) -> dict[tuple, float]:
    """Instant query: labels (without __name__, job, instance) -> value."""
    url = f"{base}/api/v1/query?{urllib.parse.urlencode({'query': promql})}"
    with urllib.request.urlopen(url, timeout=5) as resp:
        body = json.load(resp)
    assert body["status"] == "success", body
    drop = {"__name__", "job", "instance"}
    return {tuple(sorted((k, v) for k, v in r["metric"].items() if k not in drop)): float(r["value"][1])
            for r in body["data"]["result"]}


def wait_for(base: str, promql: str, want, timeout: float = 60.0) -> dict[tuple, float]:
    """Poll ``promql`` until ``want(result)`` holds (Prometheus may still be starting); the last result."""
    deadline, got = time.monotonic() + timeout, {}
    while time.monotonic() < deadline:
        try:
            got = query(base, promql)
            if want(got):
                return got
        except OSError:
            pass  # not listening yet
        time.sleep(0.5)
    raise AssertionError(f"{promql} never satisfied the check; last answer {got}")


def _runs(engine, status: str, ticker: str | None = None) -> int:
    stmt = select(func.count()).select_from(Run).where(Run.status == status)
    with engine.connect() as conn:
        return int(conn.execute(stmt if ticker is None else stmt.where(Run.ticker == ticker)).scalar() or 0)


def test_prometheus_reads_the_store_through_two_workers(store, web, prometheus):
    assert wait_for(prometheus, 'up{job="forecast"}', lambda r: r.get(()) == 1.0)  # scrapes succeed with the login
    per_ticker = wait_for(prometheus, 'forecast_runs{status="failed"}', lambda r: len(r) == 2)
    assert per_ticker == {(("status", "failed"), ("ticker", t)): float(_runs(store, "failed", t)) for t in TICKERS}
    # a sum across tickers adds up to the store's count over all of them
    assert query(prometheus, 'sum(forecast_runs{status="failed"})') == {(): float(_runs(store, "failed"))} == {(): 3.0}
    assert query(prometheus, "sum(forecast_runs)") == {(): 5.0}
    with store.connect() as conn:
        champions = {(("cell", c), ("ticker", t)): float(m)
                     for t, c, m in conn.execute(select(Champion.ticker, Champion.cell, Champion.model_id))}
    assert query(prometheus, "forecast_champion_model_id") == champions and champions
    assert query(prometheus, 'forecast_queue_requests{state="waiting"}') == {
        (("state", "waiting"), ("ticker", "AAPL")): 0.0, (("state", "waiting"), ("ticker", "MSFT")): 1.0}
    assert 290 <= query(prometheus, "forecast_queue_oldest_waiting_age_seconds")[()] <= 900
    # Both workers answer the same truth: over several scrapes (1 s apart, spread over the two workers)
    # the series never changed.
    time.sleep(6)
    assert query(prometheus, 'count_over_time(forecast_runs{status="failed",ticker="AAPL"}[6s])')[
        (("status", "failed"), ("ticker", "AAPL"))] >= 4
    assert query(prometheus, 'changes(sum(forecast_runs{status="failed"})[6s:1s])') == {(): 0.0}
    # A run that fails now shows in the next scrapes, in the ticker's series and in the sum.
    rid = runs.start_run(store, ticker="MSFT", trigger="manual", requested_by="boss", action="retrain")
    runs.finish_run(store, rid, "failed", error="boom")
    assert wait_for(prometheus, 'sum(forecast_runs{status="failed"})', lambda r: r.get(()) == 4.0)
    assert query(prometheus, 'forecast_runs{status="failed",ticker="MSFT"}') == {
        (("status", "failed"), ("ticker", "MSFT")): 2.0}
