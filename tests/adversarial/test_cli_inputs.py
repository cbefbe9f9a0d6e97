"""Hostile tickers and numbers on the command line: refused at the edge, one line, nothing stored.

Real ``python -m jobs`` processes. Refusals made by the argument parser never reach the
database, so they run on SQLite only (a process costs seconds on this shared machine);
what does reach a database (the store's own ticker guard, valid symbols as long as
the column, a run id at the column's limit) runs on SQLite and the real Postgres,
where a 36-character ticker once crashed with a traceback.
"""
from datetime import datetime, timezone

import pandas as pd
import pytest

from store.db import session_factory
from store.prices import insert_prices, upsert_prices
from marketdata.tickers import TickerError
from tests.support.cli import assert_one_error_line, stored

GOOD_CSV = "Date,Open,High,Low,Close,Volume\n2024-01-02,10,11,9,10.5,100\n2024-01-03,10,11,9,10,200\n"

# Every command that takes --ticker, each with a different hostile value.
HOSTILE = [
    (["init"], "../../etc", "is not a ticker symbol"),
    (["update"], "A';--", "is not a ticker symbol"),
    (["import-csv", "{csv}"], "<script>", "is not a ticker symbol"),
    (["import-csv", "{csv}"], "A'; DROP TABLE prices;--", "24 characters long; at most 16"),
    (["export", "prices"], "AA PL", "is not a ticker symbol"),
    (["train", "--epochs", "1"], "x" * 36, "36 characters long; at most 16"),
    (["finetune"], "../x", "is not a ticker symbol"),
    (["backtest"], "$(id)", "is not a ticker symbol"),
    (["nightly"], "AAPL;", "is not a ticker symbol"),
    (["simulate", "--nights", "1"], "%00", "is not a ticker symbol"),
]


@pytest.mark.parametrize("command, ticker, why", HOSTILE, ids=[c[0][0] + "-" + str(i) for i, c in enumerate(HOSTILE)])
def test_hostile_tickers_are_refused_and_nothing_is_stored(run_cli, sqlite_url, tmp_path, command, ticker, why):
    csv = tmp_path / "good.csv"
    csv.write_text(GOOD_CSV)
    args = [a.format(csv=csv) for a in command]
    result = run_cli(*args, "--ticker", ticker, database_url=sqlite_url)
    assert_one_error_line(result, "argument --ticker", why)
    assert not (tmp_path / "store.db").exists()  # refused before the store was even opened


@pytest.mark.parametrize("write", [insert_prices, upsert_prices])
@pytest.mark.parametrize("ticker", ["../../etc", "A" * 36, "<script>"])
def test_the_store_write_path_is_the_last_guard(engine, database_url, write, ticker):
    """A caller that skipped the edge check still cannot store a malformed ticker."""
    frame = pd.DataFrame({"open": [1.0], "high": [2.0], "low": [0.5], "close": [1.5], "volume": [10]},
                         index=pd.DatetimeIndex(["2024-01-02"], name="date"))
    with pytest.raises(TickerError):
        with session_factory(engine).begin() as session:
            write(session, ticker, frame, "test", datetime.now(timezone.utc))
    assert stored(database_url)["prices"] == []


@pytest.mark.parametrize("ticker", ["brk-b", "^GSPC", "EURUSD=X", "ABCDEFGHIJ.KLMNO"])
def test_yahoo_symbols_go_in_and_come_out(run_cli, database_url, tmp_path, ticker):
    """The longest valid ticker fits the Postgres column; lower case is stored upper-cased."""
    csv = tmp_path / "good.csv"
    csv.write_text(GOOD_CSV)
    imported = run_cli("import-csv", str(csv), "--ticker", ticker, database_url=database_url)
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.startswith(f"{ticker.upper()}: imported 2 rows")
    out = run_cli("export", "prices", "--ticker", ticker, database_url=database_url)
    assert out.stdout.splitlines()[1:] == ["2024-01-02,10.000000,11.000000,9.000000,10.500000,100",
                                           "2024-01-03,10.000000,11.000000,9.000000,10.000000,200"]


@pytest.mark.parametrize(
    "tickers, why",
    [
        ("AAPL,AAPL,aapl", "TICKERS lists AAPL twice"),  # refused, not de-duplicated: order picks the default
        ("AAPL,../../etc", "TICKERS: ticker '../../etc' is not a ticker symbol"),
        ("A'; DROP TABLE prices;--", "24 characters long"),
        (" , ", "TICKERS is empty"),
    ],
)
def test_hostile_tickers_setting_stops_commands_in_one_line(run_cli, sqlite_url, tmp_path, tickers, why):
    for command in (["init"], ["clock", "--no-bootstrap"]):
        result = run_cli(*command, database_url=sqlite_url, env={"TICKERS": tickers})
        assert_one_error_line(result, why)
    assert not (tmp_path / "store.db").exists()


NUMBERS = [
    (["backtest", "--epochs", "0"], "argument --epochs: 0 is out of range; use 1 to 500"),
    (["cancel", "99999999999999999999999"], "argument run_id: 99999999999999999999999 is out of range"),
    (["cancel", "0"], "argument run_id: 0 is out of range"),
    (["cancel", "3.7"], "argument run_id: '3.7' is not a whole number"),
    (["train", "--epochs", "-1"], "argument --epochs: -1 is out of range"),
    (["finetune", "--epochs", "abc"], "argument --epochs: 'abc' is not a whole number"),
    (["nightly", "--epochs", "100000"], "argument --epochs: 100000 is out of range"),
    (["simulate", "--nights", "0"], "argument --nights: 0 is out of range"),
    (["simulate", "--finetune-epochs", "0"], "argument --finetune-epochs: 0 is out of range"),
    (["runs", "--limit", "-5"], "argument --limit: -5 is out of range"),
    (["backtest", "--every", "0"], "argument --every: 0 is out of range"),
    (["train", "--seed", "1e3"], "argument --seed: '1e3' is not a whole number"),
    (["nightly", "--queue", "--wait", "nan"], "argument --wait: nan is out of range"),
    (["export", "nonsense"], "argument what: invalid choice"),
    (["no-such-command"], "invalid choice"),
]


@pytest.mark.parametrize("command, why", NUMBERS, ids=["-".join(c[0])[:40] for c in NUMBERS])
def test_numbers_out_of_range_are_one_line(run_cli, sqlite_url, tmp_path, command, why):
    result = run_cli(*command, database_url=sqlite_url)
    assert_one_error_line(result, why)
    assert not (tmp_path / "store.db").exists()


def test_the_largest_run_id_reaches_the_database_and_is_one_line(run_cli, database_url, engine):
    """2**31-1 is the largest id a Postgres Integer holds: asked for, it is simply not running."""
    assert_one_error_line(run_cli("cancel", "2147483647", database_url=database_url),
                          "run #2147483647 is not running")
