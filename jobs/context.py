"""Builds what a command needs (settings, engine) once, at run time, not import time."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Iterable, Mapping

from sqlalchemy import Engine
from sqlalchemy.exc import InterfaceError, OperationalError

from config.settings import PROCESS_GROUPS, Settings, load_settings
from store.db import StoreError, create_schema, describe_store_error, make_engine


@dataclass
class JobContext:
    settings: Settings
    engine: Engine
    now: Callable[[], datetime]


def bootstrap(
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
        with engine.connect():
            pass
        if ensure_schema:
            create_schema(engine)
    except (OperationalError, InterfaceError) as exc:
        engine.dispose()
        raise StoreError(describe_store_error(exc, settings.database_url)) from None
    return JobContext(settings=settings, engine=engine, now=lambda: datetime.now(timezone.utc))
