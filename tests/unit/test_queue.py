"""Celery configuration from REDIS_URL, including Heroku's rediss:// form."""
import ssl

import pytest

from config.settings import load_settings
from config.celery_app import make_celery, queue_status, ssl_options


def test_rediss_url_turns_tls_on_without_verification():
    assert ssl_options("rediss://:pw@host:6380/0") == {"ssl_cert_reqs": ssl.CERT_NONE}
    assert ssl_options("redis://host:6379/0") is None


def test_celery_app_is_configured_for_late_acknowledgement():
    app = make_celery(load_settings({"REDIS_URL": "rediss://:pw@example.invalid:6380/0"}))
    assert app.conf.task_acks_late and app.conf.task_reject_on_worker_lost
    assert app.conf.broker_use_ssl == {"ssl_cert_reqs": ssl.CERT_NONE}


def test_no_redis_url_is_a_clear_error():
    with pytest.raises(ValueError, match="REDIS_URL is not set"):
        make_celery(load_settings({}))


def test_unreachable_redis_is_reported_not_raised():
    ok, why = queue_status(load_settings({"REDIS_URL": "redis://127.0.0.1:1/0"}), timeout_s=0.5)
    assert not ok and why.startswith("queue unavailable")


def test_a_lost_task_is_looked_for_in_proportion_to_the_visibility_timeout():
    """kombu's default scan (every 10th tick of 10 s) would leave a lost task 100 s past its timeout."""
    short = make_celery(load_settings({"REDIS_URL": "redis://h/0", "CELERY_VISIBILITY_TIMEOUT": "45",
                                       "LEASE_TTL_SECONDS": "8"}))
    assert short.conf.broker_transport_options == {
        "visibility_timeout": 45, "unacked_restore_interval": 4, "unacked_restore_throttle": 1}
    default = make_celery(load_settings({"REDIS_URL": "redis://h/0"}))
    assert default.conf.broker_transport_options["unacked_restore_interval"] == 60  # an hour's timeout
