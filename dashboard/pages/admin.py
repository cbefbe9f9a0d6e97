"""Admin (protected): start/cancel a run with live progress, run history, scheduler, champions."""
from __future__ import annotations

from datetime import datetime, timezone

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, ctx, dcc, html, no_update

from dashboard import admin_actions, auth, data, inputs
from dashboard.components import ago, fmt_dt
from dashboard.figures.common import label
from marketdata import queries, runs as run_history
from marketdata.outputs import CELL_LABELS, CELLS
from marketdata.queue import queue_status
from marketdata.registry import RegistryError

dash.register_page(__name__, path="/admin", name="Admin", title="Admin - AAPL", order=3)

POLL_MS = 1000


def _alert(color: str, text: str, id_: str | None = None):
    return dbc.Alert(text, color=color, className="py-2 mb-2", **({"id": id_} if id_ else {}))


def _table(rows: list[dict], columns: list[tuple[str, str]], id_: str, empty: str):
    if not rows:
        return html.P(empty, className="text-muted", id=id_)
    head = html.Thead(html.Tr([html.Th(title) for _, title in columns]))
    body = html.Tbody([html.Tr([html.Td(_cell(r.get(key))) for key, _ in columns]) for r in rows])
    return dbc.Table([head, body], bordered=False, hover=True, size="sm", striped=True, id=id_, className="mb-0")


def _cell(v):
    if isinstance(v, float):
        return f"{v:.3f}"
    if hasattr(v, "strftime"):
        return fmt_dt(v)
    return "" if v is None else str(v)


def start_form(tickers, default: str):
    return dbc.Card(dbc.CardBody([
        html.H5("Start a run"),
        # With several tickers (TICKERS=AAPL,MSFT,...) the admin picks whose models to work on.
        html.Div(dcc.Dropdown(id="admin-ticker", options=list(tickers), value=default, clearable=False),
                 style={"maxWidth": "12rem"} if len(tickers) > 1 else {"display": "none"}, className="mb-2"),
        dbc.RadioItems(id="admin-action", value="finetune", options=[
            {"label": "Fine-tune the GRU champion on the newest prices", "value": "finetune"},
            {"label": "Full retrain of the chosen cell types", "value": "retrain"}]),
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
        dbc.Progress(id="admin-progress", value=0, striped=True, animated=True, className="mt-2", style={"height": "22px"}),
        html.Div(id="admin-progress-text", className="small text-muted mt-1"),
        dcc.Store(id="admin-ticket"),
    ]), className="mb-3")


def champion_form():
    return dbc.Card(dbc.CardBody([
        html.H5("Champions"),
        html.Div(id="admin-models"),
        dbc.Row([
            dbc.Col(dcc.Dropdown(id="admin-promote-model", placeholder="model id to promote"), md=4),
            dbc.Col(dbc.Button("Promote", id="admin-promote", color="success", size="sm"), md=2),
            dbc.Col(dcc.Dropdown(id="admin-rollback-cell", placeholder="cell to roll back",
                                 options=[{"label": CELL_LABELS[c], "value": c} for c in CELLS]), md=4),
            dbc.Col(dbc.Button("Roll back", id="admin-rollback", color="warning", size="sm"), md=2),
        ], className="mt-2 g-2"),
        html.Div(id="admin-champion-msg", className="mt-2"),
    ]), className="mb-3")


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
        dbc.Row([dbc.Col(html.H3("Admin"), md="auto"),
                 dbc.Col(html.Span(f"signed in as {user}", className="text-muted"), md="auto")], align="center"),
        dbc.Row([
            dbc.Col([start_form(settings.tickers, settings.default_ticker), champion_form()], lg=6),
            dbc.Col([
                dbc.Card(dbc.CardBody([html.H5("Scheduler"), html.Div(id="admin-clock")]), className="mb-3"),
                dbc.Card(dbc.CardBody([html.H5("Run history"), html.Div(id="admin-runs")]), className="mb-3"),
            ], lg=6),
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
    what = "fine-tune of the GRU" if req["action"] == "finetune" else "retrain of " + ", ".join(map(label, req["cells"]))
    ticker = req["ticker"] or settings.default_ticker
    return auth.issue_ticket(settings, user, req), _alert("info", f"Starting a {what} of {ticker}...")


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


def poll_view(engine, ticker: str | None = None):
    """(progress value, progress label, progress text, cancel disabled, runs table, clock, models table, options),
    all for ``ticker`` (default: the first configured); a dead run shows as failed and blocks nothing."""
    settings = data.settings()
    ticker = ticker or settings.default_ticker
    now, ttl = datetime.now(timezone.utc), settings.schedule.lease_ttl_s
    run = run_history.active_run(engine, ticker, now=now, stale_after_s=ttl)
    runs = [run_history.as_shown(r, now, ttl) for r in run_history.list_runs(engine, limit=15)]
    clock = run_history.clock_status(engine)
    models = queries.models_table(engine, ticker)
    if run:
        pct = round(100 * float(run["progress"] or 0))
        text = f"{ticker} run #{run['id']} ({run['action']}, {run['trigger']}): {run['progress_message'] or 'working'}"
        if run["cancel_requested"]:
            text += " - cancel requested"
    else:
        pct, text = 0, f"No {ticker} run in progress."
    if clock:
        clock_view = html.Ul([html.Li(f"{c['job_id']}: next run {fmt_dt(c['next_run_at'])} "
                                      f"(clock seen {ago(c['heartbeat_at'])})") for c in clock], className="mb-0", id="admin-clock-list")
    else:
        clock_view = html.P(["The clock process has not reported yet. Start it with ", html.Code("python -m jobs clock"), "."],
                            className="text-muted mb-0")
    queue_ok, queue_why = queue_status(data.settings(), timeout_s=0.3)
    clock_view = html.Div([clock_view, html.P(queue_why[0].upper() + queue_why[1:] + ".", id="admin-queue",
                                              className="mb-0 mt-1 " + ("text-muted" if queue_ok else "text-danger fw-bold"))])
    for r in runs:
        r["duration_s"] = f"{r['duration_s']:.1f}" if r.get("duration_s") is not None else ""
        r["promoted"] = {True: "yes", False: "no"}.get(r.get("promoted"), "")
    runs_view = _table(runs, [("id", "#"), ("ticker", "ticker"), ("trigger", "trigger"), ("action", "action"), ("requested_by", "by"),
                              ("status", "status"), ("started_at", "started"), ("duration_s", "seconds"),
                              ("promoted", "promoted"), ("error", "error")],
                       "admin-runs-table", "No runs yet. Start one here, or run: python -m jobs train")
    for m in models:
        m["champion"] = "yes" if m["is_champion"] else ""
        metrics = m.get("metrics") or {}
        m["rmse/pers"] = (metrics.get("rows", {}).get(m["cell"]) or metrics).get("rmse_ratio")
    models_view = _table(models[:12], [("id", "id"), ("cell", "cell"), ("version", "v"), ("kind", "kind"),
                                        ("created_at", "trained"), ("rmse/pers", "RMSE/persistence"), ("champion", "champion")],
                         "admin-models-table", "No trained models yet.")
    options = [{"label": f"#{m['id']} {label(m['cell'])} v{m['version']}", "value": m["id"]} for m in models]
    return pct, f"{pct}%" if run else "", text, run is None, runs_view, clock_view, models_view, options


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


@callback(Output("admin-cancel-msg", "children"), Input("admin-cancel", "n_clicks"), State("admin-ticker", "value"),
          prevent_initial_call=True)
def on_cancel(_n, ticker=None):
    try:
        _guard()
        ticker = _ticker(ticker)
    except (auth.NotAuthorized, inputs.Refused) as exc:
        return _alert("warning", f"Refused: {exc}.", id_="admin-cancel-refused")
    run = _active(ticker)
    if run is None:
        return _alert("secondary", f"No {ticker} run is in progress.")
    if not admin_actions.request_cancel(data.engine(), run["id"]):
        return _alert("secondary", f"{ticker} run #{run['id']} has already finished.")
    return _alert("info", f"Asked {ticker} run #{run['id']} to stop at its next safe point.")


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
    try:
        user = _guard()
        ticker = _ticker(ticker)
        if ctx.triggered_id == "admin-promote":
            if model_id is None:
                return _alert("warning", "Choose a model to promote.")
            msg = admin_actions.promote(data.engine(), model_id, ticker, f"ui:{user}")
        else:
            if not cell:
                return _alert("warning", "Choose a cell type to roll back.")
            msg = admin_actions.rollback(data.engine(), ticker, cell, f"ui:{user}")
    except auth.NotAuthorized as exc:
        return _alert("warning", str(exc))
    except (inputs.Refused, RegistryError) as exc:  # bad id, another ticker's model, already champion, no earlier one
        return _alert("danger", f"Refused: {exc}", id_="admin-champion-refused")
    return _alert("success", msg)
