"""A store with realistic dashboard data and no TensorFlow: for tests, screenshots, benches.

Seeds the offline AAPL prices, then writes one ``ModelRecord`` per cell type (two
for the GRU: a train and a fine-tune) with every ``ModelOutput`` in the exact
shapes of ``contract.outputs``, computed from the real prices by small numpy
"models" (persistence nudged by a damped momentum term plus noise). The numbers
are honest about what they are: stand-ins, never shown as trained networks
anywhere but this fixture.

    python -m scripts.fixture_store sqlite:///data/fixture.db
"""
from __future__ import annotations

import argparse
import fcntl
import hashlib
import os
import pickle
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from marketdata.calendar import next_trading_days
from store.db import create_schema, make_engine, session_factory
from marketdata.frames import data_fingerprint
from store.prices import load_prices
from store.registry import json_safe
from marketdata.sources.offline import OfflineSampleSource
from store.tables import Champion, ChampionEvent, Comparison, ModelOutput, ModelRecord
from price_feed.updates import seed_prices
from contract.vocab import CELLS, DEFAULT_CELL
from models.evaluation import NetworkFacts, forecast_payload
from models.features import SplitSpec, prepare
from models.report import compare_backtests, network_forecasts, rolling_report
from models.rolling import RollingSpec, baseline_forecasts, daily_returns

HORIZON = 5
# cell -> (momentum weight, noise as a share of daily volatility, params, seconds)
# (stand-in figures; the scoring of their forecasts is the product's own)
_STAND_INS = {
    "simplernn": (0.05, 0.35, 2_977, 21.0),
    "lstm": (-0.02, 0.22, 11_617, 48.0),
    "gru": (-0.03, 0.18, 8_865, 39.0),
}
_OTHER = (0.0, 0.25, 5_000, 30.0)  # a cell added to contract.vocab since: middling stand-in figures


def _stand_in_returns(p, cell: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(N, H) predicted daily returns at the evaluation origins and (H,) after the data.

    Persistence nudged by a damped 5-day momentum term plus noise: uses only rows
    before each origin, like a real forecaster would.
    """
    rng = np.random.default_rng(seed)
    mom_w, noise, _, _ = _STAND_INS.get(cell, _OTHER)
    r = daily_returns(p)
    mu, vol = float(r[: p.val_start].mean()), float(r[: p.val_start].std())
    mom = pd.Series(r).rolling(5).mean().to_numpy()  # mom[t-1]: mean of rows t-5..t-1
    origins = np.arange(p.test_start, p.n + 1)
    one = mu + mom_w * np.nan_to_num(mom[origins - 1]) + rng.normal(0, noise * vol, len(origins))
    damp = 0.5 ** np.arange(p.horizon)  # momentum fades over the horizon
    paths = mu + (one - mu)[:, None] * damp[None, :]
    return paths[:-1], paths[-1]


def build_payloads(prices: pd.DataFrame, cell: str, seed: int, epochs: int = 12) -> dict:
    """Every output payload of one stand-in model, plus the record's fields.

    The figures go through the product's own scoring (``models.report``: rolling
    origins, baselines, intervals, bootstrap) so the pages read exactly what training stores.
    """
    rng = np.random.default_rng(seed)
    _, _, params, seconds = _STAND_INS.get(cell, _OTHER)
    p = prepare(prices, 3, HORIZON, SplitSpec())
    spec = RollingSpec()
    returns, next_returns = _stand_in_returns(p, cell, seed)
    fc = network_forecasts(p, baseline_forecasts(p, spec), cell, returns)
    rep = rolling_report(p, fc, cell, spec, facts=NetworkFacts(param_count=params, train_seconds=seconds,
                                                               refits=tuple(spec.blocks(p.test_start, p.n)[1:])))
    future = [d.isoformat() for d in next_trading_days(p.dates[-1].date(), HORIZON)]
    live = rep.forecast_halfwidths
    forecast = forecast_payload(p, next_returns, live[0.80], live[0.95], future)

    ep = np.arange(1, epochs + 1)
    loss = 0.9 * np.exp(-ep / 3) + 0.35 + rng.normal(0, 0.01, epochs)
    val_loss = 0.8 * np.exp(-ep / 4) + 0.42 + rng.normal(0, 0.015, epochs) + 0.004 * ep
    loss_curve = {"epoch": ep.tolist(), "loss": loss.round(5).tolist(), "val_loss": val_loss.round(5).tolist()}
    dates = p.dates
    return {
        "outputs": {"predictions": rep.predictions, "forecast": forecast, "loss_curve": loss_curve,
                    "metrics": rep.metrics, "residual_diagnostics": rep.residual_diagnostics,
                    "backtest": rep.backtest},
        "record": dict(
            hyperparams={"window": 3, "units": [16, 8], "epochs": epochs, "batch_size": 256,
                         "learning_rate": 3e-3, "fixture": True},
            seed=seed, data_start=prices.index[0].date(), data_end=prices.index[-1].date(),
            val_start=dates[p.val_start].date(), test_start=dates[p.test_start].date(),
            metrics=json_safe(rep.metrics), train_seconds=seconds, param_count=params,
        ),
    }


_SCORED: dict[tuple, tuple[list[dict], dict | None]] = {}  # (prices' fingerprint, plan) -> _scored's answer


def _scored(prices: pd.DataFrame, fingerprint: str, plan: list[tuple[str, int, str]]) -> tuple[list[dict], dict | None]:
    """Every planned stand-in's ``build_payloads`` (seed 42 + its place) and the comparison of their
    backtests, computed once per process for the same prices and plan (a copy each time): the product's
    scoring takes seconds (bootstrap, GARCH), and the tests write the same fixture store many times
    (SQLite and Postgres, a store per test)."""
    key = (fingerprint, tuple(plan))
    if key not in _SCORED:
        def score() -> tuple[list[dict], dict | None]:
            built = [build_payloads(prices, cell, seed=42 + i) for i, (cell, _v, _k) in enumerate(plan)]
            backtests = {cell: b["outputs"]["backtest"] for (cell, _v, _k), b in zip(plan, built)}  # a cell's last
            return built, compare_backtests(backtests)

        _SCORED[key] = _shared_by_the_run(key, score)
    # A private copy per call (its caller may change it), by a pickle round trip: the same copy as
    # copy.deepcopy for these lists, dicts, floats and dates, on a seventh of the CPU (0.05 against 0.37 CPU-s).
    return pickle.loads(pickle.dumps(_SCORED[key], protocol=pickle.HIGHEST_PROTOCOL))


SHARED_ENV = "FIXTURE_SCORES_DIR"  # set by the test session: a folder of this run's, shared by its test processes


def _shared_by_the_run(key: tuple, score):
    """``score()``, or, where ``FIXTURE_SCORES_DIR`` names a folder, the answer the first process of this test
    run computed for ``key`` and left there (under a file lock; the others wait and read it). The same
    computation from the same prices and seeds: every process of a run would otherwise repeat it (10-20 CPU-s
    per ticker)."""
    folder = os.environ.get(SHARED_ENV)
    if not folder:
        return score()
    name = hashlib.sha256(repr(key).encode()).hexdigest()[:20]
    path = Path(folder) / f"scored-{name}.pickle"
    with open(Path(folder) / f"scored-{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, also if scoring fails
        if path.exists():
            return pickle.loads(path.read_bytes())
        answer = score()
        partial = path.with_suffix(".partial")
        partial.write_bytes(pickle.dumps(answer))
        partial.replace(path)
        return answer


def write_fixture_models(engine: Engine, ticker: str = "AAPL", now: datetime | None = None,
                         cells: tuple[str, ...] = CELLS) -> list[int]:
    """Seed prices if needed, write stand-in models + outputs, promote each; return model ids."""
    now = now or datetime.now(timezone.utc)
    create_schema(engine)
    seed_prices(engine, ticker, [OfflineSampleSource()], now)
    prices = load_prices(engine, ticker)
    fingerprint = data_fingerprint(prices)
    ids: list[int] = []
    plan = [(c, 1, "train") for c in cells] + ([(DEFAULT_CELL, 2, "finetune")] if DEFAULT_CELL in cells else [])
    scored, comparison = _scored(prices, fingerprint, plan)
    with session_factory(engine).begin() as session:
        parent = {}
        for i, ((cell, version, kind), built) in enumerate(zip(plan, scored)):
            rec = ModelRecord(ticker=ticker, cell=cell, version=version, kind=kind, parent_id=parent.get(cell),
                              run_id=None, data_hash=fingerprint, keras_bytes=b"",
                              created_at=now - timedelta(hours=len(plan) - i), **built["record"])
            session.add(rec)
            session.flush()
            parent[cell] = rec.id
            ids.append(rec.id)
            for name, payload in built["outputs"].items():
                session.add(ModelOutput(model_id=rec.id, name=name, payload=json_safe(payload)))
            champ = session.get(Champion, (ticker, cell))
            previous = champ.model_id if champ else None
            if champ:
                champ.model_id, champ.promoted_at = rec.id, now
            else:
                session.add(Champion(ticker=ticker, cell=cell, model_id=rec.id, promoted_at=now))
            session.add(ChampionEvent(ticker=ticker, cell=cell, model_id=rec.id, previous_model_id=previous,
                                      action="promote", actor="fixture", at=now))
        if comparison is not None:
            session.add(Comparison(ticker=ticker, model_ids=dict(parent), payload=json_safe(comparison), created_at=now))
    return ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database_url")
    args = parser.parse_args()
    engine = make_engine(args.database_url)
    ids = write_fixture_models(engine)
    print(f"wrote fixture models {ids} to {args.database_url}")


if __name__ == "__main__":
    main()
