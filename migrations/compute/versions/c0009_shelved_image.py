"""the snapshot a shelved server is kept in, and when it was shelved

Revision ID: c0009
Revises: c0007
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = 'c0009'
down_revision: str | None = 'c0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('instances', schema=None) as batch_op:
        batch_op.add_column(sa.Column('shelved_image_id', sa.String(length=36),
                                      nullable=True))
        batch_op.add_column(sa.Column('shelved_at', sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('instances', schema=None) as batch_op:
        batch_op.drop_column('shelved_at')
        batch_op.drop_column('shelved_image_id')
