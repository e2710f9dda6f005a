"""durable work: the conductor driving a build, and since when

Revision ID: c0011
Revises: c0010
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = 'c0011'
down_revision: str | None = 'c0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('instances') as batch:
        batch.add_column(sa.Column('work_owner', sa.String(length=255), nullable=True))
        batch.add_column(sa.Column('work_claimed_at', sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('instances') as batch:
        batch.drop_column('work_claimed_at')
        batch.drop_column('work_owner')
