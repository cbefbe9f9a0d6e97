"""Alerts on a real store (SQLite and Postgres) with a real local HTTP receiver: one incident per
(kind, subject) however many processes see it, one alert and one all-clear, retries with backoff,
and each condition read from the store."""
from __future__ import annotations

import threading
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import insert

from alerts import conditions
from alerts.check import check
from alerts.notify import deliver_pending, raise_alert
from config.settings import ConfigError, load_settings
from contract.run import RunRequest
from contract.vocab import RunStatus
from store import incidents, run_requests
from store.db import session_factory
from store.incidents import Finding, IncidentKind
from store.tables import ClockStatus, LedgerEntry
from tests.support.webhook_receiver import Receiver

NOW = datetime(2026, 12, 3, 23, 0, tzinfo=timezone.utc)  # a Thursday, 18:00 New York
NO_WAIT = lambda s: None  # noqa: E731 (the retry backoff, skipped)


@pytest.fixture
def receiver():
    """A local webhook receiver, answering 200 until told otherwise."""
    r = Receiver()
    yield r
    r.close()


def settings_for(tmp_path, **env):
    return load_settings({"DATA_DIR": str(tmp_path), "PRICE_SOURCE": "offline", **env})


def failed_run(subject="AAPL", run_id=7) -> Finding:
    return Finding(IncidentKind.RUN_FAILED, subject, f"{subject}: run {run_id} failed: price source down", NOW,
                   ticker=subject, run_id=run_id)


def test_one_open_incident_per_kind_and_subject(engine):
    first = incidents.open_incident(engine, failed_run(), NOW)
    assert first is not None
    assert incidents.open_incident(engine, failed_run(run_id=8), NOW) is None  # already open: nothing sent
    assert incidents.open_incident(engine, failed_run("GOOG"), NOW) is not None  # another subject: its own
    assert incidents.clear_incident(engine, IncidentKind.RUN_FAILED, "AAPL", "run 9 succeeded", NOW) == first
    assert incidents.clear_incident(engine, IncidentKind.RUN_FAILED, "AAPL", "again", NOW) is None  # cleared once
    again = incidents.open_incident(engine, failed_run(), NOW + timedelta(days=1))
    assert again not in (None, first)  # a new failure after the all-clear is a new incident


def test_racing_processes_open_one_incident(engine):
    # Eight threads (standing in for web workers, the clock and a worker) see the same condition at once.
    opened, barrier = [], threading.Barrier(8)

    def race():
        barrier.wait()
        opened.append(incidents.open_incident(engine, failed_run(), NOW))

    threads = [threading.Thread(target=race) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len([i for i in opened if i is not None]) == 1
    assert len(incidents.open_incidents(engine)) == 1


def test_alert_and_all_clear_are_each_sent_once(engine, tmp_path, receiver):
    settings = settings_for(tmp_path, ALERT_WEBHOOK_URL=receiver.url, ALERT_APP_URL="https://forecast.example.com/")
    outcome = conditions.run_outcome("AAPL", 7, RunStatus.FAILED, "price update failed, nothing trained", NOW)
    assert outcome is not None and outcome.finding is not None
    from alerts.check import apply

    assert len(apply(engine, settings, [outcome], NOW, NO_WAIT)) == 1
    assert apply(engine, settings, [outcome], NOW, NO_WAIT) == []  # still failing: no second alert
    body = receiver.bodies[0]
    assert len(receiver.posts) == 1
    assert body["text"].startswith("ALERT (run_failed) AAPL: run 7 failed: price update failed")
    assert body["text"].endswith("https://forecast.example.com/admin")  # a plain URL every chat service links
    assert (body["kind"], body["ticker"], body["run_id"], body["state"]) == ("run_failed", "AAPL", 7, "open")
    assert body["since"] == "2026-12-03T23:00:00Z" and body["link"] == "https://forecast.example.com/admin"
    ok = conditions.run_outcome("AAPL", 8, RunStatus.SUCCEEDED, None, NOW)
    apply(engine, settings, [ok, ok], NOW + timedelta(hours=1), NO_WAIT)
    assert len(receiver.posts) == 2
    assert receiver.bodies[1]["state"] == "cleared" and receiver.bodies[1]["text"].startswith("RESOLVED (run_failed)")
    stored = incidents.recent(engine)[0]
    assert stored.sent_open_at is not None and stored.sent_clear_at is not None and stored.pending is None


def test_a_failing_webhook_is_retried_then_delivered_later(engine, tmp_path, receiver, caplog):
    settings = settings_for(tmp_path, ALERT_WEBHOOK_URL=receiver.url)
    receiver.status = 500
    waits = []
    opened = raise_alert(engine, settings.alerts, failed_run(), NOW, sleep=waits.append)
    assert opened is not None  # the incident is recorded though its webhook failed
    assert len(receiver.posts) == 3 and waits == [1.0, 3.0]  # three tries, backing off
    stored = incidents.get(engine, opened)
    assert stored.pending is not None and stored.attempts == 1 and stored.delivery_error == "HTTP 500 Internal Server Error"
    failures = [r for r in caplog.records if "webhook failed" in r.getMessage()]
    assert len(failures) == 1 and receiver.url not in failures[0].getMessage()  # one line; the URL is a secret
    receiver.status = 200
    assert deliver_pending(engine, settings.alerts, NOW + timedelta(minutes=1), NO_WAIT) == 1
    assert len(receiver.posts) == 4 and incidents.get(engine, opened).pending is None
    assert deliver_pending(engine, settings.alerts, NOW + timedelta(minutes=2), NO_WAIT) == 0  # nothing left to send


def test_a_sent_alert_is_recorded_through_a_store_outage_and_not_sent_again(engine, tmp_path, receiver, monkeypatch):
    """The POST went out, then the store blinked while recording it: the record is retried (within the
    claim's hold), so the next check finds nothing pending instead of sending the alert a second time."""
    from sqlalchemy.exc import OperationalError

    record, failures = incidents.record_delivery, []

    def blinking(*args, **kwargs):
        if not failures:  # the store drops the first write, as a Postgres restart does
            failures.append(1)
            raise OperationalError("UPDATE incidents", {}, Exception("server closed the connection unexpectedly"))
        return record(*args, **kwargs)

    monkeypatch.setattr(incidents, "record_delivery", blinking)
    settings = settings_for(tmp_path, ALERT_WEBHOOK_URL=receiver.url)
    opened = raise_alert(engine, settings.alerts, failed_run(), NOW, NO_WAIT)
    assert failures == [1] and len(receiver.posts) == 1
    assert incidents.get(engine, opened).pending is None
    assert deliver_pending(engine, settings.alerts, NOW + timedelta(minutes=5), NO_WAIT) == 0
    assert len(receiver.posts) == 1


def test_an_unreachable_webhook_never_raises(engine, tmp_path):
    settings = settings_for(tmp_path, ALERT_WEBHOOK_URL="http://127.0.0.1:9/hook", ALERT_WEBHOOK_TIMEOUT="1")
    assert raise_alert(engine, settings.alerts, failed_run(), NOW, sleep=NO_WAIT) is not None
    assert "unreachable" in incidents.recent(engine)[0].delivery_error


def test_without_a_url_incidents_are_recorded_only(engine, tmp_path, receiver):
    settings = settings_for(tmp_path)
    assert raise_alert(engine, settings.alerts, failed_run(), NOW, sleep=NO_WAIT) is not None
    assert receiver.posts == [] and incidents.recent(engine)[0].pending is not None


def beat(engine, at: datetime) -> None:
    with session_factory(engine).begin() as s:
        s.merge(ClockStatus(job_id="clock-heartbeat", heartbeat_at=at, detail={}))


def test_clock_silence(engine, tmp_path, receiver):
    settings = settings_for(tmp_path, ALERT_WEBHOOK_URL=receiver.url, ALERT_CLOCK_SILENT_MINUTES="10")
    kinds = (IncidentKind.CLOCK_SILENT,)
    assert check(engine, settings, NOW, kinds, NO_WAIT) == []  # a clock that never ran: nothing judged
    beat(engine, NOW - timedelta(minutes=9))
    assert check(engine, settings, NOW, kinds, NO_WAIT) == []  # beating within the window
    assert len(check(engine, settings, NOW + timedelta(minutes=2), kinds, NO_WAIT)) == 1  # 11 min silent
    assert check(engine, settings, NOW + timedelta(minutes=3), kinds, NO_WAIT) == []  # still silent: no repeat
    beat(engine, NOW + timedelta(minutes=4))
    assert len(check(engine, settings, NOW + timedelta(minutes=4), kinds, NO_WAIT)) == 1  # the all-clear
    assert [b["state"] for b in receiver.bodies] == ["open", "cleared"]
    assert "no clock heartbeat for 11 min" in receiver.bodies[0]["text"]


def test_an_admin_pausing_the_schedule_is_not_a_clock_heartbeat(engine, tmp_path, receiver):
    """Pause/Resume writes the schedule-paused row of clock_status with the click's time: with the clock dead
    that click must neither hide the silence nor send a false all-clear (the health panel reads it alike)."""
    from store.pause import set_paused

    settings = settings_for(tmp_path, ALERT_WEBHOOK_URL=receiver.url, ALERT_CLOCK_SILENT_MINUTES="10")
    kinds = (IncidentKind.CLOCK_SILENT,)
    set_paused(engine, True, "ui:boss", NOW - timedelta(minutes=30))
    assert check(engine, settings, NOW, kinds, NO_WAIT) == []  # only a pause row: no clock ever ran
    beat(engine, NOW - timedelta(minutes=20))
    assert len(check(engine, settings, NOW, kinds, NO_WAIT)) == 1  # 20 min silent
    set_paused(engine, False, "ui:boss", NOW + timedelta(minutes=1))  # the admin resumes; the clock is still dead
    assert check(engine, settings, NOW + timedelta(minutes=1), kinds, NO_WAIT) == []  # no false all-clear
    assert [b["state"] for b in receiver.bodies] == ["open"]


def test_expected_close_follows_the_nyse_calendar():
    ny_7pm_thu = datetime(2026, 12, 4, 0, 0, tzinfo=timezone.utc)
    assert conditions.expected_close(ny_7pm_thu, (20, 0))[0] == date(2026, 12, 2)  # Thursday's deadline not yet passed
    assert conditions.expected_close(ny_7pm_thu, (18, 30))[0] == date(2026, 12, 3)
    thanksgiving_night = datetime(2026, 11, 27, 3, 0, tzinfo=timezone.utc)
    assert conditions.expected_close(thanksgiving_night, (20, 0))[0] == date(2026, 11, 25)  # a holiday expects nothing new
    sunday = datetime(2026, 12, 6, 18, 0, tzinfo=timezone.utc)
    assert conditions.expected_close(sunday, (20, 0))[0] == date(2026, 12, 4)


def test_close_missing(engine, tmp_path):
    from tests.support.ledger import store_prices
    from tests.support.pipeline import history

    frame = history()
    store_prices(engine, frame)
    last = frame.index[-1].date()
    settings = settings_for(tmp_path)
    from marketdata.calendar import next_trading_days

    day_after = datetime.combine(next_trading_days(last, 1)[0], datetime.min.time(), timezone.utc) + timedelta(hours=23)
    # The evening of the trading day after the newest stored close, past 18:00 New York: that close is missing.
    out = conditions.close_missing(engine, replace(settings.alerts, close_by=(17, 0)), ("AAPL",), day_after)
    assert out[0].finding is not None and "no close for" in out[0].finding.message
    on_time = conditions.close_missing(engine, settings.alerts, ("AAPL",),
                                       datetime.combine(last, datetime.min.time(), timezone.utc) + timedelta(hours=23))
    assert on_time[0].finding is None  # the newest day's own close is stored


def test_request_waiting(engine, tmp_path):
    settings = settings_for(tmp_path, ALERT_QUEUE_WAIT_MINUTES="30")
    rid = run_requests.add(engine, RunRequest.build("AAPL", trigger="manual", requested_by="admin"), NOW)
    assert [o.finding for o in conditions.request_waiting(engine, settings.alerts, NOW + timedelta(minutes=29))] == []
    late = conditions.request_waiting(engine, settings.alerts, NOW + timedelta(minutes=31))
    assert late[0].subject == f"request {rid}" and "waited 31 min" in late[0].finding.message
    check(engine, settings, NOW + timedelta(minutes=31), (IncidentKind.REQUEST_WAITING,), NO_WAIT)
    run_requests.cancel(engine, rid, "admin", NOW + timedelta(minutes=32))
    cleared = check(engine, settings, NOW + timedelta(minutes=33), (IncidentKind.REQUEST_WAITING,), NO_WAIT)
    assert len(cleared) == 1 and cleared[0].startswith("cleared")


def ledger_rows(engine, days: int, error: float, band: float) -> None:
    """``days`` scored live one-day GRU forecasts: persistence off by 1.0 each day, the model by ``error``."""
    start = date(2026, 1, 5)
    rows = []
    for i in range(days):
        origin, target = start + timedelta(days=i), start + timedelta(days=i + 1)
        actual = 100.0 + (1.0 if i % 2 else -1.0)
        predicted = actual + error
        rows.append(dict(ticker="AAPL", cell="gru", model_id=1, model_version=1, origin=origin, origin_close=100.0,
                         target_date=target, horizon=1, predicted=predicted, lower80=predicted - band,
                         upper80=predicted + band, lower95=predicted - 2 * band, upper95=predicted + 2 * band,
                         published_at=NOW, kind="live", actual=actual, persistence=100.0, scored_at=NOW))
    with engine.begin() as conn:
        conn.execute(insert(LedgerEntry), rows)


def test_skill_past_its_threshold(engine, tmp_path):
    settings = settings_for(tmp_path, ALERT_RATIO_ABOVE="1.2", ALERT_COVERAGE_RANGE="0.6-0.95")
    ledger_rows(engine, 19, error=2.0, band=0.5)
    assert conditions.skill(engine, settings.alerts, ("AAPL",), NOW) == []  # 19 scored days: too few to judge
    with engine.begin() as conn:
        conn.execute(LedgerEntry.__table__.delete())
    ledger_rows(engine, 70, error=2.0, band=0.5)
    (out,) = conditions.skill(engine, settings.alerts, ("AAPL",), NOW)
    assert out.subject == "AAPL/gru"
    assert "last 60 scored" in out.finding.message and "RMSE 2.00x" in out.finding.message
    assert "80% band covered 0%" in out.finding.message


def test_skill_within_thresholds_clears(engine, tmp_path):
    settings = settings_for(tmp_path)
    ledger_rows(engine, 60, error=0.5, band=1.0)  # RMSE half persistence's, every close inside the band... 100%
    (out,) = conditions.skill(engine, replace(settings.alerts, coverage_range=(0.6, 1.0)), ("AAPL",), NOW)
    assert out.finding is None and out.clear


@pytest.mark.parametrize("status, error, by_admin, alerts", [
    (RunStatus.FAILED, "price update failed", False, True),
    (RunStatus.CANCELLED, "SIGTERM received", False, True),  # the process was stopped under the run: a fault
    (RunStatus.CANCELLED, "the training lease expired and was taken over by another process", False, True),
    (RunStatus.CANCELLED, "cancel requested", False, False),  # an admin asked
    (RunStatus.CANCELLED, "whatever", True, False),
])
def test_which_run_ends_alert(status, error, by_admin, alerts):
    outcome = conditions.run_outcome("AAPL", 3, status, error, NOW, by_admin=by_admin)
    assert (outcome is not None and outcome.finding is not None) is alerts


@pytest.mark.parametrize("name, value", [
    ("ALERT_WEBHOOK_URL", "ftp://hooks.example.com/x"),
    ("ALERT_WEBHOOK_URL", "hooks.slack.com/services/x"),
    ("ALERT_WEBHOOK_URL", "https://"),
    ("ALERT_WEBHOOK_URL", "https://host:port/x"),
    ("ALERT_APP_URL", "javascript:alert(1)"),
    ("ALERT_CLOCK_SILENT_MINUTES", "0"),
    ("ALERT_CLOCK_SILENT_MINUTES", "ten"),
    ("ALERT_RATIO_ABOVE", "-1"),
    ("ALERT_COVERAGE_RANGE", "0.9-0.6"),
    ("ALERT_COVERAGE_RANGE", "60-95"),
    ("ALERT_CLOSE_BY", "25:00"),
    ("ALERT_CLOSE_BY", "09:00"),  # before the close: every morning would alert
])
def test_bad_alert_settings_are_refused_naming_the_setting(tmp_path, name, value):
    with pytest.raises(ConfigError, match=name):
        settings_for(tmp_path, **{name: value})


def test_a_failed_run_alerts_at_its_end_and_a_later_success_clears(engine, tmp_path, receiver):
    from jobs.context import JobContext
    from jobs.run import run_pipeline
    from marketdata.sources.yahoo import YahooSource

    def download(*args, **kwargs):
        raise ConnectionError("network down")

    settings = settings_for(tmp_path, ALERT_WEBHOOK_URL=receiver.url)
    ctx = JobContext(settings=settings, engine=engine, now=lambda: NOW,
                     sources=[YahooSource(download=download, sleep=NO_WAIT)])
    result = run_pipeline(ctx, RunRequest.build("AAPL", trigger="nightly", requested_by="clock"))
    assert result.status is RunStatus.FAILED
    # sent by the run's own end, before run_pipeline returned: no check had to run
    assert [(b["kind"], b["run_id"], b["state"]) for b in receiver.bodies] == [("run_failed", result.run_id, "open")]
    assert "network down" in receiver.bodies[0]["text"]
