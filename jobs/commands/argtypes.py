"""Argument types that refuse bad values at the edge, as one argparse error line."""
from __future__ import annotations

import argparse
from typing import Callable

from marketdata.tickers import TickerError, parse_ticker

# runs.id is an Integer column: 32-bit on Postgres, so a larger id can never exist.
MAX_RUN_ID = 2**31 - 1
MAX_EPOCHS = 10_000


def ticker(text: str) -> str:
    """``--ticker``: the shared ticker pattern (upper-cased)."""
    try:
        return parse_ticker(text)
    except TickerError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def int_in(lo: int, hi: int) -> Callable[[str], int]:
    """A whole number in ``lo..hi``; the message gives the range."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a whole number") from None
        if not lo <= value <= hi:
            shown = text if len(text) <= 24 else text[:24] + "..."
            raise argparse.ArgumentTypeError(f"{shown} is out of range; use {lo} to {hi}")
        return value

    parse.__name__ = "whole number"  # argparse names the type in some messages
    return parse


def float_in(lo: float, hi: float) -> Callable[[str], float]:
    """A finite number in ``lo..hi`` (seconds to wait, say)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a number") from None
        if not lo <= value <= hi:  # NaN fails both comparisons
            raise argparse.ArgumentTypeError(f"{text[:24]} is out of range; use {lo:g} to {hi:g}")
        return value

    parse.__name__ = "number"
    return parse


epochs = int_in(1, MAX_EPOCHS)
run_id = int_in(1, MAX_RUN_ID)
seed = int_in(0, 2**32 - 1)  # numpy and TensorFlow seeds are 32-bit
