"""version 2 schema: the baseline of every store made before migrations

Revision ID: 0001
Revises:
Create Date: 2026-12-03

The tables exactly as version 2 of the product made them with ``create_all``; a store made
before migrations is stamped here (``store.schema.upgrade``) and upgraded from it.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('clock_status',
    sa.Column('job_id', sa.String(length=64), nullable=False),
    sa.Column('next_run_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('job_id')
    )
    op.create_table('comparisons',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('ticker', sa.String(length=16), nullable=False),
    sa.Column('model_ids', sa.JSON(), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_comparisons_ticker', 'comparisons', ['ticker'])
    op.create_table('forecast_ledger',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('ticker', sa.String(length=16), nullable=False),
    sa.Column('cell', sa.String(length=16), nullable=False),
    sa.Column('model_id', sa.Integer(), nullable=True),
    sa.Column('model_version', sa.Integer(), nullable=False),
    sa.Column('origin', sa.Date(), nullable=False),
    sa.Column('origin_close', sa.Float(), nullable=False),
    sa.Column('target_date', sa.Date(), nullable=False),
    sa.Column('horizon', sa.Integer(), nullable=False),
    sa.Column('predicted', sa.Float(), nullable=False),
    sa.Column('lower80', sa.Float(), nullable=False),
    sa.Column('upper80', sa.Float(), nullable=False),
    sa.Column('lower95', sa.Float(), nullable=False),
    sa.Column('upper95', sa.Float(), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('actual', sa.Float(), nullable=True),
    sa.Column('persistence', sa.Float(), nullable=True),
    sa.Column('scored_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("kind IN ('live', 'replayed')", name='ck_forecast_ledger_kind'),
    sa.CheckConstraint('horizon >= 1', name='ck_forecast_ledger_horizon'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_forecast_ledger_ticker_id', 'forecast_ledger', ['ticker', 'id'])
    op.create_index('ix_forecast_ledger_ticker_origin', 'forecast_ledger', ['ticker', 'origin'])
    op.create_index('ix_forecast_ledger_ticker_scored', 'forecast_ledger', ['ticker', 'scored_at'])
    # One row per (ticker, cell, model, origin, horizon); replayed rows (no model) count as model 0.
    op.create_index('uq_forecast_ledger_key', 'forecast_ledger',
                    ['ticker', 'cell', sa.text('coalesce(model_id, 0)'), 'origin', 'horizon'], unique=True)
    op.create_table('leases',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('holder', sa.String(length=128), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.Column('acquired_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('login_failures',
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.Column('window_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('address')
    )
    op.create_index('ix_login_failures_window_start', 'login_failures', ['window_start'])
    op.create_table('prices',
    sa.Column('ticker', sa.String(length=16), nullable=False),
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('open', sa.Float(), nullable=False),
    sa.Column('high', sa.Float(), nullable=False),
    sa.Column('low', sa.Float(), nullable=False),
    sa.Column('close', sa.Float(), nullable=False),
    sa.Column('volume', sa.BigInteger(), nullable=False),
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('fetched_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('ticker', 'date')
    )
    op.create_table('runs',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('ticker', sa.String(length=16), nullable=False),
    sa.Column('trigger', sa.String(length=16), nullable=False),
    sa.Column('requested_by', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('steps', sa.JSON(), nullable=False),
    sa.Column('rows_fetched', sa.Integer(), nullable=True),
    sa.Column('metrics_before', sa.JSON(), nullable=True),
    sa.Column('metrics_after', sa.JSON(), nullable=True),
    sa.Column('promoted', sa.Boolean(), nullable=True),
    sa.Column('progress', sa.Float(), nullable=False),
    sa.Column('progress_message', sa.Text(), nullable=False),
    sa.Column('cancel_requested', sa.Boolean(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('used_run_tickets',
    sa.Column('nonce', sa.String(length=64), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('nonce')
    )
    op.create_index('ix_used_run_tickets_used_at', 'used_run_tickets', ['used_at'])
    op.create_table('models',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('ticker', sa.String(length=16), nullable=False),
    sa.Column('cell', sa.String(length=16), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.Column('hyperparams', sa.JSON(), nullable=False),
    sa.Column('seed', sa.Integer(), nullable=False),
    sa.Column('data_start', sa.Date(), nullable=False),
    sa.Column('data_end', sa.Date(), nullable=False),
    sa.Column('val_start', sa.Date(), nullable=False),
    sa.Column('test_start', sa.Date(), nullable=False),
    sa.Column('data_hash', sa.String(length=64), nullable=False),
    sa.Column('metrics', sa.JSON(), nullable=False),
    sa.Column('train_seconds', sa.Float(), nullable=False),
    sa.Column('param_count', sa.Integer(), nullable=False),
    sa.Column('keras_bytes', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['parent_id'], ['models.id'], ),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('ticker', 'cell', 'version')
    )
    op.create_index('ix_models_ticker', 'models', ['ticker'])
    op.create_table('champion_events',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('ticker', sa.String(length=16), nullable=False),
    sa.Column('cell', sa.String(length=16), nullable=False),
    sa.Column('model_id', sa.Integer(), nullable=False),
    sa.Column('previous_model_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['model_id'], ['models.id'], ),
    sa.ForeignKeyConstraint(['previous_model_id'], ['models.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('champions',
    sa.Column('ticker', sa.String(length=16), nullable=False),
    sa.Column('cell', sa.String(length=16), nullable=False),
    sa.Column('model_id', sa.Integer(), nullable=False),
    sa.Column('promoted_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['model_id'], ['models.id'], ),
    sa.PrimaryKeyConstraint('ticker', 'cell')
    )
    op.create_table('model_outputs',
    sa.Column('model_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['model_id'], ['models.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('model_id', 'name')
    )


def downgrade() -> None:
    op.drop_index('uq_forecast_ledger_key', table_name='forecast_ledger')
    op.drop_table('model_outputs')
    op.drop_table('champions')
    op.drop_table('champion_events')
    op.drop_index('ix_models_ticker', table_name='models')
    op.drop_table('models')
    op.drop_index('ix_used_run_tickets_used_at', table_name='used_run_tickets')
    op.drop_table('used_run_tickets')
    op.drop_table('runs')
    op.drop_table('prices')
    op.drop_index('ix_login_failures_window_start', table_name='login_failures')
    op.drop_table('login_failures')
    op.drop_table('leases')
    op.drop_index('ix_forecast_ledger_ticker_scored', table_name='forecast_ledger')
    op.drop_index('ix_forecast_ledger_ticker_origin', table_name='forecast_ledger')
    op.drop_index('ix_forecast_ledger_ticker_id', table_name='forecast_ledger')
    op.drop_table('forecast_ledger')
    op.drop_index('ix_comparisons_ticker', table_name='comparisons')
    op.drop_table('comparisons')
    op.drop_table('clock_status')
