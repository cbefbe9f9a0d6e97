"""The background-callback manager: Celery on Redis when REDIS_URL is set, else diskcache.

Dash's documented pattern. With Celery, run the worker with
``celery -A dashboard.worker:celery_app worker --concurrency=1``.
"""
from __future__ import annotations

from marketdata.config import Settings


def make_manager(settings: Settings):
    if settings.redis_url:
        from celery import Celery
        from dash import CeleryManager

        celery_app = Celery("dashboard", broker=settings.redis_url, backend=settings.redis_url)
        return CeleryManager(celery_app)
    import diskcache
    from dash import DiskcacheManager

    path = settings.cache_dir / "dash-background"
    path.mkdir(parents=True, exist_ok=True)
    return DiskcacheManager(diskcache.Cache(str(path)))
