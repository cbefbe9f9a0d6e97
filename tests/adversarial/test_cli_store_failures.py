"""Broken stores and settings: every command, the clock and the worker say what is wrong in
one ``error:`` line, exit 2, no traceback, and never retry a configuration error as an outage."""
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.cli import assert_one_error_line
from tests.support.services import POSTGRES_ADMIN_URL, ROOT, own_redis_url

PG_HOST = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].split("@")[-1]  # host:port of the machine's Postgres
COMMANDS = [
    ["status"], ["init"], ["import-csv", "{csv}"], ["export", "prices"], ["runs"], ["cancel", "1"],
    ["migrate"], ["train", "--epochs", "1"], ["nightly"], ["clock"],
]
BROKEN_URLS = [
    ("dead port", "postgresql://postgres@127.0.0.1:1/test", "database unreachable (postgresql 127.0.0.1:1/test)"),
    ("missing database", f"postgresql://postgres@{PG_HOST}/no_such_db_here", 'database "no_such_db_here" does not exist'),
    ("unknown role", f"postgresql://no_such_role@{PG_HOST}/test", 'role "no_such_role" does not exist'),
    ("malformed", "postgresql://:::x", "DATABASE_URL is not a database URL"),
    ("mysql", "mysql://user:secret@127.0.0.1/db", "DATABASE_URL scheme 'mysql' is not supported"),
]


# Every command against a store it cannot reach; a URL refused by the settings check takes
# the same path for every command, so three of them suffice there (a process costs seconds).
MATRIX = [(name, url, why, cmd) for name, url, why in BROKEN_URLS for cmd in COMMANDS
          if name not in ("malformed", "mysql") or cmd[0] in ("status", "train", "clock")]


@pytest.mark.parametrize("url, why, command", [m[1:] for m in MATRIX], ids=[f"{m[0]}-{m[3][0]}" for m in MATRIX])
def test_broken_database_urls_are_one_line(request, run_cli, tmp_path, url, why, command):
    if "no_such" in url:
        request.getfixturevalue("postgres_database")  # the server must answer to say what it lacks (else skip)
    csv = tmp_path / "p.csv"
    csv.write_text("Date,Open,High,Low,Close,Volume\n2024-01-02,1,2,0.5,1.5,10\n")
    started = time.monotonic()
    result = run_cli(*[a.format(csv=csv) for a in command], database_url=url, env={"STORE_RETRY_SECONDS": "60"})
    line = assert_one_error_line(result, why)
    assert "secret" not in line  # a password in the URL is never printed
    assert time.monotonic() - started < 45  # refused at start: no 60 s outage retry


def _make_read_only(path: Path) -> None:
    """A file nobody may write. Root ignores permission bits, so root sets the immutable flag."""
    if os.geteuid() != 0:
        path.chmod(0o444)
        return
    if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(path)]).returncode != 0:
        pytest.skip("running as root without chattr +i: cannot make a file read-only here")


def _undo_read_only(path: Path) -> None:
    if os.geteuid() == 0 and shutil.which("chattr"):
        subprocess.run(["chattr", "-i", str(path)], check=False)
    path.chmod(0o644)


@pytest.fixture
def read_only_store(run_cli, tmp_path):
    """A seeded SQLite store whose file cannot be written; its URL."""
    url = f"sqlite:///{tmp_path / 'ro.db'}"
    assert run_cli("import-csv", str(_csv(tmp_path)), database_url=url).returncode == 0
    _make_read_only(tmp_path / "ro.db")
    yield url
    _undo_read_only(tmp_path / "ro.db")


def _csv(tmp_path: Path) -> Path:
    path = tmp_path / "one.csv"
    path.write_text("Date,Open,High,Low,Close,Volume\n2024-01-02,1,2,0.5,1.5,10\n")
    return path


@pytest.mark.parametrize(
    "command",
    [["init", "--ticker", "MSFT"], ["import-csv", "{csv}", "--ticker", "IBM"], ["train", "--epochs", "1"],
     ["nightly", "--epochs", "1"]],
    ids=["init", "import-csv", "train", "nightly"],
)
def test_a_read_only_sqlite_file_is_named_as_such_and_not_retried(run_cli, read_only_store, tmp_path, command):
    started = time.monotonic()
    args = [a.format(csv=_csv(tmp_path)) for a in command]
    result = run_cli(*args, database_url=read_only_store, env={"STORE_RETRY_SECONDS": "60"})
    assert_one_error_line(result, f"SQLite file {tmp_path / 'ro.db'} is read-only", "readonly database")
    assert "unreachable" not in result.stderr
    assert time.monotonic() - started < 45  # not retried for STORE_RETRY_SECONDS as if it were an outage
    # Reading a read-only store still works.
    assert run_cli("status", database_url=read_only_store).returncode == 0


@pytest.fixture(params=["file in the way", "immutable folder"])
def unwritable_data_dir(request, tmp_path) -> Path:
    """A DATA_DIR that cannot be created: a file stands where a folder should be, or its
    parent folder may not be written."""
    if request.param == "file in the way":
        (tmp_path / "plain-file").write_text("not a folder")
        yield tmp_path / "plain-file" / "data"
        return
    parent = tmp_path / "locked"
    parent.mkdir()
    _make_read_only(parent)
    yield parent / "data"
    _undo_read_only(parent)


@pytest.mark.parametrize("command", [["status"], ["init"], ["clock"]], ids=["status", "init", "clock"])
def test_an_unwritable_data_dir_is_one_line(run_cli, unwritable_data_dir, command):
    # No DATABASE_URL: the default SQLite file lives in DATA_DIR.
    result = run_cli(*command, database_url="", env={"DATA_DIR": str(unwritable_data_dir)})
    assert_one_error_line(result, f"cannot create the folder {unwritable_data_dir}", "check DATA_DIR")


SETTINGS = [
    # (setting, value, command, fragment): each checked at start by the processes that use it.
    ("PIPELINE_EPOCHS", "-1", ["nightly"], "PIPELINE_EPOCHS=-1 is out of range: use 0 to 500"),
    ("PIPELINE_FINETUNE_EPOCHS", "1e308", ["train"], "PIPELINE_FINETUNE_EPOCHS='1e308' is not a whole number"),
    ("YAHOO_RETRIES", "-1", ["update"], "YAHOO_RETRIES=-1 is out of range: use 1 to 20"),
    ("YAHOO_TIMEOUT", "0", ["init"], "YAHOO_TIMEOUT=0 is out of range"),
    ("PRICE_OVERLAP_DAYS", "-10", ["update"], "PRICE_OVERLAP_DAYS=-10 is out of range"),
    ("STORE_RETRY_SECONDS", "-5", ["train"], "STORE_RETRY_SECONDS=-5 is out of range"),
    ("LEASE_TTL_SECONDS", "1", ["nightly"], "LEASE_TTL_SECONDS=1 is out of range: use 2 to"),
    ("CLOCK_TIME", "25:99", ["clock"], "CLOCK_TIME='25:99' must be HH:MM"),
    ("CLOCK_DAYS", "someday", ["clock"], "CLOCK_DAYS='someday'"),
    ("CLOCK_MISFIRE_GRACE", "-1", ["clock"], "CLOCK_MISFIRE_GRACE=-1 is out of range"),
    ("CLOCK_TIMEZONE", "Mars/Base", ["nightly"], "CLOCK_TIMEZONE='Mars/Base' is not an IANA time zone"),
    ("PRICE_SOURCE", "bloomberg", ["init"], "PRICE_SOURCE='bloomberg' must be one of"),
    # Issue 20, point 7: once accepted (tracebacks later, or success that stored nothing).
    ("REDIS_URL", "http://localhost:6379/0", ["status"], "REDIS_URL scheme 'http' is not supported"),
    ("REDIS_URL", "redis://[::1", ["clock"], "REDIS_URL is not a URL (Invalid IPv6 URL)"),
    ("REDIS_URL", "var/redis.sock", ["nightly"], "REDIS_URL scheme '' is not supported"),
    ("REDIS_URL", "redis://localhost:6379/99", ["status"], "REDIS_URL database '99' must be a number from 0 to 15"),
    ("REDIS_URL", "redis://:secret@:6379/0", ["status"], "REDIS_URL names no host"),
    ("DATABASE_URL", "sqlite://", ["init"], "DATABASE_URL is an in-memory SQLite store"),
    ("DATABASE_URL", "sqlite:///:memory:", ["import-csv", "x.csv"], "DATABASE_URL is an in-memory SQLite store"),
    ("DATABASE_URL", "sqlite:////proc/forecast/store.db", ["status"],
     "DATABASE_URL: cannot create the folder /proc/forecast or write into it"),
    ("CACHE_DIR", "/dev/null/cache", ["status"], "CACHE_DIR: cannot create the folder /dev/null/cache"),
    ("CACHE_DIR", "/dev/null", ["clock"], "CACHE_DIR: /dev/null is not a folder"),
    ("DATA_DIR", "/proc/forecast-data", ["init"], "DATA_DIR: cannot create the folder /proc/forecast-data"),
]


@pytest.mark.parametrize("name, value, command, why", SETTINGS, ids=[s[0] for s in SETTINGS])
def test_bad_settings_stop_the_process_that_uses_them_at_start(run_cli, sqlite_url, tmp_path, name, value,
                                                               command, why):
    result = run_cli(*command, database_url=sqlite_url, env={name: value})
    assert_one_error_line(result, why)
    assert "secret" not in result.stderr
    assert not (tmp_path / "store.db").exists()  # checked before the store is touched


WEB_SETTINGS = [s for s in SETTINGS if s[0] in ("REDIS_URL", "DATABASE_URL", "CACHE_DIR", "DATA_DIR")]


@pytest.mark.parametrize("name, value, why", [s[:2] + s[3:] for s in WEB_SETTINGS], ids=[s[1] for s in WEB_SETTINGS])
def test_the_web_refuses_a_bad_core_setting_in_one_line(sqlite_url, tmp_path, name, value, why):
    """Was: the web died with a traceback (CACHE_DIR, DATA_DIR, REDIS_URL) or served an empty in-memory store.
    The factory's status is gunicorn's "application failed to load" (see the gunicorn test below)."""
    env = {**os.environ, "DATABASE_URL": sqlite_url, "DATA_DIR": str(tmp_path / "data"), name: value}
    code = "from dashboard import app; app.create_server()"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 4, result.stderr[-2000:]
    assert "Traceback" not in result.stderr and [line for line in result.stderr.splitlines() if line.strip()] == [
        next(line for line in result.stderr.splitlines() if line.startswith("error: "))]
    assert why in result.stderr and not (tmp_path / "store.db").exists()


def test_a_clock_setting_does_not_stop_commands_that_do_not_schedule(run_cli, sqlite_url):
    result = run_cli("status", database_url=sqlite_url, env={"CLOCK_TIME": "25:99", "CLOCK_DAYS": "x"})
    assert result.returncode == 0, result.stderr


def test_the_web_boots_whatever_the_clock_and_training_settings_are(sqlite_url, tmp_path):
    """The web imports the app and reads its settings with CLOCK_TIME and PIPELINE_EPOCHS broken."""
    env = {**os.environ, "DATABASE_URL": sqlite_url, "DATA_DIR": str(tmp_path / "data"), "CLOCK_TIME": "99:99",
           "CLOCK_DAYS": "never", "PIPELINE_EPOCHS": "-1", "YAHOO_RETRIES": "-1"}
    env.pop("REDIS_URL", None)
    code = "from dashboard import app, data; app.create_server(); print(data.settings().tickers)"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("('AAPL',)")


def test_gunicorn_with_a_bad_web_setting_stops_with_one_line_and_status_2_before_any_worker(tmp_path):
    """gunicorn.conf.py checks the web's settings in the master: one error line, exit 2, no worker booted
    (was: each worker printed the line and the master stopped with gunicorn's load-error status 4)."""
    from scripts.web_server import free_port, gunicorn_bin

    env = {**os.environ, "DATABASE_URL": "mysql://u@h/db", "DATA_DIR": str(tmp_path / "data")}
    env.pop("REDIS_URL", None)
    result = subprocess.run([gunicorn_bin(), "-w", "2", "-b", f"127.0.0.1:{free_port()}", "dashboard.app:create_server()"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr[-2000:]
    assert [line for line in result.stderr.splitlines() if "error" in line.lower()] == [  # beside gunicorn's INFO
        "error: DATABASE_URL scheme 'mysql' is not supported; use sqlite:///... or "
        "postgresql://... (or Heroku's postgres://...)"]
    assert "Booting worker" not in result.stderr


def test_the_factory_alone_still_stops_gunicorn_when_started_without_the_settings_file(tmp_path):
    """Started with another settings file (-c /dev/null), the worker's factory refuses: status 4, no reboot loop.

    One worker: with two failing at the same instant, gunicorn's arbiter reaps the second inside its own
    halt and dies of the HaltServer it raises there (exit 1, a traceback; gunicorn's race, not ours)."""
    from scripts.web_server import free_port, gunicorn_bin

    env = {**os.environ, "DATABASE_URL": "mysql://u@h/db", "DATA_DIR": str(tmp_path / "data")}
    env.pop("REDIS_URL", None)
    result = subprocess.run([gunicorn_bin(), "-c", "/dev/null", "-w", "1", "-b", f"127.0.0.1:{free_port()}",
                             "dashboard.app:create_server()"], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 4, result.stderr[-2000:]
    assert "Traceback" not in result.stderr and "App failed to load" in result.stderr
    assert result.stderr.count("Booting worker") == 1  # booted once, never again


@pytest.mark.parametrize(
    "name, value, why",
    [("PIPELINE_EPOCHS", "-1", "PIPELINE_EPOCHS=-1 is out of range"),
     ("TICKERS", "AAPL,aapl", "TICKERS lists AAPL twice"),
     ("DATABASE_URL", "mysql://u@h/db", "DATABASE_URL scheme 'mysql' is not supported"),
     ("REDIS_URL", "redis://localhost:6379/99", "REDIS_URL database '99' must be a number from 0 to 15"),
     ("REDIS_URL", "http://localhost:6379/0", "REDIS_URL scheme 'http' is not supported"),
     ("CACHE_DIR", "/dev/null/cache", "CACHE_DIR: cannot create the folder /dev/null/cache")],
)
def test_the_celery_worker_refuses_bad_settings_in_one_line(sqlite_url, tmp_path, name, value, why):
    celery = Path(sys.executable).with_name("celery")
    env = {**os.environ, "DATABASE_URL": sqlite_url, "DATA_DIR": str(tmp_path / "data"),
           "REDIS_URL": own_redis_url(__name__), name: value}
    result = subprocess.run([str(celery), "-A", "jobs.worker:celery_app", "worker", "--concurrency=1"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert_one_error_line(result, why)
