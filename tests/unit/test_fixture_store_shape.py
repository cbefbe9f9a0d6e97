"""The fixture store's model outputs have exactly the shapes of contract/outputs.py.

scripts/fixture_store.py writes the outputs the dashboard tests read. Each stored
``ModelOutput`` payload is checked key by key and type by type against its TypedDict
(``AllOutputs`` names them), so a change to the stored shape that the contract does not
follow, or a contract change the fixture does not follow, fails here.
"""
from __future__ import annotations

import copy

import pytest
from sqlalchemy import select

from contract.outputs import OUTPUT_NAMES, Forecast, Metrics, ResidualDiagnostics
from store.db import make_engine
from store.tables import ModelOutput, ModelRecord
from tests.support.shapes import EXTENSIONS, OUTPUT_TYPES, output_shape_errors, shape_errors


@pytest.fixture(scope="module")
def stored_outputs(fixture_store_file) -> dict[int, dict[str, object]]:
    """model id -> {output name: payload}, as read back from the fixture store."""
    engine = make_engine(f"sqlite:///{fixture_store_file}")
    try:
        with engine.connect() as conn:
            models = conn.execute(select(ModelRecord.id)).scalars().all()
            rows = conn.execute(select(ModelOutput.model_id, ModelOutput.name, ModelOutput.payload)).all()
    finally:
        engine.dispose()
    outputs: dict[int, dict[str, object]] = {model_id: {} for model_id in models}
    for model_id, name, payload in rows:
        outputs[model_id][name] = payload
    return outputs


def test_the_contract_names_a_typeddict_for_every_output():
    assert set(OUTPUT_TYPES) == set(OUTPUT_NAMES)


def test_every_fixture_model_stores_every_output(stored_outputs):
    assert len(stored_outputs) == 4  # simplernn, lstm, gru and the gru's fine-tune
    for model_id, outputs in stored_outputs.items():
        assert sorted(outputs) == sorted(OUTPUT_NAMES), model_id


@pytest.mark.parametrize("name", OUTPUT_NAMES)
def test_each_stored_output_has_the_shape_of_its_typeddict(stored_outputs, name):
    for model_id, outputs in stored_outputs.items():
        errors = output_shape_errors(name, outputs[name], f"model {model_id} {name}")
        assert not errors, "\n".join(errors[:20])


def test_the_fixture_fills_the_optional_score_and_diagnostic_fields(stored_outputs):
    """total=False TypedDicts would pass empty: the fixture's rows carry the figures the pages draw."""
    for outputs in stored_outputs.values():
        metrics = outputs["metrics"]
        cell = metrics["cell"]
        assert {"rmse", "mae", "rmse_ratio", "per_horizon_rmse"} <= set(metrics["rows"][cell])
        assert {"persistence", "drift", "ridge", cell} <= set(metrics["rows"])
        assert {"acf", "ljung_box_pvalue", "mean_bias", "persistence"} <= set(outputs["residual_diagnostics"])


def test_a_departure_from_the_contract_is_caught(stored_outputs):
    """The check itself: a missing key, an unknown key and a wrong type each fail."""
    outputs = next(iter(stored_outputs.values()))
    forecast = copy.deepcopy(outputs["forecast"])
    assert shape_errors(forecast, Forecast) == []
    del forecast["last_close"]
    forecast["median"] = [1.0]
    forecast["dates"][0] = 20260306
    errors = shape_errors(forecast, Forecast)
    assert any("lacks the required key 'last_close'" in e for e in errors)
    assert any("has no key 'median'" in e for e in errors)
    assert any("['dates'][0]" in e and "str" in e for e in errors)
    metrics = copy.deepcopy(outputs["metrics"])
    assert shape_errors(metrics, Metrics, extensions=EXTENSIONS) == []
    row = metrics["rows"][metrics["cell"]]
    row["rmse"], row["per_horizon_origins"][0], row["per_horizon_rmse_max"] = "0.5", 1.5, [1.0]
    errors = shape_errors(metrics, Metrics, extensions=EXTENSIONS)
    assert any("['rmse']" in e and "float" in e for e in errors)
    assert any("['per_horizon_origins'][0]" in e for e in errors)
    assert any("has no key 'per_horizon_rmse_max'" in e for e in errors)
    diagnostics = copy.deepcopy(outputs["residual_diagnostics"])
    diagnostics["persistence"]["acf"] = None
    assert any("['persistence']['acf']" in e for e in shape_errors(diagnostics, ResidualDiagnostics))
