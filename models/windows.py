"""Sliding windows with the semantics of Keras 2's ``TimeseriesGenerator``.

``TimeseriesGenerator(data, targets, length=L)`` pairs the window of rows
``i-L .. i-1`` with ``targets[i]`` for every ``i`` in ``L .. len(data)-1``: no
window is dropped at the end. (Keras 3 removed the class, and the
``timeseries_dataset_from_array`` recipe in its docs drops the newest L-1.)
"""
from __future__ import annotations

import numpy as np


def window_targets(n_rows: int, length: int, start: int | None = None, end: int | None = None) -> np.ndarray:
    """Target row indices ``i`` whose window ``i-L .. i-1`` lies inside the data.

    ``start``/``end`` restrict the targets to ``start <= i < end`` (like the
    generator's ``start_index``/``end_index``, but ``end`` is exclusive).
    """
    if length < 1:
        raise ValueError(f"window length must be >= 1, got {length}")
    lo = max(length, 0 if start is None else start)
    hi = n_rows if end is None else min(end, n_rows)
    return np.arange(lo, max(lo, hi))


def make_windows(data: np.ndarray, length: int, targets_at: np.ndarray) -> np.ndarray:
    """Stack the windows ending just before each index in ``targets_at``.

    data: (n_rows, n_features) -> returns (len(targets_at), length, n_features).
    ``targets_at`` may include ``n_rows`` itself: the window of the newest L
    rows, which has no target yet and feeds the forecast.
    """
    data = np.asarray(data, dtype=np.float32)
    targets_at = np.asarray(targets_at, dtype=np.int64)
    if len(targets_at) and (targets_at.min() < length or targets_at.max() > len(data)):
        raise ValueError("a target index needs `length` rows before it inside the data")
    # view[j] = data[j : j+length]; the window for target i starts at i-length.
    view = np.lib.stride_tricks.sliding_window_view(data, length, axis=0)  # (n-L+1, F, L)
    return np.ascontiguousarray(view[targets_at - length].transpose(0, 2, 1))  # (N, L, F)


def timeseries_windows(data: np.ndarray, targets: np.ndarray, length: int) -> tuple[np.ndarray, np.ndarray]:
    """All (window, target) pairs ``TimeseriesGenerator(data, targets, length)`` yields, as arrays."""
    idx = window_targets(len(data), length)
    return make_windows(data, length, idx), np.asarray(targets)[idx]
