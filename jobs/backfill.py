"""``ledger backfill``: a track record on a fresh install, replayed through the real pipeline.

The last N stored trading days are replayed as N origins the way ``jobs.simulate`` replays them
(and with its pieces): in a throw-away SQLite store, a ``ReplaySource`` reveals one
more day each night and ``run_pipeline`` runs as the clock would (``auto``: first
models, then the nightly fine-tune). Each run publishes its champions' forecasts to
the replay store's ledger; those rows are copied into the real store as
``replayed`` (never ``live``) and scored there against the real store's prices.

The real store's models, champions and runs are never touched: the replay's models
stay in the throw-away store, so replayed rows carry no model id, only the version.
"""
from __future__ import annotations

import logging
import shutil
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from contract.vocab import LedgerKind
from store import ledger
from store.prices import load_prices
from marketdata.sources.replay import ReplaySource

from contract.run import RunRequest

from .context import JobContext
from .errors import JobError
from .run import RunHooks, run_pipeline
from .simulate import context_on, evening

log = logging.getLogger(__name__)

MIN_TRAIN_DAYS = 300  # history the first replayed model needs before the replayed days
MAX_DAYS = 2520  # ten years of nights; a bound on what one command may start


@dataclass(frozen=True)
class BackfillResult:
    ticker: str
    days: int
    first_origin: str
    last_origin: str
    written: int  # replayed rows new to the ledger
    scored: int  # of all the ticker's rows, scored by this backfill
    train_seconds: float
    origins: int = 0  # distinct origins the replay published (``days`` when every night served)
    cells: int = 0  # distinct cells it published for

    def line(self) -> str:
        """What the backfill wrote, counted: the CLI's and the clock's one line."""
        return (f"{self.ticker}: replayed {self.days} trading days (origins {self.first_origin} to "
                f"{self.last_origin}); {self.origins} origins x {self.cells} cells, {self.written} replayed rows "
                f"written, {self.scored} scored; training {self.train_seconds:.1f}s")


def _night(scratch: JobContext, ticker: str, source: ReplaySource, epochs: int | None,
           should_stop: Callable[[], bool]) -> float:
    """One night of the replay through the real pipeline; its training seconds."""
    run = run_pipeline(replace(scratch, sources=[source]),
                       RunRequest.build(ticker, trigger="simulate", requested_by="ledger-backfill", action="auto",
                                        epochs=epochs), RunHooks(should_cancel=should_stop))
    if not run.ok:
        raise JobError(f"replayed night {source.today}: run {run.status}: {run.error}")
    return float(run.train_seconds or 0.0)


def backfill(ctx: JobContext, *, ticker: str, days: int, epochs: int | None = None,
             progress: Callable[[str], None] = lambda _m: None,
             should_stop: Callable[[], bool] = lambda: False) -> BackfillResult:
    """Replay the last ``days`` stored trading days of ``ticker`` and ledger them as ``replayed`` rows.

    The rows of each night are copied as soon as it ends, so a stop (``should_stop``,
    checked every epoch) keeps the nights already replayed."""
    if not 1 <= days <= MAX_DAYS:
        raise JobError(f"--days must be within 1..{MAX_DAYS}, got {days}")
    full = load_prices(ctx.engine, ticker)
    if full.empty:
        raise JobError(f"no prices stored for {ticker}; run: python -m jobs init --ticker {ticker}")
    if len(full) - days + 1 < MIN_TRAIN_DAYS:
        raise JobError(f"{days} days leave {len(full) - days + 1} of {len(full)} stored days for {ticker} to train on; "
                       f"the first model needs {MIN_TRAIN_DAYS}")
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    start = len(full) - days + 1  # rows visible on the first night: its close is the first origin
    tmp = Path(tempfile.mkdtemp(prefix="ledger-backfill-"))
    clock = {"now": evening(full.index[start - 1].date())}
    scratch = context_on(ctx, f"sqlite:///{tmp / 'replay.db'}", clock)
    source = ReplaySource(full, start, name="replay")
    train_s, written, copied_to = 0.0, 0, 0
    origins, cells = 0, 0
    try:
        for night in range(days):  # night 0 trains the first models; every night serves one origin
            if night:
                clock["now"] = evening(source.advance())
            if should_stop():
                raise JobError(f"backfill of {ticker} stopped after {night} of {days} nights")
            progress(f"{ticker}: night {night + 1}/{days} ({source.today})")
            train_s += _night(scratch, ticker, source, epochs, should_stop)
            new, copied_to = ledger.copy_replayed(scratch.engine, ctx.engine, ticker, ctx.now(), after_id=copied_to)
            written += new
        replayed = ledger.load_ledger(scratch.engine, ticker)
        origins, cells = int(replayed["origin"].nunique()), int(replayed["cell"].nunique())
    finally:
        scratch.engine.dispose()
        shutil.rmtree(tmp, ignore_errors=True)
        scored = ledger.score_pending(ctx.engine, ticker, ctx.now())  # also what a stopped backfill copied
    return BackfillResult(ticker=ticker, days=days, first_origin=str(full.index[start - 1].date()),
                          last_origin=str(source.today), written=written, scored=scored,
                          train_seconds=round(train_s, 1), origins=origins, cells=cells)


def bootstrap_backfill(ctx: JobContext, days: int, should_stop: Callable[[], bool] = lambda: False
                       ) -> list[BackfillResult]:
    """The clock's first start: a short backfill for each ticker with no replayed rows yet (never raises).

    Skipped with ``days`` 0 (LEDGER_BOOTSTRAP_DAYS) and when Redis is configured (the
    clock then never trains itself; run ``python -m jobs ledger backfill`` once instead).
    """
    if days <= 0 or ctx.settings.redis_url:
        return []
    done = []
    for ticker in ctx.settings.tickers:
        try:
            if ledger.has_rows(ctx.engine, ticker, LedgerKind.REPLAYED):
                continue
            done.append(backfill(ctx, ticker=ticker, days=days, should_stop=should_stop))
            log.info("ledger backfill %s", done[-1].line())
        except Exception as exc:  # a track record is a nicety on first start; the clock carries on
            log.warning("ledger backfill %s skipped: %s", ticker, str(exc).splitlines()[0] if str(exc) else exc)
    return done


def _backfill_child(settings, days: int, cancel) -> None:
    """Entry point of the spawned child: the bootstrap backfill, then exit (taking TensorFlow with it)."""
    import signal

    from config.logs import setup_logging
    from store.db import make_engine
    from store.times import utc_now

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: cancel.set())
    setup_logging("clock-child")
    engine = make_engine(settings.database_url)
    try:
        bootstrap_backfill(JobContext(settings=settings, engine=engine, now=utc_now), days, cancel.is_set)
    finally:
        engine.dispose()


def bootstrap_backfill_in_child(ctx: JobContext, days: int, should_stop: Callable[[], bool] = lambda: False) -> None:
    """:func:`bootstrap_backfill` in a spawned child process, as the clock trains (``jobs.child``):
    the clock itself never holds TensorFlow. ``should_stop`` is forwarded; nothing is raised."""
    import multiprocessing
    import time

    if days <= 0 or ctx.settings.redis_url:
        return
    spawn = multiprocessing.get_context("spawn")
    cancel = spawn.Event()
    proc = spawn.Process(target=_backfill_child, args=(ctx.settings, days, cancel), name="ledger-backfill")
    proc.start()
    while proc.is_alive():
        if not cancel.is_set() and should_stop():
            cancel.set()
        time.sleep(0.5)
    proc.join()
    if proc.exitcode:
        log.warning("ledger backfill process %s exited with code %s", proc.pid, proc.exitcode)
