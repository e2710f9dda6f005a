"""migrations and instance action events

Revision ID: c0004
Revises: c0003
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = 'c0004'
down_revision: str | None = 'c0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('migrations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uuid', sa.CHAR(length=36), nullable=False),
    sa.Column('instance_uuid', sa.CHAR(length=36), nullable=False),
    sa.Column('migration_type', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('source_compute', sa.String(length=255), nullable=True),
    sa.Column('source_node', sa.String(length=255), nullable=True),
    sa.Column('dest_compute', sa.String(length=255), nullable=True),
    sa.Column('dest_node', sa.String(length=255), nullable=True),
    sa.Column('requested_host', sa.String(length=255), nullable=True),
    sa.Column('force', sa.Boolean(), nullable=False),
    sa.Column('block_migration', sa.Boolean(), nullable=False),
    sa.Column('old_flavor', sa.JSON(), nullable=False),
    sa.Column('new_flavor', sa.JSON(), nullable=False),
    sa.Column('old_vm_state', sa.String(length=32), nullable=False),
    sa.Column('project_id', sa.String(length=255), nullable=True),
    sa.Column('user_id', sa.String(length=255), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_migrations')),
    sa.UniqueConstraint('uuid', name=op.f('uq_migrations_uuid'))
    )
    with op.batch_alter_table('migrations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_migrations_instance_uuid_status'), ['instance_uuid', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_migrations_status'), ['status'], unique=False)

    op.create_table('instance_action_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('action_id', sa.Integer(), nullable=False),
    sa.Column('event', sa.String(length=255), nullable=False),
    sa.Column('start_time', sa.DateTime(), nullable=False),
    sa.Column('finish_time', sa.DateTime(), nullable=True),
    sa.Column('result', sa.String(length=255), nullable=True),
    sa.Column('traceback', sa.Text(), nullable=True),
    sa.Column('host', sa.String(length=255), nullable=True),
    sa.Column('details', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['action_id'], ['instance_actions.id'], name=op.f('fk_instance_action_events_action_id_instance_actions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_instance_action_events'))
    )
    with op.batch_alter_table('instance_action_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_instance_action_events_action_id'), ['action_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('instance_action_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_instance_action_events_action_id'))

    op.drop_table('instance_action_events')
    with op.batch_alter_table('migrations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_migrations_status'))
        batch_op.drop_index(batch_op.f('ix_migrations_instance_uuid_status'))

    op.drop_table('migrations')
