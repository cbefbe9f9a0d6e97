"""The Track record's plain-words verdict (dashboard.verdicts), from ledger frames with known figures."""
from __future__ import annotations

import pandas as pd
import pytest

from dashboard import fmt, verdicts
from contract.vocab import FEW_ROWS
from dashboard.verdicts import verdict
from tests.unit.test_ledger_metrics import frame


@pytest.mark.parametrize("scored, says", [
    (0, "No live one-day forecast of the GRU has been scored yet; the first is scored when the close of"),
    (5, "Only 5 live one-day forecasts of the GRU have been scored so far, too few to judge"),
    (80, "Over the last 60 live one-day forecasts the GRU was"),
])
def test_the_verdict_is_honest_about_how_much_it_rests_on(scored, says):
    words = verdict(frame(scored=scored), "gru")
    assert words.startswith(says)
    if 0 < scored < FEW_ROWS:  # below 20 scored days no rate or ratio is stated as a finding
        assert "%" not in words.replace("80%", "").replace("95%", "") and "accurate" not in words, words
    if scored >= FEW_ROWS:
        live = frame(scored=scored).dropna(subset=["actual"]).tail(60)
        coverage = ((live.lower80 <= live.actual) & (live.actual <= live.upper80)).mean()
        assert f"its 80% band held the close on {coverage * 100:.1f}% of days, against a target of 80%" in words


def test_a_replay_of_one_day_is_too_few_to_judge_and_states_no_rate():
    """Was: "10.4% less accurate ... band held on 100.0% ... direction right on 0.0%" over one replayed day."""
    f = pd.concat([frame(n=10, kind="live", scored=0), frame(n=1, kind="replayed")], ignore_index=True)
    words = verdict(f, "gru")
    assert "Only 1 past trading day replayed (forecasts made after the fact, not live) for the GRU has been scored " \
           "so far, too few to judge" in words
    assert "%" not in words and "accurate" not in words, words


def test_a_tie_reads_about_as_accurate_as():
    """Was: "about as accurate than repeating the last close"."""
    f = frame(n=40)
    f["predicted"] = f["persistence"]
    assert "was about as accurate as repeating the last close" in verdict(f, "gru")


def test_the_verdict_tells_a_replay_apart():
    f = pd.concat([frame(n=10, kind="live", scored=0), frame(n=50, kind="replayed")], ignore_index=True)
    words = verdict(f, "gru")
    assert "No live one-day forecast" in words and "In a replay of 50 past trading days (forecasts made after the " \
                                                   "fact, not live)" in words


def test_the_verdict_writes_numbers_in_the_house_format():
    assert verdicts.price is fmt.price and verdicts.pct is fmt.pct
