"""forecast of record, price re-basings and deletions, queued run requests, login-limit keys

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03

- ``forecast_ledger.of_record``: the first row published for a (ticker, cell, kind, origin,
  horizon) counts; later publications for that origin are kept as superseded. Rows already
  stored are decided the same way (the lowest id of each key counts) before the partial unique
  index that enforces it is built. ``basis``: the price re-basing a row was published on
  (NULL: none recorded, true of every row stored before re-basings were recorded).
- ``price_rebasings`` (uniform re-basings of a ticker's history), ``price_deletions`` (days removed
  by ``delete-day``, as they were), ``run_requests`` (runs asked for and waiting for an executor;
  at most one queued per ticker).
- ``login_failures`` rows are now keyed per user and address and by a global budget, not by
  address: the old rows (at most one window of failed logins) are dropped.

Plain ``op.add_column`` and ``op.create_index``, not batch mode: on SQLite a batch would copy
``forecast_ledger`` and lose its expression index (``uq_forecast_ledger_key``), which SQLite
cannot reflect; ADD COLUMN with a constant default and CREATE INDEX run in place on both.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

RECORD_KEY = ['ticker', 'cell', 'kind', 'origin', 'horizon']


def _new_tables() -> None:
    op.create_table('price_deletions',
                    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
                    sa.Column('ticker', sa.String(length=16), nullable=False),
                    sa.Column('date', sa.Date(), nullable=False),
                    sa.Column('open', sa.Float(), nullable=False),
                    sa.Column('high', sa.Float(), nullable=False),
                    sa.Column('low', sa.Float(), nullable=False),
                    sa.Column('close', sa.Float(), nullable=False),
                    sa.Column('volume', sa.BigInteger(), nullable=False),
                    sa.Column('source', sa.String(length=64), nullable=False),
                    sa.Column('fetched_at', sa.DateTime(timezone=True), nullable=False),
                    sa.Column('deleted_by', sa.String(length=64), nullable=False),
                    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=False),
                    sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_price_deletions_ticker', 'price_deletions', ['ticker'])
    op.create_table('price_rebasings',
                    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
                    sa.Column('ticker', sa.String(length=16), nullable=False),
                    sa.Column('factor', sa.Float(), nullable=False),
                    sa.Column('cumulative', sa.Float(), nullable=False),
                    sa.Column('days', sa.Integer(), nullable=False),
                    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
                    sa.CheckConstraint('cumulative > 0', name='ck_price_rebasings_cumulative'),
                    sa.CheckConstraint('factor > 0', name='ck_price_rebasings_factor'),
                    sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_price_rebasings_ticker_id', 'price_rebasings', ['ticker', 'id'])
    op.create_table('run_requests',
                    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
                    sa.Column('ticker', sa.String(length=16), nullable=False),
                    sa.Column('request', sa.JSON(), nullable=False),
                    sa.Column('requested_by', sa.String(length=64), nullable=False),
                    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
                    sa.Column('status', sa.String(length=16), nullable=False),
                    sa.Column('claimed_by', sa.String(length=128), nullable=True),
                    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
                    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
                    sa.Column('run_id', sa.Integer(), nullable=True),
                    sa.Column('outcome', sa.Text(), nullable=True),
                    sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_run_requests_status', 'run_requests', ['status'])
    op.create_index('ix_run_requests_ticker', 'run_requests', ['ticker'])
    op.create_index('uq_run_requests_one_queued', 'run_requests', ['ticker'], unique=True,
                    sqlite_where=sa.text("status = 'queued'"), postgresql_where=sa.text("status = 'queued'"))


def upgrade() -> None:
    _new_tables()
    op.add_column('forecast_ledger', sa.Column('of_record', sa.Boolean(), server_default=sa.text('true'),
                                               nullable=False))
    op.add_column('forecast_ledger', sa.Column('basis', sa.Integer(), nullable=True))
    # Rows stored before this revision: the first publication of each key counts, the rest are superseded.
    op.execute(f"UPDATE forecast_ledger SET of_record = false WHERE id NOT IN "
               f"(SELECT MIN(id) FROM forecast_ledger GROUP BY {', '.join(RECORD_KEY)})")
    op.create_index('uq_forecast_ledger_record', 'forecast_ledger', RECORD_KEY, unique=True,
                    sqlite_where=sa.text('of_record'), postgresql_where=sa.text('of_record'))
    op.execute("DELETE FROM login_failures")


def downgrade() -> None:
    op.drop_index('uq_forecast_ledger_record', table_name='forecast_ledger')
    with op.batch_alter_table('forecast_ledger') as batch_op:  # SQLite drops columns only by a copy
        batch_op.drop_column('basis')
        batch_op.drop_column('of_record')
    for table in ('run_requests', 'price_rebasings', 'price_deletions'):
        op.drop_table(table)
