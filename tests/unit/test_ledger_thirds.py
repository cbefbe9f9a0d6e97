"""Live band coverage per volatility third of the origin, from ledger frames."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from store import ledger_metrics as lm
from tests.unit.test_ledger_metrics import DAYS, frame


def _closes(n: int, seed: int = 1) -> pd.Series:
    """Closes from 40 business days before the ledger's first origin, calm then turbulent."""
    rng = np.random.default_rng(seed)
    idx = pd.bdate_range(end=DAYS[n], periods=n + 41)
    vol = np.where(np.arange(len(idx)) < len(idx) // 2, 0.005, 0.03)
    return pd.Series(100 * np.cumprod(1 + rng.normal(0, 1, len(idx)) * vol), index=idx)


def test_origin_volatility_uses_only_returns_up_to_the_origin_close():
    closes = _closes(100)
    vol = lm.origin_volatility(closes)
    day = closes.index[60]
    r = closes.pct_change()
    assert vol[day] == pytest.approx(r.loc[:day].iloc[-20:].std(ddof=1))
    later = closes.copy()
    later.iloc[61:] *= 1.5
    assert lm.origin_volatility(later)[day] == vol[day]


def test_coverage_by_third_waits_for_sixty_live_days():
    table, days = lm.coverage_by_third(frame(n=59), "gru", _closes(59))
    assert table.empty and days == 59
    table, days = lm.coverage_by_third(frame(n=80, kind="replayed"), "gru", _closes(80))
    assert table.empty and days == 0  # replayed rows are never counted as live


def test_coverage_by_third_splits_live_origins_into_equal_thirds_by_their_volatility():
    f, closes = frame(n=90), _closes(90)
    table, days = lm.coverage_by_third(f, "gru", closes)
    assert days == 90 and list(table["third"]) == ["calm", "middle", "turbulent"]
    assert list(table["n"]) == [30, 30, 30]
    vol = lm.origin_volatility(closes).reindex(pd.DatetimeIndex(f["origin"])).to_numpy()
    calm = vol <= np.quantile(vol, 1 / 3)
    inside = ((f["lower80"] <= f["actual"]) & (f["actual"] <= f["upper80"])).to_numpy()
    assert table.loc[0, "coverage80"] == pytest.approx(inside[calm].mean())
