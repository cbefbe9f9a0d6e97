"""Forecast (home): price history, test-period predictions, split boundary, next-H forecast with bands."""
from __future__ import annotations

from datetime import date

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, Patch, State, callback, dcc, html, no_update

from dashboard import data, inputs
from dashboard.components import (ago, card, cell_selector, default_cell, fmt_dt, graph, missing, refused_page,
                                  ticker_bar)
from dashboard.figures.common import empty_figure, label
from dashboard.figures.forecast import forecast_figure, forecast_table, forecast_zoom_figure, history_figure, rmse_in_words
from marketdata.queries import Snapshot

dash.register_page(__name__, path="/", name="Forecast", title="Forecast - AAPL", order=0)

STALE_DAYS = 5  # calendar days without a new close before the data card turns red

NO_PRICES = ("No prices are stored yet.", "python -m jobs init")
NO_MODELS = ("No trained model yet: the chart shows prices only.", "python -m jobs train (or start a retrain on the Admin page)")


def headline_cards(snap: Snapshot, cell: str) -> dbc.Row:
    view = snap.cells[cell]
    fc, metrics, info = view.outputs.get("forecast"), view.outputs.get("metrics"), view.info
    status = snap.status or {}
    last_close = card("Last close", f"${fc['last_close']:.2f}" if fc else "-", f"on {fc['last_date']}" if fc else None)
    if fc and fc["dates"]:
        nxt = card("Next-day forecast", f"${fc['predicted'][0]:.2f}",
                   f"{fc['dates'][0]} · 80%: ${fc['lower80'][0]:.2f}-${fc['upper80'][0]:.2f}", id_="forecast-next-card")
    else:
        nxt = card("Next-day forecast", "-", "no forecast stored for this model")
    model = card("Model", f"{label(cell)} v{info['version']}",
                 f"{info['kind']} · trained {fmt_dt(info['created_at'])} ({ago(info['created_at'])})", id_="forecast-model-card")
    last_day = status.get("last_date")
    stale = last_day is not None and (date.today() - last_day).days > STALE_DAYS
    source = card("Data", status.get("source", "-"), [
        f"last day {last_day or '-'} ",
        html.Span(f"({ago(last_day)})", className="text-danger fw-bold" if stale else None),
        f" · fetched {ago(status.get('fetched_at'))}"], id_="forecast-data-card")
    cols = [dbc.Col(c, md=3, className="mb-2") for c in (last_close, nxt, model, source)]
    return dbc.Row(cols, className="g-2")


def forecast_view(snap: Snapshot, cell: str):
    """(main figure, close-up figure, cards, sentence) for one cell: the plain function behind the selector."""
    view = snap.cells[cell]
    preds, fc, metrics = (view.outputs.get(k) for k in ("predictions", "forecast", "metrics"))
    if not (preds and fc):
        blank = empty_figure(f"{label(cell)} has no stored forecast.")
        return history_figure(snap.closes), blank, headline_cards(snap, cell), f"{label(cell)} has no stored predictions."
    main, zoom = data.reads().memo(snap, ("forecast-figures", cell), lambda: (
        data.plain(forecast_figure(snap.closes, preds, fc, cell)), data.plain(forecast_zoom_figure(snap.closes, fc, cell))))
    words = rmse_in_words(metrics, cell) if metrics else ""
    return main, zoom, headline_cards(snap, cell), words


def layout(ticker: str | None = None, **_query):
    try:
        snap = data.snapshot(ticker)
    except inputs.Refused as exc:
        return refused_page("forecast", "/", exc, data.settings().tickers)
    return html.Div([ticker_bar("forecast", "/", snap.ticker, data.settings().tickers), page_body(snap)])


def page_body(snap: Snapshot):
    if not snap.has_prices:
        return html.Div([html.H3("Forecast"), missing(*NO_PRICES, id_="forecast-empty")])
    if not snap.has_models:
        return html.Div([html.H3("Forecast"), missing(*NO_MODELS, id_="forecast-empty"),
                         graph("forecast-graph", history_figure(snap.closes))])
    cell = default_cell(snap.cells)
    fig, zoom, cards, words = forecast_view(snap, cell)
    return html.Div([
        dbc.Row([
            dbc.Col(html.H3(f"{snap.ticker} forecast"), md="auto"),
            dbc.Col(cell_selector("forecast-cell", list(snap.cells), cell), md="auto"),
            dbc.Col([dbc.Button("Download forecast CSV", id="forecast-download-btn", color="secondary", outline=True, size="sm"),
                     dcc.Download(id="forecast-download"),
                     html.Div(id="forecast-download-msg", className="small text-danger")], md="auto", className="ms-auto"),
        ], align="center", className="mb-2 g-2"),
        html.Div(cards, id="forecast-cards"),
        dbc.Row([dbc.Col(graph("forecast-graph", fig), lg=8), dbc.Col(graph("forecast-zoom", zoom), lg=4)], className="g-2"),
        dbc.Alert(words, id="forecast-rmse-words", color="light", className="mt-2"),
    ])


@callback(
    Output("forecast-graph", "figure"),
    Output("forecast-zoom", "figure"),
    Output("forecast-cards", "children"),
    Output("forecast-rmse-words", "children"),
    Input("forecast-cell", "value"),
    State("forecast-ticker", "data"),
    prevent_initial_call=True,
)
def on_cell(cell: str, ticker: str | None = None):
    try:
        snap = data.snapshot(ticker)
        cell = inputs.choice(cell, snap.cells, "cell type")
    except inputs.Refused as exc:
        return no_update, no_update, no_update, f"Refused: {exc}."
    main, zoom, cards, words = forecast_view(snap, cell)
    return patch_main(main), zoom, cards, words


def patch_main(main: dict) -> Patch | dict:
    """Send only what differs between cells: every trace but the price history (trace 0,
    3,270 points) and the split shading. Keeps the reader's zoom, and a third of the bytes."""
    if not isinstance(main, dict) or not main.get("data") or main["data"][0].get("name") != "actual close":
        return main
    patch = Patch()
    for i, trace in enumerate(main["data"][1:], start=1):
        patch["data"][i] = trace
    patch["layout"]["shapes"] = main["layout"].get("shapes", [])
    patch["layout"]["annotations"] = main["layout"].get("annotations", [])
    return patch


def forecast_csv(snap: Snapshot, cell: str) -> tuple[str, str]:
    """(file name, CSV text) of the forecast shown for ``cell``."""
    view = snap.cells[cell]
    table = forecast_table(view.outputs["forecast"], cell, view.info["version"])
    return f"{snap.ticker}-{cell}-v{view.info['version']}-forecast.csv", table.to_csv(index=False)


@callback(
    Output("forecast-download", "data"),
    Output("forecast-download-msg", "children"),
    Input("forecast-download-btn", "n_clicks"),
    State("forecast-cell", "value"),
    State("forecast-ticker", "data"),
    prevent_initial_call=True,
)
def on_download(_n, cell: str, ticker: str | None = None):
    try:
        snap = data.snapshot(ticker)
        cell = inputs.choice(cell, snap.cells, "cell type")
    except inputs.Refused as exc:
        return no_update, f"Refused: {exc}."
    if "forecast" not in snap.cells[cell].outputs:
        raise dash.exceptions.PreventUpdate
    name, text = forecast_csv(snap, cell)
    return dict(content=text, filename=name, type="text/csv"), None
