"""SQLAlchemy table definitions for everything the product stores.

One database holds prices, trained models (their ``.keras`` bytes), the
precomputed outputs the dashboard draws, the run history and the training
lease, so every process on every machine sees the same state (a Heroku dyno's
own disk is private and wiped on restart).
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy import func
from sqlalchemy import text as sa_text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


SOURCE_LEN = 64  # Price.source: a long CSV file name is cut to this before it is stored


class Base(DeclarativeBase):
    pass


class Price(Base):
    """One trading day of one ticker; prices are split- and dividend-adjusted."""

    __tablename__ = "prices"

    ticker: Mapped[str] = mapped_column(String(16), primary_key=True)
    date: Mapped[date] = mapped_column(Date, primary_key=True)
    open: Mapped[float] = mapped_column(Float)
    high: Mapped[float] = mapped_column(Float)
    low: Mapped[float] = mapped_column(Float)
    close: Mapped[float] = mapped_column(Float)
    volume: Mapped[int] = mapped_column(BigInteger)
    source: Mapped[str] = mapped_column(String(SOURCE_LEN))  # yahoo | offline-sample | csv:<file>
    fetched_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ModelRecord(Base):
    """A trained network with everything needed to reproduce and judge it."""

    __tablename__ = "models"
    __table_args__ = (UniqueConstraint("ticker", "cell", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticker: Mapped[str] = mapped_column(String(16), index=True)
    cell: Mapped[str] = mapped_column(String(16))  # simplernn | lstm | gru
    version: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))  # train | finetune
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("models.id"), nullable=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"), nullable=True)
    hyperparams: Mapped[dict[str, Any]] = mapped_column(JSON)
    seed: Mapped[int] = mapped_column(Integer)
    data_start: Mapped[date] = mapped_column(Date)
    data_end: Mapped[date] = mapped_column(Date)
    val_start: Mapped[date] = mapped_column(Date)
    test_start: Mapped[date] = mapped_column(Date)  # the train/test split boundary
    data_hash: Mapped[str] = mapped_column(String(64))
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON)
    train_seconds: Mapped[float] = mapped_column(Float)
    param_count: Mapped[int] = mapped_column(Integer)
    keras_bytes: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ModelOutput(Base):
    """Precomputed JSON the dashboard draws, so the web never loads a model.

    ``name`` is one of: predictions, forecast, loss_curve, metrics, residual_diagnostics.
    """

    __tablename__ = "model_outputs"

    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    payload: Mapped[Any] = mapped_column(JSON)  # a contract.outputs payload: its shape depends on name


class Champion(Base):
    """The model served for a ticker and cell type."""

    __tablename__ = "champions"

    ticker: Mapped[str] = mapped_column(String(16), primary_key=True)
    cell: Mapped[str] = mapped_column(String(16), primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id"))
    promoted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ChampionEvent(Base):
    """Audit trail of promotions and rollbacks."""

    __tablename__ = "champion_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticker: Mapped[str] = mapped_column(String(16))
    cell: Mapped[str] = mapped_column(String(16))
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id"))
    previous_model_id: Mapped[int | None] = mapped_column(ForeignKey("models.id"), nullable=True)
    action: Mapped[str] = mapped_column(String(16))  # promote | rollback
    actor: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Comparison(Base):
    """The served models of a ticker compared on their shared rolling origins (bootstrap, DM).

    Written by training after every run, read by the Compare page; ``model_ids`` (cell -> id)
    says which models it describes, so a page never shows a comparison of other models.
    """

    __tablename__ = "comparisons"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticker: Mapped[str] = mapped_column(String(16), index=True)
    model_ids: Mapped[dict[str, int]] = mapped_column(JSON)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Run(Base):
    """One pipeline run: nightly, manual (CLI or UI), bootstrap."""

    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticker: Mapped[str] = mapped_column(String(16))
    trigger: Mapped[str] = mapped_column(String(16))  # nightly | manual | bootstrap | simulate
    requested_by: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))  # finetune | retrain | auto
    status: Mapped[str] = mapped_column(String(16))  # running|succeeded|failed|skipped|cancelled
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    steps: Mapped[list[Any]] = mapped_column(JSON, default=list)
    rows_fetched: Mapped[int | None] = mapped_column(Integer, nullable=True)
    metrics_before: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    metrics_after: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    promoted: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    progress: Mapped[float] = mapped_column(Float, default=0.0)  # 0..1
    progress_message: Mapped[str] = mapped_column(Text, default="")
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class Lease(Base):
    """A named, expiring lock row: at most one training run across all processes."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    run_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    acquired_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ClockStatus(Base):
    """What the clock process last said about itself, so the web can show the
    scheduler's next run without importing APScheduler."""

    __tablename__ = "clock_status"

    job_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    next_run_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    heartbeat_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class RunRequestRecord(Base):
    """A run someone asked for (the CLI, the clock, the admin page), queued until one executor claims it.

    Recorded in the request that asks for it, so it is never lost while it waits behind a
    busy worker or a busy lease; the claim (``queued`` -> ``claimed``, one UPDATE) lets exactly
    one executor start it, however often its message is delivered (``store.run_requests``).
    The executor heartbeats while it holds the claim; a silent one's request is swept."""

    __tablename__ = "run_requests"
    # At most one queued request per ticker, however many Starts race (store.run_requests.add).
    __table_args__ = (Index("uq_run_requests_one_queued", "ticker", unique=True,
                            sqlite_where=sa_text("status = 'queued'"), postgresql_where=sa_text("status = 'queued'")),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticker: Mapped[str] = mapped_column(String(16), index=True)
    request: Mapped[dict[str, Any]] = mapped_column(JSON)  # contract.run.RunRequest.to_json()
    requested_by: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16), index=True)  # queued|claimed|ended|cancelled
    claimed_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    run_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    outcome: Mapped[str | None] = mapped_column(Text, nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    requeues_left: Mapped[int] = mapped_column(Integer, nullable=False, default=1, server_default=sa_text("1"))


class LoginFailure(Base):
    """The web's login rate limit (``store.logins``): ``address`` holds a key, not an address:
    ``*`` all failures in the current window, ``f:<hash of user and address>`` one pair's
    failures, ``k:<hash>`` a pair's last right sign-in (failures 0). Bounded: rows of a passed
    window are purged, no pair row is written past the global budget, known rows are capped."""

    __tablename__ = "login_failures"

    address: Mapped[str] = mapped_column(String(64), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    failures: Mapped[int] = mapped_column(Integer)


class LedgerEntry(Base):
    """One published forecast of one horizon step, kept as it was shown (``store.ledger``).

    Append-only: only ``actual``, ``persistence`` and ``scored_at`` are ever written
    after the insert, once. ``model_id`` is a plain number, not a foreign key, so
    deleting a model never touches (or is blocked by) the record of what it forecast;
    it is NULL on ``replayed`` rows, whose models lived in a throw-away replay store.
    """

    __tablename__ = "forecast_ledger"
    __table_args__ = (
        Index("ix_forecast_ledger_ticker_origin", "ticker", "origin"),
        Index("ix_forecast_ledger_ticker_scored", "ticker", "scored_at"),
        Index("ix_forecast_ledger_ticker_id", "ticker", "id"),
        CheckConstraint("kind IN ('live', 'replayed')", name="ck_forecast_ledger_kind"),
        CheckConstraint("horizon >= 1", name="ck_forecast_ledger_horizon"),
        # The forecast of record: at most one counted row per (ticker, cell, kind, origin, horizon), the first
        # published; any later publication for that origin is inserted with of_record false (superseded).
        Index("uq_forecast_ledger_record", "ticker", "cell", "kind", "origin", "horizon", unique=True,
              sqlite_where=sa_text("of_record"), postgresql_where=sa_text("of_record")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticker: Mapped[str] = mapped_column(String(16))
    cell: Mapped[str] = mapped_column(String(16))
    model_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    model_version: Mapped[int] = mapped_column(Integer)
    origin: Mapped[date] = mapped_column(Date)  # the last close the forecast used
    origin_close: Mapped[float] = mapped_column(Float)  # that close, as published
    target_date: Mapped[date] = mapped_column(Date)
    horizon: Mapped[int] = mapped_column(Integer)  # trading days after the origin
    predicted: Mapped[float] = mapped_column(Float)
    lower80: Mapped[float] = mapped_column(Float)
    upper80: Mapped[float] = mapped_column(Float)
    lower95: Mapped[float] = mapped_column(Float)
    upper95: Mapped[float] = mapped_column(Float)
    published_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    kind: Mapped[str] = mapped_column(String(16))  # live | replayed
    actual: Mapped[float | None] = mapped_column(Float, nullable=True)  # close of target_date, origin's basis
    persistence: Mapped[float | None] = mapped_column(Float, nullable=True)  # the origin's close: tomorrow = today
    scored_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # Decided at insert, never changed: true for the first row published for its (ticker, cell, kind, origin,
    # horizon), the only one counted; false for a later publication for the same origin (superseded).
    of_record: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True, server_default=sa_text("true"))
    # The price basis the row was published on: the newest PriceRebasing id of its ticker then (NULL: none yet).
    basis: Mapped[int | None] = mapped_column(Integer, nullable=True)


class PriceRebasing(Base):
    """A re-basing of a ticker's adjusted history (a split or dividend refetch): every stored day rewritten
    by one factor (``store.prices``). Append-only; the ledger scores a row on the basis it was published on.
    """

    __tablename__ = "price_rebasings"
    __table_args__ = (
        Index("ix_price_rebasings_ticker_id", "ticker", "id"),
        CheckConstraint("factor > 0", name="ck_price_rebasings_factor"),
        CheckConstraint("cumulative > 0", name="ck_price_rebasings_cumulative"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticker: Mapped[str] = mapped_column(String(16))
    factor: Mapped[float] = mapped_column(Float)  # new close / old close, the same on every stored day
    cumulative: Mapped[float] = mapped_column(Float)  # product of the ticker's factors up to and with this one
    days: Mapped[int] = mapped_column(Integer)  # stored days the factor was measured on
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


# One row per (ticker, cell, model, origin, horizon), so a duplicate publication is
# impossible; replayed rows (no registry model) count as model 0.
Index("uq_forecast_ledger_key", LedgerEntry.ticker, LedgerEntry.cell, func.coalesce(LedgerEntry.model_id, 0),
      LedgerEntry.origin, LedgerEntry.horizon, unique=True)


class PriceDeletion(Base):
    """A price day removed by ``python -m jobs delete-day``: who, when, and the row as it was.

    Append-only. Removing a price never touches the forecast ledger (its scored rows
    keep the close they were scored with)."""

    __tablename__ = "price_deletions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticker: Mapped[str] = mapped_column(String(16), index=True)
    date: Mapped[date] = mapped_column(Date)
    open: Mapped[float] = mapped_column(Float)
    high: Mapped[float] = mapped_column(Float)
    low: Mapped[float] = mapped_column(Float)
    close: Mapped[float] = mapped_column(Float)
    volume: Mapped[int] = mapped_column(BigInteger)
    source: Mapped[str] = mapped_column(String(SOURCE_LEN))  # where the removed row had come from
    fetched_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # when it had been written
    deleted_by: Mapped[str] = mapped_column(String(64))  # cli:<user> or --by
    deleted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Incident(Base):
    """Something an operator must hear about (``store.incidents``): open until its condition clears.

    At most one open incident per (kind, subject), however many processes see the condition at
    once: the partial unique index makes opening insert-or-nothing, so one alert goes out."""

    __tablename__ = "incidents"
    __table_args__ = (Index("uq_incidents_one_open", "kind", "subject", unique=True,
                            sqlite_where=sa_text("cleared_at IS NULL"), postgresql_where=sa_text("cleared_at IS NULL")),
                      Index("ix_incidents_opened_at", "opened_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))  # store.incidents.IncidentKind
    subject: Mapped[str] = mapped_column(String(64))  # what it is about: a ticker, "clock", "AAPL/gru", "request 7"
    ticker: Mapped[str | None] = mapped_column(String(16), nullable=True)
    run_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    message: Mapped[str] = mapped_column(Text)  # one line, as the alert's text says it
    since: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # when the condition began
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    cleared_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    cleared_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    sent_open_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    sent_clear_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    sending_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)  # a sender's claim
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # delivery rounds that failed
    delivery_error: Mapped[str | None] = mapped_column(Text, nullable=True)  # the last failure, one line
