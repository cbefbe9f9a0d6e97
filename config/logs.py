"""One logging set-up for every process (web, clock, worker, CLI, the clock's children): one line per
event, stamped in UTC ISO 8601, or one JSON object per line with ``LOG_FORMAT=json`` (for log drains).

    2026-12-03T18:30:05.120Z WARNING jobs.run: run 12 failed: price update failed, nothing trained

A multi-line message or a traceback is folded onto its line (`` | `` between its lines), so a log
drain never splits an event.
"""
from __future__ import annotations

import json
import logging
import os
import sys
from datetime import datetime, timezone
from typing import IO, Mapping

from contract.errors import Refusal

FORMATS = ("text", "json")


class LogFormatError(Refusal):
    """LOG_FORMAT names no format we write."""


def _stamp(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _one_line(text: str) -> str:
    return " | ".join(part.rstrip() for part in text.strip().splitlines() if part.strip())


class LineFormatter(logging.Formatter):
    """``<UTC ISO 8601> LEVEL logger: message`` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.exc_info:
            message += " | " + self.formatException(record.exc_info)
        return f"{_stamp(record)} {record.levelname} {record.name}: {_one_line(message)}"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, process (and exc when there is one)."""

    def __init__(self, process: str) -> None:
        super().__init__()
        self.process = process

    def format(self, record: logging.LogRecord) -> str:
        event = {"ts": _stamp(record), "level": record.levelname, "logger": record.name,
                 "message": _one_line(record.getMessage()), "process": self.process, "pid": record.process}
        if record.exc_info:
            event["exc"] = _one_line(self.formatException(record.exc_info))
        return json.dumps(event, default=str)


def log_format(env: Mapping[str, str] | None = None) -> str:
    """``LOG_FORMAT`` (text by default); LogFormatError for anything else."""
    raw = ((os.environ if env is None else env).get("LOG_FORMAT") or "text").strip().lower()
    if raw not in FORMATS:
        raise LogFormatError(f"LOG_FORMAT={raw[:20]!r} must be text or json")
    return raw


def setup_logging(process: str, level: int = logging.INFO, stream: IO[str] | None = None,
                  env: Mapping[str, str] | None = None) -> None:
    """Send every logger's records to ``stream`` (stdout by default, as Heroku reads it) in the one
    format; replaces whatever was set up before (Celery's, a library's basicConfig)."""
    try:
        fmt = log_format(env)
    except LogFormatError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(JsonFormatter(process) if fmt == "json" else LineFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("yfinance", "urllib3", "peewee", "matplotlib", "absl", "h5py"):
        logging.getLogger(noisy).setLevel(max(level, logging.ERROR))
