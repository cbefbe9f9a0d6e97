"""The Track record's plain-words verdict on a cell's one-day forecasts, from the ledger's figures
(``store.ledger_metrics``) in the house number format (``dashboard.fmt``)."""
from __future__ import annotations

import pandas as pd

from contract.vocab import CELL_LABELS, FEW_ROWS
from dashboard.fmt import pct, price
from store.ledger_metrics import Score, of_record, score, scored


def _too_few(s: Score, what: str) -> str:
    """Below ``FEW_ROWS`` scored days: the count and the dollar errors, no rate or ratio stated as a finding."""
    return (f"Only {s.n} {what} {'have' if s.n != 1 else 'has'} been scored so far, too few to judge "
            f"({FEW_ROWS} are needed before a rate or a comparison means anything). For the record, RMSE "
            f"{price(s.rmse)} against {price(s.persistence_rmse)} for repeating the last close.")


def _judged(s: Score, what: str) -> str:
    """'... the GRU was 3.1% less accurate than repeating the last close ...; its 80% band ...'."""
    ratio = s.rmse_ratio or 1.0
    if ratio < 0.995:
        how = f"{(1 - ratio) * 100:.1f}% more accurate"
    elif ratio > 1.005:
        how = f"{(ratio - 1) * 100:.1f}% less accurate"
    else:
        how = "about as accurate as"
    text = f"{what} was {how}{'' if how.endswith(' as') else ' than'} repeating the last close (RMSE {price(s.rmse)} against {price(s.persistence_rmse)})"
    if s.dm_pvalue is not None and s.dm_pvalue >= 0.05 and not how.endswith(" as"):
        text += f", a difference too small to tell from luck (p = {s.dm_pvalue:.2f})"
    text += (f"; its 80% band held the close on {pct(s.coverage80)} of days, against a target of 80% "
             f"(its 95% band on {pct(s.coverage95)}, target 95%)")
    if s.direction_hits is not None:
        text += (f", and it called the direction right on {pct(s.direction_hits)} of the days that moved, "
                 f"where {pct(s.up_share)} of them went up")
    return text + "."


def verdict(frame: pd.DataFrame, cell: str, days: int = 60) -> str:
    """The plain-words verdict on the one-day forecasts of ``cell``: live first, a replay apart."""
    name = CELL_LABELS.get(cell, cell)
    one_day = of_record(frame[(frame["cell"] == cell) & (frame["horizon"] == 1)])
    parts = []
    live = scored(one_day[one_day["kind"] == "live"]).sort_values("target_date").tail(days)
    if live.empty:
        pending = one_day[(one_day["kind"] == "live") & one_day["actual"].isna()]
        when = (f"; the first is scored when the close of {pending['target_date'].min():%Y-%m-%d} arrives"
                if not pending.empty else "")
        parts.append(f"No live one-day forecast of the {name} has been scored yet{when}.")
    else:
        s = score(live)
        parts.append(_too_few(s, f"live one-day forecast{'s' if s.n != 1 else ''} of the {name}") if s.n < FEW_ROWS
                     else _judged(s, f"Over the last {s.n} live one-day forecasts the {name}"))
    replay = scored(one_day[one_day["kind"] == "replayed"]).sort_values("target_date").tail(days)
    if not replay.empty:
        s = score(replay)
        what = (f"past trading day{'s' if s.n != 1 else ''} replayed (forecasts made after the fact, not live) "
                f"for the {name}")
        parts.append(_too_few(s, what) if s.n < FEW_ROWS else
                     _judged(s, f"In a replay of {s.n} past trading days (forecasts made after the fact, not live) "
                                f"the {name}"))
    return " ".join(parts)
