"""Rolling-origin forecasts -> the payloads training stores (metrics, predictions, backtest, diagnostics).

Windows of one model (feature rows):

    [0, val_start)            fit the weights and the scaler
    [val_start, test_start)   early stopping of the stored model
    [test_start, report_start) promotion window: the candidate is compared with the champion here
    [report_start, n)         reported origins: every figure an analyst sees

Intervals are calibrated online from outcomes known before each origin
(``models.intervals``), so calibration has its own trailing window at every origin.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import skill
from .features import Prepared
from .intervals import Z, IntervalSpec, adaptive_halfwidths, ewma_vol, rolling_std, winkler
from .rolling import RollingForecasts, RollingSpec, compound, daily_returns, training_scale

LEVELS = (0.80, 0.95)
BASELINE_NAMES = ("persistence", "drift", "ridge")
BAND = "random_walk_band"  # persistence +- z * rolling 20-day std * sqrt(h)


@dataclass
class RollingReport:
    metrics: dict
    predictions: dict
    backtest: dict
    residual_diagnostics: dict
    forecast_halfwidths: dict[float, np.ndarray]  # level -> (H,) relative half-widths for the live forecast
    one_step_rmse: float


def _iso(d) -> str:
    return d.strftime("%Y-%m-%d")


def _floats(a, nd: int | None = None) -> list:
    a = np.asarray(a, dtype=float)
    return [None if not np.isfinite(v) else (round(float(v), nd) if nd else float(v)) for v in a.ravel()] \
        if a.ndim == 1 else [_floats(row, nd) for row in a]


def _bands(fc: RollingForecasts, p: Prepared, names: list[str], spec: IntervalSpec) -> tuple[dict, dict]:
    """name -> level -> (lower (N,H), upper (N,H)); plus the live forecast's half-widths per level."""
    r = daily_returns(p)
    sigma, rw = ewma_vol(r), rolling_std(r)
    steps = np.sqrt(np.arange(1, p.horizon + 1))
    bands, live = {}, {}
    for name in names:
        bands[name] = {}
        for level in LEVELS:
            half, extra = adaptive_halfwidths(fc.origins, fc.paths[name], fc.actual, sigma, level, spec,
                                              extra_origin=p.n)
            path = fc.paths[name]
            bands[name][level] = (path * (1 - half), path * (1 + half))
            if name == names[0]:
                live[level] = extra
    bands[BAND] = {}
    for level in LEVELS:
        half = Z[level] * rw[fc.origins][:, None] * steps[None, :]
        bands[BAND][level] = (fc.base[:, None] * (1 - half), fc.base[:, None] * (1 + half))
    return bands, live


def _interval_rows(fc: RollingForecasts, bands: dict, rows: np.ndarray) -> dict:
    """Coverage, mean relative width and mean Winkler score (both % of the base close) per horizon."""
    out = {}
    a, base = fc.actual[rows], fc.base[rows][:, None]
    for name, levels in bands.items():
        out[name] = {}
        for level, (lo, hi) in levels.items():
            lo, hi = lo[rows], hi[rows]
            ok = np.isfinite(a) & np.isfinite(lo)
            tag = f"{int(level * 100)}"
            cover = np.where(ok, (a >= lo) & (a <= hi), np.nan)
            width = np.where(ok, (hi - lo) / base * 100, np.nan)
            wink = np.where(ok, winkler(lo, hi, np.where(ok, a, 0.0), level) / base * 100, np.nan)
            with np.errstate(invalid="ignore"):
                out[name][f"coverage{tag}"] = _floats(np.nanmean(cover, axis=0))
                out[name][f"width{tag}"] = _floats(np.nanmean(width, axis=0))
                out[name][f"winkler{tag}"] = _floats(np.nanmean(wink, axis=0))
            out[name][f"origins{tag}"] = [int(v) for v in ok.sum(axis=0)]
    return out


def _score_rows(fc: RollingForecasts, rows: np.ndarray, scale: float, boot: tuple[dict, dict] | None,
                sums: skill.Sums) -> dict:
    figs = sums.figures(rows)
    pers = fc.paths["persistence"][rows]
    out = {}
    for name, path in fc.paths.items():
        t = skill.horizon_table(fc.actual[rows], fc.base[rows], path[rows], pers, scale)
        row = {f"per_horizon_{k}": v for k, v in t.items()}
        for f in ("rmse_ratio", "r2_zero", "r2_mean"):  # mase: horizon_table's value, the same figure
            row[f"per_horizon_{f}"] = _floats(figs[name][f])
        for f in skill.FIGURES:
            if boot is not None:
                lo, hi = boot[0][name][f]
                row[f"per_horizon_{f}_low"], row[f"per_horizon_{f}_high"] = _floats(lo), _floats(hi)
        # h = 1 scalars under the names the rest of the product already reads
        for k in ("rmse", "mae", "mape", "mase", "dm_stat", "dm_pvalue", "rmse_ratio", "r2_zero", "r2_mean",
                  "rmse_ratio_low", "rmse_ratio_high", "r2_zero_low", "r2_zero_high", "r2_mean_low", "r2_mean_high",
                  "mase_low", "mase_high"):
            vals = row.get(f"per_horizon_{k}")
            row[k] = vals[0] if vals else None
        out[name] = row
    return out


def _pairs_payload(diffs: dict) -> list[dict]:
    out = []
    for (a, b), (lo, hi) in diffs.items():
        out.append({"a": a, "b": b, "low": _floats(lo), "high": _floats(hi),
                    "verdict": [skill.verdict(float(l), float(h), a, b) for l, h in zip(lo, hi)]})
    return out


def rolling_report(p: Prepared, fc: RollingForecasts, cell: str, rolling: RollingSpec,
                   intervals: IntervalSpec = IntervalSpec(), *, param_count: int | None = None,
                   train_seconds: float | None = None, refits: list[int] | None = None) -> RollingReport:
    """Score ``fc`` (network ``cell`` plus the baselines, evaluation-period origins) on the reported origins."""
    report_start = rolling.promotion_end(p.test_start, p.n)
    rows = np.flatnonzero(fc.origins >= report_start)
    bands, live = _bands(fc, p, [cell, "ridge"], intervals)
    scale = training_scale(p)
    sums = skill.Sums(fc.actual[rows], fc.base[rows], {k: v[rows] for k, v in fc.paths.items()}, fc.paths["drift"][rows],
                      scale)
    d1 = (fc.actual[rows, 0] - fc.paths[cell][rows, 0]) ** 2 - (fc.actual[rows, 0] - fc.base[rows]) ** 2
    block = skill.block_length(d1, p.horizon)
    index = skill.bootstrap_indices(len(rows), block)
    pairs = [(cell, b) for b in ("ridge", "drift", "persistence")]
    boot = skill.bootstrap_intervals(sums, index, pairs)
    scored = _score_rows(fc, rows, scale, boot, skill.Sums(fc.actual, fc.base, fc.paths, fc.paths["drift"], scale))
    ivals = _interval_rows(fc, bands, rows)
    for name in (cell, "ridge"):
        scored[name]["coverage80"] = ivals[name]["coverage80"][0]
        scored[name]["coverage95"] = ivals[name]["coverage95"][0]
    scored[cell].update(param_count=param_count, train_seconds=train_seconds)
    a, b = fc.actual[rows], fc.base[rows]
    direction = {"up_share": float(np.mean(a[:, 0] > b)), "days": len(rows),
                 "rows": {name: skill.direction_row(a, b, fc.paths[name][rows]) for name in (cell, "ridge", "drift")}}
    direction["rows"]["always_up"] = skill.direction_row(a, b, None)
    for name in (cell, "ridge", "drift"):  # the one-day direction figures under the ScoreRow names too
        d = direction["rows"][name]
        scored[name].update(directional_accuracy=d["hit_rate"], directional_low=d["low"], directional_high=d["high"])
    dates = p.dates
    evaluation = {
        "method": "rolling-origin", "refit_every": rolling.refit_every, "refit": "warm-start fine-tune",
        "refit_epochs": rolling.epochs, "refit_lr_factor": rolling.lr_factor,
        "refits": len(refits or []), "origins": [int(v) for v in np.isfinite(a).sum(axis=0)],
        "evaluation_days": int(p.n - p.test_start), "evaluation_start": _iso(dates[p.test_start]), "promotion_start": _iso(dates[p.test_start]),
        "report_start": _iso(dates[report_start]), "report_end": _iso(dates[-1]),
        "bootstrap_block": block, "bootstrap_reps": skill.BOOTSTRAP_REPS,
        "interval_method": f"volatility-scaled conformal (EWMA 0.94) with adaptive conformal inference "
                           f"(gamma {intervals.gamma}, trailing {intervals.window} scores)",
    }
    metrics = {"cell": cell, "horizon": p.horizon, "test_days": len(rows), "rows": scored,
               "evaluation": evaluation, "direction": direction, "intervals": ivals,
               "pairs": _pairs_payload(boot[1])}
    preds = _predictions(p, fc, cell, bands, rows, report_start)
    rel = (a[:, 0] - fc.paths[cell][rows, 0]) / b
    diag = skill.residual_tests(rel)
    diag.update(persistence=skill.residual_tests(a[:, 0] / b - 1.0),
                mean_bias=float(np.mean(a[:, 0] - fc.paths[cell][rows, 0])), mean_bias_pct=float(np.mean(rel) * 100),
                dm_stat=scored[cell]["dm_stat"], dm_pvalue=scored[cell]["dm_pvalue"], days=len(rows))
    return RollingReport(metrics=metrics, predictions=preds, backtest=_backtest(p, fc, bands, rows),
                         residual_diagnostics=diag, forecast_halfwidths=live, one_step_rmse=scored[cell]["rmse"])


def _predictions(p: Prepared, fc: RollingForecasts, cell: str, bands: dict, rows: np.ndarray, report_start: int) -> dict:
    a, pred, base = fc.actual[rows, 0], fc.paths[cell][rows, 0], fc.base[rows]
    first_train = p.targets_between(0, p.val_start)[0]
    out = {
        "dates": [_iso(d) for d in p.dates[fc.origins[rows]]],
        "actual": _floats(a), "predicted": _floats(pred), "residual": _floats(a - pred),
        "relative_residual": _floats((a - pred) / base), "persistence": _floats(base),
        "split": {"train_start": _iso(p.dates[first_train]), "val_start": _iso(p.dates[p.val_start]),
                  "test_start": _iso(p.dates[p.test_start]), "report_start": _iso(p.dates[report_start]),
                  "test_end": _iso(p.dates[-1])},
    }
    for level in LEVELS:
        lo, hi = bands[cell][level]
        out[f"lower{int(level * 100)}"] = _floats(lo[rows, 0])
        out[f"upper{int(level * 100)}"] = _floats(hi[rows, 0])
    return out


def _backtest(p: Prepared, fc: RollingForecasts, bands: dict, rows: np.ndarray) -> dict:
    """Every reported origin and horizon of every forecaster, for ``export backtest``.

    ``dates[k]`` is the close the k-th origin forecasts from; its h-step target is ``dates[k + h]``.
    """
    o = fc.origins[rows]
    dates = [_iso(d) for d in p.dates[o[0] - 1: min(o[-1] + p.horizon, p.n)]]
    models = {}
    for name, path in fc.paths.items():
        entry = {"predicted": _floats(path[rows], 4)}
        src = bands.get(name) or (bands[BAND] if name == "persistence" else None)
        if src:
            for level, (lo, hi) in src.items():
                entry[f"lower{int(level * 100)}"] = _floats(lo[rows], 4)
                entry[f"upper{int(level * 100)}"] = _floats(hi[rows], 4)
        models[name] = entry
    return {"horizon": p.horizon, "dates": dates, "actual": _floats(fc.actual[rows], 4), "models": models}


def network_forecasts(p: Prepared, baseline: RollingForecasts, cell: str, returns: np.ndarray) -> RollingForecasts:
    """``baseline`` plus the network's paths under the name ``cell``."""
    fc = RollingForecasts(origins=baseline.origins, actual=baseline.actual, base=baseline.base,
                          paths={cell: compound(baseline.base, returns), **baseline.paths})
    return fc


def compare_backtests(backtests: dict[str, dict]) -> dict | None:
    """Cross-cell comparison of stored ``backtest`` payloads on the origins they share.

    Each cell's RMSE ratio to persistence with its bootstrap interval, and for each
    pair (cells and the ridge baseline) the interval of the ratio difference, a
    Diebold-Mariano test and the verdict ("indistinguishable" when the interval covers 0).
    None when fewer than two cells or no shared origin.
    """
    if len(backtests) < 2:
        return None
    aligned = {}
    for cell, bt in backtests.items():
        n = len(bt["actual"])
        aligned[cell] = {d: k for k, d in enumerate(bt["dates"][:n])}
    common = sorted(set.intersection(*(set(a) for a in aligned.values())))
    if len(common) < 10:
        return None
    first = next(iter(backtests))

    def take(cell: str, name: str) -> np.ndarray:
        rows = [aligned[cell][d] for d in common]
        return np.asarray(backtests[cell]["models"][name]["predicted"], dtype=float)[rows]

    rows0 = [aligned[first][d] for d in common]
    actual = np.asarray([[np.nan if v is None else v for v in r] for r in backtests[first]["actual"]], float)[rows0]
    paths = {cell: take(cell, cell) for cell in backtests}
    for b in BASELINE_NAMES:
        paths[b] = take(first, b)
    base = paths["persistence"][:, 0]
    horizon = actual.shape[1]
    sums = skill.Sums(actual, base, paths, paths["drift"])
    names = list(backtests) + ["ridge"]
    pairs = skill.all_pairs(names)
    d1 = (actual[:, 0] - paths[first][:, 0]) ** 2 - (actual[:, 0] - base) ** 2
    block = skill.block_length(d1, horizon)
    per, diffs = skill.bootstrap_intervals(sums, skill.bootstrap_indices(len(common), block), pairs)
    point = sums.figures()
    out_pairs = _pairs_payload(diffs)
    for entry in out_pairs:
        a, b = entry["a"], entry["b"]
        dm = [skill.diebold_mariano(actual[ok, h] - paths[a][ok, h], actual[ok, h] - paths[b][ok, h], h=h + 1)
              for h in range(horizon) for ok in [np.isfinite(actual[:, h])]]
        entry["dm_stat"] = [s for s, _ in dm]
        entry["dm_pvalue"] = [p for _, p in dm]
        entry["difference"] = _floats(point[a]["rmse_ratio"] - point[b]["rmse_ratio"])
    def target(d: str) -> str:  # origin k (forecast from the close of dates[k]) is named by its first target day
        return backtests[first]["dates"][aligned[first][d] + 1]

    return {
        "origins": len(common), "first_origin": target(common[0]), "last_origin": target(common[-1]), "horizon": horizon,
        "bootstrap_block": block, "bootstrap_reps": skill.BOOTSTRAP_REPS,
        "models": {m: {"rmse_ratio": _floats(point[m]["rmse_ratio"]), "low": _floats(per[m]["rmse_ratio"][0]),
                       "high": _floats(per[m]["rmse_ratio"][1])} for m in names},
        "pairs": out_pairs,
    }
