"""The stored data model (SQLAlchemy 2.0 declarative). Alembic migrations mirror it.

Money columns are integer satang. DRG weights and coefficients are integers in
ten-thousandths (``*_e4``) so that no binary float ever holds a price input.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "Base",
    "BaseRate",
    "ChargeCategory",
    "ClaimCode",
    "ClaimPayer",
    "ClaimVersion",
    "Drg",
    "DrgGrouping",
    "Drop",
    "Drug",
    "FeeSchedule",
    "Fund",
    "Hospital",
    "Icd10",
    "Item",
    "Obligation",
    "OrphanRow",
    "Period",
    "ReferenceTableSource",
    "ReferenceVersion",
    "Registry",
]

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


# --- reference data -------------------------------------------------------------------------


class ReferenceVersion(Base):
    """One immutable load of reference data."""

    __tablename__ = "reference_version"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    label: Mapped[str] = mapped_column(String(200))
    loaded_at: Mapped[dt.datetime] = mapped_column(DateTime)
    source: Mapped[str] = mapped_column(Text)


class ReferenceTableSource(Base):
    """Which version's rows a version uses for one table (partial loads carry tables forward)."""

    __tablename__ = "reference_table_source"
    version_id: Mapped[int] = mapped_column(ForeignKey("reference_version.id"), primary_key=True)
    table_name: Mapped[str] = mapped_column(String(40), primary_key=True)
    source_version_id: Mapped[int] = mapped_column(ForeignKey("reference_version.id"))
    rows: Mapped[int] = mapped_column(BigInteger)


class Hospital(Base):
    __tablename__ = "ref_hospital"
    version_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hcode: Mapped[str] = mapped_column(String(10), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    province: Mapped[str] = mapped_column(String(100))
    type: Mapped[str] = mapped_column(String(3))
    account: Mapped[str] = mapped_column(String(40))
    bank: Mapped[str | None] = mapped_column(String(40))


class Fund(Base):
    __tablename__ = "ref_fund"
    version_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(10), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    precedence: Mapped[int] = mapped_column(Integer)
    cap_per_claim: Mapped[int | None] = mapped_column(BigInteger)
    op_refer: Mapped[bool] = mapped_column(Boolean)
    account: Mapped[str] = mapped_column(String(40))
    bank: Mapped[str | None] = mapped_column(String(40))


class Registry(Base):
    __tablename__ = "ref_registry"
    __table_args__ = (Index("ix_ref_registry_person", "version_id", "person_id"),)
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    version_id: Mapped[int] = mapped_column(Integer)
    person_id: Mapped[str] = mapped_column(String(13))
    fund: Mapped[str] = mapped_column(String(10))
    hmain: Mapped[str | None] = mapped_column(String(10))
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)


class Icd10(Base):
    __tablename__ = "ref_icd10"
    version_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(10), primary_key=True)
    sex: Mapped[str | None] = mapped_column(String(1))
    age_min: Mapped[int | None] = mapped_column(Integer)
    age_max: Mapped[int | None] = mapped_column(Integer)


class ChargeCategory(Base):
    __tablename__ = "ref_charge_category"
    version_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(10), primary_key=True)


class FeeSchedule(Base):
    __tablename__ = "ref_fee_schedule"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    version_id: Mapped[int] = mapped_column(Integer, index=True)
    code: Mapped[str] = mapped_column(String(20))
    unit_price: Mapped[int] = mapped_column(BigInteger)
    drg_exempt: Mapped[bool] = mapped_column(Boolean)
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)


class Drug(Base):
    __tablename__ = "ref_drug"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    version_id: Mapped[int] = mapped_column(Integer, index=True)
    code: Mapped[str] = mapped_column(String(30))
    ceiling_price: Mapped[int] = mapped_column(BigInteger)
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)


class Drg(Base):
    __tablename__ = "ref_drg"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    version_id: Mapped[int] = mapped_column(Integer, index=True)
    drg: Mapped[str] = mapped_column(String(10))
    rw_e4: Mapped[int] = mapped_column(BigInteger)
    rw0d_e4: Mapped[int] = mapped_column(BigInteger)
    wtlos_e4: Mapped[int] = mapped_column(BigInteger)
    ot_e4: Mapped[int] = mapped_column(BigInteger)
    of_e4: Mapped[int] = mapped_column(BigInteger)
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)


class DrgGrouping(Base):
    __tablename__ = "ref_drg_grouping"
    version_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pdx_prefix: Mapped[str] = mapped_column(String(10), primary_key=True)
    procedural: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    drg: Mapped[str] = mapped_column(String(10))


class BaseRate(Base):
    __tablename__ = "ref_base_rate"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    version_id: Mapped[int] = mapped_column(Integer, index=True)
    fund: Mapped[str] = mapped_column(String(10))
    hospital_type: Mapped[str] = mapped_column(String(3))
    care: Mapped[str] = mapped_column(String(20))
    rate: Mapped[int] = mapped_column(BigInteger)
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)


# --- intake ---------------------------------------------------------------------------------


class Period(Base):
    """A calendar month ``YYYY-MM``: ``OPEN`` until closed, then ``SETTLED`` for good."""

    __tablename__ = "period"
    period: Mapped[str] = mapped_column(String(7), primary_key=True)
    status: Mapped[str] = mapped_column(String(10))
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class Drop(Base):
    """One submission, by its hash: ``OK`` (judged) or ``F`` (refused whole)."""

    __tablename__ = "claim_drop"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    hcode: Mapped[str | None] = mapped_column(Text)
    received: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(3))
    code: Mapped[str | None] = mapped_column(String(3))
    message: Mapped[str | None] = mapped_column(Text)
    format: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(BigInteger)
    corrections: Mapped[bool] = mapped_column(Boolean)
    reference_version_id: Mapped[int | None] = mapped_column(Integer)
    rows_read: Mapped[str] = mapped_column(Text)  # JSON {table: rows}
    ignored_files: Mapped[str] = mapped_column(Text)  # JSON [names]
    claims: Mapped[int] = mapped_column(Integer)
    accepted: Mapped[int] = mapped_column(Integer)
    denied: Mapped[int] = mapped_column(Integer)
    rejected: Mapped[int] = mapped_column(Integer)
    charged: Mapped[int] = mapped_column(BigInteger)
    allowed: Mapped[int] = mapped_column(BigInteger)
    ingested_at: Mapped[dt.datetime] = mapped_column(DateTime)


class ClaimVersion(Base):
    """One judged version of a claim identity ``(hcode, claim_type, claim_key)``."""

    __tablename__ = "claim_version"
    __table_args__ = (
        UniqueConstraint("hcode", "claim_type", "claim_key", "version"),
        Index("ix_claim_version_person", "hcode", "person_id"),
        Index("ix_claim_version_period", "period"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    drop_id: Mapped[int] = mapped_column(ForeignKey("claim_drop.id"), index=True)
    # Hospital-supplied values are unbounded: a hostile length must not break the bulk load.
    hcode: Mapped[str] = mapped_column(Text)
    claim_type: Mapped[str] = mapped_column(String(2))
    claim_key: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer)
    person_id: Mapped[str] = mapped_column(Text)
    hn: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(1))
    period: Mapped[str] = mapped_column(String(7))
    received: Mapped[dt.date] = mapped_column(Date)
    correction: Mapped[bool] = mapped_column(Boolean)
    replaces_version: Mapped[int | None] = mapped_column(Integer)
    file: Mapped[str] = mapped_column(Text)
    line: Mapped[int] = mapped_column(Integer)
    service_date: Mapped[dt.date | None] = mapped_column(Date)
    coverage_date: Mapped[dt.date | None] = mapped_column(Date)
    admitted_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    discharged_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    charged: Mapped[int] = mapped_column(BigInteger)
    allowed: Mapped[int] = mapped_column(BigInteger)
    reference_version_id: Mapped[int] = mapped_column(Integer)
    # The outcome (migration 0002): how the amount was reached and who pays.
    drg: Mapped[str | None] = mapped_column(Text)
    adjrw_e4: Mapped[int | None] = mapped_column(BigInteger)
    coverage_fund: Mapped[str | None] = mapped_column(Text)
    hmain: Mapped[str | None] = mapped_column(Text)
    refer_charge_to: Mapped[str | None] = mapped_column(Text)
    refer_charge: Mapped[int | None] = mapped_column(BigInteger)
    derivation: Mapped[str | None] = mapped_column(Text)  # JSON, read by `explain`


class Obligation(Base):
    """An amount owed, payer → payee (``F:<fund>``, ``H:<hcode>``), written once at ingest.

    ``kind`` CLAIM (fund → hospital), REFER (main hospital → fund) or REVERSAL (the payee
    pays back an earlier obligation of a replaced version: ``reverses_id``, at most once).
    Triggers refuse UPDATE and DELETE on both databases (migration 0003).
    """

    __tablename__ = "obligation"
    __table_args__ = (
        UniqueConstraint("reverses_id"),
        Index("ix_obligation_period", "period"),
        Index("ix_obligation_claim_version", "claim_version_id"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    payer: Mapped[str] = mapped_column(Text)
    payee: Mapped[str] = mapped_column(Text)
    amount: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(10))
    claim_version_id: Mapped[int] = mapped_column(ForeignKey("claim_version.id"))
    hcode: Mapped[str] = mapped_column(Text)
    claim_type: Mapped[str] = mapped_column(String(2))
    claim_key: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer)
    period: Mapped[str] = mapped_column(String(7))
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("obligation.id"))
    # The drop that created it (migration 0004): its received date is when it became payable.
    drop_id: Mapped[int | None] = mapped_column(BigInteger, index=True)


# --- settlement (migration 0004: every table here is final, triggers refuse UPDATE/DELETE) ---


class SettlementRun(Base):
    """A settlement run, identified by its cut-off: everything its files need, frozen."""

    __tablename__ = "settlement_run"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    run_id: Mapped[str] = mapped_column(String(35), unique=True)
    kind: Mapped[str] = mapped_column(String(10))  # NIGHTLY or CLOSE
    cutoff: Mapped[str] = mapped_column(String(10), unique=True)
    period: Mapped[str | None] = mapped_column(String(7))  # the closed period (CLOSE)
    created_at: Mapped[str] = mapped_column(String(32))  # ISO with the zone's offset
    run_date: Mapped[dt.date] = mapped_column(Date)
    reference_versions: Mapped[str] = mapped_column(Text)  # JSON [{id, label}]
    directory_version_id: Mapped[int | None] = mapped_column(Integer)
    clearing_name: Mapped[str] = mapped_column(Text)
    clearing_account: Mapped[str] = mapped_column(Text)
    clearing_bank: Mapped[str] = mapped_column(Text)
    high_water: Mapped[int] = mapped_column(BigInteger)  # max obligation id when it ran
    obligations: Mapped[int] = mapped_column(BigInteger)
    gross: Mapped[int] = mapped_column(BigInteger)
    participants: Mapped[int] = mapped_column(Integer)
    transfers: Mapped[int] = mapped_column(Integer)
    control_sum: Mapped[int] = mapped_column(BigInteger)  # Σ transfers out of CH
    files: Mapped[str] = mapped_column(Text)  # JSON {name: sha256 | null}


class RunSpan(Base):
    """The obligations ``first_id..last_id`` (every id between) belong to ``run``.

    Spans never overlap (an exclusion constraint on PostgreSQL, a trigger on SQLite), so an
    obligation is in at most one run.
    """

    __tablename__ = "run_span"
    first_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    last_id: Mapped[int] = mapped_column(BigInteger)
    run: Mapped[int] = mapped_column(ForeignKey("settlement_run.id"), index=True)


class RunPosition(Base):
    """A participant's gross and net position in a run."""

    __tablename__ = "run_position"
    run: Mapped[int] = mapped_column(ForeignKey("settlement_run.id"), primary_key=True)
    participant: Mapped[str] = mapped_column(Text, primary_key=True)
    gross_in: Mapped[int] = mapped_column(BigInteger)
    gross_out: Mapped[int] = mapped_column(BigInteger)
    net: Mapped[int] = mapped_column(BigInteger)


class RunCreditor(Base):
    """The payment details of a run's net creditor, as the payment file names them."""

    __tablename__ = "run_creditor"
    run: Mapped[int] = mapped_column(ForeignKey("settlement_run.id"), primary_key=True)
    participant: Mapped[str] = mapped_column(Text, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    account: Mapped[str] = mapped_column(Text)
    bank: Mapped[str | None] = mapped_column(Text)


class ClaimPayer(Base):
    """A fund's share of an accepted claim version (the CLAIM obligations come from these)."""

    __tablename__ = "claim_payer"
    __table_args__ = (UniqueConstraint("claim_version_id", "fund"),)
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    claim_version_id: Mapped[int] = mapped_column(ForeignKey("claim_version.id"))
    fund: Mapped[str] = mapped_column(Text)
    amount: Mapped[int] = mapped_column(BigInteger)


class Item(Base):
    """A priced line of a claim version: an ADP service or a DRU drug."""

    __tablename__ = "item"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    claim_version_id: Mapped[int] = mapped_column(ForeignKey("claim_version.id"), index=True)
    kind: Mapped[str] = mapped_column(String(3))
    file: Mapped[str] = mapped_column(Text)
    line: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(Text)
    quantity: Mapped[int | None] = mapped_column(BigInteger)
    charged: Mapped[int | None] = mapped_column(BigInteger)
    allowed: Mapped[int] = mapped_column(BigInteger)


class ClaimCode(Base):
    """A rule code raised on a claim version, or on one of its items (``item_id``)."""

    __tablename__ = "claim_code"
    __table_args__ = (Index("ix_claim_code_claim", "claim_version_id"),)
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    claim_version_id: Mapped[int] = mapped_column(ForeignKey("claim_version.id"))
    item_id: Mapped[int | None] = mapped_column(BigInteger)
    code: Mapped[str] = mapped_column(String(3))


class OrphanRow(Base):
    """An input row that belongs to no claim (S05, or an unreadable key: S02)."""

    __tablename__ = "orphan_row"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    drop_id: Mapped[int] = mapped_column(ForeignKey("claim_drop.id"), index=True)
    file: Mapped[str] = mapped_column(Text)
    line: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(3))
