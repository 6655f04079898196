"""report aggregates maintained on import, outcome and reversal

Monthly summary tables for the report pages, and triggers that mark a (practice, basis, month)
cell stale in the same transaction as any write to its denials, appeals or claims: imports
(bulk executemany and PostgreSQL COPY alike), outcomes, reversals, history imports, status
changes and deadline moves all go through them, so no write path can forget. Every existing
cell starts stale: the first report request computes them.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 13:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import appeals.models

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Money = appeals.models.Money
String = sqlmodel.sql.sqltypes.AutoString

# Denial columns a report reads: a change to any of them makes the denial's cells stale.
DENIAL_COLUMNS = (
    "practice_id", "payer_id", "claim_id", "procedure_code", "service_date", "denied_on",
    "group_code", "carc", "rarc", "category", "denied_amount", "status", "assignee_id",
    "deadline", "recovered_amount", "closed_at", "closed_by_claim_id",
)  # fmt: skip
APPEAL_COLUMNS = (
    "denial_id", "level", "submitted_on", "outcome", "recovered_amount", "closed_on", "source",
    "sent_by_id",
)  # fmt: skip
TRIGGERS = (
    ("denial", ("insert", "update", "delete")),
    ("appeal", ("insert", "update", "delete")),
    ("claim", ("insert", "delete")),
)


def _cell_columns() -> list[sa.Column]:  # type: ignore[type-arg]
    return [
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("practice_id", sa.Integer(), nullable=False),
        sa.Column("basis", String(), nullable=False),
        sa.Column("month", String(), nullable=False),
    ]


def _sqlite_month(column: str) -> str:
    return f"coalesce(substr({column}, 1, 7), '')"


def _sqlite_triggers() -> list[str]:
    def denial_cells(row: str) -> str:
        return (
            "INSERT OR IGNORE INTO report_stale (practice_id, basis, month, kind) VALUES "
            f"({row}.practice_id, 'denied', {_sqlite_month(row + '.denied_on')}, 'denial'), "
            f"({row}.practice_id, 'service', {_sqlite_month(row + '.service_date')}, 'denial');"
        )

    def claim_cells(claim_id: str) -> str:
        return (
            "INSERT OR IGNORE INTO report_stale (practice_id, basis, month, kind) "
            f"SELECT c.practice_id, 'service', {_sqlite_month('c.service_date')}, 'claim' "
            f"FROM claim c WHERE c.id = {claim_id} UNION ALL "
            f"SELECT c.practice_id, 'denied', {_sqlite_month('p.payment_date')}, 'claim' FROM claim c "
            f"JOIN payment p ON p.id = c.payment_id WHERE c.id = {claim_id};"
        )

    def appeal_cells(row: str) -> str:
        return (
            "INSERT OR IGNORE INTO report_stale (practice_id, basis, month, kind) "
            f"SELECT practice_id, 'denied', {_sqlite_month('denied_on')}, 'denial' FROM denial "
            f"WHERE id = {row}.denial_id UNION ALL "
            f"SELECT practice_id, 'service', {_sqlite_month('service_date')}, 'denial' FROM denial "
            f"WHERE id = {row}.denial_id;"
        )

    def changed(columns: Sequence[str]) -> str:
        return " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in columns)

    return [
        "CREATE TRIGGER report_denial_insert AFTER INSERT ON denial BEGIN "
        f"{denial_cells('NEW')} {claim_cells('NEW.claim_id')} END",
        f"CREATE TRIGGER report_denial_update AFTER UPDATE OF {', '.join(DENIAL_COLUMNS)} "
        f"ON denial WHEN {changed(DENIAL_COLUMNS)} BEGIN "
        f"{denial_cells('OLD')} {denial_cells('NEW')} END",
        "CREATE TRIGGER report_denial_delete AFTER DELETE ON denial BEGIN "
        f"{denial_cells('OLD')} {claim_cells('OLD.claim_id')} END",
        f"CREATE TRIGGER report_appeal_insert AFTER INSERT ON appeal BEGIN {appeal_cells('NEW')} END",
        f"CREATE TRIGGER report_appeal_update AFTER UPDATE OF {', '.join(APPEAL_COLUMNS)} "
        f"ON appeal WHEN {changed(APPEAL_COLUMNS)} BEGIN "
        f"{appeal_cells('OLD')} {appeal_cells('NEW')} END",
        f"CREATE TRIGGER report_appeal_delete AFTER DELETE ON appeal BEGIN {appeal_cells('OLD')} END",
        "CREATE TRIGGER report_claim_insert AFTER INSERT ON claim BEGIN "
        f"{claim_cells('NEW.id')} END",
        # After a delete the claim row is gone: mark from the old row and its payment.
        "CREATE TRIGGER report_claim_delete BEFORE DELETE ON claim BEGIN "
        f"{claim_cells('OLD.id')} END",
    ]


def _pg_month(column: str) -> str:
    return f"coalesce(to_char({column}, 'YYYY-MM'), '')"


def _postgres_triggers() -> list[str]:
    """Statement-level triggers with transition tables: one INSERT per statement, so a COPY
    of 200,000 denials marks its few cells once."""

    def denial_cells(rows: str) -> str:
        return (
            f"SELECT practice_id, 'denied', {_pg_month('denied_on')}, 'denial' FROM {rows} UNION "
            f"SELECT practice_id, 'service', {_pg_month('service_date')}, 'denial' FROM {rows}"
        )

    def claim_cells(rows: str, key: str) -> str:
        return (
            f"SELECT c.practice_id, 'service', {_pg_month('c.service_date')}, 'claim' FROM {rows} r "
            f"JOIN claim c ON c.id = r.{key} UNION "
            f"SELECT c.practice_id, 'denied', {_pg_month('p.payment_date')}, 'claim' FROM {rows} r "
            f"JOIN claim c ON c.id = r.{key} JOIN payment p ON p.id = c.payment_id"
        )

    def appeal_cells(rows: str) -> str:
        return (
            f"SELECT d.practice_id, 'denied', {_pg_month('d.denied_on')}, 'denial' FROM {rows} r "
            f"JOIN denial d ON d.id = r.denial_id UNION "
            f"SELECT d.practice_id, 'service', {_pg_month('d.service_date')}, 'denial' FROM {rows} r "
            f"JOIN denial d ON d.id = r.denial_id"
        )

    def changed_rows(columns: Sequence[str]) -> str:
        old = ", ".join(f"o.{c}" for c in columns)
        new = ", ".join(f"n.{c}" for c in columns)
        return f"(SELECT o.* FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE ({old}) IS DISTINCT FROM ({new}))"

    def changed_new(columns: Sequence[str]) -> str:
        old = ", ".join(f"o.{c}" for c in columns)
        new = ", ".join(f"n.{c}" for c in columns)
        return f"(SELECT n.* FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE ({old}) IS DISTINCT FROM ({new}))"

    bodies = {
        "denial_insert": f"{denial_cells('new_rows')} UNION {claim_cells('new_rows', 'claim_id')}",
        "denial_update": f"{denial_cells(changed_rows(DENIAL_COLUMNS) + ' x')} UNION "
        f"{denial_cells(changed_new(DENIAL_COLUMNS) + ' y')}",
        "denial_delete": f"{denial_cells('old_rows')} UNION {claim_cells('old_rows', 'claim_id')}",
        "appeal_insert": appeal_cells("new_rows"),
        "appeal_update": f"{appeal_cells(changed_rows(APPEAL_COLUMNS))} UNION "
        f"{appeal_cells(changed_new(APPEAL_COLUMNS))}",
        "appeal_delete": appeal_cells("old_rows"),
        "claim_insert": claim_cells("new_rows", "id"),
        # After a statement's deletes the claims are gone: mark from the old rows' own columns.
        "claim_delete": f"SELECT practice_id, 'service', {_pg_month('service_date')}, 'claim' "
        f"FROM old_rows UNION SELECT r.practice_id, 'denied', {_pg_month('p.payment_date')}, "
        "'claim' FROM old_rows r "
        "JOIN payment p ON p.id = r.payment_id",
    }
    statements = []
    for table, events in TRIGGERS:
        for event in events:
            name = f"report_{table}_{event}"
            tables = {
                "insert": "NEW TABLE AS new_rows",
                "update": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
                "delete": "OLD TABLE AS old_rows",
            }[event]
            statements.append(
                f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                "INSERT INTO report_stale (practice_id, basis, month, kind) "
                f"SELECT * FROM ({bodies[f'{table}_{event}']}) cells "
                "ON CONFLICT DO NOTHING; RETURN NULL; END $$"
            )
            statements.append(
                f"CREATE TRIGGER {name} AFTER {event.upper()} ON {table} REFERENCING {tables} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION {name}()"
            )
    return statements


def _mark_everything(dialect: str) -> str:
    month = _pg_month if dialect == "postgresql" else _sqlite_month
    return (
        "INSERT INTO report_stale (practice_id, basis, month, kind) "
        f"SELECT DISTINCT practice_id, 'denied', {month('denied_on')}, 'denial' FROM denial UNION "
        f"SELECT DISTINCT practice_id, 'service', {month('service_date')}, 'denial' FROM denial "
        f"UNION SELECT DISTINCT c.practice_id, 'denied', {month('p.payment_date')}, 'claim' "
        "FROM claim c JOIN payment p ON p.id = c.payment_id UNION "
        f"SELECT DISTINCT practice_id, 'service', {month('service_date')}, 'claim' FROM claim"
    )


def upgrade() -> None:
    op.create_table(
        "report_stale",
        sa.Column("practice_id", sa.Integer(), nullable=False),
        sa.Column("basis", String(), nullable=False),
        sa.Column("month", String(), nullable=False),
        sa.Column("kind", String(), nullable=False),
        sa.PrimaryKeyConstraint("practice_id", "basis", "month", "kind"),
    )
    op.create_table(
        "report_cell",
        sa.Column("practice_id", sa.Integer(), nullable=False),
        sa.Column("basis", String(), nullable=False),
        sa.Column("month", String(), nullable=False),
        sa.Column("first_day", sa.Date(), nullable=True),
        sa.Column("last_day", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("practice_id", "basis", "month"),
    )
    op.create_table(
        "report_denial",
        *_cell_columns(),
        sa.Column("payer_id", sa.Integer(), nullable=True),
        sa.Column("provider", String(), nullable=True),
        sa.Column("dim", String(), nullable=False),
        sa.Column("key", String(), nullable=False),
        sa.Column("label", String(), nullable=False),
        sa.Column("denials", sa.Integer(), nullable=False),
        *(
            sa.Column(name, Money(), nullable=False)
            for name in ("denied", "recovered", "still_open", "lost", "expired", "written_off")
        ),
        sa.Column("expired_count", sa.Integer(), nullable=False),
        sa.Column("won_count", sa.Integer(), nullable=False),
        sa.Column("closed_count", sa.Integer(), nullable=False),
        sa.Column("open_count", sa.Integer(), nullable=False),
        *(
            sa.Column(name, Money(), nullable=False)
            for name in ("open_amount", "within_30", "within_60", "within_90", "within_180")
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_report_denial_cell", "report_denial", ["practice_id", "basis", "dim", "month"]
    )
    op.create_table(
        "report_returned",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("practice_id", sa.Integer(), nullable=False),
        sa.Column("month", String(), nullable=False),
        sa.Column("payer_id", sa.Integer(), nullable=False),
        sa.Column("provider", String(), nullable=False),
        sa.Column("back_month", String(), nullable=False),
        sa.Column("denials", sa.Integer(), nullable=False),
        sa.Column("recovered", Money(), nullable=False),
        sa.Column("first_back", sa.Date(), nullable=True),
        sa.Column("last_back", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_report_returned_month", "report_returned", ["month"])
    op.create_index("ix_report_returned_back", "report_returned", ["back_month", "practice_id"])
    op.create_table(
        "report_appeal",
        *_cell_columns(),
        sa.Column("payer_id", sa.Integer(), nullable=False),
        sa.Column("provider", String(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("outcome", String(), nullable=False),
        sa.Column("appeals", sa.Integer(), nullable=False),
        sa.Column("recovered", Money(), nullable=False),
        sa.Column("stake", Money(), nullable=False),
        sa.Column("days", String(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_report_appeal_cell", "report_appeal", ["practice_id", "basis", "month"])
    op.create_table(
        "report_team",
        *_cell_columns(),
        sa.Column("payer_id", sa.Integer(), nullable=False),
        sa.Column("provider", String(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        *(sa.Column(n, sa.Integer(), nullable=False) for n in ("worked", "sent", "decided", "won")),
        sa.Column("recovered", Money(), nullable=False),
        sa.Column("by_835", Money(), nullable=False),
        sa.Column("days", String(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_report_team_cell", "report_team", ["practice_id", "basis", "month"])
    op.create_table(
        "report_remit",
        *_cell_columns(),
        sa.Column("payer_id", sa.Integer(), nullable=False),
        sa.Column("provider", String(), nullable=False),
        sa.Column("paid", Money(), nullable=False),
        sa.Column("charges", Money(), nullable=False),
        sa.Column("claims", sa.Integer(), nullable=False),
        sa.Column("contractual", Money(), nullable=False),
        sa.Column("lines", sa.Integer(), nullable=False),
        sa.Column("line_charges", Money(), nullable=False),
        sa.Column("first_claims", sa.Integer(), nullable=False),
        sa.Column("resolved", sa.Integer(), nullable=False),
        sa.Column("days", String(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_report_remit_cell", "report_remit", ["practice_id", "basis", "month"])
    op.create_index(
        "ix_denial_reason_newest", "denial", ["group_code", "carc", "rarc", "id"], unique=False
    )
    dialect = op.get_bind().dialect.name
    statements = _postgres_triggers() if dialect == "postgresql" else _sqlite_triggers()
    for statement in statements:
        op.execute(statement)
    op.execute(_mark_everything(dialect))


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table, events in TRIGGERS:
        for event in events:
            name = f"report_{table}_{event}"
            if dialect == "postgresql":
                op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
                op.execute(f"DROP FUNCTION IF EXISTS {name}()")
            else:
                op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.execute("DROP INDEX IF EXISTS ix_denial_reason_newest")
    for table in (
        "report_remit", "report_team", "report_appeal", "report_returned", "report_denial",
        "report_cell", "report_stale",
    ):  # fmt: skip
        op.drop_table(table)
