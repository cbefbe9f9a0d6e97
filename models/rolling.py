"""Rolling-origin forecasts (Darts' ``historical_forecasts``, Nixtla's ``cross_validation``).

Every feature row ``t`` of the evaluation period ``[test_start, n)`` is an origin:
its forecast covers ``dates[t] .. dates[t+H-1]`` and is made only from rows ``< t``
by a model fitted only on targets realised before ``t``.

* Network: the stored model (fit on ``[0, val_start)``, early-stopped on
  ``[val_start, test_start)``) forecasts the first block of ``refit_every`` (K)
  origins. Before each later block starting at ``s`` it is **warm-started**: the
  previous block's weights are trained ``epochs`` more epochs, at ``lr_factor``
  times the learning rate, on every window whose whole H-step target ends before
  ``s``. No early stopping, so no day at or after ``s`` chooses anything. This is
  what the nightly fine-tune does in production, and costs a few epochs per block
  instead of a full fit (a from-scratch refit per block would cost ~K/2 times more).
  One traced train step (``models.training``) serves all blocks of a model.
* Ridge: a linear autoregression on the very same scaled lagged windows (L x F
  inputs, H outputs), refit from scratch at every block on the same rows.
* Persistence (tomorrow = today) and drift (the mean daily return of all rows
  before the origin, compounded) need no fit.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from contract.vocab import FINETUNE_LR_FACTOR, Baseline

from .evaluation import actual_paths
from .features import Prepared
from .network import Hyperparams
from .steps import forward
from .training import FitControls, warm_trainer

RIDGE_ALPHA = 1.0  # fixed, never tuned on evaluation days


@dataclass(frozen=True)
class RollingSpec:
    """How the evaluation period is walked and cut."""

    refit_every: int = 20  # K trading days between refits
    epochs: int = 2  # warm-start epochs per refit
    lr_factor: float = FINETUNE_LR_FACTOR
    promotion_fraction: float = 0.3  # first share of the evaluation period: the promotion window

    def __post_init__(self) -> None:
        if self.refit_every < 1:
            raise ValueError(f"refit_every must be a positive number of trading days, got {self.refit_every}")
        if self.epochs < 0:
            raise ValueError(f"rolling epochs must be >= 0, got {self.epochs}")
        if not 0.0 < self.promotion_fraction < 1.0:
            raise ValueError(f"promotion_fraction must be between 0 and 1, got {self.promotion_fraction}")

    def promotion_end(self, test_start: int, n: int) -> int:
        """First origin after the promotion window: the first origin whose figures are reported."""
        # at least one reported origin, even in a tiny evaluation period (whose promotion window may be empty)
        return min(test_start + max(1, int(round((n - test_start) * self.promotion_fraction))), n - 1)

    def blocks(self, test_start: int, n: int) -> list[int]:
        return list(range(test_start, n, self.refit_every))


@dataclass
class RollingForecasts:
    """Price paths of every forecaster at the same origins."""

    origins: np.ndarray  # (N,) feature rows, test_start .. n-1
    actual: np.ndarray  # (N, H) closes, NaN past the data
    base: np.ndarray  # (N,) close the day before the origin
    paths: dict[str, np.ndarray] = field(default_factory=dict)  # name -> (N, H) predicted closes
    refits: list[int] = field(default_factory=list)  # block starts where the network was warm-started


def daily_returns(p: Prepared) -> np.ndarray:
    """(n,) close return of every feature row (row j: close[j] / base[j] - 1)."""
    return p.close / p.base - 1.0


BlockFn = Callable[[int, int], None]  # (block index k from 0, block start row)
PredictFn = Callable[[np.ndarray], np.ndarray]  # origins (K,) -> predictions (K, ...)


@dataclass(frozen=True)
class WalkHooks:
    """What a caller hears from the walk: ``before(k, blocks)`` before block k's update (a cancel
    check raises here), ``after(k, blocks)`` once its origins are predicted (progress)."""

    before: BlockFn | None = None
    after: BlockFn | None = None


def walk(starts: list[int], end: int, update: BlockFn, predict: PredictFn, hooks: WalkHooks = WalkHooks()) -> np.ndarray:
    """The one walk-forward loop (rolling evaluation, its ridge baseline and the champion backtest).

    Block k covers origins ``[starts[k], starts[k+1])`` (the last ends at ``end``): ``update(k, start)``
    fits whatever predicts them on targets realised before ``start``, then ``predict`` forecasts them.
    Returns the blocks' predictions concatenated in origin order.
    """
    out = []
    for k, start in enumerate(starts):
        if hooks.before is not None:
            hooks.before(k, len(starts))
        update(k, start)
        stop = starts[k + 1] if k + 1 < len(starts) else end
        out.append(predict(np.arange(start, stop)))
        if hooks.after is not None:
            hooks.after(k, len(starts))
    return np.concatenate(out)


def _clone(model: Any) -> Any:
    import keras

    twin = keras.models.clone_model(model)
    twin.set_weights(model.get_weights())
    return twin


def network_paths(model: Any, p: Prepared, spec: RollingSpec, hp: Hyperparams,
                  controls: FitControls = FitControls()) -> tuple[np.ndarray, list[int]]:
    """(N, H) predicted daily returns at origins test_start..n-1, and the refit block starts.

    Warm starts train at ``spec.lr_factor`` x ``hp.learning_rate`` in batches of ``hp.batch_size``,
    shuffled from ``controls.seed``. ``model`` itself is never changed: the warm starts train a copy.
    """
    twin = _clone(model) if spec.epochs > 0 else model
    train = warm_trainer(twin, hp.learning_rate * spec.lr_factor, hp.batch_size, controls.seed) if spec.epochs > 0 else None
    refits: list[int] = []

    def update(k: int, start: int) -> None:
        if k > 0 and train is not None:  # the first block is the stored model as it is
            rows = p.targets_between(0, start)  # whole H-step targets realised before the block
            train(p.windows(rows), p.y[rows], spec.epochs)  # (N, L, F), (N, H)
            refits.append(start)

    def predict(origins: np.ndarray) -> np.ndarray:
        return p.to_returns(forward(twin, p.windows(origins)))  # (K, H)

    def check(k: int, blocks: int) -> None:
        controls.cancel_if_asked(f"rolling evaluation cancelled at block {k + 1}")

    return walk(spec.blocks(p.test_start, p.n), p.n, update, predict, WalkHooks(before=check)), refits


def ridge_fit(x: np.ndarray, y: np.ndarray, alpha: float = RIDGE_ALPHA) -> tuple[np.ndarray, np.ndarray]:
    """Ridge regression with an unpenalised intercept: (coef (D, H), intercept (H,)).

    Closed form on centred data: coef = (Xc'Xc + alpha I)^-1 Xc'Yc.
    """
    xm, ym = x.mean(axis=0), y.mean(axis=0)
    xc, yc = x - xm, y - ym
    coef = np.linalg.solve(xc.T @ xc + alpha * np.eye(x.shape[1]), xc.T @ yc)
    return coef, ym - xm @ coef


def ridge_paths(p: Prepared, spec: RollingSpec) -> np.ndarray:
    """(N, H) daily returns of the linear AR baseline, refit at every block start."""
    fitted: list[tuple[np.ndarray, np.ndarray]] = []

    def update(k: int, start: int) -> None:
        rows = p.targets_between(0, start)
        fitted[:] = [ridge_fit(p.windows(rows).reshape(len(rows), -1).astype(float), p.y[rows].astype(float))]

    def predict(origins: np.ndarray) -> np.ndarray:
        coef, icpt = fitted[0]
        return p.to_returns(p.windows(origins).reshape(len(origins), -1) @ coef + icpt)

    return walk(spec.blocks(p.test_start, p.n), p.n, update, predict)


def drift_returns(p: Prepared, origins: np.ndarray) -> np.ndarray:
    """(N,) mean daily close return of all rows before each origin."""
    r = daily_returns(p)
    csum = np.r_[0.0, np.cumsum(r)]
    return csum[origins] / origins


def compound(base: np.ndarray, returns: np.ndarray) -> np.ndarray:
    return base[:, None] * np.cumprod(1.0 + returns, axis=1)


def _persistence(p: Prepared, spec: RollingSpec, origins: np.ndarray) -> np.ndarray:
    return np.repeat(p.base[origins][:, None], p.horizon, axis=1)


def _drift(p: Prepared, spec: RollingSpec, origins: np.ndarray) -> np.ndarray:
    steps = np.arange(1, p.horizon + 1)
    return p.base[origins][:, None] * (1.0 + drift_returns(p, origins))[:, None] ** steps[None, :]


def _ridge(p: Prepared, spec: RollingSpec, origins: np.ndarray) -> np.ndarray:
    return compound(p.base[origins], ridge_paths(p, spec))


# Every baseline of contract.vocab.Baseline: (prepared, spec, evaluation origins (N,)) -> (N, H) price paths,
# each from rows before its origin only.
BASELINE_PATHS: dict[Baseline, Callable[[Prepared, RollingSpec, np.ndarray], np.ndarray]] = {
    Baseline.PERSISTENCE: _persistence,
    Baseline.DRIFT: _drift,
    Baseline.RIDGE: _ridge,
}


def baseline_forecasts(p: Prepared, spec: RollingSpec) -> RollingForecasts:
    """Every baseline (``BASELINE_PATHS``) at every origin of the evaluation period."""
    origins = np.arange(p.test_start, p.n)
    fc = RollingForecasts(origins=origins, actual=actual_paths(p, origins), base=p.base[origins])
    for name in Baseline:
        fc.paths[name.value] = BASELINE_PATHS[name](p, spec, origins)
    return fc


def training_scale(p: Prepared) -> float:
    """MASE scale: mean absolute one-step persistence error, in returns, on the training rows."""
    return float(np.mean(np.abs(daily_returns(p)[: p.val_start])))


