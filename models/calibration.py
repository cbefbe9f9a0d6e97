"""Tests a risk desk runs on a band's violations, and coverage by volatility regime.

A *violation* (a "failure", a "hit") is an outcome outside the band. With nominal
coverage ``level`` the violation probability is ``p = 1 - level``.

* Kupiec (1995) proportion of failures: ``LR_pof = -2 ln[(1-p)^(n-x) p^x / ((1-x/n)^(n-x) (x/n)^x)]``,
  chi-square(1), for ``x`` violations in ``n`` outcomes.
* Christoffersen (1998) independence: with ``n_ij`` the count of an ``i`` followed by a ``j``
  (1: violation), ``pi_01 = n01/(n00+n01)``, ``pi_11 = n11/(n10+n11)``,
  ``pi = (n01+n11)/(n00+n01+n10+n11)``: ``LR_ind = -2 ln[L(pi) / L(pi_01, pi_11)]``,
  chi-square(1). Conditional coverage ``LR_cc = LR_pof + LR_ind``, chi-square(2) (the
  convention of MathWorks' ``varbacktest``; ``0 ln 0 = 0`` throughout).
* Overlap at h > 1: the h-step outcomes of consecutive origins share h-1 days, so the
  violations are dependent even for a perfect band. The stated method: split the origins
  into the h interleaved subsequences ``k, k+h, k+2h, ...`` (whose targets do not
  overlap), run each test on each, and report the Bonferroni bound ``min(1, h * min p)``.
  At h = 1 this is the plain test.
* Holm (1979) step-down adjustment of a family of p-values.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import stats

from contract.outputs import BASELINE_LABELS

VOL_DAYS = 20  # trailing days of the volatility that splits origins into terciles
TESTS = ("kupiec", "independence", "cc")


def _xlogy(x: float, y: float) -> float:
    """x ln y with 0 ln 0 = 0."""
    return 0.0 if x == 0 else x * math.log(y)


def _bernoulli_ll(zeros: float, ones: float, p: float) -> float:
    return _xlogy(zeros, 1.0 - p) + _xlogy(ones, p)


def kupiec_pof(violations: np.ndarray, level: float) -> tuple[float, float]:
    """(LR statistic, p) of Kupiec's proportion-of-failures test; (nan, nan) with no outcome."""
    v = np.asarray(violations, bool)
    n, x = len(v), int(v.sum())
    if n == 0:
        return float("nan"), float("nan")
    p = 1.0 - level
    lr = -2.0 * (_bernoulli_ll(n - x, x, p) - _bernoulli_ll(n - x, x, x / n))
    lr = max(lr, 0.0)
    return lr, float(stats.chi2.sf(lr, 1))


def transitions(violations: np.ndarray) -> tuple[int, int, int, int]:
    """(n00, n01, n10, n11): how often a non-violation (0) or violation (1) is followed by each."""
    v = np.asarray(violations, bool)
    a, b = v[:-1], v[1:]
    return int(np.sum(~a & ~b)), int(np.sum(~a & b)), int(np.sum(a & ~b)), int(np.sum(a & b))


def christoffersen(violations: np.ndarray, level: float) -> dict[str, float]:
    """Christoffersen's independence and conditional-coverage tests: LR statistics and p-values."""
    v = np.asarray(violations, bool)
    nan = float("nan")
    if len(v) < 2:
        return {"ind_stat": nan, "ind_p": nan, "cc_stat": nan, "cc_p": nan}
    n00, n01, n10, n11 = transitions(v)
    pi = (n01 + n11) / (n00 + n01 + n10 + n11)
    pi01 = n01 / (n00 + n01) if n00 + n01 else 0.0
    pi11 = n11 / (n10 + n11) if n10 + n11 else 0.0
    restricted = _bernoulli_ll(n00 + n10, n01 + n11, pi)
    free = _bernoulli_ll(n00, n01, pi01) + _bernoulli_ll(n10, n11, pi11)
    ind = max(-2.0 * (restricted - free), 0.0)
    cc = kupiec_pof(v, level)[0] + ind
    return {"ind_stat": ind, "ind_p": float(stats.chi2.sf(ind, 1)), "cc_stat": cc, "cc_p": float(stats.chi2.sf(cc, 2))}


def violation_tests(violations: np.ndarray, level: float, h: int = 1) -> dict[str, float]:
    """p-values of the three tests at horizon ``h`` (overlap-aware for h > 1, see the module note).

    ``violations``: one per origin in origin order (NaN outcomes already dropped from the tail).
    """
    v = np.asarray(violations, bool)
    if len(v) < 2 * h:
        return {k: float("nan") for k in TESTS}
    subs = [v[k::h] for k in range(h)]
    out = {k: 1.0 for k in TESTS}
    for sub in subs:
        c = christoffersen(sub, level)
        for key, p in (("kupiec", kupiec_pof(sub, level)[1]), ("independence", c["ind_p"]), ("cc", c["cc_p"])):
            out[key] = min(out[key], min(1.0, h * p) if math.isfinite(p) else 1.0)
    return out


def holm(pvalues: list[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the order given (NaN stays NaN and is not counted)."""
    idx = [i for i, p in enumerate(pvalues) if math.isfinite(p)]
    m = len(idx)
    out = [float("nan")] * len(pvalues)
    running = 0.0
    for rank, i in enumerate(sorted(idx, key=lambda i: pvalues[i])):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        out[i] = running
    return out


def terciles(vol: np.ndarray) -> tuple[np.ndarray, list[float]]:
    """(tercile 0/1/2 of each origin, the two cut points): equal thirds of the origins by ``vol``.

    ``vol[k]`` is the trailing volatility known at origin k (``models.intervals.rolling_std``);
    each origin's tercile is fixed by its own value against the cut points.
    """
    v = np.asarray(vol, float)
    cuts = [float(np.quantile(v, 1 / 3)), float(np.quantile(v, 2 / 3))]
    return np.searchsorted(cuts, v, side="left"), cuts


def band_calibration(covered: np.ndarray, ok: np.ndarray, group: np.ndarray, level: float) -> dict[str, Any]:
    """Coverage per tercile and horizon, and the violation tests per horizon, of one band at one level.

    ``covered``/``ok``: (R, H) booleans (inside the band; outcome known and band issued);
    ``group``: (R,) tercile of each origin.
    """
    horizon = covered.shape[1]
    cov, counts = [], []
    for g in range(3):
        rows = group == g
        cov.append([float(covered[rows & ok[:, h], h].mean()) if np.any(rows & ok[:, h]) else None
                    for h in range(horizon)])
        counts.append([int(np.sum(rows & ok[:, h])) for h in range(horizon)])
    tests: dict[str, list[float]] = {k: [] for k in TESTS}
    for h in range(horizon):
        res = violation_tests(~covered[ok[:, h], h], level, h + 1)
        for k in TESTS:
            tests[k].append(res[k])
    return {"coverage": cov, "origins": counts, "tests": tests}


def holm_family(entry: dict[str, dict[str, Any]]) -> None:
    """Add ``tests[<test>_holm]`` to each level of one band: Holm across all its levels, tests and horizons."""
    keys = [(tag, k, h) for tag in entry for k in TESTS for h in range(len(entry[tag]["tests"][k]))]
    adjusted = holm([entry[tag]["tests"][k][h] for tag, k, h in keys])
    for tag in entry:
        for k in TESTS:
            entry[tag]["tests"][f"{k}_holm"] = [float("nan")] * len(entry[tag]["tests"][k])
    for (tag, k, h), p in zip(keys, adjusted):
        entry[tag]["tests"][f"{k}_holm"][h] = p


# Issue 24's goals for a network's band: points from nominal allowed in every tercile at every horizon.
TERCILE_TOLERANCE = {"80": 5.0, "95": 3.0}
CC_ALPHA = 0.05
TERCILE_NAMES = ("calm", "middle", "turbulent")


def _tercile_goal(entry: dict[str, Any], tag: str) -> dict[str, Any]:
    nominal, tol = int(tag), TERCILE_TOLERANCE[tag]
    worst = (0.0, 0, 0)  # (deviation in points, tercile, h)
    for g, row in enumerate(entry[f"tercile_coverage{tag}"]):
        for h, c in enumerate(row):
            if c is not None and abs(c * 100 - nominal) > abs(worst[0]):
                worst = (c * 100 - nominal, g, h)
    dev, g, h = worst
    goal = f"{tag}% coverage within {tol:g} points in every volatility tercile at every horizon"
    if not any(c is not None for row in entry[f"tercile_coverage{tag}"] for c in row):
        return {"goal": goal, "met": False, "detail": "no coverage yet (too few reported origins)"}
    return {"goal": goal,
            "met": abs(dev) <= tol,
            "detail": f"worst {nominal + dev:.1f}% ({TERCILE_NAMES[g]} third, h={h + 1}): "
                      f"{abs(dev):.1f} points {'under' if dev < 0 else 'over'}"
                      + ("" if abs(dev) <= tol else f", {abs(dev) - tol:.1f} beyond the goal")}


def _cc_goal(entry: dict[str, Any], tag: str) -> dict[str, Any]:
    p = entry[f"tests{tag}"]["cc"][0]
    return {"goal": f"{tag}% band: Christoffersen conditional-coverage p above {CC_ALPHA} at h=1",
            "met": p is not None and p > CC_ALPHA, "detail": "no test" if p is None else f"p = {p:.3f}"}


def _winkler_goals(intervals: dict[str, dict[str, Any]], cell: str, tag: str) -> list[dict[str, Any]]:
    mine, rw = intervals[cell][f"winkler{tag}"], intervals["random_walk_band"][f"winkler{tag}"]
    worse = [h + 1 for h, (a, b) in enumerate(zip(mine, rw)) if a is None or b is None or a >= b]
    vs = intervals[cell]["versus_best"][tag]
    beyond = [h + 1 for h, lo in enumerate(vs["low"]) if lo is None or lo > 0]  # no figure: not shown to hold
    return [
        {"goal": f"{tag}% band: Winkler score below the random-walk band's at every horizon", "met": not worse,
         "detail": "below at every horizon" if not worse else f"not below at h={', '.join(map(str, worse))}"},
        {"goal": f"{tag}% band: Winkler score no worse than the best baseline band beyond its 95% bootstrap interval",
         "met": not beyond,
         "detail": "; ".join(f"h={h + 1}: {d:+.2f} [{lo:+.2f}, {hi:+.2f}] vs {BASELINE_LABELS.get(b, b)}" for h, (d, lo, hi, b) in
                             enumerate(zip(vs["difference"], vs["low"], vs["high"], vs["baseline"]))
                             if d is not None and lo is not None and hi is not None)},
    ]


def band_goals(intervals: dict[str, dict[str, Any]], cell: str) -> list[dict[str, Any]]:
    """Each goal for ``cell``'s band (``intervals``: the metrics' interval tables): goal, met, detail."""
    out = []
    for tag in ("80", "95"):
        out += [_tercile_goal(intervals[cell], tag), _cc_goal(intervals[cell], tag), *_winkler_goals(intervals, cell, tag)]
    return out
