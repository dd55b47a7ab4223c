"""Initial schema.

Reference data versions and their tables; intake: periods, drops, claim versions, items, codes,
orphan rows.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id() -> sa.Column[int]:
    return sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False)


def _validity() -> list[sa.Column[object]]:
    return [
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
    ]


def upgrade() -> None:
    # --- reference data ---------------------------------------------------------------------
    op.create_table(
        "reference_version",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("loaded_at", sa.DateTime(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reference_version")),
    )
    op.create_table(
        "reference_table_source",
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("table_name", sa.String(length=40), nullable=False),
        sa.Column("source_version_id", sa.Integer(), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_version_id"],
            ["reference_version.id"],
            name=op.f("fk_reference_table_source_source_version_id_reference_version"),
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["reference_version.id"],
            name=op.f("fk_reference_table_source_version_id_reference_version"),
        ),
        sa.PrimaryKeyConstraint("version_id", "table_name", name=op.f("pk_reference_table_source")),
    )
    op.create_table(
        "ref_hospital",
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("hcode", sa.String(length=10), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("province", sa.String(length=100), nullable=False),
        sa.Column("type", sa.String(length=3), nullable=False),
        sa.Column("account", sa.String(length=40), nullable=False),
        sa.Column("bank", sa.String(length=40), nullable=True),
        sa.PrimaryKeyConstraint("version_id", "hcode", name=op.f("pk_ref_hospital")),
    )
    op.create_table(
        "ref_fund",
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=10), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("precedence", sa.Integer(), nullable=False),
        sa.Column("cap_per_claim", sa.BigInteger(), nullable=True),
        sa.Column("op_refer", sa.Boolean(), nullable=False),
        sa.Column("account", sa.String(length=40), nullable=False),
        sa.Column("bank", sa.String(length=40), nullable=True),
        sa.PrimaryKeyConstraint("version_id", "code", name=op.f("pk_ref_fund")),
    )
    op.create_table(
        "ref_registry",
        _id(),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.String(length=13), nullable=False),
        sa.Column("fund", sa.String(length=10), nullable=False),
        sa.Column("hmain", sa.String(length=10), nullable=True),
        *_validity(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ref_registry")),
    )
    op.create_index("ix_ref_registry_person", "ref_registry", ["version_id", "person_id"])
    op.create_table(
        "ref_icd10",
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=10), nullable=False),
        sa.Column("sex", sa.String(length=1), nullable=True),
        sa.Column("age_min", sa.Integer(), nullable=True),
        sa.Column("age_max", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("version_id", "code", name=op.f("pk_ref_icd10")),
    )
    op.create_table(
        "ref_charge_category",
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=10), nullable=False),
        sa.PrimaryKeyConstraint("version_id", "code", name=op.f("pk_ref_charge_category")),
    )
    op.create_table(
        "ref_fee_schedule",
        _id(),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("unit_price", sa.BigInteger(), nullable=False),
        sa.Column("drg_exempt", sa.Boolean(), nullable=False),
        *_validity(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ref_fee_schedule")),
    )
    op.create_index(op.f("ix_ref_fee_schedule_version_id"), "ref_fee_schedule", ["version_id"])
    op.create_table(
        "ref_drug",
        _id(),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=30), nullable=False),
        sa.Column("ceiling_price", sa.BigInteger(), nullable=False),
        *_validity(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ref_drug")),
    )
    op.create_index(op.f("ix_ref_drug_version_id"), "ref_drug", ["version_id"])
    op.create_table(
        "ref_drg",
        _id(),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("drg", sa.String(length=10), nullable=False),
        sa.Column("rw_e4", sa.BigInteger(), nullable=False),
        sa.Column("rw0d_e4", sa.BigInteger(), nullable=False),
        sa.Column("wtlos_e4", sa.BigInteger(), nullable=False),
        sa.Column("ot_e4", sa.BigInteger(), nullable=False),
        sa.Column("of_e4", sa.BigInteger(), nullable=False),
        *_validity(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ref_drg")),
    )
    op.create_index(op.f("ix_ref_drg_version_id"), "ref_drg", ["version_id"])
    op.create_table(
        "ref_drg_grouping",
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("pdx_prefix", sa.String(length=10), nullable=False),
        sa.Column("procedural", sa.Boolean(), nullable=False),
        sa.Column("drg", sa.String(length=10), nullable=False),
        sa.PrimaryKeyConstraint(
            "version_id", "pdx_prefix", "procedural", name=op.f("pk_ref_drg_grouping")
        ),
    )
    op.create_table(
        "ref_base_rate",
        _id(),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("fund", sa.String(length=10), nullable=False),
        sa.Column("hospital_type", sa.String(length=3), nullable=False),
        sa.Column("care", sa.String(length=20), nullable=False),
        sa.Column("rate", sa.BigInteger(), nullable=False),
        *_validity(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ref_base_rate")),
    )
    op.create_index(op.f("ix_ref_base_rate_version_id"), "ref_base_rate", ["version_id"])

    # --- intake -----------------------------------------------------------------------------
    op.create_table(
        "period",
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("period", name=op.f("pk_period")),
    )
    op.create_table(
        "claim_drop",
        _id(),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("hcode", sa.Text(), nullable=True),
        sa.Column("received", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=3), nullable=False),
        sa.Column("code", sa.String(length=3), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("format", sa.String(length=20), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("corrections", sa.Boolean(), nullable=False),
        sa.Column("reference_version_id", sa.Integer(), nullable=True),
        sa.Column("rows_read", sa.Text(), nullable=False),
        sa.Column("ignored_files", sa.Text(), nullable=False),
        sa.Column("claims", sa.Integer(), nullable=False),
        sa.Column("accepted", sa.Integer(), nullable=False),
        sa.Column("denied", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("charged", sa.BigInteger(), nullable=False),
        sa.Column("allowed", sa.BigInteger(), nullable=False),
        sa.Column("ingested_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claim_drop")),
        sa.UniqueConstraint("sha256", name=op.f("uq_claim_drop_sha256")),
    )
    op.create_table(
        "claim_version",
        _id(),
        sa.Column("drop_id", sa.BigInteger(), nullable=False),
        sa.Column("hcode", sa.Text(), nullable=False),
        sa.Column("claim_type", sa.String(length=2), nullable=False),
        sa.Column("claim_key", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Text(), nullable=False),
        sa.Column("hn", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=1), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("received", sa.Date(), nullable=False),
        sa.Column("correction", sa.Boolean(), nullable=False),
        sa.Column("replaces_version", sa.Integer(), nullable=True),
        sa.Column("file", sa.Text(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("service_date", sa.Date(), nullable=True),
        sa.Column("coverage_date", sa.Date(), nullable=True),
        sa.Column("admitted_at", sa.DateTime(), nullable=True),
        sa.Column("discharged_at", sa.DateTime(), nullable=True),
        sa.Column("charged", sa.BigInteger(), nullable=False),
        sa.Column("allowed", sa.BigInteger(), nullable=False),
        sa.Column("reference_version_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["drop_id"], ["claim_drop.id"], name=op.f("fk_claim_version_drop_id_claim_drop")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claim_version")),
        sa.UniqueConstraint(
            "hcode", "claim_type", "claim_key", "version", name=op.f("uq_claim_version_hcode")
        ),
    )
    op.create_index(op.f("ix_claim_version_drop_id"), "claim_version", ["drop_id"])
    op.create_index("ix_claim_version_period", "claim_version", ["period"])
    op.create_index("ix_claim_version_person", "claim_version", ["hcode", "person_id"])
    op.create_table(
        "item",
        _id(),
        sa.Column("claim_version_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=3), nullable=False),
        sa.Column("file", sa.Text(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=True),
        sa.Column("charged", sa.BigInteger(), nullable=True),
        sa.Column("allowed", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["claim_version_id"],
            ["claim_version.id"],
            name=op.f("fk_item_claim_version_id_claim_version"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_item")),
    )
    op.create_index(op.f("ix_item_claim_version_id"), "item", ["claim_version_id"])
    op.create_table(
        "claim_code",
        _id(),
        sa.Column("claim_version_id", sa.BigInteger(), nullable=False),
        sa.Column("item_id", sa.BigInteger(), nullable=True),
        sa.Column("code", sa.String(length=3), nullable=False),
        sa.ForeignKeyConstraint(
            ["claim_version_id"],
            ["claim_version.id"],
            name=op.f("fk_claim_code_claim_version_id_claim_version"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claim_code")),
    )
    op.create_index("ix_claim_code_claim", "claim_code", ["claim_version_id"])
    op.create_table(
        "orphan_row",
        _id(),
        sa.Column("drop_id", sa.BigInteger(), nullable=False),
        sa.Column("file", sa.Text(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=3), nullable=False),
        sa.ForeignKeyConstraint(
            ["drop_id"], ["claim_drop.id"], name=op.f("fk_orphan_row_drop_id_claim_drop")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orphan_row")),
    )
    op.create_index(op.f("ix_orphan_row_drop_id"), "orphan_row", ["drop_id"])


def downgrade() -> None:
    for table in (
        "orphan_row",
        "claim_code",
        "item",
        "claim_version",
        "claim_drop",
        "period",
        "ref_base_rate",
        "ref_drg_grouping",
        "ref_drg",
        "ref_drug",
        "ref_fee_schedule",
        "ref_charge_category",
        "ref_icd10",
        "ref_registry",
        "ref_fund",
        "ref_hospital",
        "reference_table_source",
        "reference_version",
    ):
        op.drop_table(table)  # its indexes go with it
