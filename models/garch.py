"""GARCH(1,1) with Student-t innovations: a volatility-model band on the networks' origins.

At each refit block start ``s`` (every K origins, the networks' cadence) ``arch`` fits
a zero-mean GARCH(1,1)-t to the daily close returns of rows ``< s`` (in percent,
warm-started from the previous block's estimate). For origins ``t`` of the block the
parameters stay fixed and the conditional variance is filtered through the returns
of rows ``< t`` (``arch``'s recursion from its backcast), so each origin's band uses
only data before it. The variance of the h-day return is the sum of the 1..h-step
variance forecasts, ``sigma2[t+k] = omega + (alpha + beta) sigma2[t+k-1]``; the band is
persistence +- ``t_nu^-1(1 - a/2) sqrt((nu-2)/nu) sqrt(V_h)`` (the standardised
Student-t quantile applied to the h-day sum: exact at h=1, an approximation beyond).
"""
from __future__ import annotations

import functools
import math
import warnings
from dataclasses import dataclass

import numpy as np
from scipy import signal, stats

MIN_RETURNS = 100  # fewer returns before an origin: no GARCH band there


@dataclass(frozen=True)
class GarchParams:
    """Zero-mean GARCH(1,1)-t on percent returns."""

    omega: float
    alpha: float
    beta: float
    nu: float
    backcast: float  # arch's starting variance (from the first 75 returns)

    def as_array(self) -> np.ndarray:
        return np.array([self.omega, self.alpha, self.beta, self.nu])


def _model(pct: np.ndarray):
    from arch import arch_model

    return arch_model(pct, mean="Zero", vol="GARCH", p=1, q=1, dist="t", rescale=False)


def fit_garch(returns: np.ndarray, start: GarchParams | None = None) -> GarchParams:
    """Fit GARCH(1,1)-t to daily ``returns`` (fractions); ``start`` warm-starts the optimiser."""
    pct = 100.0 * np.asarray(returns, float)
    model = _model(pct)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # arch's ConvergenceWarning: judged below by the flag
        res = model.fit(disp="off", starting_values=None if start is None else start.as_array())
    values = np.asarray(res.params, float)
    if (res.convergence_flag != 0 or not np.all(np.isfinite(values))) and start is not None:
        values = start.as_array()  # keep the last good estimate rather than a failed one
    omega, alpha, beta, nu = (float(v) for v in values)
    return GarchParams(omega, alpha, beta, nu, float(model.volatility.backcast(pct)))


def one_step_variance(returns: np.ndarray, params: GarchParams) -> np.ndarray:
    """(n+1,) conditional variance (percent^2) of the return of row t given rows < t."""
    sq = (100.0 * np.asarray(returns, float)) ** 2
    x = params.omega + params.alpha * sq  # x[t-1] feeds sigma2[t]
    tail = signal.lfilter([1.0], [1.0, -params.beta], x, zi=[params.beta * params.backcast])[0]
    return np.r_[params.backcast, tail]


def cumulative_variance(sigma2_next: np.ndarray, params: GarchParams, horizon: int) -> np.ndarray:
    """(N, H) variance (percent^2) of the 1..H-day return from each one-step variance ``sigma2_next`` (N,)."""
    persistence = params.alpha + params.beta
    steps = [np.asarray(sigma2_next, float)]
    for _ in range(horizon - 1):
        steps.append(params.omega + persistence * steps[-1])
    return np.cumsum(np.stack(steps, axis=1), axis=1)


def t_quantile(level: float, nu: float) -> float:
    """Two-sided quantile of a unit-variance Student-t with ``nu`` degrees of freedom."""
    return float(stats.t.ppf(0.5 + level / 2, nu) * math.sqrt((nu - 2) / nu))


def history_scale(returns: np.ndarray, end: int, horizon: int) -> np.ndarray:
    """(end+1, H) h-day standard deviation (fraction) at origins 0..end from one fit on ``returns[:end]``.

    In-sample (the fit saw every return these origins' outcomes include): for tuning on data before
    ``end`` only, never for a reported band.
    """
    r = np.asarray(returns, float)[:end]
    params = fit_garch(r)
    return np.sqrt(cumulative_variance(one_step_variance(r, params), params, horizon)) / 100.0


def garch_scale(returns: np.ndarray, origins: np.ndarray, blocks: list[int],
                horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """(N, H) standard deviation of the 1..H-day return (fraction) at ``origins`` (ascending), refit at each
    of ``blocks``; and (N,) the degrees of freedom in force at each origin. NaN before ``MIN_RETURNS``.

    ``returns[j]`` is row j's daily close return; origin t uses ``returns[:t]`` only.
    """
    r = np.asarray(returns, float)
    sd, nus = np.full((len(origins), horizon), np.nan), np.full(len(origins), np.nan)
    params: GarchParams | None = None
    ends = list(blocks[1:]) + [int(origins[-1]) + 1 if len(origins) else 0]
    for start, end in zip(blocks, ends):
        rows = np.flatnonzero((origins >= start) & (origins < end))
        if len(rows) == 0 or start < MIN_RETURNS:
            continue
        params = fit_garch(r[:start], params)
        last = int(origins[rows[-1]])
        sigma2 = one_step_variance(r[:last], params)[origins[rows]]  # origin t: returns[:t]
        sd[rows] = np.sqrt(cumulative_variance(sigma2, params, horizon)) / 100.0
        nus[rows] = params.nu
    return sd, nus


@functools.lru_cache(maxsize=4)
def _remembered(returns: bytes, origins: tuple[int, ...], blocks: tuple[int, ...],
                horizon: int) -> tuple[np.ndarray, np.ndarray]:
    sd, nus = garch_scale(np.frombuffer(returns), np.asarray(origins, dtype=int), list(blocks), horizon)
    sd.setflags(write=False)  # shared by every caller: read-only
    nus.setflags(write=False)
    return sd, nus


def garch_scale_once(returns: np.ndarray, origins: np.ndarray, blocks: list[int],
                     horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`garch_scale`, remembered per process (read-only arrays): the cells of a ticker share their
    returns, origins and refit blocks, so a run or a serve of three cells fits the GARCH blocks once,
    not once per cell (34 fits, about 1.5 s, each time)."""
    r = np.ascontiguousarray(returns, dtype=float).tobytes()
    return _remembered(r, tuple(int(o) for o in origins), tuple(int(b) for b in blocks), horizon)


def garch_halfwidths(sd: np.ndarray, nus: np.ndarray, levels: tuple[float, ...]) -> dict[float, np.ndarray]:
    """level -> (N, H) relative half-widths of the GARCH-t band from ``garch_scale``'s output."""
    # nu changes only at a refit: one quantile per distinct nu (about 33), not per origin (about 650)
    distinct = {float(nu) for nu in nus if np.isfinite(nu)}
    q = {}
    for lv in levels:
        by_nu = {nu: t_quantile(lv, nu) for nu in distinct}
        q[lv] = np.array([by_nu[float(nu)] if np.isfinite(nu) else np.nan for nu in nus])
    return {lv: q[lv][:, None] * sd for lv in levels}
