"""The training pipeline: ONE function shared by the CLI, the nightly clock and the admin UI.

    run_pipeline(ctx, ticker=..., trigger=..., requested_by=..., action=...)

1. take the ticker's training lease ``training:<TICKER>`` (else RunInProgress naming
   the run in progress); runs of different tickers may overlap,
2. record the run, fail runs orphaned by a killed process,
3. update prices (incremental, overlap-checked; retries live in the source),
4. decide: ``skipped`` when no new trading day arrived (auto mode), first-time
   training when there is no GRU champion, a full retrain of all cells on the
   retrain weekday / every N nights, else a fine-tune of the GRU champion,
5. train (progress and cancel checks per epoch), record metrics before/after and
   whether a candidate was promoted (training promotes only if not worse),
6. finish the run (succeeded / skipped / failed with one line / cancelled) and
   release the lease. A failure never touches the served champion: training
   registers a model only once it is complete.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from types import ModuleType
from typing import Any, Callable, Sequence
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import Engine, func, select

from store import lease as leases
from store import runs
from store.db import StoreUnavailable, best_effort, retry_on_outage
from store.ledger import publish_after_run
from contract.vocab import CELLS
from store.prices import last_stored_date
from marketdata.sources.base import PriceSource, SourceUnavailable
from store.tables import Champion, ModelRecord, Run
from marketdata.tickers import parse_ticker
from store.price_updates import UpdateResult, update_from_sources

from .context import JobContext
from .errors import Cancelled, JobError, RunInProgress
from .progress import CancelFn, ProgressFn, no_progress

log = logging.getLogger(__name__)

# Share of the progress bar each phase takes.
PRICES_DONE = 0.08
TRAIN_END = 0.96
PROGRESS_WRITE_INTERVAL_S = 0.2  # at most ~5 progress writes a second; the last always lands
CANCEL_POLL_INTERVAL_S = 1.0


@dataclass
class Plan:
    kind: str  # finetune | retrain | first | skip
    cells: list[str] = field(default_factory=list)
    reason: str = ""


def champion_info(engine: Engine, ticker: str, cell: str) -> dict[str, Any] | None:
    """The served model of a ticker and cell: id, version, kind, data_end, metrics."""
    stmt = (
        select(ModelRecord.id, ModelRecord.version, ModelRecord.kind, ModelRecord.data_end, ModelRecord.metrics)
        .join(Champion, Champion.model_id == ModelRecord.id)
        .where(Champion.ticker == ticker, Champion.cell == cell)
    )
    with engine.connect() as conn:
        row = conn.execute(stmt).first()
    return None if row is None else dict(row._mapping)


def trained_through(engine: Engine, ticker: str) -> date | None:
    """Newest price day any model of the ticker was trained on, promoted or not."""
    with engine.connect() as conn:
        return conn.execute(select(func.max(ModelRecord.data_end)).where(ModelRecord.ticker == ticker)).scalar()


def compact_metrics(metrics: dict | None, cell: str) -> dict[str, Any] | None:
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


def _retrain_due(engine: Engine, ticker: str, settings, local_day: date) -> str | None:
    sched = settings.schedule
    if sched.retrain_weekday and local_day.strftime("%a").lower() == sched.retrain_weekday:
        return f"full retrain: {local_day:%A} is the retrain weekday (RETRAIN_WEEKDAY)"
    n = sched.retrain_every_nights
    if n > 0:
        with engine.connect() as conn:
            details = conn.execute(
                select(Run.detail)
                .where(Run.ticker == ticker, Run.status == "succeeded")
                .order_by(Run.id.desc())
                .limit(n + 50)
            ).scalars()
            finetunes = 0
            for d in details:
                plan = (d or {}).get("plan")
                if plan in ("retrain", "first"):
                    break
                if plan == "finetune":
                    finetunes += 1
        if finetunes >= n:
            return f"full retrain: {finetunes} fine-tunes since the last retrain (RETRAIN_EVERY_N_NIGHTS={n})"
    return None


def _no_new_day_reason(last_price: date, through: date, local_day: date) -> str:
    from marketdata.calendar import is_trading_day

    reason = f"no new trading day: prices end {last_price}, and models were already trained through {through}"
    if not is_trading_day(local_day):
        why = "a weekend" if local_day.weekday() >= 5 else "an NYSE holiday"
        reason += f"; today {local_day} ({local_day:%A}) is {why}"
    elif last_price < local_day:
        reason += f"; today {local_day} is an NYSE session but the source has no prices for it yet"
    return reason


def choose_plan(
    engine: Engine,
    settings,
    *,
    ticker: str,
    action: str,
    cells: Sequence[str] | None,
    last_price: date | None,
    local_day: date,
) -> Plan:
    """What this run will do; pure decisions over the store's state.

    ``action="finetune"`` with ``cells`` (one cell) fine-tunes that cell's champion and
    fails without one; without ``cells`` it fine-tunes the GRU, or trains every cell
    first when there is no GRU champion yet (a fresh store).
    """
    if action == "finetune" and cells:
        if len(cells) != 1:
            raise JobError(f"fine-tune one cell at a time, got {', '.join(cells)}")
        champ = champion_info(engine, ticker, cells[0])
        if champ is None:
            raise JobError(f"no {cells[0]} champion for {ticker} to fine-tune; "
                           f"run: python -m jobs train --cells {cells[0]}")
    if last_price is None:
        raise JobError(f"no prices stored for {ticker}; run: python -m jobs init (or check the price sources)")
    gru = champion_info(engine, ticker, "gru")
    if action == "retrain":
        return Plan("retrain", list(cells or CELLS), "full retrain requested")
    if action == "finetune" and cells:
        return Plan("finetune", [cells[0]], f"fine-tune of {cells[0]} champion #{champ['id']} requested")
    if gru is None:
        return Plan("first", list(cells or CELLS), "first-time training: no GRU champion yet")
    if action == "finetune":
        return Plan("finetune", ["gru"], f"fine-tune of GRU champion #{gru['id']} requested")
    through = trained_through(engine, ticker)
    if through is not None and last_price <= through:
        return Plan("skip", [], _no_new_day_reason(last_price, through, local_day))
    due = _retrain_due(engine, ticker, settings, local_day)
    if due:
        return Plan("retrain", list(cells or CELLS), due)
    return Plan("finetune", ["gru"], f"nightly fine-tune of GRU champion #{gru['id']} on data through {last_price}")


class _Progress:
    """Maps a phase's 0..1 onto the run's bar, writes it (throttled) and forwards it."""

    def __init__(self, engine: Engine, run_id: int, forward: ProgressFn, now):
        self.engine, self.run_id, self.forward, self.now = engine, run_id, forward, now
        self._last_write = 0.0

    def __call__(self, fraction: float, message: str, *, force: bool = False) -> None:
        self.forward(fraction, message)
        t = time.monotonic()
        if force or fraction >= 1.0 or t - self._last_write >= PROGRESS_WRITE_INTERVAL_S:
            self._last_write = t
            # Superseded by the next write: a database blip costs one bar update, not the run.
            best_effort(lambda: runs.update_progress(self.engine, self.run_id, fraction, message, self.now()),
                        what=f"writing the progress of run {self.run_id}")

    def phase(self, start: float, end: float) -> ProgressFn:
        def report(fraction: float, message: str) -> None:
            self(start + (end - start) * min(1.0, max(0.0, fraction)), message, force=fraction >= 1.0)

        return report


class _CancelCheck:
    """True when the caller, an admin (cancel flag in the run row) or a lost lease says stop."""

    def __init__(self, engine: Engine, run_id: int, external: CancelFn | None, keeper: leases.LeaseKeeper):
        self.engine, self.run_id, self.external, self.keeper = engine, run_id, external, keeper
        self._last_poll = 0.0
        self._db_says = False
        self.reason = ""

    def __call__(self) -> bool:
        if self.keeper.lost:
            self.reason = "the training lease expired and was taken over by another process"
            return True
        if self.external is not None and self.external():
            # A StopRequest says which signal; other callers (a UI) are "the caller".
            self.reason = getattr(self.external, "reason", "") or "cancelled by the caller"
            return True
        t = time.monotonic()
        if not self._db_says and t - self._last_poll >= CANCEL_POLL_INTERVAL_S:
            self._last_poll = t
            self._db_says = best_effort(lambda: runs.is_cancel_requested(self.engine, self.run_id),
                                        what=f"polling the cancel flag of run {self.run_id}", default=False)
        if self._db_says:
            self.reason = "cancel requested"
        return self._db_says

    def check(self) -> None:
        if self():
            raise Cancelled(self.reason)


def _must(ctx: JobContext, what: str, fn: Callable[[], Any], budget_s: float | None = None) -> Any:
    """A write the run's record needs: retried through a database outage for at most
    ``budget_s`` (default STORE_RETRY_SECONDS), then StoreUnavailable."""
    budget = ctx.settings.schedule.store_retry_s if budget_s is None else budget_s
    return retry_on_outage(fn, what=what, budget_s=budget)


FAILURE_RECORD_RETRY_S = 15.0  # after a first outage budget ran out: a shorter second try


def _trainer() -> ModuleType:
    from . import training  # imports TensorFlow: only when a run actually trains

    return training


def _update_prices(ctx: JobContext, ticker: str, source) -> UpdateResult:
    from config.price_sources import configured_sources

    if source is None:
        sources = configured_sources(ctx.settings)
    elif isinstance(source, PriceSource):
        sources = [source]
    else:
        sources = list(source)
    return update_from_sources(ctx.engine, ticker, sources, ctx.settings.overlap_days, ctx.now())


def run_pipeline(
    ctx: JobContext,
    *,
    ticker: str | None = None,
    trigger: str = "manual",
    requested_by: str = "cli",
    action: str = "auto",
    cells: Sequence[str] | None = None,
    epochs: int | None = None,
    seed: int = 42,
    promote: bool = True,
    update_prices: bool = True,
    source: PriceSource | Sequence[PriceSource] | None = None,
    prices: pd.DataFrame | None = None,
    progress: ProgressFn = no_progress,
    should_cancel: CancelFn | None = None,
    on_start: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Run the pipeline once; returns the finished run record (``store.runs`` dict).

    Raises RunInProgress (nothing recorded) if another run of the same ticker holds its
    lease (``training:<TICKER>``; different tickers train in parallel). Every other
    failure is recorded on the run (status ``failed``, one-line ``error``) and returned.
    ``seed`` seeds fresh networks (fine-tunes keep the champion's); ``promote=False``
    stores fresh networks without promoting them; ``update_prices=False`` trains on
    the stored prices as they are (``python -m jobs train``/``finetune``);
    ``source`` overrides the configured price sources; ``prices`` skips the price
    update and trains on that frame (e.g. a truncated history); ``on_start`` is
    called with the new run id as soon as the run is recorded (a UI can then follow
    ``store.runs.get_run`` and offer ``request_cancel``). Training is always
    ``jobs.training`` (imported, with TensorFlow, only when a run trains).
    """
    engine, settings = ctx.engine, ctx.settings
    ticker = parse_ticker(ticker or settings.default_ticker)  # TickerError before anything is recorded
    settings.check("prices", "pipeline")  # e.g. a web process with a bad PIPELINE_EPOCHS refuses here
    if action not in runs.ACTIONS:
        raise JobError(f"action {action!r} must be one of {', '.join(runs.ACTIONS)}")
    if trigger not in runs.TRIGGERS:
        raise JobError(f"trigger {trigger!r} must be one of {', '.join(runs.TRIGGERS)}")
    if cells:
        bad = [c for c in cells if c not in CELLS]
        if bad:
            raise JobError(f"unknown cell type(s) {', '.join(bad)}; choose from {', '.join(CELLS)}")
    ttl = settings.schedule.lease_ttl_s
    holder = leases.new_holder_id()
    lease = leases.training_lease(ticker)
    try:
        _must(ctx, "taking the training lease",
              lambda: leases.acquire(engine, holder=holder, now=ctx.now(), ttl_s=ttl, name=lease))
    except leases.LeaseBusy as exc:
        raise RunInProgress(str(exc)) from None

    run_id: int | None = None
    keeper = leases.LeaseKeeper(engine, holder=holder, ttl_s=ttl, now=ctx.now, name=lease)
    try:
        orphans = _must(ctx, "recovering orphaned runs",
                        lambda: runs.mark_orphaned_runs_failed(engine, ctx.now(), stale_after_s=ttl))
        if orphans:
            log.warning("marked orphaned run(s) %s failed", ", ".join(map(str, orphans)))
        run_id = _must(ctx, "recording the run", lambda: runs.start_run(
            engine, ticker=ticker, trigger=trigger, requested_by=requested_by, action=action, now=ctx.now()
        ))
        _must(ctx, "naming the run on the lease",
              lambda: leases.attach_run(engine, holder=holder, run_id=run_id, name=lease))
        keeper.on_beat = lambda now: runs.heartbeat(engine, run_id, now)
        keeper.start()
        if on_start is not None:
            on_start(run_id)
        options = dict(epochs=epochs, seed=seed, promote=promote, update_prices=update_prices, source=source,
                       prices=prices)
        run = _run(ctx, run_id, ticker, action, cells, progress, should_cancel, keeper, **options)
        publish_after_run(engine, ticker, trigger=trigger, now=ctx.now())  # the forecast ledger; never raises
        return run
    except BaseException as exc:  # SystemExit/KeyboardInterrupt too: never leave a run "running"
        if run_id is not None:
            status = "cancelled" if isinstance(exc, Cancelled) else "failed"
            error = str(exc) if isinstance(exc, (JobError, StoreUnavailable)) else runs.one_line(exc)
            try:
                _must(ctx, f"recording that run {run_id} {status}",
                      lambda: runs.finish_run(engine, run_id, status, now=ctx.now(), error=error),
                      budget_s=min(FAILURE_RECORD_RETRY_S, settings.schedule.store_retry_s))
            except Exception as record_exc:  # the store is still down: the next run's orphan check fails it
                log.warning("could not record the end of run %s (%s); the next run marks it failed",
                            run_id, runs.one_line(record_exc))
        raise
    finally:
        keeper.stop()
        try:
            best_effort(lambda: leases.release(engine, holder=holder, name=lease), what="releasing the training lease")
        except Exception as exc:  # the lease then simply expires after its TTL
            log.warning("could not release the training lease: %s", runs.one_line(exc))


def _run(ctx, run_id, ticker, action, cells, progress, should_cancel, keeper, *, epochs, seed, promote, update_prices,
         source, prices):
    engine, settings = ctx.engine, ctx.settings
    report = _Progress(engine, run_id, progress, ctx.now)
    cancel = _CancelCheck(engine, run_id, should_cancel, keeper)
    detail: dict[str, Any] = {}

    def save(fn, what: str = f"recording run {run_id}"):
        return _must(ctx, what, fn)

    try:
        # 1. prices
        report(0.01, "updating prices" if update_prices and prices is None else "reading prices", force=True)
        if prices is None and not update_prices:
            last_price = save(lambda: last_stored_date(engine, ticker))
            save(lambda: runs.add_step(engine, run_id, "prices", f"{ticker}: training on the stored prices, "
                                       f"up to {last_price} (no update)", ctx.now()))
        elif prices is None:
            try:
                update = _update_prices(ctx, ticker, source)
            except SourceUnavailable as exc:
                raise JobError(f"price update failed, nothing trained: {runs.one_line(str(exc))}") from exc
            save(lambda: runs.record(engine, run_id, rows_fetched=update.added))
            save(lambda: runs.add_step(engine, run_id, "prices", update.message, ctx.now(), source=update.source,
                                       added=update.added))
            last_price = save(lambda: last_stored_date(engine, ticker))
        else:
            last_price = prices.index[-1].date()
            save(lambda: runs.add_step(engine, run_id, "prices", f"{ticker}: given {len(prices)} rows up to {last_price}",
                                       ctx.now()))
        report(PRICES_DONE, "prices ready", force=True)
        cancel.check()

        # 2. decide
        local_day = ctx.now().astimezone(ZoneInfo(settings.schedule.timezone)).date()
        plan = save(lambda: choose_plan(
            engine, settings, ticker=ticker, action=action, cells=cells, last_price=last_price, local_day=local_day
        ))
        detail.update(plan=plan.kind, cells=plan.cells, reason=plan.reason, data_end=str(last_price))
        save(lambda: runs.record(engine, run_id, detail=detail))
        save(lambda: runs.add_step(engine, run_id, "plan", plan.reason, ctx.now()))
        if plan.kind == "skip":
            return save(lambda: runs.finish_run(engine, run_id, "skipped", now=ctx.now(), message=plan.reason,
                                                detail=detail))
        cancel.check()

        # 3. train
        before = save(lambda: {c: champion_info(engine, ticker, c) for c in plan.cells})
        metrics_before = {c: ({"model_id": b["id"], **(compact_metrics(b["metrics"], c) or {})} if b else None) for c, b in before.items()}
        save(lambda: runs.record(engine, run_id, metrics_before=metrics_before))
        trainer = _trainer()
        train_progress = report.phase(PRICES_DONE, TRAIN_END)
        train_progress(0.0, f"{plan.kind}: {', '.join(plan.cells)}")
        train_started = time.perf_counter()
        if plan.kind == "finetune":
            n = epochs or settings.schedule.finetune_epochs or settings.schedule.epochs
            outcomes = [
                trainer.finetune_cell(
                    ctx, ticker, plan.cells[0], epochs=n, run_id=run_id, progress=train_progress,
                    should_cancel=cancel, prices=prices,
                )
            ]
        else:
            n = epochs or settings.schedule.epochs
            outcomes = list(
                trainer.train_cells(
                    ctx, ticker, plan.cells, epochs=n, run_id=run_id, progress=train_progress,
                    should_cancel=cancel, prices=prices, seed=seed, promote=promote,
                )
            )

        train_wall = time.perf_counter() - train_started
        detail["epochs"] = n  # the admin page's run history shows it

        # 4. record
        metrics_after, promoted_cells = {}, []
        detail["models"] = []
        for o in outcomes:
            metrics_after[o.cell] = {"model_id": o.model_id, **(compact_metrics(o.metrics, o.cell) or {})}
            if o.promoted:
                promoted_cells.append(o.cell)
            detail["models"].append(
                {"model_id": o.model_id, "cell": o.cell, "kind": o.kind, "promoted": bool(o.promoted),
                 "previous_champion_id": o.previous_champion_id, "seconds": round(float(o.seconds), 2),
                 "promotion": o.promotion.as_dict()}
            )
        detail["train_seconds"] = round(train_wall, 2)  # wall time of the training step, all cells
        summary = (
            f"{plan.kind}: trained {', '.join(o.cell for o in outcomes)} in {detail['train_seconds']:.1f}s; "
            + (f"promoted {', '.join(promoted_cells)}" if promoted_cells
               else "champion kept (promotion not asked for)" if not promote and plan.kind != "finetune"
               else "champion kept (candidate was worse)")
        )
        save(lambda: runs.add_step(engine, run_id, "train", summary, ctx.now()))
        for o in outcomes:  # the candidate's and the champion's figures on one shared window, side by side
            save(lambda o=o: runs.add_step(engine, run_id, "promotion", f"{o.cell}: {o.promotion.reason}", ctx.now()))
        report(TRAIN_END, summary, force=True)
        return save(lambda: runs.finish_run(
            engine, run_id, "succeeded", now=ctx.now(), message=summary, detail=detail,
            metrics_after=metrics_after, promoted=bool(promoted_cells),
        ), "recording the end of the run")
    except Cancelled as exc:
        reason = str(exc) or cancel.reason or "cancelled"
        if cancel.reason and cancel.reason not in reason:
            reason = f"{reason} ({cancel.reason})"  # who asked: a signal, an admin, a lost lease
        log.warning("run %s cancelled: %s", run_id, reason)
        return save(lambda: runs.finish_run(engine, run_id, "cancelled", now=ctx.now(), message=reason, error=reason,
                                            detail=detail), "recording the end of the run")
    except StoreUnavailable:
        raise  # the budget is spent; run_pipeline makes one shorter attempt to record the failure
    except Exception as exc:
        log.error("run %s failed: %s", run_id, runs.one_line(exc), exc_info=log.isEnabledFor(logging.DEBUG))
        error = str(exc) if isinstance(exc, JobError) else runs.one_line(exc)
        return save(lambda: runs.finish_run(
            engine, run_id, "failed", now=ctx.now(), error=error, detail=detail,
            message="failed; the last promoted champions stay served",
        ), "recording the end of the run")
