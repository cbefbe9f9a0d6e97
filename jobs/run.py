"""A run of the pipeline: ONE function shared by the CLI, the clock, Celery and the admin UI.

    run_pipeline(ctx, RunRequest.build("AAPL", trigger="nightly"), RunHooks(progress=...))

1. take the ticker's training lease ``training:<TICKER>`` (else RunInProgress naming
   the run in progress); runs of different tickers may overlap,
2. record the run, fail runs orphaned by a killed process,
3. update prices (incremental, overlap-checked; retries live in the source),
4. decide the plan (``jobs.plan``),
5. train (progress and cancel checks per epoch), record metrics before/after and
   whether a candidate was promoted (training promotes only if not worse),
6. finish the run (succeeded / skipped / failed with one line / cancelled), publish
   the forecast ledger and release the lease. A failure never touches the served
   champion: training registers a model only once it is complete.

Returns the ``RunResult`` read back from the run's record.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Callable, TypeVar
from zoneinfo import ZoneInfo

from contract.errors import EXPECTED, one_line
from contract.run import RunRequest, RunResult
from contract.vocab import PlanKind, RunStatus
from marketdata.sources.base import SourceUnavailable
from marketdata.tickers import parse_ticker
from store import lease as leases
from store import registry, runs
from store.db import StoreUnavailable, best_effort, retry_on_outage
from store.ledger import publish_after_run
from price_feed.updates import update_from_sources
from store.prices import last_stored_date

from .context import JobContext
from .errors import Cancelled, PriceUpdateFailed, RunInProgress
from .plan import Plan, choose_plan
from .progress import CancelFn, Follow, ProgressFn, no_progress
from .run_watch import CancelCheck, RunProgress

log = logging.getLogger(__name__)
T = TypeVar("T")

# Share of the progress bar each phase takes.
PRICES_DONE = 0.08
TRAIN_END = 0.96
FAILURE_RECORD_RETRY_S = 15.0  # after a first outage budget ran out: a shorter second try


@dataclass(frozen=True)
class RunHooks:
    """How a caller follows a run: progress lines, its own stop request, the new run's id."""

    progress: ProgressFn = no_progress
    should_cancel: CancelFn | None = None
    on_start: Callable[[int], None] | None = None  # a UI follows store.runs.get_run(run_id) and offers cancel


@dataclass
class _Running:
    """One run in progress: what every step needs."""

    ctx: JobContext
    request: RunRequest
    run_id: int
    report: RunProgress
    cancel: CancelCheck
    detail: dict[str, Any] = field(default_factory=dict)  # the run row's ``detail`` JSON, as it grows

    def save(self, fn: Callable[[], T], what: str = "") -> T:
        """A write the run's record needs, retried through a database outage."""
        return _must(self.ctx, what or f"recording run {self.run_id}", fn)

    def step(self, name: str, message: str, **extra: Any) -> None:
        self.save(lambda: runs.add_step(self.ctx.engine, self.run_id, name, message, **extra))

    def finish(self, status: RunStatus, **fields: Any) -> dict[str, Any]:
        return self.save(lambda: runs.finish_run(self.ctx.engine, self.run_id, status, detail=self.detail, **fields),
                         "recording the end of the run")


def _must(ctx: JobContext, what: str, fn: Callable[[], T], budget_s: float | None = None) -> T:
    """Retried through a database outage for at most ``budget_s`` (default STORE_RETRY_SECONDS),
    then StoreUnavailable."""
    budget = ctx.settings.schedule.store_retry_s if budget_s is None else budget_s
    return retry_on_outage(fn, what=what, budget_s=budget)


def run_pipeline(ctx: JobContext, request: RunRequest, hooks: RunHooks = RunHooks()) -> RunResult:
    """Run the pipeline once for ``request``; the finished run's result.

    Raises RunInProgress (nothing recorded) if another run of the same ticker holds its
    lease, and the request's refusals (a bad ticker, a setting out of range) before
    anything is recorded. Every other failure is recorded on the run (status
    ``failed``, one-line ``error``) and returned.
    """
    request = _checked(ctx, request)
    holder, name = leases.new_holder_id(), leases.training_lease(request.ticker)
    ttl = ctx.settings.schedule.lease_ttl_s
    try:
        _must(ctx, "taking the training lease",
              lambda: leases.acquire(ctx.engine, holder=holder, ttl_s=ttl, name=name))
    except leases.LeaseBusy as exc:
        raise RunInProgress(str(exc)) from None
    keeper = leases.LeaseKeeper(ctx.engine, holder=holder, ttl_s=ttl, name=name)
    run_id: int | None = None
    record: dict[str, Any] | None = None
    by_admin = False
    try:
        try:
            run_id = _start_record(ctx, request, holder, name)
            keeper.on_beat = lambda: runs.heartbeat(ctx.engine, run_id)
            keeper.start()
            if hooks.on_start is not None:
                hooks.on_start(run_id)
            running = _Running(ctx, request, run_id, RunProgress(ctx.engine, run_id, hooks.progress),
                               CancelCheck(ctx.engine, run_id, hooks.should_cancel, keeper))
            record = _run(running)
            by_admin = running.cancel.by_admin
            publish_after_run(ctx.engine, request.ticker, trigger=request.trigger, now=ctx.now())  # never raises
            return RunResult.from_record(record)
        except BaseException as exc:  # SystemExit/KeyboardInterrupt too: never leave a run "running"
            if run_id is not None:
                _record_escape(ctx, run_id, exc)
            raise
        finally:
            keeper.stop()
            _release(ctx, holder, name)
    finally:
        # Only once the lease is free and the end recorded: a slow or dead webhook (retries, timeouts)
        # then holds up no queued run of the ticker. Never raises: an alert never breaks a run.
        if run_id is not None:
            _alert_run_end(ctx, record or best_effort(lambda: runs.get_run(ctx.engine, run_id),
                                                      what=f"reading run {run_id}"), by_admin)


def _checked(ctx: JobContext, request: RunRequest) -> RunRequest:
    """The ticker through the one pattern, and this process's pipeline settings, before anything is recorded."""
    parse_ticker(request.ticker)  # TickerError
    ctx.settings.check("prices", "pipeline")  # e.g. a web process with a bad PIPELINE_EPOCHS refuses here
    return request


def _start_record(ctx: JobContext, request: RunRequest, holder: str, lease_name: str) -> int:
    ttl = ctx.settings.schedule.lease_ttl_s
    orphans = _must(ctx, "recovering orphaned runs",
                    lambda: runs.mark_orphaned_runs_failed(ctx.engine, stale_after_s=ttl))
    if orphans:
        log.warning("marked orphaned run(s) %s failed", ", ".join(map(str, orphans)))
    run_id = _must(ctx, "recording the run", lambda: runs.start_run(
        ctx.engine, ticker=request.ticker, trigger=request.trigger, requested_by=request.requested_by,
        action=request.action))
    _must(ctx, "naming the run on the lease",
          lambda: leases.attach_run(ctx.engine, holder=holder, run_id=run_id, name=lease_name))
    return run_id


def _record_escape(ctx: JobContext, run_id: int, exc: BaseException) -> None:
    """An exception left the run (a store outage that outlasted its budget, a signal): record it."""
    status = RunStatus.CANCELLED if isinstance(exc, Cancelled) else RunStatus.FAILED
    error = _error_line(exc)
    try:
        _must(ctx, f"recording that run {run_id} {status}",
              lambda: runs.finish_run(ctx.engine, run_id, status, error=error),
              budget_s=min(FAILURE_RECORD_RETRY_S, ctx.settings.schedule.store_retry_s))
    except Exception as record_exc:  # the store is still down: the next run's orphan check fails it
        log.warning("could not record the end of run %s (%s); the next run marks it failed",
                    run_id, one_line(record_exc))
        return


def _alert_run_end(ctx: JobContext, record: dict[str, Any] | None, by_admin: bool) -> None:
    """A failed run (or one stopped by a fault) opens its ticker's incident at once; a run that
    succeeded or was skipped clears it (``alerts``). Never raises: an alert never breaks a run."""
    from alerts.check import apply
    from alerts.conditions import run_outcome

    if record is None or record.get("status") == RunStatus.RUNNING:  # the end could not be recorded
        return
    try:
        outcome = run_outcome(record["ticker"], record["id"], RunStatus(record["status"]), record.get("error"),
                              record.get("finished_at") or ctx.now(), by_admin=by_admin)
        if outcome is not None:
            apply(ctx.engine, ctx.settings, [outcome], ctx.now())
    except Exception as exc:
        log.error("run %s: could not evaluate its alert: %s", record.get("id"), one_line(exc))


def _error_line(exc: BaseException) -> str:
    """The run's one-line error: an expected error's own message, else ``Type: first line``."""
    return str(exc) if isinstance(exc, EXPECTED) else one_line(exc)


def _release(ctx: JobContext, holder: str, name: str) -> None:
    try:
        best_effort(lambda: leases.release(ctx.engine, holder=holder, name=name), what="releasing the training lease")
    except Exception as exc:  # the lease then simply expires after its TTL
        log.warning("could not release the training lease: %s", one_line(exc))


def _run(r: _Running) -> dict[str, Any]:
    """Prices, plan, training, record; a failure or cancel inside becomes the run's status."""
    try:
        last_price = _prices_step(r)
        plan = _plan_step(r, last_price)
        if plan.kind is PlanKind.SKIP:
            _serve_step(r)  # no training tonight; the champions still forecast from the newest close
            return r.finish(RunStatus.SKIPPED, message=plan.reason)
        r.cancel.check()
        return _train_step(r, plan)
    except Cancelled as exc:
        reason = str(exc) or r.cancel.reason or "cancelled"
        if r.cancel.reason and r.cancel.reason not in reason:
            reason = f"{reason} ({r.cancel.reason})"  # who asked: a signal, an admin, a lost lease
        log.warning("run %s cancelled: %s", r.run_id, reason)
        if r.cancel.by_admin:
            _serve_step(r)  # an admin stopped tonight's training, not the forecast: the champions serve
        return r.finish(RunStatus.CANCELLED, message=reason, error=reason)
    except StoreUnavailable:
        raise  # the budget is spent; run_pipeline makes one shorter attempt to record the failure
    except Exception as exc:
        log.error("run %s failed: %s", r.run_id, one_line(exc), exc_info=log.isEnabledFor(logging.DEBUG))
        error = _error_line(exc)
        _serve_step(r)
        return r.finish(RunStatus.FAILED, error=error, message="failed; the last promoted champions stay served")


def _prices_step(r: _Running) -> date | None:
    """Update (or just read) the prices; the newest stored day."""
    ctx, ticker = r.ctx, r.request.ticker
    r.report(0.01, "updating prices" if r.request.update_prices else "reading prices", force=True)
    if not r.request.update_prices:
        last_price = r.save(lambda: last_stored_date(ctx.engine, ticker))
        r.step("prices", f"{ticker}: training on the stored prices, up to {last_price} (no update)")
    else:
        try:
            update = update_from_sources(ctx.engine, ticker, ctx.price_sources(), ctx.settings.overlap_days, ctx.now())
            r.save(lambda: runs.record(ctx.engine, r.run_id, rows_fetched=update.added))
            r.step("prices", update.message, source=update.source, added=update.added)
        except SourceUnavailable as exc:
            _on_stored_prices(r, exc)
        last_price = r.save(lambda: last_stored_date(ctx.engine, ticker))
    r.report(PRICES_DONE, "prices ready", force=True)
    r.cancel.check()
    return last_price


def _on_stored_prices(r: _Running, exc: SourceUnavailable) -> None:
    """The source is unreachable: go on with the stored prices when they hold a close newer than the
    oldest served forecast (or nothing is served yet), recorded in one line; else PriceUpdateFailed."""
    ctx, ticker = r.ctx, r.request.ticker
    newest = r.save(lambda: last_stored_date(ctx.engine, ticker))
    origins = r.save(lambda: registry.champion_forecast_origins(ctx.engine, ticker))
    served = [d for d in origins.values() if d is not None]
    if newest is None or (served and newest <= min(served)):
        raise PriceUpdateFailed(f"price update failed, nothing trained: {one_line(str(exc))}") from exc
    line = (f"{ticker}: price source not reachable ({one_line(str(exc))}); "
            f"working on the stored prices up to {newest}")
    log.warning("run %s: %s", r.run_id, line)
    r.step("prices", line, source="store", added=0)


def _plan_step(r: _Running, last_price: date | None) -> Plan:
    settings = r.ctx.settings
    local_day = r.ctx.now().astimezone(ZoneInfo(settings.schedule.timezone)).date()
    plan = r.save(lambda: choose_plan(r.ctx.engine, settings.schedule, r.request, last_price, local_day))
    r.detail.update(plan=str(plan.kind), cells=[str(c) for c in plan.cells], reason=plan.reason,
                    data_end=str(last_price))
    r.save(lambda: runs.record(r.ctx.engine, r.run_id, detail=r.detail))
    r.step("plan", plan.reason)
    return plan


def _train_step(r: _Running, plan: Plan) -> dict[str, Any]:
    from . import candidates  # imports TensorFlow: only when a run actually trains

    before = r.save(lambda: {c: registry.champion(r.ctx.engine, r.request.ticker, c) for c in plan.cells})
    metrics_before = {str(c): ({"model_id": b.id, **(compact_metrics(b.metrics, c) or {})} if b else None)
                      for c, b in before.items()}
    r.save(lambda: runs.record(r.ctx.engine, r.run_id, metrics_before=metrics_before))
    progress = r.report.phase(PRICES_DONE, TRAIN_END)
    progress(0.0, f"{plan.kind}: {', '.join(plan.cells)}")
    started = time.perf_counter()
    epochs = _epochs(r, plan)
    follow = Follow(progress, r.cancel)
    if plan.kind is PlanKind.FINETUNE:
        outcomes = [candidates.finetune_champion(r.ctx, r.request.ticker, plan.cells[0],
                                                 candidates.TrainControls(epochs=epochs, run_id=r.run_id), follow)]
    else:
        controls = candidates.TrainControls(epochs=epochs, seed=r.request.seed, promote=r.request.promote,
                                            run_id=r.run_id)
        outcomes = list(candidates.train_cells(r.ctx, r.request.ticker, plan.cells, controls, follow))
    r.detail["epochs"] = epochs  # the admin page's run history shows it
    r.detail["train_seconds"] = round(time.perf_counter() - started, 2)  # wall time of the training step
    return _record_outcomes(r, plan, outcomes)


def _epochs(r: _Running, plan: Plan) -> int | None:
    """The request's epochs, else the schedule's (None: the network's own default)."""
    sched = r.ctx.settings.schedule
    if r.request.epochs:
        return r.request.epochs
    return (sched.finetune_epochs or sched.epochs) if plan.kind is PlanKind.FINETUNE else sched.epochs


def _record_outcomes(r: _Running, plan: Plan, outcomes: list[Any]) -> dict[str, Any]:
    """The trained models, their figures and what was promoted, as the run's record."""
    metrics_after = {o.cell: {"model_id": o.model_id, **(compact_metrics(o.metrics, o.cell) or {})} for o in outcomes}
    promoted = [o.cell for o in outcomes if o.promoted]
    r.detail["models"] = [
        {"model_id": o.model_id, "cell": o.cell, "kind": o.kind, "promoted": bool(o.promoted),
         "previous_champion_id": o.previous_champion_id, "seconds": round(float(o.seconds), 2),
         "promotion": o.promotion.as_dict()} for o in outcomes]
    kept = ("champion kept (promotion not asked for)" if not r.request.promote and plan.kind is not PlanKind.FINETUNE
            else "champion kept (candidate was worse)")
    summary = (f"{plan.kind}: trained {', '.join(o.cell for o in outcomes)} in {r.detail['train_seconds']:.1f}s; "
               + (f"promoted {', '.join(promoted)}" if promoted else kept))
    r.step("train", summary)
    for o in outcomes:  # the candidate's and the champion's figures on one shared window, side by side
        r.step("promotion", f"{o.cell}: {o.promotion.reason}")
    r.report(TRAIN_END, summary, force=True)
    _serve_step(r)
    return r.finish(RunStatus.SUCCEEDED, message=summary, metrics_after=metrics_after, promoted=bool(promoted))


def _serve_step(r: _Running) -> str:
    """Every champion forecasts from the newest stored close (``jobs.serve``), trained tonight or not.

    After training, so a newly promoted model serves at once; a losing candidate leaves
    its champion serving. Never raises: a forecast that cannot be made is a log line and
    a step, and the run's own outcome stands. Returns the step's line."""
    from .serve import serve_ticker

    try:
        line = serve_ticker(r.ctx, r.request.ticker, r.report.phase(TRAIN_END, 1.0)).line()
    except StoreUnavailable:
        raise
    except Exception as exc:
        line = f"{r.request.ticker}: serving failed ({one_line(exc)}); the stored forecasts stay"
        log.warning("run %s: %s", r.run_id, line)
    r.detail["served"] = line
    r.step("serve", line)
    return line


def compact_metrics(metrics: Any, cell: str) -> dict[str, Any] | None:
    """The headline figures of a metric table (the full table stays with the model)."""
    if not metrics:
        return None
    rows = metrics.get("rows") if isinstance(metrics, dict) else None
    if isinstance(rows, dict) and cell in rows:
        row = rows[cell]
        out = {k: row.get(k) for k in ("rmse", "mae", "mape", "rmse_ratio", "directional_accuracy") if k in row}
        if "persistence" in rows:
            out["persistence_rmse"] = rows["persistence"].get("rmse")
        return out
    return {k: v for k, v in metrics.items() if isinstance(v, (int, float, str, bool)) or v is None}
