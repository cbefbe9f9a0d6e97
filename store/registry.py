"""Model registry: trained models, their precomputed outputs, and champions.

No TensorFlow here: a model is its ``.keras`` bytes. Each public write is one
transaction, so a reader never sees a model without its outputs or a champion
without its audit event.

The champion history of a (ticker, cell) is a stack replayed from the
ChampionEvent rows: ``promote`` pushes a model, ``rollback`` pops the current
one and serves the model that was champion before it.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from datetime import date, datetime
from typing import Any, Literal, Mapping, overload

from sqlalchemy import Engine, Row, Select, and_, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from contract.errors import Refusal
from contract.outputs import (OUTPUT_NAMES, AllOutputs, Backtest, Forecast, LossCurve, Metrics, Output, OutputName,
                              Predictions, ResidualDiagnostics)
from store.db import serialized_write, session_factory
from store.tables import Champion, ChampionEvent, Comparison, ModelOutput, ModelRecord


class RegistryError(Refusal):
    """A registry request that cannot be honoured; the message says why."""


# The fields of a stored model live here once: ``NewModel`` (what training hands in) and
# ``ModelInfo`` (what a reader gets back) both extend ``ModelFields``; the columns read are
# derived from ``ModelInfo`` and a unit test pins them to the ``models`` table.
@dataclass(frozen=True, kw_only=True)
class ModelFields:
    """What training decides about a model (``metrics`` is the Metrics payload)."""

    ticker: str
    cell: str
    kind: str  # train | finetune
    hyperparams: dict[str, Any]
    seed: int
    data_start: date
    data_end: date
    val_start: date
    test_start: date
    data_hash: str
    metrics: dict[str, Any]
    train_seconds: float
    param_count: int
    parent_id: int | None = None
    run_id: int | None = None


@dataclass(frozen=True, kw_only=True)
class NewModel(ModelFields):
    """A model to store, with its ``.keras`` bytes."""

    keras_bytes: bytes


@dataclass(frozen=True, kw_only=True)
class ModelInfo(ModelFields):
    """A stored model without its bytes."""

    id: int
    version: int
    created_at: datetime
    is_champion: bool = False


@dataclass(frozen=True)
class ChampionChange:
    """One promotion or rollback of the audit trail (``action`` is promote | rollback)."""

    id: int
    ticker: str
    cell: str
    model_id: int
    previous_model_id: int | None
    action: str
    actor: str
    at: datetime


_INFO_COLUMNS = [ModelRecord.__table__.c[f.name] for f in fields(ModelInfo) if f.name != "is_champion"]
_EVENT_COLUMNS = [ChampionEvent.__table__.c[f.name] for f in fields(ChampionChange)]


def json_safe(value: Any) -> Any:
    """NaN and infinities become None: Postgres' JSON type rejects them."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def _info(row: Row[Any], champion_id: int | None) -> ModelInfo:
    return ModelInfo(**row._asdict(), is_champion=row.id == champion_id)


def save_model(
    engine: Engine,
    new: NewModel,
    outputs: Mapping[str, Any],
    *,
    now: datetime,
    promote: bool = False,
    actor: str = "training",
) -> int:
    """Store a model and all its outputs (and, if asked, make it champion) in one transaction.

    ``outputs`` (an ``AllOutputs``) must have every name in ``OUTPUT_NAMES``. Versions
    count from 1 per (ticker, cell). Returns the new model id.
    """
    missing = [n for n in OUTPUT_NAMES if n not in outputs]
    if missing:
        raise RegistryError(f"outputs missing: {', '.join(missing)}")
    new = replace(new, hyperparams=json_safe(new.hyperparams), metrics=json_safe(new.metrics))
    payloads = {n: json_safe(outputs[n]) for n in OUTPUT_NAMES}
    with serialized_write(engine) as session:
        last = session.execute(
            select(func.max(ModelRecord.version)).where(ModelRecord.ticker == new.ticker, ModelRecord.cell == new.cell)
        ).scalar()
        record = ModelRecord(**asdict(new), version=(last or 0) + 1, created_at=now)
        session.add(record)
        session.flush()
        session.add_all(ModelOutput(model_id=record.id, name=n, payload=payloads[n]) for n in OUTPUT_NAMES)
        if promote:
            move = _Move(new.ticker, new.cell, record.id, "promote", actor, now)
            _change(session, move, _locked_champion(session, new.ticker, new.cell))
        return record.id


@dataclass(frozen=True)
class _Move:
    """A champion change about to be written."""

    ticker: str
    cell: str
    model_id: int
    action: str  # promote | rollback
    actor: str
    at: datetime


def _locked_champion(session: Session, ticker: str, cell: str) -> int | None:
    """The champion's model id, read inside the write transaction (``serialized_write``) and
    locked on Postgres, so it is still the champion when the change commits."""
    return session.execute(
        select(Champion.model_id).where(Champion.ticker == ticker, Champion.cell == cell).with_for_update()
    ).scalar_one_or_none()


def _change(session: Session, move: _Move, expected: int | None) -> None:
    """Compare-and-set: the champion becomes ``move.model_id`` only if it is still ``expected``
    (None: there is none yet); then the audit event naming ``expected`` as the previous one."""
    if move.model_id == expected:  # never an event from a model to itself
        raise RegistryError(f"model {expected} is already the {move.ticker} {move.cell} champion")
    if expected is None:
        # A concurrent first promotion fails this insert on the primary key (see _changed_meanwhile).
        session.add(Champion(ticker=move.ticker, cell=move.cell, model_id=move.model_id, promoted_at=move.at))
        session.flush()
    else:
        swapped = session.connection().execute(
            update(Champion)
            .where(Champion.ticker == move.ticker, Champion.cell == move.cell, Champion.model_id == expected)
            .values(model_id=move.model_id, promoted_at=move.at)
        ).rowcount
        if swapped != 1:
            raise _changed_meanwhile(move.ticker, move.cell)
    session.add(ChampionEvent(ticker=move.ticker, cell=move.cell, model_id=move.model_id, previous_model_id=expected,
                              action=move.action, actor=move.actor, at=move.at))


def _changed_meanwhile(ticker: str, cell: str) -> RegistryError:
    return RegistryError(f"the {ticker} {cell} champion changed while this change was made; nothing was changed, "
                         "look again and retry")


def promote(engine: Engine, model_id: int, actor: str, *, now: datetime) -> int | None:
    """Make ``model_id`` the champion of its ticker and cell; returns the previous champion's id.

    Promoting the current champion is refused (no event)."""
    with engine.connect() as conn:
        rec = conn.execute(select(ModelRecord.ticker, ModelRecord.cell).where(ModelRecord.id == model_id)).one_or_none()
    if rec is None:
        raise RegistryError(f"no model with id {model_id}")
    try:
        with serialized_write(engine) as session:
            current = _locked_champion(session, rec.ticker, rec.cell)
            _change(session, _Move(rec.ticker, rec.cell, model_id, "promote", actor, now), current)
            return current
    except IntegrityError:  # Postgres: a concurrent first promotion of this cell won
        raise _changed_meanwhile(rec.ticker, rec.cell) from None


def _champion_stack(session: Session, ticker: str, cell: str) -> list[int]:
    events = session.execute(
        select(ChampionEvent.action, ChampionEvent.model_id)
        .where(ChampionEvent.ticker == ticker, ChampionEvent.cell == cell)
        .order_by(ChampionEvent.id)
    ).all()
    stack: list[int] = []
    for action, model_id in events:
        if action == "rollback":
            stack.pop()
        else:
            stack.append(model_id)
    return stack


def rollback(engine: Engine, ticker: str, cell: str, actor: str, *, now: datetime) -> int:
    """Serve again the model that was champion before the current one; returns its id.

    Refused (no event) when there is none, or when the audit trail does not end at the
    served model (then promoting the model wanted is the way back)."""
    with serialized_write(engine) as session:
        current = _locked_champion(session, ticker, cell)  # locked first: two rollbacks never pop one entry
        stack = _champion_stack(session, ticker, cell)
        if len(stack) < 2 or current is None:
            raise RegistryError(f"{ticker} {cell}: no earlier champion to roll back to")
        if stack[-1] != current:
            raise RegistryError(f"{ticker} {cell}: the audit trail ends at model {stack[-1]}, not at the served "
                                f"model {current}; promote the model to serve instead")
        _change(session, _Move(ticker, cell, stack[-2], "rollback", actor, now), current)
        return stack[-2]


def champion(engine: Engine, ticker: str, cell: str) -> ModelInfo | None:
    """The model served for (ticker, cell), or None before the first promotion."""
    with engine.connect() as conn:
        row = conn.execute(
            select(*_INFO_COLUMNS)
            .join(Champion, Champion.model_id == ModelRecord.id)
            .where(Champion.ticker == ticker, Champion.cell == cell)
        ).one_or_none()
    return _info(row, row.id) if row else None


def list_models(engine: Engine, ticker: str) -> list[ModelInfo]:
    """Every stored model of ``ticker``, newest first, champions flagged."""
    with engine.connect() as conn:
        champs = set(conn.execute(select(Champion.model_id).where(Champion.ticker == ticker)).scalars())
        rows = conn.execute(
            select(*_INFO_COLUMNS).where(ModelRecord.ticker == ticker).order_by(ModelRecord.id.desc())
        ).all()
    return [ModelInfo(**r._asdict(), is_champion=r.id in champs) for r in rows]


def get_model(engine: Engine, model_id: int) -> ModelInfo:
    """A stored model by id; RegistryError when there is none."""
    with engine.connect() as conn:
        row = conn.execute(select(*_INFO_COLUMNS).where(ModelRecord.id == model_id)).one_or_none()
        if row is None:
            raise RegistryError(f"no model with id {model_id}")
        champ = conn.execute(
            select(Champion.model_id).where(Champion.ticker == row.ticker, Champion.cell == row.cell)
        ).scalar_one_or_none()
    return _info(row, champ)


def load_model_bytes(engine: Engine, model_id: int) -> bytes:
    with engine.connect() as conn:
        data = conn.execute(select(ModelRecord.keras_bytes).where(ModelRecord.id == model_id)).scalar_one_or_none()
    if data is None:
        raise RegistryError(f"no model with id {model_id}")
    return bytes(data)


def outputs_query(model_id: int, names: tuple[str, ...] = OUTPUT_NAMES) -> Select[tuple[str, Any]]:
    """The (name, payload) rows of ``names`` stored for ``model_id``."""
    return select(ModelOutput.name, ModelOutput.payload).where(ModelOutput.model_id == model_id,
                                                               ModelOutput.name.in_(names))


def load_outputs(engine: Engine, model_id: int) -> AllOutputs:
    """All precomputed outputs of a model, by name (see contract.outputs for shapes)."""
    with engine.connect() as conn:
        rows = conn.execute(outputs_query(model_id)).all()
    if not rows:
        raise RegistryError(f"no outputs stored for model {model_id}")
    out: AllOutputs = {}
    out.update({name: payload for name, payload in rows})  # type: ignore[typeddict-item]  # JSON read back: keys are OUTPUT_NAMES
    return out


def champion_events(engine: Engine, ticker: str, cell: str | None = None, limit: int | None = None
                    ) -> list[ChampionChange]:
    """The promotion/rollback audit trail (of one cell, or every cell), newest first."""
    stmt = select(*_EVENT_COLUMNS).where(ChampionEvent.ticker == ticker)
    if cell:
        stmt = stmt.where(ChampionEvent.cell == cell)
    with engine.connect() as conn:
        rows = conn.execute(stmt.order_by(ChampionEvent.id.desc()).limit(limit)).all()
    return [ChampionChange(**r._asdict()) for r in rows]


def save_comparison(engine: Engine, ticker: str, model_ids: dict[str, int], payload: dict[str, Any],
                    now: datetime) -> int:
    """Store a cross-cell comparison of the models ``model_ids`` (cell -> id); returns its id."""
    with session_factory(engine).begin() as session:
        row = Comparison(ticker=ticker, model_ids=dict(model_ids), payload=json_safe(payload), created_at=now)
        session.add(row)
        session.flush()
        return row.id


@overload
def load_output(engine: Engine, model_id: int, name: Literal["predictions"]) -> Predictions | None: ...
@overload
def load_output(engine: Engine, model_id: int, name: Literal["forecast"]) -> Forecast | None: ...
@overload
def load_output(engine: Engine, model_id: int, name: Literal["loss_curve"]) -> LossCurve | None: ...
@overload
def load_output(engine: Engine, model_id: int, name: Literal["metrics"]) -> Metrics | None: ...
@overload
def load_output(engine: Engine, model_id: int, name: Literal["residual_diagnostics"]) -> ResidualDiagnostics | None: ...
@overload
def load_output(engine: Engine, model_id: int, name: Literal["backtest"]) -> Backtest | None: ...
def load_output(engine: Engine, model_id: int, name: OutputName) -> Output | None:
    """One precomputed output of a model, or None if it was not stored (models older than it)."""
    with engine.connect() as conn:
        payload: Output | None = conn.execute(
            select(ModelOutput.payload).where(ModelOutput.model_id == model_id, ModelOutput.name == name)
        ).scalar_one_or_none()
    return payload


def champion_forecast_origins(engine: Engine, ticker: str) -> dict[str, date | None]:
    """cell -> the close its champion's stored forecast starts from (None: no forecast stored)."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(Champion.cell, ModelOutput.payload)
            .outerjoin(ModelOutput, and_(ModelOutput.model_id == Champion.model_id, ModelOutput.name == "forecast"))
            .where(Champion.ticker == ticker).order_by(Champion.cell)
        ).all()
    return {cell: (date.fromisoformat(payload["last_date"]) if payload and payload.get("last_date") else None)
            for cell, payload in rows}


def replace_forecast(engine: Engine, model_id: int, forecast: Forecast) -> None:
    """Store a newly served ``forecast`` output for ``model_id`` in place of the one it had (the serve step).

    The ledger keeps every forecast published from it; this output is what the pages show now."""
    payload = json_safe(forecast)
    with engine.begin() as conn:
        done = conn.execute(update(ModelOutput).where(ModelOutput.model_id == model_id, ModelOutput.name == "forecast")
                            .values(payload=payload)).rowcount
        if not done:
            conn.execute(insert(ModelOutput).values(model_id=model_id, name="forecast", payload=payload))
