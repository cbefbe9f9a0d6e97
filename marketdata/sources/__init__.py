"""Where prices come from: Yahoo (yfinance), the offline sample, a user's CSV."""
from .base import PriceSource, SourceUnavailable

__all__ = ["PriceSource", "SourceUnavailable"]
