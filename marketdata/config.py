"""Configuration: the only module that reads ``os.environ``.

Every setting has an embedded default so the product runs on a fresh machine
with SQLite, diskcache and the offline sample prices.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = PROJECT_ROOT / "data"


class ConfigError(ValueError):
    """A setting in the environment has a value we cannot use."""


def normalize_database_url(url: str) -> str:
    """Accept Heroku's ``postgres://`` form and pick the psycopg 3 driver."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number") from None


def _proxies(env: Mapping[str, str]) -> int:
    n = _int(env, "WEB_TRUSTED_PROXIES", 0)
    if not 0 <= n <= 5:
        raise ConfigError(f"WEB_TRUSTED_PROXIES={n} must be from 0 to 5 (Heroku: 1)")
    return n


@dataclass(frozen=True)
class Settings:
    database_url: str
    data_dir: Path
    tickers: tuple[str, ...] = ("AAPL",)
    price_source: str = "auto"  # auto | yahoo | offline
    yahoo_timeout_s: int = 10
    yahoo_retries: int = 3
    overlap_days: int = 10
    redis_url: str | None = None
    # Seconds before Redis hands an unacknowledged task (its worker died) to another worker.
    celery_visibility_timeout_s: int = 3600
    cache_dir: Path = field(default_factory=lambda: DEFAULT_DATA_DIR / "cache")
    schedule: "ScheduleSettings" = field(default_factory=lambda: ScheduleSettings())
    # Dashboard access. No default passwords: admin actions stay disabled until both
    # ADMIN_USER and ADMIN_PASSWORD are set; analyst pages are open unless both
    # ANALYST_USER and ANALYST_PASSWORD are set.
    admin_user: str | None = field(default=None, repr=False)
    admin_password: str | None = field(default=None, repr=False)
    analyst_user: str | None = field(default=None, repr=False)
    analyst_password: str | None = field(default=None, repr=False)
    dashboard_cache_seconds: int = 300  # upper bound on how stale a cached read may be
    # Proxies in front of the web that append X-Forwarded-For (Heroku's router: 1). The
    # login rate limit is per client address, so it must not be the router's address.
    web_trusted_proxies: int = 0

    @property
    def admin_enabled(self) -> bool:
        return bool(self.admin_user and self.admin_password)

    @property
    def analyst_login_required(self) -> bool:
        return bool(self.analyst_user and self.analyst_password)

    @property
    def default_ticker(self) -> str:
        return self.tickers[0]


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build settings from ``env`` (defaults to ``os.environ``)."""
    env = os.environ if env is None else env
    data_dir = Path(env.get("DATA_DIR") or DEFAULT_DATA_DIR)
    url = env.get("DATABASE_URL") or f"sqlite:///{data_dir / 'forecast.db'}"
    tickers = tuple(t.strip().upper() for t in env.get("TICKERS", "AAPL").split(",") if t.strip())
    if not tickers:
        raise ConfigError("TICKERS is empty; give at least one ticker, e.g. TICKERS=AAPL")
    source = env.get("PRICE_SOURCE", "auto").lower()
    if source not in {"auto", "yahoo", "offline"}:
        raise ConfigError(f"PRICE_SOURCE={source!r} must be one of auto, yahoo, offline")
    return Settings(
        database_url=normalize_database_url(url),
        data_dir=data_dir,
        tickers=tickers,
        price_source=source,
        yahoo_timeout_s=_int(env, "YAHOO_TIMEOUT", 10),
        yahoo_retries=_int(env, "YAHOO_RETRIES", 3),
        overlap_days=_int(env, "PRICE_OVERLAP_DAYS", 10),
        redis_url=env.get("REDIS_URL") or None,
        celery_visibility_timeout_s=_int(env, "CELERY_VISIBILITY_TIMEOUT", 3600),
        cache_dir=Path(env.get("CACHE_DIR") or data_dir / "cache"),
        admin_user=env.get("ADMIN_USER") or None,
        admin_password=env.get("ADMIN_PASSWORD") or None,
        analyst_user=env.get("ANALYST_USER") or None,
        analyst_password=env.get("ANALYST_PASSWORD") or None,
        dashboard_cache_seconds=_int(env, "DASHBOARD_CACHE_SECONDS", 300),
        web_trusted_proxies=_proxies(env),
        schedule=load_schedule_settings(env),
    )


# --- the nightly clock, the training pipeline and its lease -----------------------

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class ScheduleSettings:
    """When the clock runs the pipeline and how a run guards itself."""

    timezone: str = "America/New_York"  # CLOCK_TIMEZONE
    days: str = "mon-fri"  # CLOCK_DAYS: APScheduler cron day_of_week
    hour: int = 18  # CLOCK_TIME=18:30 (after the 16:00 close, once Yahoo has the day)
    minute: int = 30
    misfire_grace_s: int = 6 * 3600  # CLOCK_MISFIRE_GRACE: a late run still beats no run
    retrain_weekday: str | None = "sat"  # RETRAIN_WEEKDAY: full retrain of all cells ("" = never)
    retrain_every_nights: int = 0  # RETRAIN_EVERY_N_NIGHTS: also after N fine-tunes (0 = off)
    lease_ttl_s: int = 120  # LEASE_TTL_SECONDS: a killed run's lease is taken over after this
    epochs: int | None = None  # PIPELINE_EPOCHS: override training epochs (tests, demos)
    finetune_epochs: int | None = None  # PIPELINE_FINETUNE_EPOCHS
    store_retry_s: int = 60  # STORE_RETRY_SECONDS: a run's must-land writes retry a database outage this long
    ledger_bootstrap_days: int = 20  # LEDGER_BOOTSTRAP_DAYS: trading days the clock's first start replays (0 = off)


def load_schedule_settings(env: Mapping[str, str] | None = None) -> ScheduleSettings:
    env = os.environ if env is None else env
    tz = env.get("CLOCK_TIMEZONE") or "America/New_York"
    try:
        from zoneinfo import ZoneInfo

        ZoneInfo(tz)
    except Exception:
        raise ConfigError(f"CLOCK_TIMEZONE={tz!r} is not an IANA time zone such as America/New_York") from None
    at = env.get("CLOCK_TIME") or "18:30"
    try:
        hour, minute = (int(x) for x in at.split(":"))
        if not (0 <= hour < 24 and 0 <= minute < 60):
            raise ValueError
    except ValueError:
        raise ConfigError(f"CLOCK_TIME={at!r} must be HH:MM, e.g. 18:30") from None
    days = (env.get("CLOCK_DAYS") or "mon-fri").lower()
    for part in re.split(r"[,-]", days):
        if part not in WEEKDAYS:
            raise ConfigError(f"CLOCK_DAYS={days!r}: use weekday names like mon-fri or mon,wed,fri")
    weekday = env.get("RETRAIN_WEEKDAY", "sat").strip().lower() or None
    if weekday is not None and weekday not in WEEKDAYS:
        raise ConfigError(f"RETRAIN_WEEKDAY={weekday!r} must be one of {', '.join(WEEKDAYS)} or empty")
    ttl = _int(env, "LEASE_TTL_SECONDS", 120)
    if ttl < 2:
        raise ConfigError(f"LEASE_TTL_SECONDS={ttl} is too short; use at least 2 (default 120)")
    store_retry = _int(env, "STORE_RETRY_SECONDS", 60)
    if store_retry < 0:
        raise ConfigError(f"STORE_RETRY_SECONDS={store_retry} must be 0 or more (default 60)")
    epochs = _int(env, "PIPELINE_EPOCHS", 0) or None
    ft_epochs = _int(env, "PIPELINE_FINETUNE_EPOCHS", 0) or None
    backfill_days = _int(env, "LEDGER_BOOTSTRAP_DAYS", 20)
    if not 0 <= backfill_days <= 250:
        raise ConfigError(f"LEDGER_BOOTSTRAP_DAYS={backfill_days} must be within 0..250 (default 20; 0 = off)")
    return ScheduleSettings(
        timezone=tz,
        days=days,
        hour=hour,
        minute=minute,
        misfire_grace_s=_int(env, "CLOCK_MISFIRE_GRACE", 6 * 3600),
        retrain_weekday=weekday,
        retrain_every_nights=_int(env, "RETRAIN_EVERY_N_NIGHTS", 0),
        lease_ttl_s=ttl,
        epochs=epochs,
        finetune_epochs=ft_epochs,
        store_retry_s=store_retry,
        ledger_bootstrap_days=backfill_days,
    )
