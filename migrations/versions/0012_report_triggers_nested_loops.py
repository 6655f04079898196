"""PostgreSQL: report triggers on inserts and deletes join by index, not by hashing a table

The statement-level triggers of 0008 join each statement's transition table (the rows just
inserted or deleted, no statistics) to claim, payment or denial. The planner hashed the whole
base table for each statement, so every 1,000-claim COPY of an import scanned every stored
claim: 5 s of a 100,000-claim import, growing with the database. With hash and merge joins off
inside these functions the same joins are nested loops over the primary keys (measured: the
claim and denial COPYs as fast as with the triggers disabled). The update triggers keep the
planner's choice: they join the old and new transition tables to each other, where a nested
loop over a bulk UPDATE's 200,000 rows would be quadratic.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 16:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FUNCTIONS = (
    "report_denial_insert",
    "report_denial_delete",
    "report_appeal_insert",
    "report_appeal_delete",
    "report_claim_insert",
    "report_claim_delete",
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in FUNCTIONS:
        op.execute(f"ALTER FUNCTION {name}() SET enable_hashjoin = off")
        op.execute(f"ALTER FUNCTION {name}() SET enable_mergejoin = off")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in FUNCTIONS:
        op.execute(f"ALTER FUNCTION {name}() RESET enable_hashjoin")
        op.execute(f"ALTER FUNCTION {name}() RESET enable_mergejoin")
