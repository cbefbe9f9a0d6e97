"""Celery entry point for the Procfile ``worker:`` process (only used when REDIS_URL is set).

    celery -A dashboard.worker:celery_app worker --loglevel=info --concurrency=1

It builds no web app. It checks the worker's settings, installs the context the background
callbacks read (``dashboard.data``), and puts on the one Celery app of the process both the
admin's background callbacks (through a ``CeleryManager``: ``dash.callback`` registers them
with every manager under the same keys the web computes) and the pipeline task.
"""
from __future__ import annotations

import sys
from pathlib import Path

# Celery puts the working directory on sys.path only while it loads this module and
# removes it afterwards; tasks import ``jobs`` and ``models`` lazily later, so append a
# second entry for the project root that outlives Celery's removal of the first.
sys.path.append(str(Path(__file__).resolve().parent.parent))

from config.settings import PROCESS_GROUPS, ConfigError, load_settings  # noqa: E402

try:  # the worker runs the pipeline: its settings are checked now, as one line, not at the first task
    settings = load_settings(uses=PROCESS_GROUPS["worker"])
except ConfigError as exc:
    print(f"error: {exc}", file=sys.stderr)
    raise SystemExit(2) from None  # Celery lets SystemExit through: one line, status 2, no traceback
if not settings.redis_url:
    print("error: REDIS_URL is not set: background callbacks run in the web process (diskcache); "
          "no worker is needed", file=sys.stderr)
    raise SystemExit(2)

import dash  # noqa: E402

from config.celery_app import shared_celery_app  # noqa: E402
from dashboard import data  # noqa: E402
from dashboard.admin import background_callbacks  # noqa: E402
from jobs.tasks import register_tasks  # noqa: E402

data.install(data.Web(settings))
celery_app = shared_celery_app(settings)
dash.CeleryManager(celery_app)  # registers every background callback declared in this process, now or later
background_callbacks.register_callbacks(dash.callback)
register_tasks(celery_app)  # the pipeline task, on the same app as the background callbacks
