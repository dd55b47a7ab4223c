"""CIPN/AIPN admissions onto the canonical raw tables (docs/formats.md §2), many at a time.

One admission per file, but a transport ZIP brings thousands: their sections are read into
shared buffers with a ``member`` number (``formats.cipn``) and mapped in one set-based pass,
then cut back into one drop per admission (each keeps its own hash, checks and
acknowledgement). A single file is a batch of one, through the same code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl

from clearinghouse.money import format_baht, parse_satang
from clearinghouse.schema import TABLES, raw_schema
from formats.sixteen import RAISED_SCHEMA, RawDrop
from formats.values import date_part, icd, time_part

if TYPE_CHECKING:
    from formats.cipn import Admission

__all__ = [
    "Head",
    "Stacked",
    "admission_drop",
    "bill_totals_codes",
    "drops_of_stacked",
    "raw_tables",
]

#: CSMBS fee group (BillGrCS) → 16-file charge category (docs/formats.md Q3); others J.
_CATEGORY = {f"{n:02d}": c for n, c in enumerate("123456789ABCDEFGH", start=1)}
_AT = ("member", "line", "s01")


def _net() -> tuple[pl.Expr, pl.Expr]:
    """A bill line's net (``ChargeAmt`` − ``Discount``, empty discount 0) as baht text, and
    whether it parsed; unparseable input (or a discount past the charge) stays as read so S04
    reports it."""
    charge = parse_satang(pl.col("ChargeAmt").str.strip_chars())
    discount = parse_satang(
        pl.when(pl.col("Discount").str.strip_chars() == "")
        .then(pl.lit("0"))
        .otherwise(pl.col("Discount").str.strip_chars())
    )
    net = charge - discount
    ok = net.is_not_null() & (net >= 0)
    given = pl.col("ChargeAmt").str.strip_chars()
    text = (
        pl.when(ok)
        .then(format_baht(net))
        .when(charge.is_null())
        .then(given)
        # A discount that does not parse, or is more than the charge: both as read, which
        # parses as no amount, so S04 reports the line and no net is invented.
        .otherwise(pl.concat_str(given, pl.lit(" - "), pl.col("Discount").str.strip_chars()))
    )
    return text, ok


@dataclass(frozen=True)
class Head:
    """What one admission's rows share: its root, file name, Header and ClaimAuth values."""

    root: str
    file: str
    header: dict[str, str]
    claim_auth: dict[str, str]


@dataclass(frozen=True)
class Stacked:
    """Many admissions' sections, each frame's rows numbered by ``member`` (the index into
    ``heads``); ``bills`` carry their ``invoice`` (0-based within the admission)."""

    heads: list[Head]
    ipadt: pl.DataFrame
    ipdx: pl.DataFrame
    ipop: pl.DataFrame
    bills: pl.DataFrame
    invoices: pl.DataFrame


def _one(admission: Admission) -> Stacked:
    """A single admission read on its own, as a batch of one (member 0)."""
    numbered = [
        frame.with_columns(member=pl.lit(0, pl.Int64))
        for frame in (admission.ipadt, admission.ipdx, admission.ipop, admission.bills,
                      admission.invoices)
    ]  # fmt: skip
    return Stacked(
        [Head(admission.root, admission.file, admission.header, admission.claim_auth)],
        *numbered,
    )


def _heads(st: Stacked) -> pl.DataFrame:
    """One row per admission: its file and the header values every row of it shares."""
    heads = pl.DataFrame(
        {
            "member": range(len(st.heads)),
            "file": [h.file for h in st.heads],
            "hcode": [h.claim_auth.get("Hcare") or h.header.get("authorID", "") for h in st.heads],
            "inscl": [
                "SSS" if h.header.get("DocSysID", h.root).strip().upper() == "AIPN" else "OFC"
                for h in st.heads
            ],
            "hmain": [h.claim_auth.get("Hmain", "").strip() for h in st.heads],
        },
        schema={"member": pl.Int64(), **dict.fromkeys(
            ("file", "hcode", "inscl", "hmain"), pl.String()
        )},
    )  # fmt: skip
    dated = (
        st.invoices.filter(pl.col("InvDT").str.strip_chars() != "")
        .group_by("member", maintain_order=True)
        .agg(invoice_date=pl.col("InvDT").first())
    )
    return heads.join(dated, on="member", how="left").with_columns(
        pl.col("invoice_date").fill_null("")
    )


def _frames(st: Stacked) -> dict[str, pl.DataFrame]:
    """Every admission's rows as the raw tables, stacked, each row with its ``member``."""
    heads = _heads(st)
    adt = st.ipadt.with_columns(pl.all().exclude(*_AT).str.strip_chars()).join(
        heads, on="member", how="left"
    )
    keys = adt.select("member", an="AN", hn="HN", hc="hcode")
    blank = pl.lit("")
    frames: dict[str, pl.DataFrame] = {
        "IPD": adt.select(
            *_AT, "HN", "AN", DATEADM=date_part(pl.col("DTADM")),
            TIMEADM=time_part(pl.col("DTADM")), DATEDSC=date_part(pl.col("DTDISCH")),
            TIMEDSC=time_part(pl.col("DTDISCH")),
            DISCHS="DISCHSTAT", DISCHT="DISCHTYPE",
        ),
        "PAT": adt.select(
            *_AT, "HN", "SEX", "NATION", HCODE="hcode", DOB=date_part(pl.col("DOB")),
            PERSON_ID="PIDPAT",
        ),
        "INS": adt.select(
            *_AT, "HN", "AN", INSCL="inscl", CID="PIDPAT", HOSPMAIN="hmain", SEQ=blank,
        ),
        "AER": adt.filter(pl.col("ADMTYPE").is_in(["E", "A"])).select(
            *_AT, "HN", "AN", SEQ=blank, UCAE="ADMTYPE", AETYPE=blank
        ),
        "LVD": adt.filter(pl.col("LEAVEDAY") != "").select(
            *_AT, "AN", QTYDAY="LEAVEDAY", SEQ=blank
        ),
        "IDX": st.ipdx.join(keys, on="member", how="left").select(
            *_AT, AN="an", DIAG=icd("Code"), DXTYPE=pl.col("DxType").str.strip_chars(), SEQ=blank,
        ),
        "IOP": st.ipop.join(keys, on="member", how="left").select(
            *_AT, AN="an", OPER=icd("Code"), SEQ=blank
        ),
    }  # fmt: skip
    net, parsed = _net()
    bills = (
        st.bills.with_columns(pl.all().exclude(*_AT, "invoice").str.strip_chars())
        .with_columns(net=net, parsed=parsed)
        .join(keys, on="member", how="left")
    )
    drug = (pl.col("CodeSys").str.to_uppercase() == "TMT") | pl.col("BillGrCS").is_in(["03", "04"])
    category = pl.col("BillGrCS").replace_strict(_CATEGORY, default="J", return_dtype=pl.String)
    excess = pl.when(pl.col("ClaimCat") == "X").then(pl.lit("2")).otherwise(pl.lit("1"))
    frames["CHA"] = bills.select(
        *_AT, HN="hn", AN="an", SEQ=blank, CHRGITEM=pl.concat_str(category, excess), AMOUNT="net",
    )  # fmt: skip
    frames["DRU"] = bills.filter(drug & (pl.col("STDCode") != "")).select(
        *_AT, HCODE="hc", HN="hn", AN="an", SEQ=blank, DIDSTD="STDCode", AMOUNT="QTY",
        DRUGPRIC="UnitPrice", TOTAL="net",
    )  # fmt: skip
    frames["ADP"] = bills.filter(~drug & (pl.col("CSCode") != "")).select(
        *_AT, "QTY", HN="hn", AN="an", SEQ=blank, TYPE=blank, CODE="CSCode", RATE="UnitPrice",
        TOTAL="net",
    )  # fmt: skip
    frames["CHT"] = _charges_totals(adt, bills)
    files = heads.select("member", "file")
    schemas = {table: raw_schema(table) for table in TABLES}
    return {
        table: frames[table]
        .join(files, on="member", how="left")
        .select("member", *schemas[table].names())
        .cast(dict(schemas[table]))  # type: ignore[arg-type]
        if table in frames
        else pl.DataFrame(schema={"member": pl.Int64(), **schemas[table]})
        for table in TABLES
    }


def _charges_totals(adt: pl.DataFrame, bills: pl.DataFrame) -> pl.DataFrame:
    """Each admission's CHT row: the invoice date (else the discharge date) and Σ net over its
    bill lines; its first unparseable amount as read when one does not parse (one S04, no
    invented total)."""
    sums = bills.group_by("member").agg(
        bad=pl.col("net").filter(~pl.col("parsed")).first(),
        total=format_baht(parse_satang(pl.col("net")).sum()),
    )
    return adt.join(sums, on="member", how="left").select(
        *_AT, "HN", "AN", SEQ=pl.lit(""),
        DATE=pl.when(pl.col("invoice_date") != "")
        .then(date_part(pl.col("invoice_date")))
        .otherwise(date_part(pl.col("DTDISCH"))),
        TOTAL=pl.coalesce("bad", "total", pl.lit("0.00")),
    )  # fmt: skip


def _amount(text: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """An invoice or bill amount in satang (null when empty or unparseable), and whether it
    was given but does not parse."""
    trimmed = text.str.strip_chars()
    satang = parse_satang(trimmed)
    return satang, (trimmed != "") & satang.is_null()


def _raised(st: Stacked) -> pl.DataFrame:
    """B10 and the S04s of the invoice totals it reads, per admission (``member``).

    Per invoice (one in the files seen): ``DRGCharge`` ≠ Σ net over ``ClaimCat`` D lines, or
    ``XDRGClaim`` ≠ Σ min(``ClaimAmt``, net) over ``ClaimCat`` T lines (rules.md). A total that is
    absent or empty is not checked; one whose inputs do not parse is not judged (their S04 is
    raised: the totals' and a T line's ``ClaimAmt`` here, a net's through CHA).
    """
    charge, _ = _amount(pl.col("ChargeAmt"))
    discount, bad_discount = _amount(pl.col("Discount"))
    claimed, bad_claimed = _amount(pl.col("ClaimAmt"))
    category = pl.col("ClaimCat").str.strip_chars()
    lines = st.bills.select(
        "member", "invoice",
        category=category,
        net=charge - discount.fill_null(0),
        net_bad=charge.is_null() | bad_discount,
        claimed=claimed,
        claimed_bad=(category == "T") & (bad_claimed | claimed.is_null()),
    )  # fmt: skip
    drg_line, t_line = pl.col("category") == "D", pl.col("category") == "T"
    sums = lines.group_by("member", "invoice").agg(
        drg_lines=pl.col("net").filter(drg_line).sum(),
        drg_bad=(pl.col("net_bad") & drg_line).any(),
        xdrg_lines=pl.min_horizontal("claimed", "net").filter(t_line).sum(),
        xdrg_bad=((pl.col("net_bad") | pl.col("claimed_bad")) & t_line).any(),
        claimed_bad=pl.col("claimed_bad").any(),
    )
    drg, drg_unparsed = _amount(pl.col("DRGCharge"))
    xdrg, xdrg_unparsed = _amount(pl.col("XDRGClaim"))
    invoices = st.invoices.with_columns(
        invoice=pl.int_range(pl.len(), dtype=pl.Int64).over("member")
    )
    checked = invoices.join(sums, on=["member", "invoice"], how="left").group_by("member").agg(
        B10=(
            (drg.is_not_null() & ~pl.col("drg_bad").fill_null(False)
             & (drg != pl.col("drg_lines").fill_null(0)))
            | (xdrg.is_not_null() & ~pl.col("xdrg_bad").fill_null(False)
               & (xdrg != pl.col("xdrg_lines").fill_null(0)))
        ).any(),
        S04=(drg_unparsed | xdrg_unparsed | pl.col("claimed_bad").fill_null(False)).any(),
    )  # fmt: skip
    keys = st.ipadt.select("member", claim_key=pl.col("AN").str.strip_chars())
    return (
        checked.unpivot(index="member", on=["B10", "S04"], variable_name="code")
        .filter(pl.col("value"))
        .join(keys, on="member")
        .sort("member", "code")
        .select("member", claim_type=pl.lit("IP"), claim_key="claim_key", code="code")
    )


def _parts(frame: pl.DataFrame, count: int, schema: pl.Schema) -> list[pl.DataFrame]:
    """``frame`` cut by ``member`` into ``count`` frames of ``schema`` (empty where none)."""
    parts = frame.partition_by("member", as_dict=True, include_key=False, maintain_order=True)
    empty = pl.DataFrame(schema=schema)
    return [parts.get((member,), empty) for member in range(count)]


def admission_drop(admission: Admission) -> RawDrop:
    """One admission read on its own as a drop: its raw tables and its bill-total codes."""
    (drop,) = drops_of_stacked(_one(admission))
    return drop


def drops_of_stacked(st: Stacked) -> list[RawDrop]:
    """Each stacked admission as a drop of its own: its raw tables and bill-total codes."""
    count = len(st.heads)
    tables = {
        table: _parts(frame, count, raw_schema(table)) for table, frame in _frames(st).items()
    }
    raised = _parts(_raised(st), count, RAISED_SCHEMA)
    drops = []
    for member, admission in enumerate(st.heads):
        own = {table: parts[member] for table, parts in tables.items()}
        present = [table for table, frame in own.items() if not frame.is_empty()]
        drops.append(
            RawDrop(
                tables=own,
                rows_read={table: own[table].height for table in present},
                ignored_files=[],
                files=dict.fromkeys(present, admission.file),
                raised=raised[member],
            )
        )
    return drops


def raw_tables(admission: Admission) -> dict[str, pl.DataFrame]:
    """One admission as the 16 raw tables (``raw_schema`` each; tables it has no rows for
    empty), every row positioned at its own line, synthesised rows at the IPADT row's."""
    return admission_drop(admission).tables


def bill_totals_codes(admission: Admission) -> pl.DataFrame:
    """One admission's B10 and S04 codes (``RAISED_SCHEMA``)."""
    return admission_drop(admission).raised
