"""What the admin page shows before any callback runs: the forms and cards, and the messages they fill."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dash_table, dcc, html

from config.settings import Settings
from contract.vocab import CELL_LABELS, CELLS, DEFAULT_CELL, MAX_EPOCHS
from store import registry as model_registry

from dashboard import data, ids
from dashboard.admin import alerts_view, health_view, views

POLL_MS = 1000
NOTICE_S = 8  # how long a message about no particular run stays up


def alert(color: str, text, id_: str | None = None, **extra) -> dbc.Alert:
    return dbc.Alert(text, color=color, className="py-2 mb-2", **({"id": id_} if id_ else {}), **extra)


def notice(color: str, text: str, id_: str | None = None) -> dbc.Alert:
    """A message about no particular run: it goes away by itself."""
    return alert(color, text, id_, duration=NOTICE_S * 1000)


def default_action(ticker: str) -> str:
    """Fine-tune needs a champion of the default cell to start from; without one the working choice is a full retrain."""
    return "finetune" if model_registry.champion(data.engine(), ticker, DEFAULT_CELL) else "retrain"


def start_form(tickers, default: str):
    return dbc.Card(dbc.CardBody([
        html.H2("Start a run", className="h5"),
        # With several tickers (TICKERS=AAPL,MSFT,...) the admin picks whose models to work on.
        html.Div(dcc.Dropdown(id=ids.Admin.TICKER, options=list(tickers), value=default, clearable=False),
                 style={"maxWidth": "12rem"} if len(tickers) > 1 else {"display": "none"}, className="mb-2"),
        dbc.RadioItems(id=ids.Admin.ACTION, value=default_action(default), options=[
            {"label": f"Fine-tune the {DEFAULT_CELL.label} champion on the newest prices", "value": "finetune"},
            {"label": "Full retrain of the chosen cell types", "value": "retrain"},
            {"label": "Run the nightly pipeline now (fetch prices, then fine-tune or retrain as scheduled)",
             "value": "auto"}]),
        dbc.Row([
            dbc.Col([dbc.Label("Cell types (full retrain)"),
                     dbc.Checklist(id=ids.Admin.CELLS, value=[DEFAULT_CELL.value], inline=True,
                                   options=[{"label": CELL_LABELS[c], "value": c} for c in CELLS])], md=7),
            # No min/max/step: with them the browser sends None for 0, 9999 or 2.5 and the refusal
            # could only say "blank"; the server checks the range and says what was wrong.
            dbc.Col([dbc.Label(f"Epochs (1-{MAX_EPOCHS})", html_for=ids.Admin.EPOCHS),
                     dbc.Input(id=ids.Admin.EPOCHS, type="number", step="any", value=10),
                     dbc.FormText(id=ids.Admin.EPOCHS_HELP)], md=5),
        ], className="my-2"),
        dbc.Button("Start run", id=ids.Admin.START, color="primary", className="me-2"),
        dbc.Button("Cancel the running run", id=ids.Admin.CANCEL, color="danger", outline=True, disabled=True,
                   className="me-2"),
        dbc.Button("Cancel the queued request", id=ids.Admin.CANCEL_QUEUED, color="secondary", outline=True,
                   disabled=True),
        html.Div(id=ids.Admin.START_BUSY, className="small mt-1"),  # why a Start now would wait in the queue, while it would
        html.Div(id=ids.Admin.START_MSG, className="mt-2"),
        html.Div(id=ids.Admin.RUN_RESULT),
        html.Div(id=ids.Admin.CANCEL_MSG),
        dbc.Progress(id=ids.Admin.PROGRESS, value=0, className="mt-2", style={"height": "22px"}),
        html.Div(id=ids.Admin.PROGRESS_TEXT, className="small text-muted mt-1"),
        html.Div(id=ids.Admin.QUEUED, className="small mt-1"),  # a request waiting, and behind what
        html.Div(id=ids.Admin.QUEUED_MSG),
        dcc.Store(id=ids.Admin.REQUEST),
    ]), className="mb-3")


def champion_form():
    return dbc.Card(dbc.CardBody([
        html.H2("Champions (served models)", className="h5"),
        html.Div(id=ids.Admin.MODELS),
        dbc.Row([
            dbc.Col(dcc.Dropdown(id=ids.Admin.PROMOTE_MODEL, placeholder="model id to promote"), md=4),
            dbc.Col(dbc.Button("Promote...", id=ids.Admin.PROMOTE, color="success", size="sm"), md=2),
            dbc.Col(dcc.Dropdown(id=ids.Admin.ROLLBACK_CELL, placeholder="cell to roll back",
                                 options=[{"label": CELL_LABELS[c], "value": c} for c in CELLS]), md=4),
            dbc.Col(dbc.Button("Roll back", id=ids.Admin.ROLLBACK, color="warning", size="sm"), md=2),
        ], className="mt-2 g-2"),
        html.Div(id=ids.Admin.CHAMPION_MSG, className="mt-2"),
        html.Div(id=ids.Admin.PROMOTE_DONE),
        dbc.Modal([
            dbc.ModalHeader(dbc.ModalTitle("Promote this model?")),
            dbc.ModalBody(id=ids.Admin.PROMOTE_COMPARE),
            dbc.ModalFooter([dbc.Button("Cancel", id=ids.Admin.PROMOTE_ABORT, color="secondary", outline=True),
                             dbc.Button("Promote", id=ids.Admin.PROMOTE_CONFIRM, color="success")]),
        ], id=ids.Admin.PROMOTE_MODAL, is_open=False),
        dbc.Modal([
            dbc.ModalHeader(dbc.ModalTitle("Roll back this champion?")),
            dbc.ModalBody(id=ids.Admin.ROLLBACK_ASK),
            dbc.ModalFooter([dbc.Button("Cancel", id=ids.Admin.ROLLBACK_ABORT, color="secondary", outline=True),
                             dbc.Button("Roll back", id=ids.Admin.ROLLBACK_CONFIRM, color="warning")]),
        ], id=ids.Admin.ROLLBACK_MODAL, is_open=False),
    ]), className="mb-3")


def _card(title: str, body, id_: str | None = None):
    return dbc.Card(dbc.CardBody([html.H2(title, className="h5"), body]), className="mb-3", **({"id": id_} if id_ else {}))


def lists_column():
    return [
        # dash_table's __init__ is '# type: ignore' (star import), so mypy sees no DataTable in it.
        _card("All models", dash_table.DataTable(id=ids.Admin.MODELS_TABLE, data=[], page_size=views.MODELS_PAGE_SIZE,  # type: ignore[attr-defined]
                                                 page_action="native", sort_action="native",
                                                 columns=[{"name": t, "id": k} for k, t in views.MODEL_COLUMNS],
                                                 style_cell={"fontSize": 13, "padding": "3px 6px", "textAlign": "left"},
                                                 style_header={"fontWeight": "bold"}, style_table={"overflowX": "auto"})),
        _card("Promotions and rollbacks", html.Div(id=ids.Admin.AUDIT)),
    ]


def status_column():
    return [
        alerts_view.card(),
        _card("Scheduler", html.Div([
            html.Div(id=ids.Admin.CLOCK),
            dbc.Button("Pause the nightly schedule", id=ids.Admin.PAUSE, color="warning", outline=True, size="sm",
                       className="mt-2 me-2"),
            dbc.Button("Resume it", id=ids.Admin.RESUME, color="success", outline=True, size="sm", className="mt-2"),
            html.Div(id=ids.Admin.PAUSE_MSG, className="mt-2")])),
        _card("Prices", html.Div([
            html.Div(id=ids.Admin.PRICES),
            dbc.Button("Fetch prices now", id=ids.Admin.FETCH, color="primary", outline=True, size="sm", className="mt-2"),
            html.Span(" for the ticker chosen under Start a run", className="small text-muted"),
            html.Div(id=ids.Admin.FETCH_RUNNING, className="small text-muted mt-1"),
            html.Div(id=ids.Admin.FETCH_MSG, className="mt-2"),
            html.Hr(),
            dcc.Upload(id=ids.Admin.UPLOAD, multiple=False, accept=".csv,text/csv",
                       children=html.Div(["Import a CSV for the chosen ticker: drop it here or ", html.A("choose a file")]),
                       className="border rounded p-2 text-center small"),
            html.Div(id=ids.Admin.UPLOAD_PREVIEW, className="mt-2 small"),
            dbc.Button("Import these rows", id=ids.Admin.IMPORT, color="primary", size="sm", disabled=True,
                       className="me-2"),
            # Shown, with the count, only when the file changes stored days: the explicit confirmation.
            dbc.Button(id=ids.Admin.REPLACE, color="danger", size="sm", style={"display": "none"}),
            dcc.Store(id=ids.Admin.REPLACE_COUNT),
            html.Div(id=ids.Admin.IMPORT_MSG, className="mt-2")])),
        _card("Run history", html.Div([
            html.Div(id=ids.Admin.RUNS),
            dbc.Row([dbc.Col(dbc.Label("Steps of run"), width="auto"),
                     dbc.Col(dcc.Dropdown(id=ids.Admin.RUN_PICK, placeholder="run #", clearable=True), width=4)],
                    className="mt-2 g-2", align="center"),
            html.Div(id=ids.Admin.RUN_STEPS, className="small mt-1"),
        ])),
    ]


def disabled() -> html.Div:
    return html.Div([html.H3("Admin"), alert(
        "secondary", "Admin actions are disabled: no admin credentials are configured. Set ADMIN_USER and "
        "ADMIN_PASSWORD in the environment and restart the web process.", id_=ids.Admin.DISABLED)])


def denied(reason: str) -> html.Div:
    return html.Div([html.H3("Admin"), alert("danger", f"{reason}. Reload the page to sign in.", id_=ids.Admin.DENIED)])


def page(user: str, settings: Settings) -> html.Div:
    return html.Div([
        dbc.Row([dbc.Col(html.H1("Admin", className="h3"), width="auto"),
                 dbc.Col(html.Span(f"signed in as {user}", className="text-muted"), width="auto"),
                 dbc.Col(html.A("Sign out", href="/logout", id=ids.Admin.SIGNOUT, className="btn btn-sm btn-outline-secondary"),
                         width="auto")], align="center", className="g-2 mb-2"),
        dbc.Row([
            dbc.Col([start_form(settings.tickers, settings.default_ticker), champion_form(), *lists_column()], lg=6),
            dbc.Col([health_view.card(), *status_column()], lg=6),
        ]),
        dcc.Interval(id=ids.Admin.POLL, interval=POLL_MS),
        # what the polls last sent, as digests: a poll sends only what changed (dashboard.admin.unchanged)
        *(dcc.Store(id=i) for i in (ids.Admin.POLL_SHOWN, ids.Admin.LISTS_SHOWN, ids.Admin.QUEUE_SHOWN,
                                    ids.Admin.BUSY_SHOWN, ids.Admin.ALERTS_SHOWN)),
    ])
