"""flavor access lists; instance hostname, scheduler hints and requested destination, image metadata

Revision ID: c0003
Revises: c0002
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = 'c0003'
down_revision: str | None = 'c0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('flavor_projects',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('flavor_id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.String(length=255), nullable=False),
    sa.ForeignKeyConstraint(['flavor_id'], ['flavors.id'], name=op.f('fk_flavor_projects_flavor_id_flavors'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_flavor_projects')),
    sa.UniqueConstraint('flavor_id', 'project_id', name=op.f('uq_flavor_projects_flavor_id_project_id'))
    )
    with op.batch_alter_table('flavor_projects', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_flavor_projects_project_id'), ['project_id'], unique=False)
    with op.batch_alter_table('instances', schema=None) as batch_op:
        batch_op.add_column(sa.Column('hostname', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('scheduler_hints', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('requested_host', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('requested_node', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('image_meta', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('key_data', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('instances', schema=None) as batch_op:
        batch_op.drop_column('key_data')
        batch_op.drop_column('image_meta')
        batch_op.drop_column('requested_node')
        batch_op.drop_column('requested_host')
        batch_op.drop_column('scheduler_hints')
        batch_op.drop_column('hostname')
    with op.batch_alter_table('flavor_projects', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_flavor_projects_project_id'))
    op.drop_table('flavor_projects')
