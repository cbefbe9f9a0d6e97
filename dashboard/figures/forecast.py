"""The forecast page's chart and the table behind its CSV download."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from contract.outputs import Forecast, Metrics, Predictions
from dashboard import fmt

from .common import COLORS, PERIOD_FILL, add_split_shading, base_layout, label

RANGE_BUTTONS = [
    dict(count=1, label="1m", step="month", stepmode="backward"),
    dict(count=3, label="3m", step="month", stepmode="backward"),
    dict(count=6, label="6m", step="month", stepmode="backward"),
    dict(count=1, label="1y", step="year", stepmode="backward"),
    dict(count=3, label="3y", step="year", stepmode="backward"),
    dict(step="all", label="all"),
]
OPEN_MONTHS = 3  # the chart opens on this much history before the forecast, so the bands are legible
END_PAD = pd.Timedelta(days=2)  # room after the last forecast day for its marker
FORECAST_COLOR = "#c0392b"
BAND_FILL = {"95": "rgba(24,188,156,0.15)", "80": "rgba(24,188,156,0.30)"}
# one hover line for the forecast: the value and both bands, only on forecast days
FORECAST_HOVER = ("forecast " + fmt.PRICE_HOVER + "<br>80%: %{customdata[0]:$,.2f}-%{customdata[1]:$,.2f}"
                  "<br>95%: %{customdata[2]:$,.2f}-%{customdata[3]:$,.2f}")


def _days(index) -> list[str]:
    """ISO dates: half the bytes of the timestamps plotly would write."""
    return list(pd.DatetimeIndex(index).strftime("%Y-%m-%d"))


def _band(fig: go.Figure, x, lower, upper, name: str, color: str) -> None:
    # Bands never hover: their bounds are listed in the forecast's own hover line.
    fig.add_trace(go.Scatter(x=x, y=upper, mode="lines", line=dict(width=0), showlegend=False, hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=x, y=lower, mode="lines", line=dict(width=0), fill="tonexty", fillcolor=color,
                             name=name, hoverinfo="skip"))


def add_forecast(fig: go.Figure, forecast: Forecast, name: str, marker_size: int = 5) -> None:
    """The next-H forecast with 80%/95% bands, joined to the last close by a line that does not hover
    (so the last close's date lists the close alone, never a 'forecast' equal to it)."""
    fx, last = [forecast["last_date"], *forecast["dates"]], forecast["last_close"]
    _band(fig, fx, [last, *forecast["lower95"]], [last, *forecast["upper95"]], "95% band", BAND_FILL["95"])
    _band(fig, fx, [last, *forecast["lower80"]], [last, *forecast["upper80"]], "80% band", BAND_FILL["80"])
    if forecast["dates"]:
        fig.add_trace(go.Scatter(x=fx[:2], y=[last, forecast["predicted"][0]], mode="lines", showlegend=False,
                                 line=dict(color=FORECAST_COLOR, width=2), hoverinfo="skip"))
    bands = list(zip(forecast["lower80"], forecast["upper80"], forecast["lower95"], forecast["upper95"]))
    fig.add_trace(go.Scatter(x=forecast["dates"], y=forecast["predicted"], mode="lines+markers", name=name,
                             line=dict(color=FORECAST_COLOR, width=2), marker=dict(size=marker_size),
                             customdata=bands, hovertemplate=FORECAST_HOVER))


def add_period_legend(fig: go.Figure) -> None:
    """Legend swatches for the shaded periods: the labels on the shading scroll off screen."""
    for name, fill in PERIOD_FILL.items():
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", fill="toself", fillcolor=fill, line=dict(width=0),
                                 name=f"{name} period", hoverinfo="skip"))


Trace = tuple[Iterable[Any], Iterable[Any]]  # (xs, ys) of one drawn line


def y_range(traces: Sequence[Trace], x0: pd.Timestamp, x1: pd.Timestamp, pad: float = 0.05) -> list[float] | None:
    """[low, high] of every y whose x lies in [x0, x1], padded: the y-axis of what is shown."""
    shown = []
    for xs, vals in traces:
        s = pd.Series(list(vals), index=pd.to_datetime(list(xs)), dtype=float)
        shown.append(s[(s.index >= x0) & (s.index <= x1)].dropna())
    ys = pd.concat(shown) if shown else pd.Series(dtype=float)
    if ys.empty:
        return None
    lo, hi = float(ys.min()), float(ys.max())
    span = (hi - lo) or max(abs(hi), 1.0) * 0.02
    return [lo - pad * span, hi + pad * span]


def _time_axis(fig: go.Figure, first: str, last: pd.Timestamp, start: pd.Timestamp) -> None:
    """Range buttons, the opening window, and no panning or zooming out past the data and forecast."""
    fig.update_xaxes(rangeselector=dict(buttons=RANGE_BUTTONS, x=0, y=1.0, yanchor="bottom"),
                     range=[max(start, pd.Timestamp(first)), last], minallowed=first, maxallowed=last, type="date")


def forecast_figure(closes: pd.Series, predictions: Predictions, forecast: Forecast, cell: str, ticker: str = "") -> go.Figure:
    """Price history, test-period one-step predictions over actual, split shading, next-H forecast with bands.

    ``closes``: adjusted closes indexed by date; ``predictions``/``forecast``: the
    payloads of ``contract.outputs``. Opens on the last ``OPEN_MONTHS`` months and the forecast.
    """
    fig = go.Figure()
    days = _days(closes.index)
    fig.add_trace(go.Scatter(x=days, y=closes.values, mode="lines", name="actual close",
                             line=dict(color=COLORS["actual"], width=1.4), hovertemplate=fmt.PRICE_HOVER))
    fig.add_trace(go.Scatter(x=predictions["dates"], y=predictions["predicted"], mode="lines",
                             name=f"{label(cell)} one-step prediction (rolling origins)",
                             line=dict(color=COLORS.get(cell, "#18bc9c"), width=1.2), hovertemplate=fmt.PRICE_HOVER))
    horizon = len(forecast["dates"])
    add_forecast(fig, forecast, f"next {horizon} days")
    add_period_legend(fig)
    last_day = pd.Timestamp(forecast["dates"][-1] if horizon else forecast["last_date"])
    add_split_shading(fig, predictions["split"], end=str(last_day.date()))
    end = last_day + END_PAD
    start = pd.Timestamp(forecast["last_date"]) - pd.DateOffset(months=OPEN_MONTHS)
    _time_axis(fig, days[0], end, start)
    shown: list[Trace] = [(days, closes.values), (predictions["dates"], predictions["predicted"]),
                          (forecast["dates"], forecast["lower95"]), (forecast["dates"], forecast["upper95"])]
    fig.update_yaxes(title="adjusted close ($)", range=y_range(shown, start, end), tickprefix="$")
    # Two short lines, so a phone shows the whole title.
    title = f"{ticker} adjusted close<br><sup>{label(cell)} one-step predictions and {horizon}-day forecast</sup>"
    base_layout(fig, title.strip(), height=470)
    # Fill traces make plotly reverse the legend; keep it in drawing order, clear of two-line date ticks.
    fig.update_layout(legend=dict(orientation="h", yanchor="top", y=-0.13, x=0, traceorder="normal"),
                      margin=dict(t=90, b=40), title=dict(font=dict(size=15)))
    return fig


def forecast_zoom_figure(closes: pd.Series, forecast: Forecast, cell: str, history_days: int = 40) -> go.Figure:
    """The last ``history_days`` closes and the next-H forecast with its 80%/95% bands, close up."""
    recent = closes.iloc[-history_days:]
    fig = go.Figure(go.Scatter(x=_days(recent.index), y=recent.values, mode="lines+markers", name="actual close",
                               line=dict(color=COLORS["actual"], width=1.5), marker=dict(size=3),
                               hovertemplate=fmt.PRICE_HOVER))
    add_forecast(fig, forecast, f"{label(cell)} forecast", marker_size=6)
    fig.update_yaxes(title="adjusted close ($)", tickprefix="$")
    fig = base_layout(fig, f"Next {len(forecast['dates'])} trading days, close up", height=470)
    fig.update_layout(title=dict(font=dict(size=15)), legend=dict(traceorder="normal"))
    return fig


def history_figure(closes: pd.Series, ticker: str = "") -> go.Figure:
    """Prices only (a store with prices but no trained model yet)."""
    days = _days(closes.index)
    fig = go.Figure(go.Scatter(x=days, y=closes.values, mode="lines", name="actual close",
                               line=dict(color=COLORS["actual"], width=1.4), hovertemplate=fmt.PRICE_HOVER))
    end = pd.Timestamp(days[-1]) + END_PAD
    start = pd.Timestamp(days[-1]) - pd.DateOffset(months=OPEN_MONTHS * 4)
    _time_axis(fig, days[0], end, start)
    fig.update_yaxes(title="adjusted close ($)", range=y_range([(days, closes.values)], start, end), tickprefix="$")
    base_layout(fig, f"{ticker} adjusted close".strip(), height=420)
    fig.update_layout(margin=dict(t=80))
    return fig


def forecast_table(forecast: Forecast, cell: str, model_version: int | None = None, ticker: str = "") -> pd.DataFrame:
    """The shown forecast as rows (one per future trading day) for the CSV download, prices to the cent."""
    cents = {k: [fmt.round_price(v) for v in forecast[k]] for k in ("predicted", "lower80", "upper80", "lower95", "upper95")}
    return pd.DataFrame({
        "ticker": ticker,
        "date": forecast["dates"],
        "cell": cell,
        "model_version": model_version,
        "predicted_close": cents["predicted"],
        "lower80": cents["lower80"],
        "upper80": cents["upper80"],
        "lower95": cents["lower95"],
        "upper95": cents["upper95"],
        "last_close": fmt.round_price(forecast["last_close"]),
        "last_close_date": forecast["last_date"],
    })


def rmse_in_words(metrics: Metrics, cell: str) -> str:
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
            f"(RMSE {fmt.price(own)}) was {verdict} simply repeating yesterday's close ({fmt.price(base)}).")


def trust_in_words(metrics: Metrics, cell: str) -> str:
    """One sentence for the first screen: how far to trust the one-day forecast, from the ratio's interval."""
    row = metrics["rows"][cell]
    base = metrics["rows"]["persistence"]["rmse"]
    ratio = row["rmse"] / base if base else float("nan")
    lo, hi = row.get("rmse_ratio_low"), row.get("rmse_ratio_high")
    span = f" [{lo:.4f}, {hi:.4f}]" if lo is not None and hi is not None else ""
    what = f"error ratio {ratio:.4f}{span} over {metrics['test_days']} past forecasts"
    if lo is not None and hi is not None and lo <= 1.0 <= hi:
        return f"Trust: no better than the last close ({what})."
    if hi is not None and hi < 1.0:
        return f"Trust: beats the last close ({what})."
    if lo is not None and lo > 1.0:
        return f"Trust: worse than the last close ({what})."
    return f"Trust: not established ({what}, no interval stored)."
