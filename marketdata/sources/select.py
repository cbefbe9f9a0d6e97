"""Which sources to use, from the PRICE_SOURCE setting."""
from __future__ import annotations

from ..config import Settings
from .base import PriceSource
from .offline import OfflineSampleSource
from .yahoo import YahooSource


def yahoo_from(settings: Settings) -> YahooSource:
    return YahooSource(timeout_s=settings.yahoo_timeout_s, retries=settings.yahoo_retries)


def seed_sources(settings: Settings) -> list[PriceSource]:
    """Sources tried in order to fill an empty ticker."""
    if settings.price_source == "offline":
        return [OfflineSampleSource()]
    if settings.price_source == "yahoo":
        return [yahoo_from(settings)]
    return [yahoo_from(settings), OfflineSampleSource()]


def update_sources(settings: Settings) -> list[PriceSource]:
    """Sources tried in order for an incremental update.

    In ``auto`` mode the offline sample is a fallback only for a ticker whose
    stored history came from it (the caller checks), so Yahoo rows and sample
    rows are never mixed by accident.
    """
    return seed_sources(settings)
