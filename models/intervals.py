"""Prediction intervals that adapt to volatility, calibrated online at every horizon.

Method (volatility-scaled split conformal with adaptive conformal inference):

* ``sigma[t]`` is a volatility known at origin ``t`` (rows ``< t``), so a calm spell
  gives narrow bands and a turbulent one wide bands: the RiskMetrics EWMA volatility
  (lambda 0.94, ``ewma_vol``) times sqrt(h), or a scale per horizon ``sigma[t, h-1]``
  (the networks' bands: the GARCH(1,1)-t h-day sd to a power ``scale_exponent``, see
  ``models.report``).
* The score of origin ``j`` at horizon ``h`` is ``|actual/predicted - 1| /
  scale[j, h]``. It is known from origin ``j + h`` on (the target day
  ``j + h - 1`` has closed).
* At origin ``t`` the half-width is the conformal quantile, at level
  ``1 - alpha_t``, of the last ``window`` scores already known, times
  ``sigma[t] * sqrt(h)``. ``alpha_t`` follows Gibbs & Candes' adaptive conformal
  inference: after each newly known outcome ``alpha += gamma * (alpha_target - miss)``,
  which pulls long-run coverage to the target even when the score distribution drifts.
* Until ``min_scores`` scores are known an origin has no interval (NaN).

Everything at origin ``t`` uses only outcomes known at ``t``: no calibration
window is shared with early stopping (validation) or promotion (it trails each origin).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

EWMA_LAMBDA = 0.94
RW_STD_DAYS = 20  # rolling window of the random-walk band's standard deviation
Z = {0.80: 1.2815516, 0.95: 1.9599640}


@dataclass(frozen=True)
class IntervalSpec:
    window: int = 500  # trailing scores a quantile is taken over (about two years of origins)
    gamma: float = 0.01  # ACI step size; 0 turns the adaptation off
    min_scores: int = 20

    def __post_init__(self) -> None:
        if self.window < self.min_scores or self.min_scores < 5:
            raise ValueError(f"interval window {self.window} must be >= min_scores {self.min_scores} >= 5")
        if not 0.0 <= self.gamma < 0.5:
            raise ValueError(f"gamma must be in [0, 0.5), got {self.gamma}")


def ewma_vol(daily_returns: np.ndarray, lam: float = EWMA_LAMBDA, warmup: int = 20) -> np.ndarray:
    """(n+1,) volatility known at origin t: EWMA of squared returns of rows < t.

    Entry ``t`` uses ``daily_returns[:t]`` only; the first ``warmup`` entries use
    the plain standard deviation of the first ``warmup`` returns as a start.
    """
    r = np.asarray(daily_returns, float)
    n = len(r)
    var = np.empty(n + 1)
    var[0] = float(np.var(r[:warmup])) if n else 0.0
    for t in range(1, n + 1):
        var[t] = lam * var[t - 1] + (1 - lam) * r[t - 1] ** 2
    var[: min(warmup, n) + 1] = var[0] if n else 0.0
    return np.sqrt(np.maximum(var, 1e-12))


def rolling_std(daily_returns: np.ndarray, days: int = RW_STD_DAYS) -> np.ndarray:
    """(n+1,) standard deviation of the ``days`` returns before origin t (rows t-days..t-1)."""
    r = np.asarray(daily_returns, float)
    out = np.full(len(r) + 1, np.nan)
    c1 = np.r_[0.0, np.cumsum(r)]
    c2 = np.r_[0.0, np.cumsum(r * r)]
    for t in range(days, len(r) + 1):
        s1, s2 = c1[t] - c1[t - days], c2[t] - c2[t - days]
        out[t] = math.sqrt(max(s2 / days - (s1 / days) ** 2, 0.0) * days / (days - 1))
    return out


def _quantile(scores: np.ndarray, level: float) -> float:
    """Finite-sample conformal quantile: the ceil((n+1) level)-th smallest score (max if beyond)."""
    k = math.ceil((len(scores) + 1) * min(max(level, 0.0), 1.0))
    k = min(max(k, 1), len(scores)) - 1
    return float(np.partition(scores, k)[k])


@dataclass(frozen=True)
class PathsAtOrigins:
    """Predicted and actual price paths of one forecaster at ascending origins."""

    origins: np.ndarray  # (N,) ascending feature rows
    predicted: np.ndarray  # (N, H) price paths
    actual: np.ndarray  # (N, H) closes, NaN past the data

    def __post_init__(self) -> None:
        if self.predicted.shape != self.actual.shape or self.predicted.shape[:1] != self.origins.shape:
            raise ValueError(f"origins {self.origins.shape}, predicted {self.predicted.shape} and actual "
                             f"{self.actual.shape} must be (N,), (N, H), (N, H): one path per origin")


def adaptive_halfwidths(
    paths: PathsAtOrigins, sigma: np.ndarray, level: float,
    spec: IntervalSpec = IntervalSpec(), extra_origin: int | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Relative half-widths (N, H) at each origin (NaN before ``min_scores`` scores are known).

    ``sigma`` indexable by origin (``ewma_vol``: the scale is ``sigma[t] * sqrt(h)``), or (rows, H)
    with the scale of every horizon itself (``sigma[t, h-1]``, e.g. a GARCH h-day standard deviation).
    ``extra_origin`` (the day after the data) also gets a half-width row, returned second: the live
    forecast's band.
    """
    origins, pred, actual = paths.origins, paths.predicted, paths.actual
    n, horizon = pred.shape
    out = np.full((n, horizon), np.nan)
    extra = np.full(horizon, np.nan)
    stops = list(origins) + ([extra_origin] if extra_origin is not None else [])
    for h in range(1, horizon + 1):
        scale = sigma[np.asarray(stops)] * math.sqrt(h) if np.ndim(sigma) == 1 else sigma[np.asarray(stops), h - 1]
        score = np.abs(actual[:, h - 1] / pred[:, h - 1] - 1.0) / scale[:n]  # (N,)
        alpha, known, m, nxt = 1.0 - level, np.empty(n), 0, 0  # known[:m]: the scores known so far
        for k, t in enumerate(stops):
            # outcomes of origins j with j + h <= t have closed by origin t
            while nxt < min(k, n) and origins[nxt] + h <= t:
                if not math.isnan(score[nxt]):
                    issued = out[nxt, h - 1] / scale[nxt]
                    if not math.isnan(issued):  # ACI: only intervals actually issued move alpha
                        alpha += spec.gamma * ((1.0 - level) - float(score[nxt] > issued))
                    known[m] = score[nxt]
                    m += 1
                nxt += 1
            if m >= spec.min_scores:
                q = _quantile(known[max(0, m - spec.window): m], 1.0 - alpha) * scale[k]
                if k < n:
                    out[k, h - 1] = q
                else:
                    extra[h - 1] = q
    return out, (extra if extra_origin is not None else None)


def winkler(lower: np.ndarray, upper: np.ndarray, actual: np.ndarray, level: float) -> np.ndarray:
    """Interval (Winkler) score per point: width plus 2/alpha times the distance outside."""
    a = 1.0 - level
    below = np.maximum(lower - actual, 0.0)
    above = np.maximum(actual - upper, 0.0)
    return (upper - lower) + (2.0 / a) * (below + above)


MIN_EXPONENT_ROWS = 250  # about a year of origins: fewer give too noisy a slope, and the plain scale is kept


def scale_exponent(errors: np.ndarray, scale: np.ndarray, clip: tuple[float, float] = (0.0, 1.0)) -> np.ndarray:
    """(H,) ``b_h`` in |error| ~ scale^b_h: the slope of log|error| on log scale at each horizon.

    ``errors``, ``scale``: (M, H); entries not finite, or zero, are left out. A forecast volatility is
    noisy (and a GARCH forecast reverts to its mean at its own pace), so ``b_h`` is below 1 when the
    spread of h-day errors follows it less than one for one; dividing scores by ``scale ** b_h`` then
    leaves them independent of the volatility level, which coverage within each volatility regime
    needs. 1.0 (the plain scale) at a horizon with fewer than ``MIN_EXPONENT_ROWS`` entries.
    """
    out = np.ones(errors.shape[1])
    for h in range(errors.shape[1]):
        ok = np.isfinite(errors[:, h]) & np.isfinite(scale[:, h]) & (errors[:, h] != 0) & (scale[:, h] > 0)
        x, y = np.log(scale[ok, h]), np.log(np.abs(errors[ok, h]))
        x, y = x - x.mean() if len(x) else x, y - y.mean() if len(y) else y
        if len(x) >= MIN_EXPONENT_ROWS and float(x @ x) > 0:
            out[h] = float(np.clip((x @ y) / (x @ x), *clip))
    return out
