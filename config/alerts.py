"""Alert settings (``ALERT_*``), read by ``config.settings.load_settings`` into ``Settings.alerts``.

Every process uses them (any may open an incident), so a bad one is a ``core`` problem.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping
from urllib.parse import urlsplit

Bad = Callable[[str], None]  # notes one bad setting (its message)


@dataclass(frozen=True)
class AlertSettings:
    """Where alerts go and the thresholds of each condition (``alerts.conditions``)."""

    webhook_url: str | None = None  # ALERT_WEBHOOK_URL: None records incidents only (the admin page shows them)
    app_url: str | None = None  # ALERT_APP_URL: the web's public address, for the alert's link to /admin
    clock_silent_minutes: int = 10  # ALERT_CLOCK_SILENT_MINUTES
    close_by: tuple[int, int] = (20, 0)  # ALERT_CLOSE_BY: New York time by which a trading day's close is stored
    queue_wait_minutes: int = 30  # ALERT_QUEUE_WAIT_MINUTES: a requested run waiting longer than this
    ratio_above: float = 1.2  # ALERT_RATIO_ABOVE: live RMSE / persistence RMSE over 60 scored days
    coverage_range: tuple[float, float] = (0.6, 0.95)  # ALERT_COVERAGE_RANGE: 80% band coverage outside it
    check_seconds: int = 60  # ALERT_CHECK_SECONDS: how often the clock and the web check
    webhook_timeout_s: int = 5  # ALERT_WEBHOOK_TIMEOUT: seconds per POST


def _url(env: Mapping[str, str], name: str, bad: Bad) -> str | None:
    raw = (env.get(name) or "").strip()
    if not raw:
        return None
    try:
        parts = urlsplit(raw)
        _ = parts.port  # a non-numeric port fails only when read
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in raw):
        bad(f"{name} must be an http:// or https:// URL with a host (got {raw[:12]!r}...)")
        return None
    return raw.rstrip("/") if name == "ALERT_APP_URL" else raw


def _number(env: Mapping[str, str], name: str, default: float, lo: float, hi: float, bad: Bad) -> float:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        bad(f"{name}={raw[:40]!r} is not a number (default {default:g})")
        return default
    if not lo <= value <= hi:
        bad(f"{name}={raw[:40]} is out of range: use {lo:g} to {hi:g} (default {default:g})")
        return default
    return value


def _close_by(env: Mapping[str, str], bad: Bad) -> tuple[int, int]:
    raw = (env.get("ALERT_CLOSE_BY") or "").strip()
    if not raw:
        return 20, 0
    try:
        hour, minute = (int(x) for x in raw.split(":"))
        if not (16 <= hour < 24 and 0 <= minute < 60):
            raise ValueError
    except ValueError:
        bad(f"ALERT_CLOSE_BY={raw[:40]!r} must be HH:MM New York time after the 16:00 close, e.g. 20:00")
        return 20, 0
    return hour, minute


def _coverage(env: Mapping[str, str], bad: Bad) -> tuple[float, float]:
    raw = (env.get("ALERT_COVERAGE_RANGE") or "").strip()
    if not raw:
        return 0.6, 0.95
    try:
        lo, hi = (float(x) for x in raw.split("-"))
        if not 0 <= lo < hi <= 1:
            raise ValueError
    except ValueError:
        bad(f"ALERT_COVERAGE_RANGE={raw[:40]!r} must be LOW-HIGH shares between 0 and 1, e.g. 0.6-0.95")
        return 0.6, 0.95
    return lo, hi


def read_alert_settings(env: Mapping[str, str], bad: Bad) -> AlertSettings:
    """``ALERT_*`` from ``env``; each bad value is passed to ``bad`` and its default stands in."""
    return AlertSettings(
        webhook_url=_url(env, "ALERT_WEBHOOK_URL", bad),
        app_url=_url(env, "ALERT_APP_URL", bad),
        clock_silent_minutes=int(_number(env, "ALERT_CLOCK_SILENT_MINUTES", 10, 1, 1440, bad)),
        close_by=_close_by(env, bad),
        queue_wait_minutes=int(_number(env, "ALERT_QUEUE_WAIT_MINUTES", 30, 1, 1440, bad)),
        ratio_above=_number(env, "ALERT_RATIO_ABOVE", 1.2, 0.5, 10, bad),
        coverage_range=_coverage(env, bad),
        check_seconds=int(_number(env, "ALERT_CHECK_SECONDS", 60, 1, 3600, bad)),
        webhook_timeout_s=int(_number(env, "ALERT_WEBHOOK_TIMEOUT", 5, 1, 25, bad)),
    )
