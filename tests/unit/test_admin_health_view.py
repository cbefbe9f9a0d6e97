"""What the health panel's lines say, for each state of the clock and the workers (pure functions of the facts)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from config.settings import Settings
from dashboard.admin import health_view
from store.lease import LeaseInfo
from store.operations import ClockFacts

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=timezone.utc)
LEASE = LeaseInfo("clock", "web-1:4242:ab12cd34", None, NOW - timedelta(hours=2), NOW + timedelta(seconds=90), NOW)


@pytest.mark.parametrize("facts, says, tone", [
    (ClockFacts(None, None), "Clock: not running (last seen never). Start it with: python -m jobs clock", "text-danger"),
    (ClockFacts(NOW - timedelta(hours=3), None),
     "Clock: not running (last seen 2026-12-03 09:00 UTC, 3 hours ago). Start it with: python -m jobs clock", "text-danger"),
    (ClockFacts(NOW - timedelta(seconds=42), LEASE), "Clock: running on web-1 pid 4242 (heartbeat 42 s ago)", "text-success"),
    # the lease is renewed by its own thread: a scheduler that stopped writing heartbeats is not "running"
    (ClockFacts(NOW - timedelta(minutes=5), LEASE),
     "Clock: holds its lease on web-1 pid 4242 but its heartbeat is late (last seen 2026-12-03 11:55 UTC, 5 minutes ago)",
     "text-warning"),
])
def test_clock_line(facts, says, tone):
    line = health_view.clock_line(facts, NOW)
    assert line.children == says and tone in line.className and "fw-bold" in line.className


@pytest.mark.parametrize("redis, workers, says", [
    (None, None, "Workers: none used (no REDIS_URL): runs execute in a child process of the clock."),
    ("redis://h/0", health_view.Workers(None, "the queue did not answer (ConnectionError)"),
     "Workers: unknown, the queue did not answer (ConnectionError)."),
    ("redis://h/0", health_view.Workers(()),
     "Workers: none answered within 1 s; queued runs wait until one starts (Procfile worker:)."),
    ("redis://h/0", health_view.Workers(("celery@a", "celery@b")), "Workers: 2 answered (celery@a, celery@b)"),
])
def test_workers_line(redis, workers, says):
    assert health_view.workers_line(Settings("sqlite://", Path("."), redis_url=redis), workers).children == says
