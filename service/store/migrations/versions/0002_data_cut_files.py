"""A data cut records the ADaM files it was read from (dataset, format, SHA-256 of the bytes, rows):
they are not part of its canonical content, which is the same whatever the files' format.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 16:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('data_cuts') as batch:
        batch.add_column(sa.Column('files', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('data_cuts') as batch:
        batch.drop_column('files')
