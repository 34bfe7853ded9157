"""The tables of gonogo's one database: the trial registry (with each protocol version's stored
design summary), its audit trail, tokens, idempotency records and jobs (SQLAlchemy Core; the
migrations in ``service/store/migrations`` create them).

Times are ISO 8601 UTC text with millisecond precision (they sort as text on every backend);
documents are canonical JSON text (``designs.core.provenance.canonical_json``) beside their SHA-256,
so what was stored is what is hashed, byte for byte, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

# Constraint names fixed by convention, so that migrations name them the same on every backend.
metadata = MetaData(naming_convention={
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})

SHA256 = String(64)
WHEN = String(32)  # ISO 8601 UTC, e.g. 2026-11-30T13:15:14.123+00:00
ROLES = ("admin", "statistician", "dmc", "sponsor")

trials = Table(
    "trials", metadata,
    Column("id", String(64), primary_key=True),           # slug
    Column("title", Text, nullable=False),
    Column("current_version", Integer, nullable=False),  # the latest protocol version
    Column("created_at", WHEN, nullable=False),
    Column("created_by", String(128), nullable=False),    # the actor (token name)
)

protocol_versions = Table(
    "protocol_versions", metadata,
    Column("trial_id", String(64), ForeignKey("trials.id"), primary_key=True),
    Column("version", Integer, primary_key=True),        # 1, 2, ... (1 = as created)
    Column("document", Text, nullable=False),            # canonical JSON of the whole protocol
    Column("sha256", SHA256, nullable=False),
    Column("changes", Text),                             # canonical JSON of the amendment's changes (NULL for v1)
    Column("reason", Text),
    Column("after_look", Integer),                       # the number of looks stored when it was made
    Column("created_at", WHEN, nullable=False),
    Column("created_by", String(128), nullable=False),
)

data_cuts = Table(
    "data_cuts", metadata,
    Column("trial_id", String(64), ForeignKey("trials.id"), primary_key=True),
    Column("number", Integer, primary_key=True),         # 1, 2, ...
    Column("cutoff_date", String(10), nullable=False),   # YYYY-MM-DD
    Column("document", Text, nullable=False),            # canonical JSON of the cut's content
    Column("sha256", SHA256, nullable=False),
    Column("n_patients", Integer, nullable=False),
    Column("supersedes", Integer),                       # the cut it corrects
    Column("reason", Text),
    Column("protocol_version", Integer, nullable=False), # the version it was checked against
    Column("created_at", WHEN, nullable=False),
    Column("created_by", String(128), nullable=False),
    Column("files", Text),                               # JSON: ADaM files read (dataset, format, sha256, rows); 0002
)

looks = Table(
    "looks", metadata,
    Column("trial_id", String(64), primary_key=True),
    Column("number", Integer, primary_key=True),         # 1, 2, ...: unique per trial, never reused
    Column("data_cut", Integer, nullable=False),
    Column("protocol_version", Integer, nullable=False),
    Column("seed", BigInteger, nullable=False),          # 0 .. 2**32 - 1 (designs.core.validation.MAX_SEED)
    Column("result", Text, nullable=False),              # canonical JSON of the whole look
    Column("sha256", SHA256, nullable=False),
    Column("created_at", WHEN, nullable=False),
    Column("created_by", String(128), nullable=False),
    ForeignKeyConstraint(["trial_id", "data_cut"], ["data_cuts.trial_id", "data_cuts.number"]),
    ForeignKeyConstraint(["trial_id", "protocol_version"], ["protocol_versions.trial_id", "protocol_versions.version"]),
)

design_summaries = Table(
    "design_summaries", metadata,                        # 0003
    Column("trial_id", String(64), primary_key=True),
    Column("protocol_version", Integer, primary_key=True),
    Column("document", Text, nullable=False),            # canonical JSON (designs.registry.design.design_summary)
    Column("sha256", SHA256, nullable=False),
    Column("computed_at", WHEN, nullable=False),         # when the look that computed it was asked for
    Column("software", Text, nullable=False),            # JSON: the software versions that computed it
    ForeignKeyConstraint(["trial_id", "protocol_version"], ["protocol_versions.trial_id", "protocol_versions.version"]),
)

# One chain over every trial: seq has no gaps; each event's hash covers its fields and the previous
# hash. audit_head (one row) is updated by every write first, which serialises writers on PostgreSQL
# as SQLite's BEGIN IMMEDIATE does.
audit_events = Table(
    "audit_events", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("at", WHEN, nullable=False),
    Column("actor", String(128), nullable=False),
    Column("action", String(64), nullable=False),        # e.g. trial.create, protocol.amend, data_cut.create
    Column("trial_id", String(64)),                      # NULL for events of no trial (tokens)
    Column("resource", String(256), nullable=False),     # e.g. /v1/trials/sarc031/looks/2
    Column("content_sha256", SHA256, nullable=False),
    Column("prev_hash", SHA256, nullable=False),
    Column("hash", SHA256, nullable=False),
    Index("ix_audit_events_trial", "trial_id", "seq"),
    Index("ix_audit_events_resource", "resource", "action"),  # the event that stored a resource (integrity checks)
)

audit_head = Table(
    "audit_head", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),  # always 1
    Column("seq", Integer, nullable=False),              # the last event's seq (0: none)
    Column("hash", SHA256, nullable=False),              # the last event's hash (64 zeros: none)
    CheckConstraint("id = 1", name="single_row"),
)

tokens = Table(
    "tokens", metadata,
    Column("id", String(16), primary_key=True),          # public part of the token
    Column("name", String(128), nullable=False, unique=True),
    Column("role", String(16), nullable=False),
    Column("secret_sha256", SHA256, nullable=False),     # the token is never stored
    Column("all_trials", Integer, nullable=False),       # 1: every trial; 0: those in token_trials
    Column("created_at", WHEN, nullable=False),
    Column("created_by", String(128), nullable=False),
    Column("revoked_at", WHEN),
    CheckConstraint("role IN ('admin', 'statistician', 'dmc', 'sponsor')", name="role"),
)

token_trials = Table(
    "token_trials", metadata,
    Column("token_id", String(16), ForeignKey("tokens.id"), primary_key=True),
    Column("trial_id", String(64), primary_key=True),    # may name a trial not yet created
)

idempotency_keys = Table(
    "idempotency_keys", metadata,
    Column("actor", String(16), primary_key=True),       # the token id (keys are per client)
    Column("key", String(256), primary_key=True),
    Column("method", String(8), nullable=False),
    Column("path", String(512), nullable=False),
    Column("request_sha256", SHA256, nullable=False),
    Column("status", Integer, nullable=False),
    Column("headers", Text, nullable=False),             # JSON object of the headers to replay
    Column("body", Text, nullable=False),
    Column("created_at", WHEN, nullable=False),
)

jobs = Table(
    "jobs", metadata,
    Column("id", String(64), primary_key=True),
    Column("kind", String(64), nullable=False),
    Column("backend", String(32), nullable=False),
    Column("request_json", Text),                        # canonical JSON of the request, NULL once purged
    Column("request_sha256", SHA256, nullable=False),
    Column("state", String(16), nullable=False),
    Column("progress", Float, nullable=False, server_default="0"),
    Column("cancel_requested", Integer, nullable=False, server_default="0"),
    Column("owner", String(128), nullable=False),
    Column("heartbeat_at", Float, nullable=False),
    Column("created_at", WHEN, nullable=False),
    Column("started_at", WHEN),
    Column("finished_at", WHEN),
    Column("result_json", Text),
    Column("error_json", Text),
    Column("purged", Integer, nullable=False, server_default="0"),
    CheckConstraint("state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled', 'interrupted')", name="state"),
    CheckConstraint("progress BETWEEN 0 AND 1", name="progress"),
    Index("ix_jobs_state_finished", "state", "finished_at"),
)

__all__ = [
    "ROLES", "audit_events", "audit_head", "data_cuts", "design_summaries", "idempotency_keys", "jobs", "looks", "metadata",
    "protocol_versions", "token_trials", "tokens", "trials",
]
