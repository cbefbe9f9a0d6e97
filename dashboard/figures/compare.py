"""Comparison of the three cell types and the baselines on rolling origins, with the noise of every difference."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from contract.outputs import BAND_BASELINES, BASELINES, LossCurve, Metrics, Predictions
from contract.vocab import DIRECTION_BASELINES, LEARNED_BASELINES

from contract.multiple import holm
from dashboard import fmt

from .common import COLORS, base_layout, label

# Coverage in percent with its target in the heading, so 75.4 is read against 80.
COVERAGE80, COVERAGE95 = "80% band coverage (%, target 80)", "95% band coverage (%, target 95)"
HOLM = "after Holm"
TABLE_COLUMNS = ["model", "origins", "RMSE $", "RMSE / persistence", "95% interval", "R2 vs 0 (%)", "R2 vs 0: 95% interval",
                 "R2 vs mean (%)", "R2 vs mean: 95% interval", "MASE", "MASE: 95% interval", "DM p vs persistence",
                 f"DM p {HOLM}", COVERAGE80, COVERAGE95, "parameters", "train s"]
DIRECTION_COLUMNS = ["forecaster", "right on", "95% interval", "says up on", "Pesaran-Timmermann p",
                     f"Pesaran-Timmermann p {HOLM}"]
ONE_SIDED = 0.80  # a forecaster calling one direction on more than this share of days is named as such
INTERVAL_COLUMNS = ["band", "level", "coverage by horizon (%)", "mean width (% of price)", "Winkler score (% of price)"]
TERCILE_COLUMNS = ["band", "level", "calm third: % inside, h=1..H", "middle third: % inside, h=1..H",
                   "turbulent third: % inside, h=1..H"]
TESTS_COLUMNS = ["band", "level", "Kupiec p, h=1..H", "Christoffersen independence p, h=1..H",
                 "conditional coverage p, h=1..H", "conditional coverage p after Holm, h=1..H"]
GOAL_COLUMNS = ["network", "goal", "met", "detail"]
PAIR_COLUMNS = ["pair", "difference in RMSE ratio", "95% interval", "DM p", f"DM p {HOLM}", "verdict",
                "verdict by horizon h=1..H"]
MEASURES = {"rmse_ratio": "RMSE / persistence", "rmse": "RMSE ($)", "mae": "MAE ($)", "mape": "MAPE (%)",
            "mase": "MASE", "r2_mean": "R2 vs mean return (%)"}


def _r(v, nd=3):
    return None if v is None else round(float(v), nd)


def _at(row: Mapping[str, Any], key: str, h: int):
    vals = row.get(f"per_horizon_{key}") or []
    if h < len(vals):
        return vals[h]
    return row.get(key) if h == 0 else None  # models stored before rolling evaluation: one-day scalars only


def _pct(v, nd=2):
    return None if v is None else round(100 * float(v), nd)


def _ci(lo, hi, nd=4) -> str:
    return "" if lo is None or hi is None else f"[{lo:.{nd}f}, {hi:.{nd}f}]"


def _entries(metrics_by_cell: Mapping[str, Metrics]) -> list[tuple[str, Mapping[str, Any]]]:
    """(key, ScoreRow) for every network, then the baselines of the first model (same origins as it).

    The rows are read by computed keys (``per_horizon_<measure>``), hence Mapping rather than ScoreRow."""
    baseline_src = next(iter(metrics_by_cell.values()), None)
    entries: list[tuple[str, Mapping[str, Any]]] = [(cell, m["rows"][cell]) for cell, m in metrics_by_cell.items() if cell in m["rows"]]
    if baseline_src:
        entries += [(b, baseline_src["rows"][b]) for b in BASELINES if b in baseline_src["rows"]]
    return entries


def metrics_frame(metrics_by_cell: Mapping[str, Metrics], h: int = 0) -> pd.DataFrame:
    """One row per network plus the baselines, at horizon ``h + 1``, rolling-origin figures."""
    rows = []
    for key, row in _entries(metrics_by_cell):
        origins = _at(row, "origins", h)
        rows.append({
            "model": label(key) + (" (baseline)" if key in BASELINES else ""),
            "origins": origins,
            "RMSE $": _r(_at(row, "rmse", h), 2),
            "RMSE / persistence": _r(_at(row, "rmse_ratio", h), fmt.RATIO_DECIMALS),
            "95% interval": "" if key == "persistence" else _ci(_at(row, "rmse_ratio_low", h), _at(row, "rmse_ratio_high", h)),
            "R2 vs 0 (%)": _pct(_at(row, "r2_zero", h)),
            "R2 vs 0: 95% interval": _pct_ci(row, "r2_zero", h),
            "R2 vs mean (%)": _pct(_at(row, "r2_mean", h)),
            "R2 vs mean: 95% interval": _pct_ci(row, "r2_mean", h),
            "MASE": _r(_at(row, "mase", h)),
            "MASE: 95% interval": _ci(_at(row, "mase_low", h), _at(row, "mase_high", h), 3),
            "DM p vs persistence": _r(_at(row, "dm_pvalue", h)),
            COVERAGE80: _pct(row.get("coverage80"), 1) if h == 0 else None,
            COVERAGE95: _pct(row.get("coverage95"), 1) if h == 0 else None,
            "parameters": row.get("param_count"),
            "train s": _r(row.get("train_seconds"), 1),
        })
    frame = pd.DataFrame(rows, columns=TABLE_COLUMNS)
    frame[f"DM p {HOLM}"] = [_r(p) for p in holm(list(frame["DM p vs persistence"].astype(object)))]
    return frame


def _pct_ci(row: Mapping[str, Any], key: str, h: int) -> str:
    """A 95% interval of a share, in percent to two decimals: [-0.84, +2.35]."""
    lo, hi = _at(row, f"{key}_low", h), _at(row, f"{key}_high", h)
    return "" if lo is None or hi is None else f"[{100 * lo:+.2f}, {100 * hi:+.2f}]"


def persistence_words(frame: pd.DataFrame) -> str:
    """Persistence's own R2 and MASE, the figures a network must beat (MASE 0.608 is no skill if persistence scores it)."""
    rows = frame[frame["model"].str.startswith(label("persistence"))]
    if rows.empty:
        return ""
    r = rows.iloc[0]
    return (f"Repeating the last close scores R2 vs 0 of {_num(r['R2 vs 0 (%)'], '%')} and MASE {_num(r['MASE'])}: "
            "a network shows skill only where its interval clears persistence's own value.")


def _num(v, unit: str = "") -> str:
    return "-" if v is None or v != v else f"{v:.3f}{unit}" if not unit else f"{v:.2f}{unit}"


def direction_frame(metrics_by_cell: Mapping[str, Metrics]) -> tuple[pd.DataFrame, str]:
    """Next-day direction of each network, ridge, drift and always-up; plus the base-rate sentence."""
    rows, first = [], None
    for cell, m in metrics_by_cell.items():
        d = m.get("direction")
        if not d:
            continue
        first = first or d
        rows.append(_direction_row(label(cell), d["rows"].get(cell)))
    if first:
        for key in (*DIRECTION_BASELINES, "always_up"):
            rows.append(_direction_row(label(key) + " (baseline)", first["rows"].get(key)))
    if not first:
        return pd.DataFrame(columns=DIRECTION_COLUMNS), ""
    frame = pd.DataFrame([r for r in rows if r], columns=DIRECTION_COLUMNS)
    raw = [p if isinstance(p, float) else None for p in frame["Pesaran-Timmermann p"]]
    frame[f"Pesaran-Timmermann p {HOLM}"] = [round(a, 3) if a is not None else "no test" for a in holm(raw)]
    frame["Pesaran-Timmermann p"] = [round(p, 3) if isinstance(p, float) else p for p in frame["Pesaran-Timmermann p"]]
    tested = sum(p is not None for p in raw)
    beat = [str(f) for f, a in zip(frame["forecaster"], holm(raw)) if a is not None and a < 0.05]
    words = (f"{fmt.pct(first['up_share'])} of the {first['days']} reported days closed up, so always saying "
             f"\"up\" is right on {fmt.pct(first['rows']['always_up']['hit_rate'])} of them: a hit rate means "
             "something only above that. The Pesaran-Timmermann test asks whether the calls beat chance given how "
             f"often each forecaster says up; its p-values are Holm-adjusted across the {tested} tests of this table, "
             "and only an adjusted p below 0.05 says they do: "
             + (f"{', '.join(beat)}." if beat else "none does.") + _one_sided(metrics_by_cell))
    return frame, words


def _one_sided(metrics_by_cell: Mapping[str, Metrics]) -> str:
    """Name each network that calls one direction on more than ``ONE_SIDED`` of days: its hit rate is mostly the base rate."""
    named = []
    for cell, m in metrics_by_cell.items():
        d = ((m.get("direction") or {}).get("rows") or {}).get(cell)
        if d and d.get("up_calls") is not None and max(d["up_calls"], 1 - d["up_calls"]) > ONE_SIDED:
            side = "up" if d["up_calls"] > 0.5 else "down"
            named.append(f"the {label(cell)} calls \"{side}\" on {fmt.pct(max(d['up_calls'], 1 - d['up_calls']))} of days")
    return (" One-sided: " + "; ".join(named) + ", so its hit rate mostly repeats the base rate.") if named else ""


def best_networks(frame: pd.DataFrame) -> list[str]:
    """Model names of the networks with the lowest RMSE ratio at the shown precision (ties all named)."""
    nets = frame[~frame["model"].str.contains("baseline")].dropna(subset=["RMSE / persistence"])
    if nets.empty:
        return []
    low = nets["RMSE / persistence"].min()
    return list(nets.loc[nets["RMSE / persistence"] == low, "model"])


def _direction_row(name: str, d: dict | None) -> dict | None:
    if not d:
        return None
    return {"forecaster": name, "right on": f"{fmt.pct(d['hit_rate'])} ({d['hits']}/{d['days']})",
            "95% interval": f"[{fmt.pct(d['low'])}, {fmt.pct(d['high'])}]",
            "says up on": f"{fmt.pct(d['up_calls'])} of days",
            "Pesaran-Timmermann p": "no test (never changes its call)" if d.get("pt_pvalue") is None
            else float(d["pt_pvalue"])}  # rounded for display once Holm has used the stored value


def interval_frame(metrics_by_cell: Mapping[str, Metrics]) -> pd.DataFrame:
    """Coverage per horizon, mean width and Winkler score of each network's bands, ridge's and the random-walk band."""
    rows, first = [], None
    order = [(c, m) for c, m in metrics_by_cell.items() if m.get("intervals")]
    for cell, m in order:
        first = first or m
        rows += _interval_rows(label(cell), m["intervals"].get(cell))
    if first:
        for key in (*LEARNED_BASELINES, *BAND_BASELINES):
            rows += _interval_rows(label(key), first["intervals"].get(key))
    return pd.DataFrame(rows, columns=INTERVAL_COLUMNS)


def _bands(metrics_by_cell: Mapping[str, Metrics]) -> list[tuple[str, dict]]:
    """(label, interval table) of each network's band, then ridge's and the baseline bands (from the first model)."""
    order = [(c, m) for c, m in metrics_by_cell.items() if m.get("intervals")]
    out = [(label(c), m["intervals"][c]) for c, m in order if c in m["intervals"]]
    if order:
        first = order[0][1]["intervals"]
        out += [(label(k), first[k]) for k in (*LEARNED_BASELINES, *BAND_BASELINES) if k in first]
    return out


def _by_h(values, fmt_one) -> str:
    return " / ".join("-" if v is None else fmt_one(v) for v in values or [])


def tercile_frame(metrics_by_cell: Mapping[str, Metrics]) -> pd.DataFrame:
    """Coverage of every band in the calm, middle and turbulent third of the reported origins, by horizon."""
    rows = []
    for name, iv in _bands(metrics_by_cell):
        for tag in ("80", "95"):
            thirds = iv.get(f"tercile_coverage{tag}")
            if not thirds:
                continue
            rows.append({"band": name, "level": f"{tag}%", **{col: _by_h(third, lambda c: f"{c * 100:.1f}")
                                                               for col, third in zip(TERCILE_COLUMNS[2:], thirds)}})
    return pd.DataFrame(rows, columns=TERCILE_COLUMNS)


def tests_frame(metrics_by_cell: Mapping[str, Metrics]) -> pd.DataFrame:
    """Kupiec and Christoffersen p-values of every band by horizon, with the Holm-adjusted conditional-coverage p."""
    rows = []
    for name, iv in _bands(metrics_by_cell):
        for tag in ("80", "95"):
            t = iv.get(f"tests{tag}")
            if not t:
                continue
            vals = [t["kupiec"], t["independence"], t["cc"], t["cc_holm"]]
            rows.append({"band": name, "level": f"{tag}%",
                         **{col: _by_h(v, lambda p: f"{p:.3f}") for col, v in zip(TESTS_COLUMNS[2:], vals)}})
    return pd.DataFrame(rows, columns=TESTS_COLUMNS)


def goals_frame(metrics_by_cell: Mapping[str, Metrics]) -> pd.DataFrame:
    """Each network's band against issue 24's goals: met or not, and by how much."""
    rows = [{"network": label(c), "goal": g["goal"], "met": "yes" if g["met"] else "no", "detail": g["detail"]}
            for c, m in metrics_by_cell.items() for g in (m.get("intervals") or {}).get(c, {}).get("goals", [])]
    return pd.DataFrame(rows, columns=GOAL_COLUMNS)


def _interval_rows(name: str, iv: dict | None) -> list[dict]:
    if not iv:
        return []
    out = []
    for tag in ("80", "95"):
        cov = iv.get(f"coverage{tag}") or []
        out.append({"band": name, "level": f"{tag}%",
                    "coverage by horizon (%)": " / ".join("-" if c is None else f"{c * 100:.1f}" for c in cov),
                    "mean width (% of price)": " / ".join("-" if w is None else f"{w:.2f}" for w in iv.get(f"width{tag}") or []),
                    "Winkler score (% of price)": " / ".join("-" if w is None else f"{w:.2f}" for w in iv.get(f"winkler{tag}") or [])})
    return out


def pairs_frame(comparison: dict | None) -> pd.DataFrame:
    """Each pair of served networks (and the ridge baseline) at h = 1, with the verdict at every horizon."""
    rows = []
    for p in (comparison or {}).get("pairs", []):
        rows.append({
            "pair": f"{label(p['a'])} vs {label(p['b'])}",
            "difference in RMSE ratio": _r((p.get("difference") or [None])[0], 4),
            "95% interval": _ci(p["low"][0], p["high"][0]),
            "DM p": _r((p.get("dm_pvalue") or [None])[0]),
            f"DM p {HOLM}": None,
            "verdict": _verdict_words(p["verdict"][0], p),
            "verdict by horizon h=1..H": " / ".join("=" if v == "indistinguishable" else label(v.split()[0]) for v in p["verdict"]),
        })
    frame = pd.DataFrame(rows, columns=PAIR_COLUMNS)
    frame[f"DM p {HOLM}"] = [_r(p) for p in holm(list(frame["DM p"].astype(object)))]
    return frame


def _verdict_words(v: str, p: dict) -> str:
    if v == "indistinguishable":
        return "indistinguishable"
    return f"{label(v.split()[0])} better"


def verdict_sentence(comparison: dict | None, metrics_by_cell: Mapping[str, Metrics]) -> str:
    """The one thing to take away: which differences are real at one day ahead."""
    if not comparison:
        return ("No cross-model comparison is stored for the models served now (it is computed after every "
                "training run); each row below still carries its own 95% interval against persistence.")
    pairs = comparison.get("pairs", [])
    real = [p for p in pairs if p["verdict"][0] != "indistinguishable"]
    head = (f"Over {comparison['origins']} shared rolling origins ({comparison['first_origin']} to "
            f"{comparison['last_origin']}), ")
    if not real:
        return head + ("every pair of models here is indistinguishable at one day ahead: the 95% bootstrap "
                       "interval of each difference covers zero, so the table below is not a ranking.")
    said = "; ".join(f"{label(p['verdict'][0].split()[0])} is better than "
                     f"{label(p['b'] if p['verdict'][0].startswith(p['a']) else p['a'])}" for p in real)
    return head + f"only these differences are larger than their noise at one day ahead: {said}. The rest are indistinguishable."


def overlay_figure(predictions_by_cell: Mapping[str, Predictions], last_days: int | None = None) -> go.Figure:
    """Each network's one-step test predictions over the actual closes."""
    fig = go.Figure()
    first = next(iter(predictions_by_cell.values()))
    sl = slice(-last_days, None) if last_days else slice(None)
    fig.add_trace(go.Scatter(x=first["dates"][sl], y=first["actual"][sl], mode="lines", name="actual",
                             line=dict(color=COLORS["actual"], width=2)))
    for cell, p in predictions_by_cell.items():
        fig.add_trace(go.Scatter(x=p["dates"][sl], y=p["predicted"][sl], mode="lines", name=label(cell),
                                 line=dict(color=COLORS.get(cell), width=1.2)))
    fig.update_yaxes(title="adjusted close ($)")
    return base_layout(fig, "One-step rolling-origin predictions vs actual (reported origins)", height=420)


def loss_figure(loss_by_cell: Mapping[str, LossCurve]) -> go.Figure:
    """Training (solid) and validation (dotted) loss per epoch, one colour per cell type."""
    fig = go.Figure()
    for cell, lc in loss_by_cell.items():
        c = COLORS.get(cell)
        fig.add_trace(go.Scatter(x=lc["epoch"], y=lc["loss"], mode="lines+markers", name=f"{label(cell)} train",
                                 line=dict(color=c)))
        fig.add_trace(go.Scatter(x=lc["epoch"], y=lc["val_loss"], mode="lines+markers",
                                 name=f"{label(cell)} validation", line=dict(color=c, dash="dot")))
    fig.update_xaxes(title="epoch", dtick=1)
    fig.update_yaxes(title="loss (scaled MSE)")
    fig = base_layout(fig, "Loss per epoch")
    # Clear of the "epoch" axis title, which the legend covered at phone width.
    fig.update_layout(hovermode="closest", legend=dict(y=-0.3), margin=dict(b=60))
    return fig


def horizon_figure(metrics_by_cell: Mapping[str, Metrics], measure: str = "rmse_ratio") -> go.Figure:
    """A figure by forecast step h = 1..H for networks and baselines; RMSE ratios carry their 95% intervals."""
    fig = go.Figure()
    key = f"per_horizon_{measure}"
    for name, row in _entries(metrics_by_cell):
        vals = list(row.get(key) or [])
        if measure == "r2_mean":
            vals = [None if v is None else 100 * v for v in vals]
        err = None
        lo, hi = row.get(f"{key}_low"), row.get(f"{key}_high")
        if measure == "rmse_ratio" and lo and hi and name != "persistence":
            err = dict(type="data", symmetric=False, array=[h - v for h, v in zip(hi, vals)],
                       arrayminus=[v - low for v, low in zip(vals, lo)], thickness=1)
        fig.add_trace(go.Scatter(x=list(range(1, len(vals) + 1)), y=vals, mode="lines+markers", name=label(name),
                                 error_y=err,
                                 line=dict(color=COLORS.get(name), dash="dash" if name in BASELINES else "solid")))
    fig.update_xaxes(title="steps ahead (trading days)", dtick=1)
    fig.update_yaxes(title=MEASURES.get(measure, measure))
    fig = base_layout(fig, "By horizon step, rolling origins" + (" (bars: 95% bootstrap intervals)" if measure == "rmse_ratio" else ""))
    fig.update_layout(hovermode="closest")
    return fig


def band_sentence(metrics_by_cell: Mapping[str, Metrics]) -> str:
    """How the networks' bands and the baseline bands are made, and where the volatility thirds are cut."""
    ev = next((m.get("evaluation") for m in metrics_by_cell.values() if (m.get("evaluation") or {}).get("vol_tercile_cuts")), None)
    if not ev:
        return "These models were stored before the conditional-calibration figures; retrain to get them."
    lo, hi = ev["vol_tercile_cuts"]
    b = " / ".join(f"{v:.2f}" for v in ev.get("interval_scale_exponent") or [])
    return ("Networks' and ridge's bands: conformal quantiles of the known errors before each origin, each divided by "
            f"the GARCH(1,1)-t forecast of the h-day volatility raised to a power b (h=1..H: {b}, fitted on the days "
            "before the evaluation period: a forecast volatility is noisy, so errors follow it less than one for one). "
            "Baseline bands around yesterday's close: GARCH(1,1) with Student-t "
            "shocks (refit on the networks' cadence, only data before each origin), a plain rolling conformal band "
            "on persistence's errors (last 250, no scaling) and the random-walk band (z times the 20-day standard "
            "deviation times sqrt(h)). Thirds of the reported origins by the 20-day volatility known at the origin: "
            f"calm below {lo * 100:.2f}% a day, turbulent above {hi * 100:.2f}%.")
