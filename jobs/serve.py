"""The serve step: every champion of every cell forecasts h=1..H from the newest stored close, without training.

Run by the nightly pipeline (every night, trained or not, after training so a newly
promoted model serves at once), by ``python -m jobs serve`` and by the replays. A
champion whose stored forecast already starts from the newest close is left as it
is, so serving twice costs a store read and no TensorFlow. The new forecast replaces
the champion's ``forecast`` output (what the pages show); the ledger keeps every
publication (``store.ledger.publish_after_run``, called by whoever serves).
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import date

import pandas as pd

from contract.vocab import CELLS
from marketdata.calendar import next_trading_days
from store import registry
from store.db import retry_on_outage
from store.prices import last_stored_date, load_prices

from .context import JobContext
from .errors import JobError
from .progress import ProgressFn, no_progress
from .stored import load_stored_cell, stored_split

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServeResult:
    """One ticker's serve step: the close served from, the cells newly served, the cells already current."""

    ticker: str
    origin: date | None  # the newest stored close (None: no prices)
    served: tuple[str, ...]
    current: tuple[str, ...]  # already forecasting from ``origin``
    failed: tuple[str, ...] = ()  # cells whose forecast could not be made (the log says why)
    seconds: float = 0.0

    def line(self) -> str:
        """One line for a log, a run step or the CLI."""
        if self.origin is None:
            return f"{self.ticker}: nothing served (no prices stored)"
        if not self.served and not self.current and not self.failed:
            return f"{self.ticker}: nothing served (no champion yet; train first: python -m jobs train)"
        parts = []
        if self.served:
            parts.append(f"served {', '.join(self.served)} from the close of {self.origin} in {self.seconds:.1f}s")
        if self.current:
            parts.append(f"{', '.join(self.current)} already current")
        if self.failed:
            parts.append(f"could not serve {', '.join(self.failed)}")
        return f"{self.ticker}: " + "; ".join(parts)


def _retry(ctx: JobContext, fn, what: str):
    return retry_on_outage(fn, what=what, budget_s=ctx.settings.schedule.store_retry_s)


def stale_cells(ctx: JobContext, ticker: str) -> tuple[date | None, list[str], list[str]]:
    """(newest stored close, cells whose champion forecasts from an older close, cells already current)."""
    newest = _retry(ctx, lambda: last_stored_date(ctx.engine, ticker), f"reading the {ticker} prices")
    origins = _retry(ctx, lambda: registry.champion_forecast_origins(ctx.engine, ticker),
                     f"reading the {ticker} champions")
    order = [c for c in CELLS if c in origins] + [c for c in origins if c not in CELLS]
    stale = [c for c in order if newest is not None and (origins[c] is None or origins[c] < newest)]
    return newest, stale, [c for c in order if c not in stale]


def _serve_cell(ctx: JobContext, ticker: str, cell: str, prices: pd.DataFrame) -> None:
    """One champion's forecast from the newest close of ``prices``, stored as its ``forecast`` output."""
    from .quiet_tf import import_tensorflow_quietly

    import_tensorflow_quietly()
    from models.serving import ServeInputs, fallback_halfwidths, serve_forecast  # TensorFlow's side

    from .candidates import rolling_spec

    champ = _retry(ctx, lambda: registry.champion(ctx.engine, ticker, cell), f"reading the {cell} champion")
    if champ is None:
        return
    stored = load_stored_cell(ctx, champ, stored_split(champ, prices))
    backtest = _retry(ctx, lambda: registry.load_output(ctx.engine, champ.id, "backtest"), "reading its backtest")
    previous = _retry(ctx, lambda: registry.load_output(ctx.engine, champ.id, "forecast"), "reading its forecast")
    future = [d.isoformat() for d in next_trading_days(prices.index[-1].date(), stored.hp.horizon)]
    forecast = serve_forecast(ServeInputs(stored, prices, backtest, fallback_halfwidths(previous, stored.hp.horizon)),
                              future, rolling_spec(ctx))
    _retry(ctx, lambda: registry.replace_forecast(ctx.engine, champ.id, forecast), f"storing the {cell} forecast")


def serve_ticker(ctx: JobContext, ticker: str, progress: ProgressFn = no_progress) -> ServeResult:
    """Serve every champion of ``ticker`` whose forecast is older than the newest stored close.

    A cell that fails is logged in one line and named in the result; the others still
    serve. Nothing is published here: the caller publishes (``store.ledger``)."""
    newest, stale, current = stale_cells(ctx, ticker)
    if not stale:
        return ServeResult(ticker, newest, (), tuple(current))
    started = time.perf_counter()
    prices = _retry(ctx, lambda: load_prices(ctx.engine, ticker), f"loading {ticker} prices")
    served, failed = [], []
    for k, cell in enumerate(stale):
        progress(k / len(stale), f"{ticker}: serving {cell} from the close of {newest}")
        try:
            _serve_cell(ctx, ticker, cell, prices)
            served.append(cell)
        except Exception as exc:  # one champion that cannot forecast never stops the others
            log.warning("%s %s: could not serve: %s: %s", ticker, cell, type(exc).__name__,
                        str(exc).splitlines()[0] if str(exc) else "")
            failed.append(cell)
    result = ServeResult(ticker, newest, tuple(served), tuple(current), tuple(failed),
                         round(time.perf_counter() - started, 2))
    progress(1.0, result.line())
    log.info("%s", result.line())
    return result


def serve_and_publish(ctx: JobContext, ticker: str, progress: ProgressFn = no_progress) -> ServeResult:
    """``serve_ticker`` then the ledger's publication (scores what is settled; never raises)."""
    from store.ledger import publish_after_run

    result = serve_ticker(ctx, ticker, progress)
    publish_after_run(ctx.engine, ticker, trigger="serve", now=ctx.now())
    return result


def checked_tickers(ctx: JobContext, ticker: str | None) -> list[str]:
    """The ticker asked for (one of TICKERS), else every configured ticker."""
    if ticker is None:
        return list(ctx.settings.tickers)
    if ticker not in ctx.settings.tickers:
        raise JobError(f"--ticker {ticker} is not configured; TICKERS has {', '.join(ctx.settings.tickers)}")
    return [ticker]
