"""Synthetic price frames for the model tests (no store, no network)."""
import numpy as np
import pandas as pd


def prices(n=300, seed=0):
    """A random-walk price frame on business days."""
    rng = np.random.default_rng(seed)
    close = 50 * np.exp(np.cumsum(rng.normal(0, 0.02, n)))
    idx = pd.bdate_range("2020-01-01", periods=n, name="date")
    return pd.DataFrame({"open": close * 0.99, "high": close * 1.01, "low": close * 0.98, "close": close,
                         "volume": rng.integers(1_000, 2_000, n)}, index=idx)
