"""Reading the forecast ledger back, for the tests that check it is append-only."""
from __future__ import annotations

from sqlalchemy import select

from store.tables import LedgerEntry


def dump(engine) -> list[tuple]:
    """Every ledger row, every column, in id order: what 'byte-identical' is checked on."""
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(LedgerEntry.__table__).order_by(LedgerEntry.id))]
