"""Admin (protected): start/cancel a run with live progress, run history and steps, scheduler,
price status, champions with a confirmed promotion, every model, the audit trail.

The parts live in ``dashboard.admin``; this page module is the layout entry point and
registers their callbacks on the app."""
from __future__ import annotations

import dash
from dash import Dash, html

from dashboard import auth, data
from dashboard.admin import (alerts_view, champion_callbacks, health_view, layout as admin_layout, price_callbacks,
                             run_callbacks, state_callbacks)

dash.register_page(__name__, path="/admin", name="Admin", title="Admin", order=3)


def layout(**_query) -> html.Div:
    settings = data.settings()
    if not settings.admin_enabled:
        return admin_layout.disabled()
    try:
        user = auth.require_admin(settings)
    except auth.NotAuthorized as exc:
        return admin_layout.denied(str(exc))
    return admin_layout.page(user, settings)


def register_callbacks(app: Dash) -> None:
    for module in (run_callbacks, champion_callbacks, price_callbacks, state_callbacks, health_view, alerts_view):
        module.register_callbacks(app)
