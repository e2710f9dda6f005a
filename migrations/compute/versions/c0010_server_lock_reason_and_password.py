"""the reason a server was locked (2.73) and its encrypted password (os-server-password)

Revision ID: c0010
Revises: c0009
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = 'c0010'
down_revision: str | None = 'c0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('instances') as batch:
        batch.add_column(sa.Column('locked_reason', sa.String(length=255), nullable=True))
        batch.add_column(sa.Column('password', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('instances') as batch:
        batch.drop_column('password')
        batch.drop_column('locked_reason')
