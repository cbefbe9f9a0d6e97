"""Evaluate the alert conditions once and open or clear their incidents (``python -m jobs alerts check``,
the clock's every-minute job, the web's clock watch, a run's end).

Who checks what, and why:
- a run's end (``jobs.run``): its own failure, at once;
- the clock, every ALERT_CHECK_SECONDS: every condition (failed runs again, so a run whose process
  died before its end could alert is caught; a missing close; a request waiting; live skill);
- the web, every ALERT_CHECK_SECONDS in each worker: the clock's silence alone. The clock cannot
  report its own death, and the web is the one process every deployment runs (the worker exists
  only with REDIS_URL); several web workers or dynos checking at once still send one alert, since
  opening an incident is insert-or-nothing in the store.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from datetime import datetime

from sqlalchemy import Engine

from config.settings import Settings
from store.incidents import IncidentKind

from . import conditions
from .conditions import Outcome
from .notify import Sleep, _one_line, clear_alert, deliver_pending, raise_alert

log = logging.getLogger("alerts")

ALL_KINDS = tuple(IncidentKind)


def apply(engine: Engine, settings: Settings, outcomes: Iterable[Outcome], now: datetime,
          sleep: Sleep = time.sleep) -> list[str]:
    """Open the incidents whose condition holds, clear those whose condition passed; one line per change."""
    changes = []
    for o in outcomes:
        if o.finding is not None:
            opened = raise_alert(engine, settings.alerts, o.finding, now, sleep)
            if opened is not None:
                changes.append(f"opened #{opened} {o.kind} {o.subject}: {o.finding.message}")
        else:
            cleared = clear_alert(engine, settings.alerts, (o.kind, o.subject), o.clear, now, sleep)
            if cleared is not None:
                changes.append(f"cleared #{cleared} {o.kind} {o.subject}: {o.clear}")
    return changes


def _checks(engine: Engine, settings: Settings, now: datetime) -> dict[IncidentKind, Callable[[], list[Outcome]]]:
    a, tickers = settings.alerts, settings.tickers
    return {
        IncidentKind.RUN_FAILED: lambda: conditions.last_runs(engine, tickers),
        IncidentKind.CLOCK_SILENT: lambda: conditions.clock_silent(engine, a, now),
        IncidentKind.CLOSE_MISSING: lambda: conditions.close_missing(engine, a, tickers, now),
        IncidentKind.REQUEST_WAITING: lambda: conditions.request_waiting(engine, a, now),
        IncidentKind.SKILL: lambda: conditions.skill(engine, a, tickers, now),
    }


def check(engine: Engine, settings: Settings, now: datetime, kinds: Iterable[IncidentKind] = ALL_KINDS,
          sleep: Sleep = time.sleep) -> list[str]:
    """Evaluate ``kinds``, open and clear incidents, retry undelivered webhooks; one line per change.
    A condition that cannot be read (the store is down) is logged in one line and skipped."""
    changes: list[str] = []
    checks = _checks(engine, settings, now)
    for kind in kinds:
        try:
            outcomes = checks[kind]()
        except Exception as exc:
            log.error("alert check %s could not read the store: %s", kind, _one_line(exc))
            continue
        changes += apply(engine, settings, outcomes, now, sleep)
    deliver_pending(engine, settings.alerts, now, sleep)
    return changes
