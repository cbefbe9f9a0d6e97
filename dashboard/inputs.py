"""Validation of every value the browser sends to a callback.

The browser is not trusted: a component's value can be anything a hand-written
request puts there (a 100 kB string, a float, a dict). Each value is checked here
against what the page could have offered, and a wrong one raises :class:`Refused`
with a sentence the page shows. Nothing is coerced: ``3.7`` is not model 3, and an
unknown ticker is never quietly replaced by the default one.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from contract.errors import Refusal

MAX_DB_INT = 2**31 - 1  # ids are INTEGER columns on SQLite and Postgres
SHOWN_CHARS = 24  # how much of a refused value a message repeats


class Refused(Refusal):
    """A value the page turns down, with the reason to show."""


def shown(value: Any) -> str:
    """A refused value as a message may repeat it: short, whatever was sent."""
    text = repr(value)
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 3] + "..."


def ticker(value: Any, tickers: Iterable[str], default: str | None = None) -> str:
    """One of the configured ``tickers`` (case and spaces forgiven); None gives ``default``."""
    allowed = tuple(tickers)
    if value is None and default is not None:
        return default
    wanted = value.strip().upper() if isinstance(value, str) else None
    if wanted not in allowed:
        raise Refused(f"unknown ticker {shown(value)}; configured: {', '.join(allowed)}")
    return wanted


def choice(value: Any, allowed: Iterable[str], what: str) -> str:
    """``value`` when it is one of ``allowed`` (exactly), else Refused naming ``what``."""
    options = tuple(allowed)
    if not isinstance(value, str) or value not in options:
        raise Refused(f"unknown {what} {shown(value)}; choose from {', '.join(options)}")
    return value


def whole_number(value: Any, what: str, low: int, high: int) -> int:
    """An integer in ``low..high``: an int, an integral float from a number input, or a
    string of digits. Blank, fractions, booleans and anything else are refused."""
    if isinstance(value, bool):
        n = None
    elif isinstance(value, int):
        n = value
    elif isinstance(value, float) and value.is_integer():
        n = int(value)
    elif isinstance(value, str) and value.strip().isascii() and value.strip().isdigit() and len(value.strip()) <= 12:
        n = int(value.strip())
    else:
        n = None
    if n is None:
        if value is None or (isinstance(value, str) and not value.strip()):
            raise Refused(f"{what} is blank; give a whole number from {low} to {high}")
        raise Refused(f"{what} must be a whole number from {low} to {high}, not {shown(value)}")
    if not low <= n <= high:
        raise Refused(f"{what} must be from {low} to {high}, not {n}")
    return n


def model_id(value: Any) -> int:
    """A model id as the database can hold it (existence is checked against the store)."""
    return whole_number(value, "model id", 1, MAX_DB_INT)


def cells(value: Any, allowed: Iterable[str]) -> list[str]:
    """A non-empty list of distinct known cell types, in the order given."""
    options = tuple(allowed)
    if not isinstance(value, list) or not value:
        raise Refused("choose at least one cell type to retrain")
    chosen = [choice(v, options, "cell type") for v in value]
    return list(dict.fromkeys(chosen))
