"""Why the validation loss can sit below the training loss, said truthfully for the data shown."""
from __future__ import annotations

import pandas as pd

from contract.outputs import SplitDates


def calm_ratio(closes: pd.Series, split: SplitDates) -> float | None:
    """Variance of daily close returns in the validation period over that in the training period."""
    r = closes.pct_change().dropna()
    idx = pd.DatetimeIndex(r.index)
    train = r[(idx >= pd.Timestamp(split["train_start"])) & (idx < pd.Timestamp(split["val_start"]))]
    val = r[(idx >= pd.Timestamp(split["val_start"])) & (idx < pd.Timestamp(split["test_start"]))]
    if len(train) < 2 or len(val) < 2 or not train.var():
        return None
    return float(val.var() / train.var())


def loss_note(closes: pd.Series, split: SplitDates) -> str:
    """One paragraph under the loss chart. The networks use no dropout (``models.network``: dropout
    0.0), so that is never the reason; the scale of each period's moves is."""
    ratio = calm_ratio(closes, split)
    text = ("Both losses are mean squared errors of the forecast daily returns, scaled by the training period's "
            "spread (the networks use no dropout, so both are measured the same way). A model that predicts "
            "little more than the average return scores about the variance of the period it is scored on. ")
    if ratio is None:
        return text
    text += (f"Here the validation period ({split['val_start']} to {split['test_start']}) had {ratio:.2f} times "
             "the training period's day-to-day variance, ")
    if ratio < 0.9:
        return text + "so a validation loss below the training loss says the period was calmer, not that the model is better there."
    if ratio > 1.1:
        return text + "so a validation loss above the training loss partly reflects a rougher period, not only over-fitting."
    return text + "so the two losses can be compared directly."
