"""Admin callbacks for prices: fetch now (in the admin's own request), and a CSV import
previewed before anything is written, then all-or-nothing with the command line's checks."""
from __future__ import annotations

from dash import Dash, Input, Output, State, html, no_update

from dashboard import data, ids
from dashboard.admin import actions, csv_import
from dashboard.admin.guard import admin_callback, chosen_ticker
from dashboard.admin.layout import alert, notice


@admin_callback(on_refusal=lambda exc: notice("warning", f"Refused: {exc}."))
def on_fetch(_user: str, _n, ticker=None):
    """Fetch now, in this authenticated request; the source's own timeouts bound the wait (yfinance: seconds)."""
    colour, message = actions.execute_fetch(data.settings(), data.engine(), chosen_ticker(ticker), data.now())
    return alert(colour, message, id_=ids.Admin.FETCH_RESULT)


@admin_callback(on_refusal=lambda exc: (alert("danger", f"Refused: {exc}", id_=ids.Admin.UPLOAD_REFUSED), True))
def on_upload(_user: str, contents, filename, ticker=None):
    """What the file would do, before anything is written."""
    p = csv_import.preview(data.engine(), contents, filename, chosen_ticker(ticker), data.now())
    if p.differing_rows:
        return alert("danger", f"Refused: {p.filename}: {p.differing_rows:,} rows already stored for {p.ticker} differ; "
                     "nothing would be imported (the command line needs --replace for that).",
                     id_=ids.Admin.UPLOAD_REFUSED), True
    return html.P(f"{p.filename}: {p.rows:,} valid rows for {p.ticker}, {p.first} to {p.last}: {p.new_rows:,} new "
                  f"days, {p.unchanged_rows:,} already stored unchanged. Nothing is written until you import.",
                  id=ids.Admin.UPLOAD_SUMMARY, className="mb-1"), False


@admin_callback(on_refusal=lambda exc: alert("danger", f"Refused, nothing written: {exc}", id_=ids.Admin.IMPORT_REFUSED))
def on_import(_user: str, _n, contents, filename, ticker=None):
    ticker = chosen_ticker(ticker)
    message = csv_import.import_upload(data.engine(), contents, filename, ticker, data.now())
    serving = actions.request_serve(data.settings(), data.engine(), ticker)  # "" when no champion is stale
    return alert("success", f"{message} {serving}".strip(), id_=ids.Admin.IMPORTED)


def register_callbacks(app: Dash) -> None:
    app.callback(Output(ids.Admin.FETCH_MSG, "children"), Input(ids.Admin.FETCH, "n_clicks"),
                 State(ids.Admin.TICKER, "value"), prevent_initial_call=True,
                 running=[(Output(ids.Admin.FETCH, "disabled"), True, False),
                          (Output(ids.Admin.FETCH_RUNNING, "children"),
                           html.Span([html.Span(className="spinner-border spinner-border-sm me-1"), "Fetching prices..."]),
                           None)])(on_fetch)
    app.callback(Output(ids.Admin.UPLOAD_PREVIEW, "children"), Output(ids.Admin.IMPORT, "disabled"),
                 Input(ids.Admin.UPLOAD, "contents"), State(ids.Admin.UPLOAD, "filename"), State(ids.Admin.TICKER, "value"),
                 prevent_initial_call=True)(on_upload)
    app.callback(Output(ids.Admin.IMPORT_MSG, "children"), Input(ids.Admin.IMPORT, "n_clicks"),
                 State(ids.Admin.UPLOAD, "contents"), State(ids.Admin.UPLOAD, "filename"), State(ids.Admin.TICKER, "value"),
                 prevent_initial_call=True)(on_import)
