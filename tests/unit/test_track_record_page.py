"""The Track record page through the callback endpoint, on a store with a ledger and on one without."""
from __future__ import annotations

import csv
import io
import re
import shutil

import pytest
from sqlalchemy import func, select

from store.db import make_engine
from store.ledger import CSV_HEADER
from store.tables import LedgerEntry
from scripts.bench_ledger import fill_ledger
from tests.support.dash_client import call, ids_in, render_page
from dashboard import ids

CELL_OUT = f"..{ids.Track.FAN}.figure...{ids.Track.CUMULATIVE}.figure...{ids.Track.COVERAGE}.figure...{ids.Track.VERDICT}.children...{ids.Track.SCORES}.data.."
TABLE_OUT = f"..{ids.Track.TABLE}.data...{ids.Track.TABLE}.page_count...{ids.Track.TABLE_COUNT}.children...{ids.Track.TABLE}.page_current.."


@pytest.fixture(scope="module")
def ledger_file(fixture_store_file, tmp_path_factory):
    """The fixture store with 120 days of synthetic ledger for AAPL and MSFT (live, and the GRU's last 60
    replayed), written once for the module."""
    path = tmp_path_factory.mktemp("ledger") / "store.db"
    shutil.copy(fixture_store_file, path)
    engine = make_engine(f"sqlite:///{path}")
    fill_ledger(engine, ("AAPL", "MSFT"), days=120)
    engine.dispose()
    return path


@pytest.fixture
def ledger_url(ledger_file, tmp_path) -> str:
    """A private copy of ``ledger_file`` (tests may write to it); its URL."""
    shutil.copy(ledger_file, tmp_path / "ledger.db")
    return f"sqlite:///{tmp_path / 'ledger.db'}"


def count(url: str, **where) -> int:
    engine = make_engine(url)
    with engine.connect() as conn:
        n = conn.execute(select(func.count()).select_from(LedgerEntry).filter_by(**where)).scalar()
    engine.dispose()
    return n


def table(client, page=0, cell="gru", kind="all", horizon=0, scored="all", ticker=None, changed=None):
    return call(client, TABLE_OUT, [(ids.Track.TABLE, "page_current", page), (ids.Track.CELL, "value", cell),
                                    (ids.Track.FILTER_KIND, "value", kind), (ids.Track.FILTER_HORIZON, "value", horizon),
                                    (ids.Track.FILTER_SCORED, "value", scored)], [(ids.Track.TICKER, "data", ticker)],
                changed=changed)


def test_an_empty_ledger_says_what_fills_it(dash_client, fixture_store_url):
    r = render_page(dash_client(fixture_store_url), "/track-record")
    assert r.status_code == 200 and ids.Track.EMPTY in ids_in(r.json)
    assert "python -m jobs ledger backfill" in r.get_data(as_text=True)


def test_the_page_shows_the_verdict_charts_and_counts_kinds_apart(dash_client, ledger_url):
    client = dash_client(ledger_url)
    r = render_page(client, "/track-record")
    text = r.get_data(as_text=True)
    assert {ids.Track.FAN, ids.Track.CUMULATIVE, ids.Track.COVERAGE, ids.Track.VERDICT, ids.Track.TABLE,
            ids.Track.DOWNLOAD_BTN} <= ids_in(r.json)
    live, replayed = count(ledger_url, ticker="AAPL", kind="live"), count(ledger_url, ticker="AAPL", kind="replayed")
    assert f"{live:,} live rows and {replayed:,} replayed rows" in text
    # the selector's first value fills the charts and the verdict as the page loads
    out = call(client, CELL_OUT, [(ids.Track.CELL, "value", "gru")], [(ids.Track.TICKER, "data", None)]).json["response"]
    words = out[ids.Track.VERDICT]["children"]
    assert words.startswith("Over the last 60 live one-day forecasts the GRU was")
    assert "In a replay of" in words  # the replayed GRU rows are judged in a sentence of their own
    assert [t["name"] for t in out[ids.Track.CUMULATIVE]["figure"]["data"]][:2] == [
        f"live ({count(ledger_url, ticker='AAPL', cell='gru', kind='live', horizon=1) - 1} days)",
        "replayed (59 days)"]


def test_the_ticker_comes_from_the_url_and_only_from_the_configured_list(dash_client, ledger_url):
    client = dash_client(ledger_url, TICKERS="AAPL,MSFT")
    assert "MSFT track record" in render_page(client, "/track-record", search="?ticker=msft").get_data(as_text=True)
    refused = render_page(client, "/track-record", search="?ticker=EVIL")  # never another ticker in its place
    assert ids.refused(ids.Track.PAGE) in ids_in(refused.json) and "track record" not in refused.get_data(as_text=True)


def test_switching_cell_redraws_every_chart(dash_client, ledger_url):
    r = call(dash_client(ledger_url), CELL_OUT, [(ids.Track.CELL, "value", "lstm")], [(ids.Track.TICKER, "data", None)])
    out = r.json["response"]
    assert r.status_code == 200 and out[ids.Track.FAN]["figure"]["layout"]["title"]["text"].startswith("LSTM v")
    assert out[ids.Track.VERDICT]["children"].startswith("Over the last 60 live one-day forecasts the LSTM")


def test_the_table_pages_through_the_filtered_rows_newest_first(dash_client, ledger_url):
    client = dash_client(ledger_url)
    n = count(ledger_url, ticker="AAPL", cell="gru", kind="replayed", horizon=3)
    first = table(client, kind="replayed", horizon=3).json["response"]
    rows = first[ids.Track.TABLE]["data"]
    assert first[ids.Track.TABLE]["page_count"] == -(-n // 15) and first[ids.Track.TABLE_COUNT]["children"].startswith(f"{n:,} rows")
    assert len(rows) == 15 and {r["kind"] for r in rows} == {"replayed"} and {r["horizon"] for r in rows} == {3}
    assert [r["origin"] for r in rows] == sorted((r["origin"] for r in rows), reverse=True)
    last = table(client, page=10_000, kind="replayed", horizon=3).json["response"]  # clamped to the last page
    assert last[ids.Track.TABLE_COUNT]["children"].endswith(f"page {-(-n // 15)} of {-(-n // 15)}")
    refiltered = table(client, page=3, kind="live", changed=[f"{ids.Track.FILTER_KIND}.value"]).json["response"]
    assert refiltered[ids.Track.TABLE]["page_current"] == 0  # a new filter starts on its first page
    pending = table(client, scored="pending").json["response"][ids.Track.TABLE]["data"]
    assert pending and all(r["actual"] is None for r in pending)


@pytest.mark.parametrize("bad", [dict(cell="evil"), dict(kind="all'--"), dict(horizon="1; drop"), dict(horizon=True),
                                 dict(horizon=999), dict(horizon=1.5), dict(scored="maybe"), dict(page=-1),
                                 dict(page="x" * 100_000), dict(ticker="EVIL")])
def test_the_table_refuses_values_no_control_offers(dash_client, ledger_url, bad):
    r = table(dash_client(ledger_url), **bad)
    out = r.json["response"]
    assert list(out) == [ids.Track.TABLE_COUNT] and out[ids.Track.TABLE_COUNT]["children"].startswith("Refused: ")


def test_the_csv_download_has_the_export_columns_oldest_first(dash_client, ledger_url):
    r = call(dash_client(ledger_url), f"..{ids.Track.DOWNLOAD}.data...{ids.Track.DOWNLOAD_MSG}.children..", [(ids.Track.DOWNLOAD_BTN, "n_clicks", 1)],
             [(ids.Track.CELL, "value", "gru"), (ids.Track.FILTER_KIND, "value", "live"),
              (ids.Track.FILTER_HORIZON, "value", 1), (ids.Track.FILTER_SCORED, "value", "all"),
              (ids.Track.TICKER, "data", None)])
    download = r.json["response"][ids.Track.DOWNLOAD]["data"]
    assert r.json["response"][ids.Track.DOWNLOAD_MSG]["children"] == ""
    lines = list(csv.reader(io.StringIO(download["content"])))
    assert lines[0] == CSV_HEADER and download["filename"] == "AAPL-gru-ledger.csv"
    assert len(lines) - 1 == count(ledger_url, ticker="AAPL", cell="gru", kind="live", horizon=1)
    assert [row[2] for row in lines[1:]] == sorted(row[2] for row in lines[1:])  # oldest origin first
    assert {row[15] for row in lines[1:]} == {"live"} and {row[0] for row in lines[1:]} == {"AAPL"}
    prices = [v for row in lines[1:] for v in row[8:15] if v]  # Predicted .. Persistence, to the cent
    assert prices and all(re.fullmatch(r"\d+\.\d{2}", v) for v in prices)


def test_the_ledger_csv_writes_prices_at_the_dashboards_precision():
    from dashboard import fmt
    from store.ledger import CSV_PRICE_DECIMALS

    assert CSV_PRICE_DECIMALS == fmt.PRICE_DECIMALS  # the store may not import the dashboard; the two must agree


def test_a_superseded_publication_is_shown_marked_and_never_counted(dash_client, ledger_url):
    """A second set for the newest GRU origin (a retrain the same evening) adds rows, not forecasts."""
    from sqlalchemy import insert

    engine = make_engine(ledger_url)
    with engine.begin() as conn:
        newest = conn.execute(select(func.max(LedgerEntry.origin)).where(LedgerEntry.ticker == "AAPL")).scalar()
        rows = conn.execute(select(LedgerEntry.__table__).where(
            LedgerEntry.ticker == "AAPL", LedgerEntry.cell == "gru", LedgerEntry.kind == "live",
            LedgerEntry.origin == newest)).mappings().all()
        conn.execute(insert(LedgerEntry), [{k: v for k, v in r.items() if k != "id"} |
                                           {"model_id": 999_999, "predicted": r["predicted"] * 2, "of_record": False}
                                           for r in rows])
    engine.dispose()
    client = dash_client(ledger_url)
    text = render_page(client, "/track-record").get_data(as_text=True)
    live = count(ledger_url, ticker="AAPL", kind="live", of_record=True)
    assert f"{live:,} live rows" in text and f"{len(rows)} later publications" in text and "superseded" in text
    shown = table(client).json["response"][ids.Track.TABLE]["data"]
    marks = [r["counts"] for r in shown if r["origin"] == str(newest)]
    assert marks.count("superseded") == len(rows) and marks.count("yes") == 2 * len(rows)  # live and replayed
    fan = call(client, CELL_OUT, [(ids.Track.CELL, "value", "gru")], [(ids.Track.TICKER, "data", None)]).json
    predicted = [t for t in fan["response"][ids.Track.FAN]["figure"]["data"] if t.get("name") == "published forecast"][0]
    assert max(predicted["y"]) < 2 * min(predicted["y"])  # the fan draws the forecast of record, not the doubled one


def test_live_coverage_per_volatility_third_follows_the_cell(dash_client, ledger_url):
    """The live band coverage by third of origin volatility is drawn, or says how many live days it still waits for."""
    r = call(dash_client(ledger_url), f"{ids.Track.THIRDS}.children", [(ids.Track.CELL, "value", "gru")],
             [(ids.Track.TICKER, "data", None)])
    text = str(r.json["response"][ids.Track.THIRDS]["children"])
    assert r.status_code == 200 and "Live coverage in calm and in turbulent times" in text
    # the fixture ledger has more than 60 live GRU days: the table is drawn, 2 levels x 3 thirds
    assert "live days are scored one day ahead" not in text and text.count("'third': 'calm'") == 2
    assert text.count("'third': 'turbulent'") == 2 and "'h=1'" in text
    refused = call(dash_client(ledger_url), f"{ids.Track.THIRDS}.children", [(ids.Track.CELL, "value", "evil")],
                   [(ids.Track.TICKER, "data", None)])
    assert refused.json["response"][ids.Track.THIRDS]["children"].startswith("Refused:")
