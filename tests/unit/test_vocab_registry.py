"""The cell and baseline registries of contract.vocab drive the product: nothing restates them.

Each check names one consumer that used to keep its own list (a builder map, a colour table, CLI
choices, a score table's rows); a cell or baseline added to the registry must reach it unaided.
"""
import argparse

import numpy as np
import pytest

from contract import outputs, vocab
from contract.run import RunRequest
from contract.vocab import BASELINE_INFO, BASELINES, CELL_INFO, CELLS, DEFAULT_CELL, MAX_EPOCHS, Baseline, Cell
from models.features import SplitSpec, prepare
from models.network import Hyperparams, build_network
from models.report import network_forecasts, rolling_report
from models.rolling import BASELINE_PATHS, RollingSpec, baseline_forecasts
from tests.support.prices import prices


def test_every_cell_has_a_label_a_colour_and_a_keras_layer():
    assert set(CELL_INFO) == set(Cell)
    for cell in Cell:
        info = CELL_INFO[cell]
        assert cell.label == info.label and info.label.strip()
        assert info.colour.startswith("#") and len(info.colour) == 7
    assert len({CELL_INFO[c].colour for c in Cell} | {BASELINE_INFO[b].colour for b in Baseline}) == len(Cell) + len(Baseline)
    assert DEFAULT_CELL in CELLS


@pytest.mark.parametrize("cell", list(Cell))
def test_every_cell_builds_a_network_of_its_own_layer(cell):
    model = build_network(Hyperparams(cell=cell, units=(4, 2)), n_features=5)
    recurrent = [layer for layer in model.layers if type(layer).__name__ == CELL_INFO[cell].layer]
    assert len(recurrent) == 2  # one per entry of units
    assert model.output_shape == (None, 5)


def test_every_baseline_has_a_label_a_colour_and_a_scorer():
    assert set(BASELINE_INFO) == set(Baseline) == set(BASELINE_PATHS)
    assert outputs.BASELINES == tuple(b.value for b in Baseline)
    for b in Baseline:
        assert outputs.BASELINE_LABELS[b] == BASELINE_INFO[b].label
    # persistence is the yardstick and never calls a direction; every other baseline is in the direction table
    assert set(vocab.DIRECTION_BASELINES) == set(Baseline) - {Baseline.PERSISTENCE}
    assert vocab.PAIRED_BASELINES[-1] is Baseline.PERSISTENCE and set(vocab.PAIRED_BASELINES) == set(Baseline)


def test_the_dashboard_and_the_cli_read_the_registry():
    from dashboard.components import default_cell
    from dashboard.figures.common import COLORS, label
    from jobs.cli import build_parser

    for name in (*CELLS, *BASELINES):
        assert COLORS[name] and label(name) in (vocab.CELL_LABELS.get(name), vocab.BASELINE_LABELS.get(name))
    assert default_cell(list(CELLS)) == DEFAULT_CELL
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    for command in ("finetune", "backtest"):
        cell = next(a for a in sub.choices[command]._actions if a.dest == "cell")
        assert tuple(cell.choices) == CELLS and cell.default == DEFAULT_CELL


def test_one_epoch_bound_for_every_edge():
    from config.settings import ConfigError, load_settings
    from dashboard.admin.actions import validate_request
    from dashboard.inputs import Refused
    from jobs.commands import argtypes

    assert RunRequest.build("AAPL", epochs=MAX_EPOCHS).epochs == MAX_EPOCHS
    assert argtypes.epochs(str(MAX_EPOCHS)) == MAX_EPOCHS
    with pytest.raises(argparse.ArgumentTypeError):
        argtypes.epochs(str(MAX_EPOCHS + 1))
    with pytest.raises(Refused):
        validate_request("retrain", list(CELLS), MAX_EPOCHS + 1)
    assert validate_request("retrain", list(CELLS), MAX_EPOCHS)["epochs"] == MAX_EPOCHS
    with pytest.raises(ConfigError, match=f"PIPELINE_EPOCHS={MAX_EPOCHS + 1} is out of range: use 0 to {MAX_EPOCHS}"):
        load_settings({"PIPELINE_EPOCHS": str(MAX_EPOCHS + 1)})


def test_every_baseline_is_forecast_and_scored_beside_the_cell():
    p = prepare(prices(), 3, 5, SplitSpec(test_days=60))
    spec = RollingSpec()
    fc = baseline_forecasts(p, spec)
    assert list(fc.paths) == list(BASELINES)
    rep = rolling_report(p, network_forecasts(p, fc, "gru", np.zeros((p.n - p.test_start, 5))), "gru", spec)
    assert set(rep.metrics["rows"]) == {"gru", *BASELINES}
    assert set(rep.backtest["models"]) >= {"gru", *BASELINES}
    assert set(rep.metrics["direction"]["rows"]) == {"gru", *vocab.DIRECTION_BASELINES, "always_up"}
    assert {(pair["a"], pair["b"]) for pair in rep.metrics["pairs"]} == {("gru", b) for b in BASELINES}
    assert set(rep.metrics["intervals"]) >= {"gru", *vocab.LEARNED_BASELINES}
