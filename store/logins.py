"""The web's login rate limit, in the store (so it holds across gunicorn workers and dynos).

- Failures are counted per (user name, client address): ``max_failures`` wrong tries per
  window for that pair, then 429 for it alone. One client guessing a password never locks
  the right password out for other addresses, or for other users at its own address.
- A global budget counts every failure: past ``global_failures`` in a window (a guesser
  rotating addresses or user names) new tries are refused too, except from an address
  where that user signed in with the right password within ``known_days`` (its "known"
  row), so the real users keep working through such an attack.
- The table stays bounded: a failure past the global budget writes no row, rows of a
  passed window are purged by the next write, and known rows are capped at ``known_cap``.

Rows (table ``login_failures``, column ``address`` holds the key): ``*`` the global count;
``f:<hash>`` a pair's failures; ``k:<hash>`` a pair's last right sign-in (failures 0). The
hash is of the user name and address, so the table holds no user names.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, and_, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from store.times import as_utc
from store.tables import LoginFailure

GLOBAL = "*"
KNOWN_REFRESH = timedelta(days=1)  # a known pair's row is rewritten at most this often


@dataclass(frozen=True)
class LoginLimit:
    max_failures: int = 10  # per (user, address) and window
    window_s: int = 300
    global_failures: int = 100  # all users and addresses, per window
    known_days: int = 30  # how long a right sign-in keeps an address known for that user
    known_cap: int = 1000  # known rows kept at most


@dataclass(frozen=True)
class Standing:
    """What the limit says about one (user, address) now."""

    pair_failures: int = 0
    global_failures: int = 0
    known_since: datetime | None = None  # its last right sign-in within known_days, else None

    def refused(self, limit: LoginLimit) -> str | None:
        """"pair" or "global" when a try must be refused (429), else None."""
        if self.pair_failures >= limit.max_failures:
            return "pair"
        if self.global_failures >= limit.global_failures and self.known_since is None:
            return "global"
        return None


def _hash(user: str, address: str) -> str:
    return hashlib.sha256(f"{user}\0{address}".encode("utf-8", "replace")).hexdigest()[:62]


def pair_key(user: str, address: str) -> str:
    return "f:" + _hash(user or "", address or "unknown")


def known_key(user: str, address: str) -> str:
    return "k:" + _hash(user or "", address or "unknown")


def standing(engine: Engine, user: str, address: str, now: datetime, limit: LoginLimit) -> Standing:
    """The pair's and the global failures in the current window, and whether the pair is known."""
    now = as_utc(now)
    cutoff = now - timedelta(seconds=limit.window_s)
    keys = (pair_key(user, address), GLOBAL, known_key(user, address))
    with engine.connect() as conn:
        rows = {r.address: r for r in conn.execute(select(LoginFailure.address, LoginFailure.window_start,
                                                          LoginFailure.failures).where(LoginFailure.address.in_(keys)))}

    def live(key: str) -> int:
        row = rows.get(key)
        return row.failures if row is not None and as_utc(row.window_start) > cutoff else 0

    known = rows.get(keys[2])
    known_at = as_utc(known.window_start) if known is not None else None
    if known_at is not None and known_at <= now - timedelta(days=limit.known_days):
        known_at = None
    return Standing(live(keys[0]), live(GLOBAL), known_at)


def blocked(engine: Engine, user: str, address: str, now: datetime, limit: LoginLimit) -> bool:
    """True when a try of ``user`` from ``address`` must be refused now."""
    return standing(engine, user, address, now, limit).refused(limit) is not None


def _count(engine: Engine, key: str, now: datetime, cutoff: datetime) -> int:
    """Count one failure on ``key``'s row (a new window when its window has passed); its count."""
    for _attempt in range(3):
        with engine.begin() as conn:
            # Each UPDATE is atomic on its own, so two workers counting at once both count.
            if conn.execute(update(LoginFailure).where(LoginFailure.address == key, LoginFailure.window_start <= cutoff)
                            .values(window_start=now, failures=1)).rowcount:
                return 1
            if conn.execute(update(LoginFailure).where(LoginFailure.address == key)
                            .values(failures=LoginFailure.failures + 1)).rowcount:
                return conn.execute(select(LoginFailure.failures).where(LoginFailure.address == key)).scalar_one()
        try:
            with engine.begin() as conn:
                conn.execute(insert(LoginFailure).values(address=key, window_start=now, failures=1))
            return 1
        except IntegrityError:
            continue  # another worker inserted this key first: count on its row
    return 0


def _purge(engine: Engine, now: datetime, limit: LoginLimit) -> None:
    """Delete failure rows of a passed window and known rows past ``known_days``."""
    cutoff = now - timedelta(seconds=limit.window_s)
    with engine.begin() as conn:
        conn.execute(delete(LoginFailure).where(or_(
            and_(~LoginFailure.address.startswith("k:"), LoginFailure.window_start <= cutoff),
            and_(LoginFailure.address.startswith("k:"), LoginFailure.window_start <= now - timedelta(days=limit.known_days)))))


def record_failure(engine: Engine, user: str, address: str, now: datetime, limit: LoginLimit,
                   known: bool = False) -> int:
    """Count one failed login of ``user`` from ``address``; returns the pair's failures in the
    current window (0 when the global budget was already spent: then no pair row is written,
    unless the pair is ``known``, whose tries still count)."""
    now = as_utc(now)
    cutoff = now - timedelta(seconds=limit.window_s)
    if _count(engine, GLOBAL, now, cutoff) == 1:
        _purge(engine, now, limit)  # a new global window: the last one's rows are over
    with engine.connect() as conn:
        spent = conn.execute(select(LoginFailure.failures).where(LoginFailure.address == GLOBAL)).scalar() or 0
    if spent > limit.global_failures and not known:
        return 0  # every new try is refused anyway; no row per invented address or name
    return _count(engine, pair_key(user, address), now, cutoff)


def record_success(engine: Engine, user: str, address: str, now: datetime, limit: LoginLimit) -> None:
    """Note a right sign-in of ``user`` from ``address``: it stays known for ``known_days``."""
    now, key = as_utc(now), known_key(user, address)
    with engine.begin() as conn:
        if conn.execute(update(LoginFailure).where(LoginFailure.address == key)
                        .values(window_start=now, failures=0)).rowcount:
            return
        known = conn.execute(select(func.count()).select_from(LoginFailure)
                             .where(LoginFailure.address.startswith("k:"))).scalar_one()
    if known >= limit.known_cap:
        _purge(engine, now, limit)
        return
    try:
        with engine.begin() as conn:
            conn.execute(insert(LoginFailure).values(address=key, window_start=now, failures=0))
    except IntegrityError:
        pass  # another worker noted the same sign-in
