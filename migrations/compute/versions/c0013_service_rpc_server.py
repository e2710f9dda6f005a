"""services.rpc_server: the agent process whose queue serves a host

Revision ID: c0013
Revises: c0012
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = 'c0013'
down_revision: str | None = 'c0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('services') as batch_op:
        batch_op.add_column(sa.Column('rpc_server', sa.String(255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('services') as batch_op:
        batch_op.drop_column('rpc_server')
