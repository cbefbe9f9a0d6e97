"""Configuration: the only module that reads ``os.environ``.

Every setting has an embedded default so the product runs on a fresh machine
with SQLite, diskcache and the offline sample prices.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping

from config.alerts import AlertSettings, read_alert_settings
from contract.errors import Refusal
from contract.vocab import MAX_EPOCHS
from marketdata.tickers import TickerError, parse_ticker_list

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = PROJECT_ROOT / "data"


class ConfigError(Refusal):
    """A setting in the environment has a value we cannot use."""


def normalize_database_url(url: str) -> str:
    """Accept Heroku's ``postgres://`` form and pick the psycopg 3 driver."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


SUPPORTED_DATABASES = ("sqlite", "postgresql")
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
_HOST_NAME = re.compile(r"\.?(\[[0-9a-f:]+\]|[0-9a-f]*:[0-9a-f]*:[0-9a-f:]*|[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*)")

# Which settings each process uses, by group. A process checks only its groups at
# start, so the web boots whatever the clock's settings are (and vice versa):
#   core     - DATABASE_URL, DATA_DIR, TICKERS, CACHE_DIR, REDIS_URL, CELERY_VISIBILITY_TIMEOUT, ALERT_*, LOG_*
#   web      - ADMIN_*, ANALYST_*, WEB_*, ALLOWED_HOSTS
#   prices   - PRICE_SOURCE, YAHOO_TIMEOUT, YAHOO_RETRIES, PRICE_OVERLAP_DAYS
#   pipeline - LEASE_TTL_SECONDS, STORE_RETRY_SECONDS, PIPELINE_*EPOCHS, RETRAIN_*, CLOCK_TIMEZONE
#   clock    - CLOCK_TIME, CLOCK_DAYS, CLOCK_MISFIRE_GRACE
GROUPS = ("core", "web", "prices", "pipeline", "clock")
PROCESS_GROUPS: dict[str, tuple[str, ...]] = {
    "web": ("core", "web"),
    "worker": ("core", "prices", "pipeline"),
    "clock": ("core", "prices", "pipeline", "clock"),
    "jobs": ("core", "prices", "pipeline"),  # a CLI command; ``clock`` adds its group
}


class _Reader:
    """Reads settings, noting each bad one under its group instead of raising at once,
    so one process's bad setting never stops another process from starting.
    ``strict`` raises at the first bad value (``load_schedule_settings`` alone)."""

    def __init__(self, env: Mapping[str, str], strict: bool = False):
        self.env, self.strict = env, strict
        self.problems: list[tuple[str, str]] = []

    def bad(self, group: str, message: str) -> None:
        if self.strict:
            raise ConfigError(message)
        self.problems.append((group, message))

    def int(self, group: str, name: str, default: int, lo: int, hi: int, unit: str = "") -> int:
        raw = self.env.get(name)
        if raw is None or raw.strip() == "":
            return default
        try:
            value = int(raw.strip())
        except ValueError:
            self.bad(group, f"{name}={raw[:40]!r} is not a whole number (default {default}{unit})")
            return default
        if not lo <= value <= hi:
            self.bad(group, f"{name}={value if len(raw) < 30 else raw[:30] + '...'} is out of range: "
                            f"use {lo} to {hi}{unit} (default {default}{unit})")
            return default
        return value


def check_database_url(url: str) -> str:
    """The URL normalised, or ConfigError saying what is wrong with it (password hidden)."""
    from sqlalchemy.engine import make_url  # not at import: config stays light

    try:
        parsed = make_url(normalize_database_url(url))
        _ = parsed.port  # a non-numeric port only fails when read
    except Exception:
        raise ConfigError("DATABASE_URL is not a database URL; use sqlite:///path/to/file.db or "
                          "postgresql://user:password@host:5432/dbname") from None
    backend = parsed.get_backend_name()
    if backend not in SUPPORTED_DATABASES:
        raise ConfigError(f"DATABASE_URL scheme {parsed.drivername!r} is not supported; "
                          f"use sqlite:///... or postgresql://... (or Heroku's postgres://...)")
    if backend == "postgresql" and not parsed.database:
        raise ConfigError(f"DATABASE_URL {parsed.render_as_string(hide_password=True)} names no database")
    memory = not parsed.database or ":memory:" in parsed.database or parsed.query.get("mode") == "memory"
    if backend == "sqlite" and memory:
        # Each process (and each connection) would get its own empty store: commands would
        # report success and store nothing.
        raise ConfigError("DATABASE_URL is an in-memory SQLite store, which nothing outlives; "
                          "use sqlite:///path/to/file.db")
    return normalize_database_url(url)


REDIS_DATABASES = range(16)  # Redis' default "databases 16"


def check_redis_url(url: str) -> str:
    """``REDIS_URL`` as given, or ConfigError naming what is wrong (never the password):
    a redis:// or rediss:// scheme, a host, a port number, a database 0-15."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url.strip())
        host, _port = parts.hostname, parts.port  # a bad port or IPv6 bracket fails when read
    except ValueError as exc:
        raise ConfigError(f"REDIS_URL is not a URL ({exc}); use redis://host:6379/0 or rediss://...") from None
    if parts.scheme not in ("redis", "rediss"):
        raise ConfigError(f"REDIS_URL scheme {parts.scheme[:20]!r} is not supported; "
                          "use redis://host:6379/0 or rediss://... (Heroku Redis)")
    if not host:
        raise ConfigError(f"REDIS_URL names no host; use {parts.scheme}://host:6379/0")
    db = parts.path.strip("/") or "0"
    if not (db.isascii() and db.isdigit() and int(db) in REDIS_DATABASES):
        raise ConfigError(f"REDIS_URL database {db[:20]!r} must be a number from 0 to 15")
    return url.strip()


def usable_folder_problem(name: str, folder: Path) -> str | None:
    """Why ``folder`` (setting ``name``) cannot hold our files, or None. It is created if missing
    and a probe file is written and removed: what the process will do with it anyway, and the
    only test that holds for root, read-only mounts and /proc alike."""
    import tempfile

    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except FileExistsError:
        return f"{name}: {folder} is not a folder (a file stands there); check {name}"
    except OSError as exc:
        return f"{name}: cannot create the folder {folder} or write into it ({exc.strerror}); check {name}"
    return None


def _default(name: str) -> int:
    """The default of a ``Settings`` field, as its dataclass states it (the readers never restate one)."""
    value = Settings.__dataclass_fields__[name].default
    assert isinstance(value, int), name  # only int fields are read with r.int
    return value


def _sqlite_folder(url: str) -> Path | None:
    """The folder of a SQLite file store, None for any other store."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    return Path(parsed.database).parent if parsed.get_backend_name() == "sqlite" and parsed.database else None


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
    # Proxies in front of the web that append X-Forwarded-For (Heroku's router: 1). The
    # login rate limit is per client address, so it must not be the router's address.
    web_trusted_proxies: int = 0
    # Seconds a web request may run (below Heroku's 30 s router limit); its store work stops then.
    web_request_timeout_s: int = 25
    # Host names the web answers to (DNS rebinding); ".example.com" also allows its subdomains.
    allowed_hosts: tuple[str, ...] = LOCAL_HOSTS
    alerts: AlertSettings = field(default_factory=AlertSettings)  # ALERT_*: config.alerts
    log_format: str = "text"  # LOG_FORMAT: text or json (one JSON object per line, for log drains)
    # (group, message) of every setting that could not be used; ``check`` raises for a group.
    problems: tuple[tuple[str, str], ...] = field(default=(), repr=False, compare=False)

    def check(self, *groups: str) -> "Settings":
        """Raise ConfigError for the first bad setting of ``groups`` (every group if none
        given); a process calls this at start for the groups it uses."""
        wanted = set(groups or GROUPS)
        unknown = wanted - set(GROUPS)
        if unknown:
            raise ValueError(f"unknown settings group(s) {', '.join(sorted(unknown))}")
        for group, message in self.problems:
            if group in wanted:
                raise ConfigError(message)
        return self

    @property
    def admin_enabled(self) -> bool:
        return bool(self.admin_user and self.admin_password)

    @property
    def analyst_login_required(self) -> bool:
        return bool(self.analyst_user and self.analyst_password)

    @property
    def default_ticker(self) -> str:
        return self.tickers[0]


def _log_format(env: Mapping[str, str], r: _Reader) -> str:
    """LOG_FORMAT is read by every process's logging set-up (config.logs); checked here too, so a typo stops
    gunicorn's master with one line instead of each worker failing at boot, for ever."""
    from config.logs import LogFormatError, log_format

    try:
        return log_format(env)
    except LogFormatError as exc:
        r.bad("core", str(exc))
        return "text"


def load_settings(env: Mapping[str, str] | None = None, uses: Iterable[str] | None = None) -> Settings:
    """Build settings from ``env`` (defaults to ``os.environ``).

    ``uses`` names the groups (``GROUPS``) this process will use; a bad setting in
    one of them raises ConfigError now. ``None`` checks every group. A bad setting
    outside ``uses`` is kept in ``Settings.problems`` (its default stands in) and
    raises only if a later ``Settings.check`` asks for its group.
    """
    env = os.environ if env is None else env
    r = _Reader(env)
    data_dir = Path(env.get("DATA_DIR") or DEFAULT_DATA_DIR)
    url, redis_url = _store_urls(r, env, data_dir)
    try:
        tickers = parse_ticker_list(env.get("TICKERS", "AAPL"))
    except TickerError as exc:
        r.bad("core", str(exc))
        tickers = ("AAPL",)
    source = env.get("PRICE_SOURCE", "auto").lower()
    if source not in {"auto", "yahoo", "offline"}:
        r.bad("prices", f"PRICE_SOURCE={source[:40]!r} must be one of auto, yahoo, offline")
        source = "auto"
    schedule = _schedule_settings(r)
    visibility_s = _visibility_timeout(r, bool(env.get("REDIS_URL")), schedule.lease_ttl_s)
    settings = Settings(
        database_url=url,
        data_dir=data_dir,
        tickers=tickers,
        price_source=source,
        yahoo_timeout_s=r.int("prices", "YAHOO_TIMEOUT", _default("yahoo_timeout_s"), 1, 300, " s"),
        yahoo_retries=r.int("prices", "YAHOO_RETRIES", _default("yahoo_retries"), 1, 20),
        overlap_days=r.int("prices", "PRICE_OVERLAP_DAYS", _default("overlap_days"), 1, 365),
        redis_url=redis_url,
        celery_visibility_timeout_s=visibility_s,
        cache_dir=Path(env.get("CACHE_DIR") or data_dir / "cache"),
        admin_user=env.get("ADMIN_USER") or None,
        admin_password=env.get("ADMIN_PASSWORD") or None,
        analyst_user=env.get("ANALYST_USER") or None,
        analyst_password=env.get("ANALYST_PASSWORD") or None,
        web_trusted_proxies=r.int("web", "WEB_TRUSTED_PROXIES", _default("web_trusted_proxies"), 0, 5, " (Heroku: 1)"),
        web_request_timeout_s=r.int("web", "WEB_REQUEST_TIMEOUT", _default("web_request_timeout_s"), 1, 29, " s (Heroku's router stops at 30 s)"),
        allowed_hosts=_allowed_hosts(r),
        schedule=schedule,
        alerts=read_alert_settings(env, lambda message: r.bad("core", message)),
        log_format=_log_format(env, r),
        problems=tuple(r.problems),
    )
    return settings.check(*(GROUPS if uses is None else tuple(uses)))


def _store_urls(r: _Reader, env: Mapping[str, str], data_dir: Path) -> tuple[str, str | None]:
    """DATABASE_URL (normalised) and REDIS_URL (None when unset or bad), each checked, and the
    folders the store and the cache write into."""
    url = env.get("DATABASE_URL") or f"sqlite:///{data_dir / 'forecast.db'}"
    try:
        url = check_database_url(url)
    except ConfigError as exc:
        r.bad("core", str(exc))
    else:
        _check_folders(r, env, data_dir, url)
    redis_url = env.get("REDIS_URL") or None
    if redis_url is not None:
        try:
            redis_url = check_redis_url(redis_url)
        except ConfigError as exc:
            r.bad("core", str(exc))
            redis_url = None
    return url, redis_url


def _check_folders(r: _Reader, env: Mapping[str, str], data_dir: Path, url: str) -> None:
    """DATA_DIR, CACHE_DIR and a SQLite store's folder: each one we can create and write into."""
    sqlite = _sqlite_folder(url)
    folders = [("DATA_DIR", data_dir), ("CACHE_DIR", Path(env.get("CACHE_DIR") or data_dir / "cache"))]
    for name, folder in folders + ([("DATABASE_URL", sqlite)] if sqlite is not None else []):
        problem = usable_folder_problem(name, folder)
        if problem:
            r.bad("core", problem)
            return  # the first: a bad DATA_DIR also spoils the default CACHE_DIR and store


def _allowed_hosts(r: _Reader) -> tuple[str, ...]:
    """ALLOWED_HOSTS: comma-separated host names (no port); a leading dot allows subdomains too."""
    env = r.env
    raw = env.get("ALLOWED_HOSTS", "")
    hosts = tuple(h.strip().lower().strip("[]") for h in raw.split(",") if h.strip())
    bad = next((h for h in hosts if not _HOST_NAME.fullmatch(h) or len(h) > 253), None)
    if bad is not None:
        r.bad("web", f"ALLOWED_HOSTS: {bad[:40]!r} is not a host name; use names like "
                     "my-app.herokuapp.com,.example.com (no scheme, no port)")
        return LOCAL_HOSTS
    return hosts or LOCAL_HOSTS


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
    eval_refit_every: int = 20  # EVAL_REFIT_EVERY: rolling-origin evaluation refits every K trading days
    eval_refit_epochs: int = 2  # EVAL_REFIT_EPOCHS: warm-start epochs per refit (0: never refit)
    ledger_bootstrap_days: int = 20  # LEDGER_BOOTSTRAP_DAYS: trading days the clock's first start replays (0 = off)


def load_schedule_settings(env: Mapping[str, str] | None = None) -> ScheduleSettings:
    """The schedule settings alone, raising ConfigError at the first bad one."""
    return _schedule_settings(_Reader(os.environ if env is None else env, strict=True))


_SCHEDULE = ScheduleSettings()  # the defaults, stated once in the dataclass above


def _clock_time(r: _Reader) -> tuple[int, int]:
    at = r.env.get("CLOCK_TIME") or f"{_SCHEDULE.hour:02d}:{_SCHEDULE.minute:02d}"
    try:
        hour, minute = (int(x) for x in at.split(":"))
        if not (0 <= hour < 24 and 0 <= minute < 60):
            raise ValueError
    except ValueError:
        r.bad("clock", f"CLOCK_TIME={at[:40]!r} must be HH:MM, e.g. 18:30")
        return _SCHEDULE.hour, _SCHEDULE.minute
    return hour, minute


def _visibility_timeout(r: _Reader, queued: bool, lease_ttl_s: int) -> int:
    """CELERY_VISIBILITY_TIMEOUT, which with a queue must leave room for the lease wait."""
    visibility_s = r.int("core", "CELERY_VISIBILITY_TIMEOUT", _default("celery_visibility_timeout_s"), 10, 7 * 86400, " s")
    # A redelivered task may wait up to a lease TTL for a dead worker's lease and must then still
    # finish its run inside the visibility timeout, or Redis hands the task out a second time.
    if queued and 2 * lease_ttl_s > visibility_s:
        r.bad("pipeline", f"LEASE_TTL_SECONDS={lease_ttl_s} must be at most half of "
                          f"CELERY_VISIBILITY_TIMEOUT={visibility_s} when REDIS_URL is set (a task that waits for "
                          "a dead worker's lease must still finish its run within the timeout)")
    return visibility_s


def _schedule_settings(r: _Reader) -> ScheduleSettings:
    env = r.env
    tz = env.get("CLOCK_TIMEZONE") or _SCHEDULE.timezone
    try:
        from zoneinfo import ZoneInfo

        ZoneInfo(tz)
    except Exception:
        r.bad("pipeline", f"CLOCK_TIMEZONE={tz[:40]!r} is not an IANA time zone such as America/New_York")
        tz = _SCHEDULE.timezone
    hour, minute = _clock_time(r)
    days = (env.get("CLOCK_DAYS") or _SCHEDULE.days).lower()
    if any(part not in WEEKDAYS for part in re.split(r"[,-]", days)):
        r.bad("clock", f"CLOCK_DAYS={days[:40]!r}: use weekday names like mon-fri or mon,wed,fri")
        days = _SCHEDULE.days
    weekday = env.get("RETRAIN_WEEKDAY", _SCHEDULE.retrain_weekday or "").strip().lower() or None
    if weekday is not None and weekday not in WEEKDAYS:
        r.bad("pipeline", f"RETRAIN_WEEKDAY={weekday[:40]!r} must be one of {', '.join(WEEKDAYS)} or empty")
        weekday = _SCHEDULE.retrain_weekday
    return ScheduleSettings(
        timezone=tz,
        days=days,
        hour=hour,
        minute=minute,
        misfire_grace_s=r.int("clock", "CLOCK_MISFIRE_GRACE", _SCHEDULE.misfire_grace_s, 1, 7 * 86400, " s"),
        retrain_weekday=weekday,
        retrain_every_nights=r.int("pipeline", "RETRAIN_EVERY_N_NIGHTS", _SCHEDULE.retrain_every_nights, 0, 1000),
        lease_ttl_s=r.int("pipeline", "LEASE_TTL_SECONDS", _SCHEDULE.lease_ttl_s, 2, 86400, " s"),
        # 0 (the default) means: no override.
        epochs=r.int("pipeline", "PIPELINE_EPOCHS", 0, 0, MAX_EPOCHS) or None,
        finetune_epochs=r.int("pipeline", "PIPELINE_FINETUNE_EPOCHS", 0, 0, MAX_EPOCHS) or None,
        store_retry_s=r.int("pipeline", "STORE_RETRY_SECONDS", _SCHEDULE.store_retry_s, 0, 86400, " s"),
        eval_refit_every=r.int("pipeline", "EVAL_REFIT_EVERY", _SCHEDULE.eval_refit_every, 1, 1000, " trading days"),
        eval_refit_epochs=r.int("pipeline", "EVAL_REFIT_EPOCHS", _SCHEDULE.eval_refit_epochs, 0, 50),
        ledger_bootstrap_days=r.int("pipeline", "LEDGER_BOOTSTRAP_DAYS", _SCHEDULE.ledger_bootstrap_days, 0, 250, " trading days"),
    )
