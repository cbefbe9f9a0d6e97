"""Live figures from the forecast ledger: pure pandas over :func:`store.ledger.load_ledger` frames.

Read side only (the web imports it; no TensorFlow). Every figure is computed on
scored rows of record (``actual`` known; a later publication for an origin that
already had one, ``of_record`` false, is never counted), per kind (live and replayed are never pooled),
cell and horizon, over all time and the last 20 and 60 trading days (the newest
20 or 60 target dates that have an actual). Persistence (tomorrow = today, the
close at the origin) stands beside every error figure; direction hits stand beside
the share of up days, which is what always calling "up" would have scored.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from contract.numbers import pct, price
from contract.vocab import CELL_LABELS

WINDOWS: tuple[tuple[str, int | None], ...] = (("all", None), ("last 60", 60), ("last 20", 20))
FEW_ROWS = 20  # below this many scored forecasts a verdict says it is too early to judge


@dataclass(frozen=True)
class Score:
    """Figures of one group of scored rows; None where there is nothing to compute on."""

    n: int
    rmse: float | None = None
    mae: float | None = None
    persistence_rmse: float | None = None
    persistence_mae: float | None = None
    rmse_ratio: float | None = None  # below 1 beats persistence
    coverage80: float | None = None  # share of closes inside the 80% band
    coverage95: float | None = None
    moves: int = 0  # rows whose close moved from the origin's (flat days carry no direction)
    direction_hits: float | None = None  # share of those whose direction the forecast called right
    up_share: float | None = None  # share of those that went up: the base rate to beat
    dm_stat: float | None = None  # mean squared-error difference / its standard error (negative: model better)
    dm_pvalue: float | None = None  # two-sided, normal approximation; meaningful for one-step rows


def of_record(frame: pd.DataFrame) -> pd.DataFrame:
    """The forecasts of record: one per (cell, kind, origin, horizon), the first published (``store.ledger``)."""
    return frame[frame["of_record"]] if "of_record" in frame else frame


def scored(frame: pd.DataFrame) -> pd.DataFrame:
    """The scored forecasts of record: what every figure counts."""
    rows = of_record(frame)
    return rows[rows["actual"].notna()]


def last_days(frame: pd.DataFrame, days: int | None) -> pd.DataFrame:
    """Rows whose target date is among the newest ``days`` target dates of ``frame`` (all when None)."""
    if days is None or frame.empty:
        return frame
    keep = np.sort(frame["target_date"].unique())[-days:]
    return frame[frame["target_date"].isin(keep)]


def _dm(diff: np.ndarray) -> tuple[float | None, float | None]:
    if len(diff) < 2:
        return None, None
    sd = float(diff.std(ddof=1))
    if sd == 0:
        return None, None
    stat = float(diff.mean() / (sd / math.sqrt(len(diff))))
    return stat, math.erfc(abs(stat) / math.sqrt(2))


def score(rows: pd.DataFrame) -> Score:
    """The figures of scored ``rows`` (one kind, cell and horizon)."""
    rows = scored(rows)
    if rows.empty:
        return Score(n=0)
    actual, pred, base = (rows[c].to_numpy(float) for c in ("actual", "predicted", "persistence"))
    err, base_err = actual - pred, actual - base
    rmse, base_rmse = float(np.sqrt(np.mean(err**2))), float(np.sqrt(np.mean(base_err**2)))
    moved = np.sign(actual - base)
    called = np.sign(pred - base)
    mask = moved != 0
    moves = int(mask.sum())
    stat, p = _dm(err**2 - base_err**2)
    return Score(
        n=len(rows), rmse=rmse, mae=float(np.mean(np.abs(err))), persistence_rmse=base_rmse,
        persistence_mae=float(np.mean(np.abs(base_err))), rmse_ratio=rmse / base_rmse if base_rmse else None,
        coverage80=float(np.mean((rows["lower80"] <= rows["actual"]) & (rows["actual"] <= rows["upper80"]))),
        coverage95=float(np.mean((rows["lower95"] <= rows["actual"]) & (rows["actual"] <= rows["upper95"]))),
        moves=moves, direction_hits=float(np.mean(called[mask] == moved[mask])) if moves else None,
        up_share=float(np.mean(moved[mask] > 0)) if moves else None, dm_stat=stat, dm_pvalue=p,
    )


def score_table(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per (kind, cell, horizon, window) with every :class:`Score` field."""
    out = []
    done = scored(frame)
    for key, group in done.groupby(["kind", "cell", "horizon"], sort=True):
        kind, cell, _ = key  # a (kind, cell, horizon) tuple: three grouping columns
        horizon = int(group["horizon"].iloc[0])
        for name, days in WINDOWS:
            out.append({"kind": kind, "cell": cell, "horizon": horizon, "window": name,
                        **asdict(score(last_days(group, days)))})
    columns = ["kind", "cell", "horizon", "window", *Score.__dataclass_fields__]
    return pd.DataFrame(out, columns=columns)


def cumulative_advantage(frame: pd.DataFrame, cell: str, horizon: int = 1) -> pd.DataFrame:
    """Per kind, by target date: the running sum of (model squared error - persistence squared error).

    Falling means the model is beating persistence; the final value is n times the
    difference of mean squared errors. Columns: kind, target_date, cum, model (``vN``).
    """
    rows = scored(frame[(frame["cell"] == cell) & (frame["horizon"] == horizon)])
    rows = rows.sort_values(["kind", "target_date", "origin", "id"])
    diff = (rows["actual"] - rows["predicted"]) ** 2 - (rows["actual"] - rows["persistence"]) ** 2
    return pd.DataFrame({"kind": rows["kind"], "target_date": rows["target_date"],
                         "cum": diff.groupby(rows["kind"]).cumsum(), "model": "v" + rows["model_version"].astype(str),
                         "model_key": rows["model_id"].astype("string").fillna("r") + ":" +
                         rows["model_version"].astype(str)}).reset_index(drop=True)


def champion_changes(curve: pd.DataFrame) -> pd.DataFrame:
    """Points of a :func:`cumulative_advantage` curve where a different model made the forecast."""
    if curve.empty:
        return curve.assign(label=pd.Series(dtype=str))
    prev = curve.groupby("kind")["model_key"].shift()
    changed = curve[prev.notna() & (prev != curve["model_key"])]
    labels = curve.groupby("kind")["model"].shift().loc[changed.index] + " to " + changed["model"]
    return changed.assign(label=labels)


def coverage_by_horizon(frame: pd.DataFrame, cell: str) -> pd.DataFrame:
    """Per kind and horizon: scored count and the share of closes inside the 80% and 95% bands."""
    rows = scored(frame[frame["cell"] == cell])
    inside80 = (rows["lower80"] <= rows["actual"]) & (rows["actual"] <= rows["upper80"])
    inside95 = (rows["lower95"] <= rows["actual"]) & (rows["actual"] <= rows["upper95"])
    grouped = pd.DataFrame({"kind": rows["kind"], "horizon": rows["horizon"], "in80": inside80, "in95": inside95})
    out = grouped.groupby(["kind", "horizon"]).agg(n=("in80", "size"), coverage80=("in80", "mean"),
                                                  coverage95=("in95", "mean"))
    return out.reset_index()


def last_publication(frame: pd.DataFrame, cell: str) -> pd.DataFrame:
    """The rows of record of the newest live origin of ``cell`` (the newest replayed one when none is live)."""
    rows = of_record(frame[frame["cell"] == cell])
    for kind in ("live", "replayed"):
        mine = rows[rows["kind"] == kind]
        if not mine.empty:
            # One row of record per horizon, whichever models published from that origin later.
            newest: pd.DataFrame = mine[mine["origin"] == mine["origin"].max()]
            return newest.sort_values("horizon")
    return rows.iloc[0:0]


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


LIVE_THIRDS_DAYS = 60  # live origins scored one day ahead before coverage per volatility third is shown
VOL_DAYS = 20
THIRDS = ("calm", "middle", "turbulent")


def origin_volatility(closes: pd.Series, days: int = VOL_DAYS) -> pd.Series:
    """Per date: the standard deviation of the ``days`` daily close returns ending at that close (known then)."""
    return closes.astype(float).pct_change().rolling(days).std(ddof=1)


def coverage_by_third(frame: pd.DataFrame, cell: str, closes: pd.Series) -> tuple[pd.DataFrame, int]:
    """Live scored rows of ``cell`` by volatility third of their origin and by horizon, and the live origins scored.

    Thirds: equal thirds of the live origins scored one day ahead, by ``origin_volatility`` at the
    origin (a value equal to a cut point goes to the lower third), as Compare cuts the reported
    origins. Columns: third, horizon, n, coverage80, coverage95; empty below ``LIVE_THIRDS_DAYS``.
    """
    empty = pd.DataFrame(columns=["third", "horizon", "n", "coverage80", "coverage95"])
    rows = scored(of_record(frame[(frame["cell"] == cell) & (frame["kind"] == "live")]))
    vol = origin_volatility(closes).reindex(pd.DatetimeIndex(rows["origin"])).to_numpy()
    rows = rows[np.isfinite(vol)]
    vol = vol[np.isfinite(vol)]
    days = rows.loc[rows["horizon"] == 1, "origin"].nunique()
    if days < LIVE_THIRDS_DAYS:
        return empty, int(days)
    per_origin = pd.Series(vol, index=rows["origin"].to_numpy()).groupby(level=0).first()
    cuts = np.quantile(per_origin.to_numpy(), [1 / 3, 2 / 3])
    third = np.searchsorted(cuts, vol, side="left")
    inside80 = (rows["lower80"] <= rows["actual"]) & (rows["actual"] <= rows["upper80"])
    inside95 = (rows["lower95"] <= rows["actual"]) & (rows["actual"] <= rows["upper95"])
    grouped = pd.DataFrame({"third": np.asarray(THIRDS)[third], "order": third, "horizon": rows["horizon"].to_numpy(),
                            "in80": inside80.to_numpy(), "in95": inside95.to_numpy()})
    out = grouped.groupby(["order", "third", "horizon"]).agg(n=("in80", "size"), coverage80=("in80", "mean"),
                                                            coverage95=("in95", "mean"))
    return out.reset_index().drop(columns="order"), int(days)
