"""The house number format as plain text: prices to the cent, rates as percentages
beside their target or base rate, ratios to persistence with four decimals.

Every card, table, hover, CSV and sentence uses these, the dashboard's (``dashboard.fmt``
adds the Plotly and dash_table pieces) and the plain-words verdict of the track record
(``store.ledger_metrics``) alike, so the same number is never written two ways.
"""
from __future__ import annotations

import math
from numbers import Real

PRICE_DECIMALS = 2
RATIO_DECIMALS = 4  # ratios to persistence differ in the third decimal: 1.0815 vs 1.0824, not a "tie" at 1.082
PCT_DECIMALS = 1


def _number(value: object) -> float | None:
    """The value as a float, or None when it is absent: None, NaN, or not a real number."""
    if not isinstance(value, Real) or isinstance(value, bool):
        return None
    x = float(value)
    return None if math.isnan(x) else x


def price(value: object) -> str:
    """$1,234.56 (a dash when absent)."""
    x = _number(value)
    return "-" if x is None else f"${x:,.{PRICE_DECIMALS}f}"


def signed_price(value: object) -> str:
    """+$0.42 / -$1.05: a residual or bias, whose sign carries meaning."""
    x = _number(value)
    if x is None:
        return "-"
    return f"{'-' if x < 0 else '+'}${abs(x):,.{PRICE_DECIMALS}f}"


def price_range(low: object, high: object) -> str:
    return f"{price(low)}-{price(high)}"


def ratio(value: object) -> str:
    """1.0010: a ratio to the persistence baseline."""
    x = _number(value)
    return "-" if x is None else f"{x:.{RATIO_DECIMALS}f}"


def pct(fraction: object, decimals: int = PCT_DECIMALS) -> str:
    """0.5432 -> 54.3%."""
    x = _number(fraction)
    return "-" if x is None else f"{100 * x:.{decimals}f}%"


def rate_vs(fraction: object, reference: float, reference_name: str) -> str:
    """A rate with what it should be compared to: '53.9% (target 80%)', '51.2% (base rate 52.3%)'."""
    ref = f"{100 * reference:.0f}%" if reference_name == "target" else pct(reference)
    return f"{pct(fraction)} ({reference_name} {ref})"


def round_price(value: object) -> float | None:
    """A price as a CSV carries it: rounded to the cent (the precision every view shows)."""
    x = _number(value)
    return None if x is None else round(x, PRICE_DECIMALS)
