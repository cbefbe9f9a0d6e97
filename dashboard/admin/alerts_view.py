"""The admin page's Alerts card: the newest incidents (``store.incidents``), open first, and whether
each alert reached the webhook. Reads the store only; the conditions are checked elsewhere
(``alerts.check``)."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import Dash, Input, Output, State, html

from store import incidents
from store.incidents import StoredIncident

from dashboard import data, ids
from dashboard.admin.unchanged import only_changed, sent

SHOWN = 8


def card() -> dbc.Card:
    return dbc.Card(dbc.CardBody([html.H2("Alerts", className="h5"), html.Div(id=ids.Admin.ALERTS)]), className="mb-3")


def _delivery(i: StoredIncident, url_set: bool) -> str:
    if not url_set:
        return "recorded only (no ALERT_WEBHOOK_URL)"
    if i.pending is None:
        return "sent" if i.cleared_at is None else "sent, all-clear sent"
    if i.delivery_error:
        return f"not delivered yet ({i.attempts} failed round(s): {i.delivery_error})"
    return "sending"


def _row(i: StoredIncident, url_set: bool) -> html.Li:
    state = (html.Strong("OPEN", className="text-danger") if i.cleared_at is None
             else html.Span(f"cleared {i.cleared_at:%Y-%m-%d %H:%M} UTC", className="text-success"))
    return html.Li([state, f" {i.kind} · since {i.since:%Y-%m-%d %H:%M} UTC · ", i.message,
                    html.Span(f" ({_delivery(i, url_set)})", className="text-muted")], className="small")


def view(rows: list[StoredIncident], url_set: bool) -> html.Div:
    if not rows:
        return html.Div("No alerts: nothing has failed or gone quiet.", className="text-muted small")
    ordered = sorted(rows, key=lambda i: (i.cleared_at is not None, -i.id))[:SHOWN]
    opened = sum(i.cleared_at is None for i in rows)
    head = html.Div(f"{opened} open" if opened else "none open", className="fw-bold mb-1")
    return html.Div([head, html.Ul([_row(i, url_set) for i in ordered], className="mb-0 ps-3")])


def on_poll(_n: int | None, shown=None) -> tuple:
    """The incidents, sent only when they changed (``shown``: the page's digest)."""
    settings = data.settings()
    return sent(only_changed((view(incidents.recent(data.engine(), 20), settings.alerts.webhook_url is not None),), shown))


def register_callbacks(app: Dash) -> None:
    app.callback(Output(ids.Admin.ALERTS, "children"), Output(ids.Admin.ALERTS_SHOWN, "data"),
                 Input(ids.Admin.POLL, "n_intervals"), State(ids.Admin.ALERTS_SHOWN, "data"))(on_poll)

