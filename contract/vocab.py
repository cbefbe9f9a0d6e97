"""Every vocabulary and default of the product, defined once, parsed once at the edge.

The members are ``StrEnum``s: they are stored, serialised to JSON and compared as
their plain values (``Cell.GRU == "gru"``), so the database and the exports keep
the strings they always had.

The cell and baseline registries (``CELL_INFO``, ``BASELINE_INFO``) drive everything
else: the network builder (``models.network``), the score tables, the charts' colours
and labels, the CLI's choices, the admin form. Adding a cell or a baseline starts here
(docs/incoming-vocab.md, "How to extend").
"""
from __future__ import annotations

from dataclasses import dataclass
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
        return CELL_INFO[self].label


@dataclass(frozen=True)
class CellInfo:
    """What the product needs to know about a cell type."""

    label: str  # its display name
    colour: str  # its line in every chart
    layer: str  # the ``keras.layers`` class of its recurrent layers (models.network builds with it)


CELL_INFO: dict[Cell, CellInfo] = {
    Cell.SIMPLERNN: CellInfo("SimpleRNN", "#e67e22", "SimpleRNN"),
    Cell.LSTM: CellInfo("LSTM", "#8e44ad", "LSTM"),
    Cell.GRU: CellInfo("GRU", "#18bc9c", "GRU"),
}
# The lesson's cell: the one the nightly fine-tune continues, the one a page opens on, the CLI's default.
DEFAULT_CELL = Cell.GRU


class Baseline(StrEnum):
    """A forecaster with no network, scored beside every cell (``models.rolling.BASELINE_PATHS`` forecasts it)."""

    PERSISTENCE = "persistence"  # tomorrow = today: the yardstick every ratio is taken to
    DRIFT = "drift"  # the mean daily return before the origin, compounded: the R-squared reference
    RIDGE = "ridge"  # a linear autoregression on the networks' own inputs


@dataclass(frozen=True)
class BaselineInfo:
    label: str  # its display name
    colour: str  # its line in every chart
    learned: bool = False  # fitted on the windows like a network: gets the networks' band and their tables' rows
    aliases: tuple[str, ...] = ()  # other names ``export backtest --cell`` accepts


BASELINE_INFO: dict[Baseline, BaselineInfo] = {
    Baseline.PERSISTENCE: BaselineInfo("Persistence", "#7f8c8d", aliases=("random_walk",)),
    Baseline.DRIFT: BaselineInfo("Drift", "#95a5a6"),
    Baseline.RIDGE: BaselineInfo("Linear AR (ridge)", "#2980b9", learned=True, aliases=("linear",)),
}
BASELINES: tuple[Baseline, ...] = tuple(Baseline)
LEARNED_BASELINES: tuple[Baseline, ...] = tuple(b for b in Baseline if BASELINE_INFO[b].learned)
# Baselines that call a direction (persistence never does), the learned ones first: the direction table's rows.
DIRECTION_BASELINES: tuple[Baseline, ...] = tuple(sorted((b for b in Baseline if b is not Baseline.PERSISTENCE),
                                                         key=lambda b: not BASELINE_INFO[b].learned))
# Every baseline a cell is paired with in the bootstrap and Diebold-Mariano tables, persistence last.
PAIRED_BASELINES: tuple[Baseline, ...] = (*DIRECTION_BASELINES, Baseline.PERSISTENCE)


# --- training defaults and bounds ---------------------------------------------------

# One bound on the epochs any request may ask for, from the CLI, the admin page or the environment:
# a fit stops early long before it (about 20-60 epochs here), and 500 epochs of a 3-cell retrain
# already hold the one executor for most of an hour on a 2-core machine.
MAX_EPOCHS = 500
FINETUNE_EPOCHS = 5  # a fine-tune's epochs (nightly, admin, CLI, the walk-forward backtest's updates)
FINETUNE_LR_FACTOR = 0.1  # a fine-tune trains at this fraction of the network's learning rate


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


class QueueState(StrEnum):
    """How a request not yet ended stands, for an operator: ``jobs queue``, the admin health panel and
    ``/metrics`` all read it from ``store.run_requests.queue_state``, one definition."""

    WAITING = "waiting"  # queued, never claimed
    REDELIVERY = "redelivery"  # queued again: its executor fell silent and the sweep re-queued it (once)
    RUNNING = "running"  # claimed, and its executor heartbeats the claim
    SILENT = "silent"  # claimed, no heartbeat for a lease TTL: the sweep re-queues or ends it within a minute


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
BASELINE_LABELS: dict[str, str] = {b.value: BASELINE_INFO[b].label for b in Baseline}
# every cell's and baseline's colour, by its stored name
COLOURS: dict[str, str] = {**{c.value: CELL_INFO[c].colour for c in Cell}, **{b.value: BASELINE_INFO[b].colour for b in Baseline}}


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

# Below this many scored forecasts a figure is "too few to judge": no verdict sentence, no alert on skill.
FEW_ROWS = 20
