"""Comparison of the three cell types and the two baselines."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from marketdata.outputs import BASELINES

from .common import COLORS, base_layout, label

TABLE_COLUMNS = ["model", "RMSE $", "MAE $", "MAPE %", "RMSE / persistence", "direction right",
                 "direction 95% CI", "80% coverage", "95% coverage", "parameters", "train s"]


def _r(v, nd=3):
    return None if v is None else round(float(v), nd)


def metrics_frame(metrics_by_cell: dict[str, dict]) -> pd.DataFrame:
    """One row per network plus persistence and drift (baselines taken from the first model's table)."""
    rows = []
    baseline_src = next(iter(metrics_by_cell.values()), None)
    entries = [(cell, m["rows"][cell]) for cell, m in metrics_by_cell.items() if cell in m["rows"]]
    if baseline_src:
        entries += [(b, baseline_src["rows"][b]) for b in BASELINES if b in baseline_src["rows"]]
    for key, row in entries:
        rows.append({
            "model": label(key) + (" (baseline)" if key in BASELINES else ""),
            "RMSE $": _r(row.get("rmse")),
            "MAE $": _r(row.get("mae")),
            "MAPE %": _r(row.get("mape")),
            "RMSE / persistence": _r(row.get("rmse_ratio")),
            "direction right": _r(row.get("directional_accuracy")),
            "direction 95% CI": (f"{max(0.0, row['directional_low']):.2f}-{min(1.0, row['directional_high']):.2f}"
                                 if row.get("directional_low") is not None else ""),
            "80% coverage": _r(row.get("coverage80")),
            "95% coverage": _r(row.get("coverage95")),
            "parameters": row.get("param_count"),
            "train s": _r(row.get("train_seconds"), 1),
        })
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)


def overlay_figure(predictions_by_cell: dict[str, dict], last_days: int | None = None) -> go.Figure:
    """Each network's one-step test predictions over the actual closes."""
    fig = go.Figure()
    first = next(iter(predictions_by_cell.values()))
    sl = slice(-last_days, None) if last_days else slice(None)
    fig.add_trace(go.Scatter(x=first["dates"][sl], y=first["actual"][sl], mode="lines", name="actual",
                             line=dict(color=COLORS["actual"], width=2)))
    for cell, p in predictions_by_cell.items():
        fig.add_trace(go.Scatter(x=p["dates"][sl], y=p["predicted"][sl], mode="lines", name=label(cell),
                                 line=dict(color=COLORS.get(cell), width=1.2)))
    fig.update_yaxes(title="adjusted close ($)")
    return base_layout(fig, "Test-period one-step predictions vs actual", height=420)


def loss_figure(loss_by_cell: dict[str, dict]) -> go.Figure:
    """Training (solid) and validation (dotted) loss per epoch, one colour per cell type."""
    fig = go.Figure()
    for cell, lc in loss_by_cell.items():
        c = COLORS.get(cell)
        fig.add_trace(go.Scatter(x=lc["epoch"], y=lc["loss"], mode="lines+markers", name=f"{label(cell)} train",
                                 line=dict(color=c)))
        fig.add_trace(go.Scatter(x=lc["epoch"], y=lc["val_loss"], mode="lines+markers",
                                 name=f"{label(cell)} validation", line=dict(color=c, dash="dot")))
    fig.update_xaxes(title="epoch", dtick=1)
    fig.update_yaxes(title="loss (scaled MSE)")
    fig = base_layout(fig, "Loss per epoch")
    # Clear of the "epoch" axis title, which the legend covered at phone width.
    fig.update_layout(hovermode="closest", legend=dict(y=-0.3), margin=dict(b=60))
    return fig


def horizon_figure(metrics_by_cell: dict[str, dict], measure: str = "rmse") -> go.Figure:
    """Error by forecast step h = 1..H for networks and baselines."""
    fig = go.Figure()
    key = f"per_horizon_{measure}"
    baseline_src = next(iter(metrics_by_cell.values()))
    series = [(c, m["rows"][c]) for c, m in metrics_by_cell.items() if c in m["rows"]]
    series += [(b, baseline_src["rows"][b]) for b in BASELINES if b in baseline_src["rows"]]
    for name, row in series:
        vals = row.get(key) or []
        fig.add_trace(go.Scatter(x=list(range(1, len(vals) + 1)), y=vals, mode="lines+markers", name=label(name),
                                 line=dict(color=COLORS.get(name), dash="dash" if name in BASELINES else "solid")))
    fig.update_xaxes(title="steps ahead (trading days)", dtick=1)
    fig.update_yaxes(title=f"{measure.upper()}" + (" (%)" if measure == "mape" else " ($)"))
    fig = base_layout(fig, "Error by horizon step")
    fig.update_layout(hovermode="closest")
    return fig
