"""From a price frame to scaled model inputs, without leaking the future.

Row ``j`` of the feature table is the daily percent change of open, high, low,
close and volume on date ``d_j`` against the trading day before (the lesson's
de-trending; the first price row has no change and is dropped). The target of
row ``i`` is the next ``H`` close returns ``r_i .. r_{i+H-1}``; its window is rows
``i-L .. i-1``, so the newest input of a prediction for day ``d_i`` is the
close of ``d_{i-1}``.

The split is chronological: ``[0, val_start)`` fits the weights and the scaler,
``[val_start, test_start)`` drives early stopping and conformal calibration,
``[test_start, n)`` is the test period, used only for judging.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import numpy as np
import pandas as pd

from .windows import make_windows, window_targets

FEATURES = ["open", "high", "low", "close", "volume"]
CLOSE = FEATURES.index("close")


def returns_frame(prices: pd.DataFrame) -> pd.DataFrame:
    """Daily percent change of OHLCV; one row fewer than ``prices``.

    A zero volume day would give an infinite change; it is treated as no change.
    """
    out = prices[FEATURES].astype(float).pct_change().iloc[1:]
    return out.replace([np.inf, -np.inf], np.nan).fillna(0.0)


@dataclass(frozen=True)
class SplitSpec:
    """How to cut the history. ``test_days`` wins over ``test_fraction`` when given."""

    test_days: int | None = None
    test_fraction: float = 0.2
    val_fraction: float = 0.15  # of the training period, taken from its end

    def __post_init__(self):
        if self.test_days is not None and self.test_days < 1:
            raise ValueError(f"test_days must be a positive number of trading days, got {self.test_days}")
        if not 0.0 < self.test_fraction < 1.0:
            raise ValueError(f"test_fraction must be between 0 and 1 (e.g. 0.2), got {self.test_fraction}")
        if not 0.0 < self.val_fraction < 1.0:
            raise ValueError(f"val_fraction must be between 0 and 1 (e.g. 0.15), got {self.val_fraction}")

    def boundaries(self, n_rows: int) -> tuple[int, int]:
        """(val_start, test_start) row indices for a feature table of ``n_rows``."""
        n_test = self.test_days if self.test_days is not None else int(round(n_rows * self.test_fraction))
        test_start = n_rows - n_test
        val_start = test_start - int(round(test_start * self.val_fraction))
        return val_start, test_start


@dataclass(frozen=True)
class Scaler:
    """Per-feature standardisation, fit on training rows only."""

    mean: np.ndarray  # (F,)
    std: np.ndarray  # (F,)

    @classmethod
    def fit(cls, rows: np.ndarray) -> "Scaler":
        std = rows.std(axis=0)
        return cls(mean=rows.mean(axis=0), std=np.where(std > 0, std, 1.0))

    def transform(self, rows: np.ndarray) -> np.ndarray:
        return (rows - self.mean) / self.std

    def to_dict(self) -> dict:
        return {"mean": [float(x) for x in self.mean], "std": [float(x) for x in self.std]}

    @classmethod
    def from_dict(cls, d: dict) -> "Scaler":
        return cls(mean=np.asarray(d["mean"], dtype=float), std=np.asarray(d["std"], dtype=float))


@dataclass(frozen=True)
class TrainArrays:
    """Windows and targets of the training and validation periods."""

    x_train: np.ndarray  # (N, L, F)
    y_train: np.ndarray  # (N, H) scaled future close returns
    x_val: np.ndarray  # (M, L, F)
    y_val: np.ndarray  # (M, H)


@dataclass
class Prepared:
    """Scaled features, scaled targets and price anchors of one history and split."""

    dates: pd.DatetimeIndex  # (n,) date of each feature row
    x: np.ndarray  # (n, F) scaled features
    y: np.ndarray  # (n, H) scaled future close returns, NaN past the end of the data
    close: np.ndarray  # (n,) close on dates[i]
    base: np.ndarray  # (n,) close the trading day before dates[i]: the origin of a forecast for i
    window: int
    horizon: int
    val_start: int
    test_start: int
    scaler: Scaler
    train_mean_return: float  # mean daily close return on the training rows (the drift baseline)

    @property
    def n(self) -> int:
        return len(self.dates)

    def targets_between(self, start: int, end: int) -> np.ndarray:
        """Target rows in [start, end) whose whole H-step target also lies before ``end``.

        Used for fitting and early stopping, so no target reaches into a later period.
        """
        idx = window_targets(self.n, self.window, start, end)
        return idx[idx + self.horizon <= end]

    def train_arrays(self) -> TrainArrays:
        """Windows and targets of the training and validation periods."""
        tr = self.targets_between(0, self.val_start)
        va = self.targets_between(self.val_start, self.test_start)
        return TrainArrays(self.windows(tr), self.y[tr], self.windows(va), self.y[va])

    def windows(self, targets_at: np.ndarray) -> np.ndarray:
        return make_windows(self.x, self.window, targets_at)

    def to_returns(self, scaled: np.ndarray) -> np.ndarray:
        """Model outputs (scaled close returns) back to daily returns."""
        return scaled * self.scaler.std[CLOSE] + self.scaler.mean[CLOSE]


def prepare(
    prices: pd.DataFrame,
    window: int,
    horizon: int,
    split: SplitSpec | tuple[int, int] = SplitSpec(),
    scaler: Scaler | None = None,
) -> Prepared:
    """Build the feature table, split it and scale it.

    ``split`` is a spec or explicit (val_start, test_start) row indices (to score
    a stored model on a given window). ``scaler`` is a stored model's scaler;
    without one, a new scaler is fit on rows ``[0, val_start)`` only.
    """
    rets = returns_frame(prices)
    n = len(rets)
    val_start, test_start = split.boundaries(n) if isinstance(split, SplitSpec) else split
    min_train = window + horizon + 1
    if val_start < min_train or test_start - val_start < horizon + 1 or test_start >= n:
        raise ValueError(
            f"{len(prices)} price rows are too few for window {window}, horizon {horizon} and this split "
            f"(train rows {val_start}, validation rows {test_start - val_start}, test rows {n - test_start}); "
            "load more history or use a smaller test period"
        )
    raw = rets.to_numpy()
    scaler = scaler or Scaler.fit(raw[:val_start])
    r = raw[:, CLOSE]
    y = np.full((n, horizon), np.nan)
    for h in range(horizon):
        y[: n - h, h] = r[h:]
    y = (y - scaler.mean[CLOSE]) / scaler.std[CLOSE]
    closes = prices["close"].to_numpy(dtype=float)
    return Prepared(
        dates=cast(pd.DatetimeIndex, rets.index),  # prices are indexed by date
        x=scaler.transform(raw).astype(np.float32),
        y=y.astype(np.float32),
        close=closes[1:],
        base=closes[:-1],
        window=window,
        horizon=horizon,
        val_start=val_start,
        test_start=test_start,
        scaler=scaler,
        train_mean_return=float(r[:val_start].mean()),
    )


def split_at_dates(dates: pd.DatetimeIndex, val_start: pd.Timestamp, test_start: pd.Timestamp) -> tuple[int, int]:
    """Row indices of the first feature rows on or after two dates."""
    return int(dates.searchsorted(pd.Timestamp(val_start))), int(dates.searchsorted(pd.Timestamp(test_start)))
