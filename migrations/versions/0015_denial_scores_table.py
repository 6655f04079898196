"""denial scores in a narrow table of their own (denialscore), sharing the denial's id

A rescore rewrites the scores of up to every open denial. Kept on the wide denial row, each
update on PostgreSQL was a new version of the whole row with an entry in every one of its
indexes (the priority index held a score column, so none was a heap-only update), and the
report triggers read all of them to find no report column changed: the same 200,000-row
update took 22.0 s there against 2.2-2.7 s into this table. The queue's priority index moves
with the column.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 08:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import appeals.models

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCORE_COLUMNS = ("probability", "ranker", "stake", "expected_recovery", "priority", "explanation")


def _columns(filled: bool = False) -> list[sa.Column]:  # type: ignore[type-arg]
    """The score columns; `filled`: with defaults, to add them back to stored denials."""
    text, number = (sa.text("''"), sa.text("0")) if filled else (None, None)
    return [
        sa.Column("probability", sa.Float(), nullable=True),
        sa.Column(
            "ranker", sqlmodel.sql.sqltypes.AutoString(), nullable=False, server_default=text
        ),
        sa.Column("stake", appeals.models.Money(), nullable=True),
        sa.Column("expected_recovery", appeals.models.Money(), nullable=True),
        sa.Column("priority", sa.Float(), nullable=False, server_default=number),
        sa.Column(
            "explanation", sqlmodel.sql.sqltypes.AutoString(), nullable=False, server_default=text
        ),
    ]


def upgrade() -> None:
    op.create_table(
        "denialscore",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        *_columns(),
        sa.ForeignKeyConstraint(["id"], ["denial.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    listed = ", ".join(("id", *SCORE_COLUMNS))
    op.execute(f"INSERT INTO denialscore ({listed}) SELECT {listed} FROM denial")
    op.create_index("ix_denialscore_queue_priority", "denialscore", ["priority", "id"])
    op.drop_index("ix_denial_queue_priority", table_name="denial")
    # Column by column, never `batch_alter_table`: on SQLite that copies the table into a new
    # one, which would drop the report triggers on it (SQLite 3.35+ drops a column in place).
    for name in SCORE_COLUMNS:
        op.drop_column("denial", name)


def downgrade() -> None:
    for column in _columns(filled=True):
        op.add_column("denial", column)
    filled = {"ranker": "''", "priority": "0", "explanation": "''"}  # the NOT NULL ones
    assignments = ", ".join(
        f"{name} = COALESCE((SELECT s.{name} FROM denialscore s WHERE s.id = denial.id), "
        f"{filled.get(name, 'NULL')})"
        for name in SCORE_COLUMNS
    )
    op.execute(f"UPDATE denial SET {assignments}")
    op.create_index("ix_denial_queue_priority", "denial", ["priority", "id"])
    op.drop_index("ix_denialscore_queue_priority", table_name="denialscore")
    op.drop_table("denialscore")
