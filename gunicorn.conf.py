"""gunicorn's settings file, read from the working folder by default (the Procfile's ``web:`` runs there).

The web's settings are checked once in the master, before any worker is forked, so a bad one is one
``error:`` line and exit status 2, as in every other process. (``create_server`` checks them again in
each worker and exits with gunicorn's "application failed to load" status, should gunicorn ever be
started with another settings file.) On a local bind without ADMIN_PASSWORD the master also makes
the generated local admin password the workers' (``config.local_admin``) and prints the admin URL,
then imports the app's modules for the workers it forks.
"""
from __future__ import annotations

import importlib
import sys


def on_starting(server) -> None:
    from config.local_admin import prepare
    from config.settings import PROCESS_GROUPS, ConfigError, load_settings

    try:
        settings = load_settings(uses=PROCESS_GROUPS["web"])
        # On a local bind without ADMIN_PASSWORD: the generated admin password (config.local_admin).
        line = prepare(settings, list(server.cfg.bind or []))
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(2) from None  # raised before gunicorn's main loop, so it is the process's status
    if line:
        print(line, flush=True)
    # The app's modules (Dash, Plotly, pandas, SQLAlchemy, Flask) are imported once, here in the master, so
    # every worker forks with them loaded instead of importing them itself: a worker boots on less CPU, and
    # the module pages stay shared between the workers (copy-on-write). Modules only: nothing is built at
    # import (dashboard.app's docstring), create_server still runs in each worker, and no thread starts
    # before the fork (dashboard.timeouts starts its watchdog on first use). See scripts/bench_web_boot.py.
    importlib.import_module("dashboard.app")
