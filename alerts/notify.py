"""Open and clear incidents and send their webhooks; never raises (an alert must not break a run)."""
from __future__ import annotations

import logging
import time
from functools import partial
from datetime import datetime
from typing import Callable

from sqlalchemy import Engine

from config.alerts import AlertSettings
from store import incidents
from store.db import retry_on_outage
from store.incidents import Finding, IncidentKind

from .webhook import BACKOFF_S, payload, post

log = logging.getLogger("alerts")

MAX_ROUNDS = 5  # delivery rounds (three tries each) before an incident's webhook is given up
Sleep = Callable[[float], None]


def _one_line(exc: BaseException) -> str:
    return " ".join(f"{type(exc).__name__}: {exc}".split())[:200]


def raise_alert(engine: Engine, settings: AlertSettings, finding: Finding, now: datetime,
                sleep: Sleep = time.sleep) -> int | None:
    """Open an incident for ``finding`` and send it; its id when this call opened it (None: already open)."""
    try:
        opened = incidents.open_incident(engine, finding, now)
    except Exception as exc:
        log.error("could not record alert %s %s (%s): %s", finding.kind, finding.subject, _one_line(exc),
                  finding.message)
        return None
    if opened is not None:
        log.warning("alert %s: %s %s: %s", opened, finding.kind, finding.subject, finding.message)
        deliver(engine, settings, opened, now, sleep)
    return opened


def clear_alert(engine: Engine, settings: AlertSettings, key: tuple[IncidentKind, str], message: str,
                now: datetime, sleep: Sleep = time.sleep) -> int | None:
    """Clear the open incident of ``key`` (kind, subject) and send the all-clear; its id when this call cleared it."""
    kind, subject = key
    try:
        cleared = incidents.clear_incident(engine, kind, subject, message, now)
    except Exception as exc:
        log.error("could not clear alert %s %s: %s", kind, subject, _one_line(exc))
        return None
    if cleared is not None:
        log.info("alert %s cleared: %s %s: %s", cleared, kind, subject, message)
        deliver(engine, settings, cleared, now, sleep)
    return cleared


def deliver(engine: Engine, settings: AlertSettings, incident_id: int, now: datetime,
            sleep: Sleep = time.sleep) -> None:
    """Send what is pending of one incident (the alert, then the all-clear) if this process wins the claim."""
    url = settings.webhook_url
    if url is None:
        return  # recorded only: the admin page shows it
    try:
        incident = incidents.claim_delivery(engine, incident_id, now)
        while incident is not None and incident.pending is not None:
            what = incident.pending
            sent = post(url, payload(incident, what, settings), settings.webhook_timeout_s, BACKOFF_S, sleep)
            # Retried through an outage shorter than the claim's hold: a POST that went out but was not
            # recorded would be sent again by the next process to claim it (at-least-once, not twice by design).
            retry_on_outage(partial(incidents.record_delivery, engine, incident_id, what, now, sent.error),
                            what=f"recording alert {incident_id}'s delivery")
            if not sent.ok:
                log.error("alert %s (%s %s): webhook failed after %d tries: %s; retried at the next check",
                          incident_id, incident.kind, incident.subject, sent.tries, sent.error)
                return
            incident = incidents.get(engine, incident_id)
            if incident is not None and incident.pending is not None:  # cleared meanwhile: claim again
                incident = incidents.claim_delivery(engine, incident_id, now)
    except Exception as exc:
        log.error("alert %s: could not deliver: %s", incident_id, _one_line(exc))


def deliver_pending(engine: Engine, settings: AlertSettings, now: datetime, sleep: Sleep = time.sleep) -> int:
    """Send every incident whose webhook is still due (an earlier round failed); how many were tried."""
    if settings.webhook_url is None:
        return 0
    try:
        due = incidents.undelivered(engine, now, MAX_ROUNDS)
    except Exception as exc:
        log.error("could not read the undelivered alerts: %s", _one_line(exc))
        return 0
    for incident_id in due:
        deliver(engine, settings, incident_id, now, sleep)
    return len(due)

