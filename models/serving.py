"""A stored network's forecast from the newest close, without training (the serve step).

The point forecast is what training stores as its "forecast" output: the stored
model, as it is, on the newest window. The bands come from the method the reported
figures use (``models.report``: volatility-scaled conformal, the scale a GARCH(1,1)-t
h-day sd refit every K origins to the tuned powers, ``BAND_SPEC``), with the
calibration state rolled forward: the scores of the origins training reported (the
stored ``backtest`` paths) plus those of every origin since, forecast by this model
as it is, over the outcomes known now.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from contract.outputs import Backtest, Forecast

from .evaluation import actual_paths, forecast_payload, price_paths
from .features import Prepared
from .garch import garch_scale_once
from .intervals import IntervalSpec, PathsAtOrigins, adaptive_halfwidths
from .pipeline import predict_returns
from .report import BAND_SPEC, LEVELS, band_scale, tuned_exponent
from .rolling import RollingSpec, daily_returns
from .serialization import StoredCell


@dataclass(frozen=True)
class ServeInputs:
    """What one champion serves from: its stored cell, the prices known now, its stored figures."""

    stored: StoredCell
    prices: pd.DataFrame
    backtest: Backtest | None  # the champion's stored rolling origins (its calibration state at training)
    fallback: dict[float, np.ndarray]  # level -> (H,) half-widths when too few outcomes are known


def _stored_paths(p: Prepared, backtest: Backtest | None, cell: str) -> tuple[np.ndarray, np.ndarray]:
    """(origins (N,), price paths (N, H)) training calibrated the live band on, as rows of ``p``.

    Every evaluation origin at full precision where the backtest carries its ``calibration``;
    a model trained before that has only its reported origins (rounded), so its first served
    bands differ a little from the ones its training would have drawn."""
    if not backtest:
        return np.zeros(0, dtype=int), np.zeros((0, p.horizon))
    state = backtest.get("calibration")
    if state is not None:
        rows, dates = state["predicted"], state["dates"]
    elif cell in backtest.get("models", {}):
        rows, dates = backtest["models"][cell]["predicted"], backtest["dates"]
    else:
        return np.zeros(0, dtype=int), np.zeros((0, p.horizon))
    pred = np.asarray([[np.nan if v is None else v for v in row] for row in rows], dtype=float).reshape(-1, p.horizon)
    base_dates = pd.DatetimeIndex(pd.to_datetime(dates[: len(pred)]))  # (N, H) above; origin k forecasts from dates[k]
    pos = p.dates.get_indexer(base_dates)  # the origin forecasting from dates[k] is the next feature row
    keep = (pos >= 0) & (pos + 1 < p.n)
    return pos[keep] + 1, pred[keep]


def _calibration(p: Prepared, model: Any, backtest: Backtest | None, cell: str) -> tuple[PathsAtOrigins, np.ndarray]:
    """Every scored origin (stored, then this model's since) and the live forecast's returns (H,)."""
    origins, paths = _stored_paths(p, backtest, cell)
    start = int(origins[-1]) + 1 if len(origins) else p.test_start
    new_origins, returns = predict_returns(model, p, start)  # the last row is origin n: the live forecast
    new_origins, returns, live = new_origins[:-1], returns[:-1], returns[-1]
    all_origins = np.concatenate([origins, new_origins]).astype(int)
    all_paths = np.vstack([paths, price_paths(p, returns, new_origins)]) if len(new_origins) else paths
    return PathsAtOrigins(all_origins, all_paths, actual_paths(p, all_origins)), live


def _scale(p: Prepared, origins: np.ndarray, rolling: RollingSpec) -> np.ndarray:
    """(n+1, H) the band scale at every scored origin and the live one, as training computes it
    (``models.report._bands``): GARCH refit at the same block starts, the same tuned powers."""
    stops = np.r_[origins, p.n].astype(int)
    sd, _ = garch_scale_once(daily_returns(p), stops, rolling.blocks(p.test_start, p.n), p.horizon)
    return band_scale(p, stops, sd, tuned_exponent(p))


def serve_forecast(inputs: ServeInputs, future: list[str], rolling: RollingSpec = RollingSpec(),
                   intervals: IntervalSpec = BAND_SPEC) -> Forecast:
    """The H-day forecast (a ``Forecast`` payload) from the newest close of ``inputs.prices``.

    ``future`` names the H sessions after that close; ``rolling`` is the evaluation's spec (its
    refit cadence places the GARCH refits). No weight changes: the stored model and scaler are
    used as they are.
    """
    p = inputs.stored.prepare(inputs.prices)
    model = inputs.stored.load()
    paths, live = _calibration(p, model, inputs.backtest, inputs.stored.hp.cell)
    scale = _scale(p, paths.origins, rolling)
    half: dict[float, np.ndarray] = {}
    for level in LEVELS:
        _, extra = adaptive_halfwidths(paths, scale, level, intervals, extra_origin=p.n)
        assert extra is not None  # extra_origin given
        half[level] = np.where(np.isnan(extra), inputs.fallback[level], extra)
    return forecast_payload(p, live, half[0.80], half[0.95], future)


def fallback_halfwidths(forecast: Forecast | None, horizon: int) -> dict[float, np.ndarray]:
    """The relative half-widths of a stored forecast (training's own stand-in), NaN without one."""
    if not (forecast and forecast.get("predicted")):
        return {level: np.full(horizon, np.nan) for level in LEVELS}
    pred = np.asarray(forecast["predicted"], dtype=float)
    upper = {0.80: forecast["upper80"], 0.95: forecast["upper95"]}
    return {level: np.asarray(upper[level], dtype=float) / pred - 1.0 for level in LEVELS}
