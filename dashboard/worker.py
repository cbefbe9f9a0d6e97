"""Celery entry point for the Procfile ``worker:`` process (only used when REDIS_URL is set).

    celery -A dashboard.worker:celery_app worker --loglevel=info --concurrency=1
"""
from __future__ import annotations

from dashboard.app import app

manager = app._background_manager  # the CeleryManager make_manager built from REDIS_URL
if manager is None or not hasattr(manager, "handle"):
    raise SystemExit("REDIS_URL is not set: background callbacks run in-process (diskcache); no worker needed")
celery_app = manager.handle
