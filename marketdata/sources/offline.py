"""Offline default prices from the ``bokeh-sampledata`` package (public domain).

AAPL, MSFT, IBM and GOOG daily, 2000-03-01 to 2013-03-01. The package's
open/high/low/close are unadjusted; its ``adj_close`` is split- and
dividend-adjusted, so we scale every price by ``adj_close / close``. That removes
the 2:1 splits of 2000-06-21 and 2005-02-28 (which would otherwise look like
-50% days) and keeps the real crash of 2000-09-29 (about -52%).
"""
from __future__ import annotations

from datetime import date

import pandas as pd

from marketdata.frames import validate_price_frame
from marketdata.sources.base import PriceSource, SourceUnavailable

OFFLINE_TICKERS = ("AAPL", "MSFT", "IBM", "GOOG")


class OfflineSampleSource(PriceSource):
    name = "offline-sample"

    def fetch(self, ticker: str, start: date | None = None) -> pd.DataFrame:
        if ticker not in OFFLINE_TICKERS:
            raise SourceUnavailable(
                f"the offline sample has no {ticker}; it has {', '.join(OFFLINE_TICKERS)}"
            )
        from bokeh_sampledata.stocks import data  # loaded on first use only

        raw = data[data["ticker"] == ticker].set_index("date").sort_index()
        factor = raw["adj_close"] / raw["close"]
        frame = pd.DataFrame(
            {
                "open": raw["open"] * factor,
                "high": raw["high"] * factor,
                "low": raw["low"] * factor,
                "close": raw["adj_close"],
                # Volume in shares scales the other way: more, smaller shares after a split.
                "volume": (raw["volume"] / factor).round(),
            }
        )
        if start is not None:
            frame = frame[frame.index >= pd.Timestamp(start)]
        if frame.empty:
            return frame.rename_axis("date")
        return validate_price_frame(frame, f"offline sample {ticker}")
