"""One builder for three cell types; typed hyperparameters with clear errors."""
import numpy as np
import pytest

from models.network import Hyperparams, build_network
from models.intervals import PathsAtOrigins
from models.serialization import StoredCell, model_from_bytes, model_to_bytes
from models.training import WarmStart


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"cell": "transformer"}, "cell must be one of"),
        ({"window": 0}, "window"),
        ({"horizon": 0}, "horizon"),
        ({"units": ()}, "units"),
        ({"units": (16, 0)}, "units"),
        ({"dropout": 1.0}, "dropout"),
        ({"learning_rate": 0}, "learning_rate"),
        ({"batch_size": 0}, "batch_size"),
        ({"epochs": 0}, "epochs"),
        ({"patience": 0}, "patience"),
    ],
)
def test_bad_hyperparameters_say_what_to_fix(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Hyperparams(**kwargs)


def test_hyperparameters_round_trip_through_a_dict():
    hp = Hyperparams(cell="lstm", units=(8, 4, 2))
    assert Hyperparams.from_dict({**hp.to_dict(), "scaler": {"ignored": True}}) == hp


@pytest.mark.parametrize("cell", ["simplernn", "lstm", "gru"])
def test_network_maps_windows_to_h_returns(cell):
    hp = Hyperparams(cell=cell, window=4, horizon=3)
    model = build_network(hp, n_features=5)
    out = model(np.zeros((7, 4, 5), dtype="float32"))
    assert tuple(out.shape) == (7, 3)
    # the lesson's net: two recurrent layers, Dense(8, relu), linear output
    assert [type(layer).__name__ for layer in model.layers][-2:] == ["Dense", "Dense"]
    assert len(model.layers) == 4


def test_model_survives_bytes_round_trip():
    model = build_network(Hyperparams(), n_features=5)
    x = np.random.default_rng(0).normal(size=(4, 3, 5)).astype("float32")
    again = model_from_bytes(model_to_bytes(model))
    np.testing.assert_allclose(np.asarray(model(x)), np.asarray(again(x)), rtol=1e-6)


def test_a_stored_cell_comes_back_from_its_record_with_the_scaler_it_was_fit_with():
    from models.features import SplitSpec, prepare
    from tests.support.prices import prices

    hp = Hyperparams(cell="gru", units=(4,))
    frame = prices(200)
    p = prepare(frame, hp.window, hp.horizon, SplitSpec(test_days=40))
    record = {**hp.to_dict(), "scaler": p.scaler.to_dict()}
    cell = StoredCell.from_record(model_to_bytes(build_network(hp, 5)), record, (p.val_start, p.test_start))
    assert cell.hp == hp
    again = cell.prepare(frame)  # the stored scaler, not a new fit
    assert np.array_equal(again.x, p.x) and (again.val_start, again.test_start) == (p.val_start, p.test_start)
    assert tuple(cell.load().output_shape) == (None, hp.horizon)


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: StoredCell(b"", Hyperparams(), None, (10, 20)), "needs its .keras bytes"),
        (lambda: WarmStart(epochs=0), "warm-start epochs"),
        (lambda: WarmStart(lr_factor=0), "lr_factor"),
        (lambda: PathsAtOrigins(np.arange(3), np.ones((3, 2)), np.ones((2, 2))), "one path per origin"),
    ],
)
def test_bad_bundles_say_what_to_fix(build, message):
    with pytest.raises(ValueError, match=message):
        build()
