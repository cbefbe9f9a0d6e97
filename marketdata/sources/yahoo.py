"""Thin adapter over ``yfinance.download`` (yfinance 1.x).

yfinance swallows download errors and returns an empty frame, and its columns are
a (Price, Ticker) MultiIndex; this adapter turns both into the store's shape and
into explicit errors, and retries rate limits and network errors with backoff.
"""
from __future__ import annotations

import contextlib
import logging
import re
import time
import warnings
from datetime import date
from typing import Any, Callable, Iterator

import pandas as pd

from marketdata.frames import PriceDataError, validate_price_frame
from marketdata.sources.base import PriceSource, SourceUnavailable

log = logging.getLogger(__name__)

Downloader = Callable[..., pd.DataFrame]


def _default_download(*args: Any, **kwargs: Any) -> pd.DataFrame:
    import yfinance  # imported lazily: it pulls in curl_cffi and friends

    # yfinance adjusts warning filters on import, so silence pandas' deprecation
    # noise from inside it only after importing.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame: pd.DataFrame = yfinance.download(*args, **kwargs)
        return frame


class _CapturedErrors(logging.Handler):
    """Collects what yfinance logs at ERROR while it swallows a failure.

    yfinance 1.x keeps the reason of a failed download only in its log, so this is
    the one place to read it from; while capturing, its log does not reach stderr.
    """

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage().strip()
        if text and "Failed download" not in text:
            self.messages.append(text.splitlines()[-1])

    def reason(self) -> str:
        """The most telling message: a named exception beats yfinance's generic guesses."""
        named = [m for m in self.messages if "Error" in m]
        if named or self.messages:
            return (named or self.messages)[0]
        return "Yahoo returned an empty frame"

    @contextlib.contextmanager
    def attached(self) -> Iterator[_CapturedErrors]:
        yf_log = logging.getLogger("yfinance")
        old_propagate = yf_log.propagate
        yf_log.addHandler(self)
        yf_log.propagate = False
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # pandas deprecation noise from inside yfinance
                yield self
        finally:
            yf_log.removeHandler(self)
            yf_log.propagate = old_propagate


UNREACHABLE_MEMORY_S = 1800.0  # a Yahoo found unreachable is not tried again for this long (the other tickers of a run)
_CURL = re.compile(r"curl: \(\d+\) (.*?)(?:\.?\s+See https?://|\s+\(|\.?'?\)?$)")


def plain_reason(reason: str) -> str:
    """An error without libcurl's boilerplate: ``curl: (6) Could not resolve host: X. See https://...`` ->
    ``Could not resolve host: X``; a reason without it loses its URLs' query strings and stays one line."""
    found = _CURL.search(reason)
    if found:
        return found.group(1).strip()
    text = re.sub(r"\s*See https?://\S+.*$", "", " ".join(reason.split()))
    return re.sub(r"(https?://[^\s?]+)\?\S*", r"\1", text)[:200]


def _is_retryable(exc: BaseException) -> bool:
    name = type(exc).__name__
    return name in {"YFRateLimitError", "ConnectionError", "Timeout", "TimeoutError", "DNSError", "CurlError"} or (
        isinstance(exc, (ConnectionError, TimeoutError, OSError))
    )


def frame_from_download(raw: pd.DataFrame, ticker: str) -> pd.DataFrame:
    """Convert yfinance 1.x output to a price frame (lower-case columns, tz-naive dates)."""
    if isinstance(raw.columns, pd.MultiIndex):
        level = raw.columns.names.index("Ticker") if "Ticker" in raw.columns.names else 1
        if ticker not in raw.columns.get_level_values(level):
            raise SourceUnavailable(f"Yahoo returned no column for {ticker}")
        one = raw.xs(ticker, axis=1, level=level)
        raw = one if isinstance(one, pd.DataFrame) else one.to_frame()
    frame = raw.rename(columns=str.lower)
    # A row with no prices at all (a day Yahoo has not filled in yet) is dropped, not stored;
    # a row whose Adj Close alone is missing is not: it fails the checks after adjustment.
    frame = frame.dropna(how="all", subset=[c for c in ["open", "high", "low", "close"] if c in frame])
    if "adj close" in frame.columns and "close" in frame.columns:
        # auto_adjust=False was used: scale O/H/L/C by the adjustment factor ourselves.
        factor = frame["adj close"] / frame["close"]
        for col in ["open", "high", "low", "close"]:
            frame[col] = frame[col] * factor
    index = pd.DatetimeIndex(frame.index)
    if index.tz is not None:
        index = index.tz_localize(None)
    frame.index = index.normalize()
    # A day Yahoo lists twice (seen around data corrections) keeps its last value.
    frame = frame[~frame.index.duplicated(keep="last")]
    return frame


class YahooSource(PriceSource):
    name = "yahoo"

    def __init__(
        self,
        download: Downloader = _default_download,
        timeout_s: int = 10,
        retries: int = 3,
        backoff_s: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._download = download
        self._timeout = timeout_s
        self._retries = retries
        self._backoff = backoff_s
        self._sleep = sleep
        self._unreachable: tuple[float, str] | None = None  # (monotonic time, reason) of the last full failure

    def fetch(self, ticker: str, start: date | None = None) -> pd.DataFrame:
        kwargs: dict[str, Any] = dict(
            auto_adjust=True, progress=False, threads=False, timeout=self._timeout, multi_level_index=True
        )
        if start is None:
            kwargs["period"] = "max"
        else:
            # No end: yfinance then asks up to now, so today is included (its end is exclusive).
            kwargs["start"] = start.isoformat()
        if self._unreachable is not None and time.monotonic() - self._unreachable[0] < UNREACHABLE_MEMORY_S:
            raise SourceUnavailable(f"Yahoo unreachable (not retried: {self._unreachable[1]})")
        last_error = "no answer"
        for attempt in range(1, self._retries + 1):
            captured = _CapturedErrors()
            try:
                with captured.attached():
                    raw = self._download(ticker, **kwargs)
            except Exception as exc:  # yfinance raises only a few errors; all are worth a retry or a clear message
                if not _is_retryable(exc):
                    raise SourceUnavailable(f"Yahoo download of {ticker} failed: {type(exc).__name__}: {exc}") from exc
                last_error = plain_reason(f"{type(exc).__name__}: {exc}")
            else:
                if raw is not None and not raw.empty:
                    frame = frame_from_download(raw, ticker)
                    if not frame.empty:
                        try:
                            return validate_price_frame(frame, f"Yahoo {ticker}")
                        except PriceDataError as exc:
                            raise SourceUnavailable(str(exc)) from exc
                # An empty frame is how yfinance reports a failure it swallowed.
                last_error = plain_reason(captured.reason())
            if attempt < self._retries:
                delay = self._backoff * 2 ** (attempt - 1)
                log.debug("Yahoo %s attempt %d failed (%s); retrying in %.0fs", ticker, attempt, last_error, delay)
                self._sleep(delay)
        self._unreachable = (time.monotonic(), last_error)
        raise SourceUnavailable(f"Yahoo unreachable for {ticker} after {self._retries} attempts: {last_error}")
