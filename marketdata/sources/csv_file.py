"""Import of the usual Yahoo CSV export: ``Date,Open,High,Low,Close[,Adj Close],Volume``.

Every check names the file, the line (header is line 1) and the column, so the
user can fix the file; nothing is written unless the whole file is good. What is
refused, and why (each of these once poisoned the store or gave a traceback):

- a path that is not a regular file (``/dev/zero``, a named pipe: refused without
  opening it for a blocking read) or a file over ``MAX_FILE_BYTES``; lines over
  ``MAX_LINE_CHARS``. The file is read line by line and each row is checked as it is
  read, so memory stays small whatever the file (valid rows are at most one per
  weekday since 1970, about 15,000);
- a date cell that is not exactly ``YYYY-MM-DD``; dates before 1970-01-01 or after the
  next trading day, weekends, and for a ticker on the NYSE calendar
  (``calendar.on_nyse_calendar``) NYSE holidays;
- a number cell that is not plain ASCII decimal (``50_0``, Arabic-Indic digits, ``inf``);
- any row that ``frames.price_row_problem`` refuses, before and after the
  ``Adj Close / Close`` adjustment: prices not finite, under ``MIN_PRICE`` or over
  ``MAX_PRICE``, Open or Close outside Low..High by more than rounding, volume negative
  (``-0`` too), not a whole number or over ``MAX_VOLUME``;
- a file with no data rows (an empty file, a lone UTF-8 BOM, a header alone).
"""
from __future__ import annotations

import csv
import io
import os
import re
import stat
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO, Iterator

import pandas as pd

from marketdata.frames import MAX_PRICE, PriceDataError, price_row_problem

REQUIRED = ["Date", "Open", "High", "Low", "Close", "Volume"]
OPTIONAL = ["Adj Close"]
PRICES = ["Open", "High", "Low", "Close"]
EARLIEST = date(1970, 1, 1)
MAX_FILE_BYTES = 50 * 2**20  # 50 MB; every weekday since 1970 at 100 bytes a row is under 2 MB
MAX_LINE_CHARS = 1024  # a Yahoo row is under 100 characters
# A plain decimal number in ASCII digits (an exponent allowed: the band checks catch 1e-300).
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_NOT_FINITE = {"inf", "infinity", "nan"}


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
    cell = (text or "").strip()
    if cell == "" or cell.lower() in {"null", "nan", "na"}:
        raise PriceDataError(f"{where}, column {column}: missing value")
    if not _NUMBER.fullmatch(cell):
        if cell.lower().lstrip("+-") in _NOT_FINITE:
            raise PriceDataError(f"{where}, column {column}: {cell[:40]!r} is not a finite number")
        raise PriceDataError(f"{where}, column {column}: {text[:40]!r} is not a number "
                             "(plain decimal digits 0-9 only)")
    value = float(cell)
    if value in (float("inf"), float("-inf")):
        raise PriceDataError(f"{where}, column {column}: {cell[:40]!r} is not a finite number")
    return value


def _check_row(values: dict[str, float], shown: dict[str, str], where: str) -> None:
    """``frames.price_row_problem`` as one error naming the line and column."""
    found = price_row_problem(values, shown)
    if found is not None:
        raise PriceDataError(f"{where}, column {found[0].capitalize()}: {found[1]}")


def _open_regular(path: Path, max_bytes: int) -> BinaryIO:
    """The file opened for reading, if it is a regular file within ``max_bytes``.

    Opened without blocking (a named pipe with no writer would block a plain open for
    ever), then checked with fstat on the open file, so what is checked is what is read."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise PriceDataError(f"{path}: cannot read file ({exc.strerror})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise PriceDataError(f"{path}: not a regular file (a device, pipe or folder); give a CSV file")
        if info.st_size > max_bytes:
            raise PriceDataError(f"{path.name}: file is {info.st_size:,} bytes; the limit is {max_bytes:,} "
                                 f"({max_bytes / 2**20:g} MB)")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb", buffering=0)
    except BaseException:
        os.close(fd)
        raise


class _Capped(io.RawIOBase):
    """A raw file that refuses to deliver more than ``limit`` bytes (a file that grows while read)."""

    def __init__(self, raw: BinaryIO, limit: int, name: str) -> None:
        self._raw, self._limit, self._name, self._count = raw, limit, name, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        n = self._raw.readinto(buffer) or 0  # type: ignore[attr-defined]
        self._count += n
        if self._count > self._limit:
            raise PriceDataError(f"{self._name}: file grew over the limit of {self._limit:,} bytes while read")
        return n

    def close(self) -> None:
        self._raw.close()
        super().close()


def _lines(text: io.TextIOWrapper, name: str) -> Iterator[str]:
    """The file's lines, each at most MAX_LINE_CHARS; PriceDataError for binary or non-UTF-8 content."""
    number = 0
    while True:
        try:
            line = text.readline(MAX_LINE_CHARS + 1)
        except UnicodeDecodeError:
            raise PriceDataError(f"{name}: not a CSV text file (not UTF-8)") from None
        if not line:
            return
        number += 1
        if "\x00" in line:
            raise PriceDataError(f"{name}: not a CSV text file (binary content)")
        if len(line) > MAX_LINE_CHARS:
            raise PriceDataError(f"{name}, line {number}: longer than {MAX_LINE_CHARS} characters; not a price CSV")
        yield line


def _columns(name: str, first_row: list[str], lineno: int) -> dict[str, int]:
    header = [h.strip() for h in first_row]
    unknown = [h for h in header if h not in REQUIRED + OPTIONAL]
    missing = [h for h in REQUIRED if h not in header]
    if missing or unknown or len(set(header)) != len(header):
        raise PriceDataError(
            f"{name}, line {lineno}: wrong header {','.join(header)[:80]!r}; expected "
            "Date,Open,High,Low,Close[,Adj Close],Volume"
        )
    return {h: i for i, h in enumerate(header)}


# One validated line: its date, and the adjusted open/high/low/close and the volume by column.
_Record = tuple[date, dict[str, float]]


def _day(text: str, where: str, rules: DateRules) -> date:
    """The Date cell: exactly YYYY-MM-DD (no time, no zone, nothing after it), a date the rules allow."""
    cell = text.strip()
    try:
        if not _DATE.fullmatch(cell):
            raise ValueError
        day = datetime.strptime(cell, "%Y-%m-%d").date()
    except ValueError:
        raise PriceDataError(f"{where}, column Date: {cell[:40]!r} is not a YYYY-MM-DD date") from None
    rules.check(day, where)
    return day


def _record(row: list[str], col: dict[str, int], where: str, rules: DateRules) -> _Record:
    day = _day(row[col["Date"]], where, rules)
    shown = {c.lower(): row[col[c]].strip()[:40] for c in PRICES + ["Volume"]}
    values = {c.lower(): _number(row[col[c]], where, c) for c in PRICES + ["Volume"]}
    _check_row(values, shown, where)  # the file's own numbers, named as written
    if "Adj Close" in col:
        adj = _number(row[col["Adj Close"]], where, "Adj Close")
        if not 0 < adj <= MAX_PRICE:
            raise PriceDataError(f"{where}, column Adj Close: price must be positive and at most "
                                 f"{MAX_PRICE:g}, got {adj}")
        factor = adj / values["close"]  # adjust O/H/L the same way Yahoo adjusted Close
        for c in PRICES:
            values[c.lower()] *= factor
            shown[c.lower()] = f"{values[c.lower()]!r} ({c} x Adj Close/Close)"
        _check_row(values, shown, where)  # and what would be stored: the same rules after adjustment
    values["volume"] = int(values["volume"])
    return day, values


def _rows(text: io.TextIOWrapper, name: str) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) of every non-blank CSV row, read lazily; the first is the header."""
    reader = csv.reader(_lines(text, name))
    try:
        for row in reader:
            if row and any(c.strip() for c in row):  # a blank line (often the last) is not data
                yield reader.line_num, row
    except csv.Error as exc:
        raise PriceDataError(f"{name}, line {reader.line_num}: not a CSV file ({exc})") from None


def read_price_csv(path: str | Path, *, today: date, ticker: str | None = None,
                   max_bytes: int = MAX_FILE_BYTES) -> pd.DataFrame:
    """Read and fully validate a CSV, row by row as it is read; return a price frame or raise
    PriceDataError.

    ``ticker`` decides the holiday calendar (None: weekends only); ``today`` (the
    caller's date in UTC) bounds the dates at the next trading day; ``max_bytes`` the file.
    """
    path = Path(path)
    name = path.name
    rules = DateRules.for_ticker(ticker, today)
    records: list[_Record] = []
    seen: dict[date, int] = {}
    with io.TextIOWrapper(io.BufferedReader(_Capped(_open_regular(path, max_bytes), max_bytes, name)),
                          encoding="utf-8-sig", newline="") as text:
        rows = _rows(text, name)
        first = next(rows, None)
        if first is None:
            raise PriceDataError(f"{name}: file is empty (no header, no data rows)")
        col = _columns(name, first[1], first[0])
        for lineno, row in rows:
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
