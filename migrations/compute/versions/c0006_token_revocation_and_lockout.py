"""token revocation, password lockout and host-bound service users

Revision ID: c0006
Revises: c0005
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = 'c0006'
down_revision: str | None = 'c0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('identity_users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tokens_valid_after', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('failed_logins', sa.Integer(), nullable=False,
                                      server_default='0'))
        batch_op.add_column(sa.Column('locked_until', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('service_hosts', sa.JSON(), nullable=True))
    op.create_table(
        'identity_revoked_tokens',
        sa.Column('audit_id', sa.String(length=64), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=True),
        sa.Column('revoked_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('audit_id', name=op.f('pk_identity_revoked_tokens')),
    )
    op.create_index(op.f('ix_identity_revoked_tokens_expires_at'),
                    'identity_revoked_tokens', ['expires_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_identity_revoked_tokens_expires_at'),
                  table_name='identity_revoked_tokens')
    op.drop_table('identity_revoked_tokens')
    with op.batch_alter_table('identity_users', schema=None) as batch_op:
        batch_op.drop_column('service_hosts')
        batch_op.drop_column('locked_until')
        batch_op.drop_column('failed_logins')
        batch_op.drop_column('tokens_valid_after')
