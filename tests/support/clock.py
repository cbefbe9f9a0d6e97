"""The queue's executor on the embedded default: ``python -m jobs clock`` as a real process."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from tests.support.services import ROOT

SCHEDULE_ZONE = "America/New_York"  # the clock's default CLOCK_TIMEZONE


def clock_time_away_from(now: datetime) -> str:
    """A CLOCK_TIME (HH:MM in the schedule's zone) half a day from ``now`` (aware): tests/conftest.py gives
    it to every clock the suite starts, so none fires on its own during a run."""
    return (now.astimezone(ZoneInfo(SCHEDULE_ZONE)) + timedelta(hours=12)).strftime("%H:%M")


@contextmanager
def running_clock(env: dict[str, str], log_path: Path, bootstrap: bool = False) -> Iterator[subprocess.Popen]:
    """A clock on ``env``'s store (without REDIS_URL its child runs the queued requests), stopped
    with SIGTERM as Heroku stops it; by default it does not bootstrap a fresh store."""
    args = [sys.executable, "-m", "jobs", "clock", *([] if bootstrap else ["--no-bootstrap"])]
    with open(log_path, "wb") as out:  # the clock writes to its own copy of the descriptor
        proc = subprocess.Popen(args, cwd=ROOT, env={**os.environ, **env}, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
