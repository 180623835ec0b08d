"""Facts after the call and unknown agents (issue 15): three nullable columns, nothing else changed.

- `call_events.agent_ref`: the agent as a dialer named them, kept on an event whose agent nobody resolved, so the
  doctor can list those identities (panel.ops.doctor).
- `calls.facts_written`: the facts (recordings, transcripts, summaries) the call's Task holds, so each is written
  once however often and whenever it is delivered (panel.calls.pipeline).
- `calls.task_subject`: the subject the panel last wrote to the call's Task, so a corrected call replaces it only
  while nobody renamed the Task.

Only columns added, all nullable: the previous version may go on serving while the upgrade runs (it neither reads
nor writes them).

Revision ID: 0004_call_legs_and_facts
Revises: 0003_panel_sessions
Create Date: 2026-12-10
"""

from alembic import op
import sqlalchemy as sa

revision = "0004_call_legs_and_facts"
down_revision = "0003_panel_sessions"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("call_events", sa.Column("agent_ref", sa.String(length=255), nullable=True))
    op.add_column("calls", sa.Column("facts_written", sa.Text(), nullable=True))
    op.add_column("calls", sa.Column("task_subject", sa.String(length=255), nullable=True))


def downgrade():
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("task_subject")
        batch.drop_column("facts_written")
    with op.batch_alter_table("call_events") as batch:
        batch.drop_column("agent_ref")
