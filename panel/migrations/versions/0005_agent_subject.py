"""The subject the agent typed during a call (issue 16): one nullable column, nothing else changed.

- `calls.agent_subject`: what the agent typed as the subject on the panel's task form for the call, kept so the
  call's end, a later leg or a reviewer's decision writes it (alone, or in `PANEL_TASK_SUBJECT_TEMPLATE`'s
  `{subject}`) instead of the panel's own subject (panel.calls.logging_rules.call_subject).

Only a nullable column added: the previous version may go on serving while the upgrade runs (it neither reads nor
writes it).

Revision ID: 0005_agent_subject
Revises: 0004_call_legs_and_facts
Create Date: 2026-12-12
"""

from alembic import op
import sqlalchemy as sa

revision = "0005_agent_subject"
down_revision = "0004_call_legs_and_facts"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("calls", sa.Column("agent_subject", sa.String(length=255), nullable=True))


def downgrade():
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("agent_subject")
