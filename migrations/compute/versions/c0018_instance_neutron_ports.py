"""instances.network_request and instances.ports_host: a server's ports in an external
Neutron (``[network] backend = neutron``)

Revision ID: c0018
Revises: c0017
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = 'c0018'
down_revision: str | None = 'c0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('instances') as batch_op:
        batch_op.add_column(sa.Column('network_request', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('ports_host', sa.String(255), nullable=True))
        batch_op.create_index('ix_instances_ports_host', ['ports_host'])


def downgrade() -> None:
    with op.batch_alter_table('instances') as batch_op:
        batch_op.drop_index('ix_instances_ports_host')
        batch_op.drop_column('ports_host')
        batch_op.drop_column('network_request')
