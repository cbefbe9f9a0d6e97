"""Facts an operator watches, read from the store: the clock's heartbeat, the queue of run
requests, and per ticker the newest close, the runs and the live skill.

Read side only (the web's ``/metrics`` and the admin page's health panel import it; no
TensorFlow). Every figure is a fact written by the process it describes (a heartbeat, a
lease, a request row, a run row, a ledger row), never a flag someone set: the pause of
the nightly schedule says nothing about whether a clock runs, so nothing here reads it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import pandas as pd
from sqlalchemy import Engine, func, select

from contract.vocab import QueueState
from marketdata.calendar import closes_missed
from store import lease as leases, run_requests
from store.ledger_metrics import Score, last_days, score, scored
from store.pause import PAUSE_ROW
from store.tables import Champion, ClockStatus, Price, Run
from store.times import as_utc

LIVE_DAYS = 60  # the live skill figures: the newest 60 scored target dates of the one-day forecasts


@dataclass(frozen=True)
class ClockFacts:
    """What the clock process last wrote about itself."""

    last_seen: datetime | None  # newest heartbeat of a scheduled job's row (None: no clock ever reported)
    holder: leases.LeaseInfo | None  # the live clock lease (None: no clock holds it now)

    @property
    def alive(self) -> bool:
        """A clock holds its lease now (it renews it every LEASE_TTL_SECONDS / 4 on the database's clock)."""
        return self.holder is not None

    def age_s(self, now: datetime) -> float | None:
        """Seconds since the clock's last heartbeat, None when it never reported."""
        return None if self.last_seen is None else max(0.0, (as_utc(now) - self.last_seen).total_seconds())


def clock_facts(engine: Engine) -> ClockFacts:
    """The clock's heartbeat and lease. The pause row of ``clock_status`` is not a heartbeat (an
    admin writes it), so it is left out."""
    with engine.connect() as conn:
        seen = conn.execute(select(func.max(ClockStatus.heartbeat_at))
                            .where(ClockStatus.job_id != PAUSE_ROW)).scalar()
    return ClockFacts(as_utc(seen) if seen is not None else None,
                      leases.current_lease(engine, leases.CLOCK_LEASE, live=True))


@dataclass(frozen=True)
class QueueEntry:
    id: int
    ticker: str
    state: QueueState
    requested_by: str
    since: datetime  # waiting: when it was requested; otherwise when it was claimed
    claimed_by: str | None = None

    def age_s(self, now: datetime) -> float:
        return max(0.0, (as_utc(now) - self.since).total_seconds())


def queue_facts(engine: Engine, now: datetime, lease_ttl_s: float) -> list[QueueEntry]:
    """Every request not yet ended, oldest first, with its state as ``jobs queue`` shows it
    (``run_requests.queue_state``: a claim is running while its executor heartbeats it)."""
    out = []
    for r in run_requests.pending(engine)[:200]:
        state = run_requests.queue_state(r, now, lease_ttl_s)
        waiting = state in (QueueState.WAITING, QueueState.REDELIVERY)
        since = r.requested_at if waiting or r.claimed_at is None else r.claimed_at
        out.append(QueueEntry(r.id, r.ticker, state, r.request.requested_by, as_utc(since), r.claimed_by))
    return out


@dataclass(frozen=True)
class TickerFacts:
    ticker: str
    last_close: date | None
    closes_missed: int | None  # NYSE sessions closed since the newest stored close (None: no prices)
    last_success: datetime | None  # when its newest succeeded run finished
    runs: dict[str, int]  # run status -> how many runs of the ticker have it


def ticker_facts(engine: Engine, tickers: tuple[str, ...], now: datetime) -> list[TickerFacts]:
    """The newest close, its age in trading days and the runs of each of ``tickers``."""
    with engine.connect() as conn:
        closes = dict(conn.execute(select(Price.ticker, func.max(Price.date))
                                   .where(Price.ticker.in_(tickers)).group_by(Price.ticker)).all())
        successes = dict(conn.execute(select(Run.ticker, func.max(Run.finished_at))
                                      .where(Run.ticker.in_(tickers), Run.status == "succeeded")
                                      .group_by(Run.ticker)).all())
        counts = conn.execute(select(Run.ticker, Run.status, func.count())
                              .where(Run.ticker.in_(tickers)).group_by(Run.ticker, Run.status)).all()
    runs: dict[str, dict[str, int]] = {t: {} for t in tickers}
    for ticker, status, n in counts:
        runs[ticker][status] = int(n)
    out = []
    for t in tickers:
        last = closes.get(t)
        done = successes.get(t)
        out.append(TickerFacts(t, last, closes_missed(last, now) if last is not None else None,
                               as_utc(done) if done is not None else None, runs[t]))
    return out


def live_skill(ledger: pd.DataFrame, days: int = LIVE_DAYS) -> dict[str, Score]:
    """Per cell: the live one-day forecasts' score over their newest ``days`` scored target dates
    (``store.ledger_metrics.score``: ``n``, ``rmse_ratio`` to persistence, ``coverage80``)."""
    if ledger.empty:
        return {}
    rows = scored(ledger[(ledger["kind"] == "live") & (ledger["horizon"] == 1)])
    return {str(cell): score(last_days(group, days)) for cell, group in rows.groupby("cell", sort=True)}


def champions(engine: Engine, tickers: tuple[str, ...]) -> dict[tuple[str, str], int]:
    """(ticker, cell) -> the model id served as that cell's champion."""
    with engine.connect() as conn:
        rows = conn.execute(select(Champion.ticker, Champion.cell, Champion.model_id)
                            .where(Champion.ticker.in_(tickers))).all()
    return {(t, c): int(m) for t, c, m in rows}
