"""What a run will do, decided from the request and the store's state (no training here).

``skip`` when no new trading day arrived (auto mode), ``first`` when there is no GRU
champion yet, ``retrain`` (all cells) on the retrain weekday or every N nights, else a
``finetune`` of the GRU champion. An explicit action overrides the schedule.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Engine, func, select

from config.settings import ScheduleSettings
from contract.run import RunRequest
from contract.vocab import CELLS, DEFAULT_CELL, Action, Cell, PlanKind, RunStatus
from marketdata.calendar import is_trading_day
from store import registry
from store.tables import ModelRecord, Run

from .errors import JobError

RETRAIN_LOOKBACK_RUNS = 50  # how far back past N nights to look for the last retrain


@dataclass(frozen=True)
class Plan:
    kind: PlanKind
    cells: tuple[Cell, ...] = field(default_factory=tuple)
    reason: str = ""


def trained_through(engine: Engine, ticker: str) -> date | None:
    """Newest price day any model of the ticker was trained on, promoted or not."""
    with engine.connect() as conn:
        day: date | None = conn.execute(
            select(func.max(ModelRecord.data_end)).where(ModelRecord.ticker == ticker)).scalar()
        return day


def _finetunes_since_retrain(engine: Engine, ticker: str, limit: int) -> int:
    with engine.connect() as conn:
        details = conn.execute(
            select(Run.detail).where(Run.ticker == ticker, Run.status == RunStatus.SUCCEEDED)
            .order_by(Run.id.desc()).limit(limit)
        ).scalars()
        finetunes = 0
        for d in details:
            plan = (d or {}).get("plan")
            if plan in (PlanKind.RETRAIN, PlanKind.FIRST):
                break
            finetunes += plan == PlanKind.FINETUNE
    return finetunes


def _retrain_due(engine: Engine, ticker: str, schedule: ScheduleSettings, local_day: date) -> str | None:
    if schedule.retrain_weekday and local_day.strftime("%a").lower() == schedule.retrain_weekday:
        return f"full retrain: {local_day:%A} is the retrain weekday (RETRAIN_WEEKDAY)"
    n = schedule.retrain_every_nights
    if n > 0:
        finetunes = _finetunes_since_retrain(engine, ticker, n + RETRAIN_LOOKBACK_RUNS)
        if finetunes >= n:
            return f"full retrain: {finetunes} fine-tunes since the last retrain (RETRAIN_EVERY_N_NIGHTS={n})"
    return None


def _no_new_day_reason(last_price: date, through: date, local_day: date) -> str:
    reason = f"no new trading day: prices end {last_price}, and models were already trained through {through}"
    if not is_trading_day(local_day):
        why = "a weekend" if local_day.weekday() >= 5 else "an NYSE holiday"
        reason += f"; today {local_day} ({local_day:%A}) is {why}"
    elif last_price < local_day:
        reason += f"; today {local_day} is an NYSE session but the source has no prices for it yet"
    return reason


def _explicit_finetune(engine: Engine, request: RunRequest) -> Plan:
    """``finetune`` naming one cell: that cell's champion, refused without one."""
    cells = request.cells or ()
    if len(cells) != 1:
        raise JobError(f"fine-tune one cell at a time, got {', '.join(cells)}")
    champ = registry.champion(engine, request.ticker, cells[0])
    if champ is None:
        raise JobError(f"no {cells[0]} champion for {request.ticker} to fine-tune; "
                       f"run: python -m jobs train --cells {cells[0]}")
    return Plan(PlanKind.FINETUNE, cells, f"fine-tune of {cells[0]} champion #{champ.id} requested")


def choose_plan(engine: Engine, schedule: ScheduleSettings, request: RunRequest, last_price: date | None,
                local_day: date) -> Plan:
    """What this run will do; pure decisions over the store's state.

    ``finetune`` with one cell fine-tunes that cell's champion and is refused without
    one; without cells it fine-tunes the GRU, or trains every cell first when there is
    no GRU champion yet (a fresh store).
    """
    explicit = _explicit_finetune(engine, request) if request.action is Action.FINETUNE and request.cells else None
    if last_price is None:
        raise JobError(f"no prices stored for {request.ticker}; run: python -m jobs init (or check the price sources)")
    cells = request.cells or CELLS
    if request.action is Action.RETRAIN:
        return Plan(PlanKind.RETRAIN, cells, "full retrain requested")
    if explicit is not None:
        return explicit
    default = registry.champion(engine, request.ticker, DEFAULT_CELL)
    if default is None:
        return Plan(PlanKind.FIRST, cells, f"first-time training: no {DEFAULT_CELL.label} champion yet")
    if request.action is Action.FINETUNE:
        return Plan(PlanKind.FINETUNE, (DEFAULT_CELL,), f"fine-tune of {DEFAULT_CELL.label} champion #{default.id} requested")
    through = trained_through(engine, request.ticker)
    if through is not None and last_price <= through:
        return Plan(PlanKind.SKIP, (), _no_new_day_reason(last_price, through, local_day))
    due = _retrain_due(engine, request.ticker, schedule, local_day)
    if due:
        return Plan(PlanKind.RETRAIN, cells, due)
    return Plan(PlanKind.FINETUNE, (DEFAULT_CELL,),
                f"nightly fine-tune of {DEFAULT_CELL.label} champion #{default.id} on data through {last_price}")
