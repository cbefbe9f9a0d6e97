"""Forecast (home): price history, test-period predictions, split boundary, next-H forecast with bands."""
from __future__ import annotations

from datetime import date

import dash
import dash_bootstrap_components as dbc
from dash import Dash, Input, Output, Patch, State, dcc, html, no_update
from dash.development.base_component import Component

from contract.outputs import Forecast
from dashboard import data, fmt, ids, inputs
from dashboard.components import (ago, card, cell_refused_page, cell_selector, url_cell, download_button, fmt_dt, graph, missing,
                                  refused_page, ticker_bar)
from dashboard.figures.common import empty_figure, label
from dashboard.figures.forecast import (forecast_figure, forecast_table, forecast_zoom_figure, history_figure,
                                        rmse_in_words, trust_in_words)
from dashboard.navigation import follow_cell, page_title
from marketdata.calendar import market_date
from store.prices import TickerSummary
from store.queries import Snapshot

dash.register_page(__name__, path="/", name="Forecast", title=page_title("Forecast"), order=0)

STALE_DAYS = 5  # calendar days without a new close before the data card turns red
KIND_WORDS = {"train": "trained", "finetune": "fine-tuned"}

NO_PRICES = ("No prices are stored yet.", "python -m jobs init")
NO_MODELS = ("No trained model yet: the chart shows prices only.", "python -m jobs train (or start a retrain on the Admin page)")


def stale_reason(fc: Forecast, status: TickerSummary | None, today: date,
                 preparing: bool = False) -> tuple[str, str] | None:
    """(why the forecast is stale, what fixes it), or None when it starts from the newest close of a recent day.
    ``preparing``: a clock runs, so a forecast from a newer stored close is on its way (it serves every minute)."""
    if status is None:
        return None
    origin, last, ticker = date.fromisoformat(fc["last_date"]), status.last_date, status.ticker
    if origin < last and preparing:
        return (f"made from the close of {origin}; the forecast from the close of {last} is being prepared",
                f"none needed: reload in a minute (if it stays, python -m jobs serve --ticker {ticker})")
    if origin < last:  # the data moved on, the forecast did not: the serve step has not run since
        return (f"made from the close of {origin}, but the close of {last} is stored: not served since",
                f"python -m jobs serve --ticker {ticker} (the nightly run serves every trading day)")
    if (today - last).days > STALE_DAYS:  # the forecast is current, the data is not
        source = status.latest_source
        fix = (f"import the new days: python -m jobs import-csv FILE --ticker {ticker}" if source.startswith("csv:")
               else f"python -m jobs nightly --ticker {ticker} (fetches from {source}, then serves)")
        return f"made from the close of {origin} ({ago(last)}): no newer close is stored, from {source}", fix
    return None


def _serve_on_its_way(fc: Forecast, status: TickerSummary | None) -> bool:
    """Whether a clock runs to serve a forecast older than the newest close (read only then: one lease row)."""
    if status is None or date.fromisoformat(fc["last_date"]) >= status.last_date:
        return False
    from store import lease as leases

    return leases.current_lease(data.engine(), leases.CLOCK_LEASE, live=True) is not None


def _change(predicted: float, close: float | None) -> str:
    """'+$0.42 (+0.22%) vs the last close': how far the forecast moves from the close it starts from."""
    if close is None or not close:
        return ""
    move = predicted - close
    return f"{fmt.signed_price(move)} ({'+' if move >= 0 else '-'}{abs(move) / close * 100:.2f}%) vs last close"


def _next_day_card(fc: Forecast | None, status: TickerSummary | None, today: date, close: float | None = None):
    if not (fc and fc["dates"]):
        return card("Next-day forecast", "-", "no forecast stored for this model")
    detail: list[str | Component] = [
        html.Div(_change(fc["predicted"][0], close), id=ids.Forecast.CHANGE, className="fw-bold text-body"),
        f"for {fc['dates'][0]} · 80%: {fmt.price_range(fc['lower80'][0], fc['upper80'][0])}"]
    why = stale_reason(fc, status, today, preparing=_serve_on_its_way(fc, status))
    if why:  # a forecast made from an old close is history, not a forecast: say so, why, and what fixes it
        # One line on the card (a phone keeps the chart on its first screen); why and the fix one tap away.
        detail += [html.Details([
            html.Summary(f"stale: from the close of {fc['last_date']}", className="text-danger fw-bold"),
            html.Span(why[0]), html.Br(), html.Span(f"Fix: {why[1]}", className="small")], id=ids.Forecast.STALE)]
    return card("Next-day forecast", fmt.price(fc["predicted"][0]), detail, id_=ids.Forecast.NEXT_CARD)


def headline_cards(snap: Snapshot, cell: str) -> dbc.Row:
    view = snap.cells[cell]
    fc, info = view.outputs.get("forecast"), view.info
    status = snap.status
    last_day = status.last_date if status else None
    now = data.now()  # the web's one clock (a test pins it); days are counted on the market's date
    today = market_date(now)
    stale = last_day is not None and (today - last_day).days > STALE_DAYS
    # The newest stored close, whatever the forecast was made from (the DATA card and the chart show the same day).
    newest = snap.closes.iloc[-1] if snap.has_prices else None
    last_close = card("Last close", fmt.price(newest) if newest is not None else "-",
                      f"on {snap.closes.index[-1]:%Y-%m-%d}" if newest is not None else None, id_=ids.Forecast.LAST_CLOSE)
    kind = KIND_WORDS.get(info.kind, info.kind)
    model = card("Model", f"{label(cell)} v{info.version}",
                 f"{kind} {fmt_dt(info.created_at)} ({ago(info.created_at)})", id_=ids.Forecast.MODEL_CARD)
    source = card("Data", status.latest_source if status else "-", [
        f"last day {last_day or '-'} ",
        html.Span(f"({ago(last_day, now)})", className="text-danger fw-bold" if stale else None),
        f" · fetched {ago(status.last_fetched_at if status else None)}"], id_=ids.Forecast.DATA_CARD)
    cards = (last_close, _next_day_card(fc, status, today, float(newest) if newest is not None else None), model, source)
    metrics = view.outputs.get("metrics")
    trust = html.P(trust_in_words(metrics, cell) if metrics else "Not yet scored: no rolling evaluation is stored.",
                   id=ids.Forecast.TRUST, className="fw-semibold mb-2")
    # Two by two on a phone, so the chart still starts on the first screen; the trust verdict right under them.
    return html.Div([dbc.Row([dbc.Col(c, xs=6, md=3, className="mb-2") for c in cards], className="g-2"), trust])


def forecast_view(snap: Snapshot, cell: str):
    """(main figure, close-up figure, cards, sentence) for one cell: the plain function behind the selector."""
    view = snap.cells[cell]
    preds, fc, metrics = view.outputs.get("predictions"), view.outputs.get("forecast"), view.outputs.get("metrics")
    if not (preds and fc):
        blank = empty_figure(f"{label(cell)} has no stored forecast.")
        return history_figure(snap.closes, snap.ticker), blank, headline_cards(snap, cell), f"{label(cell)} has no stored predictions."
    main, zoom = data.reads().memo(snap, (ids.Forecast.FIGURES, cell), lambda: (
        data.plain(forecast_figure(snap.closes, preds, fc, cell, snap.ticker)), data.plain(forecast_zoom_figure(snap.closes, fc, cell))))
    words = rmse_in_words(metrics, cell) if metrics else ""
    return main, zoom, headline_cards(snap, cell), words


def layout(ticker: str | None = None, cell: str | None = None, **_query):
    try:
        snap = data.snapshot(ticker)
    except inputs.Refused as exc:
        return refused_page(ids.Forecast.PAGE, "/", exc, data.settings().tickers)
    return html.Div([ticker_bar(ids.Forecast.PAGE, "/", snap.ticker, data.settings().tickers), page_body(snap, cell)])


def page_body(snap: Snapshot, wanted: str | None = None):
    if not snap.has_prices:
        return html.Div([html.H1(f"{snap.ticker} forecast", className="h3"), missing(*NO_PRICES, id_=ids.Forecast.EMPTY)])
    if not snap.has_models:
        return html.Div([html.H1(f"{snap.ticker} forecast", className="h3"), missing(*NO_MODELS, id_=ids.Forecast.EMPTY),
                         graph(ids.Forecast.GRAPH, history_figure(snap.closes, snap.ticker)), dcc.Store(id=ids.Forecast.YSCALE)])
    try:
        cell = url_cell(wanted, snap.cells)
    except inputs.Refused as exc:
        return cell_refused_page(ids.Forecast.PAGE, "/", snap.ticker, exc, list(snap.cells))
    fig, zoom, cards, words = forecast_view(snap, cell)
    return html.Div([
        # On a phone the title and the download share a line, the selector the next: the first screen is short.
        dbc.Row([
            dbc.Col(html.H1(f"{snap.ticker} forecast", className="h3 mb-0"), xs="auto"),
            dbc.Col(cell_selector(ids.Forecast.CELL, list(snap.cells), cell), xs=12, md="auto",
                    className="order-last order-md-0"),
            dbc.Col([download_button(ids.Forecast.DOWNLOAD_BTN, "Download forecast CSV"),
                     dcc.Download(id=ids.Forecast.DOWNLOAD),
                     html.Div(id=ids.Forecast.DOWNLOAD_MSG, className="small text-danger")], xs="auto", className="ms-auto"),
        ], align="center", className="mb-2 g-2"),
        html.Div(cards, id=ids.Forecast.CARDS),
        dbc.Row([dbc.Col(graph(ids.Forecast.GRAPH, fig), lg=8), dbc.Col(graph(ids.Forecast.ZOOM, zoom), lg=4)], className="g-2"),
        dbc.Alert(words, id=ids.Forecast.RMSE_WORDS, color="light", className="mt-2"),
        dcc.Store(id=ids.Forecast.YSCALE),
    ])


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
    patch["layout"]["title"] = main["layout"].get("title", {})  # it names the cell
    return patch


def forecast_csv(snap: Snapshot, cell: str) -> tuple[str, str]:
    """(file name, CSV text) of the forecast shown for ``cell``."""
    view = snap.cells[cell]
    table = forecast_table(view.outputs["forecast"], cell, view.info.version, snap.ticker)
    return f"{snap.ticker}-{cell}-v{view.info.version}-forecast.csv", table.to_csv(index=False)


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


# Plotly keeps the y-axis of the opening view when the x-range changes (a range button, a
# zoom, "all"), so a chosen month is a flat line. This fits the y-axis to what is shown,
# in the browser, without a round trip; it ignores its own y-only relayout.
FIT_Y_TO_SHOWN_RANGE_JS = """
    function(relayout) {
        const nu = window.dash_clientside.no_update;
        if (!relayout || !Object.keys(relayout).some(k => k.startsWith("xaxis."))) { return nu; }
        const gd = document.querySelector("#forecast-graph .js-plotly-plot");
        if (!gd || !gd._fullLayout || !gd._fullData) { return nu; }
        const t = v => { let s = String(v).replace(" ", "T"); if (s.length <= 10) { s += "T00:00:00"; } return Date.parse(s + "Z"); };
        // _fullLayout: the drawn range ("all" leaves an unclamped one in layout); _fullData: decoded arrays
        const [x0, x1] = gd._fullLayout.xaxis.range.map(t);
        let lo = Infinity, hi = -Infinity;
        for (const tr of gd._fullData) {
            if (!tr.x || !tr.y || tr.visible !== true) { continue; }
            for (let i = 0; i < tr.x.length; i++) {
                const y = tr.y[i];
                if (y === null || y === undefined) { continue; }
                const x = t(tr.x[i]);
                if (x >= x0 && x <= x1) { lo = Math.min(lo, y); hi = Math.max(hi, y); }
            }
        }
        if (!isFinite(lo)) { return nu; }
        const pad = Math.max((hi - lo) * 0.05, Math.abs(hi) * 0.005);
        window.Plotly.relayout(gd, {"yaxis.range": [lo - pad, hi + pad]});
        return Date.now();
    }
    """


def register_callbacks(app: Dash) -> None:
    """This page's callbacks, on the app ``create_app`` is building."""
    app.callback(
        Output(ids.Forecast.GRAPH, "figure"),
        Output(ids.Forecast.ZOOM, "figure"),
        Output(ids.Forecast.CARDS, "children"),
        Output(ids.Forecast.RMSE_WORDS, "children"),
        Input(ids.Forecast.CELL, "value"),
        State(ids.Forecast.TICKER, "data"),
        prevent_initial_call=True,
    )(on_cell)
    app.callback(
        Output(ids.Forecast.DOWNLOAD, "data"),
        Output(ids.Forecast.DOWNLOAD_MSG, "children"),
        Input(ids.Forecast.DOWNLOAD_BTN, "n_clicks"),
        State(ids.Forecast.CELL, "value"),
        State(ids.Forecast.TICKER, "data"),
        prevent_initial_call=True,
    )(on_download)
    follow_cell(app, ids.Forecast.CELL)
    app.clientside_callback(
        FIT_Y_TO_SHOWN_RANGE_JS,
        Output(ids.Forecast.YSCALE, "data"),
        Input(ids.Forecast.GRAPH, "relayoutData"),
        prevent_initial_call=True,
    )
