"""Train, fine-tune and score one cell type on a price frame: the steps jobs strings together."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .evaluation import NetworkFacts
from .features import Prepared, Scaler, SplitSpec, prepare
from .network import Hyperparams, build_network
from .report import RollingReport, network_forecasts, rolling_report
from .rolling import RollingSpec, baseline_forecasts, network_paths
from .serialization import StoredCell, model_from_bytes
from .steps import forward
from .training import FitControls, FitHistory, FitSchedule, WarmStart, fit_network, set_determinism

__all__ = ["CellFit", "StoredCell", "continue_training", "fit_cell", "model_from_bytes", "one_step_between",
           "predict_returns", "rolling_evaluation"]  # jobs loads champions here too


@dataclass
class CellFit:
    model: Any  # a keras.Model
    hp: Hyperparams
    prepared: Prepared
    history: FitHistory
    next_returns: np.ndarray  # (H,) predicted daily returns after the last stored day
    param_count: int
    report: RollingReport  # the rolling-origin evaluation: what is stored and shown (the only evaluation)
    rolling_seconds: float = 0.0


def predict_returns(model: Any, p: Prepared, start: int, trace: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Predicted daily returns for every origin from ``start`` to ``n`` inclusive.

    Origin ``n`` is the window of the newest L rows: the forecast. Returns
    (origins (N,), returns (N, H)). ``trace``: see ``steps.forward`` (a fit traces; serving need not).
    """
    origins = np.arange(max(start, p.window), p.n + 1)
    x = p.windows(origins)  # (N, L, F)
    scaled = forward(model, x, trace)  # (N, H)
    return origins, p.to_returns(scaled)


def _finish(model: Any, hp: Hyperparams, p: Prepared, history: FitHistory, rolling: RollingSpec,
            controls: FitControls) -> CellFit:
    """Forecast from the newest window and score the fitted ``model`` on rolling origins."""
    _, returns = predict_returns(model, p, p.n, trace=True)  # (1, H): origin n; the evaluation's twin
    started = time.perf_counter()
    report = rolling_evaluation(model, hp, p, rolling, controls, train_seconds=round(history.seconds, 3))
    return CellFit(model, hp, p, history, returns[-1], int(model.count_params()), report,
                   rolling_seconds=time.perf_counter() - started)


def rolling_evaluation(model: Any, hp: Hyperparams, p: Prepared, rolling: RollingSpec,
                       controls: FitControls = FitControls(), *, train_seconds: float | None = None) -> RollingReport:
    """Rolling-origin forecasts of the network (warm-started every K days) and the baselines, scored.

    Only ``controls.seed`` and ``controls.should_cancel`` apply (the warm starts report no epochs).
    """
    returns, refits = network_paths(model, p, rolling, hp, controls)  # (N, H) daily returns
    fc = network_forecasts(p, baseline_forecasts(p, rolling), hp.cell, returns)
    facts = NetworkFacts(param_count=int(model.count_params()), train_seconds=train_seconds, refits=tuple(refits))
    return rolling_report(p, fc, hp.cell, rolling, facts=facts)


def fit_cell(prices: pd.DataFrame, hp: Hyperparams, split: SplitSpec = SplitSpec(), *,
             controls: FitControls = FitControls(), rolling: RollingSpec = RollingSpec()) -> CellFit:
    """Train a fresh network of ``hp.cell`` and evaluate it on the test period."""
    set_determinism(controls.seed)
    p = prepare(prices, hp.window, hp.horizon, split)
    model = build_network(hp, p.x.shape[1])
    history = fit_network(model, p.train_arrays(), FitSchedule.full(hp), controls)
    return _finish(model, hp, p, history, rolling, controls)


def continue_training(stored: StoredCell, prices: pd.DataFrame, warm_start: WarmStart = WarmStart(), *,
                      controls: FitControls = FitControls(), rolling: RollingSpec = RollingSpec()) -> CellFit:
    """Continue training a stored model on ``prices`` at ``warm_start.lr_factor`` x its learning rate.

    The stored scaler is kept (the weights are tuned to it); ``stored.split`` gives the
    (val_start, test_start) rows of ``prices``' feature table.
    """
    set_determinism(controls.seed)
    p = stored.prepare(prices)
    data = p.train_arrays()
    model = stored.load()
    history = fit_network(model, data, warm_start.schedule(stored.hp), controls)
    return _finish(model, stored.hp, p, history, rolling, controls)  # the stored hp keep the base learning rate


def one_step_between(model: Any, hp: Hyperparams, scaler: Scaler, prices: pd.DataFrame,
                     start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """One-step-ahead predictions of ``model`` as it is (no refit) for target dates in [start, end).

    Columns: actual, predicted (closes); index: target date. Uses only the rows
    before each target, so it can score a stored champion on any later window.
    """
    p = prepare_unsplit(prices, hp, scaler)
    dates = p.dates
    lo, hi = int(dates.searchsorted(start)), int(dates.searchsorted(end))
    lo = max(lo, hp.window)
    if hi <= lo:
        return pd.DataFrame({"actual": [], "predicted": []})
    origins = np.arange(lo, hi)
    scaled = forward(model, p.windows(origins), trace=False)[:, 0]
    pred = p.base[origins] * (1.0 + p.to_returns(scaled))
    return pd.DataFrame({"actual": p.close[origins], "predicted": pred}, index=dates[origins])


def prepare_unsplit(prices: pd.DataFrame, hp: Hyperparams, scaler: Scaler) -> Prepared:
    """Features of ``prices`` scaled with a stored scaler; the split is irrelevant (nothing is fit)."""
    n = len(prices) - 1
    return prepare(prices, hp.window, hp.horizon, (hp.window + hp.horizon + 1, min(n - 1, hp.window + 2 * hp.horizon + 2)),
                   scaler=scaler)
