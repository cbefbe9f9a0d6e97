"""The operator's facts (store.operations) on SQLite and Postgres, and /metrics answering them."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pandas as pd
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update as sa_update

from contract.run import RunRequest
from contract.vocab import QueueState
from store import lease as leases, operations as ops, run_requests, runs
from store.db import session_factory
from store.times import db_now
from store.pause import set_paused
from store.tables import ClockStatus, Price, RunRequestRecord
from tests.support.dashboard_env import ADMIN, ANALYST

NOW = datetime(2026, 12, 3, 15, 0, tzinfo=timezone.utc)  # a Thursday, before the close


def _request(engine, ticker: str, at: datetime) -> int:
    return run_requests.add(engine, RunRequest.build(ticker, action="retrain", requested_by="ui:boss"), at)


def _prices(engine, ticker: str, last: date) -> None:
    with session_factory(engine).begin() as s:
        s.add(Price(ticker=ticker, date=last, open=1, high=1, low=1, close=1, volume=1, source="test", fetched_at=NOW))


def test_a_pause_flag_is_no_heartbeat(engine):
    """Pausing the schedule writes a clock_status row; it must not read as a clock that reported."""
    assert ops.clock_facts(engine) == ops.ClockFacts(None, None)
    set_paused(engine, True, "boss", NOW)
    facts = ops.clock_facts(engine)
    assert facts.last_seen is None and not facts.alive and facts.age_s(NOW) is None


def test_the_clock_heartbeat_and_lease(engine):
    """The newest job row's heartbeat is the last sign of life; the live lease says a clock runs now."""
    with session_factory(engine).begin() as s:
        s.add(ClockStatus(job_id="nightly-pipeline", next_run_at=None, heartbeat_at=NOW - timedelta(minutes=5)))
        s.add(ClockStatus(job_id="weekly-retrain", next_run_at=None, heartbeat_at=NOW - timedelta(minutes=1)))
    facts = ops.clock_facts(engine)
    assert facts.last_seen == NOW - timedelta(minutes=1) and facts.age_s(NOW) == 60.0
    assert not facts.alive  # reported once, holds no lease: not running
    leases.acquire(engine, holder="host:1:ab", ttl_s=60, name=leases.CLOCK_LEASE)
    assert ops.clock_facts(engine).alive and ops.clock_facts(engine).holder.holder == "host:1:ab"


def _beat(engine, request_id: int, at: datetime) -> None:
    """The claim's heartbeat as its executor last wrote it (the store writes the database's clock)."""
    with engine.begin() as conn:
        conn.execute(sa_update(RunRequestRecord).where(RunRequestRecord.id == request_id).values(heartbeat_at=at))


def test_queue_states(engine):
    """One definition with `jobs queue` (run_requests.queue_state): waiting (queued), running (claimed, its
    executor heartbeats), executor silent (claimed, no heartbeat for a lease TTL) and waiting for
    redelivery (the sweep re-queued it after its executor fell silent). Times are the database's: the
    sweep judges silence by its clock (a fixed date here went stale once the real clock passed it)."""
    now = db_now(engine)
    waiting = _request(engine, "AAPL", now - timedelta(minutes=7))
    running = _request(engine, "MSFT", now - timedelta(minutes=9))
    run_requests.claim(engine, running, "worker-1", now - timedelta(minutes=8))
    _beat(engine, running, now - timedelta(seconds=30))
    again = _request(engine, "AMZN", now - timedelta(minutes=40))
    run_requests.claim(engine, again, "worker-3", now - timedelta(minutes=39))
    _beat(engine, again, now - timedelta(minutes=38))
    assert [r.id for r, how in run_requests.sweep(engine, 120, now)] == [again]  # what the clock does each minute
    # fell silent after the last sweep: shown silent until the next one re-queues it
    lost = _request(engine, "GOOG", now - timedelta(minutes=30))
    run_requests.claim(engine, lost, "worker-2", now - timedelta(minutes=20))
    _beat(engine, lost, now - timedelta(minutes=19))
    got = {e.id: e for e in ops.queue_facts(engine, now, lease_ttl_s=120)}
    assert [got[i].state for i in (waiting, running, lost, again)] == [
        QueueState.WAITING, QueueState.RUNNING, QueueState.SILENT, QueueState.REDELIVERY]
    assert got[waiting].age_s(now) == 7 * 60 and got[lost].age_s(now) == 20 * 60  # since requested / claimed
    assert got[again].age_s(now) == 40 * 60  # waiting again: since it was requested
    assert got[lost].claimed_by == "worker-2" and got[waiting].ticker == "AAPL"
    run_requests.finish(engine, running, "worker-1", now, "done")
    assert running not in {e.id for e in ops.queue_facts(engine, now, lease_ttl_s=120)}  # ended: not in the queue


def test_ticker_facts(engine):
    """The newest close and the closes missed since; runs by status; the newest success."""
    _prices(engine, "AAPL", date(2026, 11, 27))  # a half day; Mon 30, Tue 1 and Wed 2 have closed at NOW
    done = runs.start_run(engine, ticker="AAPL", trigger="nightly", requested_by="clock", action="auto",
                          now=NOW - timedelta(days=2))
    runs.finish_run(engine, done, "succeeded", now=NOW - timedelta(days=2, minutes=-5))
    failed = runs.start_run(engine, ticker="AAPL", trigger="nightly", requested_by="clock", action="auto", now=NOW)
    runs.finish_run(engine, failed, "failed", now=NOW, error="source down")
    aapl, msft = ops.ticker_facts(engine, ("AAPL", "MSFT"), NOW)
    assert (aapl.last_close, aapl.closes_missed) == (date(2026, 11, 27), 3)
    assert aapl.runs == {"succeeded": 1, "failed": 1}
    assert aapl.last_success == NOW - timedelta(days=2, minutes=-5)
    assert msft == ops.TickerFacts("MSFT", None, None, None, {})


def _ledger(days: int, miss_every: int) -> pd.DataFrame:
    """Live one-day rows of the GRU: predicted 101 against an actual 100 and an origin close 98 (ratio 0.5);
    the 80% band holds the close except on every ``miss_every``-th day; plus rows that must not count."""
    targets = pd.bdate_range("2026-01-05", periods=days).date
    rows = [dict(kind="live", cell="gru", horizon=1, of_record=True, target_date=t, actual=100.0, predicted=101.0,
                 persistence=98.0, lower80=99.0 if i % miss_every else 100.5, upper80=102.0, lower95=90.0,
                 upper95=110.0) for i, t in enumerate(targets)]
    noise = dict(rows[0], predicted=0.0)
    rows += [noise | {"kind": "replayed"}, noise | {"horizon": 2}, noise | {"of_record": False},
             noise | {"actual": None}]
    return pd.DataFrame(rows)


def test_live_skill_counts_the_newest_60_live_one_day_forecasts_of_record():
    skill = ops.live_skill(_ledger(80, miss_every=4))
    s = skill["gru"]
    assert s.n == 60 and s.rmse_ratio == pytest.approx(0.5) and s.coverage80 == pytest.approx(0.75)
    assert ops.live_skill(pd.DataFrame()) == {}


def _scrape(client, **headers) -> dict[tuple[str, tuple], float]:
    resp = client.get("/metrics", **headers)
    assert resp.status_code == 200, resp.data
    assert resp.content_type.startswith("text/plain; version=")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for fam in text_string_to_metric_families(resp.data.decode()) for s in fam.samples}


def test_metrics_answers_the_store(dash_client, fixture_store_url):
    """Every figure equals the store's: champions, runs, queue, clock; a store that cannot be read says store_up 0."""
    from dashboard import data

    # The app's clock pinned for the test: the scrape and the check below count closes missed at one instant
    # (a real clock could pass the 16:00 New York close between the two, and they would differ by one).
    now = datetime.now(timezone.utc)
    client = dash_client(fixture_store_url, now=lambda: now, TICKERS="AAPL,MSFT")
    engine = data.engine()
    _request(engine, "MSFT", now - timedelta(minutes=3))
    rid = runs.start_run(engine, ticker="AAPL", trigger="manual", requested_by="boss", action="auto")
    runs.finish_run(engine, rid, "failed", error="boom")
    got = _scrape(client)
    champions = ops.champions(engine, ("AAPL", "MSFT"))
    assert {k[1]: v for k, v in got.items() if k[0] == "forecast_champion_model_id"} == {
        (("cell", cell), ("ticker", t)): float(m) for (t, cell), m in champions.items()}
    assert got[("forecast_runs", (("status", "failed"), ("ticker", "AAPL")))] == 1.0
    assert got[("forecast_runs", (("status", "succeeded"), ("ticker", "MSFT")))] == 0.0
    assert got[("forecast_queue_requests", (("state", "waiting"), ("ticker", "MSFT")))] == 1.0
    assert 170 <= got[("forecast_queue_oldest_waiting_age_seconds", ())] <= 600
    last = ops.ticker_facts(engine, ("AAPL",), now)[0]
    assert got[("forecast_last_close_age_trading_days", (("ticker", "AAPL"),))] == last.closes_missed > 0
    assert got[("forecast_clock_up", ())] == 0.0 and ("forecast_clock_heartbeat_age_seconds", ()) not in got
    assert got[("forecast_store_up", ())] == 1.0
    engine.dispose()
    with engine.begin() as conn:  # the tables gone: every read fails
        conn.exec_driver_sql("DROP TABLE runs")
    assert _scrape(client) == {("forecast_store_up", ()): 0.0}


@pytest.mark.parametrize("who, status", [(None, 401), (("ana", "wrong"), 401), (ANALYST, 200), (ADMIN, 200)])
def test_metrics_is_behind_the_analyst_login(dash_client, sqlite_url, who, status):
    """With an analyst login set, a scrape needs it (or the admin's); Prometheus sends it as basic_auth."""
    from tests.support.dash_client import basic

    client = dash_client(sqlite_url, ANALYST_USER=ANALYST[0], ANALYST_PASSWORD=ANALYST[1],
                         ADMIN_USER=ADMIN[0], ADMIN_PASSWORD=ADMIN[1])
    resp = client.get("/metrics", headers=basic(*who) if who else {})
    assert resp.status_code == status
    assert (b"forecast_store_up 1.0" in resp.data) is (status == 200)
