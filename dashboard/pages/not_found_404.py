"""What an address with no page shows (Dash draws it for any unknown path; ``dashboard.not_found`` answers 404)."""
from __future__ import annotations

import dash
from dash import html

from dashboard import ids

dash.register_page(__name__, name="Not found", title="Page not found")


def layout(**_query):
    return html.Div([
        html.H1("Page not found", className="h3"),
        html.P("There is no page at this address."),
        html.A("Go to the forecast", href="/", id=ids.NotFound.HOME, className="btn btn-primary"),
    ], id=ids.NotFound.PAGE)
