"""identity, keypairs, server groups, quotas, actions, tags

Revision ID: c0002
Revises: c0001
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = 'c0002'
down_revision: str | None = 'c0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table('identity_projects',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('domain_id', sa.String(length=64), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_identity_projects')),
    sa.UniqueConstraint('domain_id', 'name', name=op.f('uq_identity_projects_domain_id_name'))
    )
    op.create_table('identity_users',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('domain_id', sa.String(length=64), nullable=False),
    sa.Column('password_hash', sa.String(length=512), nullable=True),
    sa.Column('email', sa.String(length=255), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_identity_users')),
    sa.UniqueConstraint('domain_id', 'name', name=op.f('uq_identity_users_domain_id_name'))
    )
    op.create_table('instance_actions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instance_uuid', sa.CHAR(length=36), nullable=False),
    sa.Column('action', sa.String(length=255), nullable=False),
    sa.Column('request_id', sa.String(length=255), nullable=False),
    sa.Column('user_id', sa.String(length=255), nullable=True),
    sa.Column('project_id', sa.String(length=255), nullable=True),
    sa.Column('message', sa.String(length=255), nullable=True),
    sa.Column('start_time', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_instance_actions'))
    )
    with op.batch_alter_table('instance_actions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_instance_actions_instance_uuid'), ['instance_uuid'], unique=False)

    op.create_table('key_pairs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.String(length=255), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('type', sa.String(length=16), nullable=False),
    sa.Column('public_key', sa.Text(), nullable=False),
    sa.Column('fingerprint', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_key_pairs')),
    sa.UniqueConstraint('user_id', 'name', name=op.f('uq_key_pairs_user_id_name'))
    )
    op.create_table('quota_locks',
    sa.Column('project_id', sa.String(length=255), nullable=False),
    sa.PrimaryKeyConstraint('project_id', name=op.f('pk_quota_locks'))
    )
    op.create_table('quotas',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.String(length=255), nullable=False),
    sa.Column('resource', sa.String(length=64), nullable=False),
    sa.Column('hard_limit', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quotas')),
    sa.UniqueConstraint('project_id', 'resource', name=op.f('uq_quotas_project_id_resource'))
    )
    op.create_table('server_groups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uuid', sa.CHAR(length=36), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('project_id', sa.String(length=255), nullable=False),
    sa.Column('user_id', sa.String(length=255), nullable=False),
    sa.Column('policy', sa.String(length=32), nullable=False),
    sa.Column('rules', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_server_groups')),
    sa.UniqueConstraint('uuid', name=op.f('uq_server_groups_uuid'))
    )
    with op.batch_alter_table('server_groups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_server_groups_project_id'), ['project_id'], unique=False)

    op.create_table('identity_role_assignments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('project_id', sa.String(length=64), nullable=False),
    sa.Column('role', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['identity_projects.id'], name=op.f('fk_identity_role_assignments_project_id_identity_projects'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['identity_users.id'], name=op.f('fk_identity_role_assignments_user_id_identity_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_identity_role_assignments')),
    sa.UniqueConstraint('user_id', 'project_id', 'role', name=op.f('uq_identity_role_assignments_user_id_project_id_role'))
    )
    with op.batch_alter_table('identity_role_assignments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_identity_role_assignments_project_id'), ['project_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_identity_role_assignments_user_id'), ['user_id'], unique=False)

    op.create_table('instance_tags',
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('tag', sa.String(length=80), nullable=False),
    sa.ForeignKeyConstraint(['instance_id'], ['instances.id'], name=op.f('fk_instance_tags_instance_id_instances'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('instance_id', 'tag', name=op.f('pk_instance_tags'))
    )
    op.create_table('server_group_members',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('instance_uuid', sa.CHAR(length=36), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['server_groups.id'], name=op.f('fk_server_group_members_group_id_server_groups'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_server_group_members')),
    sa.UniqueConstraint('instance_uuid', name=op.f('uq_server_group_members_instance_uuid'))
    )
    with op.batch_alter_table('server_group_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_server_group_members_group_id'), ['group_id'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('server_group_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_server_group_members_group_id'))

    op.drop_table('server_group_members')
    op.drop_table('instance_tags')
    with op.batch_alter_table('identity_role_assignments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_identity_role_assignments_user_id'))
        batch_op.drop_index(batch_op.f('ix_identity_role_assignments_project_id'))

    op.drop_table('identity_role_assignments')
    with op.batch_alter_table('server_groups', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_server_groups_project_id'))

    op.drop_table('server_groups')
    op.drop_table('quotas')
    op.drop_table('quota_locks')
    op.drop_table('key_pairs')
    with op.batch_alter_table('instance_actions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_instance_actions_instance_uuid'))

    op.drop_table('instance_actions')
    op.drop_table('identity_users')
    op.drop_table('identity_projects')

