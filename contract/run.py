"""A run of the pipeline as one typed contract: a ``RunRequest`` in, a ``RunResult`` out.

Every caller (the CLI, the clock and its child process, the Celery task, the admin
page, the replays) builds the same request and formats the same result. The request
is checked once, where it is built; the result is read back from the run's record in
the store, so a result that crossed a process boundary (JSON through Celery, a pickle
from the clock's child) says exactly what the run history says.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any, Mapping

from .errors import Refusal
from .vocab import MAX_EPOCHS, Action, Cell, ModelKind, PlanKind, RunStatus, Trigger, parse, parse_cells

MAX_SEED = 2**32 - 1  # numpy and TensorFlow seeds are 32-bit


@dataclass(frozen=True)
class RunRequest:
    """What to run. ``cells``/``epochs`` None: the plan's and the schedule's own choice."""

    ticker: str  # checked against the ticker pattern by the pipeline before anything is recorded
    action: Action = Action.AUTO
    trigger: Trigger = Trigger.MANUAL
    requested_by: str = "cli"
    cells: tuple[Cell, ...] | None = None
    epochs: int | None = None
    seed: int = 42  # seeds fresh networks; fine-tunes keep the champion's
    promote: bool = True  # False: store fresh networks without promoting them
    update_prices: bool = True  # False: train on the stored prices as they are

    @classmethod
    def build(cls, ticker: str, **fields: Any) -> RunRequest:
        """A request from plain values (a form, argv, JSON), or a Refusal naming the bad one."""
        unknown = set(fields) - {f for f in cls.__dataclass_fields__ if f != "ticker"}
        if unknown:
            raise Refusal(f"unknown run request field(s) {', '.join(sorted(unknown))}")
        values: dict[str, Any] = dict(fields)
        if "action" in values:
            values["action"] = parse(Action, values["action"], "action")
        if "trigger" in values:
            values["trigger"] = parse(Trigger, values["trigger"], "trigger")
        if values.get("cells") is not None:
            values["cells"] = parse_cells(values["cells"])
        _check_whole(values.get("epochs"), "epochs", 1, MAX_EPOCHS)
        _check_whole(values.get("seed"), "seed", 0, MAX_SEED)
        if not isinstance(ticker, str) or not ticker:
            raise Refusal("a run needs a ticker")
        return cls(ticker=ticker, **values)

    def to_json(self) -> dict[str, Any]:
        """Plain values for a queue message; ``build(**to_json())`` gives the request back."""
        out = asdict(self)
        out["cells"] = list(self.cells) if self.cells is not None else None
        return {k: (str(v) if isinstance(v, (Action, Trigger)) else v) for k, v in out.items()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunRequest:
        values = dict(data)
        return cls.build(values.pop("ticker"), **values)


def _check_whole(value: object, name: str, low: int, high: int) -> None:
    """None (the default) or a whole number in [low, high]; True, 2.5 and "3" are refused."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise Refusal(f"{name} {value!r} must be a whole number from {low} to {high}")


@dataclass(frozen=True)
class ModelOutcome:
    """One network a run stored, with its headline figures and what happened to the champion."""

    model_id: int
    cell: Cell
    kind: ModelKind
    promoted: bool
    previous_champion_id: int | None  # the champion before this run (still champion if not promoted)
    seconds: float
    rmse: float | None = None  # reported rolling origins, one step ahead, in dollars
    persistence_rmse: float | None = None
    rmse_ratio: float | None = None
    promotion_reason: str = ""  # candidate vs champion on the shared promotion window

    def line(self) -> str:
        verdict = "promoted" if self.promoted else f"not promoted (champion stays {self.previous_champion_id})"
        figures = ("RMSE -" if self.rmse is None or self.persistence_rmse is None or self.rmse_ratio is None else
                   f"RMSE {self.rmse:.4f} vs persistence {self.persistence_rmse:.4f} (ratio {self.rmse_ratio:.3f})")
        return f"{self.cell:<10} model {self.model_id:<5} {self.kind:<8} {figures}  {self.seconds:6.1f}s  {verdict}"


@dataclass(frozen=True)
class RunResult:
    """A finished run, as its record in the store says."""

    run_id: int
    ticker: str
    status: RunStatus
    trigger: Trigger
    action: Action
    requested_by: str
    plan: PlanKind | None = None
    message: str = ""  # the last progress message: the plan's reason, the training summary
    error: str | None = None  # one line, for failed and cancelled runs
    duration_s: float | None = None
    epochs: int | None = None
    train_seconds: float | None = None  # wall time of the training step, all cells
    models: tuple[ModelOutcome, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        """Succeeded or skipped: nothing went wrong."""
        return self.status in (RunStatus.SUCCEEDED, RunStatus.SKIPPED)

    @property
    def promoted(self) -> tuple[ModelOutcome, ...]:
        return tuple(m for m in self.models if m.promoted)

    def summary(self) -> str:
        """One line for every caller: ``run #7 AAPL succeeded: finetune: trained gru in 4.2s; ...``."""
        note = self.error if self.status in (RunStatus.FAILED, RunStatus.CANCELLED) else self.message
        return f"run #{self.run_id} {self.ticker} {self.status}: {note or ''}".rstrip(": ")

    def promotions(self) -> str:
        """Which models were promoted, replacing which: ``promoted GRU #7 (replacing #4)``."""
        done = [f"{m.cell.label} #{m.model_id}"
                + (f" (replacing #{m.previous_champion_id})" if m.previous_champion_id else "") for m in self.promoted]
        if done:
            return "promoted " + ", ".join(done)
        kept = [f"{m.cell.label} #{m.model_id}" for m in self.models]
        return "the champion was kept" + (f" (candidate {', '.join(kept)} not promoted)" if kept else "")

    @classmethod
    def from_record(cls, run: Mapping[str, Any]) -> RunResult:
        """From a run row as ``store.runs`` returns it (``detail`` and ``metrics_after`` are JSON)."""
        detail: Mapping[str, Any] = run.get("detail") or {}
        after: Mapping[str, Any] = run.get("metrics_after") or {}
        plan = detail.get("plan")
        return cls(
            run_id=int(run["id"]), ticker=str(run["ticker"]), status=RunStatus(run["status"]),
            trigger=Trigger(run["trigger"]), action=Action(run["action"]), requested_by=str(run["requested_by"]),
            plan=PlanKind(plan) if plan else None, message=str(run.get("progress_message") or ""),
            error=run.get("error"), duration_s=run.get("duration_s"), epochs=detail.get("epochs"),
            train_seconds=detail.get("train_seconds"),
            models=tuple(_model_outcome(m, after.get(m["cell"]) or {}) for m in detail.get("models") or ()),
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunResult:
        values = dict(data)
        values["models"] = tuple(ModelOutcome(**{**m, "cell": Cell(m["cell"]), "kind": ModelKind(m["kind"])})
                                 for m in values.get("models") or ())
        for name, enum in (("status", RunStatus), ("trigger", Trigger), ("action", Action)):
            values[name] = enum(values[name])
        values["plan"] = PlanKind(values["plan"]) if values.get("plan") else None
        return cls(**values)


def _model_outcome(m: Mapping[str, Any], figures: Mapping[str, Any]) -> ModelOutcome:
    return ModelOutcome(
        model_id=int(m["model_id"]), cell=Cell(m["cell"]), kind=ModelKind(m["kind"]), promoted=bool(m["promoted"]),
        previous_champion_id=m.get("previous_champion_id"), seconds=float(m.get("seconds") or 0.0),
        rmse=figures.get("rmse"), persistence_rmse=figures.get("persistence_rmse"),
        rmse_ratio=figures.get("rmse_ratio"), promotion_reason=str((m.get("promotion") or {}).get("reason") or ""),
    )


class TickerState(StrEnum):
    """What became of one ticker of a multi-ticker run (``nightly``, the clock, a fan-out)."""

    RAN = "ran"  # a run was recorded: see its result
    QUEUED = "queued"  # handed to a worker; the run history will say how it went
    REFUSED = "refused"  # a Refusal: nothing was changed (another run in progress, a bad setting)
    FAILED = "failed"  # a Failure before a run could be recorded (store or queue unavailable)
    PAUSED = "paused"  # an admin paused the schedule: nothing ran


@dataclass(frozen=True)
class TickerOutcome:
    """One ticker's outcome; one ticker's refusal or failure never stops the others."""

    ticker: str
    state: TickerState
    result: RunResult | None = None
    message: str = ""  # the refusal or failure, one line; the task id when queued

    @property
    def ok(self) -> bool:
        return self.state is TickerState.QUEUED or (self.result is not None and self.result.ok)

    def line(self) -> str:
        if self.result is not None:
            return self.result.summary()
        return f"{self.ticker} {self.state}: {self.message}".rstrip(": ")

    def row(self) -> dict[str, Any]:
        """The flat form the clock keeps in its status and the admin page shows."""
        result = self.result
        return {"ticker": self.ticker, "status": str(result.status if result else self.state),
                "message": (result.error or result.message) if result else self.message,
                "run_id": result.run_id if result else None}

    def to_json(self) -> dict[str, Any]:
        return {"ticker": self.ticker, "state": str(self.state), "message": self.message,
                "result": self.result.to_json() if self.result is not None else None}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TickerOutcome:
        result = data.get("result")
        return cls(ticker=str(data["ticker"]), state=TickerState(data["state"]), message=str(data.get("message") or ""),
                   result=RunResult.from_json(result) if result else None)
