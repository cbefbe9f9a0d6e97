"""Residuals: over time, distribution, autocorrelation, Q-Q, rolling bias, with the tests in words."""
from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import Dash, Input, Output, State, html, no_update

from dashboard import data, ids, inputs
from dashboard.components import cell_refused_page, cell_selector, graph, url_cell, missing, refused_page, ticker_bar
from dashboard.figures.residuals import (
    ERROR_DEFINED, acf_figure, arch_sentence, bias_sentence, dm_sentence, ljung_box_sentence, qq_figure, relative_residuals,
    residual_histogram, residuals_over_time, rolling_bias_figure,
)
from dashboard.navigation import follow_cell, page_title
from store.queries import Snapshot

dash.register_page(__name__, path="/residuals", name="Residuals", title=page_title("Residuals"), order=1)

GRAPH_IDS = (ids.Residuals.TIME, ids.Residuals.HIST, ids.Residuals.ACF, ids.Residuals.QQ, ids.Residuals.BIAS)


def residual_view(snap: Snapshot, cell: str):
    """(five figures, explanation list) for one cell: the plain function behind the selector."""
    out = snap.cells[cell].outputs
    preds, diag = out.get("predictions"), out.get("residual_diagnostics")
    # Callers pass only a cell of _ready(snap), which has both.
    assert preds is not None and diag is not None, f"{cell} has no residuals stored"

    def build():
        figs = [data.plain(f) for f in (
            residuals_over_time(preds, cell), residual_histogram(relative_residuals(preds)),
            acf_figure(diag["acf"], diag["acf_bound"]), qq_figure(relative_residuals(preds)), rolling_bias_figure(preds))]
        days = diag.get("days") or len(preds["dates"])
        notes = [f"Tests on the {days} reported rolling origins from {preds['split'].get('report_start', preds['dates'][0])}, "
                 f"on the error {ERROR_DEFINED} (above 0: the close came in above the forecast), "
                 "relative so that a price that triples does not weigh late days more.",
                 ljung_box_sentence(diag), arch_sentence(diag), dm_sentence(diag, cell), bias_sentence(diag)]
        return figs, notes

    figs, notes = data.reads().memo(snap, ("residuals", cell), build)
    return figs, html.Ul([html.Li(n) for n in notes], className="mb-0")


def _ready(snap: Snapshot) -> list[str]:
    return [c for c, v in snap.cells.items() if "predictions" in v.outputs and "residual_diagnostics" in v.outputs]


def layout(ticker: str | None = None, cell: str | None = None, **_query):
    try:
        snap = data.snapshot(ticker)
    except inputs.Refused as exc:
        return refused_page(ids.Residuals.PAGE, "/residuals", exc, data.settings().tickers)
    return html.Div([ticker_bar(ids.Residuals.PAGE, "/residuals", snap.ticker, data.settings().tickers),
                     page_body(snap, cell)])


def page_body(snap: Snapshot, wanted: str | None = None):
    if not snap.has_prices:
        return html.Div([html.H1(f"{snap.ticker} residuals", className="h3"), missing("No prices are stored yet.", "python -m jobs init", id_=ids.Residuals.EMPTY)])
    cells = _ready(snap)
    if not cells:
        return html.Div([html.H1(f"{snap.ticker} residuals", className="h3"), missing("No trained model has residuals yet.", "python -m jobs train", id_=ids.Residuals.EMPTY)])
    try:
        cell = url_cell(wanted, cells)
    except inputs.Refused as exc:
        return cell_refused_page(ids.Residuals.PAGE, "/residuals", snap.ticker, exc, cells)
    figs, notes = residual_view(snap, cell)
    g = dict(zip(GRAPH_IDS, figs))
    return html.Div([
        dbc.Row([dbc.Col(html.H1(f"{snap.ticker} residuals (rolling origins)", className="h3"), md="auto"),
                 dbc.Col(cell_selector(ids.Residuals.CELL, cells, cell), md="auto")], align="center", className="mb-2 g-2"),
        dbc.Alert(notes, id=ids.Residuals.NOTES, color="light"),
        graph(ids.Residuals.TIME, g[ids.Residuals.TIME]),
        dbc.Row([dbc.Col(graph(ids.Residuals.HIST, g[ids.Residuals.HIST]), md=6),
                 dbc.Col(graph(ids.Residuals.QQ, g[ids.Residuals.QQ]), md=6)]),
        dbc.Row([dbc.Col(graph(ids.Residuals.ACF, g[ids.Residuals.ACF]), md=6),
                 dbc.Col(graph(ids.Residuals.BIAS, g[ids.Residuals.BIAS]), md=6)]),
    ])


def on_cell(cell: str, ticker: str | None = None):
    try:
        snap = data.snapshot(ticker)
        cell = inputs.choice(cell, _ready(snap), "cell type")
    except inputs.Refused as exc:
        return (*[no_update] * len(GRAPH_IDS), f"Refused: {exc}.")
    figs, notes = residual_view(snap, cell)
    return (*figs, notes)


def register_callbacks(app: Dash) -> None:
    """This page's callbacks, on the app ``create_app`` is building."""
    app.callback(
        *[Output(i, "figure") for i in GRAPH_IDS],
        Output(ids.Residuals.NOTES, "children"),
        Input(ids.Residuals.CELL, "value"),
        State(ids.Residuals.TICKER, "data"),
        prevent_initial_call=True,
    )(on_cell)
    follow_cell(app, ids.Residuals.CELL)
