"""Every vocabulary of the product as an enum, parsed once at the edge.

The members are ``StrEnum``s: they are stored, serialised to JSON and compared as
their plain values (``Cell.GRU == "gru"``), so the database and the exports keep
the strings they always had.
"""
from __future__ import annotations

from enum import StrEnum
from typing import TypeVar

from .errors import Refusal

E = TypeVar("E", bound=StrEnum)


class Cell(StrEnum):
    """The recurrent cell of a network."""

    SIMPLERNN = "simplernn"
    LSTM = "lstm"
    GRU = "gru"

    @property
    def label(self) -> str:
        return {"simplernn": "SimpleRNN", "lstm": "LSTM", "gru": "GRU"}[self.value]


class Action(StrEnum):
    """What a run was asked to do: ``auto`` lets the plan decide (the nightly pipeline)."""

    AUTO = "auto"
    FINETUNE = "finetune"
    RETRAIN = "retrain"


class Trigger(StrEnum):
    """Who started a run."""

    NIGHTLY = "nightly"
    MANUAL = "manual"
    BOOTSTRAP = "bootstrap"
    SIMULATE = "simulate"


class RunStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"

    @property
    def final(self) -> bool:
        return self is not RunStatus.RUNNING


class RequestStatus(StrEnum):
    """Where a requested run is: waiting for an executor, claimed by one (its run under way),
    ended (``outcome`` says how; ``run_id`` names the run), or cancelled while it waited."""

    QUEUED = "queued"
    CLAIMED = "claimed"
    ENDED = "ended"
    CANCELLED = "cancelled"


class PlanKind(StrEnum):
    """What a run decided to do once it had the prices."""

    FIRST = "first"
    RETRAIN = "retrain"
    FINETUNE = "finetune"
    SKIP = "skip"


class ModelKind(StrEnum):
    """How a stored model came to be."""

    TRAIN = "train"
    FINETUNE = "finetune"


class LedgerKind(StrEnum):
    """``live``: published by the product as it ran; ``replayed``: produced by a replay of the past."""

    LIVE = "live"
    REPLAYED = "replayed"


CELLS: tuple[Cell, ...] = tuple(Cell)
CELL_LABELS: dict[str, str] = {c.value: c.label for c in Cell}


def parse(enum: type[E], value: object, what: str) -> E:
    """``value`` as a member of ``enum``, or a Refusal naming ``what`` and the choices."""
    try:
        if not isinstance(value, str):
            raise ValueError(value)
        return enum(value)
    except ValueError:
        shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
        raise Refusal(f"{what} {shown} must be one of {', '.join(m.value for m in enum)}") from None


def parse_cells(values: object, what: str = "cell") -> tuple[Cell, ...]:
    """A non-empty list of distinct cells, in the order given, or a Refusal."""
    if isinstance(values, str) or not isinstance(values, (list, tuple)) or not values:
        raise Refusal(f"{what}s must be a non-empty list of {', '.join(CELLS)}")
    cells = tuple(parse(Cell, v, what) for v in values)
    if len(set(cells)) != len(cells):
        raise Refusal(f"{what}s {', '.join(cells)} name a cell twice")
    return cells
