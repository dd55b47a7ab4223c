"""Canonical schemas: every frame that crosses a module boundary is declared here.

The readers in ``formats/`` produce *raw table frames*: one frame per recognized table, every
read column as a ``String`` trimmed of surrounding blanks (and, in the 16 files, one pair of
quotes; empty string for an empty or missing field), plus the position columns ``file`` (the
file's name inside the drop), ``line`` (1-based physical line, the header being its own line)
and ``s01`` (the row had more or fewer fields than its header or the format's field list).
Parsing, linking and judging are set-based stages in ``clearinghouse/``.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

__all__ = [
    "CLAIM_ID",
    "CLAIM_TABLES",
    "ITEM_KEY",
    "POSITION_COLUMNS",
    "REFERENCE_SCHEMAS",
    "REFERENCE_TABLES",
    "TABLES",
    "TableSpec",
    "raw_schema",
]


@dataclass(frozen=True, slots=True)
class TableSpec:
    """One table of the 16-file format: the columns read, which must exist, which may."""

    name: str
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()

    @property
    def columns(self) -> tuple[str, ...]:
        return self.required + self.optional


TABLES: dict[str, TableSpec] = {
    spec.name: spec
    for spec in (
        TableSpec("INS", ("HN", "INSCL", "CID", "HOSPMAIN", "AN", "SEQ")),
        TableSpec("PAT", ("HCODE", "HN", "DOB", "SEX", "NATION", "PERSON_ID")),
        TableSpec("OPD", ("HN", "CLINIC", "DATEOPD", "TIMEOPD", "SEQ")),
        TableSpec(
            "IPD",
            ("HN", "AN", "DATEADM", "TIMEADM", "DATEDSC", "TIMEDSC", "DISCHS", "DISCHT"),
        ),
        TableSpec("ODX", ("SEQ", "DIAG", "DXTYPE"), ("AN",)),
        TableSpec("IDX", ("AN", "DIAG", "DXTYPE"), ("SEQ",)),
        TableSpec("OOP", ("SEQ", "OPER"), ("AN",)),
        TableSpec("IOP", ("AN", "OPER"), ("SEQ",)),
        TableSpec("CHT", ("HN", "AN", "SEQ", "DATE", "TOTAL")),
        TableSpec("CHA", ("HN", "AN", "SEQ", "CHRGITEM", "AMOUNT")),
        TableSpec("ADP", ("HN", "AN", "SEQ", "TYPE", "CODE", "QTY", "RATE", "TOTAL")),
        TableSpec("DRU", ("HCODE", "HN", "AN", "SEQ", "DIDSTD", "AMOUNT", "DRUGPRIC", "TOTAL")),
        TableSpec("AER", ("HN", "AN", "SEQ", "UCAE", "AETYPE")),
        TableSpec("ORF", ("SEQ", "REFER"), ("AN",)),
        TableSpec("IRF", ("AN", "REFER"), ("SEQ",)),
        TableSpec("LVD", ("AN", "QTYDAY"), ("SEQ",)),
    )
}

#: Tables whose rows are claims (the others are details linked to them).
CLAIM_TABLES = ("OPD", "IPD")

#: Every raw table frame ends with these columns.
POSITION_COLUMNS: dict[str, pl.DataType] = {
    "file": pl.String(),
    "line": pl.Int64(),
    "s01": pl.Boolean(),
}


def raw_schema(table: str) -> pl.Schema:
    """The schema of a raw table frame: every column of the table as String, then positions.

    Optional columns absent from a file are present in the frame, filled with ``""``.
    """
    spec = TABLES[table]
    cols: dict[str, pl.DataType] = {c: pl.String() for c in spec.columns}
    cols.update(POSITION_COLUMNS)
    return pl.Schema(cols)


#: The identity of a claim within a drop (the hospital is the drop's), and of an item.
CLAIM_ID = ["claim_type", "claim_key"]
ITEM_KEY = [*CLAIM_ID, "file", "line"]


#: Reference tables as frames, one per CSV of the reference-data layout (pricing_routing.md).
#: Money in satang, DRG decimals in ten-thousandths (``*_e4``), empty ``valid_to`` = null.
REFERENCE_SCHEMAS: dict[str, pl.Schema] = {
    "hospitals": pl.Schema(
        {
            "hcode": pl.String(),
            "name": pl.String(),
            "province": pl.String(),
            "type": pl.String(),
            "account": pl.String(),
            "bank": pl.String(),
        }
    ),
    "funds": pl.Schema(
        {
            "code": pl.String(),
            "name": pl.String(),
            "precedence": pl.Int64(),
            "cap_per_claim": pl.Int64(),
            "op_refer": pl.Boolean(),
            "account": pl.String(),
            "bank": pl.String(),
        }
    ),
    "registry": pl.Schema(
        {
            "person_id": pl.String(),
            "fund": pl.String(),
            "hmain": pl.String(),
            "valid_from": pl.Date(),
            "valid_to": pl.Date(),
        }
    ),
    "icd10": pl.Schema(
        {"code": pl.String(), "sex": pl.String(), "age_min": pl.Int64(), "age_max": pl.Int64()}
    ),
    "charge_categories": pl.Schema({"code": pl.String()}),
    "fee_schedule": pl.Schema(
        {
            "code": pl.String(),
            "unit_price": pl.Int64(),
            "drg_exempt": pl.Boolean(),
            "valid_from": pl.Date(),
            "valid_to": pl.Date(),
        }
    ),
    "drugs": pl.Schema(
        {
            "code": pl.String(),
            "ceiling_price": pl.Int64(),
            "valid_from": pl.Date(),
            "valid_to": pl.Date(),
        }
    ),
    "drg": pl.Schema(
        {
            "drg": pl.String(),
            "rw_e4": pl.Int64(),
            "rw0d_e4": pl.Int64(),
            "wtlos_e4": pl.Int64(),
            "ot_e4": pl.Int64(),
            "of_e4": pl.Int64(),
            "valid_from": pl.Date(),
            "valid_to": pl.Date(),
        }
    ),
    "drg_grouping": pl.Schema(
        {"pdx_prefix": pl.String(), "procedural": pl.Boolean(), "drg": pl.String()}
    ),
    "base_rates": pl.Schema(
        {
            "fund": pl.String(),
            "hospital_type": pl.String(),
            "care": pl.String(),
            "rate": pl.Int64(),
            "valid_from": pl.Date(),
            "valid_to": pl.Date(),
        }
    ),
}

#: Reference frame name -> stored table name (persistence/models.py).
REFERENCE_TABLES: dict[str, str] = {
    "hospitals": "ref_hospital",
    "funds": "ref_fund",
    "registry": "ref_registry",
    "icd10": "ref_icd10",
    "charge_categories": "ref_charge_category",
    "fee_schedule": "ref_fee_schedule",
    "drugs": "ref_drug",
    "drg": "ref_drg",
    "drg_grouping": "ref_drg_grouping",
    "base_rates": "ref_base_rate",
}
