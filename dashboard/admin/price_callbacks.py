"""Admin callbacks for prices: fetch now (in the admin's own request), and a CSV import
previewed before anything is written, then all-or-nothing with the command line's checks."""
from __future__ import annotations

from dash import Dash, Input, Output, State, html, no_update

from store.price_corrections import Replacement

from dashboard import data, ids, inputs
from dashboard.admin import actions, csv_import, csv_preview
from dashboard.admin.guard import admin_callback, chosen_ticker
from dashboard.admin.layout import alert, notice


@admin_callback(on_refusal=lambda exc: notice("warning", f"Refused: {exc}."))
def on_fetch(_user: str, _n, ticker=None):
    """Fetch now, in this authenticated request; the source's own timeouts bound the wait (yfinance: seconds)."""
    colour, message = actions.execute_fetch(data.settings(), data.engine(), chosen_ticker(ticker), data.now())
    return alert(colour, message, id_=ids.Admin.FETCH_RESULT)


HIDDEN = {"display": "none"}


@admin_callback(on_refusal=lambda exc: (alert("danger", f"Refused: {exc}", id_=ids.Admin.UPLOAD_REFUSED), True,
                                        "", HIDDEN, None, True))
def on_upload(_user: str, contents, filename, ticker=None):
    """What the file would do, before anything is written: its rows, and the stored values it changes.
    A file that changes stored days is imported only by the second button, which names their count."""
    p = csv_import.preview(data.engine(), contents, filename, chosen_ticker(ticker), data.now())
    if p.differing_rows:
        return (csv_preview.view(p), True, csv_preview.replace_label(p.differing_rows), {"display": "inline-block"},
                p.differing_rows, False)
    return csv_preview.view(p), False, "", HIDDEN, None, True


@admin_callback(on_refusal=lambda exc: alert("danger", f"Refused, nothing written: {exc}", id_=ids.Admin.IMPORT_REFUSED))
def on_import(_user: str, _n, contents, filename, ticker=None):
    ticker = chosen_ticker(ticker)
    message = csv_import.import_upload(data.engine(), contents, filename, ticker, data.now())
    serving = actions.request_serve(data.settings(), data.engine(), ticker)  # "" when no champion is stale
    return alert("success", f"{message} {serving}".strip(), id_=ids.Admin.IMPORTED)


@admin_callback(on_refusal=lambda exc: (alert("danger", f"Refused, nothing written: {exc}", id_=ids.Admin.IMPORT_REFUSED),
                                        no_update))
def on_replace(user: str, _n, contents, filename, count, ticker=None):
    """The confirmed correction: the same write as ``import-csv --replace``, refused unless exactly the
    confirmed number of stored days would change; each old row is recorded (price_deletions) as the admin's."""
    ticker = chosen_ticker(ticker)
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise inputs.Refused(f"the count of days to replace {inputs.shown(count)} is not a positive whole number")
    message = csv_import.import_upload(data.engine(), contents, filename, ticker, data.now(),
                                       Replacement(f"web:{user}", count))
    serving = actions.request_serve(data.settings(), data.engine(), ticker)  # "" when no champion is stale
    return alert("success", f"{message} {serving}".strip(), id_=ids.Admin.IMPORTED), True


def register_callbacks(app: Dash) -> None:
    app.callback(Output(ids.Admin.FETCH_MSG, "children"), Input(ids.Admin.FETCH, "n_clicks"),
                 State(ids.Admin.TICKER, "value"), prevent_initial_call=True,
                 running=[(Output(ids.Admin.FETCH, "disabled"), True, False),
                          (Output(ids.Admin.FETCH_RUNNING, "children"),
                           html.Span([html.Span(className="spinner-border spinner-border-sm me-1"), "Fetching prices..."]),
                           None)])(on_fetch)
    app.callback(Output(ids.Admin.UPLOAD_PREVIEW, "children"), Output(ids.Admin.IMPORT, "disabled"),
                 Output(ids.Admin.REPLACE, "children"), Output(ids.Admin.REPLACE, "style"),
                 Output(ids.Admin.REPLACE_COUNT, "data"), Output(ids.Admin.REPLACE, "disabled", allow_duplicate=True),
                 Input(ids.Admin.UPLOAD, "contents"), State(ids.Admin.UPLOAD, "filename"), State(ids.Admin.TICKER, "value"),
                 prevent_initial_call=True)(on_upload)
    app.callback(Output(ids.Admin.IMPORT_MSG, "children", allow_duplicate=True), Output(ids.Admin.REPLACE, "disabled", allow_duplicate=True),
                 Input(ids.Admin.REPLACE, "n_clicks"), State(ids.Admin.UPLOAD, "contents"), State(ids.Admin.UPLOAD, "filename"),
                 State(ids.Admin.REPLACE_COUNT, "data"), State(ids.Admin.TICKER, "value"),
                 prevent_initial_call=True)(on_replace)
    app.callback(Output(ids.Admin.IMPORT_MSG, "children", allow_duplicate=True), Input(ids.Admin.IMPORT, "n_clicks"),
                 State(ids.Admin.UPLOAD, "contents"), State(ids.Admin.UPLOAD, "filename"), State(ids.Admin.TICKER, "value"),
                 prevent_initial_call=True)(on_import)
