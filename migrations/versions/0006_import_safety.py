"""import safety: pending coding checks and concurrent imports

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 13:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Coding checks still to run on a file's new denials (set by the import's transaction).
    op.add_column(
        "remittancefile",
        sa.Column("checks_pending", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    with op.batch_alter_table("remittancefile") as batch:
        batch.drop_column("checks_pending")
