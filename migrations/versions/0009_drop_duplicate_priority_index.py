"""drop ix_denial_priority: ix_denial_queue_priority (priority, id) serves every priority lookup

A full rescore rewrites the priority of most open denials; maintaining both indexes made that
write about 40% slower on SQLite.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 15:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_denial_priority", table_name="denial")


def downgrade() -> None:
    op.create_index("ix_denial_priority", "denial", ["priority"], unique=False)
