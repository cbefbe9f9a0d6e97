"""Argument types that refuse bad values at the edge, as one argparse error line."""
from __future__ import annotations

import argparse
import math
import re
from datetime import date
from typing import Callable, TypeVar

from contract.errors import Refusal
from contract.run import MAX_SEED
from contract.vocab import MAX_EPOCHS, Cell, parse_cells
from marketdata.tickers import TickerError, parse_ticker

N = TypeVar("N", int, float)

# runs.id is an Integer column: 32-bit on Postgres, so a larger id can never exist.
MAX_RUN_ID = 2**31 - 1


def ticker(text: str) -> str:
    """``--ticker``: the shared ticker pattern (upper-cased)."""
    try:
        return parse_ticker(text)
    except TickerError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def cells(text: str) -> tuple[Cell, ...]:
    """``--cells gru,lstm``: known cells, each once."""
    try:
        return parse_cells([c.strip().lower() for c in text.split(",") if c.strip()], "cell type")
    except Refusal as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _number_in(convert: Callable[[str], N], what: str, lo: N, hi: N) -> Callable[[str], N]:
    """``convert`` then a range check; the messages name the value and the range."""

    def parse(text: str) -> N:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a {what}") from None
        if not lo <= value <= hi or (isinstance(value, float) and math.isnan(value)):
            shown = text if len(text) <= 24 else text[:24] + "..."
            bounds = f"{lo} to {hi}" if isinstance(lo, int) else f"{lo:g} to {hi:g}"
            raise argparse.ArgumentTypeError(f"{shown} is out of range; use {bounds}")
        return value

    parse.__name__ = what  # argparse names the type in some messages
    return parse


def int_in(lo: int, hi: int) -> Callable[[str], int]:
    """A whole number in ``lo..hi``."""
    return _number_in(int, "whole number", lo, hi)


def float_in(lo: float, hi: float) -> Callable[[str], float]:
    """A finite number in ``lo..hi`` (seconds to wait, say)."""
    return _number_in(float, "number", lo, hi)


epochs = int_in(1, MAX_EPOCHS)
run_id = int_in(1, MAX_RUN_ID)
seed = int_in(0, MAX_SEED)


def day(text: str) -> date:
    """``--date``: exactly YYYY-MM-DD, a real calendar date."""
    try:
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a YYYY-MM-DD date") from None


def cli_user() -> str:
    """``cli:<login name>`` for the records (who asked, who dropped); a container with an arbitrary uid and
    no USER/LOGNAME has no name, and ``getpass.getuser()`` raises there: the uid stands in."""
    import getpass
    import os

    try:
        return f"cli:{getpass.getuser()}"
    except (OSError, KeyError):
        return f"cli:uid{os.getuid()}"
