"""Configuration: the only module that reads ``os.environ``.

Every setting has an embedded default so the product runs on a fresh machine
with SQLite, diskcache and the offline sample prices.
"""
from __future__ import annotations

import os
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
    cache_dir: Path = field(default_factory=lambda: DEFAULT_DATA_DIR / "cache")
    # Dashboard access. No default passwords: admin actions stay disabled until both
    # ADMIN_USER and ADMIN_PASSWORD are set; analyst pages are open unless both
    # ANALYST_USER and ANALYST_PASSWORD are set.
    admin_user: str | None = field(default=None, repr=False)
    admin_password: str | None = field(default=None, repr=False)
    analyst_user: str | None = field(default=None, repr=False)
    analyst_password: str | None = field(default=None, repr=False)
    dashboard_cache_seconds: int = 300  # upper bound on how stale a cached read may be

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
        cache_dir=Path(env.get("CACHE_DIR") or data_dir / "cache"),
        admin_user=env.get("ADMIN_USER") or None,
        admin_password=env.get("ADMIN_PASSWORD") or None,
        analyst_user=env.get("ANALYST_USER") or None,
        analyst_password=env.get("ANALYST_PASSWORD") or None,
        dashboard_cache_seconds=_int(env, "DASHBOARD_CACHE_SECONDS", 300),
    )
