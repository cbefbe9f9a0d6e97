"""Shapes of the precomputed outputs training writes and the dashboard reads.

Training stores one ``ModelOutput`` row per (model, name) with a JSON payload of
the shape below, so the web process draws everything without loading a model.
Dates are ISO strings (``YYYY-MM-DD``); prices are adjusted closes in dollars;
every list in one payload has the same length unless said otherwise.
"""
from __future__ import annotations

from typing import TypedDict

OUTPUT_NAMES = ("predictions", "forecast", "loss_curve", "metrics", "residual_diagnostics", "backtest")
# What the analyst pages read (the per-origin backtest is for exports only: it is the biggest payload).
ANALYST_OUTPUTS = OUTPUT_NAMES[:5]
CELLS = ("simplernn", "lstm", "gru")
CELL_LABELS = {"simplernn": "SimpleRNN", "lstm": "LSTM", "gru": "GRU"}
BASELINES = ("persistence", "drift", "ridge")
BASELINE_LABELS = {"persistence": "Persistence", "drift": "Drift", "ridge": "Linear AR (ridge)",
                   "always_up": "Always up", "random_walk_band": "Random-walk band"}


class SplitDates(TypedDict):
    train_start: str  # first date with a target in the training period
    val_start: str  # validation (early stopping) carved from the end of training
    test_start: str  # the train/test split boundary: first test-period date
    test_end: str


class Predictions(TypedDict):
    """One-step-ahead predictions for every test-period day ("predictions")."""

    dates: list[str]
    actual: list[float]
    predicted: list[float]
    residual: list[float]  # actual - predicted
    persistence: list[float]  # the previous day's close: the baseline beside it
    lower80: list[float]  # split-conformal interval from validation residuals
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
    """Test-period figures of one network or baseline; prices in dollars."""

    rmse: float
    mae: float
    mape: float  # percent
    rmse_ratio: float  # rmse / persistence rmse (1.0 for persistence itself)
    directional_accuracy: float  # share of days the sign of the move was right, 0..1
    directional_low: float  # 95% binomial (Wilson) interval
    directional_high: float
    dm_stat: float | None  # Diebold-Mariano vs persistence (None for persistence)
    dm_pvalue: float | None
    coverage80: float | None  # empirical coverage of the conformal intervals (networks only)
    coverage95: float | None
    per_horizon_rmse: list[float]  # index h-1 = h steps ahead, length H
    per_horizon_mae: list[float]
    per_horizon_mape: list[float]
    param_count: int | None
    train_seconds: float | None


class Metrics(TypedDict):
    """The metric table of one trained model ("metrics")."""

    cell: str  # which key of ``rows`` is this model
    horizon: int
    test_days: int
    rows: dict[str, ScoreRow]  # keys: the cell name, "persistence", "drift"


class ResidualDiagnostics(TypedDict):
    """Residual checks on the test period ("residual_diagnostics")."""

    acf: list[float]  # lags 1..20
    acf_bound: float  # 1.96 / sqrt(n): bars beyond it are significant at 5%
    ljung_box_stat: float
    ljung_box_pvalue: float  # lag 20
    mean_bias: float  # mean residual, dollars (positive: the model under-predicts)
    dm_stat: float | None
    dm_pvalue: float | None
