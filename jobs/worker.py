"""Celery entry point for the Procfile ``worker:`` process (only used when REDIS_URL is set).

    celery -A jobs.worker:celery_app worker --loglevel=info --concurrency=1

The queue's executor: it checks the worker's settings and registers the run and serve tasks
(``jobs.tasks``) on the one Celery app of the process. It builds no web app and imports nothing
of ``dashboard``. Celery puts the working directory on ``sys.path`` only while it loads this
module; the project's packages are imported here, now, so their submodules (imported lazily by
the tasks, TensorFlow included) are found through each package's own path afterwards.
"""
from __future__ import annotations

import sys

import alerts
import config
import contract
import marketdata
import models
import price_feed
import store
from config.settings import PROCESS_GROUPS, ConfigError, load_settings

import jobs  # noqa: F401 (see the docstring: the packages' paths outlive Celery's sys.path entry)

_PACKAGES = (alerts, config, contract, marketdata, models, price_feed, store, jobs)  # every package jobs may import

try:  # the worker runs the pipeline: its settings are checked now, as one line, not at the first task
    settings = load_settings(uses=PROCESS_GROUPS["worker"])
except ConfigError as exc:
    print(f"error: {exc}", file=sys.stderr)
    raise SystemExit(2) from None  # Celery lets SystemExit through: one line, status 2, no traceback
if not settings.redis_url:
    print("error: REDIS_URL is not set: the clock's child process runs the queued runs; no worker is needed",
          file=sys.stderr)
    raise SystemExit(2)

from config.celery_app import shared_celery_app  # noqa: E402

from jobs.tasks import register_tasks  # noqa: E402

celery_app = shared_celery_app(settings)
register_tasks(celery_app)
