"""Settlement runs: the run, its members (as id spans), positions and creditors, all immutable.

Also names on every obligation the drop that created it (``drop_id``; the correction's drop for a
REVERSAL): its received date is when the obligation became payable (the nightly cut-off), its
reference version priced it, and an auditor traces the obligation to that acknowledgement.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FROZEN = ("settlement_run", "run_span", "run_position", "run_creditor")

_PG_FUNCTION = """
CREATE FUNCTION settlement_immutable() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'settlement runs are final: % on % refused', TG_OP, TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql
"""


def upgrade() -> None:
    op.add_column("obligation", sa.Column("drop_id", sa.BigInteger(), nullable=True))
    op.create_index("ix_obligation_drop", "obligation", ["drop_id"])
    op.create_table(
        "settlement_run",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("run_id", sa.String(length=35), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("cutoff", sa.String(length=10), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=True),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.Column("run_date", sa.Date(), nullable=False),
        sa.Column("reference_versions", sa.Text(), nullable=False),
        sa.Column("directory_version_id", sa.Integer(), nullable=True),
        sa.Column("clearing_name", sa.Text(), nullable=False),
        sa.Column("clearing_account", sa.Text(), nullable=False),
        sa.Column("clearing_bank", sa.Text(), nullable=False),
        sa.Column("high_water", sa.BigInteger(), nullable=False),
        sa.Column("obligations", sa.BigInteger(), nullable=False),
        sa.Column("gross", sa.BigInteger(), nullable=False),
        sa.Column("participants", sa.Integer(), nullable=False),
        sa.Column("transfers", sa.Integer(), nullable=False),
        sa.Column("control_sum", sa.BigInteger(), nullable=False),
        sa.Column("files", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settlement_run")),
        sa.UniqueConstraint("run_id", name=op.f("uq_settlement_run_run_id")),
        sa.UniqueConstraint("cutoff", name=op.f("uq_settlement_run_cutoff")),
    )
    op.create_table(
        "run_span",
        sa.Column("first_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("last_id", sa.BigInteger(), nullable=False),
        sa.Column("run", sa.Integer(), nullable=False),
        sa.CheckConstraint("first_id <= last_id", name=op.f("ck_run_span_ordered")),
        sa.ForeignKeyConstraint(
            ["run"], ["settlement_run.id"], name=op.f("fk_run_span_run_settlement_run")
        ),
        sa.PrimaryKeyConstraint("first_id", name=op.f("pk_run_span")),
    )
    op.create_index("ix_run_span_run", "run_span", ["run"])
    op.create_table(
        "run_position",
        sa.Column("run", sa.Integer(), nullable=False),
        sa.Column("participant", sa.Text(), nullable=False),
        sa.Column("gross_in", sa.BigInteger(), nullable=False),
        sa.Column("gross_out", sa.BigInteger(), nullable=False),
        sa.Column("net", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run"], ["settlement_run.id"], name=op.f("fk_run_position_run_settlement_run")
        ),
        sa.PrimaryKeyConstraint("run", "participant", name=op.f("pk_run_position")),
    )
    op.create_table(
        "run_creditor",
        sa.Column("run", sa.Integer(), nullable=False),
        sa.Column("participant", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("account", sa.Text(), nullable=False),
        sa.Column("bank", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["run"], ["settlement_run.id"], name=op.f("fk_run_creditor_run_settlement_run")
        ),
        sa.PrimaryKeyConstraint("run", "participant", name=op.f("pk_run_creditor")),
    )
    if op.get_bind().dialect.name == "postgresql":
        # An obligation is in at most one run: spans never overlap.
        op.execute(
            "ALTER TABLE run_span ADD CONSTRAINT ex_run_span_overlap EXCLUDE USING gist "
            "(int8range(first_id, last_id, '[]') WITH &&)"
        )
        op.execute(_PG_FUNCTION)
        for table in _FROZEN:
            op.execute(
                f"CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION settlement_immutable()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION settlement_immutable()"
            )
    else:
        op.execute(
            "CREATE TRIGGER run_span_no_overlap BEFORE INSERT ON run_span WHEN EXISTS "
            "(SELECT 1 FROM run_span s WHERE s.first_id <= NEW.last_id "
            "AND NEW.first_id <= s.last_id) "
            "BEGIN SELECT RAISE(ABORT, 'an obligation is in at most one run: spans overlap'); END"
        )
        for table in _FROZEN:
            for operation in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{operation.lower()} BEFORE {operation} ON "
                    f"{table} BEGIN SELECT RAISE(ABORT, 'settlement runs are final: "
                    f"{operation} on {table} refused'); END"
                )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in _FROZEN:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_immutable ON {table}")
        op.execute("DROP FUNCTION IF EXISTS settlement_immutable()")
    for table in reversed(_FROZEN):
        op.drop_table(table)
    op.drop_index("ix_obligation_drop", "obligation")
    op.drop_column("obligation", "drop_id")
