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
from dataclasses import dataclass, replace
from datetime import date, datetime, timezone

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from contract.errors import Refusal
from store.db import session_factory
from contract.outputs import OUTPUT_NAMES
from store.tables import Champion, ChampionEvent, Comparison, ModelOutput, ModelRecord


class RegistryError(Refusal):
    """A registry request that cannot be honoured; the message says why."""


@dataclass(frozen=True)
class ModelInfo:
    """A stored model without its bytes."""

    id: int
    ticker: str
    cell: str
    version: int
    kind: str  # train | finetune
    parent_id: int | None
    run_id: int | None
    hyperparams: dict
    seed: int
    data_start: date
    data_end: date
    val_start: date
    test_start: date
    data_hash: str
    metrics: dict
    train_seconds: float
    param_count: int
    created_at: datetime
    is_champion: bool = False


@dataclass(frozen=True)
class NewModel:
    """What training hands the registry to store (``metrics`` is the Metrics payload)."""

    ticker: str
    cell: str
    kind: str
    hyperparams: dict
    seed: int
    data_start: date
    data_end: date
    val_start: date
    test_start: date
    data_hash: str
    metrics: dict
    train_seconds: float
    param_count: int
    keras_bytes: bytes
    parent_id: int | None = None
    run_id: int | None = None


_INFO_COLUMNS = [c for c in ModelRecord.__table__.columns if c.name != "keras_bytes"]


def _json_safe(value):
    """NaN and infinities become None: Postgres' JSON type rejects them."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _info(row, champion_id: int | None) -> ModelInfo:
    d = dict(row._mapping)
    return ModelInfo(**d, is_champion=d["id"] == champion_id)


def save_model(
    engine: Engine,
    new: NewModel,
    outputs: dict[str, dict | list],
    *,
    promote: bool = False,
    actor: str = "training",
    now: datetime | None = None,
) -> int:
    """Store a model and all its outputs (and, if asked, make it champion) in one transaction.

    ``outputs`` must have every name in ``OUTPUT_NAMES``. Versions count from 1
    per (ticker, cell). Returns the new model id.
    """
    missing = [n for n in OUTPUT_NAMES if n not in outputs]
    if missing:
        raise RegistryError(f"outputs missing: {', '.join(missing)}")
    now = now or _now()
    new = replace(new, hyperparams=_json_safe(new.hyperparams), metrics=_json_safe(new.metrics))
    outputs = {n: _json_safe(outputs[n]) for n in OUTPUT_NAMES}
    with session_factory(engine).begin() as session:
        last = session.execute(
            select(func.max(ModelRecord.version)).where(ModelRecord.ticker == new.ticker, ModelRecord.cell == new.cell)
        ).scalar()
        record = ModelRecord(**new.__dict__, version=(last or 0) + 1, created_at=now)
        session.add(record)
        session.flush()
        session.add_all(ModelOutput(model_id=record.id, name=n, payload=outputs[n]) for n in OUTPUT_NAMES)
        if promote:
            _promote(session, record.id, new.ticker, new.cell, actor, "promote", now)
        return record.id


def _promote(session: Session, model_id: int, ticker: str, cell: str, actor: str, action: str, now: datetime) -> int | None:
    current = session.execute(
        select(Champion).where(Champion.ticker == ticker, Champion.cell == cell).with_for_update()
    ).scalar_one_or_none()
    previous = current.model_id if current else None
    if current is None:
        session.add(Champion(ticker=ticker, cell=cell, model_id=model_id, promoted_at=now))
    else:
        current.model_id, current.promoted_at = model_id, now
    session.add(ChampionEvent(ticker=ticker, cell=cell, model_id=model_id, previous_model_id=previous,
                              action=action, actor=actor, at=now))
    return previous


def promote(engine: Engine, model_id: int, actor: str) -> int | None:
    """Make ``model_id`` the champion of its ticker and cell; returns the previous champion's id."""
    with session_factory(engine).begin() as session:
        rec = session.execute(
            select(ModelRecord.ticker, ModelRecord.cell).where(ModelRecord.id == model_id)
        ).one_or_none()
        if rec is None:
            raise RegistryError(f"no model with id {model_id}")
        current = session.execute(
            select(Champion.model_id).where(Champion.ticker == rec.ticker, Champion.cell == rec.cell)
        ).scalar_one_or_none()
        if current == model_id:
            raise RegistryError(f"model {model_id} is already the {rec.ticker} {rec.cell} champion")
        return _promote(session, model_id, rec.ticker, rec.cell, actor, "promote", _now())


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


def rollback(engine: Engine, ticker: str, cell: str, actor: str) -> int:
    """Serve again the model that was champion before the current one; returns its id."""
    with session_factory(engine).begin() as session:
        # Lock the champion row first so two rollbacks cannot pop the same entry.
        session.execute(
            select(Champion).where(Champion.ticker == ticker, Champion.cell == cell).with_for_update()
        ).scalar_one_or_none()
        stack = _champion_stack(session, ticker, cell)
        if len(stack) < 2:
            raise RegistryError(f"{ticker} {cell}: no earlier champion to roll back to")
        _promote(session, stack[-2], ticker, cell, actor, "rollback", _now())
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
    return [ModelInfo(**dict(r._mapping), is_champion=r.id in champs) for r in rows]


def get_model(engine: Engine, model_id: int) -> ModelInfo:
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


def load_outputs(engine: Engine, model_id: int) -> dict[str, dict | list]:
    """All precomputed outputs of a model, by name (see contract.outputs for shapes)."""
    with engine.connect() as conn:
        rows = conn.execute(select(ModelOutput.name, ModelOutput.payload).where(ModelOutput.model_id == model_id)).all()
    if not rows:
        raise RegistryError(f"no outputs stored for model {model_id}")
    return {name: payload for name, payload in rows}


def champion_events(engine: Engine, ticker: str, cell: str | None = None) -> list[dict]:
    """The promotion/rollback audit trail, newest first."""
    stmt = select(ChampionEvent).where(ChampionEvent.ticker == ticker)
    if cell:
        stmt = stmt.where(ChampionEvent.cell == cell)
    with session_factory(engine)() as session:
        events = session.execute(stmt.order_by(ChampionEvent.id.desc())).scalars().all()
        return [
            {"id": e.id, "cell": e.cell, "model_id": e.model_id, "previous_model_id": e.previous_model_id,
             "action": e.action, "actor": e.actor, "at": e.at}
            for e in events
        ]


def save_comparison(engine: Engine, ticker: str, model_ids: dict[str, int], payload: dict,
                    now: datetime | None = None) -> int:
    """Store a cross-cell comparison of the models ``model_ids`` (cell -> id); returns its id."""
    with session_factory(engine).begin() as session:
        row = Comparison(ticker=ticker, model_ids=dict(model_ids), payload=_json_safe(payload), created_at=now or _now())
        session.add(row)
        session.flush()
        return row.id


def load_output(engine: Engine, model_id: int, name: str) -> dict | list | None:
    """One precomputed output of a model, or None if it was not stored (models older than it)."""
    with engine.connect() as conn:
        return conn.execute(
            select(ModelOutput.payload).where(ModelOutput.model_id == model_id, ModelOutput.name == name)
        ).scalar_one_or_none()
