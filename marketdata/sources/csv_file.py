"""Import of the usual Yahoo CSV export: ``Date,Open,High,Low,Close[,Adj Close],Volume``.

Every check names the file, the line (header is line 1) and the column, so the
user can fix the file; nothing is written unless the whole file is good.
"""
from __future__ import annotations

import csv
import math
from datetime import date, datetime
from pathlib import Path

import pandas as pd

from ..prices import PriceDataError

REQUIRED = ["Date", "Open", "High", "Low", "Close", "Volume"]
OPTIONAL = ["Adj Close"]


def _number(text: str, where: str, column: str) -> float:
    if text is None or text.strip() == "" or text.strip().lower() in {"null", "nan", "na"}:
        raise PriceDataError(f"{where}, column {column}: missing value")
    try:
        value = float(text)
    except ValueError:
        raise PriceDataError(f"{where}, column {column}: {text!r} is not a number") from None
    if math.isnan(value) or math.isinf(value):
        raise PriceDataError(f"{where}, column {column}: missing value")
    return value


def read_price_csv(path: str | Path) -> pd.DataFrame:
    """Read and fully validate a CSV; return a price frame or raise PriceDataError."""
    path = Path(path)
    name = path.name
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise PriceDataError(f"{path}: cannot read file ({exc.strerror})") from None
    if not raw.strip():
        raise PriceDataError(f"{name}: file is empty")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise PriceDataError(f"{name}: not a CSV text file (not UTF-8)") from None
    if "\x00" in text:
        raise PriceDataError(f"{name}: not a CSV text file (binary content)")
    rows = list(csv.reader(text.splitlines()))
    header = [h.strip() for h in rows[0]]
    unknown = [h for h in header if h not in REQUIRED + OPTIONAL]
    missing = [h for h in REQUIRED if h not in header]
    if missing or unknown or len(set(header)) != len(header):
        raise PriceDataError(
            f"{name}, line 1: wrong header {','.join(header)!r}; expected "
            "Date,Open,High,Low,Close[,Adj Close],Volume"
        )
    col = {h: i for i, h in enumerate(header)}
    records: list[dict] = []
    seen: dict[date, int] = {}
    for lineno, row in enumerate(rows[1:], start=2):
        if not row or all(not c.strip() for c in row):
            continue  # a blank line (often the last) is not data
        where = f"{name}, line {lineno}"
        if len(row) != len(header):
            raise PriceDataError(f"{where}: {len(row)} fields, expected {len(header)}")
        try:
            day = datetime.strptime(row[col["Date"]].strip()[:10], "%Y-%m-%d").date()
        except ValueError:
            raise PriceDataError(f"{where}, column Date: {row[col['Date']]!r} is not a YYYY-MM-DD date") from None
        if day in seen:
            raise PriceDataError(f"{where}, column Date: duplicate date {day} (first on line {seen[day]})")
        seen[day] = lineno
        values = {c: _number(row[col[c]], where, c) for c in ["Open", "High", "Low", "Close", "Volume"]}
        for c in ["Open", "High", "Low", "Close"]:
            if values[c] <= 0:
                raise PriceDataError(f"{where}, column {c}: price must be positive, got {row[col[c]]}")
        if values["High"] < values["Low"]:
            raise PriceDataError(f"{where}, column High: high {values['High']} is below low {values['Low']}")
        if values["Volume"] < 0:
            raise PriceDataError(f"{where}, column Volume: negative volume {row[col['Volume']]}")
        factor = 1.0
        if "Adj Close" in col:
            adj = _number(row[col["Adj Close"]], where, "Adj Close")
            if adj <= 0:
                raise PriceDataError(f"{where}, column Adj Close: price must be positive, got {adj}")
            factor = adj / values["Close"]  # adjust O/H/L the same way Yahoo adjusted Close
        records.append(
            {
                "date": pd.Timestamp(day),
                "open": values["Open"] * factor,
                "high": values["High"] * factor,
                "low": values["Low"] * factor,
                "close": values["Close"] * factor,
                "volume": int(round(values["Volume"])),
            }
        )
    if not records:
        raise PriceDataError(f"{name}: no data rows after the header")
    return pd.DataFrame.from_records(records).set_index("date").sort_index()
