"""``import-csv`` against a store that already holds history: poisonous files are refused with
one line naming file, line and column, and the store is byte-for-byte unchanged, on SQLite
and on the real Postgres (``export prices`` before and after are compared)."""
import os
import subprocess
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import create_engine, text

from marketdata.calendar import trading_days_between
from store.db import create_schema, make_engine, session_factory
from store.prices import insert_prices
from tests.support.cli import assert_one_error_line, run_jobs_in_process
from tests.support.services import POSTGRES_ADMIN_URL, service_missing

HEADER = "Date,Open,High,Low,Close,Volume\n"
DAYS = trading_days_between(pd.Timestamp("2024-01-02").date(), pd.Timestamp("2024-01-31").date())  # 21 sessions


def _stored_history() -> pd.DataFrame:
    close = [100.0 + k for k in range(len(DAYS))]
    return pd.DataFrame({"open": close, "high": [c + 2 for c in close], "low": [c - 2 for c in close],
                         "close": close, "volume": [1_000 + k for k in range(len(DAYS))]},
                        index=pd.DatetimeIndex(DAYS, name="date"))


def _csv_rows(frame: pd.DataFrame, factor: float = 1.0) -> str:
    return "".join(f"{d:%Y-%m-%d},{r.open * factor},{r.high * factor},{r.low * factor},{r.close * factor},{r.volume}\n"
                   for d, r in frame.iterrows())


def _seed(url: str) -> None:
    engine = make_engine(url)
    create_schema(engine)
    with session_factory(engine).begin() as session:
        insert_prices(session, "AAPL", _stored_history(), "test", datetime.now(timezone.utc))
    engine.dispose()


@pytest.fixture
def history(database_url) -> str:
    """A fresh store holding 21 AAPL days of January 2024; its URL."""
    _seed(database_url)
    return database_url


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def shared_history(request, tmp_path_factory, run_cli_module):
    """One seeded store per database for the whole table of refusals (a process costs seconds
    here), with its export taken once before any of them: (url, export text)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('csv') / 'store.db'}"
        _seed(url)
        yield url, run_cli_module("export", "prices", database_url=url).stdout
        return
    admin_url = POSTGRES_ADMIN_URL
    try:
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("select 1"))
    except Exception as exc:  # no Postgres here
        service_missing(f"PostgreSQL not reachable at {admin_url}: {type(exc).__name__}")
    name = f"csv_refusals_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin_url.rsplit("/", 1)[0] + "/" + name
    _seed(url)
    yield url, run_cli_module("export", "prices", database_url=url).stdout
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="module")
def run_cli_module(tmp_path_factory):
    """``python -m jobs ...`` (in this interpreter: tests.support.cli), for module-scoped stores."""
    data = tmp_path_factory.mktemp("data")

    def run(*args: str, database_url: str) -> subprocess.CompletedProcess:
        env = {**os.environ, "DATABASE_URL": database_url, "PRICE_SOURCE": "offline", "DATA_DIR": str(data)}
        return run_jobs_in_process(args, env)

    return run


GOOD = "2024-02-01,101,103,99,102,5000\n"  # a good new day first: all or nothing means it is not written either
ADJ = "Date,Open,High,Low,Close,Adj Close,Volume\n2024-02-01,101,103,99,102,102,5000\n"
CASES = [
    ("year 2300", GOOD + "2300-01-02,1,2,0.5,1.5,10\n", "line 3, column Date: 2300-01-02 is outside 1970-01-01 to"),
    ("year 0001", GOOD + "0001-01-03,1,2,0.5,1.5,10\n", "line 3, column Date: 0001-01-03 is outside"),
    ("year 1850", GOOD + "1850-01-02,1,2,0.5,1.5,10\n", "line 3, column Date: 1850-01-02 is outside"),
    ("saturday", GOOD + "2024-02-03,1,2,0.5,1.5,10\n", "line 3, column Date: 2024-02-03 is a Saturday"),
    ("holiday", GOOD + "2024-02-19,1,2,0.5,1.5,10\n", "line 3, column Date: 2024-02-19 is an NYSE holiday"),
    ("price 1e308", GOOD + "2024-02-02,1,1e308,0.5,1.5,10\n", "line 3, column High: price 1e308 is absurd"),
    ("close > high", GOOD + "2024-02-02,1,2,0.5,2.5,10\n", "line 3, column Close: close 2.5 is outside low..high"),
    ("open < low", GOOD + "2024-02-02,0.2,2,0.5,1.5,10\n", "line 3, column Open: open 0.2 is outside low..high"),
    ("volume 1e308", GOOD + "2024-02-02,1,2,0.5,1.5,1e308\n", "line 3, column Volume: volume 1e308 is absurd"),
    ("volume 2.5", GOOD + "2024-02-02,1,2,0.5,1.5,2.5\n", "line 3, column Volume: volume 2.5 is not a whole number"),
    # Issue 20: poison through the Adj Close adjustment and cells Python's float() and strptime forgive.
    ("adj close 5e-324", ADJ + "2024-02-02,1,2,0.5,1.5,5e-324,10\n", "line 3, column Open: price 5e-324 (Open x Adj Close/Close) is implausible (under 0.0001)"),
    ("adj close 1e7 on 0.01", ADJ + "2024-02-02,0.01,10000000,0.01,0.01,10000000,10\n",
     "line 3, column High: price 1e+16 (High x Adj Close/Close) is absurd (over 1e+07)"),
    ("subnormal 1e-320", GOOD + "2024-02-02,1e-320,1e-320,1e-320,1e-320,10\n",
     "line 3, column Open: price 1e-320 is implausible (under 0.0001)"),
    ("tiny 1e-300", GOOD + "2024-02-02,1e-300,1e-300,1e-300,1e-300,10\n", "column Open: price 1e-300 is implausible"),
    ("underscore 50_0", GOOD + "2024-02-02,50_0,501,499,500,10\n", "line 3, column Open: '50_0' is not a number"),
    ("arabic-indic digits", GOOD + "2024-02-02,\u0665\u0660,51,49,50,10\n", "line 3, column Open: '\u0665\u0660' is not a number"),
    ("price inf", GOOD + "2024-02-02,1,inf,0.5,1.5,10\n", "line 3, column High: 'inf' is not a finite number"),
    ("price nan", GOOD + "2024-02-02,1,2,0.5,NaN,10\n", "line 3, column Close: missing value"),
    ("date with words", GOOD + "2024-02-05 is a monday,1,2,0.5,1.5,10\n",
     "line 3, column Date: '2024-02-05 is a monday' is not a YYYY-MM-DD date"),
    ("date with time and zone", GOOD + "2024-02-02T23:30:00-05:00,1,2,0.5,1.5,10\n",
     "line 3, column Date: '2024-02-02T23:30:00-05:00' is not a YYYY-MM-DD date"),
    ("volume -0", GOOD + "2024-02-02,1,2,0.5,1.5,-0\n", "line 3, column Volume: negative volume -0"),
    ("line of 2,000 characters", GOOD + "2024-02-02," + "1" * 2000 + "\n", "line 3: longer than 1024 characters"),
    ("bom only", "\ufeff", "bad.csv: file is empty"),
    ("header only", HEADER.rstrip("\n"), "bad.csv: no data rows"),
]


@pytest.mark.parametrize("text, message", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_poisonous_files_are_refused_and_nothing_is_written(run_cli_module, shared_history, tmp_path, text, message):
    url, before = shared_history
    bad = tmp_path / "bad.csv"
    bad.write_text(text if text.startswith(("\ufeff", "Date")) else HEADER + text, encoding="utf-8")
    result = run_cli_module("import-csv", str(bad), database_url=url)
    assert_one_error_line(result, "error: bad.csv", message)
    assert len(before.splitlines()) == 1 + len(DAYS)
    assert run_cli_module("export", "prices", database_url=url).stdout == before  # byte for byte


def _over_the_limit(tmp_path):
    big = tmp_path / "big.csv"
    with big.open("wb") as f:  # sparse: 60 MB of size, no disk
        f.write(HEADER.encode())
        f.truncate(60 * 2**20)
    return big, "big.csv: file is 62,914,560 bytes; the limit is 52,428,800 (50 MB)"


def _named_pipe(tmp_path):
    pipe = tmp_path / "pipe.csv"
    os.mkfifo(pipe)  # no writer: a plain open() would block for ever
    return pipe, f"{pipe}: not a regular file"


NOT_FILES = {
    "/dev/zero": lambda tmp_path: (Path("/dev/zero"), "/dev/zero: not a regular file (a device, pipe or folder)"),
    "named pipe": _named_pipe,
    "folder": lambda tmp_path: (tmp_path, f"{tmp_path}: not a regular file"),
    "over 50 MB": _over_the_limit,
}


@pytest.mark.parametrize("kind", NOT_FILES)
def test_what_is_not_a_small_regular_file_is_refused_at_once(run_cli_module, shared_history, tmp_path, kind):
    """Was: /dev/zero grew to 6 GB in 6 s, a named pipe blocked for ever, 211 MB used 2.7 GB."""
    url, before = shared_history
    path, message = NOT_FILES[kind](tmp_path)
    result = run_cli_module("import-csv", str(path), database_url=url)  # run's timeout: a block fails the test
    assert_one_error_line(result, "error: " + message)
    assert run_cli_module("export", "prices", database_url=url).stdout == before  # byte for byte


def test_changed_history_is_refused_without_replace_and_says_by_how_much(run_cli, history, tmp_path):
    """Re-importing the last 10 days +10% once silently replaced them ("imported 10 rows")."""
    before = run_cli("export", "prices", database_url=history).stdout
    bumped = tmp_path / "bumped.csv"
    bumped.write_text(HEADER + _csv_rows(_stored_history().iloc[-10:], factor=1.10) + GOOD)
    refused = run_cli("import-csv", str(bumped), database_url=history)
    assert_one_error_line(refused, "bumped.csv: 10 of 10 rows already stored for AAPL differ, by up to 10.00%",
                          "nothing imported; pass --replace")
    assert run_cli("export", "prices", database_url=history).stdout == before

    replaced = run_cli("import-csv", str(bumped), "--replace", database_url=history)
    assert replaced.returncode == 0, replaced.stderr
    assert "imported 11 rows" in replaced.stdout and "1 new, 0 already stored unchanged, 10 replaced" in replaced.stdout
    closes = [float(line.split(",")[4]) for line in run_cli("export", "prices", database_url=history).stdout.splitlines()[1:]]
    assert closes[-11] == pytest.approx((100.0 + len(DAYS) - 10) * 1.10) and closes[-1] == 102.0


def test_reimporting_the_same_values_is_not_a_change(run_cli, history, tmp_path):
    """An export re-imported (6 decimals) matches the store: no --replace needed."""
    exported = tmp_path / "exported.csv"
    exported.write_text(run_cli("export", "prices", database_url=history).stdout)
    again = run_cli("import-csv", str(exported), database_url=history)
    assert again.returncode == 0, again.stderr
    assert f"0 new, {len(DAYS)} already stored unchanged" in again.stdout
