"""incidents: alerts an operator must hear about, one open per (kind, subject)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03

``incidents`` holds every alert (a failed run, a silent clock, a missing close, a request waiting
too long, live skill past a threshold): when it opened and cleared and whether its webhook was
delivered. The partial unique index ``uq_incidents_one_open`` lets several processes race to
open the same incident and send one alert (``store.incidents.open_incident``).
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('incidents',
                    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
                    sa.Column('kind', sa.String(length=32), nullable=False),
                    sa.Column('subject', sa.String(length=64), nullable=False),
                    sa.Column('ticker', sa.String(length=16), nullable=True),
                    sa.Column('run_id', sa.Integer(), nullable=True),
                    sa.Column('message', sa.Text(), nullable=False),
                    sa.Column('since', sa.DateTime(timezone=True), nullable=False),
                    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
                    sa.Column('cleared_at', sa.DateTime(timezone=True), nullable=True),
                    sa.Column('cleared_message', sa.Text(), nullable=True),
                    sa.Column('sent_open_at', sa.DateTime(timezone=True), nullable=True),
                    sa.Column('sent_clear_at', sa.DateTime(timezone=True), nullable=True),
                    sa.Column('sending_until', sa.DateTime(timezone=True), nullable=True),
                    sa.Column('attempts', sa.Integer(), nullable=False),
                    sa.Column('delivery_error', sa.Text(), nullable=True),
                    sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_incidents_opened_at', 'incidents', ['opened_at'])
    op.create_index('uq_incidents_one_open', 'incidents', ['kind', 'subject'], unique=True,
                    sqlite_where=sa.text('cleared_at IS NULL'), postgresql_where=sa.text('cleared_at IS NULL'))


def downgrade() -> None:
    op.drop_table('incidents')
