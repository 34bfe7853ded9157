"""A look's seed is BIGINT: ``designs.registry.look.look_seed`` gives 0 to 2**32 - 1 (``MAX_SEED``), and
PostgreSQL's INTEGER stops at 2**31 - 1, so about half of all looks failed to store there (SQLite's
INTEGER holds 64 bits: the table is rebuilt with the declared type, its rows kept).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 14:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('looks') as batch:
        batch.alter_column('seed', existing_type=sa.Integer(), type_=sa.BigInteger(), existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('looks') as batch:
        batch.alter_column('seed', existing_type=sa.BigInteger(), type_=sa.Integer(), existing_nullable=False)
