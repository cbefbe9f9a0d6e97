"""The forecast ledger: every published forecast kept as it was shown, scored when prices arrive.

Write side (called by whatever publishes or replays):

- :func:`publish_champion_forecasts` appends the served champions' stored forecasts
  (one row per cell and horizon step). Insert-or-ignore on the unique key (ticker,
  cell, model, origin, horizon): publishing twice writes nothing the second time, so
  a publication that failed is simply retried by the next run.
- One forecast of record per (ticker, cell, kind, origin, horizon): the first row
  published for that origin, whatever model published it, is inserted with
  ``of_record`` true; a later publication for the same origin (a retrain, a promote
  or a rollback the same evening) is kept with ``of_record`` false (superseded) and
  never counted. A partial unique index decides it at insert time, so two racing
  publishers cannot both be of record, and no row is ever rewritten.
- :func:`score_pending` fills ``actual`` and ``persistence`` of rows whose target
  close is stored, in one UPDATE guarded by ``actual IS NULL``: each row is scored
  exactly once, however many processes try. Every price write also scores, in its
  own transaction (``store.scoring``).
- :func:`copy_replayed` brings the rows of a replay of past days (run in a throw-away
  store) into the real store as ``replayed`` rows.

Nothing here updates a prediction, and no foreign key ties a row to a model, so a
retrain, a promotion, a rollback or a model deletion leave the ledger as it was.

Prices in a row are on the adjusted basis of the day it was published (``basis``: the
newest recorded re-basing then). The actual is the stored close of the target date; only
after a recorded re-basing (every stored day rewritten by one factor) is it brought back
to the row's own basis (``store.scoring``). A correction of single days is no re-basing.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Sequence

import pandas as pd
from sqlalchemy import Connection, Engine, Row, and_, func, select
from sqlalchemy.dialects import postgresql, sqlite

from contract.errors import Refusal
from contract.outputs import Forecast
from contract.vocab import LedgerKind
from store.scoring import newest_basis, score_pending_in
from store.tables import Champion, LedgerEntry, ModelOutput, ModelRecord, Price

log = logging.getLogger(__name__)

KINDS = tuple(k.value for k in LedgerKind)
CSV_HEADER = ["Ticker", "Published", "Origin", "Date", "Horizon", "Cell", "ModelId", "Version", "Predicted", "Lower80",
              "Upper80", "Lower95", "Upper95", "Actual", "Persistence", "Kind", "Counts"]
COUNTS = {True: "yes", False: "superseded"}  # the Counts column: the forecast of record, or a later publication
CSV_PRICES = {"Predicted": "predicted", "Lower80": "lower80", "Upper80": "upper80", "Lower95": "lower95",
              "Upper95": "upper95", "Actual": "actual", "Persistence": "persistence"}
# Prices to the cent, the precision every view of them shows (dashboard.fmt.PRICE_DECIMALS; the store may not
# import the dashboard, so tests/unit pins that the two agree).
CSV_PRICE_DECIMALS = 2
# Everything a reader needs, in table order.
COLUMNS = ["id", "ticker", "cell", "model_id", "model_version", "origin", "origin_close", "target_date", "horizon",
           "predicted", "lower80", "upper80", "lower95", "upper95", "published_at", "kind", "actual", "persistence",
           "scored_at", "of_record"]


class LedgerError(Refusal):
    """A ledger request that cannot be honoured; the message says why."""


@dataclass(frozen=True)
class PublishResult:
    """What one publication wrote: rows new to the ledger, rows already there, steps too late to count."""

    ticker: str
    written: int
    already: int
    too_late: int  # live steps whose target close was already stored: never published after the fact
    cells: tuple[str, ...]
    superseded: int = 0  # of ``written``, rows for an origin that already had a forecast of record


Row_ = dict[str, Any]  # one LedgerEntry's column values, as inserted


def _insert_or_ignore(conn: Connection, rows: list[Row_]) -> tuple[int, int]:
    """Insert rows, skipping any whose unique key is taken; returns (rows new, of them superseded).

    Each row is first offered as the forecast of record; if its origin already has one
    (the partial unique index refuses it), it is offered again as superseded, which only
    the model's own key can refuse (this model published this origin already). The rows
    get the ticker's current price basis.
    """
    # One statement per row; RETURNING says whether it was new (rowcount is -1 on psycopg here).
    if conn.dialect.name == "postgresql":
        stmt = postgresql.insert(LedgerEntry).on_conflict_do_nothing().returning(LedgerEntry.id)
    elif conn.dialect.name == "sqlite":
        stmt = sqlite.insert(LedgerEntry).on_conflict_do_nothing().returning(LedgerEntry.id)
    else:  # pragma: no cover - the product runs on SQLite and Postgres only
        raise LedgerError(f"the ledger needs SQLite or PostgreSQL, not {conn.dialect.name}")
    bases: dict[str, int | None] = {}
    new = superseded = 0
    for row in rows:
        if row["ticker"] not in bases:
            bases[row["ticker"]] = newest_basis(conn, row["ticker"])[0]
        row = row | {"basis": bases[row["ticker"]]}
        if conn.execute(stmt.values(**row, of_record=True)).all():
            new += 1
        elif conn.execute(stmt.values(**row, of_record=False)).all():
            new, superseded = new + 1, superseded + 1
    return new, superseded


@dataclass(frozen=True)
class Served:
    """A champion's stored forecast, as the ledger publishes it."""

    ticker: str
    cell: str
    model_id: int | None  # None on replayed rows copied out of a throw-away store
    version: int
    forecast: Forecast


def _forecast_rows(served: Served, *, kind: LedgerKind, now: datetime) -> list[Row_]:
    """One row per horizon step of a stored ``Forecast`` payload (``contract.outputs``)."""
    fc = served.forecast
    origin = date.fromisoformat(fc["last_date"])
    return [
        dict(ticker=served.ticker, cell=served.cell, model_id=served.model_id, model_version=served.version,
             origin=origin, origin_close=float(fc["last_close"]), target_date=date.fromisoformat(day), horizon=h,
             predicted=float(fc["predicted"][h - 1]), lower80=float(fc["lower80"][h - 1]),
             upper80=float(fc["upper80"][h - 1]), lower95=float(fc["lower95"][h - 1]),
             upper95=float(fc["upper95"][h - 1]), published_at=now, kind=kind.value)
        for h, day in enumerate(fc["dates"], start=1)
    ]


def _champion_forecasts(conn: Connection, ticker: str) -> list[Served]:
    """The stored forecast of every served champion of ``ticker``, by cell."""
    rows = conn.execute(
        select(Champion.cell, ModelRecord.id, ModelRecord.version, ModelOutput.payload)
        .join(ModelRecord, ModelRecord.id == Champion.model_id)
        .join(ModelOutput, and_(ModelOutput.model_id == ModelRecord.id, ModelOutput.name == "forecast"))
        .where(Champion.ticker == ticker)
        .order_by(Champion.cell)
    ).all()
    return [Served(ticker, cell, mid, version, payload) for cell, mid, version, payload in rows
            if payload and payload.get("dates")]


def publish_champion_forecasts(engine: Engine, ticker: str, *, kind: LedgerKind, now: datetime) -> PublishResult:
    """Append the forecasts the champions of ``ticker`` serve now (one transaction).

    A live step whose target close is already stored is left out and counted in
    ``too_late``: a forecast enters the ledger only while what it forecasts is unknown.
    """
    kind = LedgerKind(kind)
    rows: list[Row_] = []
    too_late, cells = 0, []
    with engine.begin() as conn:
        # read in the insert's transaction: a close stored meanwhile cannot let a known day in as a forecast
        newest = conn.execute(select(func.max(Price.date)).where(Price.ticker == ticker)).scalar()
        for served in _champion_forecasts(conn, ticker):
            cells.append(served.cell)
            for row in _forecast_rows(served, kind=kind, now=now):
                if kind is LedgerKind.LIVE and newest is not None and row["target_date"] <= newest:
                    too_late += 1
                else:
                    rows.append(row)
        written, superseded = _insert_or_ignore(conn, rows)
    return PublishResult(ticker, written, len(rows) - written, too_late, tuple(cells), superseded)


def score_pending(engine: Engine, ticker: str, now: datetime) -> int:
    """Give every unscored row whose target close is stored its actual and persistence; returns the count.

    One UPDATE guarded by ``actual IS NULL`` (``store.scoring.score_pending_in``), so a
    row is scored exactly once even when two processes score at the same time.
    """
    with engine.begin() as conn:
        return score_pending_in(conn, ticker, now)


def publish_after_run(engine: Engine, ticker: str, *, trigger: str, now: datetime) -> PublishResult | None:
    """Score what the newest prices settle, then publish the served forecasts; never raises.

    Meant for after every training run, whatever its outcome. A failure is logged
    in one line and left for the next run, which publishes whatever is not in the
    ledger yet (the insert is idempotent). Runs of a replay (trigger ``simulate``)
    write ``replayed`` rows, never ``live`` ones.
    """
    kind = LedgerKind.REPLAYED if trigger == "simulate" else LedgerKind.LIVE
    try:
        scored = score_pending(engine, ticker, now)
        result = publish_champion_forecasts(engine, ticker, kind=kind, now=now)
    except Exception as exc:  # the run's own outcome stands; the next run publishes what is missing
        log.warning("ledger: could not publish the %s forecasts (the next run retries): %s: %s", ticker,
                    type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "")
        return None
    log.info("ledger %s: scored %d, published %d new rows (%d of them superseded: not of record; %d already "
             "there, %d too late)", ticker, scored, result.written, result.superseded, result.already, result.too_late)
    return result


def copy_replayed(source: Engine, target: Engine, ticker: str, now: datetime, after_id: int = 0) -> tuple[int, int]:
    """Copy a replay store's rows of ``ticker`` (those after ``after_id``) into ``target`` as ``replayed`` rows.

    Returns (rows new to ``target``, the newest source id seen: the next ``after_id``).
    The replay's models live only in its throw-away store, so ``model_id`` is NULL
    (the version is kept); the target scores the rows against its own prices.
    """
    keep = [c for c in COLUMNS if c not in ("model_id", "published_at", "kind", "actual", "persistence", "scored_at",
                                            "of_record")]
    with source.connect() as conn:
        rows = conn.execute(select(*(LedgerEntry.__table__.c[c] for c in keep))
                            .where(LedgerEntry.ticker == ticker, LedgerEntry.id > after_id)
                            .order_by(LedgerEntry.id)).mappings().all()
    if not rows:
        return 0, after_id
    new = [{k: v for k, v in r.items() if k != "id"} | dict(model_id=None, published_at=now,
                                                            kind=LedgerKind.REPLAYED.value) for r in rows]
    with target.begin() as conn:
        return _insert_or_ignore(conn, new)[0], rows[-1]["id"]


# --- reads ----------------------------------------------------------------------------


# What the read side draws from: every column but the ticker (one per frame) and the scoring time.
READ_COLUMNS = [c for c in COLUMNS if c not in ("ticker", "scored_at")]


def _frame(rows: Sequence[Row[Any]], columns: list[str] = COLUMNS) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=columns)
    for col in ("origin", "target_date"):
        frame[col] = pd.to_datetime(frame[col])
    for col in ("actual", "persistence", "predicted", "origin_close", "lower80", "upper80", "lower95", "upper95"):
        frame[col] = frame[col].astype(float)
    frame["model_id"] = frame["model_id"].astype("Int64")
    if "of_record" in frame:
        frame["of_record"] = frame["of_record"].astype(bool)
    return frame


LOAD_CHUNK_ROWS = 5000


def load_ledger(engine: Engine, ticker: str) -> pd.DataFrame:
    """Every row of ``ticker`` as a frame (``READ_COLUMNS``), oldest origin first; dates as datetime64.

    Read in chunks: a ticker's ten years are ~38,000 rows, and turning them into
    Python objects all at once costs a web worker ~60 MB it never hands back.
    """
    stmt = (select(*(LedgerEntry.__table__.c[c] for c in READ_COLUMNS)).where(LedgerEntry.ticker == ticker)
            .order_by(LedgerEntry.origin, LedgerEntry.cell, LedgerEntry.horizon, LedgerEntry.id))
    with engine.connect() as conn:
        result = conn.execution_options(yield_per=LOAD_CHUNK_ROWS).execute(stmt)
        frames = [_frame(chunk, READ_COLUMNS) for chunk in result.partitions()]
    return pd.concat(frames, ignore_index=True) if frames else _frame([], READ_COLUMNS)


def export_frame(engine: Engine, *, ticker: str | None = None, kind: LedgerKind | None = None) -> pd.DataFrame:
    """Rows for an export (of a ticker, of a kind), oldest publication first (then origin, cell, horizon)."""
    stmt = select(*(LedgerEntry.__table__.c[c] for c in COLUMNS))
    if ticker:
        stmt = stmt.where(LedgerEntry.ticker == ticker)
    if kind:
        stmt = stmt.where(LedgerEntry.kind == LedgerKind(kind).value)
    stmt = stmt.order_by(LedgerEntry.published_at, LedgerEntry.origin, LedgerEntry.cell, LedgerEntry.horizon,
                         LedgerEntry.id)
    with engine.connect() as conn:
        return _frame(conn.execute(stmt).all())


def csv_text(frame: pd.DataFrame, ticker: str | None = None) -> str:
    """``CSV_HEADER`` and one line per row of a ledger frame, in its order.

    Ticker is the frame's ``ticker`` column, or ``ticker`` for a frame of one ticker
    without one (``load_ledger``'s). Published is UTC to the second whatever the driver
    returned (SQLite hands back naive UTC); prices to the cent in fixed decimals, so two
    exports of one store are byte-for-byte equal; Actual and Persistence are blank until
    the row is scored, ModelId on replayed rows. Counts says which row is the forecast of
    record (``yes``) and which a later publication for the same origin (``superseded``).
    """
    if "ticker" not in frame and not ticker:
        raise ValueError("csv_text needs the ticker of a frame without a ticker column")
    cents = f"%.{CSV_PRICE_DECIMALS}f"
    out = pd.DataFrame({
        "Ticker": frame["ticker"] if "ticker" in frame else ticker,
        "Published": pd.to_datetime(frame["published_at"], utc=True).dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "Origin": frame["origin"].dt.strftime("%Y-%m-%d"), "Date": frame["target_date"].dt.strftime("%Y-%m-%d"),
        "Horizon": frame["horizon"], "Cell": frame["cell"], "ModelId": frame["model_id"],
        "Version": frame["model_version"],
        **{name: frame[col].astype(float).round(CSV_PRICE_DECIMALS) for name, col in CSV_PRICES.items()},
        "Kind": frame["kind"], "Counts": frame["of_record"].astype(bool).map(COUNTS),
    }, columns=CSV_HEADER)
    return out.to_csv(index=False, float_format=cents, lineterminator="\n", na_rep="")


def has_rows(engine: Engine, ticker: str | None, kind: LedgerKind | None = None) -> bool:
    """Whether the ledger holds any row (of ``ticker``, of ``kind``)."""
    stmt = select(LedgerEntry.id)
    if ticker:
        stmt = stmt.where(LedgerEntry.ticker == ticker)
    if kind:
        stmt = stmt.where(LedgerEntry.kind == LedgerKind(kind).value)
    with engine.connect() as conn:
        return conn.execute(stmt.limit(1)).first() is not None
