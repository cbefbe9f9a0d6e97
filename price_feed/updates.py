"""Seeding and incremental update of the price store: which source to ask, what to fetch, and
whether the answer appends, replaces or is refused (the store's writes are ``store.prices``).

Yahoo's adjusted history is re-based after every split or dividend, so appending
new days night after night drifts out of step. Each update therefore refetches an
overlap window of already-stored days and compares it; if it disagrees, the whole
history is refetched and replaced in one transaction.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from store.db import session_factory
from store.prices import (home_source, insert_prices, last_stored_date, last_stored_source, load_prices,
                          replace_all_prices, source_family)
from marketdata.sources.base import PriceSource, SourceUnavailable

log = logging.getLogger(__name__)

# Yahoo rounds adjusted prices; anything beyond this relative gap is a re-basing.
OVERLAP_RTOL = 5e-4


@dataclass(frozen=True)
class UpdateResult:
    ticker: str
    added: int
    replaced_history: bool
    source: str
    last_date: date | None
    message: str


def seed_prices(
    engine: Engine,
    ticker: str,
    sources: list[PriceSource],
    now: datetime,
) -> UpdateResult:
    """Fill an empty ticker from the first source that answers (Yahoo, else offline)."""
    existing = last_stored_date(engine, ticker)
    if existing is not None:
        return UpdateResult(ticker, 0, False, "store", existing, f"{ticker}: already seeded up to {existing}")
    errors: list[str] = []
    for source in sources:
        try:
            frame = source.fetch(ticker, None)
        except SourceUnavailable as exc:
            log.warning("%s", exc)
            errors.append(str(exc))
            continue
        with session_factory(engine).begin() as session:
            added = insert_prices(session, ticker, frame, source.name, now)
        last = frame.index[-1].date()
        return UpdateResult(ticker, added, False, source.name, last, f"{ticker}: seeded {added} rows from {source.name}")
    raise SourceUnavailable(f"no price source could seed {ticker}: " + "; ".join(errors))


def _overlap_agrees(stored: pd.DataFrame, fetched: pd.DataFrame) -> bool:
    common = stored.index.intersection(fetched.index)
    if len(common) == 0:
        return False
    a = stored.loc[common, "close"].to_numpy(float)
    b = fetched.loc[common, "close"].to_numpy(float)
    return bool(np.allclose(a, b, rtol=OVERLAP_RTOL, atol=0))


def update_prices(
    engine: Engine,
    ticker: str,
    source: PriceSource,
    overlap_days: int,
    now: datetime,
) -> UpdateResult:
    """Append the days after the last stored one, checking an overlap window first.

    Raises SourceUnavailable if the source cannot answer; the store is then unchanged.
    """
    last = last_stored_date(engine, ticker)
    if last is None:
        return seed_prices(engine, ticker, [source], now)
    stored = load_prices(engine, ticker)
    overlap_start = stored.index[max(0, len(stored) - overlap_days)].date()
    fetched = source.fetch(ticker, overlap_start)
    home = home_source(engine, ticker)
    if not _overlap_agrees(stored, fetched) and home is not None and source_family(home) != source_family(source.name):
        # Another source's differently adjusted series never replaces a ticker's own history.
        message = (f"{ticker}: {source.name} disagrees with the stored prices from {home} on the overlap since "
                   f"{overlap_start}; nothing changed (switch explicitly: python -m jobs update --ticker {ticker} "
                   f"--switch-source)")
        log.warning("%s", message)
        return UpdateResult(ticker, 0, False, source.name, last, message)
    if not _overlap_agrees(stored, fetched):
        log.warning("%s: overlap since %s disagrees with the store; refetching full history", ticker, overlap_start)
        full = source.fetch(ticker, None)
        with session_factory(engine).begin() as session:
            added = replace_all_prices(session, ticker, full, source.name, now)
        return UpdateResult(
            ticker,
            added - len(stored),
            True,
            source.name,
            full.index[-1].date(),
            f"{ticker}: adjusted history changed (split or dividend); replaced {len(stored)} rows with {added}",
        )
    new = fetched[fetched.index > pd.Timestamp(last)]
    with session_factory(engine).begin() as session:
        added = insert_prices(session, ticker, new, source.name, now)
    newest = new.index[-1].date() if added else last
    return UpdateResult(ticker, added, False, source.name, newest, f"{ticker}: added {added} new rows (last {newest})")


def switch_source(engine: Engine, ticker: str, source: PriceSource, now: datetime) -> UpdateResult:
    """Replace ``ticker``'s whole history with ``source``'s (the explicit switch); SourceUnavailable leaves it."""
    full = source.fetch(ticker, None)
    before = len(load_prices(engine, ticker))
    with session_factory(engine).begin() as session:
        added = replace_all_prices(session, ticker, full, source.name, now)
    # replace_all_prices scores the ledger in the same transaction (store.scoring)
    return UpdateResult(ticker, added - before, True, source.name, full.index[-1].date(),
                        f"{ticker}: switched to {source.name}; replaced {before} rows with {added}")


def update_from_sources(
    engine: Engine,
    ticker: str,
    sources: list[PriceSource],
    overlap_days: int,
    now: datetime,
) -> UpdateResult:
    """Update from the first source that answers.

    A fallback source (the offline sample) is used only if the ticker's newest
    stored row came from it; otherwise the first source's error is raised, and
    the store is left as it was.
    """
    if last_stored_date(engine, ticker) is None:
        return seed_prices(engine, ticker, sources, now)
    home = home_source(engine, ticker) or ""
    if source_family(home) == "csv":  # a CSV ticker moves on by imports only, never by another source
        last = last_stored_date(engine, ticker)
        return UpdateResult(ticker, 0, False, home, last,
                            f"{ticker}: prices come from {home} (CSV imports); nothing fetched, stored up to {last} "
                            f"(import new days: python -m jobs import-csv FILE --ticker {ticker})")
    newest_source = last_stored_source(engine, ticker)
    first_error: SourceUnavailable | None = None
    for i, source in enumerate(sources):
        if i > 0 and source.name != newest_source:
            continue
        try:
            return update_prices(engine, ticker, source, overlap_days, now)  # scores the ledger as it writes
        except SourceUnavailable as exc:
            first_error = first_error or exc
    assert first_error is not None
    raise first_error

