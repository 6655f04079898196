"""coding checks claimed by one run at a time

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 18:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # When a run (an import, an upload job, serve start) last claimed the file's pending checks.
    op.add_column("remittancefile", sa.Column("checks_claimed_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("remittancefile") as batch:
        batch.drop_column("checks_claimed_at")
