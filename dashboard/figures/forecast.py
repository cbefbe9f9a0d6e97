"""The forecast page's chart and the table behind its CSV download."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from .common import COLORS, add_split_shading, base_layout, label

RANGE_BUTTONS = [
    dict(count=1, label="1m", step="month", stepmode="backward"),
    dict(count=6, label="6m", step="month", stepmode="backward"),
    dict(count=1, label="1y", step="year", stepmode="backward"),
    dict(count=3, label="3y", step="year", stepmode="backward"),
    dict(step="all", label="all"),
]


def _days(index: pd.Index) -> list[str]:
    """ISO dates: half the bytes of the timestamps plotly would write."""
    return list(pd.DatetimeIndex(index).strftime("%Y-%m-%d"))


def _band(fig: go.Figure, x, lower, upper, name: str, color: str) -> None:
    fig.add_trace(go.Scatter(x=x, y=upper, mode="lines", line=dict(width=0), showlegend=False, hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=x, y=lower, mode="lines", line=dict(width=0), fill="tonexty", fillcolor=color,
                             name=name, hovertemplate="%{y:.2f}"))


def forecast_figure(closes: pd.Series, predictions: dict, forecast: dict, cell: str) -> go.Figure:
    """Price history, test-period one-step predictions over actual, split shading, next-H forecast with bands.

    ``closes``: adjusted closes indexed by date; ``predictions``/``forecast``: the
    payloads of ``marketdata.outputs``.
    """
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=_days(closes.index), y=closes.values, mode="lines", name="actual close",
                             line=dict(color=COLORS["actual"], width=1.4), hovertemplate="%{y:.2f}"))
    fig.add_trace(go.Scatter(x=predictions["dates"], y=predictions["predicted"], mode="lines",
                             name=f"{label(cell)} one-step prediction (rolling origins)",
                             line=dict(color=COLORS.get(cell, "#18bc9c"), width=1.2), hovertemplate="%{y:.2f}"))
    # The forecast starts from the last close so the line joins the history.
    fx = [forecast["last_date"], *forecast["dates"]]
    last = forecast["last_close"]
    _band(fig, fx, [last, *forecast["lower95"]], [last, *forecast["upper95"]], "95% band", "rgba(24,188,156,0.15)")
    _band(fig, fx, [last, *forecast["lower80"]], [last, *forecast["upper80"]], "80% band", "rgba(24,188,156,0.30)")
    fig.add_trace(go.Scatter(x=fx, y=[last, *forecast["predicted"]], mode="lines+markers",
                             name=f"next {len(forecast['dates'])} days", line=dict(color="#c0392b", width=2),
                             marker=dict(size=5), hovertemplate="%{y:.2f}"))
    add_split_shading(fig, predictions["split"], end=forecast["dates"][-1] if forecast["dates"] else None)
    # Open on the validation and test periods plus the forecast; "all" shows the whole history.
    start = pd.Timestamp(predictions["split"]["val_start"]) - pd.Timedelta(days=120)
    end = pd.Timestamp(forecast["dates"][-1] if forecast["dates"] else predictions["split"]["test_end"]) + pd.Timedelta(days=10)
    fig.update_xaxes(rangeselector=dict(buttons=RANGE_BUTTONS, x=0, y=1.0, yanchor="bottom"),
                     range=[start, end], type="date")
    fig.update_yaxes(title="adjusted close ($)", autorange=True)
    base_layout(fig, height=470)
    fig.update_layout(legend=dict(orientation="h", yanchor="top", y=-0.08, x=0), margin=dict(t=40, b=40))
    return fig


def forecast_zoom_figure(closes: pd.Series, forecast: dict, cell: str, history_days: int = 40) -> go.Figure:
    """The last ``history_days`` closes and the next-H forecast with its 80%/95% bands, close up."""
    recent = closes.iloc[-history_days:]
    fig = go.Figure(go.Scatter(x=_days(recent.index), y=recent.values, mode="lines+markers", name="actual close",
                               line=dict(color=COLORS["actual"], width=1.5), marker=dict(size=3), hovertemplate="%{y:.2f}"))
    fx = [forecast["last_date"], *forecast["dates"]]
    last = forecast["last_close"]
    _band(fig, fx, [last, *forecast["lower95"]], [last, *forecast["upper95"]], "95% band", "rgba(24,188,156,0.15)")
    _band(fig, fx, [last, *forecast["lower80"]], [last, *forecast["upper80"]], "80% band", "rgba(24,188,156,0.30)")
    fig.add_trace(go.Scatter(x=fx, y=[last, *forecast["predicted"]], mode="lines+markers", name=f"{label(cell)} forecast",
                             line=dict(color="#c0392b", width=2), marker=dict(size=6), hovertemplate="%{y:.2f}"))
    fig.update_yaxes(title="adjusted close ($)")
    return base_layout(fig, f"Next {len(forecast['dates'])} trading days", height=470)


def history_figure(closes: pd.Series) -> go.Figure:
    """Prices only (a store with prices but no trained model yet)."""
    fig = go.Figure(go.Scatter(x=_days(closes.index), y=closes.values, mode="lines", name="actual close",
                               line=dict(color=COLORS["actual"], width=1.4)))
    fig.update_xaxes(rangeselector=dict(buttons=RANGE_BUTTONS))
    fig.update_yaxes(title="adjusted close ($)")
    return base_layout(fig, height=420)


def forecast_table(forecast: dict, cell: str, model_version: int | None = None) -> pd.DataFrame:
    """The shown forecast as rows (one per future trading day) for the CSV download."""
    return pd.DataFrame({
        "date": forecast["dates"],
        "cell": cell,
        "model_version": model_version,
        "predicted_close": forecast["predicted"],
        "lower80": forecast["lower80"],
        "upper80": forecast["upper80"],
        "lower95": forecast["lower95"],
        "upper95": forecast["upper95"],
        "last_close": forecast["last_close"],
        "last_close_date": forecast["last_date"],
    })


def rmse_in_words(metrics: dict, cell: str) -> str:
    """RMSE against persistence in a sentence an analyst can repeat, with how sure it is."""
    rows = metrics["rows"]
    own, base = rows[cell]["rmse"], rows["persistence"]["rmse"]
    ratio = own / base if base else float("nan")
    lo, hi = rows[cell].get("rmse_ratio_low"), rows[cell].get("rmse_ratio_high")
    ev = metrics.get("evaluation")
    where = (f"Over {metrics['test_days']} rolling forecast origins ({ev['report_start']} to {ev['report_end']}, "
             f"model refit every {ev['refit_every']} trading days)" if ev else f"On the {metrics['test_days']} test days")
    if lo is not None and hi is not None:
        if lo <= 1.0 <= hi:
            return (f"{where} the {label(cell)}'s typical one-day error (RMSE ${own:.2f}) was indistinguishable from "
                    f"simply repeating yesterday's close (${base:.2f}): the ratio {ratio:.4f} has a 95% interval "
                    f"[{lo:.4f}, {hi:.4f}] that covers 1.")
        # the interval excludes 1: its side says which way, the point ratio how much
        verdict = f"{abs(1 - ratio) * 100:.1f}% smaller than" if hi < 1.0 else f"{abs(ratio - 1) * 100:.1f}% larger than"
        return (f"{where} the {label(cell)}'s typical one-day error (RMSE ${own:.2f}) was {verdict} simply "
                f"repeating yesterday's close (${base:.2f}); 95% interval of the ratio [{lo:.4f}, {hi:.4f}].")
    if ratio < 0.995:
        verdict = f"{(1 - ratio) * 100:.1f}% smaller than"
    elif ratio > 1.005:
        verdict = f"{(ratio - 1) * 100:.1f}% larger than"
    else:
        verdict = "about the same as"
    return (f"{where} the {label(cell)}'s typical one-day error "
            f"(RMSE ${own:.2f}) was {verdict} simply repeating yesterday's close (${base:.2f}).")
