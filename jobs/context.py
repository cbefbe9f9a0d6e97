"""What a command needs (settings, the store, the clock, the price sources), built once at run time."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Iterable, Mapping, Sequence

from sqlalchemy import Engine

from config.price_sources import configured_sources
from config.settings import PROCESS_GROUPS, Settings, load_settings
from marketdata.sources.base import PriceSource
from store.db import StoreError, create_schema, make_engine, store_failures_as_errors
from store.times import utc_now


@dataclass
class JobContext:
    """Passed to every job: the one clock (``now``), the store and where prices come from."""

    settings: Settings
    engine: Engine
    now: Callable[[], datetime] = utc_now
    # None: the sources PRICE_SOURCE names; a replay or a test hands in its own.
    sources: Sequence[PriceSource] | None = field(default=None)

    def price_sources(self) -> list[PriceSource]:
        """The same source objects for every ticker of this context, so a source found unreachable for
        one ticker is not retried (with its backoff) for the next ones of the same command or run."""
        if self.sources is None:
            self.sources = configured_sources(self.settings)
        return list(self.sources)


def build_context(
    env: Mapping[str, str] | None = None,
    ensure_schema: bool = True,
    uses: Iterable[str] = PROCESS_GROUPS["jobs"],
) -> JobContext:
    """Settings (checking the groups in ``uses``) and an engine on a reachable store.

    The store is reached once here, so a dead port, a missing database or role, or a
    folder that cannot be created is one StoreError at start, not a traceback later.
    """
    settings = load_settings(env, uses=uses)
    engine = make_engine(settings.database_url)
    try:
        with store_failures_as_errors(settings.database_url):
            with engine.connect():
                pass
            if ensure_schema:
                create_schema(engine)
    except StoreError:
        engine.dispose()
        raise
    return JobContext(settings=settings, engine=engine, now=utc_now)
