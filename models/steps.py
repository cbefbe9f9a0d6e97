"""The one training step of the package, traced once per network architecture in a process.

Tracing a ``tf.function`` (building the graph of a forward pass, its gradient and an Adam update) costs
0.5-0.8 CPU-s for the lesson's small networks, about 250 training steps' worth; a step itself takes
3 ms. A ``tf.function`` that reads a network's variables must be traced again for every network, so a
process that fits many networks of one architecture (a walk-forward backtest refits every block, a
rolling evaluation warm-starts a copy of the network it has just fitted, a test process trains dozens)
spent most of its training time tracing. Here each architecture is traced once, on a network of its
own (a "twin"); a fit copies its network's variables and its optimizer's state into a free twin,
steps the twin, and copies everything back. The graph and the values are the same as stepping the
network itself, so the numbers are the same (tests/unit/test_training_steps.py compares them).

Forecasting is traced the same way (``forward``): an eager ``model(x)`` of these recurrent networks costs
9-16 ms a call against 0.6-0.8 ms traced, and the rolling evaluation calls it once per block (33 blocks
per cell on the AAPL sample), the backtest once per block and serving once per ticker.
"""
from __future__ import annotations

import json
import random
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Stepper:
    """A network and its optimizer with a traced training step and validation loss (for any batch size)."""

    model: Any
    optimizer: Any
    train_step: Any  # (x (B, L, F), y (B, H)) -> mean squared error of the batch, after one Adam update
    val_step: Any  # (x, y) -> mean squared error, no update


_free: dict[str, list[Stepper]] = {}  # architecture -> twins not in use (a fit in another thread takes its own)
_lock = threading.Lock()


@dataclass(frozen=True)
class _Forward:
    """A network of one architecture and its traced forward pass; ``lock``: one caller's weights at a time."""

    model: Any
    call: Any  # x (B, L, F) float32 -> (B, H) float32, training=False
    lock: threading.Lock = field(default_factory=threading.Lock)


_forwards: dict[str, _Forward] = {}  # architecture -> its forward twin


def adam(model: Any, learning_rate: float) -> Any:
    """A new Adam optimizer with its state (zero moments) built for ``model``'s trainable variables."""
    import keras

    optimizer = keras.optimizers.Adam(learning_rate=learning_rate)
    optimizer.build(model.trainable_variables)
    return optimizer


@contextmanager
def stepping(model: Any, optimizer: Any) -> Iterator[Stepper]:
    """A traced ``Stepper`` holding ``model``'s weights and ``optimizer``'s state while the block runs.

    On leaving (also by an exception, e.g. a cancelled fit) the twin's variables, as they are then,
    are copied back into ``model`` and ``optimizer``, and the twin is free for the next fit.
    """
    key = _architecture(model, optimizer)
    with _lock:
        free = _free.setdefault(key, [])
        twin = free.pop() if free else None
    if twin is None:
        twin = _trace_twin(model, optimizer)
    _copy(model.variables, twin.model.variables)
    _copy(optimizer.variables, twin.optimizer.variables)
    try:
        yield twin
    finally:
        _copy(twin.model.variables, model.variables)
        _copy(twin.optimizer.variables, optimizer.variables)
        with _lock:
            _free[key].append(twin)


_itself: weakref.WeakKeyDictionary[Any, Stepper] = weakref.WeakKeyDictionary()  # optimizer -> its own steps


@contextmanager
def stepping_itself(model: Any, optimizer: Any) -> Iterator[Stepper]:
    """Like ``stepping`` without a twin: steps traced on ``model`` itself, once per optimizer (a fit makes its
    own, a warm trainer keeps one across its calls). What every fit did before the twins: the reference that
    tests/unit/test_training_steps.py and scripts/bench_traced_steps.py compare ``stepping`` with."""
    if optimizer not in _itself:
        _itself[optimizer] = Stepper(model, optimizer, *_traced_steps(model, optimizer))
    yield _itself[optimizer]


def forward(model: Any, x: np.ndarray, trace: bool = True) -> np.ndarray:
    """``model(x, training=False)`` as a float64 numpy array (B, H), by a forward pass traced once per
    architecture in a process: ``model``'s variables are copied into a twin whose traced call runs.
    The same graph and weights as calling ``model`` eagerly (tests/unit/test_training_steps.py compares them).

    ``trace=False`` for a one-off call (serving a stored model): the twin if this process already has one,
    else the eager call, which once costs less than cloning and tracing a twin (0.1-0.2 CPU-s).
    """
    import tensorflow as tf

    key = _architecture(model)
    with _lock:
        twin = _forwards.get(key)
        if twin is None and trace:
            twin = _forwards[key] = _trace_forward(model)
    if twin is None:
        return np.asarray(model(x, training=False), dtype=float)
    with twin.lock:
        _copy(model.variables, twin.model.variables)
        return np.asarray(twin.call(tf.convert_to_tensor(np.asarray(x, np.float32))), dtype=float)


def _trace_forward(model: Any) -> _Forward:
    import tensorflow as tf

    with _random_state_kept():
        net = _clone(model)
    spec = [tf.TensorSpec((None, *model.input_shape[1:]), tf.float32)]  # (batch, L, F)
    return _Forward(net, tf.function(lambda xb: net(xb, training=False), input_signature=spec, autograph=False))


@contextmanager
def _random_state_kept() -> Iterator[None]:
    """Building layers draws their initializers' seeds from Python's ``random``; its state (and numpy's) is
    put back afterwards, so a process's later networks get the same weights whether or not a twin was made."""
    python_state, numpy_state = random.getstate(), np.random.get_state()
    try:
        yield
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)


def _clone(model: Any) -> Any:
    import keras

    return keras.models.clone_model(model)


def _architecture(model: Any, optimizer: Any = None) -> str:
    """Everything a traced step depends on: each layer's class and settings (not its name), every variable's
    shape and type, and the optimizer's constants (its learning rate is a variable, copied like the rest).
    Without ``optimizer``: a forward pass's, the network alone."""
    layers = [(type(layer).__name__, {k: v for k, v in layer.get_config().items() if k != "name"})
              for layer in model.layers]
    held = [*model.variables, *(optimizer.variables if optimizer is not None else ())]
    key: list[Any] = [type(model).__name__, list(model.input_shape), layers, [(tuple(v.shape), str(v.dtype)) for v in held]]
    if optimizer is not None:
        key += [type(optimizer).__name__,
                {k: v for k, v in optimizer.get_config().items() if k not in ("name", "learning_rate")}]
    return json.dumps(key, sort_keys=True, default=str)


def _trace_twin(model: Any, optimizer: Any) -> Stepper:
    """A new network of ``model``'s architecture and an optimizer like ``optimizer``, with traced steps."""
    with _random_state_kept():
        net = _clone(model)
        twin_optimizer = type(optimizer).from_config(optimizer.get_config())
        twin_optimizer.build(net.trainable_variables)
    return Stepper(net, twin_optimizer, *_traced_steps(net, twin_optimizer))


def _traced_steps(model: Any, optimizer: Any) -> tuple[Any, Any]:
    """(train_step, val_step) of ``model`` as ``tf.function``s traced once for any batch size."""
    import tensorflow as tf

    weights = model.trainable_variables
    spec = [tf.TensorSpec((None, *model.input_shape[1:]), tf.float32),  # (batch, L, F)
            tf.TensorSpec((None, model.output_shape[-1]), tf.float32)]  # (batch, H)

    @tf.function(input_signature=spec, autograph=False)  # no Python control flow inside: skip AutoGraph
    def train_step(xb: Any, yb: Any) -> Any:
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(yb - model(xb, training=True)))
        optimizer.apply(tape.gradient(loss, weights), weights)
        return loss

    @tf.function(input_signature=spec, autograph=False)
    def val_step(xb: Any, yb: Any) -> Any:
        return tf.reduce_mean(tf.square(yb - model(xb, training=False)))

    return train_step, val_step


def _copy(source: list[Any], target: list[Any]) -> None:
    if len(source) != len(target):
        raise ValueError(f"cannot copy {len(source)} variables into {len(target)}")
    for src, dst in zip(source, target):
        if tuple(src.shape) != tuple(dst.shape):
            raise ValueError(f"cannot copy {src.path} {tuple(src.shape)} into {dst.path} {tuple(dst.shape)}")
        dst.assign(src.value)
