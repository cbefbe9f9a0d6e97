"""Compare cell types: metric table with baselines, predictions overlaid, loss curves, error by horizon."""
from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dash_table, html

from dashboard import data, inputs
from dashboard.components import graph, missing, refused_page, ticker_bar
from dashboard.figures.common import empty_figure
from dashboard.figures.compare import horizon_figure, loss_figure, metrics_frame, overlay_figure
from marketdata.queries import Snapshot

dash.register_page(__name__, path="/compare", name="Compare cell types", title="Compare - AAPL", order=2)

MEASURES = ("rmse", "mae", "mape")


def _collect(snap: Snapshot, name: str) -> dict:
    return {c: v.outputs[name] for c, v in snap.cells.items() if name in v.outputs}


def compare_view(snap: Snapshot):
    """(table rows, overlay, loss, horizon figures) for every served model."""
    def build():
        metrics = _collect(snap, "metrics")
        preds = _collect(snap, "predictions")
        losses = _collect(snap, "loss_curve")
        table = metrics_frame(metrics) if metrics else None
        return (table, data.plain(overlay_figure(preds)) if preds else None,
                data.plain(loss_figure(losses)) if losses else None,
                data.plain(horizon_figure(metrics)) if metrics else None)
    return data.reads().memo(snap, "compare", build)


def layout(ticker: str | None = None, **_query):
    try:
        snap = data.snapshot(ticker)
    except inputs.Refused as exc:
        return refused_page("compare", "/compare", exc, data.settings().tickers)
    return html.Div([ticker_bar("compare", "/compare", snap.ticker, data.settings().tickers), page_body(snap)])


def page_body(snap: Snapshot):
    if not snap.has_prices:
        return html.Div([html.H3("Compare cell types"), missing("No prices are stored yet.", "python -m jobs init", id_="compare-empty")])
    if not snap.has_models:
        return html.Div([html.H3("Compare cell types"),
                         missing("No trained models to compare yet.", "python -m jobs train", id_="compare-empty")])
    table, overlay, loss, horizon = compare_view(snap)
    missing_cells = [c for c in ("simplernn", "lstm", "gru") if c not in snap.cells]
    parts = [html.H3("Compare cell types")]
    if missing_cells:
        parts.append(missing(f"Not trained yet: {', '.join(missing_cells)}.", "python -m jobs train --cells " + ",".join(missing_cells)))
    if table is not None:
        parts += [
            html.P("Test-period figures; persistence (tomorrow = today) and drift are the baselines every "
                   "network must beat. Click a column header to sort.", className="text-muted"),
            dash_table.DataTable(
                id="compare-table",
                columns=[{"name": c, "id": c} for c in table.columns],
                data=table.to_dict("records"),
                sort_action="native",
                style_table={"overflowX": "auto"},
                style_cell={"fontFamily": "inherit", "fontSize": 14, "padding": "4px 8px"},
                style_header={"fontWeight": "bold", "backgroundColor": "#ecf0f1"},
                style_cell_conditional=[{"if": {"column_id": "model"}, "textAlign": "left"}],
                style_data_conditional=[{"if": {"filter_query": '{model} contains "baseline"'}, "color": "#7b8a8b"}],
            ),
        ]
    if overlay is not None:
        parts.append(graph("compare-overlay", overlay))
    row = []
    if loss is not None:
        row.append(dbc.Col(graph("compare-loss", loss), md=6))
    if horizon is not None:
        row.append(dbc.Col([
            dbc.RadioItems(id="compare-measure", options=[{"label": m.upper(), "value": m} for m in MEASURES],
                           value="rmse", inline=True),
            graph("compare-horizon", horizon)], md=6))
    parts.append(dbc.Row(row, className="mt-2"))
    return html.Div(parts)


@callback(Output("compare-horizon", "figure"), Input("compare-measure", "value"), State("compare-ticker", "data"),
          prevent_initial_call=True)
def on_measure(measure: str, ticker: str | None = None):
    try:
        snap = data.snapshot(ticker)
        measure = inputs.choice(measure, MEASURES, "measure")
    except inputs.Refused as exc:
        return empty_figure(f"Refused: {exc}.")
    metrics = _collect(snap, "metrics")
    if not metrics:
        raise dash.exceptions.PreventUpdate
    return data.reads().memo(snap, ("horizon", measure), lambda: data.plain(horizon_figure(metrics, measure)))
