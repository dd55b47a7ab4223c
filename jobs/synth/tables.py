"""Typed claim frames to the 16 text tables, every column a string, in the real header order."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import polars as pl

from clearinghouse.money import format_baht
from formats.headers import HEADERS
from jobs.synth.items import Charges
from jobs.synth.names import person_names

__all__ = ["HEADERS", "TABLE_ORDER", "Content", "build_tables", "key_of"]

TABLE_ORDER = tuple(HEADERS)

_DRUGS = (
    ("Paracetamol 500 mg tab", "TAB"),
    ("Amoxicillin 500 mg cap", "CAP"),
    ("Omeprazole 20 mg cap", "CAP"),
    ("Metformin 500 mg tab", "TAB"),
    ("Amlodipine 5 mg tab", "TAB"),
    ("Simvastatin 20 mg tab", "TAB"),
    ("ORS sachet", "SAC"),
    ("Chlorpheniramine 4 mg tab", "TAB"),
    ("Ceftriaxone inj 1 g", "VIAL"),
    ("Normal saline 1000 ml", "BAG"),
    ("Ibuprofen 400 mg tab", "TAB"),
    ("Salbutamol inhaler", "BOT"),
)
_SIGS = (
    ("S1", "รับประทานครั้งละ 1 เม็ด วันละ 3 ครั้ง หลังอาหาร"),
    ("S2", "รับประทานครั้งละ 1 เม็ด วันละ 2 ครั้ง เช้า-เย็น"),
    ("S3", "รับประทานครั้งละ 1 เม็ด ก่อนนอน"),
    ("S4", "ใช้ตามแพทย์สั่ง"),
)


@dataclass(frozen=True, slots=True)
class Content:
    """Everything one set of slots turns into: slots with stays, diagnoses, procedures, charges."""

    slots: pl.DataFrame
    dx: pl.DataFrame
    proc: pl.DataFrame
    charges: Charges


def key_of(table: pl.DataFrame) -> pl.Expr:
    """The claim key a row links to: AN when not empty, else SEQ."""
    if "SEQ" not in table.columns:
        return pl.col("AN")
    if "AN" not in table.columns:
        return pl.col("SEQ")
    return pl.when(pl.col("AN") != "").then(pl.col("AN")).otherwise(pl.col("SEQ"))


def _date(col: str, be: bool) -> pl.Expr:
    day = pl.col(col)
    if not be:
        return day.dt.strftime("%Y%m%d")
    return pl.concat_str((day.dt.year() + 543).cast(pl.String), day.dt.strftime("%m%d"))


def _time(col: str | pl.Expr) -> pl.Expr:
    minutes = pl.col(col) if isinstance(col, str) else col
    minutes = minutes.clip(0, 1439)
    return pl.concat_str(
        (minutes // 60).cast(pl.String).str.zfill(2), (minutes % 60).cast(pl.String).str.zfill(2)
    )


def _pick(values: tuple[str, ...], index: pl.Expr) -> pl.Expr:
    return pl.lit(pl.Series(values, dtype=pl.String)).gather(index % len(values))


def _shape(frame: pl.DataFrame, table: str) -> pl.DataFrame:
    """Exactly the table's header columns (missing ones empty), all strings."""
    return frame.select(
        (pl.col(c) if c in frame.columns else pl.lit("")).cast(pl.String).fill_null("").alias(c)
        for c in HEADERS[table]
    )


def build_tables(
    content: Content,
    hcode: str,
    *,
    be: bool,
    rng: np.random.Generator,
    provinces: Mapping[str, str],
) -> dict[str, pl.DataFrame]:
    """The 16 tables of one drop (keys ``INS`` ... ``DRU``)."""
    licence = pl.lit("ว" + hcode[-3:] + "45")  # the physician's licence number
    s = content.slots.with_columns(
        DATE=_date("service", be), ADMIT=_date("admit", be), HCODE=pl.lit(hcode)
    )
    n = s.height
    base = s.select(
        "key",
        HN="hn",
        PERSON_ID="pid",
        SEQ="seq",
        AN="an",
        DATE="DATE",
        CLINIC="clinic",
        claim_type="claim_type",
        ADMIT="ADMIT",
    )
    op = s.filter(pl.col("claim_type") == "OP")
    ip = s.filter(pl.col("claim_type") == "IP")
    vitals = (
        pl.DataFrame(
            {
                "BTEMP": (360 + rng.integers(0, 25, n)) / 10,
                "SBP": rng.integers(100, 161, n),
                "DBP": rng.integers(60, 101, n),
                "PR": rng.integers(60, 111, n),
                "RR": rng.integers(16, 25, n),
            }
        )
        .cast(pl.String)
        .filter(s["claim_type"] == "OP")
    )
    t: dict[str, pl.DataFrame] = {}
    t["INS"] = s.select(
        HN="hn",
        INSCL="inscl",
        CID="pid",
        HCODE="HCODE",
        HOSPMAIN="hmain",
        HOSPSUB="hmain",
        PERMITNO=pl.concat_str(pl.lit("PP"), pl.col("key").str.zfill(10)),
        AN="an",
        SEQ="seq",
        HTYPE=pl.when(pl.col("claim_type") == "IP").then(pl.lit("2")).otherwise(pl.lit("1")),
    )
    people = s.unique("hn", keep="first", maintain_order=True)
    t["PAT"] = person_names(people, provinces).select(
        "HCODE",
        "CHANGWAT",
        "AMPHUR",
        "NAMEPAT",
        "TITLE",
        "FNAME",
        "LNAME",
        "IDTYPE",
        "MARRIAGE",
        HN="hn",
        DOB=_date("dob", be),
        SEX=pl.col("sex").cast(pl.String),
        OCCUPA=pl.lit("000"),
        NATION="nation",
        PERSON_ID="pid",
    )
    t["OPD"] = pl.concat(
        [
            op.select(
                HN="hn",
                CLINIC="clinic",
                DATEOPD="DATE",
                TIMEOPD=_time("time_in"),
                SEQ="seq",
                UUC=pl.lit("1"),
                OPTYPE=pl.lit("0"),
                TYPEIN=pl.when(pl.col("emergency")).then(pl.lit("4")).otherwise(pl.lit("1")),
                TYPEOUT=pl.lit("1"),
            ),
            vitals,
        ],
        how="horizontal",
    )
    t["ORF"] = op.filter(pl.col("refer") != "").select(
        HN="hn",
        DATEOPD="DATE",
        CLINIC="clinic",
        REFER="refer",
        REFERTYPE=pl.lit("1"),
        SEQ="seq",
        REFERDATE="DATE",
    )
    dx = content.dx.join(base, on="key", how="left", maintain_order="left")
    t["ODX"] = dx.filter(pl.col("claim_type") == "OP").with_columns(
        DRDX=licence, DATEDX="DATE", DIAG="diag", DXTYPE="dxtype"
    )
    t["IDX"] = dx.filter(pl.col("claim_type") == "IP").with_columns(
        DRDX=licence, DIAG="diag", DXTYPE="dxtype"
    )
    proc = content.proc.join(base, on="key", how="left", maintain_order="left")
    t["OOP"] = proc.filter(pl.col("claim_type") == "OP").with_columns(
        DATEOPD="DATE", OPER="oper", DROPID=licence, SERVPRICE=pl.lit("0.00")
    )
    t["IOP"] = proc.filter(pl.col("claim_type") == "IP").with_columns(
        OPER="oper",
        OPTYPE=pl.lit("1"),
        DROPID=licence,
        DATEIN="ADMIT",
        TIMEIN=pl.lit("1000"),
        DATEOUT="ADMIT",
        TIMEOUT=pl.lit("1130"),
    )
    t["IPD"] = ip.select(
        HN="hn",
        AN="an",
        DATEADM="ADMIT",
        TIMEADM=_time("time_in"),
        DATEDSC="DATE",
        TIMEDSC=_time("time_out"),
        DISCHS="dischs",
        DISCHT=pl.lit("1"),
        WARDDSC=pl.lit("03"),
        DEPT=pl.lit("01"),
        ADM_W=pl.lit("0.000"),
        UUC=pl.lit("1"),
        SVCTYPE=pl.lit("I"),
    )
    t["IRF"] = ip.filter(pl.col("refer") != "").select(
        AN="an", REFER="refer", REFERTYPE=pl.lit("1")
    )
    cht = content.charges.cht.filter("present").join(base, on="key", maintain_order="left")
    t["CHT"] = cht.with_columns(
        TOTAL=format_baht(pl.col("total")),
        PAID=pl.lit("0.00"),
        PTTYPE=pl.lit("A1"),
        INVOICE_NO=pl.concat_str(pl.lit("INV"), pl.col("key")),
    )
    t["CHA"] = content.charges.cha.join(base, on="key", maintain_order="left").with_columns(
        CHRGITEM="category", AMOUNT=format_baht(pl.col("amount"))
    )
    t["AER"] = s.filter(pl.col("ucae") != "").select(
        HN="hn",
        AN="an",
        DATEOPD=pl.when(pl.col("claim_type") == "IP").then("ADMIT").otherwise("DATE"),
        AEDATE=pl.when(pl.col("claim_type") == "IP").then("ADMIT").otherwise("DATE"),
        AETIME=_time("time_in"),
        AETYPE="aetype",
        UCAE="ucae",
        EMTYPE=pl.lit("1"),
        SEQ="seq",
    )
    items = content.charges.items.join(base, on="key", maintain_order="left").with_columns(
        RATE=format_baht(pl.col("rate")),
        QTY=pl.col("qty").cast(pl.String),
        TOTAL=pl.when(pl.col("blank_total"))
        .then(pl.lit(""))
        .otherwise(format_baht(pl.col("total"))),
        TOTCOPAY=pl.lit("0.00"),
    )
    t["ADP"] = items.filter(pl.col("kind") == "ADP").with_columns(
        DATEOPD="DATE",
        TYPE="extra",
        CODE="code",
        USE_STATUS=pl.lit("1"),
        QTYDAY=pl.lit("0"),
        ITEMSRC=pl.lit("1"),
    )
    drug = pl.col("code").str.slice(-3).cast(pl.Int64, strict=False).fill_null(0)
    t["DRU"] = items.filter(pl.col("kind") == "DRU").with_columns(
        HCODE=pl.lit(hcode),
        DATE_SERV="DATE",
        DID=pl.concat_str(pl.lit("D"), pl.col("code").str.slice(-4)),
        DIDNAME=_pick(tuple(d for d, _ in _DRUGS), drug),
        UNIT=_pick(tuple(u for _, u in _DRUGS), drug),
        AMOUNT="QTY",
        DRUGPRIC="RATE",
        DRUGCOST=format_baht(pl.col("rate") * 6 // 10),
        DIDSTD="code",
        USE_STATUS="extra",
        SIGCODE=_pick(tuple(c for c, _ in _SIGS), drug),
        SIGTEXT=_pick(tuple(x for _, x in _SIGS), drug),
    )
    leave = (
        ip.filter(pl.col("leave") > 0)
        .with_columns(out_day=pl.col("admit") + pl.duration(days=1))
        .with_columns(in_day=pl.col("out_day") + pl.duration(days=pl.col("leave")))
    )
    t["LVD"] = leave.select(
        SEQLVD=pl.lit("1"),
        AN="an",
        DATEOUT=_date("out_day", be),
        TIMEOUT=pl.lit("0900"),
        DATEIN=_date("in_day", be),
        TIMEIN=pl.lit("1700"),
        QTYDAY=pl.col("leave").cast(pl.String),
    )
    return {name: _shape(t[name], name) for name in TABLE_ORDER}
