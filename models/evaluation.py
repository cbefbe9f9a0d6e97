"""Judging forecasts honestly: against persistence and drift, on the test period only.

Conventions (prices in dollars, adjusted closes):

* An *origin* is a feature row ``i``; its forecast path starts from ``base[i]``
  (the close of the day before ``dates[i]``) and covers ``dates[i] .. dates[i+H-1]``.
  "One-step-ahead" is ``h = 1``: the prediction for ``dates[i]`` made the evening before.
* ``rmse``, ``mae``, ``mape`` are the one-step figures; ``per_horizon_*[h-1]`` are
  over every test origin whose ``h``-step target is inside the data.
* Persistence predicts ``base[i]`` for every step; drift compounds the mean daily
  close return of the training rows.
* Conformal intervals are relative: the score of a validation origin is
  ``|actual / predicted - 1|`` per step, so one calibration serves a $1 and a $500 stock.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, TypedDict

import numpy as np
from scipy import stats

from contract.outputs import Forecast, ResidualDiagnostics, ScoreRow

from .features import Prepared

ACF_LAGS = 20


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


class ErrorTable(TypedDict):
    per_horizon_rmse: list[float]  # index h-1 = h steps ahead, NaN where no h-step target is in the data
    per_horizon_mae: list[float]
    per_horizon_mape: list[float]


def _errors_table(pred: np.ndarray, actual: np.ndarray) -> ErrorTable:
    rmse: list[float] = []
    mae: list[float] = []
    mape: list[float] = []
    for h in range(pred.shape[1]):
        ok = ~np.isnan(actual[:, h])
        if not ok.any():  # a test window shorter than h days has no h-step errors
            rmse.append(float("nan"))
            mae.append(float("nan"))
            mape.append(float("nan"))
            continue
        e = actual[ok, h] - pred[ok, h]
        rmse.append(float(np.sqrt(np.mean(e**2))))
        mae.append(float(np.mean(np.abs(e))))
        mape.append(float(np.mean(np.abs(e / actual[ok, h])) * 100))
    return {"per_horizon_rmse": rmse, "per_horizon_mae": mae, "per_horizon_mape": mape}


def score_row(pred: np.ndarray, actual: np.ndarray, base: np.ndarray, persistence_rmse: float | None) -> ScoreRow:
    """A ScoreRow (see contract.outputs) for one forecaster over test origins."""
    table = _errors_table(pred, actual)
    row: ScoreRow = {"rmse": table["per_horizon_rmse"][0], "mae": table["per_horizon_mae"][0],
                     "mape": table["per_horizon_mape"][0]}
    row["rmse_ratio"] = row["rmse"] / persistence_rmse if persistence_rmse else 1.0
    moved = np.sign(pred[:, 0] - base)
    if np.all(moved == 0):  # persistence never calls a direction
        row.update({"directional_accuracy": None, "directional_low": None, "directional_high": None})
    else:
        hits = int(np.sum(moved == np.sign(actual[:, 0] - base)))
        lo, hi = wilson_interval(hits, len(base))
        row.update({"directional_accuracy": hits / len(base), "directional_low": lo, "directional_high": hi})
    row.update(table)
    return row


@dataclass(frozen=True)
class NetworkFacts:
    """What the score tables say about the network itself, beside its forecasts."""

    param_count: int | None = None
    train_seconds: float | None = None  # wall-clock seconds of the fit
    refits: tuple[int, ...] = ()  # block starts of the rolling evaluation's warm starts (rolling only)


class SplitDates(TypedDict):
    train_start: str
    val_start: str
    test_start: str
    test_end: str


class SplitPredictions(TypedDict):
    """One-step-ahead predictions over one split's test days (not stored: the rolling ones are)."""

    dates: list[str]
    actual: list[float]
    predicted: list[float]
    residual: list[float]  # actual - predicted
    persistence: list[float]
    lower80: list[float]  # conformal, calibrated on the validation period
    upper80: list[float]
    lower95: list[float]
    upper95: list[float]
    split: SplitDates


class SplitMetrics(TypedDict):
    """The score table of one split's test days (not stored: the rolling ``Metrics`` are)."""

    cell: str
    horizon: int
    test_days: int
    rows: dict[str, ScoreRow]  # the cell, "persistence", "drift"


@dataclass
class Evaluation:
    """Everything computed for one model over one test window."""

    predictions: SplitPredictions
    metrics: SplitMetrics
    residual_diagnostics: ResidualDiagnostics
    q80: np.ndarray  # (H,) relative half-widths, from validation
    q95: np.ndarray
    one_step_rmse: float


@dataclass(frozen=True)
class _TestPaths:
    """Price paths over the test origins ``[test_start, n)``."""

    origins: np.ndarray  # (T,)
    predicted: np.ndarray  # (T, H)
    actual: np.ndarray  # (T, H), NaN past the data
    base: np.ndarray  # (T,) close before each origin


def _calibrate(p: Prepared, returns: np.ndarray, pos: dict[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(q80, q95) (H,) conformal half-widths from validation origins whose targets end before the test."""
    val_o = np.array([i for i in range(p.val_start, p.test_start) if i + p.horizon <= p.test_start])
    val_pred = price_paths(p, returns[[pos[i] for i in val_o]], val_o)  # (V, H)
    return conformal_quantiles(val_pred, actual_paths(p, val_o), 0.80), conformal_quantiles(val_pred, actual_paths(p, val_o), 0.95)


def _score_rows(p: Prepared, t: _TestPaths, cell: str) -> dict[str, ScoreRow]:
    """Persistence, drift and the network over the test origins; persistence is its own yardstick."""
    steps = np.arange(1, p.horizon + 1)
    persistence = np.repeat(t.base[:, None], p.horizon, axis=1)  # (T, H)
    drift = t.base[:, None] * (1.0 + p.train_mean_return) ** steps[None, :]  # (T, H)
    pers_row = score_row(persistence, t.actual, t.base, None)
    pers_row.update({"rmse_ratio": 1.0, "dm_stat": None, "dm_pvalue": None, "coverage80": None, "coverage95": None,
                    "param_count": None, "train_seconds": None})
    e_pers = t.actual[:, 0] - t.base
    rows = {"persistence": pers_row}
    for name, path in (("drift", drift), (cell, t.predicted)):
        row = score_row(path, t.actual, t.base, pers_row["rmse"])
        row["dm_stat"], row["dm_pvalue"] = diebold_mariano(t.actual[:, 0] - path[:, 0], e_pers)
        row.update({"coverage80": None, "coverage95": None, "param_count": None, "train_seconds": None})
        rows[name] = row
    return rows


def _split_predictions(p: Prepared, t: _TestPaths, q80: np.ndarray, q95: np.ndarray) -> SplitPredictions:
    a1, pred1 = t.actual[:, 0], t.predicted[:, 0]  # (T,) one step ahead
    first_train = p.targets_between(0, p.val_start)[0]
    return {
        "dates": [d.strftime("%Y-%m-%d") for d in p.dates[t.origins]],
        "actual": _floats(a1),
        "predicted": _floats(pred1),
        "residual": _floats(a1 - pred1),
        "persistence": _floats(t.base),
        "lower80": _floats(pred1 * (1 - q80[0])),
        "upper80": _floats(pred1 * (1 + q80[0])),
        "lower95": _floats(pred1 * (1 - q95[0])),
        "upper95": _floats(pred1 * (1 + q95[0])),
        "split": {
            "train_start": p.dates[first_train].strftime("%Y-%m-%d"),
            "val_start": p.dates[p.val_start].strftime("%Y-%m-%d"),
            "test_start": p.dates[p.test_start].strftime("%Y-%m-%d"),
            "test_end": p.dates[-1].strftime("%Y-%m-%d"),
        },
    }


def _coverage(t: _TestPaths, q: np.ndarray) -> float:
    """Share of test days whose close fell inside the one-step band of relative half-width ``q[0]``."""
    a1, pred1 = t.actual[:, 0], t.predicted[:, 0]
    return float(np.mean((a1 >= pred1 * (1 - q[0])) & (a1 <= pred1 * (1 + q[0]))))


def evaluate(p: Prepared, returns: np.ndarray, origins: np.ndarray, cell: str,
             facts: NetworkFacts = NetworkFacts()) -> Evaluation:
    """Score predicted returns (N, H) at ``origins`` (which must cover val_start..n-1).

    Validation origins calibrate the intervals; test origins ``[test_start, n)`` are scored.
    """
    pos = {int(o): k for k, o in enumerate(origins)}  # origin row -> row of ``returns``
    q80, q95 = _calibrate(p, returns, pos)
    test_o = np.arange(p.test_start, p.n)
    t = _TestPaths(origins=test_o, predicted=price_paths(p, returns[[pos[int(i)] for i in test_o]], test_o),
                   actual=actual_paths(p, test_o), base=p.base[test_o])
    rows = _score_rows(p, t, cell)
    rows[cell].update({"coverage80": _coverage(t, q80), "coverage95": _coverage(t, q95),
                      "param_count": facts.param_count, "train_seconds": facts.train_seconds})
    metrics: SplitMetrics = {"cell": cell, "horizon": p.horizon, "test_days": len(test_o),
                             "rows": {cell: rows[cell], "persistence": rows["persistence"], "drift": rows["drift"]}}
    resid = t.actual[:, 0] - t.predicted[:, 0]
    return Evaluation(
        predictions=_split_predictions(p, t, q80, q95),
        metrics=metrics,
        residual_diagnostics=residual_diagnostics(resid, rows[cell].get("dm_stat"), rows[cell].get("dm_pvalue")),
        q80=q80,
        q95=q95,
        one_step_rmse=rows[cell]["rmse"],
    )


def residual_diagnostics(resid: np.ndarray, dm_stat: float | None, dm_pvalue: float | None) -> ResidualDiagnostics:
    """ACF to lag 20 with its 5% band, Ljung-Box at lag 20, mean bias."""
    from statsmodels.stats.diagnostic import acorr_ljungbox
    from statsmodels.tsa.stattools import acf

    lags = min(ACF_LAGS, len(resid) - 1)
    if lags < 2:  # a window of a couple of days has no meaningful autocorrelation
        return {"acf": [], "acf_bound": float("nan"), "ljung_box_stat": float("nan"),
                "ljung_box_pvalue": float("nan"), "mean_bias": float(np.mean(resid)),
                "dm_stat": dm_stat, "dm_pvalue": dm_pvalue}
    r = acf(resid, nlags=lags, fft=False)[1:]
    lb = acorr_ljungbox(resid, lags=[lags])
    return {
        "acf": _floats(r),
        "acf_bound": float(1.96 / math.sqrt(len(resid))),
        "ljung_box_stat": float(lb["lb_stat"].iloc[0]),
        "ljung_box_pvalue": float(lb["lb_pvalue"].iloc[0]),
        "mean_bias": float(np.mean(resid)),
        "dm_stat": dm_stat,
        "dm_pvalue": dm_pvalue,
    }


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
