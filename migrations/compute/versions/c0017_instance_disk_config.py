"""instances.disk_config: a server's OS-DCF:diskConfig (AUTO or MANUAL)

Revision ID: c0017
Revises: c0016
Create Date: 2026-12-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = 'c0017'
down_revision: str | None = 'c0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('instances') as batch_op:
        batch_op.add_column(sa.Column('disk_config', sa.String(8), nullable=False,
                                      server_default='MANUAL'))


def downgrade() -> None:
    with op.batch_alter_table('instances') as batch_op:
        batch_op.drop_column('disk_config')
