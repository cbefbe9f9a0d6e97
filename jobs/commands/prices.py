"""init, update, import-csv, status: getting prices into the store and reporting on them."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from store.schema import upgrade
from marketdata.frames import PriceDataError
from marketdata.sources.base import SourceUnavailable
from store.prices import price_summaries
from marketdata.sources.csv_file import read_price_csv
from config.price_sources import configured_sources
from price_feed.updates import seed_prices, switch_source, update_from_sources

from ..context import build_context
from ..errors import JobError
from . import argtypes


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("init", help="create the schema and seed prices (Yahoo, else the offline sample)")
    p.add_argument("--ticker", type=argtypes.ticker, help="seed only this ticker (default: every ticker in TICKERS)")
    p.set_defaults(handler=cmd_init)

    p = sub.add_parser("update", help="fetch new prices; says how many rows it added")
    p.add_argument("--ticker", type=argtypes.ticker, help="update only this ticker (default: every ticker in TICKERS)")
    p.add_argument("--switch-source", action="store_true",
                   help="with --ticker: replace its whole history with the first configured source that answers")
    p.set_defaults(handler=cmd_update)

    p = sub.add_parser("import-csv", help="import a Yahoo-style CSV (all or nothing)")
    p.add_argument("path", type=Path)
    p.add_argument("--ticker", type=argtypes.ticker, help="ticker the file holds (default: first of TICKERS)")
    p.add_argument("--replace", action="store_true",
                   help="overwrite stored rows the file gives different values for (refused without it)")
    p.add_argument("--no-serve", action="store_true",
                   help="do not serve after the import (by default every stale champion forecasts from the new close)")
    p.set_defaults(handler=cmd_import_csv)

    p = sub.add_parser("delete-day", help="remove one stored price day, keeping a record of it (price_deletions)")
    p.add_argument("--ticker", type=argtypes.ticker, required=True)
    p.add_argument("--date", type=argtypes.day, required=True, help="the day to remove, YYYY-MM-DD")
    p.add_argument("--by", help="who is removing it, for the record (default: cli:<operating-system user>)")
    p.set_defaults(handler=cmd_delete_day)

    p = sub.add_parser("status", help="tickers, first/last date, row count, source")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_status)

    p = sub.add_parser("migrate", help="bring the schema to the newest revision (the Procfile release step)")
    p.set_defaults(handler=cmd_migrate)


def _tickers(ctx, args) -> list[str]:
    return [args.ticker] if getattr(args, "ticker", None) else list(ctx.settings.tickers)


def cmd_migrate(args) -> int:
    ctx = build_context(ensure_schema=False)
    print(f"schema: {upgrade(ctx.engine)}")
    return 0


def cmd_init(args) -> int:
    ctx = build_context()
    for ticker in _tickers(ctx, args):
        result = seed_prices(ctx.engine, ticker, configured_sources(ctx.settings), ctx.now())
        print(result.message)
    return 0


def cmd_update(args) -> int:
    ctx = build_context()
    if args.switch_source:
        return _switch_source(ctx, args)
    for ticker in _tickers(ctx, args):
        result = update_from_sources(
            ctx.engine, ticker, configured_sources(ctx.settings), ctx.settings.overlap_days, ctx.now()
        )
        print(result.message)
    return 0


def _switch_source(ctx, args) -> int:
    """``update --ticker T --switch-source``: the one way a ticker's history changes source."""
    if not args.ticker:
        raise JobError("--switch-source needs --ticker: a ticker's source changes only when asked for by name")
    errors = []
    for source in configured_sources(ctx.settings):
        try:
            print(switch_source(ctx.engine, args.ticker, source, ctx.now()).message)
            return 0
        except SourceUnavailable as exc:
            errors.append(str(exc))
    raise JobError(f"no configured source could switch {args.ticker}; nothing changed: " + "; ".join(errors))


def cmd_import_csv(args) -> int:
    ctx = build_context()
    ticker = args.ticker or ctx.settings.default_ticker
    frame = read_price_csv(args.path, ticker=ticker, today=ctx.now().date())  # raises before anything is written
    from store.db import session_factory
    from store.price_corrections import ChangedDays, Replacement, days_text, import_prices

    # One transaction: the comparison sees exactly what the write replaces, and a refusal
    # (raised inside it) rolls back, so nothing is written.
    with session_factory(ctx.engine).begin() as session:
        try:
            done = import_prices(session, ticker, frame, args.path.name, ctx.now(),
                                 Replacement(f"cli:{_os_user()}") if args.replace else None)
        except ChangedDays as exc:
            raise PriceDataError(f"{exc}; pass --replace to overwrite them") from None
    overlap, n = done.overlap, done.written
    changed = (f", {overlap.differing} replaced ({days_text(done.replaced)}; old rows kept as price deletions "
               f"#{done.record_ids[0]}-#{done.record_ids[-1]})") if overlap.differing else ""
    print(f"{ticker}: imported {n} rows from {args.path.name} ({frame.index[0].date()} to {frame.index[-1].date()}; "
          f"{n - overlap.rows} new, {overlap.rows - overlap.differing} already stored unchanged{changed})", flush=True)
    if not args.no_serve:
        _serve_after_import(ctx, ticker)
    return 0


def _serve_after_import(ctx, ticker: str) -> None:
    """Serve ``ticker`` when the import left a champion forecasting from an older close (one line);
    a failure is a Failure saying the import stays committed. No champion, or none stale: nothing."""
    from contract.errors import Failure, one_line

    from ..serve import serve_and_publish, stale_cells

    fix = f"run: python -m jobs serve --ticker {ticker}"
    try:
        if not stale_cells(ctx, ticker)[1]:  # a store read, no TensorFlow
            return
        result = serve_and_publish(ctx, ticker)
    except Exception as exc:  # the import is committed whatever happens here: say so, exit non-zero
        raise Failure(f"the import is committed, but serving {ticker} failed: {one_line(exc)}; {fix}") from None
    print(result.line())
    if result.failed:
        raise Failure(f"the import is committed, but {ticker}'s {', '.join(result.failed)} could not serve "
                      f"(see the log line above); {fix}")


def _os_user() -> str:
    """The operating-system user running the command (from the password database, not the environment)."""
    import os
    import pwd

    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:  # a container uid with no passwd entry
        return f"uid {os.getuid()}"


def cmd_delete_day(args) -> int:
    from store.price_deletions import delete_price_day

    who = " ".join((args.by or "").split()) or f"cli:{_os_user()}"
    ctx = build_context()
    print(delete_price_day(ctx.engine, args.ticker, args.date, who, ctx.now()).message())
    return 0


def cmd_status(args) -> int:
    ctx = build_context()
    summaries = price_summaries(ctx.engine)
    if args.json:
        print(json.dumps([s.as_json() for s in summaries], indent=2))
        return 0
    if not summaries:
        print("no prices stored yet; run: python -m jobs init")
        return 0
    print(f"{'ticker':<8}{'first':<12}{'last':<12}{'rows':>7}  source (last import, UTC)")
    for s in summaries:
        print(
            f"{s.ticker:<8}{s.first_date.isoformat():<12}{s.last_date.isoformat():<12}{s.rows:>7}  "
            f"{s.source_line()} ({s.last_fetched_at:%Y-%m-%d %H:%M})"
        )
    return 0
