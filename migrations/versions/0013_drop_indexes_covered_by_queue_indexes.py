"""drop ix_denial_deadline and ix_denial_denied_on: (deadline, id) and (denied_on, id) serve them

Every index on denial is written again by each row an import inserts and each score a rescore
changes (on PostgreSQL a changed priority is not a HOT update, so all of them are); these two
are the first column of ix_denial_queue_deadline and ix_denial_queue_age, which answer every
lookup and range on those columns as well.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 16:40:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_denial_deadline", table_name="denial")
    op.drop_index("ix_denial_denied_on", table_name="denial")


def downgrade() -> None:
    op.create_index("ix_denial_denied_on", "denial", ["denied_on"], unique=False)
    op.create_index("ix_denial_deadline", "denial", ["deadline"], unique=False)
