"""one queue of requested runs: executors heartbeat their claims, a silent one is swept; no run tickets

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03

- ``run_requests.heartbeat_at``: the claiming executor's last sign of life (written on the
  database's clock); a claimed request whose heartbeat is older than LEASE_TTL_SECONDS is swept:
  re-queued while ``requeues_left`` > 0 (1 for a queued request: once), else ended. A request its
  requester runs in the foreground (the CLI) has none: it is ended, never run again behind its back.
- ``used_run_tickets`` is dropped: every run, whoever asks, is a row of ``run_requests`` claimed
  once by one executor, and the admin's price fetch runs in the web's own authenticated request.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('run_requests', sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('run_requests', sa.Column('requeues_left', sa.Integer(), server_default=sa.text('1'),
                                            nullable=False))
    op.drop_index('ix_used_run_tickets_used_at', table_name='used_run_tickets')
    op.drop_table('used_run_tickets')


def downgrade() -> None:
    op.create_table('used_run_tickets',
                    sa.Column('nonce', sa.String(length=64), nullable=False),
                    sa.Column('actor', sa.String(length=64), nullable=False),
                    sa.Column('used_at', sa.DateTime(timezone=True), nullable=False),
                    sa.PrimaryKeyConstraint('nonce'))
    op.create_index('ix_used_run_tickets_used_at', 'used_run_tickets', ['used_at'])
    with op.batch_alter_table('run_requests') as batch_op:  # SQLite drops columns only by a copy
        batch_op.drop_column('requeues_left')
        batch_op.drop_column('heartbeat_at')
