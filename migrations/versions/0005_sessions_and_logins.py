"""server-side sessions and login attempts

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 13:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "user_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("ended_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("end_reason", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("user_session") as batch:
        batch.create_index("ix_user_session_token_hash", ["token_hash"], unique=True)
        batch.create_index("ix_user_session_user_id", ["user_id"], unique=False)
        batch.create_index("ix_user_session_last_seen_at", ["last_seen_at"], unique=False)
    with op.batch_alter_table("user") as batch:
        batch.add_column(
            sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(
            sa.Column("last_failed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
        batch.add_column(
            sa.Column("locked_until", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
        batch.add_column(sa.Column("lockouts", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("loginattempt") as batch:
        batch.add_column(
            sa.Column("known_user", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(
            sa.Column("throttled", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("loginattempt") as batch:
        batch.drop_column("throttled")
        batch.drop_column("known_user")
    with op.batch_alter_table("user") as batch:
        batch.drop_column("lockouts")
        batch.drop_column("locked_until")
        batch.drop_column("last_failed_at")
        batch.drop_column("failed_logins")
    op.drop_table("user_session")
