"""Rolling-origin forecasts -> the payloads training stores (metrics, predictions, backtest, diagnostics).

Windows of one model (feature rows):

    [0, val_start)            fit the weights and the scaler
    [val_start, test_start)   early stopping of the stored model
    [test_start, report_start) promotion window: the candidate is compared with the champion here
    [report_start, n)         reported origins: every figure an analyst sees

Intervals are calibrated online from outcomes known before each origin
(``models.intervals``), so calibration has its own trailing window at every origin.
The networks' (and ridge's) band scale is the GARCH(1,1)-t h-day sd (``models.garch``,
refit every K origins) to the power ``tuned_exponent``, fitted on rows before
``test_start``; beside them three baseline bands around persistence (random walk,
GARCH(1,1)-t, plain rolling conformal), each judged overall, per volatility third and
by the tests of ``models.calibration``.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np

from contract.vocab import BASELINES, DIRECTION_BASELINES, LEARNED_BASELINES, PAIRED_BASELINES, Baseline
from contract.outputs import BAND_BASELINES, Backtest, Calibration, Metrics, Predictions, ResidualDiagnostics, ScoreRow

from . import skill
from .calibration import band_calibration, band_goals, holm_family, terciles
from .evaluation import NetworkFacts, conformal_quantiles
from .features import Prepared
from .garch import MIN_RETURNS, garch_halfwidths, garch_scale_once, history_scale
from .intervals import (
    Z, IntervalSpec, PathsAtOrigins, adaptive_halfwidths, rolling_std, scale_exponent, winkler,
)
from .rolling import RollingForecasts, RollingSpec, compound, daily_returns, training_scale

LEVELS = (0.80, 0.95)
BAND = "random_walk_band"  # persistence +- z * rolling 20-day std * sqrt(h)
GARCH_BAND = "garch_band"  # persistence +- GARCH(1,1)-t quantile, refit every K origins (models.garch)
CONFORMAL_BAND = "conformal_band"  # persistence +- conformal quantile of its trailing absolute errors
# plain rolling split conformal: the last 250 known |actual/persistence - 1| at each horizon, no scaling, no ACI
CONFORMAL_SPEC = IntervalSpec(window=250, gamma=0.0, min_scores=20)
# The networks' and ridge's bands: every known score up to 1000, ACI off; chosen by scripts/tune_bands.py on the
# history before the evaluation period (the lowest Winkler score at 80% and 95% of 3 windows x 4 step sizes).
BAND_SPEC = IntervalSpec(window=1000, gamma=0.0)


# name -> level -> (lower (N, H), upper (N, H)) price bands
Bands = dict[str, dict[float, tuple[np.ndarray, np.ndarray]]]


@dataclass
class RollingReport:
    """The payloads training stores (contract.outputs), plus what the live forecast's bands need."""

    metrics: Metrics
    predictions: Predictions
    backtest: Backtest
    residual_diagnostics: ResidualDiagnostics
    forecast_halfwidths: dict[float, np.ndarray]  # level -> (H,) relative half-widths for the live forecast
    one_step_rmse: float
    # level -> (H,) the stand-in where ``forecast_halfwidths`` is NaN (too few known outcomes for the adaptive
    # band): the plain conformal quantile of the network's |actual/predicted - 1| over every evaluation origin
    # whose outcome is known (``fallback_halfwidths``)
    fallback: dict[float, np.ndarray] = field(default_factory=dict)

    def live_halfwidths(self) -> dict[float, np.ndarray]:
        """level -> (H,) the live forecast's relative half-widths: the adaptive band, else the fallback."""
        return {lv: np.where(np.isnan(h), self.fallback.get(lv, np.nan), h) for lv, h in self.forecast_halfwidths.items()}


def fallback_halfwidths(fc: RollingForecasts, cell: str) -> dict[float, np.ndarray]:
    """level -> (H,) split-conformal half-widths of ``cell``'s rolling paths over the evaluation origins
    with a known outcome (NaN at a horizon with none): every forecast there was made out of sample."""
    return {lv: conformal_quantiles(fc.paths[cell], fc.actual, lv) for lv in LEVELS}


def _iso(d) -> str:
    return d.strftime("%Y-%m-%d")


def _floats(a, nd: int | None = None) -> list:
    """``a`` (1-D or more) as nested lists of Python floats, rounded to ``nd`` places when given (Python's own
    ``round``), with NaN and infinities as None. ``tolist`` converts the whole array at once; a numpy call per
    element, as this was first written, took 2.7 times the CPU (0.070 against 0.026 s for a 3,270 x 5 array)."""
    return _cleaned(np.asarray(a, dtype=float).tolist(), nd)


def _cleaned(values: list, nd: int | None) -> list:
    if values and isinstance(values[0], list):
        return [_cleaned(row, nd) for row in values]
    return [None if not math.isfinite(v) else (round(v, nd) if nd else v) for v in values]


@dataclass(frozen=True)
class _BandSet:
    bands: Bands
    live: dict[float, np.ndarray]  # level -> (H,) relative half-widths of the first name's live forecast
    exponent: np.ndarray  # (H,) b_h of the networks' scale, GARCH h-day sd ** b_h (models.intervals.scale_exponent)


def tuned_exponent(p: Prepared) -> np.ndarray:
    """(H,) the scale exponent b_h per horizon, estimated on origins whose whole H-day outcome closed before ``test_start``.

    Errors: persistence's h-day relative errors (the h-day returns; every forecaster here is within
    about 1% of persistence's RMSE); scale: the GARCH h-day sd from one fit on the rows before test_start.
    """
    origins = np.arange(MIN_RETURNS, p.test_start - p.horizon + 1)
    if len(origins) == 0:  # too short a history to fit: the plain scale
        return np.ones(p.horizon)
    sd = history_scale(daily_returns(p), p.test_start, p.horizon)  # (test_start + 1, H)
    steps = np.arange(p.horizon)
    errors = p.close[origins[:, None] + steps[None, :]] / p.base[origins][:, None] - 1.0  # (M, H)
    return scale_exponent(errors, sd[origins])


def band_scale(p: Prepared, stops: np.ndarray, sd: np.ndarray, exponent: np.ndarray) -> np.ndarray:
    """(n+1, H) the networks' band scale for ``adaptive_halfwidths``, NaN except at ``stops``.

    ``sd``: ``models.garch.garch_scale(daily_returns(p), stops, blocks, H)[0]``; ``exponent``:
    ``tuned_exponent(p)``. A serving step computing a live band the way the reported figures were
    computed calls ``adaptive_halfwidths(paths, band_scale(...), level, BAND_SPEC, extra_origin=p.n)``
    with ``stops`` = the evaluation origins plus ``p.n``.
    """
    scale = np.full((p.n + 1, p.horizon), np.nan)
    scale[stops] = sd ** np.asarray(exponent)[None, :]
    return scale


def _bands(fc: RollingForecasts, p: Prepared, names: list[str], spec: IntervalSpec, blocks: list[int]) -> _BandSet:
    """Every band at every evaluation origin. Each of ``names`` (forecasters) gets volatility-scaled conformal
    bands with ACI whose scale is the GARCH h-day sd (refit at ``blocks``) to the powers ``tuned_exponent``."""
    stops = np.r_[fc.origins, p.n]  # the evaluation origins and the live forecast's origin
    sd, nus = garch_scale_once(daily_returns(p), stops, blocks, p.horizon)
    b = tuned_exponent(p)
    scale = band_scale(p, stops, sd, b)
    bands: Bands = {}
    live: dict[float, np.ndarray] = {}
    for name in names:
        path = fc.paths[name]
        for level in LEVELS:
            half, extra = adaptive_halfwidths(PathsAtOrigins(fc.origins, path, fc.actual), scale, level, spec, extra_origin=p.n)
            bands.setdefault(name, {})[level] = (path * (1 - half), path * (1 + half))
            if name == names[0] and extra is not None:  # extra_origin given: never None
                live[level] = extra
    bands.update(baseline_bands(fc, p, garch_halfwidths(sd[:-1], nus[:-1], LEVELS)))
    return _BandSet(bands, live, b)


def baseline_bands(fc: RollingForecasts, p: Prepared, garch: dict[float, np.ndarray]) -> Bands:
    """The bands around persistence: random walk, GARCH(1,1)-t (``garch``: level -> (N, H) half-widths,
    models.garch) and plain rolling conformal."""
    rw = rolling_std(daily_returns(p))
    steps = np.sqrt(np.arange(1, p.horizon + 1))
    base = fc.base[:, None]
    halves = {BAND: {lv: Z[lv] * rw[fc.origins][:, None] * steps[None, :] for lv in LEVELS},
              GARCH_BAND: garch, CONFORMAL_BAND: {}}
    pers = PathsAtOrigins(fc.origins, fc.paths[Baseline.PERSISTENCE], fc.actual)
    for lv in LEVELS:
        halves[CONFORMAL_BAND][lv] = adaptive_halfwidths(pers, np.ones(p.n + 1), lv, CONFORMAL_SPEC)[0]
    return {name: {lv: (base * (1 - h), base * (1 + h)) for lv, h in by_level.items()} for name, by_level in halves.items()}


@dataclass(frozen=True)
class _BandScores:
    """One band at one level on the reported origins: (R, H) arrays."""

    ok: np.ndarray  # outcome known and band issued
    covered: np.ndarray  # inside the band (False where not ok)
    width: np.ndarray  # % of the base close, NaN where not ok
    winkler: np.ndarray  # % of the base close, NaN where not ok


def _band_scores(fc: RollingForecasts, band: tuple[np.ndarray, np.ndarray], rows: np.ndarray, level: float) -> _BandScores:
    a, base = fc.actual[rows], fc.base[rows][:, None]
    lo, hi = band[0][rows], band[1][rows]
    ok = np.isfinite(a) & np.isfinite(lo)
    inside = np.where(ok, a, np.nan)
    with np.errstate(invalid="ignore"):
        covered = (inside >= lo) & (inside <= hi)
    width = np.where(ok, (hi - lo) / base * 100, np.nan)
    wink = np.where(ok, winkler(lo, hi, np.where(ok, a, 0.0), level) / np.where(ok, base, 1.0) * 100, np.nan)
    return _BandScores(ok, covered, width, wink)


def _interval_rows(fc: RollingForecasts, bands: Bands, rows: np.ndarray,
                   group: np.ndarray) -> dict[str, dict[str, Any]]:
    """Per band: coverage, mean relative width and mean Winkler score (both % of the base close) per
    horizon; coverage per volatility tercile (``group``: 0 calm .. 2 turbulent, per reported origin) and
    the violation tests (models.calibration) per horizon, Holm-adjusted across the band's family."""
    out: dict[str, dict[str, Any]] = {}
    for name, levels in bands.items():
        out[name] = {}
        family: dict[str, dict[str, Any]] = {}
        for level, band in levels.items():
            sc, tag = _band_scores(fc, band, rows, level), f"{int(level * 100)}"
            with warnings.catch_warnings():  # a horizon with no known outcome yet: None, not a warning
                warnings.simplefilter("ignore", RuntimeWarning)
                out[name][f"coverage{tag}"] = _floats(np.nanmean(np.where(sc.ok, sc.covered, np.nan), axis=0))
                out[name][f"width{tag}"] = _floats(np.nanmean(sc.width, axis=0))
                out[name][f"winkler{tag}"] = _floats(np.nanmean(sc.winkler, axis=0))
            out[name][f"origins{tag}"] = [int(v) for v in sc.ok.sum(axis=0)]
            family[tag] = band_calibration(sc.covered, sc.ok, group, level)
        holm_family(family)
        for tag, cal in family.items():
            out[name][f"tercile_coverage{tag}"] = cal["coverage"]
            out[name][f"tercile_origins{tag}"] = cal["origins"]
            out[name][f"tests{tag}"] = {k: _floats(v) for k, v in cal["tests"].items()}
    return out


def _versus_best(fc: RollingForecasts, bands: Bands, rows: np.ndarray, cell: str, index: np.ndarray) -> dict[str, Any]:
    """Per level: the network's mean Winkler score minus the best baseline band's at each horizon, with a
    95% stationary-bootstrap interval (``index``: (B, R) resampled rows); the best is the lowest mean score
    among ``BAND_BASELINES`` at that horizon."""
    out: dict[str, Any] = {}
    for level in LEVELS:
        mine = _band_scores(fc, bands[cell][level], rows, level).winkler
        theirs = {b: _band_scores(fc, bands[b][level], rows, level).winkler for b in BAND_BASELINES}
        entry: dict[str, list[Any]] = {"baseline": [], "difference": [], "low": [], "high": []}
        for h in range(mine.shape[1]):
            with warnings.catch_warnings():  # a horizon with no known outcome yet: None, not a warning
                warnings.simplefilter("ignore", RuntimeWarning)
                best = min(theirs, key=lambda b: np.nanmean(theirs[b][:, h]) if np.isfinite(theirs[b][:, h]).any() else np.inf)
                d = mine[:, h] - theirs[best][:, h]
                draws = np.nanmean(d[index], axis=1)
                entry["baseline"].append(best)
                entry["difference"].append(float(np.nanmean(d)))
                low, high = skill.percentile_band(draws)
                entry["low"].append(float(low))
                entry["high"].append(float(high))
        out[f"{int(level * 100)}"] = {k: (_floats(v) if k != "baseline" else v) for k, v in entry.items()}
    return out


def _score_rows(fc: RollingForecasts, rows: np.ndarray, scale: float, boot: tuple[dict, dict] | None,
                sums: skill.Sums) -> dict[str, ScoreRow]:
    figs = sums.figures(rows)
    pers = fc.paths[Baseline.PERSISTENCE][rows]
    out: dict[str, ScoreRow] = {}
    for name, path in fc.paths.items():
        t = skill.horizon_table(fc.actual[rows], fc.base[rows], path[rows], pers, scale)
        row: dict[str, Any] = {f"per_horizon_{k}": v for k, v in t.items()}
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
        out[name] = cast(ScoreRow, row)  # keys built from figure names: the unit tests pin them, not mypy
    return out


def _pairs_payload(diffs: dict) -> list[dict]:
    out = []
    for (a, b), (lo, hi) in diffs.items():
        out.append({"a": a, "b": b, "low": _floats(lo), "high": _floats(hi),
                    "verdict": [skill.verdict(float(low), float(h), a, b) for low, h in zip(lo, hi)]})
    return out


def _evaluation(p: Prepared, rolling: RollingSpec, intervals: IntervalSpec, rows: _Reported,
                facts: NetworkFacts) -> dict[str, Any]:
    """How the figures were made: the method, its windows' dates and the bootstrap's settings."""
    dates = p.dates
    return {
        "method": "rolling-origin", "refit_every": rolling.refit_every, "refit": "warm-start fine-tune",
        "refit_epochs": rolling.epochs, "refit_lr_factor": rolling.lr_factor,
        "refits": len(facts.refits), "origins": [int(v) for v in np.isfinite(rows.actual).sum(axis=0)],
        "evaluation_days": int(p.n - p.test_start), "evaluation_start": _iso(dates[p.test_start]),
        "promotion_start": _iso(dates[p.test_start]),
        "report_start": _iso(dates[rows.start]), "report_end": _iso(dates[-1]),
        "bootstrap_block": rows.block, "bootstrap_blocks": rows.blocks, "bootstrap_reps": skill.BOOTSTRAP_REPS,
        "interval_method": f"volatility-scaled conformal (GARCH(1,1)-t h-day sd to the power b_h, refit every "
                           f"{rolling.refit_every} origins; trailing {intervals.window} scores"
                           + (f"; adaptive conformal inference, gamma {intervals.gamma})" if intervals.gamma else ")"),
    }


@dataclass(frozen=True)
class _Reported:
    """The reported origins of a rolling evaluation (after the promotion window)."""

    start: int  # report_start: first reported feature row
    rows: np.ndarray  # (R,) rows of the RollingForecasts that are reported
    actual: np.ndarray  # (R, H)
    base: np.ndarray  # (R,)
    block: int  # the stationary bootstrap's mean block length where one serves every horizon (band comparisons)
    blocks: list[int]  # per horizon h = 1..H: Politis-White on that horizon's loss difference (skill intervals)


def _reported(p: Prepared, fc: RollingForecasts, cell: str, rolling: RollingSpec) -> _Reported:
    start = rolling.promotion_end(p.test_start, p.n)
    rows = np.flatnonzero(fc.origins >= start)
    # the block length follows the dependence of the network's one-day loss difference to persistence
    d1 = (fc.actual[rows, 0] - fc.paths[cell][rows, 0]) ** 2 - (fc.actual[rows, 0] - fc.base[rows]) ** 2
    blocks = skill.block_lengths(fc.actual[rows], fc.paths[cell][rows], fc.base[rows])
    return _Reported(start, rows, fc.actual[rows], fc.base[rows], skill.block_length(d1, p.horizon), blocks)


def _direction(fc: RollingForecasts, r: _Reported, cell: str, scored: dict[str, ScoreRow]) -> dict[str, Any]:
    """One-day direction figures per forecaster (also copied into ``scored`` under the ScoreRow names)."""
    a, b = r.actual, r.base
    direction: dict[str, Any] = {"up_share": float(np.mean(a[:, 0] > b)), "days": len(r.rows),
                                 "rows": {name: skill.direction_row(a, b, fc.paths[name][r.rows])
                                          for name in (cell, *DIRECTION_BASELINES)}}
    direction["rows"]["always_up"] = skill.direction_row(a, b, None)
    for name in (cell, *DIRECTION_BASELINES):
        d = direction["rows"][name]
        scored[name].update({"directional_accuracy": d["hit_rate"], "directional_low": d["low"], "directional_high": d["high"]})
    return direction


def _diagnostics(fc: RollingForecasts, r: _Reported, cell: str, scored: dict[str, ScoreRow]) -> ResidualDiagnostics:
    a1, pred1 = r.actual[:, 0], fc.paths[cell][r.rows, 0]  # (R,) one day ahead
    rel = (a1 - pred1) / r.base
    diag = skill.residual_tests(rel)
    diag.update({"persistence": skill.residual_tests(a1 / r.base - 1.0),
                "mean_bias": float(np.mean(a1 - pred1)), "mean_bias_pct": float(np.mean(rel) * 100),
                "dm_stat": scored[cell].get("dm_stat"), "dm_pvalue": scored[cell].get("dm_pvalue"), "days": len(r.rows)})
    return diag


def rolling_report(p: Prepared, fc: RollingForecasts, cell: str, rolling: RollingSpec,
                   intervals: IntervalSpec = BAND_SPEC, *, facts: NetworkFacts = NetworkFacts()) -> RollingReport:
    """Score ``fc`` (network ``cell`` plus the baselines, evaluation-period origins) on the reported origins."""
    r = _reported(p, fc, cell, rolling)
    band_set = _bands(fc, p, [cell, *LEARNED_BASELINES], intervals, rolling.blocks(p.test_start, p.n))
    bands = band_set.bands
    group, cuts = terciles(rolling_std(daily_returns(p))[fc.origins[r.rows]])
    scale = training_scale(p)
    sums = skill.Sums(r.actual, r.base, {k: v[r.rows] for k, v in fc.paths.items()}, fc.paths[Baseline.DRIFT][r.rows], scale)
    pairs = [(cell, b.value) for b in PAIRED_BASELINES]
    index = skill.bootstrap_indices(len(r.rows), r.block)
    boot = skill.bootstrap_by_horizon(sums, len(r.rows), r.blocks, pairs)
    scored = _score_rows(fc, r.rows, scale, boot, skill.Sums(fc.actual, fc.base, fc.paths, fc.paths[Baseline.DRIFT], scale))
    ivals = _interval_rows(fc, bands, r.rows, group)
    ivals[cell]["versus_best"] = _versus_best(fc, bands, r.rows, cell, index)
    ivals[cell]["goals"] = band_goals(ivals, cell)
    for name in (cell, *LEARNED_BASELINES):
        scored[name]["coverage80"] = ivals[name]["coverage80"][0]
        scored[name]["coverage95"] = ivals[name]["coverage95"][0]
    scored[cell].update({"param_count": facts.param_count, "train_seconds": facts.train_seconds})
    direction = _direction(fc, r, cell, scored)
    metrics: Metrics = {"cell": cell, "horizon": p.horizon, "test_days": len(r.rows), "rows": scored,
                        "evaluation": {**_evaluation(p, rolling, intervals, r, facts), "vol_tercile_cuts": cuts,
                                       "interval_scale_exponent": _floats(band_set.exponent)},
                        "direction": direction,
                        "intervals": ivals, "pairs": _pairs_payload(boot[1])}
    return RollingReport(metrics=metrics, predictions=_predictions(p, fc, cell, bands, r),
                         backtest=_backtest(p, fc, bands, r.rows) | {"calibration": _calibration(p, fc, cell)}, residual_diagnostics=_diagnostics(fc, r, cell, scored),
                         forecast_halfwidths=band_set.live, one_step_rmse=scored[cell]["rmse"],
                         fallback=fallback_halfwidths(fc, cell))


def _predictions(p: Prepared, fc: RollingForecasts, cell: str, bands: Bands, r: _Reported) -> Predictions:
    rows = r.rows
    a, pred, base = fc.actual[rows, 0], fc.paths[cell][rows, 0], fc.base[rows]  # (R,) one day ahead
    first_train = p.targets_between(0, p.val_start)[0]
    (lo80, hi80), (lo95, hi95) = bands[cell][0.80], bands[cell][0.95]  # (N, H) each
    return {
        "dates": [_iso(d) for d in p.dates[fc.origins[rows]]],
        "actual": _floats(a), "predicted": _floats(pred), "residual": _floats(a - pred),
        "relative_residual": _floats((a - pred) / base), "persistence": _floats(base),
        "split": {"train_start": _iso(p.dates[first_train]), "val_start": _iso(p.dates[p.val_start]),
                  "test_start": _iso(p.dates[p.test_start]), "report_start": _iso(p.dates[r.start]),
                  "test_end": _iso(p.dates[-1])},
        "lower80": _floats(lo80[rows, 0]), "upper80": _floats(hi80[rows, 0]),
        "lower95": _floats(lo95[rows, 0]), "upper95": _floats(hi95[rows, 0]),
    }


def _calibration(p: Prepared, fc: RollingForecasts, cell: str) -> Calibration:
    """The network's paths at every evaluation origin (the live band's calibration state), full precision."""
    return {"dates": [_iso(d) for d in p.dates[fc.origins - 1]], "predicted": _floats(fc.paths[cell])}


def _backtest(p: Prepared, fc: RollingForecasts, bands: Bands, rows: np.ndarray) -> Backtest:
    """Every reported origin and horizon of every forecaster, for ``export backtest``.

    ``dates[k]`` is the close the k-th origin forecasts from; its h-step target is ``dates[k + h]``.
    """
    o = fc.origins[rows]
    dates = [_iso(d) for d in p.dates[o[0] - 1: min(o[-1] + p.horizon, p.n)]]
    models: dict[str, dict[str, list[Any]]] = {}
    for name, path in fc.paths.items():
        entry = {"predicted": _floats(path[rows], 4)}
        src = bands.get(name) or (bands[BAND] if name == Baseline.PERSISTENCE else None)
        if src:
            for level, (lo, hi) in src.items():
                entry[f"lower{int(level * 100)}"] = _floats(lo[rows], 4)
                entry[f"upper{int(level * 100)}"] = _floats(hi[rows], 4)
        models[name] = entry
    for name in BAND_BASELINES[1:]:  # bands around persistence (its path is their centre); [0] is persistence's own
        models[name] = {"predicted": models[Baseline.PERSISTENCE]["predicted"]}
        for level, (lo, hi) in bands[name].items():
            models[name][f"lower{int(level * 100)}"] = _floats(lo[rows], 4)
            models[name][f"upper{int(level * 100)}"] = _floats(hi[rows], 4)
    return {"horizon": p.horizon, "dates": dates, "actual": _floats(fc.actual[rows], 4), "models": models}


def network_forecasts(p: Prepared, baseline: RollingForecasts, cell: str, returns: np.ndarray) -> RollingForecasts:
    """``baseline`` plus the network's paths under the name ``cell``."""
    fc = RollingForecasts(origins=baseline.origins, actual=baseline.actual, base=baseline.base,
                          paths={cell: compound(baseline.base, returns), **baseline.paths})
    return fc


@dataclass(frozen=True)
class _Shared:
    """Stored backtests aligned on the origins every cell has."""

    first: str  # the cell whose actuals, baselines and dates are read
    common: list[str]  # shared origin dates, ascending
    rows: dict[str, list[int]]  # cell -> its row of each shared origin
    actual: np.ndarray  # (N, H) closes, NaN past the data
    paths: dict[str, np.ndarray]  # every cell and baseline -> (N, H) predicted closes


def _shared(backtests: dict[str, Backtest]) -> _Shared | None:
    """None when fewer than 10 origins are shared."""
    aligned = {}
    for cell, bt in backtests.items():
        n = len(bt["actual"])
        aligned[cell] = {d: k for k, d in enumerate(bt["dates"][:n])}
    common = sorted(set.intersection(*(set(a) for a in aligned.values())))
    if len(common) < 10:
        return None
    first = next(iter(backtests))
    rows = {cell: [aligned[cell][d] for d in common] for cell in backtests}

    def take(cell: str, name: str) -> np.ndarray:
        return np.asarray(backtests[cell]["models"][name]["predicted"], dtype=float)[rows[cell]]

    actual = np.asarray([[np.nan if v is None else v for v in r] for r in backtests[first]["actual"]], float)[rows[first]]
    paths = {cell: take(cell, cell) for cell in backtests}
    for b in BASELINES:
        paths[b] = take(first, b)
    return _Shared(first, common, rows, actual, paths)


def _pair_tests(s: _Shared, entry: dict[str, Any], point: dict[str, dict[str, np.ndarray]]) -> None:
    """Add each horizon's Diebold-Mariano test and the point rmse_ratio difference to a pair entry."""
    a, b = entry["a"], entry["b"]
    dm = [skill.diebold_mariano(s.actual[ok, h] - s.paths[a][ok, h], s.actual[ok, h] - s.paths[b][ok, h], h=h + 1)
          for h in range(s.actual.shape[1]) for ok in [np.isfinite(s.actual[:, h])]]
    entry["dm_stat"] = [stat for stat, _ in dm]
    entry["dm_pvalue"] = [pv for _, pv in dm]
    entry["difference"] = _floats(point[a]["rmse_ratio"] - point[b]["rmse_ratio"])


def compare_backtests(backtests: dict[str, Backtest]) -> dict[str, Any] | None:
    """Cross-cell comparison of stored ``backtest`` payloads on the origins they share.

    Each cell's RMSE ratio to persistence with its bootstrap interval, and for each
    pair (cells and the ridge baseline) the interval of the ratio difference, a
    Diebold-Mariano test and the verdict ("indistinguishable" when the interval covers 0).
    None when fewer than two cells or no shared origin.
    """
    if len(backtests) < 2:
        return None
    s = _shared(backtests)
    if s is None:
        return None
    base = s.paths[Baseline.PERSISTENCE][:, 0]
    horizon = s.actual.shape[1]
    sums = skill.Sums(s.actual, base, s.paths, s.paths[Baseline.DRIFT])
    names = list(backtests) + [b.value for b in LEARNED_BASELINES]
    d1 = (s.actual[:, 0] - s.paths[s.first][:, 0]) ** 2 - (s.actual[:, 0] - base) ** 2
    block = skill.block_length(d1, horizon)
    blocks = skill.block_lengths(s.actual, s.paths[s.first], base)  # per horizon, Politis-White
    per, diffs = skill.bootstrap_by_horizon(sums, len(s.common), blocks, skill.all_pairs(names))
    point = sums.figures()
    out_pairs = _pairs_payload(diffs)
    for entry in out_pairs:
        _pair_tests(s, entry, point)
    dates = backtests[s.first]["dates"]

    def target(k: int) -> str:  # origin k (forecast from the close of dates[k]) is named by its first target day
        return dates[s.rows[s.first][k] + 1]

    return {
        "origins": len(s.common), "first_origin": target(0), "last_origin": target(-1), "horizon": horizon,
        "bootstrap_block": block, "bootstrap_blocks": blocks, "bootstrap_reps": skill.BOOTSTRAP_REPS,
        "models": {m: {"rmse_ratio": _floats(point[m]["rmse_ratio"]), "low": _floats(per[m]["rmse_ratio"][0]),
                       "high": _floats(per[m]["rmse_ratio"][1])} for m in names},
        "pairs": out_pairs,
    }
