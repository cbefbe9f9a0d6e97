"""The one training code path: the CLI, the nightly clock and the admin UI all call these.

``train_cells`` trains fresh networks, ``finetune_champion`` continues the champion.
Both evaluate on rolling origins (``models.report``), store every model with its
outputs, and promote by this rule:

**Promotion rule.** The first model of a (ticker, cell) is promoted. A later model
is compared with the champion on its *promotion window* (the first
``promotion_fraction`` of its evaluation period, which its reported figures never
include), cut to the days after the champion's own test start and before the
champion's first reported origin, so that neither model was fitted or early-stopped
on any day of it, and neither model's reported figures include a day of it. Both stored models are scored
as they are (one-step-ahead, no refit); the candidate is promoted only if its RMSE
is not higher. It is **never** promoted without that comparison: when the window
is empty (the champion was fitted on days the candidate's window covers) or the
candidate's prices end before the champion's (a replay of the past), it is stored
but not promoted, and the reason says so. Both figures go into the run history.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from typing import Any, Iterable

import pandas as pd

from store import registry
from marketdata.calendar import next_trading_days
from store.db import retry_on_outage
from contract.vocab import CELLS, DEFAULT_CELL, FINETUNE_EPOCHS, FINETUNE_LR_FACTOR, Cell, parse, parse_cells
from marketdata.frames import data_fingerprint
from store.prices import load_prices

from .context import JobContext
from .errors import Cancelled, JobError
from .progress import Follow, ProgressFn
from .stored import load_stored_cell, stored_split

log = logging.getLogger(__name__)



@dataclass
class Promotion:
    """The candidate-vs-champion comparison on one shared window, as recorded in the run history."""

    promote: bool
    reason: str
    champion_id: int | None = None
    window_start: str | None = None
    window_end: str | None = None  # exclusive: the candidate's first reported origin
    days: int = 0
    candidate_rmse: float | None = None
    champion_rmse: float | None = None
    dm_stat: float | None = None  # Diebold-Mariano, candidate vs champion (negative: candidate better)
    dm_pvalue: float | None = None

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class TrainOutcome:
    model_id: int
    cell: str
    kind: str  # train | finetune
    promoted: bool
    metrics: dict  # the Metrics payload of the new model (rolling origins after its promotion window)
    previous_champion_id: int | None  # champion before this run (still champion if not promoted)
    promotion: Promotion  # both figures on the shared window, side by side
    seconds: float
    rolling_seconds: float = 0.0


def tf_models():
    """Import the TensorFlow side only when training actually runs."""
    from .quiet_tf import import_tensorflow_quietly

    import_tensorflow_quietly()  # TF's banners silenced before its first import
    from models import features, network, pipeline, training

    return features, network, pipeline, training


def rolling_spec(ctx):
    """How every model is evaluated: refit every EVAL_REFIT_EVERY days with EVAL_REFIT_EPOCHS warm-start epochs."""
    from models.rolling import RollingSpec

    sched = ctx.settings.schedule
    return RollingSpec(refit_every=sched.eval_refit_every, epochs=sched.eval_refit_epochs)


def _retry(ctx, fn, what: str):
    """Store reads/writes retried through a database outage (STORE_RETRY_SECONDS), then StoreUnavailable."""
    return retry_on_outage(fn, what=what, budget_s=ctx.settings.schedule.store_retry_s)


def prices_to_train_on(ctx, ticker: str, prices: pd.DataFrame | None) -> pd.DataFrame:
    """``prices`` when a caller hands them in (a replay), else the stored ones; a JobError when there are none."""
    frame = _retry(ctx, lambda: load_prices(ctx.engine, ticker), f"loading {ticker} prices") \
        if prices is None else prices
    if frame.empty:
        raise JobError(f"no prices stored for {ticker}; run: python -m jobs init")
    return frame


def _epoch_reporter(progress: ProgressFn, label: str, lo: float, hi: float):
    def on_epoch(epoch: int, max_epochs: int, logs: dict) -> None:
        progress(lo + (hi - lo) * epoch / max_epochs,
                 f"{label}: epoch {epoch}/{max_epochs} loss {logs['loss']:.4f} val_loss {logs['val_loss']:.4f}")
    return on_epoch


def _compare(ctx, fit, champ, prices: pd.DataFrame) -> Promotion:
    """Candidate vs champion, one step ahead, from the later test start to the earlier first reported origin."""
    _, _, pipeline, _ = tf_models()
    from models.evaluation import diebold_mariano

    if champ is None:
        return Promotion(True, "first model of this cell")
    data_end = prices.index[-1].date()
    if data_end < champ.data_end:
        return Promotion(False, f"not promoted: the candidate's prices end {data_end}, before the champion's "
                                f"({champ.data_end}); a model of older data never replaces a newer one",
                         champion_id=champ.id)
    p = fit.prepared
    start = max(pd.Timestamp(p.dates[p.test_start]), pd.Timestamp(champ.test_start))
    # Ends before either model's reported origins: whichever model is served afterwards, its
    # reported figures come from origins after the window that chose it.
    end = pd.Timestamp(fit.report.metrics["evaluation"]["report_start"])
    champ_report = (champ.metrics.get("evaluation") or {}).get("report_start")
    if champ_report:
        end = min(end, pd.Timestamp(champ_report))
    if start >= end:
        return Promotion(False, f"not promoted: no window that neither model was fitted on and neither reports on "
                                f"(champion's test period from {champ.test_start}, reported from {champ_report}; "
                                f"the candidate's promotion window ends "
                                f"{fit.report.metrics['evaluation']['report_start']}); retrain to compare afresh",
                         champion_id=champ.id)
    try:
        stored = load_stored_cell(ctx, champ, stored_split(champ, prices))
        theirs = pipeline.one_step_between(stored.load(), stored.hp, stored.scaler, prices, start, end)
    except ValueError as exc:
        return Promotion(False, f"not promoted: champion {champ.id} cannot be scored on these prices ({exc})",
                         champion_id=champ.id)
    ours = pipeline.one_step_between(fit.model, fit.hp, p.scaler, prices, start, end)
    both = ours.join(theirs, rsuffix="_champion", how="inner")
    if both.empty:
        return Promotion(False, f"not promoted: no shared day to compare on from {start.date()}", champion_id=champ.id)
    e_new = both["actual"] - both["predicted"]
    e_old = both["actual"] - both["predicted_champion"]
    new, old = float((e_new**2).mean() ** 0.5), float((e_old**2).mean() ** 0.5)
    dm, dm_p = diebold_mariano(e_new.to_numpy(), e_old.to_numpy())
    window = f"{both.index[0].date()}..{both.index[-1].date()} ({len(both)} days)"
    promote = new <= old
    reason = (f"{'promoted' if promote else 'not promoted'}: one-step RMSE on {window}, which neither model was "
              f"fitted on: candidate {new:.4f} vs champion {champ.id} {old:.4f}"
              + (f" (Diebold-Mariano p = {dm_p:.2f})" if dm_p is not None else ""))
    return Promotion(promote, reason, champ.id, str(both.index[0].date()), str(end.date()), len(both), new, old, dm, dm_p)


@dataclass(frozen=True)
class TrainControls:
    """A run's training controls (``contract.run.RunRequest`` carries the same choices)."""

    epochs: int | None = None  # cap (early stopping may end sooner); None: Hyperparams.epochs, or FINETUNE_EPOCHS
    seed: int = 42  # seeds fresh networks; a fine-tune keeps its champion's
    promote: bool = True  # False: store fresh networks without promoting them; a fine-tune is promoted if not worse
    run_id: int | None = None  # the run that trains, recorded with each model


@dataclass(frozen=True)
class _Candidate:
    """A network just fit, the prices it was fit on, and how long fitting it took."""

    fit: Any  # models.pipeline.CellFit
    prices: pd.DataFrame
    fit_seconds: float


@dataclass(frozen=True)
class _Lineage:
    """How a candidate is stored: what made it, from which parent, with which split, and who may promote it."""

    kind: str  # train | finetune
    seed: int
    run_id: int | None
    parent_id: int | None
    split: dict
    allow_promote: bool
    actor: str


def _verdict(ctx, ticker: str, cand: _Candidate, allow_promote: bool):
    """(the champion or None, the Promotion as recorded): the comparison, overruled when promotion was not asked for."""
    fit = cand.fit

    def compare():
        champ = registry.champion(ctx.engine, ticker, fit.hp.cell)
        return champ, _compare(ctx, fit, champ, cand.prices)

    champ, verdict = _retry(ctx, compare, f"comparing the {fit.hp.cell} candidate with its champion")
    if not allow_promote:
        verdict = replace(verdict, promote=False, reason=f"promotion not asked for (the comparison: {verdict.reason})")
    return champ, verdict


def _outputs(fit) -> dict:
    """The outputs stored with a model: predictions, live forecast, loss curve, metrics, residual diagnostics, backtest."""
    from models.evaluation import forecast_payload

    p, rep = fit.prepared, fit.report
    future = [d.isoformat() for d in next_trading_days(p.dates[-1].date(), p.horizon)]
    # Bands of the live forecast from the newest calibration state; with too few known outcomes
    # (an evaluation period under ~25 days) the plain conformal widths of the evaluation's known errors stand in.
    live = rep.live_halfwidths()
    return {
        "predictions": rep.predictions,
        "forecast": forecast_payload(p, fit.next_returns, live[0.80], live[0.95], future),
        "loss_curve": fit.history.as_payload(),
        "metrics": rep.metrics,
        "residual_diagnostics": rep.residual_diagnostics,
        "backtest": rep.backtest,
    }


def _new_model(ticker: str, cand: _Candidate, lineage: _Lineage, reason: str) -> registry.NewModel:
    from models.serialization import model_to_bytes

    fit, prices = cand.fit, cand.prices
    p = fit.prepared
    return registry.NewModel(
        ticker=ticker, cell=fit.hp.cell, kind=lineage.kind,
        hyperparams={**fit.hp.to_dict(), "scaler": p.scaler.to_dict(), "split": lineage.split,
                     "best_epoch": fit.history.best_epoch, "promotion": reason},
        seed=lineage.seed, data_start=prices.index[0].date(), data_end=prices.index[-1].date(),
        val_start=p.dates[p.val_start].date(), test_start=p.dates[p.test_start].date(),
        data_hash=data_fingerprint(prices), metrics=fit.report.metrics,
        train_seconds=round(fit.history.seconds, 3), param_count=fit.param_count,
        keras_bytes=model_to_bytes(fit.model), parent_id=lineage.parent_id, run_id=lineage.run_id,
    )


def _store(ctx, ticker: str, cand: _Candidate, lineage: _Lineage) -> TrainOutcome:
    """Compare with the champion, store the model and its outputs (promoting if it wins)."""
    started = time.perf_counter() - cand.fit_seconds
    fit = cand.fit
    champ, verdict = _verdict(ctx, ticker, cand, lineage.allow_promote)
    promote = verdict.promote
    outputs = _outputs(fit)
    new = _new_model(ticker, cand, lineage, verdict.reason)
    # One transaction (model, five outputs, champion): a retry after an outage never leaves half a model.
    model_id = _retry(
        ctx, lambda: registry.save_model(ctx.engine, new, outputs, promote=promote, actor=lineage.actor, now=ctx.now()),
        f"saving the {ticker} {fit.hp.cell} model",
    )
    log.info("%s %s model %s: %s; promoted=%s", ticker, fit.hp.cell, model_id, verdict.reason, promote)
    return TrainOutcome(
        model_id=model_id, cell=fit.hp.cell, kind=lineage.kind, promoted=promote, metrics=fit.report.metrics,
        previous_champion_id=champ.id if champ else None, promotion=verdict,
        seconds=round(time.perf_counter() - started, 3), rolling_seconds=round(fit.rolling_seconds, 3),
    )


def refresh_comparison(ctx, ticker: str) -> int | None:
    """Compare the served models of ``ticker`` on their shared rolling origins and store it.

    Best effort: a comparison is a derived view, so a failure is logged and the run goes on.
    """
    from store.queries import served_model_ids
    from models.report import compare_backtests

    def work():
        served = {c: m for c, m in served_model_ids(ctx.engine, ticker).items() if c in CELLS}
        stored = {c: registry.load_output(ctx.engine, m, "backtest") for c, m in served.items()}
        backtests = {c: b for c, b in stored.items() if b}
        payload = compare_backtests(backtests)
        if payload is None:
            return None
        return registry.save_comparison(ctx.engine, ticker, {c: served[c] for c in backtests}, payload, ctx.now())

    try:
        return _retry(ctx, work, f"comparing the served {ticker} models")
    except Exception as exc:  # any error: the models are stored; the comparison can be redone next run
        log.warning("could not compare the served %s models: %s", ticker, exc)
        return None


def _checked_cells(cells: Iterable[str], epochs: int | None) -> list[str]:
    cells = list(parse_cells(list(cells), "cell type"))
    if epochs is not None and epochs < 1:
        raise JobError(f"epochs must be at least 1, got {epochs}")
    return cells


def _fit_fresh(ctx, ticker: str, frame: pd.DataFrame, cells: list[str], controls: TrainControls,
               follow: Follow) -> list[_Candidate]:
    """A fresh network per cell on ``frame``, each fit in turn; nothing stored."""
    features, network, pipeline, training = tf_models()
    split = features.SplitSpec()
    fits = []
    for k, cell in enumerate(cells):
        started = time.perf_counter()
        hp = network.Hyperparams(cell=cell, **({"epochs": controls.epochs} if controls.epochs else {}))
        follow.progress(k / len(cells), f"{cell}: training on {len(frame)} days")
        try:
            fit = pipeline.fit_cell(
                frame, hp, split, rolling=rolling_spec(ctx), controls=training.FitControls(
                    seed=controls.seed, should_cancel=follow.should_cancel,
                    on_epoch=_epoch_reporter(follow.progress, cell, k / len(cells), (k + 1) / len(cells))),
            )
        except training.TrainingCancelled as exc:
            raise Cancelled(f"training cancelled during {cell} ({exc}); nothing was saved") from None
        except ValueError as exc:
            raise JobError(f"{ticker} {cell}: {exc}") from None
        fits.append(_Candidate(fit, frame, time.perf_counter() - started))
    return fits


def train_cells(
    ctx: JobContext,
    ticker: str,
    cells: Iterable[str],
    controls: TrainControls = TrainControls(),
    follow: Follow = Follow(),
    *,
    prices: pd.DataFrame | None = None,
) -> list[TrainOutcome]:
    """Train a fresh network per cell type on all stored prices (or ``prices``), store each.

    Networks are fit first, stored after; on cancellation (Cancelled) nothing is stored.
    ``controls.epochs`` caps the epochs (early stopping may end sooner); default: Hyperparams.epochs.
    """
    features, _, _, _ = tf_models()
    cells = _checked_cells(cells, controls.epochs)
    frame = prices_to_train_on(ctx, ticker, prices)
    fits = _fit_fresh(ctx, ticker, frame, cells, controls, follow)
    if follow.should_cancel():
        raise Cancelled("training cancelled before saving; nothing was saved")
    split = features.SplitSpec()
    split_info = {"test_days": split.test_days, "test_fraction": split.test_fraction, "val_fraction": split.val_fraction}
    lineage = _Lineage(kind="train", seed=controls.seed, run_id=controls.run_id, parent_id=None, split=split_info,
                       allow_promote=controls.promote, actor="training")
    outcomes = [_store(ctx, ticker, cand, lineage) for cand in fits]
    refresh_comparison(ctx, ticker)
    follow.progress(1.0, "training finished: " + ", ".join(
        f"{o.cell} model {o.model_id}{' (promoted)' if o.promoted else ''}" for o in outcomes))
    return outcomes


def _champion_to_finetune(ctx, ticker: str, cell: str):
    cell = parse(Cell, cell, "cell type")
    champ = _retry(ctx, lambda: registry.champion(ctx.engine, ticker, cell), f"reading the {cell} champion")
    if champ is None:
        raise JobError(f"no {cell} champion for {ticker} to fine-tune; run: python -m jobs train --cells {cell}")
    return champ


def _finetune_split(champ, frame: pd.DataFrame, ticker: str, cell: str):
    """(SplitSpec, split rows): the champion's evaluation length, ending at the newest day of ``frame``."""
    features, _, _, _ = tf_models()
    val_fraction = (champ.hyperparams.get("split") or {}).get("val_fraction", features.SplitSpec().val_fraction)
    # The evaluation period keeps the champion's length (older models stored only test_days).
    eval_days = (champ.metrics.get("evaluation") or {}).get("evaluation_days") or champ.metrics["test_days"]
    spec = features.SplitSpec(test_days=int(eval_days), val_fraction=val_fraction)
    dates = features.returns_frame(frame).index
    split = spec.boundaries(len(dates))
    if split[1] < 0 or dates[split[1]].date() < champ.test_start:
        # The window would reach back into days the champion was trained on: no honest comparison.
        raise JobError(
            f"{ticker} prices end {frame.index[-1].date()}, before the {cell} champion's data "
            f"(test period from {champ.test_start}); fine-tune needs the champion's days plus newer ones; "
            f"retrain instead: python -m jobs train --cells {cell}"
        )
    return spec, split


def _continue_champion(ctx, champ, frame: pd.DataFrame, split: tuple[int, int], controls: TrainControls,
                       follow: Follow):
    """The champion trained on for a few epochs at a tenth of its learning rate (a CellFit); nothing stored."""
    _, _, pipeline, training = tf_models()
    ticker, cell = champ.ticker, champ.cell
    follow.progress(0.0, f"{cell}: fine-tuning model {champ.id} on {len(frame)} days")
    try:
        return pipeline.continue_training(
            load_stored_cell(ctx, champ, split),
            frame, training.WarmStart(controls.epochs or FINETUNE_EPOCHS, FINETUNE_LR_FACTOR), rolling=rolling_spec(ctx),
            controls=training.FitControls(seed=champ.seed, should_cancel=follow.should_cancel,
                                          on_epoch=_epoch_reporter(follow.progress, f"{cell} fine-tune", 0.0, 0.9)),
        )
    except training.TrainingCancelled as exc:
        raise Cancelled(f"fine-tune cancelled ({exc}); nothing was saved") from None
    except ValueError as exc:
        raise JobError(f"{ticker} {cell} fine-tune: {exc}") from None


def finetune_champion(
    ctx: JobContext,
    ticker: str,
    cell: str = DEFAULT_CELL,
    controls: TrainControls = TrainControls(),
    follow: Follow = Follow(),
    *,
    prices: pd.DataFrame | None = None,
) -> TrainOutcome:
    """Continue the champion of ``cell`` for a few epochs (``controls.epochs``, default FINETUNE_EPOCHS)
    at a tenth of its learning rate.

    The test window keeps the champion's length in trading days and ends at the
    newest day, so the days added since the champion was trained move into the
    training period (the oldest test days become training days) and the model
    is judged on the newest days, which it has not seen. The champion is
    re-scored on that same window and the fine-tuned model is promoted only if
    it is not worse (module docstring). Both outcomes are stored. It keeps the
    champion's seed (``controls.seed`` and ``controls.promote`` are for fresh networks).
    """
    champ = _champion_to_finetune(ctx, ticker, cell)
    frame = prices_to_train_on(ctx, ticker, prices)
    started = time.perf_counter()
    spec, split = _finetune_split(champ, frame, ticker, cell)
    fit = _continue_champion(ctx, champ, frame, split, controls, follow)
    if follow.should_cancel():
        raise Cancelled("fine-tune cancelled before saving; nothing was saved")
    split_info = {"test_days": spec.test_days, "test_fraction": None, "val_fraction": spec.val_fraction}
    lineage = _Lineage(kind="finetune", seed=champ.seed, run_id=controls.run_id, parent_id=champ.id,
                       split=split_info, allow_promote=True, actor="finetune")
    outcome = _store(ctx, ticker, _Candidate(fit, frame, time.perf_counter() - started), lineage)
    refresh_comparison(ctx, ticker)
    follow.progress(1.0, f"{cell} fine-tune: model {outcome.model_id}, "
                         f"{'promoted' if outcome.promoted else 'not promoted'}")
    return outcome
