"""Shared fixtures: a fresh SQLite or Postgres store per test, CLI runner, services.

Tests that need a service (Postgres, Redis, Chromium) skip with the reason when it
is absent; with REQUIRE_SERVICES=1 (set by .ci/run) a missing service is a failure.
Helpers that are not fixtures live in tests/support (paths and services: tests.support.services).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from scripts.process_tree import tree_cpu_seconds
from store.db import create_schema, make_engine
from tests.support.cli import run_jobs_in_process
from tests.support.clock import clock_time_away_from
from tests.support.module_order import DensityFileScheduling, ModuleTime
from tests.support.services import CHROMIUM, CHROMIUM_ARGS, POSTGRES_ADMIN_URL, ROOT, emptied_redis, own_redis_url, service_missing
from tests.support.services import fresh_postgres as _fresh_postgres

# Tests train for an epoch or two (PIPELINE_EPOCHS, --epochs) and, unless a test sets it, evaluate without
# the warm-start refits (EVAL_REFIT_EPOCHS=0): the refits were a third of every training's time, and the
# tests that train through a command or a process are about processes, queues, stores and pages, not
# about the refits. The refits keep their own tests, which build their settings or RollingSpec explicitly
# (test_models_rolling, test_models_backtest, test_training_pipeline, test_serve). Every command run in
# process and every subprocess inherits this; a value already in the environment wins.
os.environ.setdefault("EVAL_REFIT_EPOCHS", "0")

# Every real clock in the suite (``python -m jobs clock``, in many modules) would fire the nightly run and
# the weekly retrain at 18:30 New York, its default, in the middle of whatever test had it running. A suite
# started near 23:30 UTC (22:30 in summer) would see a run no test asked for and fail on the run counts.
# Half a day from now instead: a clock can never fire on its own within a run. A test that sets
# CLOCK_TIME itself still wins, and only the clock's triggers read it.
os.environ.setdefault("CLOCK_TIME", clock_time_away_from(datetime.now(timezone.utc)))

# The nightly run retrains every cell on RETRAIN_WEEKDAY (default Saturday, by the New York date it starts)
# instead of fine-tuning the GRU champion. A test that expects the fine-tune then failed only when the suite
# ran on a Saturday, as CI did on 2026-12-05. The suite runs with no retrain weekday; the tests of the
# weekday rule and of the clock's weekly job set it themselves (test_pipeline_nightly, test_clock_schedule,
# test_clock_processes).
os.environ.setdefault("RETRAIN_WEEKDAY", "")

# Shared fixtures live in tests/support; registering them here makes them visible to every test
# without star- or noqa-imports (pytest allows pytest_plugins only in the root conftest).
pytest_plugins = ["tests.support.dashboard_env", "tests.support.browser"]


@pytest.fixture(scope="session")
def postgres_database():
    """A throw-away Postgres database for this test session; its URL."""
    try:
        admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("select 1"))
    except Exception as exc:  # any connection failure means: no Postgres here
        service_missing(f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL}: {type(exc).__name__}")
    name = f"forecast_test_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def redis_url(request):
    """The test module's own database of the test Redis (tests.support.services.REDIS_DATABASES: a worker one
    module starts must never take another module's task), reachable (else skipped) and emptied before and after."""
    yield from emptied_redis(own_redis_url(request.module.__name__))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request, tmp_path) -> str:
    """URL of an empty store, once on SQLite and once on the real Postgres."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return _fresh_postgres(request.getfixturevalue("postgres_database"))


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    """URL of an empty SQLite store (for tests whose point is not the database)."""
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.fixture
def engine(database_url):
    """An engine on a fresh store with the schema created."""
    eng = make_engine(database_url)
    create_schema(eng)
    yield eng
    eng.dispose()


def _cli_env(tmp_path: Path, database_url: str, env: dict | None) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": database_url, "PRICE_SOURCE": "offline",
            "DATA_DIR": str(tmp_path / "data"), **(env or {})}


@pytest.fixture
def run_cli(tmp_path):
    """Run ``python -m jobs ...`` against a given store, in this interpreter (tests.support.cli:
    the exit status, stdout and stderr a subprocess would give, without its start-up)."""

    def run(*args: str, database_url: str, stdin: str | None = None, env: dict | None = None, timeout: int = 600):
        return run_jobs_in_process(args, _cli_env(tmp_path, database_url, env), stdin)

    return run


@pytest.fixture
def run_cli_process(tmp_path):
    """Run ``python -m jobs ...`` in a real subprocess against a given store (when the process is the point)."""

    def run(*args: str, database_url: str, stdin: str | None = None, env: dict | None = None, timeout: int = 600):
        return subprocess.run(
            [sys.executable, "-m", "jobs", *args],
            cwd=ROOT,
            env=_cli_env(tmp_path, database_url, env),
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    return run


@pytest.fixture(scope="session")
def chromium_browser():
    """One headless Debian Chromium (Playwright; which binary: tests/support/services.CHROMIUM) for the whole
    session: Playwright's sync API allows one running instance per process, so every browser test shares it."""
    if not Path(CHROMIUM).exists():
        service_missing(f"{CHROMIUM} not found (apt-get install chromium-headless-shell, or chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        service_missing("the playwright Python package is not installed")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM,
                                    args=CHROMIUM_ARGS)
        yield browser
        browser.close()



# Which module a test process takes next (tests.support.module_order): modules are collected longest first,
# and xdist's loadfile scheduler, replaced here, runs the modules that mostly wait (the drills) one at a time
# beside modules that keep the cores busy (pyproject.toml: --dist loadfile --no-loadscope-reorder).
# The figures (seconds and CPU-seconds per module) come from the last run that measured each module: pytest's
# cache (written at the end of every run that has one), else tests/module_times.json (a full run's figures,
# checked in for a fresh checkout such as CI's: refresh it with
# `cp .pytest_cache/v/tests/module_times tests/module_times.json` after a full run), else a guess (for the
# collection order a module with slow or e2e tests a minute, the rest half a second a test; for the scheduler,
# which sees no markers, a minute at half a core). A wrong or stale figure costs time, never a test.
_TIMES_KEY = "tests/module_times"
_TIMES_FILE = Path(__file__).with_name("module_times.json")
_CPU_PROPERTY = "module_cpu_seconds"  # a module's CPU-seconds, sent with its last teardown report
_times: dict[str, list[float]] = {}  # module -> [seconds, CPU-seconds] of this run (the controller's)
_cpu_at_start: dict[str, float] = {}  # module -> tree_cpu_seconds() when its first test started (each process)
_ends_module: set[str] = set()  # node ids of the tests after which another module starts (each process)


def _module(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def _measured(config) -> dict[str, ModuleTime]:
    """Figures per module: the checked-in ones, overridden by this checkout's own cache."""
    cache = getattr(config, "cache", None)
    cached = (cache.get(_TIMES_KEY, {}) if cache is not None else {}) or {}
    figures = {**json.loads(_TIMES_FILE.read_text()), **cached}
    return {module: ModuleTime(float(seconds), float(cpu)) for module, (seconds, cpu) in figures.items()}


def _seconds(module: str, items: list, measured: dict[str, ModuleTime]) -> float:
    """The module's measured seconds, else a guess: slow or e2e a minute, 0.5 s a test."""
    if module in measured:
        return measured[module].seconds
    heavy = any(item.get_closest_marker("slow") or item.get_closest_marker("e2e") for item in items)
    return 60.0 if heavy else 0.5 * len(items)


def pytest_collection_modifyitems(config, items):
    """Order whole modules longest first; tests within a module keep their order."""
    measured = _measured(config)
    modules: dict[str, list] = {}
    for item in items:
        modules.setdefault(_module(item.nodeid), []).append(item)
    order = sorted(modules, key=lambda m: -_seconds(m, modules[m], measured))
    items[:] = [item for module in order for item in modules[module]]


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """`--dist loadfile` choosing by the cores each module keeps busy (tests.support.module_order)."""
    if config.getvalue("dist") != "loadfile":
        return None
    return DensityFileScheduling(config, log, _measured(config), len(os.sched_getaffinity(0)))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """Note the process tree's CPU when a module's first test starts, and which test is a module's last."""
    module = _module(item.nodeid)
    if module not in _cpu_at_start:
        _cpu_at_start[module] = tree_cpu_seconds()
    if nextitem is None or _module(nextitem.nodeid) != module:
        _ends_module.add(item.nodeid)
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """After a module's last teardown (its module fixtures stopped their servers): its CPU-seconds, sent with the
    report (user_properties travel from an xdist process to the controller)."""
    if call.when == "teardown" and item.nodeid in _ends_module:
        # The last module of a process also tears the session's fixtures down: the browser's processes may end
        # re-parented away from the tree, taking their CPU out of the sum, so that module's figure can come out
        # below zero; it counts as zero (a short module, and the last one, so its figure matters little).
        spent = max(0.0, tree_cpu_seconds() - _cpu_at_start[_module(item.nodeid)])
        item.user_properties.append((_CPU_PROPERTY, round(spent, 1)))
    yield


def pytest_runtest_logreport(report):
    """Sum each module's seconds (setup, call, teardown) and take its CPU-seconds; under xdist the controller
    sees every report."""
    figures = _times.setdefault(_module(report.nodeid), [0.0, 0.0])
    figures[0] += report.duration
    figures[1] += sum(value for name, value in report.user_properties if name == _CPU_PROPERTY)


def pytest_sessionfinish(session):
    cache = getattr(session.config, "cache", None)
    if cache is None or hasattr(session.config, "workerinput") or not _times:
        return
    rounded = {module: [round(seconds, 1), round(cpu, 1)] for module, (seconds, cpu) in _times.items()}
    cache.set(_TIMES_KEY, {**(cache.get(_TIMES_KEY, {}) or {}), **rounded})
