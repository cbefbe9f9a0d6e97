"""A store with realistic dashboard data and no TensorFlow: for tests, screenshots, benches.

Seeds the offline AAPL prices, then writes one ``ModelRecord`` per cell type (two
for the GRU: a train and a fine-tune) with every ``ModelOutput`` in the exact
shapes of ``marketdata.outputs``, computed from the real prices by small numpy
"models" (persistence nudged by a damped momentum term plus noise). The numbers
are honest about what they are: stand-ins, never shown as trained networks
anywhere but this fixture.

    python -m scripts.fixture_store sqlite:///data/fixture.db
"""
from __future__ import annotations

import argparse
import math
from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
from scipy import stats
from sqlalchemy import Engine

from marketdata.calendar import next_trading_days
from marketdata.db import create_schema, make_engine, session_factory
from marketdata.prices import data_fingerprint, load_prices
from marketdata.sources.offline import OfflineSampleSource
from marketdata.tables import Champion, ChampionEvent, ModelOutput, ModelRecord
from marketdata.updater import seed_prices

HORIZON = 5
# cell -> (momentum weight, noise as a share of daily volatility, params, seconds)
_STAND_INS = {
    "simplernn": (0.05, 0.35, 2_977, 21.0),
    "lstm": (-0.02, 0.22, 11_617, 48.0),
    "gru": (-0.03, 0.18, 8_865, 39.0),
}


def _wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    if n == 0:
        return 0.0, 1.0
    p = k / n
    den = 1 + z * z / n
    mid = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return mid - half, mid + half


def _acf(x: np.ndarray, lags: int = 20) -> list[float]:
    x = x - x.mean()
    den = float((x * x).sum())
    return [float((x[k:] * x[:-k]).sum() / den) for k in range(1, lags + 1)]


def _dm(e_model: np.ndarray, e_base: np.ndarray) -> tuple[float, float]:
    d = e_model**2 - e_base**2
    stat = float(d.mean() / math.sqrt(d.var(ddof=1) / len(d)))
    return stat, float(2 * (1 - stats.norm.cdf(abs(stat))))


def _score(actual, pred, prev, horizon_errors, cell_like: bool) -> dict:
    """One ScoreRow; ``horizon_errors`` is [(errors, actuals)] for h = 1..H."""
    err = actual - pred
    row = {
        "rmse": float(np.sqrt(np.mean(err**2))),
        "mae": float(np.mean(np.abs(err))),
        "mape": float(np.mean(np.abs(err / actual)) * 100),
        "per_horizon_rmse": [float(np.sqrt(np.mean(e**2))) for e, _ in horizon_errors],
        "per_horizon_mae": [float(np.mean(np.abs(e))) for e, _ in horizon_errors],
        "per_horizon_mape": [float(np.mean(np.abs(e / a)) * 100) for e, a in horizon_errors],
    }
    moved = np.sign(actual - prev)
    called = np.sign(pred - prev)
    mask = moved != 0
    if cell_like or np.any(called[mask] != 0):
        k = int((moved[mask] == called[mask]).sum())
        n = int(mask.sum())
    else:  # persistence never calls a direction: right on no day
        k, n = 0, int(mask.sum())
    lo, hi = _wilson(k, n)
    row.update(directional_accuracy=k / n if n else 0.0, directional_low=lo, directional_high=hi)
    return row


def build_payloads(prices: pd.DataFrame, cell: str, seed: int, now: datetime, epochs: int = 12) -> dict:
    """Every output payload of one stand-in model, plus the record's fields."""
    rng = np.random.default_rng(seed)
    closes = prices["close"].to_numpy(float)
    dates = prices.index
    n = len(closes)
    ret = np.r_[0.0, closes[1:] / closes[:-1] - 1]
    test_i = int(n * 0.85)
    val_i = int(test_i * 0.9)
    train_i = 20  # the first target with a full 20-day window behind it
    mu = float(ret[1:val_i].mean())
    vol = float(ret[1:val_i].std())
    mom_w, noise, params, seconds = _STAND_INS[cell]

    # one-step predicted return for every day t from data up to t-1
    mom = pd.Series(ret).rolling(5).mean().shift(1).fillna(0).to_numpy()
    pred_ret = mu + mom_w * mom + rng.normal(0, noise * vol, n)
    pred = np.r_[closes[0], closes[:-1] * (1 + pred_ret[1:])]
    prev = np.r_[closes[0], closes[:-1]]

    # split-conformal quantiles of relative error on the validation period
    val_rel = np.abs(closes[val_i:test_i] - pred[val_i:test_i]) / prev[val_i:test_i]
    q80, q95 = np.quantile(val_rel, 0.8), np.quantile(val_rel, 0.95)

    sl = slice(test_i, n)
    actual, p, base = closes[sl], pred[sl], prev[sl]
    predictions = {
        "dates": [d.date().isoformat() for d in dates[sl]],
        "actual": actual.round(4).tolist(),
        "predicted": p.round(4).tolist(),
        "residual": (actual - p).round(4).tolist(),
        "persistence": base.round(4).tolist(),
        "lower80": (p - q80 * base).round(4).tolist(),
        "upper80": (p + q80 * base).round(4).tolist(),
        "lower95": (p - q95 * base).round(4).tolist(),
        "upper95": (p + q95 * base).round(4).tolist(),
        "split": {
            "train_start": dates[train_i].date().isoformat(),
            "val_start": dates[val_i].date().isoformat(),
            "test_start": dates[test_i].date().isoformat(),
            "test_end": dates[-1].date().isoformat(),
        },
    }

    last_close = float(closes[-1])
    h = np.arange(1, HORIZON + 1)
    f_ret = mu + mom_w * float(mom[-1])
    f_pred = last_close * (1 + f_ret) ** h
    forecast = {
        "last_date": dates[-1].date().isoformat(),
        "last_close": round(last_close, 4),
        "dates": [d.isoformat() for d in next_trading_days(dates[-1].date(), HORIZON)],
        "predicted": f_pred.round(4).tolist(),
        "lower80": (f_pred - q80 * last_close * np.sqrt(h)).round(4).tolist(),
        "upper80": (f_pred + q80 * last_close * np.sqrt(h)).round(4).tolist(),
        "lower95": (f_pred - q95 * last_close * np.sqrt(h)).round(4).tolist(),
        "upper95": (f_pred + q95 * last_close * np.sqrt(h)).round(4).tolist(),
    }

    ep = np.arange(1, epochs + 1)
    loss = 0.9 * np.exp(-ep / 3) + 0.35 + rng.normal(0, 0.01, epochs)
    val_loss = 0.8 * np.exp(-ep / 4) + 0.42 + rng.normal(0, 0.015, epochs) + 0.004 * ep
    loss_curve = {"epoch": ep.tolist(), "loss": loss.round(5).tolist(), "val_loss": val_loss.round(5).tolist()}

    def h_errors(step_ret: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        errs = []
        for hh in range(1, HORIZON + 1):
            idx = np.arange(test_i + hh - 1, n)
            origin = idx - hh  # forecast made with the close of day `origin`
            errs.append((closes[idx] - closes[origin] * (1 + step_ret[origin + 1]) ** hh, closes[idx]))
        return errs

    zero = np.zeros(n)
    drift_ret = np.full(n, mu)
    drift_pred = prev * (1 + mu)
    rows = {
        cell: _score(actual, p, base, h_errors(pred_ret), True),
        "persistence": _score(actual, base, base, h_errors(zero), False),
        "drift": _score(actual, drift_pred[sl], base, h_errors(drift_ret), True),
    }
    pers_rmse = rows["persistence"]["rmse"]
    for key, row in rows.items():
        row["rmse_ratio"] = row["rmse"] / pers_rmse
        row["param_count"] = params if key == cell else None
        row["train_seconds"] = seconds if key == cell else None
        row["coverage80"] = row["coverage95"] = None
        row["dm_stat"] = row["dm_pvalue"] = None
    e_model, e_pers = actual - p, actual - base
    rows[cell]["coverage80"] = float(np.mean(np.abs(e_model) <= q80 * base))
    rows[cell]["coverage95"] = float(np.mean(np.abs(e_model) <= q95 * base))
    rows[cell]["dm_stat"], rows[cell]["dm_pvalue"] = _dm(e_model, e_pers)
    rows["drift"]["dm_stat"], rows["drift"]["dm_pvalue"] = _dm(actual - drift_pred[sl], e_pers)
    metrics = {"cell": cell, "horizon": HORIZON, "test_days": int(n - test_i), "rows": rows}

    resid = e_model
    acf = _acf(resid)
    m = len(resid)
    q = m * (m + 2) * sum(a * a / (m - k) for k, a in enumerate(acf, start=1))
    diagnostics = {
        "acf": acf,
        "acf_bound": 1.96 / math.sqrt(m),
        "ljung_box_stat": float(q),
        "ljung_box_pvalue": float(1 - stats.chi2.cdf(q, 20)),
        "mean_bias": float(resid.mean()),
        "dm_stat": rows[cell]["dm_stat"],
        "dm_pvalue": rows[cell]["dm_pvalue"],
    }
    return {
        "outputs": {"predictions": predictions, "forecast": forecast, "loss_curve": loss_curve,
                    "metrics": metrics, "residual_diagnostics": diagnostics},
        "record": dict(
            hyperparams={"window": 20, "units": 32, "layers": 2, "epochs": epochs, "batch_size": 32,
                         "learning_rate": 1e-3, "fixture": True},
            seed=seed, data_start=dates[0].date(), data_end=dates[-1].date(),
            val_start=dates[val_i].date(), test_start=dates[test_i].date(),
            metrics=metrics, train_seconds=seconds, param_count=params,
        ),
    }


def write_fixture_models(engine: Engine, ticker: str = "AAPL", now: datetime | None = None,
                         cells: tuple[str, ...] = ("simplernn", "lstm", "gru")) -> list[int]:
    """Seed prices if needed, write stand-in models + outputs, promote each; return model ids."""
    now = now or datetime.now(timezone.utc)
    create_schema(engine)
    seed_prices(engine, ticker, [OfflineSampleSource()], now)
    prices = load_prices(engine, ticker)
    fingerprint = data_fingerprint(prices)
    ids: list[int] = []
    plan = [(c, 1, "train") for c in cells] + ([("gru", 2, "finetune")] if "gru" in cells else [])
    with session_factory(engine).begin() as session:
        parent = {}
        for i, (cell, version, kind) in enumerate(plan):
            built = build_payloads(prices, cell, seed=42 + i, now=now)
            rec = ModelRecord(ticker=ticker, cell=cell, version=version, kind=kind, parent_id=parent.get(cell),
                              run_id=None, data_hash=fingerprint, keras_bytes=b"",
                              created_at=now - timedelta(hours=len(plan) - i), **built["record"])
            session.add(rec)
            session.flush()
            parent[cell] = rec.id
            ids.append(rec.id)
            for name, payload in built["outputs"].items():
                session.add(ModelOutput(model_id=rec.id, name=name, payload=payload))
            champ = session.get(Champion, (ticker, cell))
            previous = champ.model_id if champ else None
            if champ:
                champ.model_id, champ.promoted_at = rec.id, now
            else:
                session.add(Champion(ticker=ticker, cell=cell, model_id=rec.id, promoted_at=now))
            session.add(ChampionEvent(ticker=ticker, cell=cell, model_id=rec.id, previous_model_id=previous,
                                      action="promote", actor="fixture", at=now))
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
