"""Logs an operator can read: one line per event in UTC ISO 8601 (or one JSON object), and a price
source failure said once per ticker without libcurl's text, not retried for the next ticker."""
from __future__ import annotations

import io
import json
import logging
import re

import pytest

from config.logs import setup_logging
from marketdata.sources.base import SourceUnavailable
from marketdata.sources.yahoo import YahooSource, plain_reason

CURL = ("DNSError('Failed to perform, curl: (6) Could not resolve host: query2.finance.yahoo.com. "
        "See https://curl.se/libcurl/c/libcurl-errors.html first for more details.')")


@pytest.fixture
def restore_logging():
    """Put the root logger back as pytest had it."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_text_lines_are_utc_iso_and_one_line_per_event(restore_logging):
    out = io.StringIO()
    setup_logging("clock", stream=out, env={})
    log = logging.getLogger("jobs.test")
    log.info("first line\nsecond line")
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("it failed")
    lines = out.getvalue().splitlines()
    assert len(lines) == 2  # a multi-line message and a traceback each stay on their event's line
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO jobs\.test: first line \| second line", lines[0])
    assert "ValueError: boom" in lines[1] and lines[1].split(" ")[1] == "ERROR"


def test_json_lines_are_one_object_each(restore_logging):
    out = io.StringIO()
    setup_logging("worker", stream=out, env={"LOG_FORMAT": "json"})
    logging.getLogger("jobs.tasks").warning("task %s: %s", "abc", "run #3 AAPL failed: x")
    (line,) = out.getvalue().splitlines()
    event = json.loads(line)
    assert event["level"] == "WARNING" and event["logger"] == "jobs.tasks" and event["process"] == "worker"
    assert event["message"] == "task abc: run #3 AAPL failed: x" and event["ts"].endswith("Z")


def test_a_bad_log_format_is_one_error_line(capsys, restore_logging):
    with pytest.raises(SystemExit) as stopped:
        setup_logging("web", env={"LOG_FORMAT": "xml"})
    assert stopped.value.code == 2
    assert capsys.readouterr().err.strip() == "error: LOG_FORMAT='xml' must be text or json"


@pytest.mark.parametrize("raw, plain", [
    (CURL, "Could not resolve host: query2.finance.yahoo.com"),
    ("Failed to perform, curl: (7) Failed to connect to query2.finance.yahoo.com port 443 after 2 ms: Couldn't "
     "connect to server. See https://curl.se/libcurl/c/libcurl-errors.html first for more details.",
     "Failed to connect to query2.finance.yahoo.com port 443 after 2 ms: Couldn't connect to server"),
    ("YFRateLimitError('Too Many Requests. Rate limited. Try after a while.')",
     "YFRateLimitError('Too Many Requests. Rate limited. Try after a while.')"),
])
def test_plain_reason_drops_libcurls_boilerplate(raw, plain):
    assert plain_reason(raw) == plain


def test_an_unreachable_source_is_not_retried_for_the_next_ticker(caplog):
    calls, waits = [], []

    def download(ticker, **kwargs):
        calls.append(ticker)
        raise ConnectionError(CURL)

    source = YahooSource(download=download, retries=3, sleep=waits.append)
    with caplog.at_level(logging.INFO), pytest.raises(SourceUnavailable) as first:
        source.fetch("AAPL")
    assert "curl.se" not in str(first.value) and "Could not resolve host" in str(first.value)
    assert [r for r in caplog.records if r.levelno >= logging.INFO] == []  # retries are debug detail
    with pytest.raises(SourceUnavailable, match="not retried"):
        source.fetch("GOOG")
    assert calls == ["AAPL"] * 3 and waits == [2.0, 4.0]  # GOOG cost no download and no backoff


def test_a_bad_log_format_is_a_settings_error_every_process_checks_at_start():
    """gunicorn's master checks the web's settings (gunicorn.conf.py): a LOG_FORMAT typo stops it with one
    line, where it used to pass there and stop each worker at boot, which gunicorn restarted for ever."""
    from config.settings import PROCESS_GROUPS, ConfigError, load_settings

    with pytest.raises(ConfigError, match="LOG_FORMAT='jsno' must be text or json"):
        load_settings({"LOG_FORMAT": "jsno"}, uses=PROCESS_GROUPS["web"])
    assert load_settings({"LOG_FORMAT": "json"}).log_format == "json"
    assert load_settings({}).log_format == "text"
