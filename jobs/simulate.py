"""Retraining-policy backtest: is nightly fine-tuning worth its training time?

Replays the last N trading days one night at a time through the real pipeline
(``run_pipeline`` with a ``ReplaySource`` that reveals one more day each night),
in a throw-away SQLite store per policy, all starting from the same first GRU:

- each evening, the GRU champion of that moment forecasts the next close from the
  prices known so far (the live one-step forecast), beside persistence (= last close);
- the next day is revealed, and the pipeline runs under the policy:
  ``finetune`` (fine-tune the champion, promote if not worse), ``retrain`` (a fresh
  GRU on all data, promote if not worse) or ``none`` (prices only, the first model
  stays).

Only the GRU is simulated (it is the cell the clock fine-tunes); retraining all
three cells would triple the retrain policy's time and change nothing in its GRU.
"""
from __future__ import annotations

import logging
import shutil
import sqlite3
import tempfile
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, time as dtime, timezone
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from store import registry
from store.db import create_schema, make_engine
from marketdata.sources.replay import ReplaySource
from config.price_sources import configured_sources
from marketdata.tickers import parse_ticker
from price_feed.updates import update_from_sources

from contract.run import RunRequest, RunResult
from contract.vocab import DEFAULT_CELL, RunStatus

from .context import JobContext
from .errors import Cancelled, JobError
from .run import RunHooks, run_pipeline
from .progress import CancelFn, never_cancel
from .stored import load_stored_cell, stored_split

log = logging.getLogger(__name__)

POLICIES = ("finetune", "retrain", "none")


def _full_history(ctx: JobContext, ticker: str) -> pd.DataFrame:
    errors = []
    for source in configured_sources(ctx.settings):
        try:
            return source.fetch(ticker, None)
        except Exception as exc:  # try the next source (Yahoo, then the offline sample)
            errors.append(str(exc))
    raise JobError(f"no price source for {ticker}: " + "; ".join(errors))


class _OneStep:
    """The live one-step forecast of the GRU champion, from prices known so far."""

    def __init__(self) -> None:
        self._cache: dict[int, tuple[Any, Any]] = {}  # champion id: (its StoredCell, its keras model)

    def __call__(self, ctx: JobContext, ticker: str, known: pd.DataFrame) -> float:
        from models import pipeline

        champ = registry.champion(ctx.engine, ticker, DEFAULT_CELL)
        if champ is None:
            raise JobError(f"no {DEFAULT_CELL.label} champion for {ticker} in the replay store")
        split = stored_split(champ, known)
        if champ.id not in self._cache:
            stored = load_stored_cell(ctx, champ, split)
            self._cache = {champ.id: (stored, stored.load())}
        stored, model = self._cache[champ.id]
        p = replace(stored, split=split).prepare(known)
        _, returns = pipeline.predict_returns(model, p, p.n)  # origin n: the newest window
        return float(p.close[-1] * (1.0 + returns[-1, 0]))


def evening(day) -> datetime:
    """22:30 UTC of a replayed day (18:30 New York in summer): the run's clock."""
    return datetime.combine(day, dtime(22, 30), tzinfo=timezone.utc)


def context_on(ctx: JobContext, url: str, clock: dict) -> JobContext:
    engine = make_engine(url)
    create_schema(engine)
    settings = replace(ctx.settings, database_url=url)
    return JobContext(settings=settings, engine=engine, now=lambda: clock["now"])


@dataclass(frozen=True)
class SimulationPlan:
    """What to replay: how many nights, under which policies, of which ticker, with which epochs."""

    nights: int
    policies: tuple[str, ...]
    ticker: str | None = None  # None: DEFAULT_TICKER
    epochs: int | None = None  # of the first training and of each retrain
    finetune_epochs: int | None = None  # of each nightly fine-tune

    def checked(self, default_ticker: str) -> SimulationPlan:
        """The plan with its ticker parsed; JobError for an unknown policy or no night."""
        bad = [p for p in self.policies if p not in POLICIES]
        if bad or not self.policies:
            raise JobError(f"unknown policy {', '.join(bad) or '(none)'}; choose from {', '.join(POLICIES)}")
        if self.nights < 1:
            raise JobError(f"--nights must be at least 1, got {self.nights}")
        return replace(self, ticker=parse_ticker(self.ticker or default_ticker))

    def epochs_of(self, policy: str) -> int | None:
        return self.finetune_epochs if policy == "finetune" else self.epochs


@dataclass
class _Replay:
    """One backtest under way: the full history, where the replay starts, its throw-away stores and its clock."""

    ctx: JobContext
    plan: SimulationPlan  # checked: its ticker is set
    full: pd.DataFrame
    tmp: Path
    progress: Callable[[str], None]
    should_cancel: CancelFn
    clock: dict = field(default_factory=dict)

    @property
    def ticker(self) -> str:
        assert self.plan.ticker is not None
        return self.plan.ticker

    @property
    def start_visible(self) -> int:
        return len(self.full) - self.plan.nights

    def store(self, name: str) -> JobContext:
        return context_on(self.ctx, f"sqlite:///{self.tmp / name}", self.clock)

    def source(self) -> ReplaySource:
        return ReplaySource(self.full, self.start_visible, name="replay")

    def run(self, ctx: JobContext, source: ReplaySource, action: str, epochs: int | None) -> RunResult:
        """One real pipeline run on a replay store, the GRU only."""
        request = RunRequest.build(self.ticker, trigger="simulate", requested_by="simulate", action=action,
                                   cells=[DEFAULT_CELL], epochs=epochs)
        return run_pipeline(replace(ctx, sources=[source]), request, RunHooks(should_cancel=self.should_cancel))


def _train_first(rep: _Replay) -> float:
    """The first GRU, trained once on the history before the replay into base.db; its training seconds."""
    base_db = rep.tmp / "base.db"
    base_db.unlink(missing_ok=True)
    base = rep.store("base.db")
    rep.progress(f"training the first GRU on {rep.start_visible} days (to {rep.full.index[rep.start_visible - 1].date()})")
    first = rep.run(base, rep.source(), "retrain", rep.plan.epochs)
    if first.status is not RunStatus.SUCCEEDED:
        raise JobError(f"initial training failed: {first.error}")
    base.engine.dispose()
    with sqlite3.connect(base_db) as con:  # fold the WAL into the file before copying it
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return first.train_seconds or 0.0


@dataclass
class _Tally:
    """One policy's nights: (day, actual, forecast, persistence) rows, training and pipeline time, promotions."""

    rows: list[tuple[Any, float, float, float]] = field(default_factory=list)
    train_s: float = 0.0
    promoted: int = 0
    wall: float = 0.0


def _train_night(rep: _Replay, pctx: JobContext, source: ReplaySource, policy: str, tally: _Tally) -> None:
    """The pipeline under ``policy`` after a day was revealed (``none``: prices only)."""
    if policy == "none":
        update_from_sources(pctx.engine, rep.ticker, [source], rep.ctx.settings.overlap_days, rep.clock["now"])
        return
    run = rep.run(pctx, source, "finetune" if policy == "finetune" else "retrain", rep.plan.epochs_of(policy))
    if run.status is not RunStatus.SUCCEEDED:
        k, day = len(tally.rows), tally.rows[-1][0]
        raise JobError(f"{policy} night {k} ({day}): run {run.status}: {run.error}")
    tally.train_s += run.train_seconds or 0.0
    tally.promoted += bool(run.promoted)


def _replay_policy(rep: _Replay, policy: str, one_step: _OneStep) -> _Tally:
    """Every night under ``policy``, in its own copy of base.db: forecast, reveal the day, run the pipeline."""
    nights = rep.plan.nights
    shutil.copy(rep.tmp / "base.db", rep.tmp / f"{policy}.db")
    pctx = rep.store(f"{policy}.db")
    source = rep.source()
    tally = _Tally()
    for k in range(nights):
        if rep.should_cancel():
            raise Cancelled(f"simulate cancelled at {policy} night {k + 1}/{nights}"
                            f" ({getattr(rep.should_cancel, 'reason', '') or 'cancelled'}); the real store is untouched")
        known = rep.full.iloc[: source.visible]
        pred = one_step(pctx, rep.ticker, known)
        day = source.advance()
        actual, last = float(rep.full["close"].iloc[source.visible - 1]), float(known["close"].iloc[-1])
        tally.rows.append((day, actual, pred, last))
        rep.progress(f"{policy}: night {k + 1}/{nights} {day}: actual {actual:.2f} forecast {pred:.2f} "
                     f"persistence {last:.2f}")
        if k == nights - 1:
            break  # no later day to forecast: the last night's training would never be judged
        rep.clock["now"] = evening(day)
        t0 = time.perf_counter()
        _train_night(rep, pctx, source, policy, tally)
        tally.wall += time.perf_counter() - t0
    pctx.engine.dispose()
    return tally


def _scores(tally: _Tally, policy: str, nights: int) -> dict:
    """A policy's row of the result: forecast errors against persistence, time spent, promotions."""
    actual_arr = np.array([r[1] for r in tally.rows])
    pred_arr = np.array([r[2] for r in tally.rows])
    pers = np.array([r[3] for r in tally.rows])
    rmse = float(np.sqrt(np.mean((actual_arr - pred_arr) ** 2)))
    rmse_p = float(np.sqrt(np.mean((actual_arr - pers) ** 2)))
    moves = np.sign(actual_arr - pers)
    return {
        "rmse": round(rmse, 4),
        "mae": round(float(np.mean(np.abs(actual_arr - pred_arr))), 4),
        "persistence_rmse": round(rmse_p, 4),
        "rmse_ratio": round(rmse / rmse_p, 4) if rmse_p else None,
        "direction_hit": round(float(np.mean(np.sign(pred_arr - pers) == moves)), 3),
        "train_seconds": round(tally.train_s, 1),
        "pipeline_seconds": round(tally.wall, 1),
        "trainings": 0 if policy == "none" else nights - 1,
        "promotions": tally.promoted,
    }


def simulate(
    ctx: JobContext,
    plan: SimulationPlan,
    *,
    workdir: Path | None = None,
    progress: Callable[[str], None] = lambda _m: None,
    should_cancel: CancelFn = never_cancel,
) -> dict:
    """Run the backtest; returns {"ticker", "nights", "first_day", "last_day", "initial_train_s", "policies": {...}}."""
    plan = plan.checked(ctx.settings.default_ticker)
    assert plan.ticker is not None
    logging.getLogger("tensorflow").setLevel(logging.ERROR)  # retracing notes: each night is a new model
    full = _full_history(ctx, plan.ticker)
    if plan.nights > len(full) - 300:
        raise JobError(f"{plan.nights} nights leave too little history to train on ({len(full)} days stored)")
    tmp = Path(workdir or tempfile.mkdtemp(prefix="simulate-"))
    tmp.mkdir(parents=True, exist_ok=True)
    rep = _Replay(ctx, plan, full, tmp, progress, should_cancel)
    rep.clock["now"] = evening(full.index[rep.start_visible - 1].date())
    # The first GRU, trained once on the history before the replay, shared by every policy.
    initial_s = _train_first(rep)
    one_step = _OneStep()
    results = {policy: _scores(_replay_policy(rep, policy, one_step), policy, plan.nights) for policy in plan.policies}
    shutil.rmtree(tmp, ignore_errors=True) if workdir is None else None
    return {
        "ticker": plan.ticker,
        "nights": plan.nights,
        "first_day": str(full.index[rep.start_visible].date()),
        "last_day": str(full.index[rep.start_visible + plan.nights - 1].date()),
        "initial_train_s": initial_s,
        "epochs": plan.epochs,
        "finetune_epochs": plan.finetune_epochs,
        "policies": results,
    }


def format_table(result: dict) -> str:
    lines = [
        f"{result['ticker']}: {result['nights']} nights replayed, {result['first_day']} to {result['last_day']} "
        f"(first GRU trained in {result['initial_train_s']:.1f}s)",
        f"{'policy':<10}{'RMSE $':>9}{'MAE $':>9}{'persist. $':>11}{'ratio':>8}{'dir hit':>9}"
        f"{'trainings':>10}{'promoted':>9}{'train s':>9}{'pipeline s':>11}",
    ]
    for name, r in result["policies"].items():
        lines.append(
            f"{name:<10}{r['rmse']:>9.3f}{r['mae']:>9.3f}{r['persistence_rmse']:>11.3f}{r['rmse_ratio']:>8.3f}"
            f"{r['direction_hit']:>9.1%}{r['trainings']:>10}{r['promotions']:>9}{r['train_seconds']:>9.1f}"
            f"{r['pipeline_seconds']:>11.1f}"
        )
    lines.append("ratio = RMSE / persistence RMSE (below 1 beats tomorrow = today); one-step forecasts of the close.")
    return "\n".join(lines)
