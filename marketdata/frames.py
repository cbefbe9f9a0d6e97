"""Price frames: the shape every price source delivers and every store write accepts.

A *price frame* is a DataFrame indexed by a tz-naive ``DatetimeIndex`` named
``date`` with float columns ``open, high, low, close`` and int ``volume``,
oldest first, one row per trading day.
"""
from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from contract.errors import Refusal

PRICE_COLUMNS = ["open", "high", "low", "close", "volume"]
MAX_PRICE = 1e7  # no share trades near this (Berkshire A is under 1e6): above it is an error


class PriceDataError(Refusal):
    """Prices that must not enter the store; the message names where and what."""


def validate_price_frame(frame: pd.DataFrame, origin: str) -> pd.DataFrame:
    """Check a price frame and return it sorted; raise PriceDataError naming the bad row.

    ``origin`` says where the data came from (a file name, "Yahoo", ...) so the
    one-line error tells the user where to look.
    """
    if frame.empty:
        raise PriceDataError(f"{origin}: no price rows")
    missing = [c for c in PRICE_COLUMNS if c not in frame.columns]
    if missing:
        raise PriceDataError(f"{origin}: missing column(s) {', '.join(missing)}")
    days = pd.DatetimeIndex(frame.index)
    dupes = days[days.duplicated()]
    if len(dupes):
        raise PriceDataError(f"{origin}: duplicate date {dupes[0].date()}")

    def first(bad: pd.Series[bool]) -> str:
        """The date of the first flagged row."""
        return str(days[int(bad.to_numpy().argmax())].date())

    for col in PRICE_COLUMNS:
        bad = frame[col].isna()
        if bad.any():
            raise PriceDataError(f"{origin}: missing {col} on {first(bad)}")
    for col in ["open", "high", "low", "close"]:
        bad = frame[col] <= 0
        if bad.any():
            raise PriceDataError(f"{origin}: non-positive {col} on {first(bad)}")
        # inf or 1e308 once trained to "RMSE inf ... promoted": no source may store them.
        values = frame[col].astype(float)
        bad = ~pd.Series(np.isfinite(values.to_numpy()), index=frame.index) | (values > MAX_PRICE)
        if bad.any():
            raise PriceDataError(f"{origin}: absurd {col} {values.iloc[int(bad.to_numpy().argmax())]} on "
                                 f"{first(bad)} (over {MAX_PRICE:g})")
    bad = frame["high"] < frame["low"]
    if bad.any():
        raise PriceDataError(f"{origin}: high below low on {first(bad)}")
    bad = frame["volume"] < 0
    if bad.any():
        raise PriceDataError(f"{origin}: negative volume on {first(bad)}")
    out = frame[PRICE_COLUMNS].sort_index()
    out.index = pd.DatetimeIndex(out.index).normalize().rename("date")
    out["volume"] = out["volume"].round().astype("int64")
    return out


def data_fingerprint(frame: pd.DataFrame) -> str:
    """A stable hash of a price frame, stored with each model (which data trained it)."""
    h = hashlib.sha256()
    h.update(np.asarray(frame.index.values, dtype="datetime64[ns]").tobytes())
    h.update(np.ascontiguousarray(frame[PRICE_COLUMNS].to_numpy(dtype=float)).tobytes())
    return h.hexdigest()
