"""The design summary of a protocol version (operating characteristics and decision boundaries of its
response plan), computed once when the first look on the version runs and stored beside it.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 19:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('design_summaries',
    sa.Column('trial_id', sa.String(length=64), nullable=False),
    sa.Column('protocol_version', sa.Integer(), nullable=False),
    sa.Column('document', sa.Text(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('computed_at', sa.String(length=32), nullable=False),
    sa.Column('software', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['trial_id', 'protocol_version'], ['protocol_versions.trial_id', 'protocol_versions.version'],
                            name=op.f('fk_design_summaries_trial_id_protocol_versions')),
    sa.PrimaryKeyConstraint('trial_id', 'protocol_version', name=op.f('pk_design_summaries'))
    )


def downgrade() -> None:
    op.drop_table('design_summaries')
