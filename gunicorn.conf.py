"""gunicorn's settings file, read from the working folder by default (the Procfile's ``web:`` runs there).

The web's settings are checked once in the master, before any worker is forked, so a bad one is one
``error:`` line and exit status 2, as in every other process. (``create_server`` checks them again in
each worker and exits with gunicorn's "application failed to load" status, should gunicorn ever be
started with another settings file.) On a local bind without ADMIN_PASSWORD the master also makes
the generated local admin password the workers' (``config.local_admin``) and prints the admin URL.
"""
from __future__ import annotations

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
