"""The Celery app of the queue's executor (the worker process) and of those who send it work.

Only built when ``REDIS_URL`` is set. Heroku Redis hands out ``rediss://`` URLs
with a self-signed certificate, so TLS is on without certificate verification
there (Heroku's documented setting); ``redis://`` stays plain.
"""
from __future__ import annotations

import logging
import ssl
from typing import TYPE_CHECKING, Any

from config.settings import Settings

if TYPE_CHECKING:  # pragma: no cover
    from celery import Celery


def ssl_options(url: str) -> dict[str, Any] | None:
    """Celery/redis-py TLS options for a ``rediss://`` URL, None for ``redis://``."""
    return {"ssl_cert_reqs": ssl.CERT_NONE} if url.startswith("rediss://") else None


def broker_transport_options(visibility_timeout_s: int) -> dict[str, Any]:
    """Redis transport options: the visibility timeout, and how often a worker looks
    for tasks whose worker died.

    kombu scans for such tasks on every 10th tick of 10 s by default, so a lost task
    could wait 100 s past its visibility timeout; one scan per tenth of the timeout
    (1 s to 60 s) keeps the delay in proportion. The scan is one ZRANGE on a small set."""
    return {
        "visibility_timeout": visibility_timeout_s,
        "unacked_restore_interval": max(1, min(60, visibility_timeout_s // 10)),
        "unacked_restore_throttle": 1,
    }


def _worker_logging(loglevel: object = None, **_: object) -> None:
    from config.logs import setup_logging

    setup_logging("worker", loglevel if isinstance(loglevel, int) else logging.INFO)
    # "Task ... succeeded in 3.1s: {...}" says the task returned, not how its run went (failed runs too):
    # jobs.tasks logs the run's own outcome line instead.
    logging.getLogger("celery.app.trace").setLevel(logging.WARNING)


def make_celery(settings: Settings) -> "Celery":
    """A Celery app on REDIS_URL; creating it does not connect to anything.

    Tasks are registered by the modules that define them (the worker imports them);
    configuration names none of them."""
    from celery import Celery
    from celery.signals import setup_logging as celery_sets_up_logging

    # Connected, Celery leaves logging to us: one format in every process (config.logs).
    celery_sets_up_logging.connect(_worker_logging, weak=False)
    if not settings.redis_url:
        raise ValueError("REDIS_URL is not set; Celery needs a Redis broker")
    # No result backend: a run's outcome is in the store (run_requests, runs), and nothing reads a task's
    # return value. With Redis as a result backend every sender subscribed to a result channel per task
    # it sent, and with Redis down that subscription retried 20 times, a second apart, before the send
    # could fail: the admin page's Start and `nightly --queue` hung 19 s to say "not sent".
    app = Celery("forecast", broker=settings.redis_url)
    app.conf.update(
        broker_use_ssl=ssl_options(settings.redis_url),
        task_ignore_result=True,
        # A task is acknowledged only when it finished, so a worker killed mid-task
        # leaves it in the queue for another worker instead of losing it.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        # Redis redelivers an unacknowledged task after this many seconds: long enough
        # for any training run, short enough that a killed worker's task is not lost for long.
        broker_transport_options=broker_transport_options(settings.celery_visibility_timeout_s),
        task_serializer="json",
        accept_content=["json"],
        timezone="UTC",
    )
    return app


def queue_status(settings: Settings, timeout_s: float = 1.0) -> tuple[bool, str]:
    """Whether the Redis behind the queue answers: (ok, one-line reason)."""
    if not settings.redis_url:
        return True, "no queue configured: the clock runs queued requests on this machine"
    import redis

    kwargs: dict[str, Any] = {"socket_connect_timeout": timeout_s, "socket_timeout": timeout_s}
    if settings.redis_url.startswith("rediss://"):
        kwargs["ssl_cert_reqs"] = None
    # Two tries: a single stall longer than the short timeout (a busy Redis, a dropped SYN) is not an
    # outage, and the admin page should not show one. A stopped Redis refuses at once both times; a host
    # that drops packets costs two timeouts (0.6 s of the admin poll's second, 1 s on Start).
    error: Exception | None = None
    for _ in range(2):
        try:  # from_url raises too, on a query option redis-py refuses; leaving the block closes the client
            with redis.Redis.from_url(settings.redis_url, **kwargs) as client:
                client.ping()
            return True, "queue available"
        except Exception as exc:  # any failure to reach Redis means: queue unavailable
            error = exc
    return False, f"queue unavailable: Redis did not answer ({type(error).__name__})"


# The tasks, by name: the worker process registers them; the web and the clock send them by
# name, so the web never imports the code that runs them.
RUN_TASK_NAME = "forecast.run_request"  # args: [run request id] (``store.run_requests``)
SERVE_TASK_NAME = "forecast.serve_ticker"  # args: [ticker]

_shared: dict[str, "Celery"] = {}


def shared_celery_app(settings: Settings) -> "Celery":
    """The one Celery app of this process (the worker's, or the one a sender sends with)."""
    key = settings.redis_url or ""
    if key not in _shared:
        _shared[key] = make_celery(settings)
    return _shared[key]


def send_run_request(settings: Settings, request_id: int) -> str:
    """Hand queued run request ``request_id`` to the workers; the task's id. Raises when Redis is down
    (the request stays queued in the store: the clock's sweep sends it again)."""
    return str(shared_celery_app(settings).send_task(RUN_TASK_NAME, args=[request_id]).id)
