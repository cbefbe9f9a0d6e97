"""Builds what a command needs (settings, engine) once, at run time, not import time."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Mapping

from sqlalchemy import Engine

from marketdata.config import Settings, load_settings
from marketdata.db import create_schema, make_engine


@dataclass
class JobContext:
    settings: Settings
    engine: Engine
    now: Callable[[], datetime]


def bootstrap(env: Mapping[str, str] | None = None, ensure_schema: bool = True) -> JobContext:
    settings = load_settings(env)
    engine = make_engine(settings.database_url)
    if ensure_schema:
        create_schema(engine)
    return JobContext(settings=settings, engine=engine, now=lambda: datetime.now(timezone.utc))
