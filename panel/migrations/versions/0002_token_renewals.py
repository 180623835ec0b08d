"""The renewal lease of each agent's Salesforce token (`salesforce_token_renewals`).

With refresh token rotation a refresh token is good once, so the processes that renew an agent's token at the same
moment (web processes, job workers) take turns on one row per connection (panel.signin.connections). A new table:
the previous version's processes never read it, so they may serve while the upgrade runs.

Revision ID: 0002_token_renewals
Revises: 0001_baseline
Create Date: 2026-12-08
"""

from alembic import op
import sqlalchemy as sa

revision = "0002_token_renewals"
down_revision = "0001_baseline"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "salesforce_token_renewals",
        sa.Column("connection_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("holder", sa.String(length=32), nullable=True),
        sa.Column("until", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("connection_id"),
    )


def downgrade():
    op.drop_table("salesforce_token_renewals")
