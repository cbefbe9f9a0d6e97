"""Ledger test helpers: prices and placeholder champions in a store, and reading the ledger back."""
from __future__ import annotations

from datetime import datetime, timezone

import pandas as pd
from sqlalchemy import select

from contract.outputs import OUTPUT_NAMES
from marketdata.calendar import next_trading_days
from store import registry
from store.db import session_factory
from store.prices import upsert_prices
from store.tables import LedgerEntry

NOW = datetime(2013, 1, 2, 23, 0, tzinfo=timezone.utc)
H = 5




def dump(engine) -> list[tuple]:
    """Every ledger row, every column, in id order: what 'byte-identical' is checked on."""
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(LedgerEntry.__table__).order_by(LedgerEntry.id))]


def store_prices(engine, frame: pd.DataFrame) -> None:
    with session_factory(engine).begin() as s:
        upsert_prices(s, "AAPL", frame, "offline-sample", NOW)


def save_model(engine, cell: str, known: pd.DataFrame, drift: float, promote: bool = True) -> int:
    """A registry model (placeholder bytes) whose stored forecast starts from ``known``'s last close."""
    last = float(known["close"].iloc[-1])
    path = [last * (1 + drift) ** h for h in range(1, H + 1)]
    forecast = {"last_date": known.index[-1].strftime("%Y-%m-%d"), "last_close": last,
                "dates": [d.isoformat() for d in next_trading_days(known.index[-1].date(), H)],
                "predicted": path, "lower80": [p * 0.97 for p in path], "upper80": [p * 1.03 for p in path],
                "lower95": [p * 0.95 for p in path], "upper95": [p * 1.05 for p in path]}
    day = known.index[-1].date()
    new = registry.NewModel(ticker="AAPL", cell=cell, kind="train", hyperparams={}, seed=1, data_start=day,
                            data_end=day, val_start=day, test_start=day, data_hash="x", metrics={"test_days": 1},
                            train_seconds=0.1, param_count=1, keras_bytes=b"not a model")
    outputs = {n: {} for n in OUTPUT_NAMES} | {"forecast": forecast}
    return registry.save_model(engine, new, outputs, promote=promote, now=NOW)


def stale_champion(engine, frame: pd.DataFrame):
    """A GRU champion forecasting from the close before ``frame``'s newest, which is stored too."""
    store_prices(engine, frame.iloc[:-1])
    save_model(engine, "gru", frame.iloc[:-1], 0.0)
    store_prices(engine, frame)
    return engine
