"""Residual diagnostics on relative one-day errors ((actual - forecast) / previous close, in %) over the reported
rolling origins: over time, histogram with a normal curve, ACF, Q-Q, rolling bias; the tests in words.

Normal quantiles come from ``statistics.NormalDist`` so the web process needs no scipy.
"""
from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from contract.multiple import holm
from contract.outputs import Predictions, ResidualDiagnostics
from dashboard import fmt

from .common import COLORS, base_layout, label


# The one definition of the error every figure and sentence on the page uses (models.report stores it so).
ERROR_DEFINED = "(actual - forecast) / previous close"


def relative_residuals(predictions: Predictions) -> list[float]:
    """Relative one-day residuals in percent (``ERROR_DEFINED``); dollars (actual - forecast) for old payloads."""
    rel = predictions.get("relative_residual")
    return [100 * v for v in rel] if rel is not None else list(predictions["residual"])


def residuals_over_time(predictions: Predictions, cell: str) -> go.Figure:
    """Relative residual per reported day on an axis spanning exactly those days (the train/test split, before
    them, is stated, not drawn: a line there left a quarter of the axis blank)."""
    dates = predictions["dates"]
    fig = go.Figure(go.Scatter(x=dates, y=relative_residuals(predictions), mode="lines",
                               name=f"{label(cell)} residual", line=dict(color=COLORS.get(cell), width=1),
                               hovertemplate=fmt.PCT_HOVER))
    fig.add_hline(y=0, line=dict(color="#7b8a8b", width=1))
    split = predictions["split"]
    fig.add_annotation(x=0, xref="paper", y=1, yref="paper", xanchor="left", showarrow=False,
                       text=f"reported from {split.get('report_start', dates[0] if dates else '')}; "
                            f"train/test split {split['test_start']}", font=dict(size=11, color="#566573"))
    if dates:
        fig.update_xaxes(range=[dates[0], dates[-1]])
    fig.update_yaxes(title=f"{ERROR_DEFINED} (%)")
    return base_layout(fig, "Relative residuals over the reported rolling origins")


def residual_histogram(residuals: list[float], bins: int = 40) -> go.Figure:
    """Histogram of residuals with the normal density of the same mean and sd, scaled to counts."""
    r = np.asarray(residuals, float)
    mu, sd = float(r.mean()), float(r.std(ddof=1)) if len(r) > 1 else 1.0
    counts, edges = np.histogram(r, bins=bins)
    width = edges[1] - edges[0]
    fig = go.Figure(go.Bar(x=(edges[:-1] + edges[1:]) / 2, y=counts, width=width, name="residuals",
                           marker_color="rgba(44,62,80,0.6)"))
    xs = np.linspace(edges[0], edges[-1], 200)
    nd = NormalDist(mu, sd or 1.0)
    fig.add_trace(go.Scatter(x=xs, y=[nd.pdf(x) * len(r) * width for x in xs], mode="lines",
                             name=f"normal (mean {mu:.2f}, sd {sd:.2f})", line=dict(color="#e74c3c")))
    fig.update_xaxes(title="relative residual (%)")
    fig.update_yaxes(title="days")
    fig = base_layout(fig, "Distribution of residuals")
    fig.update_layout(hovermode="closest", bargap=0)
    return fig


def acf_figure(acf: list[float], bound: float) -> go.Figure:
    """Autocorrelation of residuals at lags 1..k with the +-1.96/sqrt(n) bounds."""
    lags = list(range(1, len(acf) + 1))
    colors = ["#e74c3c" if abs(a) > bound else "#2c3e50" for a in acf]
    fig = go.Figure(go.Bar(x=lags, y=acf, marker_color=colors, name="autocorrelation"))
    for y in (bound, -bound):
        fig.add_hline(y=y, line=dict(color="#3498db", dash="dot"))
    fig.update_xaxes(title="lag (trading days)", dtick=1)
    fig.update_yaxes(title="autocorrelation")
    fig = base_layout(fig, "Autocorrelation of residuals (dotted: 95% bounds)")
    fig.update_layout(hovermode="closest", showlegend=False)
    return fig


def qq_figure(residuals: list[float]) -> go.Figure:
    """Normal Q-Q plot: sorted standardised residuals against normal quantiles."""
    r = np.sort(np.asarray(residuals, float))
    n = len(r)
    z = (r - r.mean()) / (r.std(ddof=1) or 1.0)
    nd = NormalDist()
    theo = [nd.inv_cdf((i + 0.5) / n) for i in range(n)]
    fig = go.Figure(go.Scatter(x=theo, y=z, mode="markers", marker=dict(size=4, color="#2c3e50"), name="residuals"))
    lim = max(abs(theo[0]), abs(theo[-1])) if n else 3
    fig.add_trace(go.Scatter(x=[-lim, lim], y=[-lim, lim], mode="lines", line=dict(color="#e74c3c"), name="normal"))
    fig.update_xaxes(title="normal quantile")
    fig.update_yaxes(title="standardised residual")
    fig = base_layout(fig, "Q-Q plot against the normal")
    fig.update_layout(hovermode="closest")
    return fig


def rolling_bias_figure(predictions: Predictions, window: int = 20) -> go.Figure:
    """Rolling mean residual: above zero the model under-predicts, below it over-predicts."""
    s = pd.Series(relative_residuals(predictions), index=pd.to_datetime(predictions["dates"]))
    roll = s.rolling(window, min_periods=max(2, window // 2)).mean()
    fig = go.Figure(go.Scatter(x=roll.index, y=roll.values, mode="lines", name=f"{window}-day mean residual",
                               line=dict(color="#8e44ad"), hovertemplate=fmt.PCT_HOVER))
    fig.add_hline(y=0, line=dict(color="#7b8a8b"))
    fig.update_yaxes(title="mean relative residual (%)")
    return base_layout(fig, f"Rolling bias ({window} trading days)")


def _p(v) -> float | None:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)


FAMILY = ("ljung_box_pvalue", "arch_lm_pvalue", "dm_pvalue")  # the tests this page states, one family for Holm


def holm_adjusted(diag: ResidualDiagnostics) -> dict[str, float | None]:
    """The page's p-values after Holm across its family (``FAMILY``): each sentence decides on these."""
    raw = [_p(diag.get(k)) for k in FAMILY]  # FAMILY: ResidualDiagnostics keys
    return dict(zip(FAMILY, holm(raw)))


def _both(raw: float, adjusted: float | None) -> str:
    """'p = 0.012, 0.036 after Holm across this page's tests'."""
    tested = "" if adjusted is None else f", {adjusted:.3f} after Holm across this page's tests"
    return f"p = {raw:.3f}{tested}"


def ljung_box_sentence(diag: ResidualDiagnostics) -> str:
    """What Ljung-Box on the relative residuals says, read together with ARCH-LM and persistence's own errors;
    decided on the Holm-adjusted p-values."""
    adj = holm_adjusted(diag)
    raw = _p(diag.get("ljung_box_pvalue"))
    p, arch = adj["ljung_box_pvalue"], adj["arch_lm_pvalue"]
    pers = _p((diag.get("persistence") or {}).get("ljung_box_pvalue"))
    ref = f" (Persistence's errors, the returns themselves: p = {pers:.3f}.)" if pers is not None else ""
    if p is None or raw is None:
        return "Ljung-Box: too few days to test."
    said = _both(raw, p)
    if p >= 0.05:
        return (f"Ljung-Box (20 lags) on the relative residuals: {said}, so we cannot tell them from white "
                "noise: no linear day-to-day pattern is left that the model should have caught." + ref)
    if arch is None:  # a model stored before rolling evaluation: no ARCH-LM to tell the two causes apart
        return (f"Ljung-Box (20 lags): {said}, so the residuals are not white noise at the 5% level; no "
                "ARCH-LM test is stored for this model, and changing variance alone can make Ljung-Box reject." + ref)
    if arch < 0.05:
        return (f"Ljung-Box (20 lags) on the relative residuals: {said}, so they are not white noise at the 5% "
                f"level; but their variance clusters (ARCH-LM p = {arch:.3f} after Holm), and changing variance alone makes "
                "Ljung-Box reject, so this is not by itself a pattern the model missed." + ref)
    return (f"Ljung-Box (20 lags) on the relative residuals: {said}, so they are not white noise at the 5% "
            "level and their variance is steady: some day-to-day pattern in returns is left that a model could "
            "use." + ref)


def arch_sentence(diag: ResidualDiagnostics) -> str:
    raw, p = _p(diag.get("arch_lm_pvalue")), holm_adjusted(diag)["arch_lm_pvalue"]
    if p is None or raw is None:
        return "ARCH-LM: not computed for this model."
    if p < 0.05:
        return (f"ARCH-LM (5 lags): {_both(raw, p)}: calm and turbulent spells cluster, so a fixed-width band would be "
                "too wide in calm weeks and too narrow in turbulent ones; the bands here scale with recent volatility.")
    return (f"ARCH-LM (5 lags): {_both(raw, p)}: no clear volatility clustering in these residuals over this window.")


def dm_sentence(diag: ResidualDiagnostics, cell: str) -> str:
    stat, raw, p = diag.get("dm_stat"), _p(diag.get("dm_pvalue")), holm_adjusted(diag)["dm_pvalue"]
    if stat is None or p is None or raw is None:
        return "Diebold-Mariano: not computed for this model."
    if p >= 0.05:
        return (f"Diebold-Mariano vs persistence (one day ahead, rolling origins): {_both(raw, p)}, so the "
                f"{label(cell)}'s errors are not distinguishable from just repeating yesterday's close.")
    better = "smaller" if stat < 0 else "larger"
    return (f"Diebold-Mariano vs persistence: {_both(raw, p)}; the {label(cell)}'s squared errors are "
            f"significantly {better} than repeating yesterday's close.")


def bias_sentence(diag: ResidualDiagnostics) -> str:
    b = diag["mean_bias"]
    side = "under-predicts" if b > 0 else "over-predicts"
    pct = diag.get("mean_bias_pct")
    rel = f" ({pct:+.3f}% of the previous close)" if pct is not None else ""
    if abs(b) < 0.005:  # rounds to $0.00: "under-predicts by $0.00" would say a side it does not have
        return f"Mean residual {fmt.signed_price(b)}{rel}: no bias a cent could show."
    return f"Mean residual {fmt.signed_price(b)}{rel}: on average the model {side} the close by {fmt.price(abs(b))}."
