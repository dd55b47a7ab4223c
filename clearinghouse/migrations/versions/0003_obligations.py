"""Obligations: every amount owed, written once at ingest and never updated or deleted.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PG_FUNCTION = """
CREATE FUNCTION obligation_immutable() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'obligations are never updated or deleted (%)', TG_OP;
END;
$$ LANGUAGE plpgsql
"""


def upgrade() -> None:
    op.create_table(
        "obligation",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("payer", sa.Text(), nullable=False),
        sa.Column("payee", sa.Text(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("claim_version_id", sa.BigInteger(), nullable=False),
        sa.Column("hcode", sa.Text(), nullable=False),
        sa.Column("claim_type", sa.String(length=2), nullable=False),
        sa.Column("claim_key", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("reverses_id", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["claim_version_id"],
            ["claim_version.id"],
            name=op.f("fk_obligation_claim_version_id_claim_version"),
        ),
        sa.ForeignKeyConstraint(
            ["reverses_id"], ["obligation.id"], name=op.f("fk_obligation_reverses_id_obligation")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_obligation")),
        sa.UniqueConstraint("reverses_id", name=op.f("uq_obligation_reverses_id")),
    )
    op.create_index("ix_obligation_period", "obligation", ["period"])
    op.create_index("ix_obligation_claim_version", "obligation", ["claim_version_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_FUNCTION)
        op.execute(
            "CREATE TRIGGER obligation_immutable BEFORE UPDATE OR DELETE ON obligation "
            "FOR EACH ROW EXECUTE FUNCTION obligation_immutable()"
        )
        op.execute(
            "CREATE TRIGGER obligation_no_truncate BEFORE TRUNCATE ON obligation "
            "FOR EACH STATEMENT EXECUTE FUNCTION obligation_immutable()"
        )
    else:
        for operation in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER obligation_no_{operation.lower()} BEFORE {operation} ON "
                f"obligation BEGIN SELECT RAISE(ABORT, 'obligations are never updated or "
                f"deleted ({operation})'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS obligation_no_truncate ON obligation")
        op.execute("DROP TRIGGER IF EXISTS obligation_immutable ON obligation")
        op.execute("DROP FUNCTION IF EXISTS obligation_immutable()")
    op.drop_table("obligation")
