"""The traced training step is shared by the networks of one architecture (models/steps.py) and gives
exactly the numbers of stepping each network itself."""
import random

import numpy as np
import pytest

from models import steps, training
from models.features import TrainArrays
from models.network import Hyperparams, build_network
from models.training import FitControls, FitSchedule, fit_network, set_determinism, warm_trainer

pytestmark = pytest.mark.slow

SCHEDULE = FitSchedule(epochs=3, batch_size=32, patience=2, learning_rate=1e-3)


def _data() -> TrainArrays:
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(200, 3, 1)).astype("float32"), rng.normal(size=(200, 5)).astype("float32")
    return TrainArrays(x[:160], y[:160], x[160:], y[160:])


def _network(hp: Hyperparams, seed: int = 11):
    set_determinism(seed)
    return build_network(hp, 1)


@pytest.mark.parametrize("hp", [Hyperparams(cell="gru", units=(8, 4)), Hyperparams(cell="lstm", dropout=0.2)])
def test_a_fit_on_the_shared_twin_equals_stepping_the_network_itself(hp, monkeypatch):
    data = _data()
    direct = _network(hp)
    with monkeypatch.context() as patched:  # the same fit, its steps traced on the network itself
        patched.setattr(training, "stepping", steps.stepping_itself)
        expected = fit_network(direct, data, SCHEDULE, FitControls(seed=5)).val_loss
    for _ in range(2):  # the first fit may trace the twin, the second surely reuses it: both exact
        shared = _network(hp)
        history = fit_network(shared, data, SCHEDULE, FitControls(seed=5))
        assert history.val_loss == expected
        for got, want in zip(shared.get_weights(), direct.get_weights(), strict=True):
            np.testing.assert_array_equal(got, want)


def test_one_trace_per_architecture_and_a_busy_twin_is_never_shared():
    hp = Hyperparams(cell="simplernn", units=(5,), dense_units=3)  # an architecture no other test uses
    first, second = _network(hp), _network(hp)
    with steps.stepping(first, steps.adam(first, 1e-3)) as twin:
        assert twin.model is not first
        with steps.stepping(second, steps.adam(second, 1e-3)) as other:  # e.g. a fit in another thread
            assert other is not twin
    for _ in range(3):
        fit_network(_network(hp), _data(), SCHEDULE)
    twins = steps._free[steps._architecture(first, steps.adam(first, 1e-3))]
    assert sorted(t.train_step.experimental_get_tracing_count() for t in twins) == [0, 1]  # three fits, one trace


def test_making_a_twin_leaves_the_random_state_as_it_was():
    """A twin's layers draw seeds from Python's random: put back, so later networks do not depend on the pool."""
    model = _network(Hyperparams(cell="gru", units=(6,), dense_units=2))  # an architecture no other test uses
    python_state, numpy_state = random.getstate(), np.random.get_state()[1].copy()
    with steps.stepping(model, steps.adam(model, 1e-3)):
        pass
    assert random.getstate() == python_state
    np.testing.assert_array_equal(np.random.get_state()[1], numpy_state)


def test_a_warm_trainer_keeps_its_optimizer_across_calls_on_the_twin():
    hp = Hyperparams(cell="gru", units=(8, 4))
    data = _data()
    a, b = _network(hp), _network(hp)
    train = warm_trainer(a, 1e-4, 32, seed=2)
    train(data.x_train[:80], data.y_train[:80], 2)
    train(data.x_train[80:], data.y_train[80:], 1)
    train_b = warm_trainer(b, 1e-4, 32, seed=2)
    train_b(data.x_train[:80], data.y_train[:80], 2)
    fit_network(_network(hp), data, SCHEDULE)  # another fit on the same twin in between
    train_b(data.x_train[80:], data.y_train[80:], 1)
    for got, want in zip(b.get_weights(), a.get_weights(), strict=True):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("hp", [Hyperparams(cell="gru", units=(8, 4)), Hyperparams(cell="lstm", dropout=0.2),
                                Hyperparams(cell="simplernn", units=(7,), dense_units=4)])
def test_the_traced_forward_pass_equals_calling_the_network(hp):
    """``steps.forward`` (one trace per architecture, the caller's weights copied in) gives the eager call's
    numbers, for two networks of one architecture in turn and for any batch size, traced once."""
    x = _data().x_train
    networks = [_network(hp, seed) for seed in (11, 12)]
    for model in (*networks, networks[0]):
        for batch in (x[:1], x[:37], x):
            eager = np.asarray(model(batch, training=False))
            np.testing.assert_array_equal(steps.forward(model, batch), eager)
            np.testing.assert_array_equal(steps.forward(model, batch, trace=False), eager)  # the twin now exists
    assert steps._forwards[steps._architecture(networks[0])].call.experimental_get_tracing_count() == 1
    assert not np.allclose(steps.forward(networks[0], x), steps.forward(networks[1], x))  # each its own weights


def test_a_one_off_forward_pass_traces_nothing():
    """``trace=False`` (serving a stored model) calls the network itself when the process has no twin yet."""
    model = _network(Hyperparams(cell="lstm", units=(3,), dense_units=5))  # an architecture no other test uses
    x = _data().x_val
    np.testing.assert_array_equal(steps.forward(model, x, trace=False), np.asarray(model(x, training=False)))
    assert steps._architecture(model) not in steps._forwards
