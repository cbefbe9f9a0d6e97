"""Choose the networks' band settings on the history BEFORE the evaluation period (never on reported origins).

    python -m scripts.tune_bands [--ticker AAPL]

On the offline sample's prices (the default split), bands around persistence at every origin
whose whole 5-day outcome closed before the evaluation period, scaled like the networks' bands
(GARCH(1,1)-t h-day sd ** b_h, one fit on those rows), for each ACI step size and trailing
window: coverage and mean Winkler score (% of price) over the origins after the first 600 (so
every setting has a full window). The setting with the lowest Winkler score at both levels is
``models.report.BAND_SPEC``; the figures are in the README ("How the models are judged").
"""
from __future__ import annotations

import argparse

import numpy as np

from marketdata.sources.offline import OfflineSampleSource
from models.features import SplitSpec, prepare
from models.garch import MIN_RETURNS, history_scale
from models.intervals import IntervalSpec, PathsAtOrigins, adaptive_halfwidths, winkler
from models.report import LEVELS, tuned_exponent
from models.rolling import daily_returns

GAMMAS = (0.0, 0.002, 0.005, 0.01)
WINDOWS = (250, 500, 1000)
FIRST_SCORED = 600  # origins before this row only feed the windows


def _setup(ticker: str, horizon: int = 5) -> tuple[PathsAtOrigins, np.ndarray, str]:
    p = prepare(OfflineSampleSource().fetch(ticker), 3, horizon, SplitSpec())
    origins = np.arange(MIN_RETURNS, p.test_start - horizon + 1)
    steps = np.arange(horizon)
    actual = p.close[origins[:, None] + steps[None, :]]
    pred = np.repeat(p.base[origins][:, None], horizon, axis=1)
    scale = np.full((p.n + 1, horizon), np.nan)
    scale[: p.test_start + 1] = history_scale(daily_returns(p), p.test_start, horizon) ** tuned_exponent(p)[None, :]
    span = f"{p.dates[origins[0]]:%Y-%m-%d} to {p.dates[p.test_start - 1]:%Y-%m-%d}"
    return PathsAtOrigins(origins, pred, actual), scale, span


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--ticker", default="AAPL", choices=["AAPL", "MSFT", "IBM", "GOOG"])
    ticker = parser.parse_args(argv).ticker
    paths, scale, span = _setup(ticker)
    print(f"{ticker}, origins {span} (outcomes before the evaluation period)")
    print("| window | ACI gamma | 80% coverage | Winkler 80% | 95% coverage | Winkler 95% |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    for window in WINDOWS:
        for gamma in GAMMAS:
            cells = []
            for level in LEVELS:
                half, _ = adaptive_halfwidths(paths, scale, level, IntervalSpec(window=window, gamma=gamma))
                ok = np.isfinite(half) & (paths.origins[:, None] >= FIRST_SCORED)
                pred = paths.predicted
                w = winkler(pred * (1 - half), pred * (1 + half), paths.actual, level) / pred * 100
                inside = np.abs(paths.actual / pred - 1) <= half
                cells += [f"{inside[ok].mean() * 100:.1f}", f"{w[ok].mean():.3f}"]
            print(f"| {window} | {gamma} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
