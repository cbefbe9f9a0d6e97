"""The Track record page's charts and tables: pure builders over ledger frames (``store.ledger``).

Live rows are drawn solid; replayed rows (a replay of the past, made after the fact)
dashed and lighter, and never pooled with live ones.
"""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from .common import COLORS, base_layout, empty_figure, label

KIND_STYLE = {"live": dict(dash="solid", width=2), "replayed": dict(dash="dot", width=1.5)}
KIND_OPACITY = {"live": 1.0, "replayed": 0.6}
TABLE_COLUMNS = [("origin", "Origin"), ("target_date", "Date"), ("horizon", "Horizon"), ("model", "Model"),
                 ("predicted", "Predicted"), ("lower80", "Lower 80%"), ("upper80", "Upper 80%"),
                 ("actual", "Actual"), ("persistence", "Persistence"), ("error", "Error"), ("kind", "Kind"),
                 ("published", "Published (UTC)")]


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
                               line=dict(color=COLORS["actual"], width=1.4), hovertemplate="%{y:.2f}"))
    for level, alpha in (("95", 0.15), ("80", 0.30)):
        fig.add_trace(go.Scatter(x=x, y=[start, *pub[f"upper{level}"]], mode="lines", line=dict(width=0),
                                 showlegend=False, hoverinfo="skip"))
        fig.add_trace(go.Scatter(x=x, y=[start, *pub[f"lower{level}"]], mode="lines", line=dict(width=0),
                                 fill="tonexty", fillcolor=f"rgba(24,188,156,{alpha})", name=f"{level}% band",
                                 hovertemplate="%{y:.2f}"))
    fig.add_trace(go.Scatter(x=x, y=[start, *pub["predicted"]], mode="lines+markers", name="published forecast",
                             line=dict(color="#c0392b", width=2, dash=KIND_STYLE[kind]["dash"]),
                             hovertemplate="%{y:.2f}"))
    fig.add_trace(go.Scatter(x=[x[0], *_days(after.index)], y=[start, *after.values], mode="lines+markers",
                             name="what happened", line=dict(color=COLORS["actual"], width=2.5),
                             marker=dict(size=7, symbol="diamond"), hovertemplate="%{y:.2f}"))
    fig.update_yaxes(title="adjusted close ($)")
    title = (f"{label(cell)} v{int(pub['model_version'].iloc[0])}, {kind} forecast from the close of "
             f"{origin:%Y-%m-%d}: {len(after)} of {len(pub)} days known")
    return base_layout(fig, title, height=400)


def cumulative_figure(curve: pd.DataFrame, changes: pd.DataFrame, cell: str) -> go.Figure:
    """Running sum of (model squared error - persistence squared error), one line per kind.

    Below zero the model has beaten repeating the last close so far; markers show
    where a different model made the forecasts.
    """
    if curve.empty:
        return empty_figure(f"No scored one-day {label(cell)} forecast yet.")
    fig = go.Figure()
    for kind, rows in curve.groupby("kind", sort=False):
        fig.add_trace(go.Scatter(x=_days(rows["target_date"]), y=rows["cum"].round(2), mode="lines",
                                 name=f"{kind} ({len(rows)} days)", opacity=KIND_OPACITY[kind],
                                 line=dict(color=COLORS.get(cell, "#18bc9c"), **KIND_STYLE[kind]),
                                 hovertemplate="%{y:.2f} $²"))
    if not changes.empty:
        fig.add_trace(go.Scatter(x=_days(changes["target_date"]), y=changes["cum"].round(2), mode="markers",
                                 name="model changed", marker=dict(symbol="triangle-up", size=10, color="#e74c3c"),
                                 text=changes["label"], hovertemplate="%{text}"))
    fig.add_hline(y=0, line=dict(color=COLORS["persistence"], width=1, dash="dash"))
    fig.update_yaxes(title="cumulative squared-error difference ($²)")
    return base_layout(fig, "One-day forecasts against repeating the last close (down = better)", height=380)


def coverage_figure(coverage: pd.DataFrame, cell: str) -> go.Figure:
    """Share of closes inside the 80% and 95% bands per horizon, against the nominal lines."""
    if coverage.empty:
        return empty_figure(f"No scored {label(cell)} forecast yet.")
    fig = go.Figure()
    shades = {("live", "80"): "#18bc9c", ("live", "95"): "#2c7873", ("replayed", "80"): "#a3e4d7",
              ("replayed", "95"): "#76b5ad"}
    for kind, rows in coverage.groupby("kind", sort=False):
        for level in ("80", "95"):
            fig.add_trace(go.Bar(x=rows["horizon"], y=(rows[f"coverage{level}"] * 100).round(1),
                                 name=f"{level}% band, {kind}", marker_color=shades[(kind, level)],
                                 customdata=rows["n"], hovertemplate="%{y:.0f}% of %{customdata} closes"))
    for level in (80, 95):
        fig.add_hline(y=level, line=dict(color="#7f8c8d", dash="dash", width=1), annotation_text=f"nominal {level}%",
                      annotation_position="top left")
    fig.update_xaxes(title="horizon (trading days ahead)", dtick=1)
    fig.update_yaxes(title="closes inside the band (%)", range=[0, 105])
    fig.update_layout(barmode="group")
    return base_layout(fig, "Band coverage by horizon", height=380)


SCORE_COLUMNS = ["kind", "window", "horizon", "n", "RMSE $", "persistence RMSE $", "ratio", "MAE $", "persistence MAE $",
                 "80% band held %", "95% band held %", "direction right %", "up days %"]


def scores_frame(table: pd.DataFrame, cell: str) -> pd.DataFrame:
    """The score table of one cell, shaped for display (one row per kind, window and horizon)."""
    rows = table[table["cell"] == cell]
    pct = lambda s: (s * 100).round(0)  # noqa: E731 - a column formatter
    out = pd.DataFrame({
        "kind": rows["kind"], "window": rows["window"], "horizon": rows["horizon"], "n": rows["n"],
        "RMSE $": rows["rmse"].round(3), "persistence RMSE $": rows["persistence_rmse"].round(3),
        "ratio": rows["rmse_ratio"].round(3), "MAE $": rows["mae"].round(3),
        "persistence MAE $": rows["persistence_mae"].round(3), "80% band held %": pct(rows["coverage80"]),
        "95% band held %": pct(rows["coverage95"]), "direction right %": pct(rows["direction_hits"]),
        "up days %": pct(rows["up_share"]),
    })
    live_first = out["kind"].map({"live": 0, "replayed": 1})
    return out.assign(order=live_first).sort_values(["order", "horizon", "window"])[SCORE_COLUMNS]


def _money(x) -> float | None:
    return None if x is None or x != x else round(float(x), 2)


def table_records(columns: dict) -> list[dict]:
    """One page of ledger rows as DataTable records (``TABLE_COLUMNS``); blanks where a row is not scored yet.

    ``columns``: the page's values per ledger column (numpy arrays of equal length).
    """
    c = columns
    day = lambda v: str(v)[:10]  # noqa: E731 - numpy datetime64 and Timestamp both print ISO first
    return [{
        "origin": day(c["origin"][i]), "target_date": day(c["target_date"][i]), "horizon": int(c["horizon"][i]),
        "model": f"v{int(c['model_version'][i])}" + ("" if c["model_id"][i] != c["model_id"][i]
                                                    else f" (#{int(c['model_id'][i])})"),
        "predicted": _money(c["predicted"][i]), "lower80": _money(c["lower80"][i]), "upper80": _money(c["upper80"][i]),
        "actual": _money(c["actual"][i]), "persistence": _money(c["persistence"][i]),
        "error": _money(c["actual"][i] - c["predicted"][i]), "kind": str(c["kind"][i]),
        "published": pd.Timestamp(c["published_at"][i]).strftime("%Y-%m-%d %H:%M"),
    } for i in range(len(c["horizon"]))]
