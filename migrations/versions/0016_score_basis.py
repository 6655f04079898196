"""a denial score's basis: the digest of the features and model its probability came from

The daily rescore predicts again only the open denials whose digest differs (200,000 open
denials, one live model: 2.7 s of predicting every row, most of them unchanged since the day
before). Stored scores start without one and are predicted once more.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 16:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("denialscore", sa.Column("basis", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("denialscore") as batch:
        batch.drop_column("basis")
