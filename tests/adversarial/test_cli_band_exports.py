"""Band exports from stores that cannot give them: one error line naming what is missing, exit 2, store unchanged."""
import json

import pytest
from sqlalchemy import create_engine, text

from tests.support.cli import assert_one_error_line


def _drop_band(url: str, key: str) -> None:
    """Make every stored backtest look like one saved before the baseline bands existed."""
    engine = create_engine(url)
    with engine.begin() as conn:
        for mid, payload in conn.execute(text("SELECT model_id, payload FROM model_outputs WHERE name = 'backtest'")).all():
            doc = json.loads(payload)
            doc["models"].pop(key, None)
            conn.execute(text("UPDATE model_outputs SET payload = :p WHERE model_id = :i AND name = 'backtest'"),
                         {"p": json.dumps(doc), "i": mid})
    engine.dispose()


def _backtests(url: str) -> list:
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT payload FROM model_outputs WHERE name = 'backtest' ORDER BY model_id")).all()
    engine.dispose()
    return [r[0] for r in rows]


@pytest.mark.parametrize("cell, key", [("garch", "garch_band"), ("conformal", "conformal_band")])
def test_a_band_stored_before_the_baselines_is_refused_with_the_retrain_command(run_cli, fixture_store_url, cell, key):
    _drop_band(fixture_store_url, key)
    before = _backtests(fixture_store_url)
    result = run_cli("export", "backtest", "--cell", cell, database_url=fixture_store_url)
    assert_one_error_line(result, f"stored no {cell} band", "retrain: python -m jobs train --cells gru")
    assert result.stdout == "" and _backtests(fixture_store_url) == before


@pytest.mark.parametrize("cell", ["GARCH", "random_walk"])
def test_band_names_are_case_blind_and_random_walk_is_persistences_band(run_cli, fixture_store_url, cell):
    result = run_cli("export", "backtest", "--cell", cell, database_url=fixture_store_url)
    assert result.returncode == 0, result.stderr
    rows = result.stdout.splitlines()
    assert rows[0] == "Origin,Date,Horizon,Actual,Predicted,Lower80,Upper80,Lower95,Upper95" and len(rows) > 100
    assert all(r.split(",")[5] for r in rows[1:50])  # every row carries its band
