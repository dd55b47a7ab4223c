"""Outpatient ClaimRec sections → the 16 raw tables (docs/formats.md §3), as Polars joins.

The reader (:mod:`formats.claimrec`) hands over one frame per section, every documented
field a String plus ``file``, ``line``, ``s01``; this module only maps. The claim is a
``BILLTRAN`` row, key ``InvNo``; rows of the other envelopes reach it through ``Invno``,
directly (``OPServices``) or through a link row (DispensedItems → Dispensing, OPDx →
OPServices: the chained keys of docs/formats.md). Synthesised rows (PAT, INS, CHT) exist
only for a bill with a key, derived item rows (ADP, OOP, AER) only for lines that link, so
that no input line is listed twice in the acknowledgement.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from clearinghouse.schema import TABLES, raw_schema
from formats.values import date_part, icd, time_part

__all__ = [
    "ABSENT",
    "BILLTRAN_FIELDS",
    "BILL_ITEM_FIELDS",
    "DISPENSED_ITEM_FIELDS",
    "DISPENSING_FIELDS",
    "OPDX_FIELDS",
    "OPSERVICES_FIELDS",
    "Sections",
    "raw_tables",
    "section_schema",
]

# Field lists of the domain notes §2, in row order.
BILLTRAN_FIELDS = (
    "Station", "AuthCode", "DTTran", "Hcode", "InvNo", "BillNo", "HN", "MemberNo", "Amount",
    "Paid", "VerCode", "Tflag", "Pid", "Name", "HMain", "PayPlan", "ClaimAmt", "OtherPayplan",
    "OtherPay",
)  # fmt: skip
BILL_ITEM_FIELDS = (
    "InvNo", "SvDate", "BillMuad", "LCCode", "STDCode", "Desc", "QTY", "UnitPrice", "ChargeAmt",
    "ClaimUP", "ClaimAmount", "SvRefID", "ClaimCat",
)  # fmt: skip
DISPENSING_FIELDS = (
    "ProviderID", "DispID", "Invno", "HN", "PID", "Prescdt", "Dispdt", "Prescb", "Itemcnt",
    "ChargeAmt", "ClaimAmt", "Paid", "OtherPay", "Reimburser", "BenefitPlan", "DispeStat", "SvID",
    "DayCover",
)  # fmt: skip
DISPENSED_ITEM_FIELDS = (
    "DispID", "PrdCat", "HospDrgID", "DrgID", "dfsCode", "dfsText", "Packsize", "sigCode",
    "sigText", "Quantity", "UnitPrice", "ChargeAmt", "ReimbPrice", "ReimbAmt", "PrdSeCode",
    "Claimcont", "ClaimCat", "MultiDisp", "SupplyFor",
)  # fmt: skip
OPSERVICES_FIELDS = (
    "Invno", "SvID", "Class", "Hcode", "HN", "PID", "CareAccount", "TypeServ", "TypeIn",
    "TypeOut", "DTAppoint", "SvPID", "Clinic", "BegDT", "EndDT", "LcCode", "CodeSet", "STDCode",
    "SvCharge", "Completion", "SvTxCode", "ClaimCat",
)  # fmt: skip
OPDX_FIELDS = ("Class", "SvID", "SL", "CodeSet", "Code", "Desc")

#: What a ClaimRec claim does not carry: S02 must not call these empty (docs/formats.md §3).
ABSENT = frozenset({("PAT", "DOB"), ("PAT", "SEX"), ("PAT", "NATION"), ("OPD", "CLINIC")})

_PAYPLAN_INSCL = {"CS": "OFC", "SS": "SSS"}
#: BillMuad of drug lines: charges only, drugs are priced from DispensedItems (Q12).
_DRUG_GROUPS = ("3", "4")
#: PrdCat of drugs; 6 (supplies) and 7 (other) have no TMT code (Q12).
_DRUG_CATEGORIES = ("1", "2", "3", "4", "5")


def section_schema(fields: Sequence[str]) -> pl.Schema:
    """The frame of one section: every field a String, then ``file``, ``line``, ``s01``."""
    columns: dict[str, pl.DataType] = {name: pl.String() for name in fields}
    columns |= {"file": pl.String(), "line": pl.Int64(), "s01": pl.Boolean()}
    return pl.Schema(columns)


@dataclass(frozen=True)
class Sections:
    """A ClaimRec drop's sections (an absent envelope: empty frames of ``section_schema``),
    with the bills envelope's ``Header/HCODE`` and root ``PayPlan``."""

    billtran: pl.DataFrame
    bill_items: pl.DataFrame
    dispensing: pl.DataFrame
    dispensed_items: pl.DataFrame
    services: pl.DataFrame
    diagnoses: pl.DataFrame
    hcode: str = ""
    payplan: str = ""


def _trimmed(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(pl.col(pl.String).exclude("file").str.strip_chars())


def _chained(rows: pl.DataFrame, links: pl.DataFrame, via: str, section: str) -> pl.DataFrame:
    """``rows`` with the ``Invno`` their ``via`` column reaches through ``links`` (its first
    row per value) as ``key``: ``""`` for an empty link, ``|<section>:<value>`` for a link
    to nothing (S05 downstream); ``s01`` also set when the link row is short, and
    ``provider`` the link row's ``ProviderID`` when it has one."""
    provider = pl.col("ProviderID") if "ProviderID" in links.columns else pl.lit("")
    first = (
        links.filter(pl.col(via) != "")
        .unique(via, keep="first", maintain_order=True)
        .select(via, invno="Invno", link_s01="s01", provider=provider)
    )
    joined = rows.join(first, on=via, how="left", maintain_order="left")
    return joined.with_columns(
        key=pl.when(pl.col(via) == "")
        .then(pl.lit(""))
        .when(pl.col("invno").is_null())
        .then(pl.concat_str(pl.lit(f"|{section}:"), pl.col(via)))
        .otherwise(pl.col("invno")),
        s01=pl.col("s01") | pl.col("link_s01").fill_null(False),
        provider=pl.col("provider").fill_null(""),
    )


def raw_tables(sections: Sections) -> dict[str, pl.DataFrame]:
    """The drop as the 16 raw tables (``raw_schema`` each; tables without rows empty)."""
    bills = _trimmed(sections.billtran)
    keyed = bills.filter(pl.col("InvNo") != "")
    keys = keyed.select(pl.col("InvNo").unique())
    hn = (
        pl.when(pl.col("HN") != "")
        .then(pl.concat_str("HN", pl.lit("|"), "InvNo"))
        .otherwise(pl.lit(""))
    )
    payplan = pl.when(pl.col("PayPlan") != "").then("PayPlan").otherwise(pl.lit(sections.payplan))
    inscl = (
        payplan.str.strip_chars()
        .str.to_uppercase()
        .replace_strict(_PAYPLAN_INSCL, default="", return_dtype=pl.String)
    )
    hcode = pl.when(pl.col("Hcode") != "").then("Hcode").otherwise(pl.lit(sections.hcode.strip()))
    at = ("file", "line", "s01")
    blank = pl.lit("")
    items = _trimmed(sections.bill_items)
    services = _trimmed(sections.services)
    linking = services.join(keys, left_on="Invno", right_on="InvNo", how="semi")
    drugs = _chained(
        _trimmed(sections.dispensed_items).filter(pl.col("PrdCat").is_in(_DRUG_CATEGORIES)),
        _trimmed(sections.dispensing),
        "DispID",
        "Dispensing",
    )
    diagnoses = _chained(_trimmed(sections.diagnoses), services, "SvID", "OPServices")
    frames: dict[str, pl.DataFrame] = {
        "OPD": bills.select(
            *at, HN=hn, CLINIC=blank, DATEOPD=date_part(pl.col("DTTran")),
            TIMEOPD=time_part(pl.col("DTTran")), SEQ="InvNo",
        ),
        # One PAT row per claim (Q13); a repeated bill (S06) does not repeat it (no S05).
        "PAT": keyed.filter(pl.col("HN") != "")
        .with_columns(HN=hn)
        .unique("HN", keep="first", maintain_order=True)
        .select(*at, "HN", HCODE=hcode, DOB=blank, SEX=blank, NATION=blank, PERSON_ID="Pid"),
        "INS": keyed.select(
            *at, HN=hn, INSCL=inscl, CID="Pid", HOSPMAIN="HMain", AN=blank, SEQ="InvNo"
        ),
        "CHT": keyed.select(
            *at, HN=hn, AN=blank, SEQ="InvNo", DATE=date_part(pl.col("DTTran")), TOTAL="Amount"
        ),
        "CHA": items.select(
            *at, HN=blank, AN=blank, SEQ="InvNo",
            CHRGITEM=pl.concat_str("BillMuad", pl.lit("1")), AMOUNT="ChargeAmt",
        ),
        "ADP": items.filter(
            ~pl.col("BillMuad").is_in(_DRUG_GROUPS) & (pl.col("STDCode") != "")
        )
        .join(keys, on="InvNo", how="semi")
        .select(
            *at, "QTY", HN=blank, AN=blank, SEQ="InvNo", TYPE=blank, CODE="STDCode",
            RATE="UnitPrice", TOTAL="ChargeAmt",
        ),
        "DRU": drugs.select(
            *at, HCODE="provider", HN=blank, AN=blank, SEQ="key", DIDSTD="DrgID",
            AMOUNT="Quantity", DRUGPRIC="UnitPrice", TOTAL="ChargeAmt",
        ),
        "OOP": linking.filter((pl.col("Class") == "OP") & (pl.col("STDCode") != "")).select(
            *at, SEQ="Invno", OPER=icd("STDCode"), AN=blank
        ),
        "AER": linking.filter(pl.col("TypeIn") == "4").select(
            *at, HN=blank, AN=blank, SEQ="Invno", UCAE=pl.lit("E"), AETYPE=blank
        ),
        "ODX": diagnoses.select(*at, SEQ="key", DIAG=icd("Code"), DXTYPE="SL", AN=blank),
    }  # fmt: skip
    schemas = {table: raw_schema(table) for table in TABLES}
    return {
        table: frames[table].select(schemas[table].names()).cast(schemas[table])
        if table in frames
        else pl.DataFrame(schema=schemas[table])
        for table in TABLES
    }
