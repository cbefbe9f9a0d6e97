"""The server-side check inside every admin callback, and the admin's choices read back.

The ``before_request`` guard (``dashboard.auth``) refuses an unauthenticated admin callback
before Dash runs it; :func:`admin_callback` checks again inside the callback, so a
callback reached some other way still needs admin credentials.
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from contract.errors import Refusal
from store import runs as run_history

from dashboard import auth, data, inputs


def admin_callback(on_refusal: Callable[[Refusal], Any]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Wrap an admin callback: it runs with the admin's name as its first argument, and any
    refusal (no credentials, a bad value, a registry refusal) becomes ``on_refusal(exc)``."""
    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def guarded(*args: Any) -> Any:
            try:
                return fn(auth.require_admin(data.settings()), *args)
            except Refusal as exc:
                return on_refusal(exc)
        return guarded
    return wrap


def chosen_ticker(value: Any) -> str:
    """The admin's chosen ticker: None (one configured ticker, dropdown hidden) is the default;
    anything not configured is refused, never replaced by the default."""
    settings = data.settings()
    return inputs.ticker(value, settings.tickers, default=settings.default_ticker)


def active_run(ticker: str) -> dict | None:
    """The live run of ``ticker``: a run whose heartbeat is older than the lease TTL is dead and never blocks."""
    return run_history.active_run(data.engine(), ticker, stale_after_s=data.settings().schedule.lease_ttl_s)
