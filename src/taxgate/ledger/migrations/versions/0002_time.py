"""Receipt time: the gate's memory dates people by the receipt day; decisions found by taxpayer.

Revision ID: 0002_time
Revises: 0001
Create Date: 2026-12-01

`gate_people.submitted_on` held the requester's claimed batch date; the re-request window now
counts from the gateway's own receipt day, so the column is renamed `asked_on` (existing rows
keep their dates: they are the best record there is of when those people were asked).
`decisions.tin` gets an index: before disclosing, the pipeline looks up whether the matched
taxpayer was already disclosed within the re-request window.
"""

from __future__ import annotations

from alembic import op

revision: str = "0002_time"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.drop_index("ix_gate_people_submitted_on", table_name="gate_people")
    op.execute("ALTER TABLE gate_people RENAME COLUMN submitted_on TO asked_on")
    op.create_index("ix_gate_people_asked_on", "gate_people", ["asked_on"])
    op.create_index("ix_decisions_tin", "decisions", ["tin"])


def downgrade() -> None:
    op.drop_index("ix_decisions_tin", table_name="decisions")
    op.drop_index("ix_gate_people_asked_on", table_name="gate_people")
    op.execute("ALTER TABLE gate_people RENAME COLUMN asked_on TO submitted_on")
    op.create_index("ix_gate_people_submitted_on", "gate_people", ["submitted_on"])
