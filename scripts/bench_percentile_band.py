"""The report's bootstrap bands (models.skill.percentile_band) beside two ``np.nanpercentile`` calls, the way
``bootstrap_by_horizon`` used them before, on the same Sums and resamples; the intervals must be equal.

    python -m scripts.bench_percentile_band [--rows 250] [--repeat 20]

A report's figures: the network and every baseline, four figures each, one bootstrap per distinct block
length of its horizons (five horizons, blocks 3..7 here). Prints the CPU milliseconds of one
``bootstrap_by_horizon`` each way (the median of ``--repeat``) and whether every interval is equal.
"""
from __future__ import annotations

import argparse
import statistics
import time
from unittest import mock

import numpy as np

from contract.vocab import BASELINES
from models import skill


def two_nanpercentiles(draws: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The band as it was computed before: one nanpercentile for each end."""
    return np.nanpercentile(draws, 2.5, axis=0), np.nanpercentile(draws, 97.5, axis=0)


def _sums(rows: int, horizon: int = 5) -> skill.Sums:
    rng = np.random.default_rng(1)
    base = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, rows)))
    actual = base[:, None] * np.exp(rng.normal(0, 0.01, (rows, horizon)).cumsum(1))
    actual[-horizon:] = np.nan  # the newest origins' outcomes are not known yet
    names = ["gru", *(b.value for b in BASELINES)]
    paths = {m: base[:, None] * np.exp(rng.normal(0, 0.01, (rows, horizon))) for m in names}
    paths["persistence"] = np.repeat(base[:, None], horizon, axis=1)
    paths["drift"] = paths["persistence"] * 1.0002
    return skill.Sums(actual, base, paths, paths["drift"], scale=0.01)


def _timed(sums: skill.Sums, rows: int, repeat: int) -> tuple[float, tuple[dict, dict]]:
    pairs = [("gru", b.value) for b in BASELINES]
    blocks = [3, 4, 5, 6, 7]
    out = skill.bootstrap_by_horizon(sums, rows, blocks, pairs)  # warm-up (arch's import), outside the timing
    times = []
    for _ in range(repeat):
        started = time.process_time()
        out = skill.bootstrap_by_horizon(sums, rows, blocks, pairs)
        times.append(time.process_time() - started)
    return statistics.median(times) * 1e3, out


def _equal(a: object, b: object) -> bool:
    """Every interval equal to the bit (numpy's assert_equal walks the dicts and tuples; NaN equals NaN)."""
    try:
        np.testing.assert_equal(a, b)
    except AssertionError:
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=250, help="reported origins (default 250)")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    sums = _sums(args.rows)
    new_ms, new = _timed(sums, args.rows, args.repeat)
    with mock.patch.object(skill, "percentile_band", two_nanpercentiles):
        old_ms, old = _timed(sums, args.rows, args.repeat)
    print(f"bootstrap_by_horizon, {args.rows} origins, {len(sums.names)} forecasters: "
          f"two nanpercentiles {old_ms:.1f} ms, percentile_band {new_ms:.1f} ms CPU "
          f"({old_ms / new_ms:.1f}x); intervals equal: {_equal(old, new)}")


if __name__ == "__main__":
    main()
