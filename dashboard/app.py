"""The Dash app factory: ``gunicorn 'dashboard.app:create_server()'``.

Nothing is built at import. :func:`create_app` takes the settings and the clock, builds
the app, installs its context (``dashboard.data.Web``) and registers every callback on
this app (no callback is global, so a second app in the same process, as the tests make,
gets its own). :func:`create_server` is the gunicorn entry point: it reads the web's
settings from the environment, once per worker, and answers a bad one in one line.
"""
from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import dash
import dash_bootstrap_components as dbc
from dash import Dash, html
from flask import Flask

from config.settings import PROCESS_GROUPS, ConfigError, Settings, load_settings
from store.times import utc_now

from dashboard import auth, data, delivery, health, metrics, navigation, not_found, security, timeouts

HERE = Path(__file__).resolve().parent
GUNICORN_APP_LOAD_ERROR = 4  # gunicorn.arbiter.Arbiter.APP_LOAD_ERROR


def shell() -> html.Div:
    # <main>: the landmark a screen reader jumps to past the navbar
    return html.Div([navigation.navbar(), html.Main(dbc.Container(dash.page_container, fluid=True, className="pb-4"))])


def create_app(settings: Settings, now: Callable[[], datetime] = utc_now) -> Dash:
    """The dashboard for ``settings``, its pages and callbacks, reading the clock ``now``."""
    web = data.install(data.Web(settings, now))
    app = Dash(
        "dashboard",  # the package: page modules import as dashboard.pages.<name>
        use_pages=True,
        pages_folder=str(HERE / "pages"),
        assets_folder=str(HERE / "assets"),
        title=f"{settings.default_ticker} recurrent forecasts",
        suppress_callback_exceptions=True,
        update_title=None,  # type: ignore[arg-type]  # Dash documents None (keep the tab title); its hint says str
    )
    app.index_string = app.index_string.replace("<html>", '<html lang="en">', 1)  # WCAG 3.1.1 (axe html-has-lang)
    app.layout = shell
    navigation.install(app)
    not_found.install(app)
    _register_page_callbacks(app)
    server = app.server
    server.add_url_rule("/healthz", "healthz", lambda: health.healthz(web.engine))
    server.add_url_rule("/metrics", "metrics", metrics.endpoint(metrics.Sources.of(web)))
    auth.install_signout(server)
    security.install(server, trusted_proxies=settings.web_trusted_proxies, allowed_hosts=settings.allowed_hosts)
    timeouts.install(server, settings.web_request_timeout_s)
    # Dash answers a request for a script no component registered with an exception (a 500).
    server.register_error_handler(dash.exceptions.DependencyException,
                                  lambda _exc: security.plain("no such script", 404))
    auth.install_guard(server, lambda: web.settings, web.engine,
                       callback_spec=lambda output: app.callback_map.get(output), now=web.now,
                       is_admin_path=lambda path: _renders_admin(app, path))
    delivery.install(app)  # compression, asset caching (the Plotly bundle is in assets/)
    return app


def _renders_admin(app: Dash, pathname: str) -> bool:
    """Whether Dash's page router renders the admin page for ``pathname``; True too for a pathname
    it cannot route (it raises), so the guard never has to guess in the client's favour.

    The router's own lookup (Dash 4's ``_path_to_page`` after ``strip_relative_path``), so the guard
    and the router cannot disagree on which page a pathname is."""
    from dash._pages import _path_to_page

    try:
        page, _variables = _path_to_page(app.strip_relative_path(pathname))
    except Exception:
        return True
    return bool(page) and page.get("path") == auth.ADMIN_PATH


def _register_page_callbacks(app: Dash) -> None:
    """Each page module registers its callbacks on this app (Dash has just executed the
    modules of the pages folder, so they are in ``sys.modules``)."""
    for page in dash.page_registry.values():
        module = sys.modules[page["module"]]
        register: Callable[[Dash], None] | None = getattr(module, "register_callbacks", None)
        if register is not None:
            register(app)


def create_server() -> Flask:
    """gunicorn's factory: the Flask server of the app for the environment's web settings."""
    try:
        # Only the web's own settings are checked here: a bad clock setting must not stop the web.
        settings = load_settings(uses=PROCESS_GROUPS["web"])
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        # gunicorn's "application failed to load" status: the master stops, where any other status
        # has it boot a new worker that fails the same way, forever
        raise SystemExit(GUNICORN_APP_LOAD_ERROR) from None
    from config.logs import setup_logging

    setup_logging("web")
    server: Flask = create_app(settings).server
    _first_request(server, settings)
    from alerts.watch import start_clock_watch  # the clock cannot report its own silence: the web does

    start_clock_watch(data.engine, settings, utc_now)
    return server


def _first_request(server: Flask, settings: Settings) -> None:
    """Dash finishes its set-up in the first request's hooks (it registers the page router's
    callback and walks the callback map), which is not thread-safe: two first requests at once in
    a threaded worker fail with "dictionary changed size during iteration". So each worker makes
    its first request itself, before gunicorn's threads serve any; it reads nothing from the store."""
    host = settings.allowed_hosts[0].lstrip(".")
    server.test_client().get("/_dash-dependencies", headers={"Host": f"[{host}]" if ":" in host else host})
