"""The web's watch on the clock: a daemon thread per web worker that checks the clock's heartbeat
every ALERT_CHECK_SECONDS (``alerts.check`` says why the web does it). Started by the gunicorn
factory only, never by ``create_app`` (tests build many apps)."""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Engine

from config.settings import Settings
from store.incidents import IncidentKind

from .check import check

log = logging.getLogger("alerts")


def start_clock_watch(get_engine: Callable[[], Engine], settings: Settings,
                      now: Callable[[], datetime]) -> threading.Event:
    """Start the watch; set the returned event to stop it."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(settings.alerts.check_seconds):
            try:
                check(get_engine(), settings, now(), kinds=(IncidentKind.CLOCK_SILENT,))
            except Exception as exc:  # never let the thread die: the next round tries again
                log.error("clock watch: %s", " ".join(str(exc).split())[:200])

    threading.Thread(target=loop, name="alerts-clock-watch", daemon=True).start()
    return stop
