"""``/metrics``: the store's operating facts in the Prometheus text format (``prometheus_client``).

Every value is computed from the store when Prometheus scrapes (a custom collector over
``store.operations``), so each gunicorn worker answers the same truth and nothing has to be
summed across workers: no ``PROMETHEUS_MULTIPROC_DIR``, no per-process files. The registry
is this app's own, not the library's global one, so no per-process figure (the process
collector's memory and CPU of whichever worker answered) is mixed in. There are no
per-worker request counters: they would need multiprocess mode, and the platform's router
metrics already count requests. The analyst login (when set) guards it like every page
(``dashboard.auth.install_guard``).

A store that cannot be read gives ``forecast_store_up 0`` and nothing else (still a 200, as
exporters do, so the scrape itself stays up and an alert can say what is down).
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timezone

from flask import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import Engine

from config.settings import Settings
from contract.vocab import QueueState
from store import operations as ops
from store.db import short_error
from store.ledger_metrics import Score
from store.runs import STATUSES

from dashboard.data import Web

log = logging.getLogger(__name__)

PREFIX = "forecast_"


@dataclass(frozen=True)
class Sources:
    """Where a scrape reads: the settings, the store, the clock and each ticker's live skill per cell."""

    settings: Callable[[], Settings]
    engine: Callable[[], Engine]
    now: Callable[[], datetime]
    skill: Callable[[str], dict[str, Score]]

    @classmethod
    def of(cls, web: Web) -> Sources:
        """The web's own: its ledger cache re-reads a ticker's frame only when the store changed, and the
        skill is computed once per version of it."""
        def skill(ticker: str) -> dict[str, Score]:
            cache = web.ledger_reads()
            view = cache.get(ticker)
            result: dict[str, Score] = cache.memo(view, "operations.live_skill", lambda: ops.live_skill(view.frame))
            return result

        return cls(lambda: web.settings, web.engine, web.now, skill)


def _gauge(name: str, doc: str, labels: tuple[str, ...] = ()) -> GaugeMetricFamily:
    return GaugeMetricFamily(PREFIX + name, doc, labels=list(labels))


def _epoch(value: datetime | date) -> float:
    if not isinstance(value, datetime):  # a trading day: its midnight UTC
        value = datetime.combine(value, time(), tzinfo=timezone.utc)
    return value.timestamp()


class StoreCollector:
    """One scrape = a few indexed store reads plus each ticker's cached ledger frame."""

    def __init__(self, sources: Sources) -> None:
        self.sources = sources

    def collect(self) -> Iterator[Metric]:
        up = _gauge("store_up", "1 when the store could be read for this scrape, else 0")
        try:
            families = list(self._families())
        except Exception as exc:  # any read failure: say the store is down, log why (one line)
            log.warning("/metrics: the store cannot be read: %s", short_error(exc))
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _families(self) -> Iterator[Metric]:
        settings, engine, now = self.sources.settings(), self.sources.engine(), self.sources.now()
        tickers = settings.tickers
        yield from _ticker_families(ops.ticker_facts(engine, tickers, now))
        yield from _skill_families({t: self.sources.skill(t) for t in tickers})
        yield from _queue_families(ops.queue_facts(engine, now, settings.schedule.lease_ttl_s), tickers, now)
        yield from _clock_families(ops.clock_facts(engine), now)
        champion = _gauge("champion_model_id", "model id served as the champion of a ticker's cell", ("ticker", "cell"))
        for (ticker, cell), model_id in sorted(ops.champions(engine, tickers).items()):
            champion.add_metric([ticker, cell], model_id)
        yield champion


def _ticker_families(facts: list[ops.TickerFacts]) -> Iterator[Metric]:
    close = _gauge("last_close_timestamp_seconds", "date of the newest stored close (its midnight UTC)", ("ticker",))
    age = _gauge("last_close_age_trading_days",
                 "NYSE sessions closed since the newest stored close (0: up to date)", ("ticker",))
    success = _gauge("last_success_timestamp_seconds", "when the newest succeeded run finished", ("ticker",))
    runs = _gauge("runs", "runs in the store by status (every trigger)", ("ticker", "status"))
    for f in facts:
        if f.last_close is not None and f.closes_missed is not None:
            close.add_metric([f.ticker], _epoch(f.last_close))
            age.add_metric([f.ticker], f.closes_missed)
        if f.last_success is not None:
            success.add_metric([f.ticker], _epoch(f.last_success))
        for status in (*STATUSES, *sorted(set(f.runs) - set(STATUSES))):
            runs.add_metric([f.ticker, status], f.runs.get(status, 0))
    yield from (close, age, success, runs)


def _skill_families(skill: dict[str, dict[str, Score]]) -> Iterator[Metric]:
    days = ops.LIVE_DAYS
    ratio = _gauge("live_rmse_ratio", f"live one-day forecasts, newest {days} scored days: RMSE / persistence RMSE",
                   ("ticker", "cell"))
    cover = _gauge("live_coverage80", f"live one-day forecasts, newest {days} scored days: share inside the 80% band",
                   ("ticker", "cell"))
    count = _gauge("live_scored", f"live one-day forecasts scored in those {days} days (below 20: too few to judge)",
                   ("ticker", "cell"))
    for ticker, cells in skill.items():
        for cell, s in cells.items():
            count.add_metric([ticker, cell], s.n)
            if s.rmse_ratio is not None:
                ratio.add_metric([ticker, cell], s.rmse_ratio)
            if s.coverage80 is not None:
                cover.add_metric([ticker, cell], s.coverage80)
    yield from (ratio, cover, count)


def _queue_families(entries: list[ops.QueueEntry], tickers: tuple[str, ...], now: datetime) -> Iterator[Metric]:
    depth = _gauge("queue_requests", "run requests not ended, by state (waiting, redelivery, running, silent)",
                   ("ticker", "state"))
    counts = {(t, s): 0 for t in tickers for s in QueueState}
    for e in entries:
        counts[(e.ticker, e.state)] = counts.get((e.ticker, e.state), 0) + 1
    for (ticker, state), n in sorted(counts.items()):
        depth.add_metric([ticker, state.value], n)
    oldest = _gauge("queue_oldest_waiting_age_seconds", "how long the oldest waiting run request has waited (0: none)")
    waiting = [e.age_s(now) for e in entries if e.state in (QueueState.WAITING, QueueState.REDELIVERY)]
    oldest.add_metric([], max(waiting, default=0.0))
    yield from (depth, oldest)


def _clock_families(clock: ops.ClockFacts, now: datetime) -> Iterator[Metric]:
    up = _gauge("clock_up", "1 while a clock process holds the clock lease, else 0")
    up.add_metric([], 1 if clock.alive else 0)
    yield up
    age = clock.age_s(now)
    if age is not None and clock.last_seen is not None:  # absent when no clock ever reported
        seen = _gauge("clock_heartbeat_timestamp_seconds", "the clock's newest heartbeat")
        seen.add_metric([], _epoch(clock.last_seen))
        ago = _gauge("clock_heartbeat_age_seconds", "seconds since the clock's newest heartbeat")
        ago.add_metric([], age)
        yield from (seen, ago)


def registry(sources: Sources) -> CollectorRegistry:
    """A registry of this app's collector only (no describe at registration: nothing is read until a scrape)."""
    reg = CollectorRegistry(auto_describe=False)
    reg.register(StoreCollector(sources))
    return reg


def endpoint(sources: Sources) -> Callable[[], Response]:
    """The Flask view of ``/metrics``."""
    reg = registry(sources)

    def metrics() -> Response:
        return Response(generate_latest(reg), 200, {"Content-Type": CONTENT_TYPE_LATEST, "Cache-Control": "no-store"})

    return metrics
