"""Where prices come from: Yahoo (yfinance), the offline sample, a user's CSV."""
from marketdata.sources.base import PriceSource, SourceUnavailable

__all__ = ["PriceSource", "SourceUnavailable"]
