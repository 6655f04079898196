"""drop indexes nothing reads: adjustment and remark by line, reason and code; lines by procedure;
claims by patient control number alone (ix_claim_account starts with it)

Claims, lines, adjustments and remarks are read by claim (and claims by account and payer claim
number) and never deleted, so these six indexes were only written: once per row of every import,
a few hundred thousand B-tree inserts for a 100,000-claim file with reversals (measured twice
each way: SQLite 10.0/10.7 s -> 8.9/9.2 s, PostgreSQL 16.0/16.3 s -> 15.2/15.0 s). One plan
used one: SQLite summed the reports' CO-45 adjustments through the reason index, a scan of most
adjustments; it now starts from the period's claims and their claim index.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 21:50:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DROPPED = (
    ("ix_adjustment_line_id", "adjustment", "line_id"),
    ("ix_adjustment_reason", "adjustment", "reason"),
    ("ix_remark_line_id", "remark", "line_id"),
    ("ix_remark_code", "remark", "code"),
    ("ix_serviceline_procedure_code", "serviceline", "procedure_code"),
    ("ix_claim_patient_control_number", "claim", "patient_control_number"),
)


def upgrade() -> None:
    for name, table, _ in DROPPED:
        op.drop_index(name, table_name=table)


def downgrade() -> None:
    for name, table, column in reversed(DROPPED):
        op.create_index(name, table, [column], unique=False)
