"""The one ticker pattern: every ticker from the environment, the command line, the web
or a caller is checked here before it is used or stored.

Yahoo symbols are upper-case letters and digits, optionally led by ``^`` (an index,
``^GSPC``) and joined by ``.``, ``-`` or ``=`` (``BRK-B``, ``0700.HK``, ``EURUSD=X``,
``ES=F``). Anything else (paths, quotes, markup, spaces) is refused rather than cleaned,
so what is stored is always what was asked for. Stdlib and ``contract`` only: the web imports this.
"""
from __future__ import annotations

import re

from contract.errors import Refusal

# Every ticker column of the schema is String(16); a test keeps them in step,
# so a valid ticker always fits on SQLite (which would not enforce it) and Postgres (which does).
TICKER_MAX_LEN = 16
TICKER_RE = re.compile(r"\^?[A-Z0-9]+(?:[.=-][A-Z0-9]+)*")
EXAMPLES = "AAPL, BRK-B, ^GSPC, EURUSD=X"


class TickerError(Refusal):
    """A value that is not a ticker symbol; the message is one line and says what is allowed."""


def _shown(text: str) -> str:
    """The refused value, quoted and cut short so a hostile 100 kB string stays one short line."""
    return repr(text if len(text) <= 24 else text[:24] + "...")


def parse_ticker(text: object) -> str:
    """``text`` upper-cased when it is a ticker symbol; TickerError otherwise.

    Surrounding spaces are trimmed (a hand-typed ``TICKERS=AAPL, MSFT``) but never
    inner ones, and lower case is accepted (``aapl`` is ``AAPL``) because Yahoo treats
    symbols case-insensitively.
    """
    if not isinstance(text, str):
        raise TickerError(f"ticker must be text, got {type(text).__name__}")
    symbol = text.strip().upper()
    if not symbol:
        raise TickerError("ticker is empty; give a symbol such as " + EXAMPLES)
    if len(symbol) > TICKER_MAX_LEN:
        raise TickerError(f"ticker {_shown(text)} is {len(symbol)} characters long; at most {TICKER_MAX_LEN}")
    if not TICKER_RE.fullmatch(symbol):
        raise TickerError(
            f"ticker {_shown(text)} is not a ticker symbol: use letters, digits and . - = "
            f"(and ^ first), such as {EXAMPLES}"
        )
    return symbol


def parse_ticker_list(text: str, name: str = "TICKERS") -> tuple[str, ...]:
    """A comma-separated list of tickers, in order; TickerError naming ``name`` on a bad
    entry, and on a repeat (``AAPL,aapl``): a list with a ticker twice is refused,
    not de-duplicated, because the order decides the default ticker and a repeat is
    most likely a typo for another ticker."""
    tickers: list[str] = []
    for part in text.split(","):
        if not part.strip():
            continue
        try:
            symbol = parse_ticker(part)
        except TickerError as exc:
            raise TickerError(f"{name}: {exc}") from None
        if symbol in tickers:
            raise TickerError(f"{name} lists {symbol} twice ({text.strip()!r}); list each ticker once")
        tickers.append(symbol)
    if not tickers:
        raise TickerError(f"{name} is empty; give at least one ticker, e.g. {name}=AAPL")
    return tuple(tickers)
