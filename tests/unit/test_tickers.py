"""The one ticker pattern: Yahoo symbols in, everything else out, and it fits the schema."""
import pytest
from sqlalchemy import String

from store.tables import Base
from marketdata.tickers import TICKER_MAX_LEN, TickerError, parse_ticker, parse_ticker_list


@pytest.mark.parametrize(
    "given, stored",
    [
        ("AAPL", "AAPL"),
        ("aapl", "AAPL"),  # Yahoo symbols are case-insensitive
        (" msft ", "MSFT"),  # hand-typed spaces around, not inside
        ("AAPL\n", "AAPL"),
        ("BRK-B", "BRK-B"),
        ("^GSPC", "^GSPC"),
        ("EURUSD=X", "EURUSD=X"),
        ("ES=F", "ES=F"),
        ("0700.HK", "0700.HK"),
        ("BTC-USD", "BTC-USD"),
        ("A" * TICKER_MAX_LEN, "A" * TICKER_MAX_LEN),
    ],
)
def test_yahoo_symbols_are_accepted(given, stored):
    assert parse_ticker(given) == stored


@pytest.mark.parametrize(
    "given, why",
    [
        ("../../etc", "not a ticker symbol"),
        ("A'; DROP TABLE prices;--", "24 characters long"),
        ("A';--", "not a ticker symbol"),
        ("<script>", "not a ticker symbol"),
        ("AA PL", "not a ticker symbol"),
        ("A" * 36, "36 characters long; at most 16"),
        ("", "empty"),
        ("^", "not a ticker symbol"),
        ("BRK--B", "not a ticker symbol"),
        ("-B", "not a ticker symbol"),
        ("GSPC^", "not a ticker symbol"),
        ("ÄPPL", "not a ticker symbol"),
        ("X" * 100_000, "100000 characters long"),
    ],
)
def test_everything_else_is_refused_in_one_short_line(given, why):
    with pytest.raises(TickerError) as err:
        parse_ticker(given)
    message = str(err.value)
    assert why in message and "\n" not in message and len(message) < 200


def test_every_ticker_column_holds_the_longest_valid_ticker():
    """A valid ticker always fits: Postgres would refuse a longer one, SQLite would not say."""
    columns = [t.c.ticker for t in Base.metadata.tables.values() if "ticker" in t.c]
    assert len(columns) >= 4  # prices, models, champions, runs, ...
    for column in columns:
        assert isinstance(column.type, String) and column.type.length >= TICKER_MAX_LEN, column


@pytest.mark.parametrize(
    "text, expected",
    [("AAPL", ("AAPL",)), ("aapl, msft,,IBM", ("AAPL", "MSFT", "IBM")), ("^GSPC,BRK-B", ("^GSPC", "BRK-B"))],
)
def test_ticker_lists_keep_their_order(text, expected):
    assert parse_ticker_list(text) == expected


@pytest.mark.parametrize(
    "text, why",
    [
        ("AAPL,AAPL,aapl", "TICKERS lists AAPL twice"),  # refused, not de-duplicated
        ("aapl,MSFT,AAPL", "TICKERS lists AAPL twice"),
        ("AAPL,../x", "TICKERS: ticker '../x' is not a ticker symbol"),
        (" , ", "TICKERS is empty"),
    ],
)
def test_bad_ticker_lists_are_refused(text, why):
    with pytest.raises(TickerError, match=why.replace("(", r"\(")):
        parse_ticker_list(text)
