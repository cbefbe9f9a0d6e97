"""The baseline bands and the networks' band scale: GARCH against arch itself, no look-ahead, terciles known at the origin."""
import math

import numpy as np
import pytest
from scipy import stats

from models.features import SplitSpec, prepare
from models.garch import _model, cumulative_variance, fit_garch, garch_halfwidths, garch_scale, one_step_variance, t_quantile
from models.intervals import rolling_std, scale_exponent
from models.report import BAND_BASELINES, network_forecasts, rolling_report
from models.rolling import RollingSpec, baseline_forecasts, daily_returns, ridge_paths
from tests.support.prices import prices


def _garch_returns(n: int, seed: int) -> np.ndarray:
    """Daily returns from a GARCH(1,1) with Student-t(6) shocks."""
    rng = np.random.default_rng(seed)
    omega, alpha, beta = 2e-6, 0.08, 0.9
    var, out = omega / (1 - alpha - beta), np.empty(n)
    for t in range(n):
        out[t] = math.sqrt(var) * rng.standard_t(6) / math.sqrt(1.5)
        var = omega + alpha * out[t] ** 2 + beta * var
    return out


def test_garch_band_matches_arch_on_the_same_window():
    """At a block start the variance path is arch's own forecast; inside the block, arch's with the parameters fixed."""
    r = _garch_returns(1500, seed=3)
    params = fit_garch(r[:1200])
    res = _model(100 * r[:1200]).fit(disp="off")
    assert params.as_array() == pytest.approx(np.asarray(res.params), rel=1e-6)
    ours = np.diff(np.r_[0.0, cumulative_variance(one_step_variance(r[:1200], params)[-1:], params, 5)[0]])
    assert ours == pytest.approx(res.forecast(horizon=5, reindex=False).variance.to_numpy()[0], rel=1e-9)
    fixed = _model(100 * r[:1207]).fix(params.as_array()).forecast(horizon=5, reindex=False).variance.to_numpy()[0]
    sd, nus = garch_scale(r, np.arange(1200, 1220), [1200], 5)
    assert sd[7] ** 2 * 1e4 == pytest.approx(np.cumsum(fixed), rel=1e-9)  # origin 1207: returns[:1207] only
    half = garch_halfwidths(sd, nus, (0.80,))[0.80]
    q = stats.t.ppf(0.9, params.nu) * math.sqrt((params.nu - 2) / params.nu)
    assert half[7, 0] == pytest.approx(q * math.sqrt(fixed[0]) / 100, rel=1e-9)
    assert t_quantile(0.95, 1e6) == pytest.approx(1.959964, rel=1e-5)  # the t tends to the normal


def test_garch_band_covers_garch_returns_at_one_day():
    r = _garch_returns(3000, seed=8)
    origins = np.arange(1000, 3000)
    sd, nus = garch_scale(r, origins, list(range(1000, 3000, 20)), 1)
    half = garch_halfwidths(sd, nus, (0.80, 0.95))
    for level in (0.80, 0.95):
        assert np.mean(np.abs(r[origins]) <= half[level][:, 0]) == pytest.approx(level, abs=0.025)


def test_scale_exponent_recovers_the_power_the_errors_follow():
    rng = np.random.default_rng(0)
    scale = np.exp(rng.normal(0, 0.5, (20000, 2)))
    errors = scale ** np.array([0.6, 1.0]) * rng.standard_normal((20000, 2))
    assert scale_exponent(errors, scale) == pytest.approx([0.6, 1.0], abs=0.05)  # standard error about 0.016
    assert scale_exponent(errors[:20], scale[:20]).tolist() == [1.0, 1.0]  # too few: the plain scale


@pytest.fixture(scope="module")
def frames():
    """A price history, and the same history with every price from one day on raised by 30%."""
    frame = prices(700, seed=4)
    changed = frame.copy()
    cut = frame.index[620]
    changed.loc[cut:, ["open", "high", "low", "close"]] *= 1.3
    return frame, changed, cut


def _report(frame, scaler=None):
    p = prepare(frame, 3, 5, SplitSpec(test_days=220), scaler=scaler)
    spec = RollingSpec(refit_every=20)
    base = baseline_forecasts(p, spec)
    fc = network_forecasts(p, base, "gru", ridge_paths(p, spec))  # a stand-in network: ridge's returns
    return p, rolling_report(p, fc, "gru", spec)


def test_every_band_at_an_origin_is_bit_identical_when_later_prices_change(frames):
    frame, changed, cut = frames
    p, a = _report(frame)
    _, b = _report(changed, scaler=p.scaler)
    first = a.backtest["dates"].index(cut.strftime("%Y-%m-%d"))  # origin k forecasts from the close of dates[k]
    names = ["gru", "ridge", "persistence", *BAND_BASELINES[1:]]
    for name in names:
        for col in ("lower80", "upper80", "lower95", "upper95"):
            before_a, before_b = a.backtest["models"][name][col][:first], b.backtest["models"][name][col][:first]
            assert before_a == before_b, (name, col)  # origins whose close is before the change
            assert a.backtest["models"][name][col][first + 2:] != b.backtest["models"][name][col][first + 2:], (name, col)
    assert all(v is not None for v in a.backtest["models"]["garch_band"]["lower80"][0])


def test_the_volatility_terciles_use_only_returns_before_each_origin(frames):
    frame, _, _ = frames
    p, rep = _report(frame)
    r = daily_returns(p)
    origins = np.arange(p.test_start, p.n)
    reported = origins[origins >= RollingSpec(refit_every=20).promotion_end(p.test_start, p.n)]
    vol = rolling_std(r)[reported]
    assert vol[5] == pytest.approx(np.std(r[reported[5] - 20: reported[5]], ddof=1))
    cuts = rep.metrics["evaluation"]["vol_tercile_cuts"]
    assert cuts == pytest.approx([np.quantile(vol, 1 / 3), np.quantile(vol, 2 / 3)])
    counts = rep.metrics["intervals"]["gru"]["tercile_origins80"]
    assert [c[0] for c in counts] == [int(np.sum(vol <= cuts[0])), int(np.sum((vol > cuts[0]) & (vol <= cuts[1]))),
                                      int(np.sum(vol > cuts[1]))]


def test_metrics_carry_coverage_tests_and_goals_for_every_band(frames):
    frame, _, _ = frames
    _, rep = _report(frame)
    iv = rep.metrics["intervals"]
    assert set(iv) == {"gru", "ridge", *BAND_BASELINES}
    for entry in iv.values():
        for tag in ("80", "95"):
            assert len(entry[f"tercile_coverage{tag}"]) == 3 and len(entry[f"tercile_coverage{tag}"][0]) == 5
            tests = entry[f"tests{tag}"]
            assert {"kupiec", "independence", "cc", "kupiec_holm", "independence_holm", "cc_holm"} <= set(tests)
            assert all(h >= p for h, p in zip(tests["cc_holm"], tests["cc"]) if p is not None)  # Holm never lowers a p
    goals = iv["gru"]["goals"]
    assert len(goals) == 8 and all(set(g) == {"goal", "met", "detail"} for g in goals)
    assert len(rep.metrics["evaluation"]["interval_scale_exponent"]) == 5


def test_a_short_history_keeps_the_plain_scale_and_claims_no_goal():
    """Too few days before the evaluation period to fit b, too few reported origins to judge: said so, not passed."""
    p = prepare(prices(120), 3, 5, SplitSpec(test_days=40))
    spec = RollingSpec(refit_every=20)
    fc = network_forecasts(p, baseline_forecasts(p, spec), "gru", ridge_paths(p, spec))
    rep = rolling_report(p, fc, "gru", spec)
    assert rep.metrics["evaluation"]["interval_scale_exponent"] == [1.0] * 5
    goals = rep.metrics["intervals"]["gru"]["goals"]
    assert not any(g["met"] for g in goals) and goals[0]["detail"] == "no coverage yet (too few reported origins)"
