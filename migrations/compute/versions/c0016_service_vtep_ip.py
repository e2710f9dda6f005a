"""services.vtep_ip: a compute host's tunnel (VXLAN) address, reported at registration

Revision ID: c0016
Revises: c0015
Create Date: 2026-12-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = 'c0016'
down_revision: str | None = 'c0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('services') as batch_op:
        batch_op.add_column(sa.Column('vtep_ip', sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('services') as batch_op:
        batch_op.drop_column('vtep_ip')
