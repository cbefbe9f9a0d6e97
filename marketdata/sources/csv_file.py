"""Import of the usual Yahoo CSV export: ``Date,Open,High,Low,Close[,Adj Close],Volume``.

Every check names the file, the line (header is line 1) and the column, so the
user can fix the file; nothing is written unless the whole file is good. What is
refused, and why (each of these once poisoned the store or gave a traceback):

- dates before 1970-01-01 or after the next trading day, weekends, and for a
  ticker on the NYSE calendar (``calendar.on_nyse_calendar``) NYSE holidays;
- prices that are not finite, not positive or absurd (over ``MAX_PRICE``);
- Open or Close outside Low..High by more than rounding (``_TOLERANCE``);
- volume that is negative, not a whole number or absurd (over ``MAX_VOLUME``);
- a file with no data rows (an empty file, a lone UTF-8 BOM, a header alone).
"""
from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path

import pandas as pd

from marketdata.frames import MAX_PRICE, PriceDataError

REQUIRED = ["Date", "Open", "High", "Low", "Close", "Volume"]
OPTIONAL = ["Adj Close"]
PRICES = ["Open", "High", "Low", "Close"]
EARLIEST = date(1970, 1, 1)
MAX_VOLUME = 1e12  # AAPL's busiest day, split-adjusted, is about 2e10 shares
_TOLERANCE = (1e-4, 0.005)  # relative, absolute: rounding to 4 digits or to half a cent


@dataclass(frozen=True)
class DateRules:
    """Which dates a file may hold: ``earliest..latest``, and trading ``sessions`` when known."""

    earliest: date
    latest: date
    sessions: frozenset[date] | None  # None: weekends are still refused, holidays unknown

    @classmethod
    def for_ticker(cls, ticker: str | None, today: date) -> "DateRules":
        from marketdata.calendar import next_trading_days, on_nyse_calendar

        latest = next_trading_days(today, 1)[0]
        nyse = ticker is not None and on_nyse_calendar(ticker)
        return cls(EARLIEST, latest, _nyse_sessions(latest) if nyse else None)

    def check(self, day: date, where: str) -> None:
        if not self.earliest <= day <= self.latest:
            raise PriceDataError(f"{where}, column Date: {day} is outside {self.earliest} to {self.latest} "
                                 f"(the next trading day)")
        if day.weekday() >= 5:
            raise PriceDataError(f"{where}, column Date: {day} is a {day:%A}; markets are closed at weekends")
        if self.sessions is not None and day not in self.sessions:
            raise PriceDataError(f"{where}, column Date: {day} is an NYSE holiday (no trading that day)")


@lru_cache(maxsize=4)
def _nyse_sessions(latest: date) -> frozenset[date]:
    """NYSE sessions from the calendar's first (1970-01-02) to ``latest``: one set lookup a row."""
    from marketdata.calendar import trading_days_between

    return frozenset(trading_days_between(date(1970, 1, 2), latest))


def _number(text: str, where: str, column: str) -> float:
    if text is None or text.strip() == "" or text.strip().lower() in {"null", "nan", "na"}:
        raise PriceDataError(f"{where}, column {column}: missing value")
    try:
        value = float(text)
    except ValueError:
        raise PriceDataError(f"{where}, column {column}: {text[:40]!r} is not a number") from None
    if math.isnan(value) or math.isinf(value):
        raise PriceDataError(f"{where}, column {column}: {text.strip()[:40]!r} is not a finite number")
    return value


def _check_prices(values: dict[str, float], raw: dict[str, str], where: str) -> None:
    for c in PRICES:
        if values[c] <= 0:
            raise PriceDataError(f"{where}, column {c}: price must be positive, got {raw[c]}")
        if values[c] > MAX_PRICE:
            raise PriceDataError(f"{where}, column {c}: price {raw[c][:40]} is absurd (over {MAX_PRICE:g})")
    low, high = values["Low"], values["High"]
    if high < low:
        raise PriceDataError(f"{where}, column High: high {high} is below low {low}")
    slack = max(_TOLERANCE[0] * high, _TOLERANCE[1])
    for c in ("Open", "Close"):
        if not low - slack <= values[c] <= high + slack:
            raise PriceDataError(f"{where}, column {c}: {c.lower()} {values[c]} is outside low..high "
                                 f"({low}..{high})")


def _volume(text: str, where: str) -> int:
    value = _number(text, where, "Volume")
    if value < 0:
        raise PriceDataError(f"{where}, column Volume: negative volume {text.strip()[:40]}")
    if value > MAX_VOLUME:
        raise PriceDataError(f"{where}, column Volume: volume {text.strip()[:40]} is absurd (over {MAX_VOLUME:g})")
    if value != int(value):
        raise PriceDataError(f"{where}, column Volume: volume {text.strip()[:40]} is not a whole number")
    return int(value)


def _read_rows(path: Path) -> tuple[str, list[list[str]]]:
    """The file's name and its CSV rows; PriceDataError for an unreadable, empty or binary file."""
    name = path.name
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise PriceDataError(f"{path}: cannot read file ({exc.strerror})") from None
    try:
        text = raw.decode("utf-8-sig")  # drops a leading BOM
    except UnicodeDecodeError:
        raise PriceDataError(f"{name}: not a CSV text file (not UTF-8)") from None
    if not text.strip():
        raise PriceDataError(f"{name}: file is empty (no header, no data rows)")
    if "\x00" in text:
        raise PriceDataError(f"{name}: not a CSV text file (binary content)")
    try:
        return name, list(csv.reader(text.splitlines()))
    except csv.Error as exc:
        raise PriceDataError(f"{name}: not a CSV file ({exc})") from None


def _columns(name: str, first_row: list[str]) -> dict[str, int]:
    header = [h.strip() for h in first_row]
    unknown = [h for h in header if h not in REQUIRED + OPTIONAL]
    missing = [h for h in REQUIRED if h not in header]
    if missing or unknown or len(set(header)) != len(header):
        raise PriceDataError(
            f"{name}, line 1: wrong header {','.join(header)[:80]!r}; expected "
            "Date,Open,High,Low,Close[,Adj Close],Volume"
        )
    return {h: i for i, h in enumerate(header)}


# One validated line: its date, and the adjusted open/high/low/close and the volume by column.
_Record = tuple[date, dict[str, float]]


def _record(row: list[str], col: dict[str, int], where: str, rules: DateRules) -> _Record:
    text = row[col["Date"]].strip()
    try:
        day = datetime.strptime(text[:10], "%Y-%m-%d").date()
    except ValueError:
        raise PriceDataError(f"{where}, column Date: {text[:40]!r} is not a YYYY-MM-DD date") from None
    rules.check(day, where)
    raw = {c: row[col[c]] for c in PRICES}
    values = {c: _number(raw[c], where, c) for c in PRICES}
    _check_prices(values, raw, where)
    volume = _volume(row[col["Volume"]], where)
    factor = 1.0
    if "Adj Close" in col:
        adj = _number(row[col["Adj Close"]], where, "Adj Close")
        if not 0 < adj <= MAX_PRICE:
            raise PriceDataError(f"{where}, column Adj Close: price must be positive and at most "
                                 f"{MAX_PRICE:g}, got {adj}")
        factor = adj / values["Close"]  # adjust O/H/L the same way Yahoo adjusted Close
    return day, {**{c.lower(): values[c] * factor for c in PRICES}, "volume": volume}


def read_price_csv(path: str | Path, *, today: date, ticker: str | None = None) -> pd.DataFrame:
    """Read and fully validate a CSV; return a price frame or raise PriceDataError.

    ``ticker`` decides the holiday calendar (None: weekends only); ``today`` (the
    caller's date in UTC) bounds the dates at the next trading day.
    """
    name, rows = _read_rows(Path(path))
    col = _columns(name, rows[0])
    rules = DateRules.for_ticker(ticker, today)
    records: list[_Record] = []
    seen: dict[date, int] = {}
    for lineno, row in enumerate(rows[1:], start=2):
        if not row or all(not c.strip() for c in row):
            continue  # a blank line (often the last) is not data
        where = f"{name}, line {lineno}"
        if len(row) != len(col):
            raise PriceDataError(f"{where}: {len(row)} fields, expected {len(col)}")
        record = _record(row, col, where, rules)
        day = record[0]
        if day in seen:
            raise PriceDataError(f"{where}, column Date: duplicate date {day} (first on line {seen[day]})")
        seen[day] = lineno
        records.append(record)
    if not records:
        raise PriceDataError(f"{name}: no data rows after the header")
    frame = pd.DataFrame.from_records([{"date": pd.Timestamp(d), **values} for d, values in records])
    return frame.set_index("date").sort_index()
