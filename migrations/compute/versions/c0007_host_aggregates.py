"""host aggregates, their hosts and metadata; quota classes

Revision ID: c0007
Revises: c0006
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = 'c0007'
down_revision: str | None = 'c0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'aggregates',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('uuid', sa.CHAR(length=36), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_aggregates')),
        sa.UniqueConstraint('name', name=op.f('uq_aggregates_name')),
        sa.UniqueConstraint('uuid', name=op.f('uq_aggregates_uuid')),
    )
    op.create_table(
        'aggregate_hosts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('aggregate_id', sa.Integer(), nullable=False),
        sa.Column('host', sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(['aggregate_id'], ['aggregates.id'],
                                name=op.f('fk_aggregate_hosts_aggregate_id_aggregates'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_aggregate_hosts')),
        sa.UniqueConstraint('aggregate_id', 'host',
                            name=op.f('uq_aggregate_hosts_aggregate_id_host')),
    )
    op.create_index(op.f('ix_aggregate_hosts_aggregate_id'), 'aggregate_hosts',
                    ['aggregate_id'])
    op.create_index(op.f('ix_aggregate_hosts_host'), 'aggregate_hosts', ['host'])
    op.create_table(
        'aggregate_metadata',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('aggregate_id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=255), nullable=False),
        sa.Column('value', sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(['aggregate_id'], ['aggregates.id'],
                                name=op.f('fk_aggregate_metadata_aggregate_id_aggregates'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_aggregate_metadata')),
        sa.UniqueConstraint('aggregate_id', 'key',
                            name=op.f('uq_aggregate_metadata_aggregate_id_key')),
    )
    op.create_index(op.f('ix_aggregate_metadata_aggregate_id'), 'aggregate_metadata',
                    ['aggregate_id'])
    op.create_index(op.f('ix_aggregate_metadata_key'), 'aggregate_metadata', ['key'])
    op.create_table(
        'quota_classes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('class_name', sa.String(length=255), nullable=False),
        sa.Column('resource', sa.String(length=64), nullable=False),
        sa.Column('hard_limit', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_quota_classes')),
        sa.UniqueConstraint('class_name', 'resource',
                            name=op.f('uq_quota_classes_class_name_resource')),
    )


def downgrade() -> None:
    op.drop_table('quota_classes')
    op.drop_table('aggregate_metadata')
    op.drop_table('aggregate_hosts')
    op.drop_table('aggregates')
