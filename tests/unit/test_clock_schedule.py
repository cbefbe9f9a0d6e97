"""The clock's schedule: cron fire times across daylight-saving changes, job ids and defaults."""
from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

import pytest
from apscheduler.schedulers.background import BackgroundScheduler

from jobs.clock import (
    ALERTS_JOB_ID,
    FIRST_START_JOB_ID,
    HEARTBEAT_JOB_ID,
    NIGHTLY_JOB_ID,
    QUEUE_JOB_ID,
    SERVE_JOB_ID,
    SWEEP_JOB_ID,
    WEEKLY_RETRAIN_JOB_ID,
    Clock,
    expand_days,
    nightly_trigger,
    weekly_retrain_trigger,
)
from config.settings import ConfigError, load_schedule_settings
from tests.support.clock import clock_time_away_from

UTC = timezone.utc


def _fires(trigger, after: datetime, n: int) -> list[datetime]:
    """The next ``n`` fire times after an injected 'now', in UTC."""
    out, prev, now = [], None, after
    for _ in range(n):
        nxt = trigger.get_next_fire_time(prev, now)
        out.append(nxt.astimezone(UTC))
        prev, now = nxt, nxt
    return out


@pytest.mark.parametrize(
    "now, expected_utc",
    [
        # Spring forward (Sun 2026-03-08): Friday at 18:30 EST is 23:30 UTC, Monday at 18:30 EDT is 22:30 UTC.
        (datetime(2026, 3, 6, 12, 0, tzinfo=UTC),
         [datetime(2026, 3, 6, 23, 30, tzinfo=UTC), datetime(2026, 3, 9, 22, 30, tzinfo=UTC),
          datetime(2026, 3, 10, 22, 30, tzinfo=UTC)]),
        # Fall back (Sun 2026-11-01): Friday 22:30 UTC (EDT), then Monday 23:30 UTC (EST).
        (datetime(2026, 10, 30, 12, 0, tzinfo=UTC),
         [datetime(2026, 10, 30, 22, 30, tzinfo=UTC), datetime(2026, 11, 2, 23, 30, tzinfo=UTC),
          datetime(2026, 11, 3, 23, 30, tzinfo=UTC)]),
        # Just after Friday's run: the next is Monday, never Saturday or Sunday.
        (datetime(2026, 3, 6, 23, 31, tzinfo=UTC),
         [datetime(2026, 3, 9, 22, 30, tzinfo=UTC)]),
    ],
)
def test_nightly_fires_at_1830_new_york_across_dst(now, expected_utc):
    trigger = nightly_trigger(load_schedule_settings({}))
    assert _fires(trigger, now, len(expected_utc)) == expected_utc


def test_fire_times_are_always_1830_local_on_weekdays_for_a_year():
    trigger = nightly_trigger(load_schedule_settings({}))
    fires = _fires(trigger, datetime(2026, 1, 1, tzinfo=UTC), 261)
    from zoneinfo import ZoneInfo

    local = [f.astimezone(ZoneInfo("America/New_York")) for f in fires]
    assert all((t.hour, t.minute) == (18, 30) and t.weekday() < 5 for t in local)
    assert len({t.date() for t in local}) == 261  # one per weekday, none doubled by a DST change


def test_configured_time_zone_days_and_time():
    sched = load_schedule_settings({"CLOCK_TIMEZONE": "Europe/London", "CLOCK_TIME": "07:05", "CLOCK_DAYS": "mon,wed"})
    fires = _fires(nightly_trigger(sched), datetime(2026, 3, 27, tzinfo=UTC), 3)
    # London moves to BST on Sun 2026-03-29: 07:05 local is 07:05 UTC before, 06:05 UTC after.
    assert fires == [datetime(2026, 3, 30, 6, 5, tzinfo=UTC), datetime(2026, 4, 1, 6, 5, tzinfo=UTC),
                     datetime(2026, 4, 6, 6, 5, tzinfo=UTC)]


def test_weekly_retrain_job_only_when_its_weekday_has_no_nightly_run():
    assert weekly_retrain_trigger(load_schedule_settings({})) is not None  # Saturday, outside mon-fri
    assert weekly_retrain_trigger(load_schedule_settings({"RETRAIN_WEEKDAY": "fri"})) is None
    assert weekly_retrain_trigger(load_schedule_settings({"RETRAIN_WEEKDAY": ""})) is None
    fire = weekly_retrain_trigger(load_schedule_settings({})).get_next_fire_time(None, datetime(2026, 3, 2, tzinfo=UTC))
    assert fire.astimezone(UTC) == datetime(2026, 3, 7, 23, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    "env, fragment",
    [
        ({"CLOCK_TIME": "6pm"}, "CLOCK_TIME"),
        ({"CLOCK_TIME": "25:00"}, "CLOCK_TIME"),
        ({"CLOCK_TIMEZONE": "Mars/Olympus"}, "CLOCK_TIMEZONE"),
        ({"CLOCK_DAYS": "weekdays"}, "CLOCK_DAYS"),
        ({"RETRAIN_WEEKDAY": "saturday"}, "RETRAIN_WEEKDAY"),
        ({"LEASE_TTL_SECONDS": "1"}, "LEASE_TTL_SECONDS"),
        ({"LEASE_TTL_SECONDS": "ten"}, "LEASE_TTL_SECONDS"),
    ],
)
def test_bad_schedule_settings_name_the_variable(env, fragment):
    with pytest.raises(ConfigError, match=fragment):
        load_schedule_settings(env)


def test_expand_days():
    assert expand_days("mon-fri") == {"mon", "tue", "wed", "thu", "fri"}
    assert expand_days("sat,mon-tue") == {"sat", "mon", "tue"}


class _Ctx:
    """Just enough of a JobContext for scheduling without a store."""

    def __init__(self, settings, engine=None):
        from config.settings import load_settings

        self.settings = settings or load_settings({})
        self.engine = engine
        self.now = lambda: datetime(2026, 3, 6, 12, 0, tzinfo=UTC)


def test_jobs_have_stable_ids_and_safe_defaults():
    from config.settings import load_settings

    ctx = _Ctx(load_settings({}))
    clock = Clock(ctx, scheduler=BackgroundScheduler(
        timezone="America/New_York",
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 21600}))
    clock.add_jobs(first_start=False)
    clock.add_jobs(first_start=False)  # a restart re-adds: replaced, not doubled
    jobs = {j.id: j for j in clock.scheduler.get_jobs()}
    # without REDIS_URL the clock is the queue's executor (QUEUE_JOB_ID); it sweeps silent claims either way
    assert set(jobs) == {NIGHTLY_JOB_ID, WEEKLY_RETRAIN_JOB_ID, HEARTBEAT_JOB_ID, SERVE_JOB_ID, QUEUE_JOB_ID, SWEEP_JOB_ID,
                         ALERTS_JOB_ID}
    assert FIRST_START_JOB_ID not in jobs
    queued = Clock(_Ctx(load_settings({"REDIS_URL": "redis://127.0.0.1:6379/0"})), scheduler=BackgroundScheduler())
    queued.add_jobs(first_start=False)
    assert {j.id for j in queued.scheduler.get_jobs()} == set(jobs) - {QUEUE_JOB_ID}  # the workers execute
    default = Clock(ctx)
    assert default.scheduler._job_defaults == {"coalesce": True, "max_instances": 1, "misfire_grace_time": 21600}


def test_the_clock_trains_one_child_at_a_time():
    """The nightly (scheduler thread) and the queued requests (drain thread) each train in a child that
    loads TensorFlow: two at once would double the clock dyno's memory, so the second waits."""
    import threading
    import time as clock_time

    from config.settings import load_settings
    from contract.run import RunRequest, RunResult
    from contract.vocab import Action, RunStatus, Trigger

    active, most = [0], [0]
    guard = threading.Lock()

    def child(ctx, request, hooks):
        with guard:
            active[0] += 1
            most[0] = max(most[0], active[0])
        clock_time.sleep(0.2)
        with guard:
            active[0] -= 1
        return RunResult(run_id=1, ticker=request.ticker, status=RunStatus.SUCCEEDED, trigger=Trigger.NIGHTLY,
                         action=Action.AUTO, requested_by="test")

    clock = Clock(_Ctx(load_settings({})), scheduler=BackgroundScheduler(), pipeline=child)
    results = []
    threads = [threading.Thread(target=lambda t=t: results.append(clock.pipeline(None, RunRequest(ticker=t), None)))
               for t in ("AAPL", "MSFT")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert most[0] == 1
    assert sorted(r.ticker for r in results) == ["AAPL", "MSFT"]  # both ran, each to its end


@pytest.mark.parametrize("now", [datetime(2026, 12, 4, 23, 29, tzinfo=UTC), datetime(2026, 7, 3, 22, 0, tzinfo=UTC),
                                 datetime(2026, 3, 8, 6, 59, tzinfo=UTC), datetime(2026, 11, 1, 5, 30, tzinfo=UTC)])
def test_the_suites_clock_time_is_half_a_day_from_any_now(now):
    """tests/conftest.py gives every clock the suite starts this CLOCK_TIME: from any moment (a minute
    before the default 18:30 New York, in winter and summer, across both clock changes), the nightly
    run and the weekly retrain those clocks schedule are hours away."""
    sched = load_schedule_settings({"CLOCK_TIME": clock_time_away_from(now), "CLOCK_DAYS": "mon-sun"})
    for trigger in (nightly_trigger(sched), weekly_retrain_trigger(sched)):
        if trigger is not None:
            assert _fires(trigger, now, 1)[0] - now > timedelta(hours=10)


def test_this_runs_clocks_get_that_clock_time():
    """Unless the environment chose one: then the runner meant it, and this says the clocks may fire."""
    given = datetime.strptime(os.environ["CLOCK_TIME"], "%H:%M")  # set when this test process started
    now = datetime.strptime(clock_time_away_from(datetime.now(UTC)), "%H:%M")
    # Up to 3 h later (a long run), or up to an hour earlier: when New York falls back (01:00-02:00 comes
    # twice), a test run after the change gets a clock time an hour before the one set at the start.
    apart = (now - given).total_seconds() % 86400
    assert apart <= 3 * 3600 or 86400 - apart <= 3600, (os.environ["CLOCK_TIME"], now)
