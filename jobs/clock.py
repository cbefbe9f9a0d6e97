"""The clock process (``python -m jobs clock``, Procfile ``clock:``; never scale above one).

An APScheduler 3 ``BlockingScheduler`` runs the pipeline every trading evening
(Mon-Fri 18:30 America/New_York by default, see ``ScheduleSettings``), plus a
weekly full retrain when the retrain weekday is not a nightly day. On start it
fails runs orphaned by a killed process and, on a fresh deployment (no prices or
no champion), bootstraps: seeds prices and trains a first model.

Exactly one clock runs: it holds the ``clock`` lease (``store.lease.CLOCK_LEASE``), renewed
by a heartbeat thread every LEASE_TTL_SECONDS / 4 on the database's clock. A second
``python -m jobs clock`` is refused in one ``error:`` line (exit 2) while that lease is live;
a clock killed with ``kill -9`` stops renewing, so a restart works once its lease has
expired. A clock that finds its lease taken (it was frozen past the TTL) stops.

It writes each job's next fire time and a heartbeat into ``clock_status`` so the
web shows "next run" without importing APScheduler. The lease in the pipeline, not
the scheduler, is what keeps training to one run per ticker at a time across processes.

The clock never trains in its own process: each run goes to a spawned child
(``jobs.child``) that exits when the run ends, or, with REDIS_URL set, to the Celery
workers. So the clock never holds TensorFlow and idles at a small dyno's memory.

Every run is a request in the store's queue (``store.run_requests``). Without REDIS_URL the
clock is the queue's executor: its nightly runs are recorded and run in its child at once, and
every QUEUE_POLL_SECONDS it claims the queued requests (the admin page's) and runs each in a
child. With REDIS_URL its nightly runs are queued and handed to the workers. Either way, every
minute it sweeps the claims whose executor fell silent (``store.run_requests.sweep``).
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from functools import partial
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_MISSED, EVENT_SCHEDULER_STARTED
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import Engine, func, select

from store import lease as leases
from store import runs
from config.logs import setup_logging
from config.settings import WEEKDAYS, ScheduleSettings
from store.db import best_effort, session_factory
from store.times import as_utc
from store.prices import last_stored_date
from store.tables import ClockStatus, Price

from contract.errors import one_line
from contract.run import RunRequest, RunResult, TickerOutcome, TickerState
from contract.vocab import DEFAULT_CELL, Action, RunStatus, Trigger
from store import registry, run_requests
from store.run_requests import StoredRequest

from .backfill import bootstrap_backfill_in_child
from .child import SHUTDOWN_REASON, run_pipeline_in_child, serve_in_child
from .context import JobContext
from .each_ticker import Pipeline, run_each, run_one
from .errors import JobError, RunInProgress
from .requests import recorded, run_taken, take_next
from .run import RunHooks
from .serve import ServeResult, stale_cells
from .stopping import StopRequest

log = logging.getLogger("jobs.clock")

NIGHTLY_JOB_ID = "nightly-pipeline"
WEEKLY_RETRAIN_JOB_ID = "weekly-retrain"
FIRST_START_JOB_ID = "bootstrap"  # the job id the admin page and older status rows know
HEARTBEAT_JOB_ID = "clock-heartbeat"
HEARTBEAT_SECONDS = 60
SERVE_JOB_ID = "serve-stale"
SERVE_SECONDS = 60
ALERTS_JOB_ID = "alerts-check"  # every ALERT_CHECK_SECONDS: alerts.check (reads the store; no child needed)
QUEUE_JOB_ID = "run-queued"  # without REDIS_URL: the clock's child executes the queued requests
QUEUE_JOB_NAME = "run queued requests"
QUEUE_POLL_SECONDS = 3
SWEEP_JOB_ID = "sweep-queue"
SWEEP_SECONDS = 60
EVERY_FEW_SECONDS = (HEARTBEAT_JOB_ID, SERVE_JOB_ID, QUEUE_JOB_ID, SWEEP_JOB_ID, ALERTS_JOB_ID)  # not shown as scheduled runs
# With REDIS_URL the admin page's upload sends a serve task to the workers; the clock serves a
# close stored longer ago than this itself (the message was lost, or the close came another way).
QUEUED_SERVE_GRACE_S = 120


def expand_days(days: str) -> set[str]:
    """``"mon-fri"`` / ``"mon,wed,fri"`` -> the set of weekday names."""
    out: set[str] = set()
    for part in days.split(","):
        if "-" in part:
            a, b = part.split("-")
            out.update(WEEKDAYS[WEEKDAYS.index(a) : WEEKDAYS.index(b) + 1])
        else:
            out.add(part)
    return out


def nightly_trigger(sched: ScheduleSettings) -> CronTrigger:
    return CronTrigger(day_of_week=sched.days, hour=sched.hour, minute=sched.minute, timezone=ZoneInfo(sched.timezone))


def weekly_retrain_trigger(sched: ScheduleSettings) -> CronTrigger | None:
    """A separate weekly full retrain, only when the retrain weekday has no nightly run
    (on a nightly day the nightly run itself becomes the full retrain)."""
    if not sched.retrain_weekday or sched.retrain_weekday in expand_days(sched.days):
        return None
    return CronTrigger(
        day_of_week=sched.retrain_weekday, hour=sched.hour, minute=sched.minute, timezone=ZoneInfo(sched.timezone)
    )


def first_start_reason(engine: Engine, ticker: str) -> str | None:
    """Why a fresh deployment needs a first run, or None when prices and a champion exist."""
    if last_stored_date(engine, ticker) is None:
        return f"no prices stored for {ticker}"
    if registry.champion(engine, ticker, DEFAULT_CELL) is None:
        return f"no champion model for {ticker}"
    return None


def write_clock_status(engine: Engine, scheduler: BaseScheduler, now: datetime, last: dict | None = None) -> None:
    """One row per scheduled job: next fire time, heartbeat, and what ran last.

    A job no longer scheduled (the one-off bootstrap after it ran, a job removed by a
    settings change) keeps its row with ``next_run_at`` cleared.
    """
    with session_factory(engine).begin() as session:
        scheduled = {job.id for job in scheduler.get_jobs()}
        for row in session.scalars(select(ClockStatus)):
            if row.job_id not in scheduled:
                row.next_run_at = None
                if last and last.get("job_id") == row.job_id:
                    row.detail = {**(row.detail or {}), "last": {k: v for k, v in last.items() if k != "job_id"}}
        for job in scheduler.get_jobs():
            if job.id in EVERY_FEW_SECONDS:  # the heartbeat says the clock runs
                continue
            current = session.get(ClockStatus, job.id)
            detail = dict(current.detail or {}) if current else {}
            detail.update(trigger=str(job.trigger), host=socket.gethostname(), pid=os.getpid())
            if last and last.get("job_id") == job.id:
                detail["last"] = {k: v for k, v in last.items() if k != "job_id"}
            next_at = job.next_run_time.astimezone(timezone.utc) if job.next_run_time else None
            if current is None:
                session.add(ClockStatus(job_id=job.id, next_run_at=next_at, heartbeat_at=now, detail=detail))
            else:
                current.next_run_at, current.heartbeat_at, current.detail = next_at, now, detail


class Clock:
    """Owns the scheduler and the jobs; ``scheduler`` and ``pipeline`` are injectable for tests
    (``pipeline`` has ``jobs.run.run_pipeline``'s contract; by default it runs in a child)."""

    def __init__(self, ctx: JobContext, scheduler: BaseScheduler | None = None,
                 pipeline: Pipeline = run_pipeline_in_child,
                 serve: Callable[[JobContext, list[str]], list[ServeResult]] = serve_in_child):
        self.ctx = ctx
        self.child_pipeline = pipeline
        # One training child at a time: the nightly (scheduler thread) and the queued requests (drain
        # thread) both train in a child that loads TensorFlow (~570 MB); two at once would pass a dyno's memory.
        self.training = threading.Lock()
        self.serve = serve
        self.reported: set[int] | None = None  # runs the clock queued whose end it logged (None: not read yet)
        self.serve_failed: dict[str, date | None] = {}  # ticker -> the close a cell could not serve from
        self.claimer = f"clock:{leases.new_holder_id()}"  # who claims the requests this clock runs
        self.draining: threading.Thread | None = None  # the thread running queued requests (run_queued)
        self.stopping = threading.Event()
        sched = ctx.settings.schedule
        self.scheduler = scheduler or BlockingScheduler(
            timezone=ZoneInfo(sched.timezone),
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": sched.misfire_grace_s},
        )

    def pipeline(self, ctx: JobContext, request: RunRequest, hooks: RunHooks) -> RunResult:
        """The injected pipeline (by default a child process), one run at a time in this clock. A run
        cancelled because this clock is stopping (a deploy, a dyno's daily restart) is asked for again:
        the next clock runs it, instead of the night passing without a forecast."""
        with self.training:
            result = self.child_pipeline(ctx, request, hooks)
        if result.status is RunStatus.CANCELLED and SHUTDOWN_REASON in (result.error or ""):  # not an admin's cancel
            self.requeue_after_stop(request, result.run_id)
        return result

    def requeue_after_stop(self, request: RunRequest, run_id: int) -> None:
        """Queue ``request`` again for the next clock (or worker); never raises (the clock is on its way out)."""
        try:
            again = run_requests.add(self.ctx.engine, request, self.ctx.now())
        except Exception as exc:  # another request of the ticker already waits (it will run), or the store is down
            log.warning("run %s of %s stopped with the clock; not queued again: %s", run_id, request.ticker, one_line(exc))
            return
        log.warning("run %s of %s stopped with the clock; queued again as request #%s", run_id, request.ticker, again)

    # --- jobs ---------------------------------------------------------------------
    def run_for_all_tickers(self, trigger: Trigger, action: Action, job_id: str) -> list[TickerOutcome]:
        requests = [RunRequest(ticker=t, action=action, trigger=trigger, requested_by="clock")
                    for t in self.ctx.settings.tickers]
        if self.ctx.settings.redis_url:
            outcomes = self.queue(requests, job_id)
        else:  # recorded in the queue, claimed by the clock, run in its child now
            outcomes = run_each(self.ctx, requests, recorded(self.pipeline, self.claimer),
                                RunHooks(should_cancel=self.stopping.is_set))
        self.remember(job_id, outcomes)
        return outcomes

    def queue(self, requests: list[RunRequest], job_id: str) -> list[TickerOutcome]:
        """With REDIS_URL set, queue one request per ticker and hand each to the Celery workers
        (scale out by adding worker dynos); the clock itself stays small and never trains."""
        from .tasks import queue_requests

        try:
            return [outcome for _r, _id, outcome in queue_requests(self.ctx, requests)]
        except Exception as exc:  # broker down: log one line, try again at the next fire time
            log.error("%s: could not queue the pipeline: %s", job_id, one_line(exc))
            return [TickerOutcome(r.ticker, TickerState.FAILED, message=f"queue unavailable: {one_line(exc)}")
                    for r in requests]

    def remember(self, job_id: str, outcomes: list[TickerOutcome]) -> None:
        """What the job did, per ticker, in the clock's status (the admin page shows it)."""
        for o in outcomes:
            log.info("%s %s", job_id, o.line())
        last = {"job_id": job_id, "at": self.ctx.now().isoformat(), "results": [o.row() for o in outcomes]}
        write_clock_status(self.ctx.engine, self.scheduler, self.ctx.now(), last)

    def nightly(self) -> list[TickerOutcome]:
        return self.unless_paused(NIGHTLY_JOB_ID) or self.run_for_all_tickers(Trigger.NIGHTLY, Action.AUTO,
                                                                              NIGHTLY_JOB_ID)

    def weekly_retrain(self) -> list[TickerOutcome]:
        return self.unless_paused(WEEKLY_RETRAIN_JOB_ID) or self.run_for_all_tickers(Trigger.NIGHTLY, Action.RETRAIN,
                                                                                     WEEKLY_RETRAIN_JOB_ID)

    def unless_paused(self, job_id: str) -> list[TickerOutcome] | None:
        """The skipped outcomes when an admin paused the schedule (store.pause), else None."""
        from store.pause import paused

        pause = paused(self.ctx.engine)
        if pause is None:
            return None
        log.warning("%s: skipped, the schedule was paused by %s at %s", job_id, pause.by, pause.at)
        outcomes = [TickerOutcome(t, TickerState.PAUSED, message=f"schedule paused by {pause.by}")
                    for t in self.ctx.settings.tickers]
        self.remember(job_id, outcomes)
        return outcomes

    def first_start(self) -> list[TickerOutcome]:
        """A fresh deployment's first runs (trigger ``bootstrap``) and the ledger's backfill;
        skipped, like the nightly jobs, while an admin has paused the schedule."""
        paused_outcomes = self.unless_paused(FIRST_START_JOB_ID)
        if paused_outcomes is not None:
            return paused_outcomes
        outcomes = self.run_for_all_tickers(Trigger.BOOTSTRAP, Action.AUTO, FIRST_START_JOB_ID)
        bootstrap_backfill_in_child(self.ctx, self.ctx.settings.schedule.ledger_bootstrap_days, self.stopping.is_set)
        return outcomes

    def heartbeat(self) -> None:
        write_clock_status(self.ctx.engine, self.scheduler, self.ctx.now())

    def check_alerts(self) -> list[str]:
        """Every ALERT_CHECK_SECONDS: every alert condition but the clock's own silence (the web watches
        that, ``alerts.check``). In this process: store reads and a webhook POST, no TensorFlow."""
        from alerts.check import ALL_KINDS, check
        from store.incidents import IncidentKind

        self.log_queued_outcomes()
        kinds = [k for k in ALL_KINDS if k is not IncidentKind.CLOCK_SILENT]
        return check(self.ctx.engine, self.ctx.settings, self.ctx.now(), kinds=kinds)

    def log_queued_outcomes(self) -> None:
        """With REDIS_URL the workers run what the clock queued: one line per such run once it ends
        (``queued`` alone said nothing of how it went). Without a queue ``remember`` logs each outcome."""
        if not self.ctx.settings.redis_url:
            return
        recent = [r for r in runs.list_runs(self.ctx.engine, limit=20)
                  if r["requested_by"] == "clock" and r["status"] != "running"]
        if self.reported is not None:
            for r in reversed(recent):
                if r["id"] not in self.reported:
                    line = f"run #{r['id']} {r['ticker']} {r['status']}: {r['error'] or r['progress_message'] or ''}"
                    (log.info if r["status"] in ("succeeded", "skipped") else log.warning)("queued %s", line.rstrip(": "))
        self.reported = {r["id"] for r in recent}  # what the next round has already seen (bounded: 20)

    def run_queued(self) -> None:
        """Every QUEUE_POLL_SECONDS without REDIS_URL: drain the queue in a thread of its own unless one
        already does, so this job returns at once (no "maximum number of running instances" warning
        every few seconds while a run trains); a stop lets the thread's run end cancelled first."""
        if self.draining is not None and self.draining.is_alive():
            return
        self.draining = threading.Thread(target=lambda: best_effort(self.drain_queue, what="running the queued requests"),
                                         name="run-queued")
        self.draining.start()

    def drain_queue(self) -> list[RunResult]:
        """Claim each queued request whose ticker is free and run it in a child, oldest first, until
        none can start (a store read when the queue is empty)."""
        done: list[RunResult] = []
        while not self.stopping.is_set():
            claimed = take_next(self.ctx, self.claimer)
            if claimed is None:
                return done
            log.info("%s: request #%s (%s %s by %s) claimed", QUEUE_JOB_ID, claimed.id, claimed.ticker,
                     claimed.request.action, claimed.request.requested_by)
            hooks = RunHooks(should_cancel=self.stopping.is_set)
            outcome = run_one(self.ctx, claimed.request, self._taken_runner(claimed, hooks), hooks)
            log.info("%s: request #%s %s", QUEUE_JOB_ID, claimed.id, outcome.line())
            if outcome.result is not None:
                done.append(outcome.result)
        return done

    def _taken_runner(self, claimed: StoredRequest, hooks: RunHooks
                      ) -> Callable[[JobContext, RunRequest, RunHooks], RunResult]:
        """``run_one``'s runner for a request this clock claimed: its pipeline in the child, or NotStarted
        when a run of the ticker took the lease meanwhile (the request waits on in the queue)."""
        def run(c: JobContext, _r: RunRequest, _h: RunHooks) -> RunResult:
            return run_taken(c, claimed, self.claimer, lambda c2, r2: self.pipeline(c2, r2, hooks)) or _not_yet(claimed)

        return run

    def sweep_queue(self) -> None:
        """Every minute: take back the claims whose executor fell silent (re-queued once, else ended);
        with REDIS_URL a re-queued request is handed to the workers again."""
        swept = run_requests.sweep(self.ctx.engine, self.ctx.settings.schedule.lease_ttl_s, self.ctx.now())
        for req, how in swept:
            log.warning("%s: request #%s (%s) %s: its executor %s fell silent", SWEEP_JOB_ID, req.id, req.ticker,
                        how, req.claimed_by)
            if how == "requeued" and self.ctx.settings.redis_url:
                from config.celery_app import send_run_request

                best_effort(partial(send_run_request, self.ctx.settings, req.id),
                            what=f"handing request #{req.id} to the workers again")

    def serve_stale(self) -> list[ServeResult]:
        """Every minute: serve, in a child process, the tickers with a champion forecasting from an
        older close than the newest stored one (after an upload, an import, a fetch). A store read
        when nothing is stale: no child, no TensorFlow."""
        tickers = [t for t in self.ctx.settings.tickers if self.needs_serving(t)]
        if not tickers or self.stopping.is_set():
            return []
        results = self.serve(self.ctx, tickers)
        for r in results:
            log.info("%s %s", SERVE_JOB_ID, r.line())
            if r.failed:  # not retried every minute: a newer close, a restart or `jobs serve` tries again
                self.serve_failed[r.ticker] = r.origin
                log.warning("%s: %s not retried until a newer close is stored; run: python -m jobs serve --ticker %s",
                            SERVE_JOB_ID, r.ticker, r.ticker)
        return results

    def needs_serving(self, ticker: str) -> bool:
        """A champion of ``ticker`` is stale, no training run holds it (a run serves as it ends), its
        close has not already failed to serve, and no worker's serve task is still due for it."""
        engine = self.ctx.engine
        if leases.current_lease(engine, leases.training_lease(ticker), live=True) is not None:
            return False
        newest, stale, _ = stale_cells(self.ctx, ticker)
        if not stale or self.serve_failed.get(ticker) == newest:
            return False
        if self.ctx.settings.redis_url and newest is not None:
            with session_factory(engine)() as session:
                stored_at = session.scalar(select(func.max(Price.fetched_at)).where(Price.ticker == ticker,
                                                                                   Price.date == newest))
            if stored_at is not None and (self.ctx.now() - as_utc(stored_at)).total_seconds() < QUEUED_SERVE_GRACE_S:
                return False
        return True

    # --- setup --------------------------------------------------------------------
    def add_jobs(self, first_start: bool = True) -> None:
        sched = self.ctx.settings.schedule
        add = self.scheduler.add_job
        add(self.nightly, nightly_trigger(sched), id=NIGHTLY_JOB_ID, name="nightly pipeline", replace_existing=True)
        weekly = weekly_retrain_trigger(sched)
        if weekly is not None:
            add(self.weekly_retrain, weekly, id=WEEKLY_RETRAIN_JOB_ID, name="weekly full retrain", replace_existing=True)
        add(self.heartbeat, "interval", seconds=HEARTBEAT_SECONDS, id=HEARTBEAT_JOB_ID, replace_existing=True)
        add(self.sweep_queue, "interval", seconds=SWEEP_SECONDS, id=SWEEP_JOB_ID, next_run_time=self.ctx.now(),
            replace_existing=True)
        if not self.ctx.settings.redis_url:
            add(self.run_queued, "interval", seconds=QUEUE_POLL_SECONDS, id=QUEUE_JOB_ID, name=QUEUE_JOB_NAME,
                replace_existing=True)
        add(self.serve_stale, "interval", seconds=SERVE_SECONDS, id=SERVE_JOB_ID, name="serve stale champions",
            next_run_time=self.ctx.now(), replace_existing=True)
        add(self.check_alerts, "interval", seconds=self.ctx.settings.alerts.check_seconds, id=ALERTS_JOB_ID,
            name="alert checks", replace_existing=True)
        if first_start:
            reasons = [r for t in self.ctx.settings.tickers if (r := first_start_reason(self.ctx.engine, t))]
            if reasons:
                log.info("bootstrapping now: %s", "; ".join(reasons))
                add(self.first_start, "date", run_date=self.ctx.now(), id=FIRST_START_JOB_ID, misfire_grace_time=None)

    def stop_scheduler(self) -> None:
        """Shut the scheduler down if it runs (not from a signal handler: see ``run_clock``'s stop)."""
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    def on_event(self, event) -> None:
        if event.code == EVENT_SCHEDULER_STARTED and self.stopping.is_set():
            self.stop_scheduler()  # a stop signal while it was starting: stop now
            return
        if event.code == EVENT_SCHEDULER_STARTED:
            for job in self.scheduler.get_jobs():
                next_at = job.next_run_time.astimezone(timezone.utc).isoformat() if job.next_run_time else "never"
                log.info("scheduled %s (%s): next at %s", job.id, job.trigger, next_at)
        elif event.code == EVENT_JOB_MISSED:
            log.warning("job %s missed its %s run (beyond the misfire grace)", event.job_id, event.scheduled_run_time)
        elif event.code == EVENT_JOB_ERROR:
            log.error("job %s raised: %s", event.job_id, event.exception)
        try:
            write_clock_status(self.ctx.engine, self.scheduler, self.ctx.now())
        except Exception:
            log.exception("could not write clock status")

    def start(self, first_start: bool = True) -> None:
        """Recover, schedule, and block until SIGTERM / SIGINT."""
        failed = runs.mark_orphaned_runs_failed(self.ctx.engine, stale_after_s=self.ctx.settings.schedule.lease_ttl_s)
        if failed:
            log.warning("marked run(s) %s failed: their process died mid-run", ", ".join(map(str, failed)))
        self.add_jobs(first_start=first_start)
        self.scheduler.add_listener(
            self.on_event, EVENT_SCHEDULER_STARTED | EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED
        )
        if self.stopping.is_set():  # a stop signal during the set-up: never start
            return
        self.scheduler.start()  # BlockingScheduler: returns only after shutdown


def _not_yet(claimed: StoredRequest) -> RunResult:
    """A claimed request whose ticker another run took meanwhile: back in the queue (a refusal line)."""
    raise RunInProgress(f"request #{claimed.id} is back in the queue: a run of {claimed.ticker} started meanwhile")


class ClockBusy(JobError):
    """Another clock holds the clock lease (or took it from this one)."""


def hold_clock_lease(ctx: JobContext, should_stop: Callable[[], bool] = lambda: False,
                     sleep: Callable[[float], None] = time.sleep) -> tuple[str, float]:
    """Take the clock lease for this process; (holder, ttl). ClockBusy names the live clock.

    A lease held by another holder is watched until it expires (then taken) or is renewed: a live
    clock renews every TTL/4, so a second clock is refused within about that; a clock restarted
    right after a crash (kill -9, an out-of-memory kill: Heroku restarts it at once) waits out the
    dead one's lease instead of exiting, which would put the restart into the platform's backoff."""
    holder, ttl = leases.new_holder_id(), float(ctx.settings.schedule.lease_ttl_s)
    seen: leases.LeaseInfo | None = None
    give_up = time.monotonic() + ttl + 2
    while True:
        try:
            leases.acquire(ctx.engine, holder=holder, ttl_s=ttl, name=leases.CLOCK_LEASE)
            return holder, ttl
        except leases.LeaseBusy as exc:
            info = exc.current
        alive = info is not None and seen is not None and (info.holder, info.expires_at) != (seen.holder, seen.expires_at)
        if alive or should_stop() or time.monotonic() >= give_up:
            who = f"{info.holder}, since {info.acquired_at:%Y-%m-%d %H:%M:%S} UTC" if info else "held by another process"
            raise ClockBusy(f"another clock is running ({who}); run one clock only. A clock that was killed "
                            f"frees its lease {ttl:.0f} s (LEASE_TTL_SECONDS) after its last heartbeat")
        if seen is None and info is not None:
            log.info("the clock lease is held by %s: waiting to see whether that clock is alive "
                     "(refused if it renews its lease; started if the lease expires)", info.holder)
        seen = seen or info
        sleep(1.0)


def run_clock(ctx: JobContext, first_start: bool = True) -> int:
    """The ``clock`` command: refused (ClockBusy) while another clock runs; logs to stdout,
    stops cleanly on SIGTERM (Heroku) or Ctrl-C and frees the clock lease."""
    setup_logging("clock")
    # APScheduler says "Running job"/"executed successfully" twice a minute for the heartbeat alone; the
    # clock logs each job's outcome itself (``remember``), so only its warnings are kept.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    clock = Clock(ctx)

    def stop() -> None:
        # Called in the signal handler, on the main thread, which may be inside the scheduler holding its
        # executor's (non-reentrant) lock while it submits a job: shutting down here deadlocked the clock
        # (a SIGTERM just after start never stopped it). Another thread waits for that lock instead.
        log.info("%s: cancelling any run at its next epoch and stopping", stopping.reason)
        threading.Thread(target=clock.stop_scheduler, name="clock-stop", daemon=True).start()

    # The same stop request as every long command (jobs.stopping); the running job polls it.
    # Installed before the lease is taken, so a SIGTERM at any point still frees the lease.
    stopping = StopRequest(on_stop=stop).install()
    clock.stopping = stopping.event
    holder, ttl = hold_clock_lease(ctx, should_stop=stopping.event.is_set)
    try:
        return _run_holding_lease(clock, holder, ttl, first_start)
    finally:  # a store that is down now: the lease simply expires after its TTL
        best_effort(lambda: leases.release(ctx.engine, holder=holder, name=leases.CLOCK_LEASE),
                    what="releasing the clock lease")


def _run_holding_lease(clock: Clock, holder: str, ttl: float, first_start: bool) -> int:
    """Schedule and block, renewing the clock lease; a lost lease stops this clock (ClockBusy)."""
    engine = clock.ctx.engine

    def lost() -> None:  # another clock has the lease now: this one must not fire any job again
        clock.stopping.set()
        clock.stop_scheduler()

    keeper = leases.LeaseKeeper(engine, holder=holder, ttl_s=ttl, name=leases.CLOCK_LEASE, on_lost=lost).start()
    log.info("holding the clock lease as %s", holder)
    try:
        clock.start(first_start=first_start)
    finally:
        keeper.stop()
    if keeper.lost:
        taken = leases.current_lease(engine, leases.CLOCK_LEASE)
        raise ClockBusy(f"this clock stopped: its lease expired and was taken by {taken.holder if taken else 'nobody'} "
                        "(was this process frozen longer than LEASE_TTL_SECONDS?)")
    log.info("clock stopped")
    return 0
