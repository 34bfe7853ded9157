"""The tables of gonogo's one database: the trial registry, its audit trail, tokens, idempotency
records and jobs (as ``service/store/tables.py`` declares them; a test checks they agree).

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-30 13:22:13.373465
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_events',
    sa.Column('seq', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('at', sa.String(length=32), nullable=False),
    sa.Column('actor', sa.String(length=128), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('trial_id', sa.String(length=64), nullable=True),
    sa.Column('resource', sa.String(length=256), nullable=False),
    sa.Column('content_sha256', sa.String(length=64), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_audit_events'))
    )
    op.create_index('ix_audit_events_trial', 'audit_events', ['trial_id', 'seq'], unique=False)
    op.create_index('ix_audit_events_resource', 'audit_events', ['resource', 'action'], unique=False)

    op.create_table('audit_head',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.CheckConstraint('id = 1', name=op.f('ck_audit_head_single_row')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_head'))
    )
    # The chain's head exists from the start: the first two writers of a new database on PostgreSQL
    # then queue on its row lock instead of racing to insert it. 64 zeros: no event yet (GENESIS).
    op.bulk_insert(sa.table('audit_head', sa.column('id', sa.Integer), sa.column('seq', sa.Integer),
                            sa.column('hash', sa.String)), [{'id': 1, 'seq': 0, 'hash': '0' * 64}])
    op.create_table('idempotency_keys',
    sa.Column('actor', sa.String(length=16), nullable=False),
    sa.Column('key', sa.String(length=256), nullable=False),
    sa.Column('method', sa.String(length=8), nullable=False),
    sa.Column('path', sa.String(length=512), nullable=False),
    sa.Column('request_sha256', sa.String(length=64), nullable=False),
    sa.Column('status', sa.Integer(), nullable=False),
    sa.Column('headers', sa.Text(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('actor', 'key', name=op.f('pk_idempotency_keys'))
    )
    op.create_table('jobs',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('backend', sa.String(length=32), nullable=False),
    sa.Column('request_json', sa.Text(), nullable=True),
    sa.Column('request_sha256', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('progress', sa.Float(), server_default='0', nullable=False),
    sa.Column('cancel_requested', sa.Integer(), server_default='0', nullable=False),
    sa.Column('owner', sa.String(length=128), nullable=False),
    sa.Column('heartbeat_at', sa.Float(), nullable=False),
    sa.Column('created_at', sa.String(length=32), nullable=False),
    sa.Column('started_at', sa.String(length=32), nullable=True),
    sa.Column('finished_at', sa.String(length=32), nullable=True),
    sa.Column('result_json', sa.Text(), nullable=True),
    sa.Column('error_json', sa.Text(), nullable=True),
    sa.Column('purged', sa.Integer(), server_default='0', nullable=False),
    sa.CheckConstraint("state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled', 'interrupted')", name=op.f('ck_jobs_state')),
    sa.CheckConstraint('progress BETWEEN 0 AND 1', name=op.f('ck_jobs_progress')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_jobs'))
    )
    op.create_index('ix_jobs_state_finished', 'jobs', ['state', 'finished_at'], unique=False)

    op.create_table('tokens',
    sa.Column('id', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('secret_sha256', sa.String(length=64), nullable=False),
    sa.Column('all_trials', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.String(length=32), nullable=False),
    sa.Column('created_by', sa.String(length=128), nullable=False),
    sa.Column('revoked_at', sa.String(length=32), nullable=True),
    sa.CheckConstraint("role IN ('admin', 'statistician', 'dmc', 'sponsor')", name=op.f('ck_tokens_role')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tokens')),
    sa.UniqueConstraint('name', name=op.f('uq_tokens_name'))
    )
    op.create_table('trials',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('current_version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.String(length=32), nullable=False),
    sa.Column('created_by', sa.String(length=128), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trials'))
    )
    op.create_table('data_cuts',
    sa.Column('trial_id', sa.String(length=64), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('cutoff_date', sa.String(length=10), nullable=False),
    sa.Column('document', sa.Text(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('n_patients', sa.Integer(), nullable=False),
    sa.Column('supersedes', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('protocol_version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.String(length=32), nullable=False),
    sa.Column('created_by', sa.String(length=128), nullable=False),
    sa.ForeignKeyConstraint(['trial_id'], ['trials.id'], name=op.f('fk_data_cuts_trial_id_trials')),
    sa.PrimaryKeyConstraint('trial_id', 'number', name=op.f('pk_data_cuts'))
    )
    op.create_table('protocol_versions',
    sa.Column('trial_id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('document', sa.Text(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('changes', sa.Text(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('after_look', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.String(length=32), nullable=False),
    sa.Column('created_by', sa.String(length=128), nullable=False),
    sa.ForeignKeyConstraint(['trial_id'], ['trials.id'], name=op.f('fk_protocol_versions_trial_id_trials')),
    sa.PrimaryKeyConstraint('trial_id', 'version', name=op.f('pk_protocol_versions'))
    )
    op.create_table('token_trials',
    sa.Column('token_id', sa.String(length=16), nullable=False),
    sa.Column('trial_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['token_id'], ['tokens.id'], name=op.f('fk_token_trials_token_id_tokens')),
    sa.PrimaryKeyConstraint('token_id', 'trial_id', name=op.f('pk_token_trials'))
    )
    op.create_table('looks',
    sa.Column('trial_id', sa.String(length=64), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('data_cut', sa.Integer(), nullable=False),
    sa.Column('protocol_version', sa.Integer(), nullable=False),
    sa.Column('seed', sa.BigInteger(), nullable=False),
    sa.Column('result', sa.Text(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.String(length=32), nullable=False),
    sa.Column('created_by', sa.String(length=128), nullable=False),
    sa.ForeignKeyConstraint(['trial_id', 'data_cut'], ['data_cuts.trial_id', 'data_cuts.number'], name=op.f('fk_looks_trial_id_data_cuts')),
    sa.ForeignKeyConstraint(['trial_id', 'protocol_version'], ['protocol_versions.trial_id', 'protocol_versions.version'], name=op.f('fk_looks_trial_id_protocol_versions')),
    sa.PrimaryKeyConstraint('trial_id', 'number', name=op.f('pk_looks'))
    )


def downgrade() -> None:
    op.drop_table('looks')
    op.drop_table('token_trials')
    op.drop_table('protocol_versions')
    op.drop_table('data_cuts')
    op.drop_table('trials')
    op.drop_table('tokens')
    op.drop_index('ix_jobs_state_finished', table_name='jobs')

    op.drop_table('jobs')
    op.drop_table('idempotency_keys')
    op.drop_table('audit_head')
    op.drop_index('ix_audit_events_resource', table_name='audit_events')
    op.drop_index('ix_audit_events_trial', table_name='audit_events')

    op.drop_table('audit_events')
