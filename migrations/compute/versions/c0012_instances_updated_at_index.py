"""an index on instances.updated_at: change lists and recent build failures

Revision ID: c0012
Revises: c0011
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op


revision: str = 'c0012'
down_revision: str | None = 'c0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_instances_updated_at', 'instances', ['updated_at'])


def downgrade() -> None:
    op.drop_index('ix_instances_updated_at', table_name='instances')
