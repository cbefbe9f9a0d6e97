"""The house number format, used by every card, table, hover and CSV of the dashboard.

Prices are dollars to the cent; rates (direction right, interval coverage) are
percentages shown beside their target or base rate; ratios to persistence get four
decimals so 1.001 is never written "1". One module so a table, the hover over the
same number and the CSV row carrying it always agree.
"""
from __future__ import annotations

# The plain-text format lives in contract.numbers (the track record's verdict uses it too);
# re-exported here beside the Plotly and dash_table pieces that only the dashboard needs.
from contract.numbers import (  # noqa: F401
    PCT_DECIMALS,
    PRICE_DECIMALS,
    RATIO_DECIMALS,
    pct,
    price,
    price_range,
    rate_vs,
    ratio,
    round_price,
    signed_price,
)

# plotly hovertemplate pieces with the same precision as the text below
PRICE_HOVER = "$%{y:,.2f}"
PCT_HOVER = "%{y:+.2f}%"  # relative residuals, in percent of the previous close
RATE_HOVER = "%{y:.1f}%"  # a rate (coverage, direction right) whose values are already in percent


def table_format(column: str):
    """dash_table column spec pieces for a metric column, by what its name says it holds: numbers stay
    numbers (sortable) and show a fixed number of decimals, so 1 is written 1.0000 beside 1.0010."""
    from dash.dash_table.Format import Format, Scheme, Symbol

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

