"""Importing a price CSV from the admin page: a preview, then all-or-nothing.

The file is validated by the command line's own reader (``marketdata.sources.csv_file``)
and written by the store's own upsert in one transaction, exactly as
``python -m jobs import-csv`` does. The preview is never trusted at import time: the
upload is read and validated again.
"""
from __future__ import annotations

import base64
import binascii
import re
import tempfile
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine

from store.db import session_factory
from marketdata.frames import PriceDataError
from store.price_corrections import (ChangedDays, PriceChange, Replacement, days_text, import_prices, price_changes,
                                     stored_days)
from store.prices import compare_with_stored
from marketdata.sources.csv_file import read_price_csv

from dashboard import inputs

MAX_CSV_BYTES = 700_000  # decoded; the web's 1 MiB body limit holds the base64 of this
SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class Preview:
    ticker: str
    filename: str
    rows: int
    first: str
    last: str
    new_rows: int  # days not stored yet
    unchanged_rows: int  # stored days the file repeats as they are
    differing_rows: int  # stored days the file changes: written only after "Replace these N days"
    frame: pd.DataFrame = field(repr=False)  # the validated rows, oldest first
    changes: tuple[PriceChange, ...] = ()  # every stored value the file changes, oldest day first
    stored_days: frozenset[date] = frozenset()  # the file's days already stored (changed or not)


def _name(filename) -> str:
    name = SAFE_NAME.sub("_", filename if isinstance(filename, str) else "upload.csv")[:60]
    return name if name.lower().endswith(".csv") else name + ".csv"


def read_upload(contents, filename, ticker: str, now: datetime) -> tuple[str, pd.DataFrame]:
    """(safe file name, validated frame) from dcc.Upload's data URL; Refused saying what is wrong."""
    if not isinstance(contents, str) or "," not in contents or not contents.startswith("data:"):
        raise inputs.Refused("choose a CSV file to upload")
    try:
        raw = base64.b64decode(contents.split(",", 1)[1], validate=True)
    except (binascii.Error, ValueError):
        raise inputs.Refused("the upload is not valid base64") from None
    if len(raw) > MAX_CSV_BYTES:
        raise inputs.Refused(f"the file is {len(raw):,} bytes; the limit is {MAX_CSV_BYTES:,}")
    name = _name(filename)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name  # the reader names the file in its messages
        path.write_bytes(raw)
        try:
            return name, read_price_csv(path, ticker=ticker, today=now.date())
        except PriceDataError as exc:
            raise inputs.Refused(str(exc)) from None


def preview(engine: Engine, contents, filename, ticker: str, now: datetime) -> Preview:
    name, frame = read_upload(contents, filename, ticker, now)
    with session_factory(engine)() as session:
        overlap = compare_with_stored(session, ticker, frame)
        changes = tuple(price_changes(session, ticker, frame)) if overlap.differing else ()
        stored = frozenset(stored_days(session, ticker, frame))
    incoming = pd.DatetimeIndex(frame.index)
    return Preview(ticker, name, len(frame), str(incoming[0].date()), str(incoming[-1].date()),
                   len(frame) - overlap.rows, overlap.rows - overlap.differing, overlap.differing,
                   frame, changes, stored)


def import_upload(engine: Engine, contents, filename, ticker: str, now: datetime,
                  replacement: Replacement | None = None) -> str:
    """Validate again and write every row in one transaction, as ``python -m jobs import-csv`` does:
    rows that change stored ones refuse the whole file (nothing is written) unless ``replacement``
    names the admin who confirmed replacing that many days (recorded in price_deletions)."""
    name, frame = read_upload(contents, filename, ticker, now)
    try:
        with session_factory(engine).begin() as session:
            done = import_prices(session, ticker, frame, name, now, replacement)
    except ChangedDays as exc:
        raise inputs.Refused(f"{exc}; review them and confirm with Replace") from None
    n, overlap = done.written, done.overlap
    replaced = (f", {len(done.replaced)} replaced ({days_text(done.replaced)}; the old values are recorded as price "
                f"deletions #{done.record_ids[0]}-#{done.record_ids[-1]} by {replacement.by if replacement else ''})") if done.replaced else ""
    return (f"{ticker}: imported {n} rows from {name} ({frame.index[0].date()} to {frame.index[-1].date()}; "
            f"{done.new_rows} new, {overlap.rows - overlap.differing} already stored unchanged{replaced}).")
