"""The alert's JSON body and its POST, retried with backoff; a failure is a value, never an exception."""
from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any, Callable

from config.alerts import AlertSettings
from store.incidents import Delivery, StoredIncident

BACKOFF_S = (1.0, 3.0)  # waits between the three tries of one round
MAX_BODY = 10_000


@dataclass(frozen=True)
class Sent:
    ok: bool
    tries: int
    error: str | None = None


def _iso(value: Any) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value is not None else None


def payload(incident: StoredIncident, what: Delivery, settings: AlertSettings) -> dict[str, Any]:
    """The webhook's body: ``text`` for people (one line, a plain URL every chat service links), the
    rest for machines."""
    link = f"{settings.app_url}/admin" if settings.app_url else None
    state = "open" if what is Delivery.OPEN else "cleared"
    if what is Delivery.OPEN:
        text = f"ALERT ({incident.kind}) {incident.message} - since {_iso(incident.since)}"
    else:
        text = (f"RESOLVED ({incident.kind}) {incident.cleared_message or incident.message} - "
                f"open from {_iso(incident.since)} to {_iso(incident.cleared_at)}")
    if link:
        text += f" - {link}"
    return {"text": text, "kind": str(incident.kind), "state": state, "subject": incident.subject,
            "ticker": incident.ticker, "run_id": incident.run_id, "since": _iso(incident.since),
            "cleared_at": _iso(incident.cleared_at), "link": link, "incident_id": incident.id}


def _post_once(url: str, body: bytes, timeout_s: float) -> str | None:
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json", "User-Agent": "forecast-alerts"})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310 (http(s) only: config.alerts)
            response.read(MAX_BODY)
            return None
    except urllib.error.HTTPError as exc:
        return f"HTTP {exc.code} {exc.reason}"
    except urllib.error.URLError as exc:
        return f"unreachable ({type(exc.reason).__name__ if not isinstance(exc.reason, str) else exc.reason})"
    except (OSError, ValueError) as exc:  # a timeout, a reset connection
        return f"{type(exc).__name__}"


def post(url: str, body: dict[str, Any], timeout_s: float,
         backoff_s: tuple[float, ...] = BACKOFF_S, sleep: Callable[[float], None] = time.sleep) -> Sent:
    """POST ``body`` as JSON; tried once more after each wait in ``backoff_s``. Never raises."""
    data = json.dumps(body).encode()
    error: str | None = None
    for attempt, wait in enumerate((0.0, *backoff_s), start=1):
        if wait:
            sleep(wait)
        error = _post_once(url, data, timeout_s)
        if error is None:
            return Sent(True, attempt)
    return Sent(False, len(backoff_s) + 1, error)
