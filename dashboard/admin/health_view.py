"""The admin page's health panel, from facts, not flags (``store.operations``):

- the clock: running while it holds the clock lease, with its heartbeat's age; "not running
  (last seen ...)" otherwise. The pause of the nightly schedule is a flag an admin sets and
  says nothing about a clock, so it is never read here;
- the workers (with ``REDIS_URL``): which Celery workers answer a ping within about a second,
  through the Celery app of ``config.celery_app`` (the web never imports jobs);
- the queue: every run request not yet ended, waiting, running or waiting for redelivery,
  with its ticker and age.

Refreshed every ``POLL_MS`` by its own interval (a ping waits up to its timeout, so not on the
page's one-second poll); the ping's answer is shared by every admin tab of a worker for
``PING_TTL_S``.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime

import dash_bootstrap_components as dbc
from dash import Dash, Input, Output, dcc, html

from config.settings import Settings
from contract.vocab import QueueState
from store import operations as ops

from dashboard import data, ids
from dashboard.admin.guard import admin_callback
from dashboard.components import ago, fmt_dt

POLL_MS = 10_000
PING_TIMEOUT_S = 1.0
PING_TTL_S = 8.0
CLOCK_QUIET_S = 180  # the clock writes its heartbeat every minute: three missed ones are worth a warning
STATE_LABELS = {QueueState.WAITING: "waiting", QueueState.REDELIVERY: "waiting for redelivery",
                QueueState.RUNNING: "running", QueueState.SILENT: "executor silent"}


def card() -> dbc.Card:
    """The panel's place on the page; its callback fills it at once and every ``POLL_MS``."""
    return dbc.Card(dbc.CardBody([html.H2("Health", className="h5"), html.Div(id=ids.Admin.HEALTH),
                                  dcc.Interval(id=ids.Admin.HEALTH_POLL, interval=POLL_MS)]), className="mb-3")


def clock_line(clock: ops.ClockFacts, now: datetime) -> html.P:
    """Bold: whether a clock runs, from its lease and heartbeat."""
    seen = "never" if clock.last_seen is None else f"{fmt_dt(clock.last_seen)}, {ago(clock.last_seen, now)}"
    if clock.holder is None:
        return html.P(f"Clock: not running (last seen {seen}). Start it with: python -m jobs clock",
                      id=ids.Admin.HEALTH_CLOCK, className="mb-1 fw-bold text-danger")
    parts = clock.holder.holder.rsplit(":", 2)  # host:pid:random (store.lease.new_holder_id)
    where = f"on {parts[0]} pid {parts[1]}" if len(parts) == 3 else f"as {clock.holder.holder}"
    age = clock.age_s(now)
    if age is None or age > CLOCK_QUIET_S:
        return html.P(f"Clock: holds its lease {where} but its heartbeat is late (last seen {seen})",
                      id=ids.Admin.HEALTH_CLOCK, className="mb-1 fw-bold text-warning")
    return html.P(f"Clock: running {where} (heartbeat {age:.0f} s ago)", id=ids.Admin.HEALTH_CLOCK,
                  className="mb-1 fw-bold text-success")


@dataclass(frozen=True)
class Workers:
    names: tuple[str, ...] | None  # None: the queue could not be asked
    why: str = ""


_ping_lock = threading.Lock()
_last_ping: dict[str, tuple[float, Workers]] = {}


def ping_workers(settings: Settings) -> Workers:
    """Celery workers that answer a ping within ``PING_TIMEOUT_S`` (cached ``PING_TTL_S`` per process;
    while one ping is in flight, others get the last answer rather than waiting in line)."""
    key = settings.redis_url or ""
    cached = _last_ping.get(key)
    if cached is not None and time.monotonic() - cached[0] < PING_TTL_S:
        return cached[1]
    if not _ping_lock.acquire(blocking=False):
        return cached[1] if cached is not None else Workers(None, "a ping is under way")
    try:
        from config.celery_app import shared_celery_app

        replies = shared_celery_app(settings).control.ping(timeout=PING_TIMEOUT_S) or []
        found = Workers(tuple(sorted(name for reply in replies for name in reply)))
    except Exception as exc:  # Redis down or refusing: the panel says so, the page keeps working
        found = Workers(None, f"the queue did not answer ({type(exc).__name__})")
    finally:
        _ping_lock.release()
    _last_ping[key] = (time.monotonic(), found)
    return found


def workers_line(settings: Settings, workers: Workers | None) -> html.P:
    if not settings.redis_url or workers is None:
        return html.P("Workers: none used (no REDIS_URL): runs execute in a child process of the clock.",
                      id=ids.Admin.HEALTH_WORKERS, className="mb-1")
    if workers.names is None:
        return html.P(f"Workers: unknown, {workers.why}.", id=ids.Admin.HEALTH_WORKERS,
                      className="mb-1 fw-bold text-danger")
    if not workers.names:
        return html.P(f"Workers: none answered within {PING_TIMEOUT_S:.0f} s; queued runs wait until one starts "
                      "(Procfile worker:).", id=ids.Admin.HEALTH_WORKERS, className="mb-1 fw-bold text-danger")
    n = len(workers.names)
    return html.P(f"Workers: {n} answered ({', '.join(workers.names)})", id=ids.Admin.HEALTH_WORKERS,
                  className="mb-1")


def queue_view(entries: list[ops.QueueEntry], now: datetime, settings: Settings) -> html.Div:
    """The requests not yet ended, oldest first, and what "waiting for redelivery" means here."""
    if not entries:
        return html.Div(html.P("Queue: empty.", className="mb-0"), id=ids.Admin.HEALTH_QUEUE)
    head = html.Thead(html.Tr([html.Th(h) for h in ("#", "ticker", "state", "asked by", "since")]))
    rows = [html.Tr([html.Td(f"#{e.id}"), html.Td(e.ticker), html.Td(STATE_LABELS[e.state]), html.Td(e.requested_by),
                     html.Td(f"{fmt_dt(e.since)} ({ago(e.since, now)})")]) for e in entries]
    counts = {s: sum(e.state is s for e in entries) for s in QueueState}
    parts: list = [html.P("Queue: " + ", ".join(f"{n} {STATE_LABELS[s]}" for s, n in counts.items()), className="mb-1"),
                   dbc.Table([head, html.Tbody(rows)], size="sm", className="mb-1", id=ids.Admin.HEALTH_QUEUE_TABLE)]
    ttl = settings.schedule.lease_ttl_s
    if counts[QueueState.SILENT]:
        parts.append(html.P(f"Executor silent: claimed, but its executor has not reported for over {ttl} s (killed, "
                            "or its dyno lost); the clock's sweep re-queues it once within a minute, or ends it if it "
                            "was already re-queued or a command line's own run.", className="small text-muted mb-0"))
    if counts[QueueState.REDELIVERY]:
        by = "a worker takes it from the queue again" if settings.redis_url else "the clock's child claims it again"
        parts.append(html.P(f"Waiting for redelivery: its executor fell silent and it was re-queued; {by}. "
                            "Drop it with: python -m jobs queue drop ID.", className="small text-muted mb-0"))
    return html.Div(parts, id=ids.Admin.HEALTH_QUEUE)


def panel(settings: Settings, now: datetime) -> html.Div:
    engine = data.engine()
    workers = ping_workers(settings) if settings.redis_url else None
    return html.Div([clock_line(ops.clock_facts(engine), now), workers_line(settings, workers),
                     queue_view(ops.queue_facts(engine, now, settings.schedule.lease_ttl_s), now, settings)])


def register_callbacks(app: Dash) -> None:
    @app.callback(Output(ids.Admin.HEALTH, "children"), Input(ids.Admin.HEALTH_POLL, "n_intervals"))
    @admin_callback(on_refusal=lambda exc: html.P(str(exc), className="text-danger mb-0"))
    def on_health(_user: str, _n):
        return panel(data.settings(), data.now())
