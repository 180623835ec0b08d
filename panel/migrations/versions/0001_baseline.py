"""Baseline: the schema exactly as `db.create_all()` made it in every version before migrations.

A database those versions made is adopted at this revision without running it (`panel.migrations.settle`), so
this must stay what they built: the same tables, column types, lengths, nullability, index and constraint names
(tests/test_migrations.py compares the two on SQLite and PostgreSQL). Change the schema in a new revision.

Revision ID: 0001_baseline
Revises:
Create Date: 2026-12-06
"""

from alembic import op
import sqlalchemy as sa

revision = "0001_baseline"
down_revision = None
branch_labels = None
depends_on = None

TABLES = ("call_events", "call_picks", "call_reviews", "calls", "embed_sign_in_codes", "remembered_picks",
          "salesforce_connections")


def upgrade():
    op.create_table(
        "call_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("call_id", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("processed", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id"),
    )
    op.create_index("ix_call_events_call_id", "call_events", ["call_id"], unique=False)
    op.create_index("ix_call_events_processed", "call_events", ["processed"], unique=False)

    op.create_table(
        "call_picks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.String(length=255), nullable=False),
        sa.Column("record_id", sa.String(length=18), nullable=False),
        sa.Column("record_type", sa.String(length=40), nullable=False),
        sa.Column("picked_by_user_id", sa.String(length=18), nullable=True),
        sa.Column("picked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("call_id"),
    )

    op.create_table(
        "call_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.String(length=255), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("candidates", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(length=254), nullable=True),
        sa.Column("resolution", sa.String(length=16), nullable=True),
        sa.Column("resolved_record_id", sa.String(length=18), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_call_reviews_call_id", "call_reviews", ["call_id"], unique=False)
    op.create_index("ix_call_reviews_created_at", "call_reviews", ["created_at"], unique=False)

    op.create_table(
        "calls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.String(length=255), nullable=False),
        sa.Column("org_id", sa.String(length=18), nullable=True),
        sa.Column("agent_email", sa.String(length=254), nullable=True),
        sa.Column("direction", sa.String(length=8), nullable=True),
        sa.Column("external_number", sa.String(length=255), nullable=True),
        sa.Column("state", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("timed_out", sa.Boolean(), nullable=False),
        sa.Column("warmed", sa.Boolean(), nullable=False),
        sa.Column("record_id", sa.String(length=18), nullable=True),
        sa.Column("record_type", sa.String(length=40), nullable=True),
        sa.Column("record_source", sa.String(length=16), nullable=True),
        sa.Column("candidates", sa.Text(), nullable=True),
        sa.Column("note_who_id", sa.String(length=18), nullable=True),
        sa.Column("note_what_id", sa.String(length=18), nullable=True),
        sa.Column("task_id", sa.String(length=18), nullable=True),
        sa.Column("task_closed", sa.Boolean(), nullable=False),
        sa.Column("task_unsure", sa.Boolean(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("first_failure_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_until", sa.Float(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("logged_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("call_id"),
    )
    op.create_index("ix_calls_agent_email", "calls", ["agent_email"], unique=False)
    op.create_index("ix_calls_next_attempt_at", "calls", ["next_attempt_at"], unique=False)
    op.create_index("ix_calls_started_at", "calls", ["started_at"], unique=False)
    op.create_index("ix_calls_status", "calls", ["status"], unique=False)

    op.create_table(
        "embed_sign_in_codes",
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("code_hash"),
    )

    op.create_table(
        "remembered_picks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.String(length=18), nullable=False),
        sa.Column("e164", sa.String(length=20), nullable=False),
        sa.Column("record_id", sa.String(length=18), nullable=False),
        sa.Column("record_type", sa.String(length=40), nullable=False),
        sa.Column("picked_by_user_id", sa.String(length=18), nullable=False),
        sa.Column("picked_by_name", sa.String(length=121), nullable=True),
        sa.Column("picked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("call_id", sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("org_id", "e164", name="uq_remembered_picks_org_number"),
    )

    op.create_table(
        "salesforce_connections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.String(length=18), nullable=False),
        sa.Column("user_id", sa.String(length=18), nullable=False),
        sa.Column("name", sa.String(length=121), nullable=True),
        sa.Column("email", sa.String(length=255), nullable=True),
        sa.Column("username", sa.String(length=255), nullable=True),
        sa.Column("instance_url", sa.String(length=255), nullable=False),
        sa.Column("access_token_encrypted", sa.Text(), nullable=True),
        sa.Column("refresh_token_encrypted", sa.Text(), nullable=True),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("org_id", "user_id", name="uq_salesforce_connections_user"),
    )


def downgrade():
    for table in reversed(TABLES):
        op.drop_table(table)  # its indexes go with it
