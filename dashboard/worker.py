"""Celery entry point for the Procfile ``worker:`` process (only used when REDIS_URL is set).

    celery -A dashboard.worker:celery_app worker --loglevel=info --concurrency=1
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
    load_settings(uses=PROCESS_GROUPS["worker"])
except ConfigError as exc:
    print(f"error: {exc}", file=sys.stderr)
    raise SystemExit(2) from None  # Celery lets SystemExit through: one line, status 2, no traceback

from jobs.tasks import register_tasks  # noqa: E402
from dashboard.app import app  # noqa: E402  (registers the background callbacks as tasks)

manager = app._background_manager  # the CeleryManager make_manager built from REDIS_URL
if manager is None or not hasattr(manager, "handle"):
    raise SystemExit("REDIS_URL is not set: background callbacks run in-process (diskcache); no worker needed")
celery_app = manager.handle
register_tasks(celery_app)  # the pipeline task, on the same app as the background callbacks
