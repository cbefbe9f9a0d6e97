from __future__ import annotations

import abc
from datetime import date

import pandas as pd

from contract.errors import Failure


class SourceUnavailable(Failure):
    """The source could not give prices right now (network, rate limit, empty answer)."""


class PriceSource(abc.ABC):
    """Gives a validated price frame (see ``marketdata.frames``) for a ticker."""

    name: str

    @abc.abstractmethod
    def fetch(self, ticker: str, start: date | None = None) -> pd.DataFrame:
        """Prices from ``start`` (inclusive; None = full history) to the latest day."""
