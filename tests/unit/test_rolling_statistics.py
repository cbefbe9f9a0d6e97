"""Statistics of the rolling-origin evaluation against hand-worked examples and independent computations."""
import math

import numpy as np
import pytest
from scipy import stats

from models.features import SplitSpec, prepare
from models.intervals import IntervalSpec, PathsAtOrigins, adaptive_halfwidths, ewma_vol, rolling_std, winkler
from models.rolling import RollingSpec, baseline_forecasts, drift_returns, ridge_fit
from models.skill import (
    FIGURES, Sums, block_length, block_lengths, bootstrap_by_horizon, bootstrap_indices, bootstrap_intervals, direction_row, horizon_table, percentile_band, pesaran_timmermann, residual_tests,
    verdict,
)
from tests.support.prices import prices


def test_pesaran_timmermann_hand_worked_example():
    y = np.array([1, 1, 0, 0, 1, 0, 1, 1, 0, 1], bool)  # 6 up days
    x = np.array([1, 0, 0, 1, 1, 0, 1, 1, 1, 1], bool)  # 7 "up" calls, 7 hits
    # P = 0.7, Py = 0.6, Px = 0.7, P* = 0.6*0.7 + 0.4*0.3 = 0.54
    # V(P) = 0.54*0.46/10 = 0.02484; V(P*) = 0.04*0.21/10 + 0.16*0.24/10 + 4*0.6*0.7*0.4*0.3/100 = 0.006696
    expected = (0.7 - 0.54) / math.sqrt(0.02484 - 0.006696)
    stat, p = pesaran_timmermann(y, x)
    assert stat == pytest.approx(expected, rel=1e-9)
    assert p == pytest.approx(stats.norm.sf(expected), rel=1e-9)


def test_pesaran_timmermann_matches_the_chi_square_test_of_independence_in_large_samples():
    # PT is asymptotically the signed root of the 2x2 chi-square statistic (Pesaran & Timmermann 1992).
    rng = np.random.default_rng(3)
    y = rng.random(5000) < 0.53
    x = np.where(rng.random(5000) < 0.6, y, rng.random(5000) < 0.7)
    stat, _ = pesaran_timmermann(y, x)
    table = np.array([[np.sum(y & x), np.sum(y & ~x)], [np.sum(~y & x), np.sum(~y & ~x)]])
    chi2 = stats.chi2_contingency(table, correction=False)[0]
    assert stat**2 == pytest.approx(chi2, rel=0.01)


def test_always_up_has_no_pesaran_timmermann_test_and_scores_the_base_rate():
    actual = np.array([[11.0], [9.0], [12.0], [13.0]])
    base = np.full(4, 10.0)
    row = direction_row(actual, base, None)
    assert row["hit_rate"] == 0.75 and row["up_calls"] == 1.0
    assert row["pt_stat"] is None and row["pt_pvalue"] is None


def test_ridge_without_penalty_is_least_squares_and_with_penalty_the_augmented_system():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 6))
    y = x @ rng.normal(size=(6, 2)) + 0.3 + rng.normal(0, 0.1, size=(200, 2))
    coef, icpt = ridge_fit(x, y, alpha=0.0)
    design = np.c_[x, np.ones(200)]
    ols = np.linalg.lstsq(design, y, rcond=None)[0]
    assert np.allclose(coef, ols[:-1]) and np.allclose(icpt, ols[-1])
    # ridge on centred data = least squares on [Xc; sqrt(a) I] -> [Yc; 0]
    a = 5.0
    xc, yc = x - x.mean(0), y - y.mean(0)
    aug = np.linalg.lstsq(np.r_[xc, math.sqrt(a) * np.eye(6)], np.r_[yc, np.zeros((6, 2))], rcond=None)[0]
    assert np.allclose(ridge_fit(x, y, alpha=a)[0], aug)


def test_winkler_score_hand_example():
    lo, hi = np.array([9.0, 9.0, 9.0]), np.array([11.0, 11.0, 11.0])
    y = np.array([10.0, 8.0, 12.5])
    # alpha = 0.2: inside -> width 2; below by 1 -> 2 + 10*1; above by 1.5 -> 2 + 10*1.5
    assert list(winkler(lo, hi, y, 0.80)) == pytest.approx([2.0, 12.0, 17.0])


def test_volatility_estimates_use_only_returns_before_the_origin():
    r = np.random.default_rng(1).normal(0, 0.01, 100)
    bumped = r.copy()
    bumped[60] = 0.5
    assert np.array_equal(ewma_vol(r)[:61], ewma_vol(bumped)[:61]) and ewma_vol(bumped)[61] > ewma_vol(r)[61]
    assert rolling_std(r)[40] == pytest.approx(np.std(r[20:40], ddof=1))


def _regime_returns(n, seed):
    """Daily returns whose volatility switches between calm and turbulent spells."""
    rng = np.random.default_rng(seed)
    vol = np.where((np.arange(n) // 250) % 2 == 0, 0.008, 0.03)
    return rng.standard_t(5, n) * vol / math.sqrt(5 / 3)


@pytest.mark.parametrize("level", [0.80, 0.95])
def test_adaptive_intervals_cover_at_every_horizon_through_volatility_regimes(level):
    r = _regime_returns(3000, seed=7)
    close = 100 * np.cumprod(1 + r)
    horizon = 3
    origins = np.arange(1, len(r) - horizon)
    base = np.r_[100.0, close[:-1]][origins]
    actual = np.stack([close[origins + h] for h in range(horizon)], axis=1)
    pred = np.repeat(base[:, None], horizon, axis=1)
    half, _ = adaptive_halfwidths(PathsAtOrigins(origins, pred, actual), ewma_vol(r), level, IntervalSpec())
    covered = np.abs(actual / pred - 1) <= half
    ok = np.isfinite(half)
    for h in range(horizon):
        assert covered[ok[:, h], h].mean() == pytest.approx(level, abs=0.02)
    # calm spells get narrower bands than turbulent ones
    calm = (origins // 250) % 2 == 0
    assert np.nanmean(half[calm & ok[:, 0], 0]) < 0.5 * np.nanmean(half[~calm & ok[:, 0], 0])


def test_an_outcome_changes_no_interval_issued_before_it_was_known():
    r = _regime_returns(400, seed=2)
    close = 100 * np.cumprod(1 + r)
    origins = np.arange(1, 398)
    pred = np.repeat(np.r_[100.0, close[:-1]][origins][:, None], 2, axis=1)
    actual = np.stack([close[origins], close[origins + 1]], axis=1)
    a, _ = adaptive_halfwidths(PathsAtOrigins(origins, pred, actual), ewma_vol(r), 0.8)
    changed = actual.copy()
    changed[300, 0] *= 1.2  # the h=1 outcome of origin row 300 (known from origin 302 on)
    b, _ = adaptive_halfwidths(PathsAtOrigins(origins, pred, changed), ewma_vol(r), 0.8)
    assert np.array_equal(a[:301, 0], b[:301, 0], equal_nan=True)
    assert not np.array_equal(a[302:, 0], b[302:, 0], equal_nan=True)


def test_ratio_sums_match_direct_formulas():
    rng = np.random.default_rng(4)
    base = 100 + rng.normal(0, 1, 50)
    actual = base[:, None] * (1 + rng.normal(0, 0.01, (50, 2)))
    model = base[:, None] * (1 + rng.normal(0, 0.01, (50, 2)))
    drift = base[:, None] * 1.0005
    pers = np.repeat(base[:, None], 2, axis=1)
    figs = Sums(actual, base, {"m": model, "persistence": pers, "drift": drift}, drift).figures()
    rm = np.sqrt(np.mean((actual - model) ** 2, 0)) / np.sqrt(np.mean((actual - pers) ** 2, 0))
    assert figs["m"]["rmse_ratio"] == pytest.approx(rm)
    ret, ret_hat, ret_bar = actual / base[:, None] - 1, model / base[:, None] - 1, drift / base[:, None] - 1
    assert figs["m"]["r2_zero"] == pytest.approx(1 - ((ret - ret_hat) ** 2).sum(0) / (ret**2).sum(0))
    assert figs["m"]["r2_mean"] == pytest.approx(1 - ((ret - ret_hat) ** 2).sum(0) / ((ret - ret_bar) ** 2).sum(0))
    assert figs["persistence"]["r2_zero"] == pytest.approx([0.0, 0.0])
    scaled = Sums(actual, base, {"m": model, "persistence": pers}, drift, scale=0.02).figures()
    table = horizon_table(actual, base, model, pers, 0.02)
    assert scaled["m"]["mase"] == pytest.approx(table["mase"])  # bootstrap and point MASE are one formula
    assert table["mase"][0] == pytest.approx(np.mean(np.abs(ret[:, 0] - ret_hat[:, 0])) / 0.02)


def test_stationary_bootstrap_resamples_rows_in_blocks():
    idx = bootstrap_indices(200, block=10, reps=50)
    assert idx.shape == (50, 200) and idx.min() >= 0 and idx.max() < 200
    # consecutive rows continue a block far more often than chance (1/200) would give
    runs = np.mean(np.diff(idx, axis=1) % 200 == 1)
    assert runs > 0.8


@pytest.mark.parametrize("shape, nan_share", [((999, 5), 0.0), ((999, 5), 0.01), ((999,), 0.0), ((999,), 0.3),
                                               ((7, 3), 0.5)])
def test_percentile_band_is_two_nanpercentiles_to_the_bit(shape, nan_share):
    """The report's bootstrap bands: one partition for both ends gives exactly what two nanpercentile calls did,
    with or without NaNs (a bootstrap figure with no scored row in a resample is NaN)."""
    rng = np.random.default_rng(11)
    draws = rng.normal(0, 1, shape)
    draws[rng.random(shape) < nan_share] = np.nan
    low, high = percentile_band(draws)
    assert np.array_equal(low, np.nanpercentile(draws, 2.5, axis=0), equal_nan=True)
    assert np.array_equal(high, np.nanpercentile(draws, 97.5, axis=0), equal_nan=True)
    assert np.shape(low) == shape[1:]


def test_percentile_band_of_an_all_nan_column_is_nan_like_nanpercentile():
    draws = np.random.default_rng(3).normal(0, 1, (50, 3))
    draws[:, 1] = np.nan
    with pytest.warns(RuntimeWarning, match="All-NaN"):
        low, high = percentile_band(draws)
    assert np.isnan(low[1]) and np.isnan(high[1]) and np.isfinite(low[[0, 2]]).all()


def test_block_lengths_follow_each_horizons_own_dependence():
    """Was: the block chosen from h=1 served every horizon; the h-day loss differences of overlapping origins are
    more dependent, so Politis-White picks a longer block there (and never one shorter than h)."""
    rng = np.random.default_rng(7)
    n, horizon = 400, 5
    shocks = rng.normal(0, 1, n + horizon)
    base = 100 + np.zeros(n)
    # the h-day move from origin k sums shocks k..k+h: consecutive origins share h of their h+1 shocks
    actual = np.stack([base + np.convolve(shocks, np.ones(h + 1), "valid")[:n] for h in range(horizon)], axis=1)
    pred = base[:, None] + 0.3 * rng.normal(0, 1, (n, horizon))
    blocks = block_lengths(actual, pred, base)
    assert blocks == [block_length((actual[:, h] - pred[:, h]) ** 2 - (actual[:, h] - base) ** 2, h + 1)
                      for h in range(horizon)]
    assert all(b >= h + 1 for h, b in enumerate(blocks)) and blocks[-1] > blocks[0]


def test_bootstrap_by_horizon_takes_each_horizon_from_the_run_with_its_block():
    rng = np.random.default_rng(5)
    base = 100 + rng.normal(0, 1, 120)
    actual = base[:, None] * (1 + rng.normal(0, 0.01, (120, 2)))
    model = base[:, None] * (1 + rng.normal(0, 0.01, (120, 2)))
    pers = np.repeat(base[:, None], 2, axis=1)
    sums = Sums(actual, base, {"m": model, "persistence": pers, "drift": pers}, pers)
    per, diffs = bootstrap_by_horizon(sums, 120, [2, 7], [("m", "persistence")])
    two, seven = (bootstrap_intervals(sums, bootstrap_indices(120, b), [("m", "persistence")]) for b in (2, 7))
    for f in FIGURES:
        assert per["m"][f][0][0] == pytest.approx(two[0]["m"][f][0][0], nan_ok=True)
        assert per["m"][f][1][1] == pytest.approx(seven[0]["m"][f][1][1], nan_ok=True)
    assert diffs[("m", "persistence")][0][1] == pytest.approx(seven[1][("m", "persistence")][0][1])


@pytest.mark.parametrize("low, high, word", [(-0.01, 0.02, "indistinguishable"), (-0.03, -0.001, "a better"),
                                            (0.002, 0.01, "b better"), (float("nan"), 0.1, "indistinguishable")])
def test_verdict_ranks_only_when_the_interval_excludes_zero(low, high, word):
    assert verdict(low, high, "a", "b") == word


def test_arch_lm_sees_volatility_clustering_and_not_its_absence():
    clustered = residual_tests(_regime_returns(1000, seed=0))
    assert clustered["arch_lm_pvalue"] < 0.01 and len(clustered["acf"]) == 20
    iid = residual_tests(np.random.default_rng(0).normal(0, 0.01, 1000))
    assert iid["arch_lm_pvalue"] > 0.05 and iid["ljung_box_pvalue"] > 0.05


def test_baselines_use_only_data_before_each_origin():
    frame = prices(400)
    spec = RollingSpec(refit_every=20)
    p = prepare(frame, 3, 5, SplitSpec(test_days=100))
    changed = frame.copy()
    cut = frame.index[350]
    changed.loc[cut:, ["open", "high", "low", "close"]] *= 1.3
    q = prepare(changed, 3, 5, SplitSpec(test_days=100), scaler=p.scaler)
    a, b = baseline_forecasts(p, spec), baseline_forecasts(q, spec)
    k = int(np.searchsorted(a.origins, p.dates.searchsorted(cut)))  # first origin that sees the change
    for name in ("persistence", "drift", "ridge"):
        assert np.allclose(a.paths[name][:k], b.paths[name][:k]), name
        assert not np.allclose(a.paths[name][k + 1:], b.paths[name][k + 1:]), name
    r = p.close / p.base - 1
    assert drift_returns(p, np.array([10]))[0] == pytest.approx(r[:10].mean())
