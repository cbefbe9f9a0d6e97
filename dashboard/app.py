"""``gunicorn dashboard.app:server``: the Dash app factory and the module-level server.

Import cost is the app object only: no engine, no data, no model. Settings are
read here once to pick the background-callback manager; everything else is
built on first request (see ``dashboard.data``).
"""
from __future__ import annotations

from pathlib import Path

import dash
import dash_bootstrap_components as dbc
from dash import Dash, html

from dashboard import auth, data, delivery, health, security
from dashboard.background import make_manager

HERE = Path(__file__).resolve().parent


def navbar() -> dbc.NavbarSimple:
    links = []
    for page in sorted(dash.page_registry.values(), key=lambda p: p.get("order", 99)):
        # The admin page is a full page load so the browser answers the Basic-auth challenge.
        links.append(dbc.NavItem(dbc.NavLink(page["name"], href=page["relative_path"], active="exact",
                                             external_link=page["path"] == auth.ADMIN_PATH,
                                             id=f"nav-{page['module'].rsplit('.', 1)[-1]}")))
    return dbc.NavbarSimple(links, brand="AAPL recurrent forecasts", brand_href="/", color="primary", dark=True,
                            className="mb-3")


def shell() -> html.Div:
    return html.Div([navbar(), dbc.Container(dash.page_container, fluid=True, className="pb-4")])


def healthz():
    return health.healthz(data.engine)


def create_app() -> Dash:
    settings = data.settings()
    app = Dash(
        "dashboard",  # the package: page modules import as dashboard.pages.<name>
        use_pages=True,
        pages_folder=str(HERE / "pages"),
        assets_folder=str(HERE / "assets"),
        background_callback_manager=make_manager(settings),
        title="AAPL recurrent forecasts",
        suppress_callback_exceptions=True,
        update_title=None,
    )
    app.layout = shell
    app.server.add_url_rule("/healthz", "healthz", healthz)
    security.install(app.server, trusted_proxies=settings.web_trusted_proxies)
    # Dash answers a request for a script no component registered with an exception (a 500).
    app.server.register_error_handler(dash.exceptions.DependencyException,
                                      lambda _exc: security.plain("no such script", 404))
    auth.install_guard(app.server, data.settings, data.engine,
                      callback_spec=lambda output: app.callback_map.get(output))
    delivery.install(app)  # compression, asset caching (the Plotly bundle is in assets/)
    return app


app = create_app()
server = app.server
