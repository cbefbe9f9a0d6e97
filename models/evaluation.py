"""The shared arithmetic of judging forecasts: price paths from returns, the tests, the live payload.

Conventions (prices in dollars, adjusted closes):

* An *origin* is a feature row ``i``; its forecast path starts from ``base[i]``
  (the close of the day before ``dates[i]``) and covers ``dates[i] .. dates[i+H-1]``.
  "One-step-ahead" is ``h = 1``: the prediction for ``dates[i]`` made the evening before.
* Conformal half-widths are relative: the score of an origin is ``|actual / predicted - 1|``
  per step, so one calibration serves a $1 and a $500 stock.

The only evaluation is the rolling-origin one (``models.rolling`` walks, ``models.report`` scores).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from contract.outputs import Forecast

from .features import Prepared


def price_paths(p: Prepared, returns: np.ndarray, origins: np.ndarray) -> np.ndarray:
    """Predicted daily returns (N, H) at ``origins`` -> price paths (N, H)."""
    base = origin_base(p, origins)
    return base[:, None] * np.cumprod(1.0 + returns, axis=1)


def origin_base(p: Prepared, origins: np.ndarray) -> np.ndarray:
    """Close the forecast of each origin starts from; origin ``n`` is the day after the data."""
    origins = np.asarray(origins)
    return np.where(origins < p.n, p.base[np.minimum(origins, p.n - 1)], p.close[-1])


def actual_paths(p: Prepared, origins: np.ndarray) -> np.ndarray:
    """Actual closes (N, H) for each origin; NaN past the end of the data."""
    out = np.full((len(origins), p.horizon), np.nan)
    for h in range(p.horizon):
        j = origins + h
        ok = j < p.n
        out[ok, h] = p.close[j[ok]]
    return out


def wilson_interval(successes: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """95% Wilson score interval of a binomial proportion."""
    if n == 0:
        return (float("nan"), float("nan"))
    phat = successes / n
    denom = 1 + z * z / n
    centre = (phat + z * z / (2 * n)) / denom
    half = z * math.sqrt(phat * (1 - phat) / n + z * z / (4 * n * n)) / denom
    return (centre - half, centre + half)


def diebold_mariano(e_model: np.ndarray, e_bench: np.ndarray, h: int = 1) -> tuple[float | None, float | None]:
    """DM test on squared errors, Harvey-Leybourne-Newbold small-sample form, t(n-1) p-value.

    Negative statistic: the model's squared errors are smaller than the benchmark's.
    """
    d = np.asarray(e_model) ** 2 - np.asarray(e_bench) ** 2
    n = len(d)
    if n < 3:
        return None, None
    dbar = d.mean()
    gamma = [np.mean((d[k:] - dbar) * (d[: n - k] - dbar)) for k in range(h)]
    var = (gamma[0] + 2 * sum(gamma[1:])) / n
    if not var > 0:
        return None, None
    dm = dbar / math.sqrt(var)
    dm *= math.sqrt((n + 1 - 2 * h + h * (h - 1) / n) / n)
    p = 2 * stats.t.sf(abs(dm), df=n - 1)
    return float(dm), float(p)


def conformal_quantiles(pred: np.ndarray, actual: np.ndarray, level: float) -> np.ndarray:
    """Per-step split-conformal quantile of ``|actual/pred - 1|`` (the finite-sample ``ceil((n+1)level)/n``)."""
    out = []
    for h in range(pred.shape[1]):
        s = np.abs(actual[:, h] / pred[:, h] - 1.0)
        s = np.sort(s[~np.isnan(s)])
        if len(s) == 0:
            out.append(float("nan"))
            continue
        k = min(len(s), math.ceil((len(s) + 1) * level))
        out.append(float(s[k - 1]))
    return np.asarray(out)


@dataclass(frozen=True)
class NetworkFacts:
    """What the score tables say about the network itself, beside its forecasts."""

    param_count: int | None = None
    train_seconds: float | None = None  # wall-clock seconds of the fit
    refits: tuple[int, ...] = ()  # block starts of the rolling evaluation's warm starts (rolling only)


def forecast_payload(p: Prepared, next_returns: np.ndarray, q80: np.ndarray, q95: np.ndarray, dates: list[str]) -> Forecast:
    """The next-H-day price path from the newest window, with conformal intervals."""
    path = p.close[-1] * np.cumprod(1.0 + next_returns)
    return {
        "last_date": p.dates[-1].strftime("%Y-%m-%d"),
        "last_close": float(p.close[-1]),
        "dates": list(dates),
        "predicted": _floats(path),
        "lower80": _floats(path * (1 - q80)),
        "upper80": _floats(path * (1 + q80)),
        "lower95": _floats(path * (1 - q95)),
        "upper95": _floats(path * (1 + q95)),
    }


def _floats(a: Any) -> list[float]:
    return [float(x) for x in np.asarray(a, dtype=float)]
