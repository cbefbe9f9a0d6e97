"""Price frames: the shape every price source delivers and every store write accepts.

A *price frame* is a DataFrame indexed by a tz-naive ``DatetimeIndex`` named
``date`` with float columns ``open, high, low, close`` and int ``volume``,
oldest first, one row per trading day.
"""
from __future__ import annotations

import hashlib
import math
from typing import Mapping

import numpy as np
import pandas as pd

from contract.errors import Refusal

PRICE_COLUMNS = ["open", "high", "low", "close", "volume"]
MAX_PRICE = 1e7  # no share trades near this (Berkshire A is under 1e6): above it is an error


class PriceDataError(Refusal):
    """Prices that must not enter the store; the message names where and what."""


MIN_PRICE = 1e-4  # a hundredth of a cent: below it a price is a poisoned cell (5e-324 once trained to inf)
MAX_VOLUME = 1e12  # AAPL's busiest day, split-adjusted, is about 2e10 shares
TOLERANCE = (1e-4, 0.005)  # relative, absolute: Open/Close may pass High/Low by rounding to 4 digits or half a cent
PRICES = ("open", "high", "low", "close")


def _price_problem(values: Mapping[str, float], shown: Mapping[str, str]) -> tuple[str, str] | None:
    for c in PRICES:
        v, text = values[c], shown[c]
        if not math.isfinite(v):
            return c, f"{text!r} is not a finite number"
        if v <= 0:
            return c, f"price must be positive, got {text}"
        if v < MIN_PRICE:
            return c, f"price {text} is implausible (under {MIN_PRICE:g})"
        if v > MAX_PRICE:
            return c, f"price {text} is absurd (over {MAX_PRICE:g})"
    low, high = values["low"], values["high"]
    if high < low:
        return "high", f"high {high} is below low {low}"
    slack = max(TOLERANCE[0] * high, TOLERANCE[1])
    for c in ("open", "close"):
        if not low - slack <= values[c] <= high + slack:
            return c, f"{c} {values[c]} is outside low..high ({low}..{high})"
    return None


def _volume_problem(volume: float, text: str) -> str | None:
    if not math.isfinite(volume):
        return f"{text!r} is not a finite number"
    if volume < 0 or text.lstrip().startswith("-"):  # "-0" too: a sign is no part of a share count
        return f"negative volume {text}"
    if volume > MAX_VOLUME:
        return f"volume {text} is absurd (over {MAX_VOLUME:g})"
    if volume != int(volume):
        return f"volume {text} is not a whole number"
    return None


def price_row_problem(values: Mapping[str, float], shown: Mapping[str, str] | None = None) -> tuple[str, str] | None:
    """The first problem of one day's prices, *after* any adjustment, as (column, message), or None.

    The one place the rules live (every source, the CSV reader, the Yahoo and offline
    frames and the replays call it): open/high/low/close finite and within
    ``MIN_PRICE..MAX_PRICE``, Open and Close within Low..High (up to ``TOLERANCE``),
    volume a non-negative whole number up to ``MAX_VOLUME``. ``values`` has the lower-case
    columns of ``PRICE_COLUMNS``; ``shown`` how to name each value in a message (default: repr).
    """
    shown = shown or {c: repr(float(values[c])) for c in PRICE_COLUMNS}
    found = _price_problem(values, shown)
    if found is not None:
        return found
    problem = _volume_problem(float(values["volume"]), shown["volume"])
    return None if problem is None else ("volume", problem)


def validate_price_frame(frame: pd.DataFrame, origin: str) -> pd.DataFrame:
    """Check a price frame and return it sorted; raise PriceDataError naming the bad row.

    ``origin`` says where the data came from (a file name, "Yahoo", ...) so the
    one-line error tells the user where to look. Every row passes ``price_row_problem``.
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
    columns = [frame[c].astype(float).tolist() for c in PRICE_COLUMNS]
    for day, row in zip(days, zip(*columns)):
        found = price_row_problem(dict(zip(PRICE_COLUMNS, row)))
        if found is not None:
            raise PriceDataError(f"{origin}, {day.date()}, column {found[0]}: {found[1]}")
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
