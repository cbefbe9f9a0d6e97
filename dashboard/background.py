"""The background-callback manager: Celery on Redis when REDIS_URL is set, else diskcache.

Dash's documented pattern. With Celery, run the worker with
``celery -A dashboard.worker:celery_app worker --concurrency=1``.
"""
from __future__ import annotations

from config.settings import Settings


def make_manager(settings: Settings):
    if settings.redis_url:
        from dash import CeleryManager

        from config.celery_app import shared_celery_app

        # The same Celery app as the pipeline tasks (jobs.tasks), so one worker serves both;
        # it carries the rediss:// TLS options and late acknowledgement.
        return CeleryManager(shared_celery_app(settings))
    import diskcache
    from dash import DiskcacheManager

    path = settings.cache_dir / "dash-background"
    path.mkdir(parents=True, exist_ok=True)
    return DiskcacheManager(diskcache.Cache(str(path)))
