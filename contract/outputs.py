"""Shapes of the precomputed outputs training produces, the store keeps and the dashboard reads.

Training stores one ``ModelOutput`` row per (model, name) with a JSON payload of
the shape below, so the web process draws everything without loading a model.
Dates are ISO strings (``YYYY-MM-DD``); prices are adjusted closes in dollars;
every list in one payload has the same length unless said otherwise.
"""
from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict, Union

from .vocab import BASELINE_LABELS as _POINT_LABELS, Baseline

OUTPUT_NAMES = ("predictions", "forecast", "loss_curve", "metrics", "residual_diagnostics", "backtest")
# What the analyst pages read (the per-origin backtest is for exports only: it is the biggest payload).
ANALYST_OUTPUTS = OUTPUT_NAMES[:5]
BASELINES: tuple[str, ...] = tuple(b.value for b in Baseline)  # the point forecasters (contract.vocab)
# Bands around persistence with no point forecast of their own (metrics "intervals", backtest "models")
BAND_BASELINES = ("random_walk_band", "garch_band", "conformal_band")
BASELINE_LABELS = {**_POINT_LABELS, "always_up": "Always up", "random_walk_band": "Random-walk band",
                   "garch_band": "GARCH(1,1)-t band", "conformal_band": "Conformal band (persistence)"}


class SplitDates(TypedDict):
    train_start: str  # first date with a target in the training period
    val_start: str  # validation (early stopping) carved from the end of training
    test_start: str  # the train/test split boundary: first evaluation-period date
    report_start: str  # first reported origin (after the promotion window)
    test_end: str


class Predictions(TypedDict):
    """One-step-ahead rolling-origin predictions for every reported day ("predictions")."""

    dates: list[str]
    actual: list[float]
    predicted: list[float]
    residual: list[float]  # actual - predicted
    relative_residual: list[float]  # (actual - predicted) / previous close
    persistence: list[float]  # the previous day's close: the baseline beside it
    lower80: list[float]  # adaptive interval calibrated on outcomes known before each origin
    upper80: list[float]
    lower95: list[float]
    upper95: list[float]
    split: SplitDates


class Forecast(TypedDict):
    """The next H trading days after the last stored close ("forecast")."""

    last_date: str
    last_close: float
    dates: list[str]  # NYSE sessions, length H
    predicted: list[float]
    lower80: list[float]
    upper80: list[float]
    lower95: list[float]
    upper95: list[float]


class LossCurve(TypedDict):
    """Per-epoch training and validation loss ("loss_curve")."""

    epoch: list[int]
    loss: list[float]
    val_loss: list[float]


class ScoreRow(TypedDict, total=False):
    """Rolling-origin figures of one network or baseline over the reported origins; prices in dollars.

    Scalars are one day ahead (h = 1); ``per_horizon_<figure>[h-1]`` for h = 1..H, with
    ``per_horizon_<figure>_low/_high`` the 95% stationary-bootstrap interval for
    rmse_ratio, r2_zero, r2_mean and mase. See ``models.skill`` for the definitions.
    """

    rmse: float
    mae: float
    mape: float  # percent
    rmse_ratio: float | None  # rmse / persistence rmse (1.0 for persistence itself); None when not finite
    directional_accuracy: float | None  # share of days the sign of the move was right, 0..1 (None: never calls one)
    directional_low: float | None  # 95% binomial (Wilson) interval
    directional_high: float | None
    dm_stat: float | None  # Diebold-Mariano vs persistence (None for persistence)
    dm_pvalue: float | None
    r2_zero: float | None  # out-of-sample R-squared of returns against predicting no change
    r2_mean: float | None  # ... against the historical mean return (Campbell-Thompson)
    mase: float | None  # mean absolute return error / training mean absolute daily return
    rmse_ratio_low: float | None  # 95% bootstrap interval of rmse_ratio (also r2_*_low/high, mase_low/high)
    rmse_ratio_high: float | None
    coverage80: float | None  # empirical coverage of the adaptive intervals at h = 1 (networks and ridge)
    coverage95: float | None
    per_horizon_rmse: list[float]  # index h-1 = h steps ahead, length H
    per_horizon_mae: list[float]
    per_horizon_mape: list[float]
    per_horizon_origins: list[int]  # how many origins were scored at each horizon (models.skill.horizon_table)
    param_count: int | None
    train_seconds: float | None


class Metrics(TypedDict):
    """The metric table of one trained model ("metrics"), from rolling origins.

    ``evaluation``: method, refit_every, refits, origins per horizon, the windows' dates
    (promotion_start, report_start, report_end), evaluation_days, bootstrap block and reps.
    ``direction``: up_share, days, rows[name] (hit_rate, low, high, up_calls, pt_stat, pt_pvalue)
    for the cell, ridge, drift and always_up. ``intervals``: name -> coverage80/95, width80/95,
    winkler80/95 (lists by horizon, % of the base close), tercile_coverage80/95 and tercile_origins80/95
    ([calm, middle, turbulent third] x horizon, thirds of the reported origins by the 20-day volatility
    known at the origin, cut at ``evaluation.vol_tercile_cuts``), tests80/95 (kupiec, independence, cc
    and each ``_holm``: p by horizon, models.calibration) for the cell, ridge and ``BAND_BASELINES``; the
    cell's entry adds versus_best (Winkler difference to the best baseline band, with its bootstrap
    interval) and goals (goal, met, detail). ``evaluation.interval_scale_exponent``: b_h of the bands' scale.
    ``pairs``: the cell against each baseline (low/high of the rmse_ratio difference, verdict).
    """

    cell: str  # which key of ``rows`` is this model
    horizon: int
    test_days: int  # reported origins at h = 1
    rows: dict[str, ScoreRow]  # keys: the cell name and every baseline of contract.vocab.Baseline
    # Nested tables described above; their keys vary with the baselines, so they stay open.
    evaluation: dict[str, Any]
    direction: dict[str, Any]
    intervals: dict[str, dict[str, Any]]
    pairs: list[dict[str, Any]]


class Backtest(TypedDict):
    """Every reported rolling origin and horizon of every forecaster ("backtest"; for exports, not pages).

    Origin k forecasts from the close of ``dates[k]``; its h-step target is ``dates[k + h]``.
    ``models[name]``: predicted (N, H) closes and, where the forecaster has bands,
    lower80/upper80/lower95/upper95 (N, H); name is the cell, persistence (the random-walk
    band), drift (no band), ridge, garch_band or conformal_band (bands around persistence).
    """

    horizon: int
    dates: list[str]
    actual: list[list[float | None]]  # (N, H); None past the end of the data
    models: dict[str, dict[str, list[list[float | None]]]]
    calibration: NotRequired["Calibration"]  # absent on models trained before the serve step read it


class Calibration(TypedDict):
    """The network's paths at every evaluation origin, promotion window included, at full precision:
    the state its live band is calibrated on, which the serve step rolls forward (``models.serving``).

    Origin k forecasts from the close of ``dates[k]`` (one date per origin, unlike ``Backtest.dates``).
    """

    dates: list[str]
    predicted: list[list[float | None]]  # (M, H) price paths


class ResidualDiagnostics(TypedDict, total=False):
    """Checks on the relative one-day residuals of the reported origins ("residual_diagnostics")."""

    acf: list[float]  # lags 1..20
    acf_bound: float  # 1.96 / sqrt(n): bars beyond it are significant at 5%
    ljung_box_stat: float
    ljung_box_pvalue: float  # lag 20
    mean_bias: float  # mean residual, dollars (positive: the model under-predicts)
    mean_bias_pct: float  # mean relative residual, percent
    arch_lm_stat: float  # Engle's ARCH-LM, 5 lags: volatility clustering
    arch_lm_pvalue: float
    persistence: ResidualDiagnostics  # the same tests on persistence's relative errors (the returns), for reference
    days: int
    dm_stat: float | None
    dm_pvalue: float | None


OutputName = Literal["predictions", "forecast", "loss_curve", "metrics", "residual_diagnostics", "backtest"]
Output = Union[Predictions, Forecast, LossCurve, Metrics, ResidualDiagnostics, Backtest]


class AnalystOutputs(TypedDict, total=False):
    """The ``ANALYST_OUTPUTS`` of one model, by name; a name is absent when the model predates it."""

    predictions: Predictions
    forecast: Forecast
    loss_curve: LossCurve
    metrics: Metrics
    residual_diagnostics: ResidualDiagnostics


class AllOutputs(AnalystOutputs, total=False):
    """Every stored output of one model (``save_model`` requires all of ``OUTPUT_NAMES``)."""

    backtest: Backtest
