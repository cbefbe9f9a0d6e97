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
from dataclasses import replace
from datetime import datetime, time as dtime, timezone
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from store import registry
from store.db import create_schema, make_engine
from marketdata.sources.replay import ReplaySource
from config.price_sources import configured_sources
from marketdata.tickers import parse_ticker
from store.price_updates import update_from_sources

from contract.run import RunRequest
from contract.vocab import RunStatus

from .context import JobContext
from .errors import Cancelled, JobError
from .run import RunHooks, run_pipeline
from .progress import CancelFn, never_cancel

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

    def __init__(self):
        self._cache: dict[int, object] = {}

    def __call__(self, engine, ticker: str, known: pd.DataFrame) -> float:
        from models import features, network, pipeline
        from models.serialization import model_from_bytes

        champ = registry.champion(engine, ticker, "gru")
        if champ is None:
            raise JobError(f"no GRU champion for {ticker} in the replay store")
        if champ.id not in self._cache:
            self._cache = {champ.id: model_from_bytes(registry.load_model_bytes(engine, champ.id))}
        hp = network.Hyperparams.from_dict(champ.hyperparams)
        scaler = features.Scaler.from_dict(champ.hyperparams["scaler"])
        dates = pd.DatetimeIndex(features.returns_frame(known).index)
        split = features.split_at_dates(dates, pd.Timestamp(champ.val_start), pd.Timestamp(champ.test_start))
        p = features.prepare(known, hp.window, hp.horizon, split, scaler=scaler)
        _, returns = pipeline.predict_returns(self._cache[champ.id], p, p.n)  # origin n: the newest window
        return float(p.close[-1] * (1.0 + returns[-1, 0]))


def evening(day) -> datetime:
    """22:30 UTC of a replayed day (18:30 New York in summer): the run's clock."""
    return datetime.combine(day, dtime(22, 30), tzinfo=timezone.utc)


def context_on(ctx: JobContext, url: str, clock: dict) -> JobContext:
    engine = make_engine(url)
    create_schema(engine)
    settings = replace(ctx.settings, database_url=url)
    return JobContext(settings=settings, engine=engine, now=lambda: clock["now"])


def simulate(
    ctx: JobContext,
    *,
    nights: int,
    policies: list[str],
    ticker: str | None = None,
    epochs: int | None = None,
    finetune_epochs: int | None = None,
    workdir: Path | None = None,
    progress: Callable[[str], None] = lambda _m: None,
    should_cancel: CancelFn = never_cancel,
) -> dict:
    """Run the backtest; returns {"ticker", "nights", "first_day", "last_day", "initial_train_s", "policies": {...}}."""
    bad = [p for p in policies if p not in POLICIES]
    if bad or not policies:
        raise JobError(f"unknown policy {', '.join(bad) or '(none)'}; choose from {', '.join(POLICIES)}")
    if nights < 1:
        raise JobError(f"--nights must be at least 1, got {nights}")
    ticker = parse_ticker(ticker or ctx.settings.default_ticker)
    logging.getLogger("tensorflow").setLevel(logging.ERROR)  # retracing notes: each night is a new model
    full = _full_history(ctx, ticker)
    if nights > len(full) - 300:
        raise JobError(f"{nights} nights leave too little history to train on ({len(full)} days stored)")
    start_visible = len(full) - nights
    tmp = Path(workdir or tempfile.mkdtemp(prefix="simulate-"))
    tmp.mkdir(parents=True, exist_ok=True)
    base_db = tmp / "base.db"
    base_db.unlink(missing_ok=True)
    clock = {"now": evening(full.index[start_visible - 1].date())}

    # The first GRU, trained once on the history before the replay, shared by every policy.
    base = context_on(ctx, f"sqlite:///{base_db}", clock)
    progress(f"training the first GRU on {start_visible} days (to {full.index[start_visible - 1].date()})")
    source = ReplaySource(full, start_visible, name="replay")
    first = run_pipeline(replace(base, sources=[source]),
                         RunRequest.build(ticker, trigger="simulate", requested_by="simulate", action="retrain",
                                          cells=["gru"], epochs=epochs), RunHooks(should_cancel=should_cancel))
    if first.status is not RunStatus.SUCCEEDED:
        raise JobError(f"initial training failed: {first.error}")
    initial_s = first.train_seconds or 0.0
    base.engine.dispose()
    with sqlite3.connect(base_db) as con:  # fold the WAL into the file before copying it
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    one_step = _OneStep()
    results: dict[str, dict] = {}
    for policy in policies:
        db = tmp / f"{policy}.db"
        shutil.copy(base_db, db)
        pctx = context_on(ctx, f"sqlite:///{db}", clock)
        source = ReplaySource(full, start_visible, name="replay")
        rows, train_s, promoted, wall = [], 0.0, 0, 0.0
        for k in range(nights):
            if should_cancel():
                raise Cancelled(f"simulate cancelled at {policy} night {k + 1}/{nights}"
                                f" ({getattr(should_cancel, 'reason', '') or 'cancelled'}); the real store is untouched")
            known = full.iloc[: source.visible]
            pred = one_step(pctx.engine, ticker, known)
            day = source.advance()
            actual, last = float(full["close"].iloc[source.visible - 1]), float(known["close"].iloc[-1])
            rows.append((day, actual, pred, last))
            progress(f"{policy}: night {k + 1}/{nights} {day}: actual {actual:.2f} forecast {pred:.2f} persistence {last:.2f}")
            if k == nights - 1:
                break  # no later day to forecast: the last night's training would never be judged
            clock["now"] = evening(day)
            t0 = time.perf_counter()
            if policy == "none":
                update_from_sources(pctx.engine, ticker, [source], ctx.settings.overlap_days, clock["now"])
            else:
                action = "finetune" if policy == "finetune" else "retrain"
                run = run_pipeline(
                    replace(pctx, sources=[source]),
                    RunRequest.build(ticker, trigger="simulate", requested_by="simulate", action=action,
                                     cells=["gru"], epochs=finetune_epochs if policy == "finetune" else epochs),
                    RunHooks(should_cancel=should_cancel),
                )
                if run.status is not RunStatus.SUCCEEDED:
                    raise JobError(f"{policy} night {k + 1} ({day}): run {run.status}: {run.error}")
                train_s += run.train_seconds or 0.0
                promoted += bool(run.promoted)
            wall += time.perf_counter() - t0
        pctx.engine.dispose()
        actual_arr = np.array([r[1] for r in rows])
        pred_arr = np.array([r[2] for r in rows])
        pers = np.array([r[3] for r in rows])
        rmse = float(np.sqrt(np.mean((actual_arr - pred_arr) ** 2)))
        rmse_p = float(np.sqrt(np.mean((actual_arr - pers) ** 2)))
        moves = np.sign(actual_arr - pers)
        results[policy] = {
            "rmse": round(rmse, 4),
            "mae": round(float(np.mean(np.abs(actual_arr - pred_arr))), 4),
            "persistence_rmse": round(rmse_p, 4),
            "rmse_ratio": round(rmse / rmse_p, 4) if rmse_p else None,
            "direction_hit": round(float(np.mean(np.sign(pred_arr - pers) == moves)), 3),
            "train_seconds": round(train_s, 1),
            "pipeline_seconds": round(wall, 1),
            "trainings": 0 if policy == "none" else nights - 1,
            "promotions": promoted,
        }
    shutil.rmtree(tmp, ignore_errors=True) if workdir is None else None
    return {
        "ticker": ticker,
        "nights": nights,
        "first_day": str(full.index[start_visible].date()),
        "last_day": str(full.index[start_visible + nights - 1].date()),
        "initial_train_s": initial_s,
        "epochs": epochs,
        "finetune_epochs": finetune_epochs,
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
