"""The house number format, used by every card, table, hover, CSV and sentence of the dashboard.

Prices are dollars to the cent; rates (direction right, interval coverage) are
percentages shown beside their target or base rate; ratios to persistence get four
decimals so 1.001 is never written "1". One module so a table, the hover over the
same number, the CSV row carrying it and the Track record's verdict (``dashboard.verdicts``)
always agree.
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


# plotly hovertemplate pieces with the same precision as the text below
PRICE_HOVER = "$%{y:,.2f}"
PCT_HOVER = "%{y:+.2f}%"  # relative residuals, in percent of the previous close
RATE_HOVER = "%{y:.1f}%"  # a rate (coverage, direction right) whose values are already in percent


def table_format(column: str):
    """dash_table column spec pieces for a metric column, by what its name says it holds: numbers stay
    numbers (sortable) and show a fixed number of decimals, so 1 is written 1.0000 beside 1.0010."""
    from dash.dash_table.Format import Format, Scheme

    if column.endswith("$"):
        return price_table_format()
    if "/ persistence" in column or column.startswith(("MASE", "difference in RMSE ratio")):
        return {"type": "numeric", "format": Format(precision=RATIO_DECIMALS, scheme=Scheme.fixed)}
    if column.endswith("(%)") or "coverage" in column:
        return {"type": "numeric", "format": Format(precision=PCT_DECIMALS, scheme=Scheme.fixed)}
    if column.startswith("DM p") or column.endswith(" p"):
        return {"type": "numeric", "format": Format(precision=3, scheme=Scheme.fixed)}
    return {}


def price_table_format():
    """dash_table column spec pieces for a price column: $1,234.56, still a number (sortable)."""
    from dash.dash_table.Format import Format, Group, Scheme, Symbol

    return {"type": "numeric", "format": Format(precision=PRICE_DECIMALS, scheme=Scheme.fixed, symbol=Symbol.yes,
                                                symbol_prefix="$", group=Group.yes)}


def rate_table_format(target: float | None = None):
    """dash_table column spec pieces for a rate held in percent (84.2 for 84.2%): shown '84.2%', or
    '84.2% (target 80%)' with the ``target`` (a fraction) beside it, and still a number (sortable)."""
    from dash.dash_table.Format import Format, Scheme, Symbol

    suffix = "%" if target is None else f"% (target {100 * target:.0f}%)"
    return {"type": "numeric", "format": Format(precision=PCT_DECIMALS, scheme=Scheme.fixed, symbol=Symbol.yes,
                                                symbol_suffix=suffix)}

