"""Claim outcomes: DRG, AdjRW, coverage, referral charge, derivation; payers per claim.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OUTCOME = (
    ("drg", sa.Text()),
    ("adjrw_e4", sa.BigInteger()),
    ("coverage_fund", sa.Text()),
    ("hmain", sa.Text()),
    ("refer_charge_to", sa.Text()),
    ("refer_charge", sa.BigInteger()),
    ("derivation", sa.Text()),
)


def upgrade() -> None:
    with op.batch_alter_table("claim_version") as batch:
        for name, kind in _OUTCOME:
            batch.add_column(sa.Column(name, kind, nullable=True))
    op.create_table(
        "claim_payer",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("claim_version_id", sa.BigInteger(), nullable=False),
        sa.Column("fund", sa.Text(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["claim_version_id"],
            ["claim_version.id"],
            name=op.f("fk_claim_payer_claim_version_id_claim_version"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claim_payer")),
        sa.UniqueConstraint(
            "claim_version_id", "fund", name=op.f("uq_claim_payer_claim_version_id")
        ),
    )


def downgrade() -> None:
    op.drop_table("claim_payer")
    with op.batch_alter_table("claim_version") as batch:
        for name, _ in reversed(_OUTCOME):
            batch.drop_column(name)
