"""Holm's step-down adjustment for a family of p-values: pure Python, shared by the read side (the dashboard
adjusts the p-values a page shows across the family they belong to; ``models.calibration`` has its own copy
for the band tests it stores)."""
from __future__ import annotations

import math
from collections.abc import Sequence


def holm(pvalues: Sequence[float | None]) -> list[float | None]:
    """Holm-adjusted p-values in the order given; None or NaN stays None and is not counted in the family."""
    idx = [i for i, p in enumerate(pvalues) if p is not None and math.isfinite(p)]
    m = len(idx)
    out: list[float | None] = [None] * len(pvalues)
    running = 0.0
    for rank, i in enumerate(sorted(idx, key=lambda i: float(pvalues[i]))):  # type: ignore[arg-type]
        running = max(running, min(1.0, (m - rank) * float(pvalues[i])))  # type: ignore[arg-type]
        out[i] = running
    return out
