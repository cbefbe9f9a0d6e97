"""The forecast ledger of one ticker as the web reads it, tagged with the store version it was read at
(the web caches it per version: ``dashboard.cache``)."""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Engine

from store.ledger import load_ledger
from store.queries import StoreVersion


@dataclass(frozen=True)
class LedgerView:
    ticker: str
    version: StoreVersion
    frame: pd.DataFrame  # store.ledger.READ_COLUMNS

    @property
    def empty(self) -> bool:
        return self.frame.empty


def load_ledger_view(engine: Engine, ticker: str, version: StoreVersion) -> LedgerView:
    return LedgerView(ticker, version, load_ledger(engine, ticker))
