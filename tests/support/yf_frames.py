"""Frames in the exact shape ``yfinance.download`` 1.7 returns, for the Yahoo adapter tests.

Columns are a (Price, Ticker) MultiIndex sorted by Price; the index is a tz-naive
DatetimeIndex named ``Date``; with ``auto_adjust=True`` there is no ``Adj Close``.
On a failure yfinance returns an empty frame with the same kind of columns.
"""
from __future__ import annotations

import numpy as np
import pandas as pd


def yf_frame(ticker: str, dates, closes, volume: int = 1_000_000) -> pd.DataFrame:
    dates = pd.DatetimeIndex(pd.to_datetime(list(dates)), name="Date")
    closes = np.asarray(closes, dtype=float)
    data = {
        ("Close", ticker): closes,
        ("High", ticker): closes * 1.01,
        ("Low", ticker): closes * 0.99,
        ("Open", ticker): closes * 1.001,
        ("Volume", ticker): np.full(len(closes), volume, dtype="int64"),
    }
    frame = pd.DataFrame(data, index=dates)
    frame.columns = pd.MultiIndex.from_tuples(frame.columns, names=["Price", "Ticker"])
    return frame


def yf_empty(ticker: str) -> pd.DataFrame:
    cols = pd.MultiIndex.from_tuples(
        [(p, ticker) for p in ["Adj Close", "Close", "High", "Low", "Open", "Volume"]], names=["Price", "Ticker"]
    )
    return pd.DataFrame(columns=cols, index=pd.DatetimeIndex([], name="Date"))


class ScriptedDownload:
    """Stands in for ``yfinance.download`` (Yahoo is unreachable here): each call
    pops the next scripted answer; an exception instance is raised."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.calls: list[dict] = []

    def __call__(self, ticker, **kwargs):
        self.calls.append({"ticker": ticker, **kwargs})
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        if callable(answer):
            return answer(ticker, **kwargs)
        return answer
