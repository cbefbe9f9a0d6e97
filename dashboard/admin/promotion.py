"""Candidate against champion on the same test days, for the admin's promotion confirmation.

Each model's stored metrics are on its own test period; two models trained on different
data have different ones, so their stored RMSEs are not comparable. This scores both on
the days their stored test predictions share, beside persistence on those same days.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

from sqlalchemy import Engine

from store import registry
from store.registry import ModelInfo

from dashboard import inputs


@dataclass(frozen=True)
class Scored:
    model_id: int
    label: str  # "GRU v3 (fine-tune)"
    rmse: float | None


@dataclass(frozen=True)
class Comparison:
    ticker: str
    cell: str
    candidate: Scored
    champion: Scored | None
    persistence_rmse: float | None
    first_day: str | None
    last_day: str | None
    days: int

    @property
    def candidate_worse(self) -> bool:
        c, h = self.candidate.rmse, self.champion.rmse if self.champion else None
        return c is not None and h is not None and c > h


def _predictions(engine: Engine, model_id: int) -> dict[str, tuple[float, float, float | None]]:
    """date -> (actual, predicted, previous actual) from a model's stored test predictions."""
    p: Mapping[str, Any] = registry.load_output(engine, model_id, "predictions") or {}
    dates, actual, pred = p.get("dates") or [], p.get("actual") or [], p.get("predicted") or []
    return {d: (a, y, actual[i - 1] if i else None) for i, (d, a, y) in enumerate(zip(dates, actual, pred))}


def _rmse(errors: list[float]) -> float | None:
    return math.sqrt(sum(e * e for e in errors) / len(errors)) if errors else None


def _label(info: ModelInfo) -> str:
    return f"#{info.id} {info.cell} v{info.version} ({info.kind})"


def compare(engine: Engine, model_id, ticker: str) -> Comparison:
    """Refused unless ``model_id`` names a model of ``ticker`` that is not already its cell's champion."""
    mid = inputs.model_id(model_id)
    try:
        cand = registry.get_model(engine, mid)
    except registry.RegistryError:
        raise inputs.Refused(f"no model with id {mid}") from None
    if cand.ticker != ticker:
        raise inputs.Refused(f"model #{mid} is a {cand.ticker} model, not {ticker}")
    champ = registry.champion(engine, ticker, cand.cell)
    champ_id = champ.id if champ else None
    if champ_id == mid:
        raise inputs.Refused(f"model #{mid} is already the {ticker} {cand.cell} champion")
    mine = _predictions(engine, mid)
    theirs = _predictions(engine, champ_id) if champ_id else {}
    days = sorted(set(mine) & set(theirs)) if champ_id else sorted(mine)
    days = [d for d in days if mine[d][2] is not None]  # persistence needs the day before
    return Comparison(
        ticker=ticker, cell=cand.cell,
        candidate=Scored(mid, _label(cand), _rmse([mine[d][0] - mine[d][1] for d in days])),
        champion=Scored(champ.id, _label(champ), _rmse([theirs[d][0] - theirs[d][1] for d in days])) if champ else None,
        persistence_rmse=_rmse([a - prev for a, _, prev in (mine[d] for d in days) if prev is not None]),
        first_day=days[0] if days else None, last_day=days[-1] if days else None, days=len(days))
