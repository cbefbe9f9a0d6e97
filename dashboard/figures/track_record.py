"""The Track record page's charts and tables: pure builders over ledger frames (``store.ledger``).

Live rows are drawn solid; replayed rows (a replay of the past, made after the fact)
dashed and lighter, and never pooled with live ones.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard import fmt
from contract.vocab import FEW_ROWS

from .common import COLORS, base_layout, empty_figure, label

MARKER_DAYS = 40  # up to this many scored days the cumulative line carries a marker per day
KIND_STYLE = {"live": dict(dash="solid", width=2), "replayed": dict(dash="dot", width=1.5)}
KIND_OPACITY = {"live": 1.0, "replayed": 0.6}
TABLE_COLUMNS = [("origin", "Origin"), ("target_date", "Date"), ("horizon", "Horizon"), ("model", "Model"),
                 ("predicted", "Predicted"), ("lower80", "Lower 80%"), ("upper80", "Upper 80%"),
                 ("actual", "Actual"), ("persistence", "Persistence"), ("error", "Error"), ("kind", "Kind"),
                 ("counts", "Counts"), ("published", "Published (UTC)")]
# The Counts column: the forecast of record (the first published for its origin), or a later one, kept and not counted.
COUNTS = {True: "yes", False: "superseded"}
PRICE_COLUMNS = ("predicted", "lower80", "upper80", "actual", "persistence", "error")  # $ to the cent
BAND_HOVER = "%{y:$,.2f}-%{customdata:$,.2f}"  # a band as low-high, each to the cent


def table_columns() -> list[dict]:
    """The ledger table's column specs: prices to the cent with $ (fmt), still numbers."""
    return [{"name": n, "id": i, **(fmt.price_table_format() if i in PRICE_COLUMNS else {})} for i, n in TABLE_COLUMNS]


def _days(values) -> list[str]:
    return list(pd.DatetimeIndex(values).strftime("%Y-%m-%d"))


def fan_figure(closes: pd.Series, pub: pd.DataFrame, cell: str, history_days: int = 30) -> go.Figure:
    """The newest publication (``pub``: its rows, one per horizon) against the closes that arrived since."""
    if pub.empty:
        return empty_figure(f"No {label(cell)} forecast has been published yet.")
    origin, kind = pub["origin"].iloc[0], pub["kind"].iloc[0]
    before = closes[closes.index <= origin].iloc[-history_days:]
    after = closes[(closes.index > origin) & (closes.index <= pub["target_date"].max())]
    x = [origin.strftime("%Y-%m-%d"), *_days(pub["target_date"])]
    start = float(pub["origin_close"].iloc[0])
    fig = go.Figure(go.Scatter(x=_days(before.index), y=before.values, mode="lines", name="close before",
                               line=dict(color=COLORS["actual"], width=1.4), hovertemplate=fmt.PRICE_HOVER))
    for level, alpha in (("95", 0.15), ("80", 0.30)):
        upper = [start, *pub[f"upper{level}"]]
        fig.add_trace(go.Scatter(x=x, y=upper, mode="lines", line=dict(width=0), showlegend=False, hoverinfo="skip"))
        fig.add_trace(go.Scatter(x=x, y=[start, *pub[f"lower{level}"]], mode="lines", line=dict(width=0),
                                 fill="tonexty", fillcolor=f"rgba(24,188,156,{alpha})", name=f"{level}% band",
                                 customdata=upper, hovertemplate=BAND_HOVER))
    fig.add_trace(go.Scatter(x=x, y=[start, *pub["predicted"]], mode="lines+markers", name="published forecast",
                             line=dict(color="#c0392b", width=2, dash=KIND_STYLE[kind]["dash"]),
                             hovertemplate=fmt.PRICE_HOVER))
    fig.add_trace(go.Scatter(x=[x[0], *_days(after.index)], y=[start, *after.values], mode="lines+markers",
                             name="what happened", line=dict(color=COLORS["actual"], width=2.5),
                             marker=dict(size=7, symbol="diamond"), hovertemplate=fmt.PRICE_HOVER))
    fig.update_yaxes(title="adjusted close ($)")
    title = f"{label(cell)} v{int(pub['model_version'].iloc[0])}, {kind} forecast"
    return _subtitled(base_layout(fig, title, height=400),
                      f"from the close of {origin:%Y-%m-%d}: {len(after)} of {len(pub)} days known")


def _subtitled(fig: go.Figure, subtitle: str) -> go.Figure:
    """A short title with the rest on a second line: one long line runs off a phone-wide chart."""
    return fig.update_layout(title_subtitle_text=subtitle, margin_t=70)


def cumulative_figure(curve: pd.DataFrame, changes: pd.DataFrame, cell: str) -> go.Figure:
    """Running sum of (model squared error - persistence squared error), one line per kind.

    Below zero the model has beaten repeating the last close so far; markers show
    where a different model made the forecasts.
    """
    if curve.empty:
        return empty_figure(f"No scored one-day {label(cell)} forecast yet.")
    fig = go.Figure()
    for group, rows in curve.groupby("kind", sort=False):
        kind = str(group)
        # markers while the days are few: a line through one x value draws nothing
        fig.add_trace(go.Scatter(x=_days(rows["target_date"]), y=rows["cum"].round(2),
                                 mode="lines+markers" if len(rows) <= MARKER_DAYS else "lines",
                                 name=f"{kind} ({len(rows)} days)", opacity=KIND_OPACITY[kind],
                                 line=dict(color=COLORS.get(cell, "#18bc9c"), **KIND_STYLE[kind]),
                                 hovertemplate="%{y:,.2f} $²"))
    if not changes.empty:
        fig.add_trace(go.Scatter(x=_days(changes["target_date"]), y=changes["cum"].round(2), mode="markers",
                                 name="model changed", marker=dict(symbol="triangle-up", size=10, color="#e74c3c"),
                                 text=changes["label"], hovertemplate="%{text}"))
    fig.add_hline(y=0, line=dict(color=COLORS["persistence"], width=1, dash="dash"))
    fig.update_yaxes(title="cumulative squared-error difference ($²)")
    _date_axis(fig, curve["target_date"])
    days = curve.groupby("kind").size().max()
    return _subtitled(base_layout(fig, "One-day forecasts vs the last close", height=380),
                      "summed squared-error difference: down = better" +
                      (f"; {days} scored day{'s' if days != 1 else ''}, too few to judge" if days < FEW_ROWS else ""))


def _date_axis(fig: go.Figure, days: pd.Series) -> None:
    """A date axis (never a time of day): a lone day gets a week either side instead of milliseconds."""
    first, last = pd.Timestamp(days.min()), pd.Timestamp(days.max())
    pad = pd.Timedelta(days=3) if (last - first) < pd.Timedelta(days=6) else pd.Timedelta(0)
    fig.update_xaxes(type="date", tickformat="%b %d\n%Y", **({"range": [f"{first - pad:%Y-%m-%d}",
                                                                        f"{last + pad:%Y-%m-%d}"], "dtick": 86400000}
                                                             if pad else {}))


def coverage_figure(coverage: pd.DataFrame, cell: str) -> go.Figure:
    """Share of closes inside the 80% and 95% bands per horizon, against the nominal lines."""
    if coverage.empty:
        return empty_figure(f"No scored {label(cell)} forecast yet.")
    fig = go.Figure()
    shades = {("live", "80"): "#18bc9c", ("live", "95"): "#2c7873", ("replayed", "80"): "#a3e4d7",
              ("replayed", "95"): "#76b5ad"}
    for group, rows in coverage.groupby("kind", sort=False):
        kind = str(group)
        for level in ("80", "95"):
            fig.add_trace(go.Bar(x=rows["horizon"], y=(rows[f"coverage{level}"] * 100).round(fmt.PCT_DECIMALS),
                                 name=f"{level}% band, {kind}", marker_color=shades[(kind, level)],
                                 customdata=rows["n"], text=[_bar_text(v, n) for v, n in zip(rows[f"coverage{level}"], rows["n"])],
                                 textposition="outside", cliponaxis=False, textfont_size=9,  # a 0% bar has no height: its label shows it
                                 hovertemplate=f"{fmt.RATE_HOVER} of %{{customdata}} closes (target {level}%)"))
    target = dict(color="#7f8c8d", dash="dash", width=1)
    for nominal in (80, 95):  # labelled in the legend: a label on the line sits over the bars
        fig.add_hline(y=nominal, line=target)
    fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", line=target, name="targets 80% and 95%",
                             hoverinfo="skip"))
    fig.update_xaxes(title="horizon (trading days ahead)", dtick=1)
    fig.update_yaxes(title="closes inside the band (%)", range=[0, 105])
    fig.update_layout(barmode="group")
    fig = base_layout(fig, "Band coverage by horizon", height=380)
    fewest = int(coverage["n"].min())
    return _subtitled(fig, f"as few as {fewest} scored: too few to judge below {FEW_ROWS}") if fewest < FEW_ROWS else fig


def _bar_text(share: float, n: int) -> str:
    """The label on a coverage bar: the rate from 20 closes on, only the count below (no rate as a finding)."""
    return f"{share * 100:.0f}%" if n >= FEW_ROWS else f"n={n}"


COVERAGE80, COVERAGE95, DIRECTION, BASE_RATE = ("80% band coverage", "95% band coverage", "direction right",
                                                "base rate (up days)")
NOTE = "note"
SCORE_COLUMNS = ["kind", "window", "horizon", "n", "RMSE $", "persistence RMSE $", "RMSE / persistence", "MAE $",
                 "persistence MAE $", COVERAGE80, COVERAGE95, DIRECTION, BASE_RATE, NOTE]
JUDGED = ["RMSE / persistence", COVERAGE80, COVERAGE95, DIRECTION, BASE_RATE]  # blank below FEW_ROWS
# Rates in percent, beside their target (coverage) or their base rate (direction: the share of up days).
RATE_TARGETS = {COVERAGE80: 0.80, COVERAGE95: 0.95, DIRECTION: None, BASE_RATE: None}


def score_columns() -> list[dict]:
    """The score table's column specs in the house format (fmt): numbers stay numbers (sortable)."""
    return [{"name": c, "id": c, **(fmt.rate_table_format(RATE_TARGETS[c]) if c in RATE_TARGETS else
                                    {} if c == NOTE else fmt.table_format(c))} for c in SCORE_COLUMNS]


def scores_frame(table: pd.DataFrame, cell: str) -> pd.DataFrame:
    """The score table of one cell, shaped for display (one row per kind, window and horizon)."""
    rows = table[table["cell"] == cell]
    def pct(s: pd.Series) -> pd.Series:
        return (s.astype(float) * 100).round(fmt.PCT_DECIMALS)  # the precision shown

    def cents(s: pd.Series) -> pd.Series:
        return s.astype(float).round(fmt.PRICE_DECIMALS)

    out = pd.DataFrame({
        "kind": rows["kind"], "window": rows["window"], "horizon": rows["horizon"], "n": rows["n"],
        "RMSE $": cents(rows["rmse"]), "persistence RMSE $": cents(rows["persistence_rmse"]),
        "RMSE / persistence": rows["rmse_ratio"].astype(float).round(fmt.RATIO_DECIMALS), "MAE $": cents(rows["mae"]),
        "persistence MAE $": cents(rows["persistence_mae"]), COVERAGE80: pct(rows["coverage80"]),
        COVERAGE95: pct(rows["coverage95"]), DIRECTION: pct(rows["direction_hits"]), BASE_RATE: pct(rows["up_share"]),
    })
    # A window holding no more days than "all" repeats its row: one row per distinct set of days.
    widest = out.groupby(["kind", "horizon"])["n"].transform("max")
    out = out[(out["window"] == "all") | (out["n"] < widest)].copy()
    few = out["n"] < FEW_ROWS  # below 20 scored: the count and the dollar errors, no rate or ratio as a finding
    out.loc[few, JUDGED] = None
    out[NOTE] = np.where(few, "too few to judge", "")
    live_first = out["kind"].map({"live": 0, "replayed": 1})
    return out.assign(order=live_first).sort_values(["order", "horizon", "window"])[SCORE_COLUMNS]


def table_records(columns: dict) -> list[dict]:
    """One page of ledger rows as DataTable records (``TABLE_COLUMNS``), prices rounded to the cent the table
    shows; blanks where a row is not scored yet.

    ``columns``: the page's values per ledger column (numpy arrays of equal length).
    """
    c = columns
    def day(v: object) -> str:
        return str(v)[:10]  # numpy datetime64 and Timestamp both print ISO first

    return [{
        "origin": day(c["origin"][i]), "target_date": day(c["target_date"][i]), "horizon": int(c["horizon"][i]),
        "model": f"v{int(c['model_version'][i])}" + ("" if c["model_id"][i] != c["model_id"][i]
                                                    else f" (#{int(c['model_id'][i])})"),
        **{k: fmt.round_price(c[k][i]) for k in ("predicted", "lower80", "upper80", "actual", "persistence")},
        "error": fmt.round_price(c["actual"][i] - c["predicted"][i]), "kind": str(c["kind"][i]),
        "counts": COUNTS[bool(c["of_record"][i])], "published": pd.Timestamp(c["published_at"][i]).strftime("%Y-%m-%d %H:%M"),
    } for i in range(len(c["horizon"]))]
