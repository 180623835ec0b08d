"""Sessions: each signed-in session of its own on the server (`panel_sessions`), so a session ended stays ended.

Until this revision the Flask session held the user's connection row id, and a new sign-in refilled that shared
row, bringing signed-out sessions back to life (issue 13, part 2). A table added, nothing changed in the others: the
previous version may go on serving while the upgrade runs. Cookies it issued hold `connection_id`, which this
version does not read: their users sign in again (docs/embedding.md, "How long a session lives").

Revision ID: 0003_panel_sessions
Revises: 0002_token_renewals
Create Date: 2026-12-06
"""

from alembic import op
import sqlalchemy as sa

revision = "0003_panel_sessions"
down_revision = "0002_token_renewals"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "panel_sessions",
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("started_via", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["connection_id"], ["salesforce_connections.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id_hash"),
    )
    op.create_index("ix_panel_sessions_connection_id", "panel_sessions", ["connection_id"], unique=False)


def downgrade():
    op.drop_table("panel_sessions")  # its index goes with it
