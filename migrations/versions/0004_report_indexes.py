"""report indexes: a claim's earlier remittances; a period's denials without the wide rows

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 12:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


REPORT_COLUMNS = [
    "denied_on", "practice_id", "payer_id", "status", "deadline", "denied_amount",
    "recovered_amount", "category", "group_code", "carc", "rarc", "procedure_code", "claim_id",
]  # fmt: skip


def upgrade() -> None:
    op.create_index("ix_denial_report", "denial", REPORT_COLUMNS, unique=False)
    op.create_index(
        "ix_claim_account",
        "claim",
        ["patient_control_number", "payer_id", "practice_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_claim_account", table_name="claim")
    op.drop_index("ix_denial_report", table_name="denial")
