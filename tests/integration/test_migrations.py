"""Schema migrations (store.schema, Alembic) on real SQLite and Postgres stores."""
from __future__ import annotations

import subprocess
import sys
import threading
from datetime import date, datetime, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from store.db import make_engine
from store.schema import BASELINE, alembic_turn, current_revision, head_revision, upgrade
from store.tables import Base
from tests.support.services import ROOT


@pytest.fixture
def engine(database_url):
    """An engine on an empty store (SQLite and Postgres)."""
    eng = make_engine(database_url)
    yield eng
    eng.dispose()


def _differences(engine) -> list:
    """What autogenerate would still write: the models against the migrated store."""
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    # Expression indexes (the ledger's coalesce key) cannot be reflected on SQLite, so they are not compared.
    return [d for d in diff if not (isinstance(d, tuple) and d[0] in ("add_index", "remove_index")
                                    and d[1].name == "uq_forecast_ledger_key")]


def _baseline_store(engine) -> None:
    """A store as version 2 made it: the baseline revision's tables, no alembic_version row."""
    from alembic import command

    from store.schema import _config

    with alembic_turn(), engine.begin() as conn:  # other threads of this process may be migrating too
        command.upgrade(_config(conn), BASELINE)
        conn.execute(text("DROP TABLE alembic_version"))


def test_empty_store_is_created_at_head(engine):
    """An empty store gets every table and records the newest revision."""
    assert upgrade(engine).startswith("created the schema")
    with engine.connect() as conn:
        assert current_revision(conn) == head_revision()
    assert set(inspect(engine).get_table_names()) == set(Base.metadata.tables) | {"alembic_version"}
    assert upgrade(engine) == f"already at revision {head_revision()}"


def test_revisions_replayed_from_nothing_match_the_models(engine):
    """Every change to store/tables.py has a revision: replaying them all gives the models' schema."""
    from alembic import command

    from store.schema import _config

    with alembic_turn(), engine.begin() as conn:
        command.upgrade(_config(conn), "head")
    assert _differences(engine) == []


def test_store_made_before_migrations_is_upgraded_keeping_its_rows(engine):
    """A version-2 store (no alembic_version) is stamped at the baseline, upgraded, and keeps its data."""
    _baseline_store(engine)
    now = datetime(2013, 3, 1, 21, tzinfo=timezone.utc)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO prices (ticker, date, open, high, low, close, volume, source, fetched_at) "
                          "VALUES ('AAPL', :d, 1, 2, 0.5, 1.5, 100, 'csv:x', :n)"), {"d": date(2013, 3, 1), "n": now})
    message = upgrade(engine)
    assert "before migrations" in message
    with engine.connect() as conn:
        assert current_revision(conn) == head_revision()
        assert conn.execute(text("SELECT close FROM prices WHERE ticker = 'AAPL'")).scalar_one() == 1.5
    assert _differences(engine) == []


def _upgrade_at_once(engines) -> tuple[list[str], list[BaseException]]:
    """``upgrade`` on each of ``engines`` from a thread of its own, all started together: what they said,
    and what they raised."""
    results: list[str] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(engines))

    def go(eng) -> None:
        barrier.wait()
        try:
            results.append(upgrade(eng))
        except BaseException as exc:  # collected and asserted by the caller
            errors.append(exc)

    threads = [threading.Thread(target=go, args=(eng,)) for eng in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results, errors


def test_processes_starting_at_once_migrate_once(engine):
    """Four threads upgrading one empty store at once all succeed; one of them created it."""
    results, errors = _upgrade_at_once([engine] * 4)
    assert errors == []
    assert sum(r.startswith("created") for r in results) == 1, results


def test_migrate_command_reports_the_revision(database_url):
    """`python -m jobs migrate` (the Procfile release step) says what it did and exits 0."""
    env = {"DATABASE_URL": database_url, "PATH": "/usr/bin:/bin"}
    first = subprocess.run([sys.executable, "-m", "jobs", "migrate"], cwd=ROOT, env=env, capture_output=True,
                           text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    assert f"revision {head_revision()}" in first.stdout
    again = subprocess.run([sys.executable, "-m", "jobs", "migrate"], cwd=ROOT, env=env, capture_output=True,
                           text=True, timeout=120)
    assert again.returncode == 0 and "already at revision" in again.stdout


def _ledger_row(conn, row_id: int, model_id: int, horizon: int = 1, extra: str = "") -> None:
    conn.execute(text(
        "INSERT INTO forecast_ledger (id, ticker, cell, model_id, model_version, origin, origin_close, target_date, "
        f"horizon, predicted, lower80, upper80, lower95, upper95, published_at, kind{extra and ', of_record'}) "
        f"VALUES (:id, 'AAPL', 'gru', :m, 1, :o, 50.0, :t, :h, 51.0, 49.0, 53.0, 48.0, 54.0, :p, 'live'{extra})"),
        {"id": row_id, "m": model_id, "o": date(2013, 3, 1), "t": date(2013, 3, 4), "h": horizon,
         "p": datetime(2013, 3, 1, 22, tzinfo=timezone.utc)})


def test_revision_0002_keeps_the_first_publication_of_an_origin_as_the_forecast_of_record(engine):
    """Three same-evening publications stored by version 2: after the upgrade the first counts, the
    others are superseded, and the per-model key (an expression index SQLite cannot reflect) still holds."""
    _baseline_store(engine)
    with engine.begin() as conn:
        for row_id, model_id in ((1, 7), (2, 8), (3, 9)):
            _ledger_row(conn, row_id, model_id)
        _ledger_row(conn, 4, 8, horizon=2)  # a later model's first row for horizon 2 counts
    upgrade(engine)
    with engine.connect() as conn:
        flags = dict(conn.execute(text("SELECT id, of_record FROM forecast_ledger ORDER BY id")).all())
    assert {k: bool(v) for k, v in flags.items()} == {1: True, 2: False, 3: False, 4: True}
    with pytest.raises(Exception, match="(?i)unique"):
        with engine.begin() as conn:
            _ledger_row(conn, 5, 7, extra=", false")  # model 7's key again, superseded: only the old key refuses it


def test_threads_migrating_different_stores_at_once_keep_to_their_own(tmp_path):
    """Alembic's op/context are process-wide: four threads, each upgrading its own version-2 store at
    once, each bring their own store to the newest revision and the models' schema (without
    alembic_turn one run's statements went down another's connection: "index ... already exists")."""
    engines = [make_engine(f"sqlite:///{tmp_path / f'store{k}.db'}") for k in range(4)]
    for eng in engines:
        _baseline_store(eng)
    _, errors = _upgrade_at_once(engines)
    assert errors == []
    for eng in engines:
        with eng.connect() as conn:
            assert current_revision(conn) == head_revision()
        assert _differences(eng) == []
        eng.dispose()
