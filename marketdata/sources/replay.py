"""A source that replays a stored history one day at a time (the policy simulator).

``ReplaySource(frame, visible=n)`` answers as if today were the n-th row's day;
``advance()`` reveals one more trading day, the way each night brings one. The frame
passes the checks every source's prices pass (``frames.validate_price_frame``) first.
"""
from __future__ import annotations

from datetime import date

import pandas as pd

from marketdata.frames import validate_price_frame
from marketdata.sources.base import PriceSource, SourceUnavailable


class ReplaySource(PriceSource):
    def __init__(self, frame: pd.DataFrame, visible: int, name: str = "replay") -> None:
        if not 0 < visible <= len(frame):
            raise ValueError(f"visible={visible} must be within 1..{len(frame)} rows")
        self.frame = validate_price_frame(frame, f"{name} prices")
        self.visible = visible
        self.name = name

    @property
    def today(self) -> date:
        return pd.DatetimeIndex(self.frame.index)[self.visible - 1].date()

    def advance(self, days: int = 1) -> date:
        """Reveal ``days`` more rows; returns the newest visible date."""
        if self.visible + days > len(self.frame):
            raise SourceUnavailable("the replay has no more days to reveal")
        self.visible += days
        return self.today

    def fetch(self, ticker: str, start: date | None = None) -> pd.DataFrame:
        out = self.frame.iloc[: self.visible]
        if start is not None:
            out = out[out.index >= pd.Timestamp(start)]
        return out

