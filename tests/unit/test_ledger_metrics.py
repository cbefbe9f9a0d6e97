"""Live figures from ledger frames: each checked against its definition, computed here from first principles."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from store import ledger_metrics as lm

DAYS = pd.bdate_range("2024-01-02", periods=120)


def frame(n: int = 80, kind: str = "live", cell: str = "gru", seed: int = 0, scored: int | None = None,
          switch_every: int = 30) -> pd.DataFrame:
    """``n`` one-day rows of a random walk with a noisy forecast; the first ``scored`` have an actual."""
    rng = np.random.default_rng(seed)
    close = 100 * np.cumprod(1 + rng.normal(0, 0.01, n + 1))
    pred = close[:-1] * (1 + rng.normal(0, 0.008, n))
    half = close[:-1] * 0.012
    actual = close[1:].copy()
    scored = n if scored is None else scored
    actual[scored:] = np.nan
    version = 1 + np.arange(n) // switch_every
    return pd.DataFrame({
        "id": np.arange(n), "ticker": "AAPL", "cell": cell, "model_id": pd.array(version, dtype="Int64"),
        "model_version": version, "origin": DAYS[:n], "origin_close": close[:-1], "target_date": DAYS[1:n + 1],
        "horizon": 1, "predicted": pred, "lower80": pred - half, "upper80": pred + half, "lower95": pred - 2 * half,
        "upper95": pred + 2 * half, "published_at": DAYS[:n], "kind": kind, "actual": actual,
        "persistence": np.where(np.isnan(actual), np.nan, close[:-1]), "scored_at": DAYS[1:n + 1],
    })


def test_score_follows_the_definitions():
    f = frame()
    s = lm.score(f)
    err, base = f.actual - f.predicted, f.actual - f.persistence
    assert s.n == 80
    assert s.rmse == pytest.approx(np.sqrt((err**2).mean()))
    assert s.persistence_mae == pytest.approx(base.abs().mean())
    assert s.rmse_ratio == pytest.approx(s.rmse / s.persistence_rmse)
    assert s.coverage80 == pytest.approx(((f.lower80 <= f.actual) & (f.actual <= f.upper80)).mean())
    moved = np.sign(f.actual - f.persistence)
    assert s.up_share == pytest.approx((moved[moved != 0] > 0).mean())
    assert s.direction_hits == pytest.approx((np.sign(f.predicted - f.persistence) == moved)[moved != 0].mean())
    d = err**2 - base**2
    assert s.dm_stat == pytest.approx(d.mean() / (d.std(ddof=1) / np.sqrt(len(d))))


def test_unscored_rows_are_left_out_and_windows_take_the_newest_target_days():
    f = frame(scored=70)
    assert lm.score(f).n == 70
    table = lm.score_table(f).set_index("window")
    assert table.loc["all", "n"] == 70 and table.loc["last 60", "n"] == 60 and table.loc["last 20", "n"] == 20
    newest20 = f[f.actual.notna()].tail(20)
    assert table.loc["last 20", "rmse"] == pytest.approx(np.sqrt(((newest20.actual - newest20.predicted) ** 2).mean()))


def test_live_and_replayed_rows_are_never_pooled():
    f = pd.concat([frame(kind="live", seed=1), frame(n=30, kind="replayed", seed=2)], ignore_index=True)
    table = lm.score_table(f)
    assert set(table.kind) == {"live", "replayed"}
    live_all = table[(table.kind == "live") & (table.window == "all")].iloc[0]
    assert live_all.n == 80 and live_all.rmse == pytest.approx(lm.score(f[f.kind == "live"]).rmse)
    coverage = lm.coverage_by_horizon(f, "gru").set_index("kind")
    assert coverage.loc["replayed", "n"] == 30 and coverage.loc["live", "n"] == 80


def test_cumulative_advantage_ends_at_n_times_the_mse_difference_and_marks_model_changes():
    f = frame(switch_every=30)
    curve = lm.cumulative_advantage(f, "gru")
    s = lm.score(f)
    assert curve.cum.iloc[-1] == pytest.approx(80 * (s.rmse**2 - s.persistence_rmse**2))
    changes = lm.champion_changes(curve)
    assert list(changes.label) == ["v1 to v2", "v2 to v3"]
    assert list(changes.target_date) == [DAYS[31], DAYS[61]]  # the first forecasts of the new models


def test_last_publication_prefers_live_rows():
    f = pd.concat([frame(n=40, kind="live"), frame(n=60, kind="replayed")], ignore_index=True)
    pub = lm.last_publication(f, "gru")
    assert set(pub.kind) == {"live"} and set(pub.origin) == {DAYS[39]}
    assert set(lm.last_publication(f[f.kind == "replayed"], "gru").origin) == {DAYS[59]}


@pytest.mark.parametrize("scored, says", [
    (0, "No live one-day forecast of the GRU has been scored yet; the first is scored when the close of"),
    (5, "Only 5 live one-day forecasts of the GRU have been scored so far, too few to judge"),
    (80, "Over the last 60 live one-day forecasts the GRU was"),
])
def test_the_verdict_is_honest_about_how_much_it_rests_on(scored, says):
    words = lm.verdict(frame(scored=scored), "gru")
    assert words.startswith(says)
    if 0 < scored < lm.FEW_ROWS:  # below 20 scored days no rate or ratio is stated as a finding
        assert "%" not in words.replace("80%", "").replace("95%", "") and "accurate" not in words, words
    if scored >= lm.FEW_ROWS:
        live = frame(scored=scored).dropna(subset=["actual"]).tail(60)
        coverage = ((live.lower80 <= live.actual) & (live.actual <= live.upper80)).mean()
        assert f"its 80% band held the close on {coverage * 100:.1f}% of days, against a target of 80%" in words


def test_a_replay_of_one_day_is_too_few_to_judge_and_states_no_rate():
    """Was: "10.4% less accurate ... band held on 100.0% ... direction right on 0.0%" over one replayed day."""
    f = pd.concat([frame(n=10, kind="live", scored=0), frame(n=1, kind="replayed")], ignore_index=True)
    words = lm.verdict(f, "gru")
    assert "Only 1 past trading day replayed (forecasts made after the fact, not live) for the GRU has been scored " \
           "so far, too few to judge" in words
    assert "%" not in words and "accurate" not in words, words


def test_a_tie_reads_about_as_accurate_as():
    """Was: "about as accurate than repeating the last close"."""
    f = frame(n=40)
    f["predicted"] = f["persistence"]
    assert "was about as accurate as repeating the last close" in lm.verdict(f, "gru")


def test_the_verdict_tells_a_replay_apart():
    f = pd.concat([frame(n=10, kind="live", scored=0), frame(n=50, kind="replayed")], ignore_index=True)
    words = lm.verdict(f, "gru")
    assert "No live one-day forecast" in words and "In a replay of 50 past trading days (forecasts made after the " \
                                                   "fact, not live)" in words
