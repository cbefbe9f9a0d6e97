"""Admin (protected): start/cancel a run with live progress, run history and steps, scheduler,
price status, champions with a confirmed promotion, every model, the audit trail."""
from __future__ import annotations

from datetime import datetime, timezone

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, ctx, dash_table, dcc, html, no_update

from dashboard import admin_actions, admin_views as views, auth, csv_import, data, inputs, promotion
from dashboard.figures.common import label
from store import prices, registry as model_registry, runs as run_history
from contract.vocab import CELL_LABELS, CELLS
from store.pause import paused
from config.celery_app import queue_status
from store.registry import RegistryError

dash.register_page(__name__, path="/admin", name="Admin", title="Admin", order=3)

POLL_MS = 1000
NOTICE_S = 8  # how long a message about no particular run stays up


def _alert(color: str, text, id_: str | None = None):
    return dbc.Alert(text, color=color, className="py-2 mb-2", **({"id": id_} if id_ else {}))


def default_action(ticker: str) -> str:
    """Fine-tune needs a GRU champion to start from; without one the working choice is a full retrain."""
    return "finetune" if model_registry.champion(data.engine(), ticker, "gru") else "retrain"


def start_form(tickers, default: str):
    return dbc.Card(dbc.CardBody([
        html.H5("Start a run"),
        # With several tickers (TICKERS=AAPL,MSFT,...) the admin picks whose models to work on.
        html.Div(dcc.Dropdown(id="admin-ticker", options=list(tickers), value=default, clearable=False),
                 style={"maxWidth": "12rem"} if len(tickers) > 1 else {"display": "none"}, className="mb-2"),
        dbc.RadioItems(id="admin-action", value=default_action(default), options=[
            {"label": "Fine-tune the GRU champion on the newest prices", "value": "finetune"},
            {"label": "Full retrain of the chosen cell types", "value": "retrain"},
            {"label": "Run the nightly pipeline now (fetch prices, then fine-tune or retrain as scheduled)",
             "value": "auto"}]),
        dbc.Row([
            dbc.Col([dbc.Label("Cell types (full retrain)"),
                     dbc.Checklist(id="admin-cells", value=["gru"], inline=True,
                                   options=[{"label": CELL_LABELS[c], "value": c} for c in CELLS])], md=7),
            # No min/max/step: with them the browser sends None for 0, 9999 or 2.5 and the refusal
            # could only say "blank"; the server checks the range and says what was wrong.
            dbc.Col([dbc.Label(f"Epochs (1-{admin_actions.MAX_EPOCHS})"),
                     dbc.Input(id="admin-epochs", type="number", step="any", value=10)], md=3),
        ], className="my-2"),
        dbc.Button("Start run", id="admin-start", color="primary", className="me-2"),
        dbc.Button("Cancel the running run", id="admin-cancel", color="danger", outline=True, disabled=True),
        html.Div(id="admin-start-msg", className="mt-2"),
        html.Div(id="admin-run-result"),
        html.Div(id="admin-cancel-msg"),
        dbc.Progress(id="admin-progress", value=0, className="mt-2", style={"height": "22px"}),
        html.Div(id="admin-progress-text", className="small text-muted mt-1"),
        dcc.Store(id="admin-ticket"),
    ]), className="mb-3")


def champion_form():
    return dbc.Card(dbc.CardBody([
        html.H5("Champions (served models)"),
        html.Div(id="admin-models"),
        dbc.Row([
            dbc.Col(dcc.Dropdown(id="admin-promote-model", placeholder="model id to promote"), md=4),
            dbc.Col(dbc.Button("Promote...", id="admin-promote", color="success", size="sm"), md=2),
            dbc.Col(dcc.Dropdown(id="admin-rollback-cell", placeholder="cell to roll back",
                                 options=[{"label": CELL_LABELS[c], "value": c} for c in CELLS]), md=4),
            dbc.Col(dbc.Button("Roll back", id="admin-rollback", color="warning", size="sm"), md=2),
        ], className="mt-2 g-2"),
        html.Div(id="admin-champion-msg", className="mt-2"),
        html.Div(id="admin-promote-done"),
        dbc.Modal([
            dbc.ModalHeader(dbc.ModalTitle("Promote this model?")),
            dbc.ModalBody(id="admin-promote-compare"),
            dbc.ModalFooter([dbc.Button("Cancel", id="admin-promote-abort", color="secondary", outline=True),
                             dbc.Button("Promote", id="admin-promote-confirm", color="success")]),
        ], id="admin-promote-modal", is_open=False),
    ]), className="mb-3")


def _card(title: str, body, id_: str | None = None):
    return dbc.Card(dbc.CardBody([html.H5(title), body]), className="mb-3", **({"id": id_} if id_ else {}))


def lists_column():
    return [
        _card("All models", dash_table.DataTable(id="admin-models-table", data=[], page_size=views.MODELS_PAGE_SIZE,
                                                 page_action="native", sort_action="native",
                                                 columns=[{"name": t, "id": k} for k, t in views.MODEL_COLUMNS],
                                                 style_cell={"fontSize": 13, "padding": "3px 6px", "textAlign": "left"},
                                                 style_header={"fontWeight": "bold"}, style_table={"overflowX": "auto"})),
        _card("Promotions and rollbacks", html.Div(id="admin-audit")),
    ]


def status_column():
    return [
        _card("Scheduler", html.Div([
            html.Div(id="admin-clock"),
            dbc.Button("Pause the nightly schedule", id="admin-pause", color="warning", outline=True, size="sm",
                       className="mt-2 me-2"),
            dbc.Button("Resume it", id="admin-resume", color="success", outline=True, size="sm", className="mt-2"),
            html.Div(id="admin-pause-msg", className="mt-2")])),
        _card("Prices", html.Div([
            html.Div(id="admin-prices"),
            dbc.Button("Fetch prices now", id="admin-fetch", color="primary", outline=True, size="sm", className="mt-2"),
            html.Span(" for the ticker chosen under Start a run", className="small text-muted"),
            dcc.Loading(html.Div(id="admin-fetch-msg", className="mt-2"), type="dot"),
            html.Hr(),
            dcc.Upload(id="admin-upload", multiple=False, accept=".csv,text/csv",
                       children=html.Div(["Import a CSV for the chosen ticker: drop it here or ", html.A("choose a file")]),
                       className="border rounded p-2 text-center small"),
            html.Div(id="admin-upload-preview", className="mt-2 small"),
            dbc.Button("Import these rows", id="admin-import", color="primary", size="sm", disabled=True),
            html.Div(id="admin-import-msg", className="mt-2")])),
        _card("Run history", html.Div([
            html.Div(id="admin-runs"),
            dbc.Row([dbc.Col(dbc.Label("Steps of run"), width="auto"),
                     dbc.Col(dcc.Dropdown(id="admin-run-pick", placeholder="run #", clearable=True), width=4)],
                    className="mt-2 g-2", align="center"),
            html.Div(id="admin-run-steps", className="small mt-1"),
        ])),
    ]


def layout(**_query):
    settings = data.settings()
    if not settings.admin_enabled:
        return html.Div([html.H3("Admin"), _alert(
            "secondary", "Admin actions are disabled: no admin credentials are configured. Set ADMIN_USER and "
            "ADMIN_PASSWORD in the environment and restart the web process.", id_="admin-disabled")])
    try:
        user = auth.require_admin(settings)
    except auth.NotAuthorized as exc:
        return html.Div([html.H3("Admin"), _alert("danger", f"{exc}. Reload the page to sign in.", id_="admin-denied")])
    return html.Div([
        dbc.Row([dbc.Col(html.H3("Admin"), width="auto"),
                 dbc.Col(html.Span(f"signed in as {user}", className="text-muted"), width="auto"),
                 dbc.Col(html.A("Sign out", href="/logout", id="admin-signout", className="btn btn-sm btn-outline-secondary"),
                         width="auto")], align="center", className="g-2 mb-2"),
        dbc.Row([
            dbc.Col([start_form(settings.tickers, settings.default_ticker), champion_form(), *lists_column()], lg=6),
            dbc.Col(status_column(), lg=6),
        ]),
        dcc.Interval(id="admin-poll", interval=POLL_MS),
    ])


def _guard():
    """Server-side check inside every admin callback (the before_request guard is the first line)."""
    return auth.require_admin(data.settings())


def _ticker(value) -> str:
    """The admin's chosen ticker: None (one configured ticker, dropdown hidden) is the default;
    anything not configured is refused, never replaced by the default."""
    settings = data.settings()
    return inputs.ticker(value, settings.tickers, default=settings.default_ticker)


def _active(ticker: str):
    """The live run of ``ticker``: a run whose heartbeat is older than the lease TTL is dead and never blocks."""
    return run_history.active_run(data.engine(), ticker, now=datetime.now(timezone.utc),
                                  stale_after_s=data.settings().schedule.lease_ttl_s)


@callback(Output("admin-action", "value"), Input("admin-ticker", "value"), prevent_initial_call=True)
def on_ticker(ticker):
    try:
        _guard()
        return default_action(_ticker(ticker))
    except (auth.NotAuthorized, inputs.Refused):
        return no_update


@callback(
    Output("admin-ticket", "data"),
    Output("admin-start-msg", "children"),
    Input("admin-start", "n_clicks"),
    State("admin-action", "value"),
    State("admin-cells", "value"),
    State("admin-epochs", "value"),
    State("admin-ticker", "value"),
    prevent_initial_call=True,
)
def on_start(_n, action, cells, epochs, ticker=None):
    try:
        user = _guard()
        settings = data.settings()
        req = admin_actions.validate_request(action, cells, epochs, ticker, settings.tickers)
        queue_ok, queue_why = queue_status(settings, timeout_s=0.5)
        if not queue_ok:  # Redis down: say so instead of failing inside Dash's Celery manager
            raise admin_actions.Refused(f"Not started: {queue_why}. Analyst pages keep serving; try again later.")
        refusal = admin_actions.refusal_for_running(_active(req["ticker"] or settings.default_ticker))
        if refusal:
            raise admin_actions.Refused(refusal)
    except (auth.NotAuthorized, admin_actions.Refused) as exc:
        text = str(exc) if str(exc).startswith(("Refused", "Not started")) else f"Refused: {exc}."
        return no_update, _alert("warning", text, id_="admin-refused")
    ticker = req["ticker"] or settings.default_ticker
    return auth.issue_ticket(settings, user, req), _alert("info", f"Starting {_what(req)} of {ticker}...")


def _what(req: dict) -> str:
    if req["action"] == "auto":
        return "the nightly pipeline"
    cells = "the GRU" if req["action"] == "finetune" else ", ".join(map(label, req["cells"]))
    verb = "a fine-tune of" if req["action"] == "finetune" else "a retrain of"
    return f"{verb} {cells} ({req['epochs']} epochs)"


@callback(
    Output("admin-run-result", "children"),
    Output("admin-start-msg", "children", allow_duplicate=True),
    Input("admin-ticket", "data"),
    background=True,
    running=[(Output("admin-start", "disabled"), True, False)],
    prevent_initial_call=True,
)
def on_ticket(ticket):
    color, message = admin_actions.execute_run(data.settings(), ticket)
    return _alert(color, message, id_="admin-run-outcome"), None


def _progress(run: dict | None, last: dict | None, ticker: str) -> tuple[int, str, str]:
    """(value, label, text): a live run's progress; else how the last run ended (100%, or why it stopped)."""
    if run:
        pct = round(100 * float(run["progress"] or 0))
        detail = run.get("detail") or {}
        cells = ", ".join(map(label, detail.get("cells") or []))
        text = (f"{ticker} run #{run['id']} ({run['action']}, {run['trigger']} by {run['requested_by']}"
                f"{'; ' + cells if cells else ''}): {run['progress_message'] or 'working'}")
        return pct, f"{pct}%", text + (" - cancel requested" if run["cancel_requested"] else "")
    if not last:
        return 0, "", f"No {ticker} run in progress."
    if last["status"] in ("succeeded", "skipped"):
        return 100, "100%", f"Last {ticker} run #{last['id']} {last['status']}: {last.get('progress_message') or ''}"
    pct = round(100 * float(last.get("progress") or 0))
    why = last.get("error") or last.get("progress_message") or last["status"]
    return pct, f"stopped at {pct}%", f"Last {ticker} run #{last['id']} {last['status']} at {pct}%: {why}"


def poll_view(engine, ticker: str | None = None):
    """(progress value, progress label, progress text, cancel disabled, runs table, clock, champions, options),
    all for ``ticker`` (default: the first configured); a dead run shows as failed and blocks nothing."""
    settings = data.settings()
    ticker = ticker or settings.default_ticker
    now, ttl = datetime.now(timezone.utc), settings.schedule.lease_ttl_s
    run = run_history.active_run(engine, ticker, now=now, stale_after_s=ttl)
    runs = [run_history.as_shown(r, now, ttl) for r in run_history.list_runs(engine, limit=15)]
    last = next((r for r in runs if r["ticker"] == ticker), None)
    pct, bar_label, text = _progress(run, last, ticker)
    queue_ok, queue_why = queue_status(settings, timeout_s=0.3)
    clock_view = html.Div([views.pause_view(paused(engine)),
                           views.clock_view(run_history.clock_status(engine), settings.schedule.timezone, now),
                           html.P(queue_why[0].upper() + queue_why[1:] + ".", id="admin-queue",
                                  className="mb-0 mt-1 " + ("text-muted" if queue_ok else "text-danger fw-bold"))])
    runs_view = views.table(views.run_rows(runs), views.RUN_COLUMNS, "admin-runs-table",
                            "No runs yet. Start one here, or run: python -m jobs train")
    models = model_registry.list_models(engine, ticker)
    options = [{"label": f"#{m.id} {label(m.cell)} v{m.version}", "value": m.id} for m in models]
    return (pct, bar_label, text, run is None, runs_view, clock_view, views.champions_view(models, ticker), options)


@callback(
    Output("admin-progress", "value"),
    Output("admin-progress", "label"),
    Output("admin-progress-text", "children"),
    Output("admin-cancel", "disabled"),
    Output("admin-runs", "children"),
    Output("admin-clock", "children"),
    Output("admin-models", "children"),
    Output("admin-promote-model", "options"),
    Input("admin-poll", "n_intervals"),
    State("admin-ticker", "value"),
)
def on_poll(_n, ticker=None):
    try:
        _guard()
        ticker = _ticker(ticker)
    except auth.NotAuthorized:
        raise dash.exceptions.PreventUpdate
    except inputs.Refused as exc:
        return (no_update,) * 2 + (f"Refused: {exc}.",) + (no_update,) * 5
    return poll_view(data.engine(), ticker)


@callback(
    Output("admin-models-table", "data"),
    Output("admin-audit", "children"),
    Output("admin-prices", "children"),
    Output("admin-run-pick", "options"),
    Output("admin-cancel-msg", "children", allow_duplicate=True),
    Input("admin-poll", "n_intervals"),
    State("admin-ticker", "value"),
    State("admin-cancel-msg", "children"),
    prevent_initial_call=True,
)
def on_poll_lists(_n, ticker=None, shown=None):
    """The slower-changing lists, and the cancel message only while it still holds."""
    try:
        _guard()
        ticker = _ticker(ticker)
    except (auth.NotAuthorized, inputs.Refused):
        raise dash.exceptions.PreventUpdate
    engine, now = data.engine(), datetime.now(timezone.utc)
    models = views.model_rows(model_registry.list_models(engine, ticker))
    runs = run_history.list_runs(engine, limit=30)
    picks = [{"label": f"#{r['id']} {r['ticker']} {r['status']}", "value": r["id"]} for r in runs]
    return (models, views.audit_view(model_registry.champion_events(engine, ticker, limit=20)),
            views.prices_view(prices.price_summaries(engine), now), picks, _cancel_still_holds(shown, ticker))


def _cancel_still_holds(shown, ticker: str):
    """Keep "Asked run #N to stop" only while run N is still running (no_update: leave what is shown)."""
    props = shown.get("props") if isinstance(shown, dict) else None
    run_id = props.get("data-run") if isinstance(props, dict) else None
    if not isinstance(run_id, str) or not run_id.isdigit():
        return no_update
    run = _active(ticker)
    return no_update if run and str(run["id"]) == run_id else None


@callback(Output("admin-run-steps", "children"), Input("admin-run-pick", "value"), prevent_initial_call=True)
def on_run_pick(run_id):
    try:
        _guard()
        run = run_history.get_run(data.engine(), inputs.whole_number(run_id, "run id", 1, inputs.MAX_DB_INT)) if run_id else None
    except (auth.NotAuthorized, inputs.Refused) as exc:
        return _alert("warning", f"Refused: {exc}.")
    return views.run_steps(run)


@callback(Output("admin-cancel-msg", "children"), Input("admin-cancel", "n_clicks"), State("admin-ticker", "value"),
          prevent_initial_call=True)
def on_cancel(_n, ticker=None):
    try:
        _guard()
        ticker = _ticker(ticker)
    except (auth.NotAuthorized, inputs.Refused) as exc:
        return _notice("warning", f"Refused: {exc}.", "admin-cancel-refused")
    run = _active(ticker)
    if run is None:
        return _notice("secondary", f"No {ticker} run is in progress.")
    if not admin_actions.request_cancel(data.engine(), run["id"]):
        return _notice("secondary", f"{ticker} run #{run['id']} has already finished.")
    # data-run: the poll takes the message down once this run is no longer running
    return html.Div(_alert("info", f"Asked {ticker} run #{run['id']} to stop at its next safe point."),
                    **{"data-run": str(run["id"])})


def _notice(color: str, text: str, id_: str | None = None):
    """A message about no particular run: it goes away by itself."""
    return dbc.Alert(text, color=color, className="py-2 mb-2", duration=NOTICE_S * 1000, **({"id": id_} if id_ else {}))


@callback(
    Output("admin-champion-msg", "children"),
    Input("admin-promote", "n_clicks"),
    Input("admin-rollback", "n_clicks"),
    State("admin-promote-model", "value"),
    State("admin-rollback-cell", "value"),
    State("admin-ticker", "value"),
    prevent_initial_call=True,
)
def on_champion(_p, _r, model_id, cell, ticker=None):
    """Roll back at once; a promotion is only checked here (the confirmation dialog does it)."""
    try:
        user = _guard()
        ticker = _ticker(ticker)
        if ctx.triggered_id == "admin-promote":
            if model_id is None:
                return _alert("warning", "Choose a model to promote.")
            promotion.compare(data.engine(), model_id, ticker)
            return None  # valid: the dialog shows candidate and champion side by side
        if not cell:
            return _alert("warning", "Choose a cell type to roll back.")
        msg = admin_actions.rollback(data.engine(), ticker, cell, f"ui:{user}")
    except auth.NotAuthorized as exc:
        return _alert("warning", str(exc))
    except (inputs.Refused, RegistryError) as exc:  # bad id, another ticker's model, already champion, no earlier one
        return _alert("danger", f"Refused: {exc}", id_="admin-champion-refused")
    return _alert("success", msg)


@callback(
    Output("admin-promote-modal", "is_open"),
    Output("admin-promote-compare", "children"),
    Input("admin-promote", "n_clicks"),
    Input("admin-promote-confirm", "n_clicks"),
    Input("admin-promote-abort", "n_clicks"),
    State("admin-promote-model", "value"),
    State("admin-ticker", "value"),
    prevent_initial_call=True,
)
def on_promote_ask(_n, _c, _a, model_id, ticker=None):
    """Open the dialog on Promote...; close it on either of its buttons."""
    if ctx.triggered_id != "admin-promote":
        return False, no_update
    try:
        _guard()
        comparison = promotion.compare(data.engine(), model_id, _ticker(ticker))
    except (auth.NotAuthorized, inputs.Refused, RegistryError):
        return False, None  # on_champion says why
    return True, views.comparison_view(comparison)


@callback(
    Output("admin-promote-done", "children"),
    Input("admin-promote-confirm", "n_clicks"),
    State("admin-promote-model", "value"),
    State("admin-ticker", "value"),
    prevent_initial_call=True,
)
def on_promote_confirm(_c, model_id, ticker=None):
    try:
        user = _guard()
        if model_id is None:
            return _alert("warning", "Choose a model to promote.")
        msg = admin_actions.promote(data.engine(), model_id, _ticker(ticker), f"ui:{user}")
    except auth.NotAuthorized as exc:
        return _alert("warning", str(exc))
    except (inputs.Refused, RegistryError) as exc:
        return _alert("danger", f"Refused: {exc}", id_="admin-champion-refused")
    return _alert("success", msg, id_="admin-promoted")


@callback(Output("admin-pause-msg", "children"), Input("admin-pause", "n_clicks"), Input("admin-resume", "n_clicks"),
          prevent_initial_call=True)
def on_pause(_p, _r):
    try:
        user = _guard()
    except auth.NotAuthorized as exc:
        return _notice("warning", f"Refused: {exc}.")
    pause = ctx.triggered_id == "admin-pause"
    return _notice("info", admin_actions.set_schedule_paused(data.engine(), pause, f"ui:{user}"))


@callback(Output("admin-fetch-msg", "children"), Input("admin-fetch", "n_clicks"), State("admin-ticker", "value"),
          prevent_initial_call=True)
def on_fetch(_n, ticker=None):
    """Fetch now; the source's own timeouts bound the wait (yfinance: seconds)."""
    try:
        _guard()
        ticker = _ticker(ticker)
    except (auth.NotAuthorized, inputs.Refused) as exc:
        return _notice("warning", f"Refused: {exc}.")
    color, message = admin_actions.fetch_prices(data.settings(), data.engine(), ticker)
    return _alert(color, message, id_="admin-fetch-result")


@callback(Output("admin-upload-preview", "children"), Output("admin-import", "disabled"),
          Input("admin-upload", "contents"), State("admin-upload", "filename"), State("admin-ticker", "value"),
          prevent_initial_call=True)
def on_upload(contents, filename, ticker=None):
    """What the file would do, before anything is written."""
    try:
        _guard()
        p = csv_import.preview(data.engine(), contents, filename, _ticker(ticker))
    except (auth.NotAuthorized, inputs.Refused) as exc:
        return _alert("danger", f"Refused: {exc}", id_="admin-upload-refused"), True
    if p.differing_rows:
        return _alert("danger", f"Refused: {p.filename}: {p.differing_rows:,} rows already stored for {p.ticker} differ; "
                      "nothing would be imported (the command line needs --replace for that).",
                      id_="admin-upload-refused"), True
    return html.P(f"{p.filename}: {p.rows:,} valid rows for {p.ticker}, {p.first} to {p.last}: {p.new_rows:,} new "
                  f"days, {p.unchanged_rows:,} already stored unchanged. Nothing is written until you import.",
                  id="admin-upload-summary", className="mb-1"), False


@callback(Output("admin-import-msg", "children"), Input("admin-import", "n_clicks"), State("admin-upload", "contents"),
          State("admin-upload", "filename"), State("admin-ticker", "value"), prevent_initial_call=True)
def on_import(_n, contents, filename, ticker=None):
    try:
        _guard()
        message = csv_import.import_upload(data.engine(), contents, filename, _ticker(ticker))
    except (auth.NotAuthorized, inputs.Refused) as exc:
        return _alert("danger", f"Refused, nothing written: {exc}", id_="admin-import-refused")
    return _alert("success", message, id_="admin-imported")
