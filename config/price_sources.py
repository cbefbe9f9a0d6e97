"""Which sources to use, from the PRICE_SOURCE setting."""
from __future__ import annotations

from config.settings import Settings
from marketdata.sources.base import PriceSource
from marketdata.sources.offline import OfflineSampleSource
from marketdata.sources.yahoo import YahooSource


def yahoo_from(settings: Settings) -> YahooSource:
    return YahooSource(timeout_s=settings.yahoo_timeout_s, retries=settings.yahoo_retries)


def configured_sources(settings: Settings) -> list[PriceSource]:
    """Sources tried in order, for seeding and for updates alike.

    In ``auto`` mode an update falls back to the offline sample only for a ticker
    whose stored history came from it (the price update checks), so
    Yahoo rows and sample rows are never mixed by accident.
    """
    if settings.price_source == "offline":
        return [OfflineSampleSource()]
    if settings.price_source == "yahoo":
        return [yahoo_from(settings)]
    return [yahoo_from(settings), OfflineSampleSource()]
