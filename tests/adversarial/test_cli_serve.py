"""``python -m jobs serve`` refuses what it cannot serve in one line, exit 2, and changes nothing."""
from __future__ import annotations

import pytest

from store.db import create_schema, make_engine
from store.ledger import has_rows
from tests.support.cli import assert_one_error_line, stored


def _schema(url: str) -> None:
    engine = make_engine(url)
    create_schema(engine)
    engine.dispose()


@pytest.mark.parametrize("args, says", [
    (["serve", "--ticker", "ZZZZ"], "error: --ticker ZZZZ is not configured; TICKERS has AAPL"),
    (["serve", "--ticker", "AA PL"], "is not a ticker symbol"),
    (["serve", "--ticker", "x" * 36], "36 characters long; at most 16"),
    (["serve", "--nope"], "unrecognized arguments: --nope"),
    (["serve"], "error: no prices stored for AAPL; run: python -m jobs init --ticker AAPL"),
])
def test_refusals_are_one_line_and_change_nothing(run_cli, sqlite_url, args, says):
    """Unknown tickers, hostile values and an empty store: one error line, nothing written."""
    _schema(sqlite_url)
    before = stored(sqlite_url)
    assert_one_error_line(run_cli(*args, database_url=sqlite_url), says)
    assert stored(sqlite_url) == before


def test_prices_without_a_champion_say_to_train_first(run_cli, database_url):
    """Prices but no model: nothing to serve from, said in one line; no ledger row, no run."""
    assert run_cli("init", database_url=database_url).returncode == 0
    before = stored(database_url)
    assert_one_error_line(run_cli("serve", database_url=database_url),
                          "error: no champion of AAPL to serve; run: python -m jobs train --ticker AAPL")
    engine = make_engine(database_url)
    assert stored(database_url) == before and not has_rows(engine, "AAPL")
    engine.dispose()
