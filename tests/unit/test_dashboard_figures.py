"""Figure builders: payloads in, figures out; what each chart must show."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from dashboard.figures import common, compare, forecast, residuals


@pytest.fixture(scope="module")
def prices() -> pd.DataFrame:
    """A year and a half of synthetic business-day closes (a random walk)."""
    rng = np.random.default_rng(0)
    idx = pd.bdate_range("2020-01-01", periods=400)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, len(idx))))
    return pd.DataFrame({"open": close, "high": close * 1.01, "low": close * 0.99, "close": close, "volume": 1000}, index=idx)


@pytest.fixture(scope="module")
def payloads(prices) -> dict:
    """All output payloads of one stand-in GRU, in the shapes training writes (scored by models.report)."""

    from scripts.fixture_store import build_payloads

    return build_payloads(prices, "gru", seed=1)["outputs"]


def _names(fig) -> list[str]:
    return [t.name for t in fig.data if t.name]


def test_forecast_figure_shows_history_predictions_bands_and_split(prices, payloads):
    fig = forecast.forecast_figure(prices["close"], payloads["predictions"], payloads["forecast"], "gru")
    names = _names(fig)
    assert "actual close" in names and "GRU one-step prediction (rolling origins)" in names
    assert {"80% band", "95% band", "next 5 days"} <= set(names)
    # the split boundary is a line at test_start, plus three shaded periods
    split = payloads["predictions"]["split"]
    lines = [s for s in fig.layout.shapes if s.type == "line"]
    rects = [s for s in fig.layout.shapes if s.type == "rect"]
    assert [s.x0 for s in lines] == [split["test_start"]]
    # train, validation, the promotion window, then the reported origins
    assert [r.x0 for r in rects] == [split["train_start"], split["val_start"], split["test_start"], split["report_start"]]
    assert any("train/test split" in (a.text or "") for a in fig.layout.annotations)
    assert [b.label for b in fig.layout.xaxis.rangeselector.buttons][-1] == "all"


def test_forecast_bands_start_at_last_close_and_nest(payloads):
    fc = payloads["forecast"]
    fig = forecast.forecast_zoom_figure(pd.Series([1.0, 2.0], index=pd.to_datetime(["2020-01-01", "2020-01-02"])), fc, "gru")
    line = next(t for t in fig.data if t.name == "GRU forecast")
    # the forecast's hovering points are the forecast days only; a join from the last close does not hover
    assert list(line.x) == fc["dates"] and list(line.y) == fc["predicted"]
    join = next(t for t in fig.data if t.x and list(t.x) == [fc["last_date"], fc["dates"][0]])
    assert list(join.y) == [fc["last_close"], fc["predicted"][0]] and join.hoverinfo == "skip"
    # 95% band contains the 80% band which contains the forecast, every day
    for i in range(len(fc["dates"])):
        assert fc["lower95"][i] <= fc["lower80"][i] <= fc["predicted"][i] <= fc["upper80"][i] <= fc["upper95"][i]


def test_forecast_table_is_the_shown_forecast(payloads):
    table = forecast.forecast_table(payloads["forecast"], "gru", 3, "MSFT")
    assert list(table["date"]) == payloads["forecast"]["dates"]
    # to the cent, as the cards and hovers show it
    assert list(table["predicted_close"]) == [round(v, 2) for v in payloads["forecast"]["predicted"]]
    assert set(table["model_version"]) == {3} and set(table["ticker"]) == {"MSFT"}


@pytest.mark.parametrize(
    "own, base, words",
    [(0.9, 1.0, "10.0% smaller than"), (1.2, 1.0, "20.0% larger than"), (1.001, 1.0, "about the same as")],
)
def test_rmse_in_words(own, base, words):
    metrics = {"test_days": 100, "rows": {"gru": {"rmse": own}, "persistence": {"rmse": base}}}
    sentence = forecast.rmse_in_words(metrics, "gru")
    assert words in sentence and "repeating yesterday's close" in sentence


@pytest.mark.parametrize("lo, hi, words", [(0.99, 1.01, "indistinguishable from"), (0.95, 0.99, "smaller than"),
                                           (1.01, 1.05, "larger than")])
def test_rmse_in_words_follows_the_interval_of_the_ratio(payloads, lo, hi, words):
    m = payloads["metrics"]
    rows = {**m["rows"], "gru": {**m["rows"]["gru"], "rmse_ratio_low": lo, "rmse_ratio_high": hi}}
    sentence = forecast.rmse_in_words({**m, "rows": rows}, "gru")
    assert words in sentence and f"Over {m['test_days']} rolling forecast origins" in sentence


def test_histogram_normal_overlay_has_the_area_of_the_bars(payloads):
    r = payloads["predictions"]["residual"]
    fig = residuals.residual_histogram(r, bins=30)
    bars, curve = fig.data
    width = bars.width
    area = np.trapezoid(curve.y, curve.x) / width  # in "days"
    assert sum(bars.y) == len(r)
    assert area == pytest.approx(len(r), rel=0.1)


def test_acf_marks_lags_beyond_the_bound():
    fig = residuals.acf_figure([0.5, 0.01, -0.3], bound=0.2)
    assert list(fig.data[0].marker.color) == ["#e74c3c", "#2c3e50", "#e74c3c"]
    assert sorted(s.y0 for s in fig.layout.shapes) == [-0.2, 0.2]


def test_qq_of_normal_data_lies_on_the_line():
    r = np.random.default_rng(1).normal(0, 2, 2000)
    fig = residuals.qq_figure(list(r))
    pts = fig.data[0]
    assert len(pts.x) == 2000
    assert np.corrcoef(pts.x, pts.y)[0, 1] > 0.99


def test_rolling_bias_and_residuals_over_time(payloads):
    p = payloads["predictions"]
    assert len(residuals.rolling_bias_figure(p, window=10).data[0].y) == len(p["dates"])
    fig = residuals.residuals_over_time(p, "gru")
    # The split is stated, not drawn: a line before the first reported day left part of the axis blank (issue 22).
    assert any(p["split"]["test_start"] in (a.text or "") for a in fig.layout.annotations)
    assert list(fig.layout.xaxis.range) == [p["dates"][0], p["dates"][-1]]


@pytest.mark.parametrize("p, arch, expect", [
    (0.001, 0.5, "some day-to-day pattern in returns is left"),
    (0.001, 0.001, "changing variance alone makes Ljung-Box reject"),  # the audit's case: not a missed pattern
    (0.6, 0.001, "cannot tell them from white noise"),
])
def test_ljung_box_sentence_follows_the_figures(p, arch, expect):
    sentence = residuals.ljung_box_sentence({"ljung_box_pvalue": p, "arch_lm_pvalue": arch,
                                             "persistence": {"ljung_box_pvalue": 0.003}})
    assert expect in sentence and "Persistence's errors" in sentence


@pytest.mark.parametrize("p, expect", [(0.01, "spells cluster"), (0.4, "no clear volatility clustering")])
def test_arch_sentence(p, expect):
    assert expect in residuals.arch_sentence({"arch_lm_pvalue": p})


@pytest.mark.parametrize(
    "stat, p, expect",
    [(-3.0, 0.003, "significantly smaller"), (3.0, 0.003, "significantly larger"), (0.5, 0.6, "not distinguishable"),
     (None, None, "not computed"), (1.0, math.nan, "not computed")],
)
def test_dm_sentence(stat, p, expect):
    assert expect in residuals.dm_sentence({"dm_stat": stat, "dm_pvalue": p}, "gru")


def test_metrics_frame_puts_baselines_beside_networks(payloads):
    m = payloads["metrics"]
    lstm = {**m, "cell": "lstm", "rows": {"lstm": m["rows"]["gru"], "persistence": m["rows"]["persistence"],
                                          "drift": m["rows"]["drift"]}}
    frame = compare.metrics_frame({"gru": m, "lstm": lstm})
    assert list(frame["model"]) == ["GRU", "LSTM", "Persistence (baseline)", "Drift (baseline)",
                                    "Linear AR (ridge) (baseline)"]
    assert frame.loc[2, "RMSE / persistence"] == 1.0
    assert list(frame.columns) == compare.TABLE_COLUMNS
    assert set(frame["origins"]) == {m["test_days"]}  # every row counts its origins
    assert frame.loc[0, "95% interval"].startswith("[")  # ratios come with their noise


def test_direction_names_always_up_and_the_base_rate(payloads):
    frame, words = compare.direction_frame({"gru": payloads["metrics"]})
    assert list(frame["forecaster"]) == ["GRU", "Linear AR (ridge) (baseline)", "Drift (baseline)", "Always up (baseline)"]
    up = payloads["metrics"]["direction"]["up_share"]
    assert f"{up * 100:.1f}% of the" in words and "always saying" in words


def test_pairs_say_indistinguishable_when_the_interval_covers_zero():
    comparison = {"origins": 300, "first_origin": "2012-01-03", "last_origin": "2013-03-01", "pairs": [
        {"a": "gru", "b": "lstm", "low": [-0.01, -0.02], "high": [0.01, 0.02], "difference": [0.001, 0.0],
         "dm_pvalue": [0.7, 0.8], "verdict": ["indistinguishable", "indistinguishable"]},
        {"a": "gru", "b": "ridge", "low": [-0.03, -0.01], "high": [-0.01, 0.01], "difference": [-0.02, 0.0],
         "dm_pvalue": [0.01, 0.5], "verdict": ["gru better", "indistinguishable"]}]}
    frame = compare.pairs_frame(comparison)
    assert list(frame["verdict"]) == ["indistinguishable", "GRU better"]
    assert list(frame["verdict by horizon h=1..H"]) == ["= / =", "GRU / ="]
    words = compare.verdict_sentence(comparison, {})
    assert "GRU is better than Linear AR (ridge)" in words and "The rest are indistinguishable" in words
    comparison["pairs"] = comparison["pairs"][:1]
    assert "is not a ranking" in compare.verdict_sentence(comparison, {})


BANDS = ["GRU", "Linear AR (ridge)", "Random-walk band", "GARCH(1,1)-t band", "Conformal band (persistence)"]


def test_interval_table_has_every_horizon_and_every_baseline_band(payloads):
    frame = compare.interval_frame({"gru": payloads["metrics"]})
    assert list(frame["band"]) == [b for b in BANDS for _ in range(2)]
    assert all(len(c.split(" / ")) == 5 for c in frame["coverage by horizon (%)"])


def test_tercile_and_test_tables_show_every_band_at_both_levels(payloads):
    m = payloads["metrics"]
    terciles = compare.tercile_frame({"gru": m})
    assert list(terciles["band"]) == [b for b in BANDS for _ in range(2)] and list(terciles["level"][:2]) == ["80%", "95%"]
    calm = m["intervals"]["gru"]["tercile_coverage80"][0]
    assert terciles.loc[0, "calm third: % inside, h=1..H"] == " / ".join(f"{c * 100:.1f}" for c in calm)
    tests = compare.tests_frame({"gru": m})
    assert len(tests) == 10 and all(len(v.split(" / ")) == 5 for v in tests["conditional coverage p after Holm, h=1..H"])
    goals = compare.goals_frame({"gru": m})
    assert len(goals) == 8 and set(goals["met"]) <= {"yes", "no"}
    assert "calm below" in compare.band_sentence({"gru": m})


def test_band_tables_are_empty_for_models_stored_before_them(payloads):
    m = {k: v for k, v in payloads["metrics"].items() if k not in ("intervals", "evaluation")}
    assert compare.tercile_frame({"gru": m}).empty and compare.tests_frame({"gru": m}).empty
    assert compare.goals_frame({"gru": m}).empty and "retrain" in compare.band_sentence({"gru": m})


def test_compare_figures_one_trace_per_model(payloads):
    preds = {"gru": payloads["predictions"], "lstm": payloads["predictions"]}
    assert _names(compare.overlay_figure(preds)) == ["actual", "GRU", "LSTM"]
    assert len(compare.loss_figure({"gru": payloads["loss_curve"]}).data) == 2  # train + validation
    hz = compare.horizon_figure({"gru": payloads["metrics"]}, "mae")
    assert _names(hz) == ["GRU", "Persistence", "Drift", "Linear AR (ridge)"]
    assert list(hz.data[0].y) == payloads["metrics"]["rows"]["gru"]["per_horizon_mae"]


def test_empty_figure_says_why():
    fig = common.empty_figure("nothing yet")
    assert fig.layout.annotations[0].text == "nothing yet"


@pytest.mark.parametrize("bias, expect", [(-0.02, "Mean residual -$0.02"),
                                          (0.5, "Mean residual +$0.50")])
def test_bias_sentence(bias, expect):
    sentence = residuals.bias_sentence({"mean_bias": bias, "mean_bias_pct": bias / 100})
    assert sentence.startswith(expect) and "% of the previous close" in sentence
    assert ("under-predicts" if bias > 0 else "over-predicts") in sentence


def test_models_stored_before_rolling_evaluation_still_render_without_claims():
    # A store trained by an earlier version has one-split scalars only: shown, never over-interpreted.
    row = {"rmse": 1.0, "rmse_ratio": 0.99, "coverage80": 0.85, "coverage95": 0.97, "per_horizon_mae": [1, 2]}
    m = {"cell": "gru", "horizon": 2, "test_days": 100, "rows": {"gru": row, "persistence": {**row, "rmse_ratio": 1.0}}}
    frame = compare.metrics_frame({"gru": m})
    assert frame.loc[0, "RMSE / persistence"] == 0.99 and frame.loc[0, "95% interval"] == ""
    assert compare.direction_frame({"gru": m})[0].empty and compare.interval_frame({"gru": m}).empty
    assert "no ARCH-LM test is stored" in residuals.ljung_box_sentence({"ljung_box_pvalue": 0.01})
    assert "On the 100 test days" in forecast.rmse_in_words(m, "gru")
