"""Inpatient claims as CIPN/AIPN documents, one admission per file (docs/formats.md §2 inverted).

Each IP claim of a drop becomes ``<AN>.xml``: the IPADT row (person, stay, leave days), IPDx,
IPOp, one invoice whose BillItems are the claim's bill lines (``exchange.bill_lines``), and the
``<?EndNote HMAC="…"?>`` trailer over the bytes from ``<CIPN>`` on. DocSysID is ``AIPN`` for a
claimed right of SSS, ``CIPN`` otherwise (the reader's only source of INSCL: other rights read
back as OFC, an E02 warning where the fund found differs). Encoded in Windows-874 or UTF-8 as
the drop's style says, with its line ends.

What cannot be said is dropped: outpatient claims (absent), the accident type (no AETYPE), the
referral (no IRF), charge categories I, J, K and unknown ones (→ group 88, read as J: C06 cannot
fire), a claim row twice (written once: S06 cannot fire). A claim's own faults are said the
CIPN way: S01 a short IPADT row, S02 an empty PIDPAT, S04 the bad text in its bill line, S07 a
foreign ``Hcare``, B04 a ``DRGCharge`` that disagrees with its D lines (B10). Drop faults:
F02 a byte the declared encoding lacks, F03 no IPADT, F04 a wrong ``Reccount`` (every file).
"""

from __future__ import annotations

import hashlib
from xml.sax.saxutils import escape

import polars as pl

from clearinghouse.money import format_baht, parse_satang
from jobs.synth.exchange import (
    DropMeta,
    Encoded,
    Tables,
    bill_lines,
    claim_rows,
    diagnoses,
    dotted_icd9,
    dotted_icd10,
    grouped_rows,
    iso_date,
    iso_datetime,
    procedures,
    xml_escaped,
)

__all__ = ["encode_cipn"]

#: Charge category (CHRGITEM's first character) → CSMBS fee group BillGrCS (Q3 inverted).
_FEE_GROUP = {c: f"{n:02d}" for n, c in enumerate("123456789ABCDEFGH", start=1)}
_OTHER_GROUP = "88"


def _pipe(*fields: pl.Expr | str) -> pl.Expr:
    return pl.concat_str([pl.col(f) if isinstance(f, str) else f for f in fields], separator="|")


def _ipadt(eol: str) -> pl.Expr:
    """The IPADT row (22 fields; 21 for S01: one field short)."""
    fields: list[pl.Expr | str] = [
        "key", "hn", pl.lit("0"), pl.when(pl.col("person_missing")).then(pl.lit("")).otherwise(
            pl.col("pid")), "title", "namepat", "dob", "sex", "marriage", "changwat", "amphur",
        "nation",
        pl.when(pl.col("ucae").is_in(["E", "A"])).then(pl.col("ucae")).otherwise(pl.lit("C")),
        pl.lit("O"), iso_datetime(pl.col("date_in"), pl.col("time_in")),
        iso_datetime(pl.col("date_out"), pl.col("time_out")), "leave", "dischs", "discht",
        "adm_w", "ward", "dept",
    ]  # fmt: skip
    row = pl.when(pl.col("s01")).then(_pipe(*fields[:-1])).otherwise(_pipe(*fields))
    return pl.concat_str(pl.lit(eol), xml_escaped(row))


def _bills(lines: pl.DataFrame, eol: str) -> pl.DataFrame:
    """``key rows count x_satang`` of the BillItems: every line a D line, excess (flag 2) X."""
    excess = pl.col("category").str.slice(1, 1) == "2"
    group = pl.col("category").str.slice(0, 1).replace_strict(_FEE_GROUP, default=_OTHER_GROUP)
    drug = pl.col("kind") == "DRU"
    row = _pipe(
        pl.col("n").cast(pl.String), iso_date(pl.col("date")), group, "local", "name", "qty",
        "rate", "total", pl.lit("0.00"), pl.lit(""), pl.lit(""), pl.lit("CS"), group,
        pl.when(pl.col("kind") == "ADP").then(pl.col("code")).otherwise(pl.lit("")),
        pl.when(drug).then(pl.lit("TMT")).otherwise(pl.lit("")),
        pl.when(drug).then(pl.col("code")).otherwise(pl.lit("")),
        pl.when(excess).then(pl.lit("X")).otherwise(pl.lit("D")), pl.lit(""), pl.lit("0.00"),
        pl.lit("0.00"),
    )  # fmt: skip
    rows = grouped_rows(lines, xml_escaped(row), eol)
    sums = lines.group_by("key").agg(
        x_satang=pl.col("satang").filter(excess).sum(),
        items=(pl.col("kind") != "").sum(),
    )
    return rows.join(sums, on="key", how="left")


def _section(tag: str, rows: str, count: int, eol: str, *, reccount: int | None = None) -> str:
    declared = count if reccount is None else reccount
    if not count:
        return f'<{tag} Reccount="{declared}"></{tag}>{eol}'
    return f'<{tag} Reccount="{declared}">{eol}{rows}{eol}</{tag}>{eol}'


def _document(row: dict[str, object], meta: DropMeta) -> bytes:
    eol = meta.eol
    kind = "AIPN" if row["inscl"] == "SSS" else "CIPN"
    hmain = str(row["hospmain"])
    care_as = "M" if hmain == meta.hcode else "B"
    ipadt = "" if meta.fault == "F03" else f"<IPADT>{row['ipadt']}{eol}</IPADT>{eol}"
    dx_count = int(str(row["dx_count"]))
    body = (
        f"<CIPN>{eol}"
        "<Header><DocClass>IPClaim</DocClass>"
        f'<DocSysID version="2.1">{kind}</DocSysID><serviceEvent>ADT</serviceEvent>'
        f"<authorID>{escape(meta.hcode)}</authorID><authorName>{escape(meta.hcode)}</authorName>"
        f"<effectiveTime>{meta.stamp}</effectiveTime></Header>{eol}"
        f"<ClaimAuth><AuthCode>{escape(str(row['permit']))}</AuthCode>"
        f"<AuthDT>{row['auth_dt']}</AuthDT><UPayPlan>{'80' if kind == 'AIPN' else '10'}"
        "</UPayPlan><ServiceType>IP</ServiceType><ProjectCode></ProjectCode>"
        "<EventCode></EventCode><UserReserve></UserReserve>"
        f"<Hmain>{escape(hmain)}</Hmain><Hcare>{escape(str(row['hcare']))}</Hcare>"
        f"<CareAs>{care_as}</CareAs></ClaimAuth>{eol}"
        f"{ipadt}"
        + _section(
            "IPDx", str(row["dx_rows"]), dx_count, eol,
            reccount=dx_count + 1 if meta.fault == "F04" else None,
        )
        + _section("IPOp", str(row["op_rows"]), int(str(row["op_count"])), eol)
        + f"<Invoices><InvNumber>{escape(str(row['invoice']))}</InvNumber>"
        f"<InvDT>{row['inv_dt']}</InvDT>{eol}"
        + _section("BillItems", str(row["bill_rows"]), int(str(row["bill_count"])), eol)
        + "<InvAddDiscount>0.00</InvAddDiscount>"
        f"<DRGCharge>{row['drg_charge']}</DRGCharge><XDRGClaim>0.00</XDRGClaim>"
        f"</Invoices>{eol}<Coinsurance></Coinsurance>{eol}</CIPN>{eol}{eol}"
    )  # fmt: skip
    signed = body.encode(meta.codec)
    if meta.fault == "F02":
        signed = signed.replace(b"<IPADT>", b"<IPADT>\xfe", 1)
    digest = hashlib.md5(signed, usedforsecurity=False).hexdigest().upper()
    head = f'<?xml version="1.0" encoding="{meta.declared}"?>{eol}'.encode("ascii")
    return head + signed + f'<?EndNote HMAC="{digest}"?>{eol}'.encode("ascii")


def encode_cipn(t: Tables, meta: DropMeta) -> Encoded:
    """The drop's inpatient claims as CIPN/AIPN files (none: an empty ``Encoded``)."""
    claims = claim_rows(t, "IP", meta.hcode).unique("key", keep="first", maintain_order=True)
    if claims.is_empty():
        return Encoded(suffix=".xml")
    keys = claims.select("key")
    eol = meta.eol
    dx = diagnoses(t, "IP").join(keys, on="key", how="semi")
    dx_rows = grouped_rows(
        dx,
        xml_escaped(_pipe(
            pl.col("n").cast(pl.String), "dxtype", pl.lit("ICD-10"), dotted_icd10(pl.col("diag")),
            pl.lit(""), "dr", pl.lit(""),
        )),
        eol,
    ).rename({"rows": "dx_rows", "count": "dx_count"})  # fmt: skip
    ops = procedures(t, "IP").join(keys, on="key", how="semi")
    op_rows = grouped_rows(
        ops,
        xml_escaped(_pipe(
            pl.col("n").cast(pl.String), pl.lit("ICD-9-CM"), dotted_icd9(pl.col("oper")),
            pl.lit(""), "dr", iso_datetime(pl.col("date_in"), pl.col("time_in")),
            iso_datetime(pl.col("date_out"), pl.col("time_out")), pl.lit("OR"),
        )),
        eol,
    ).rename({"rows": "op_rows", "count": "op_count"})  # fmt: skip
    lines = bill_lines(t).join(keys, on="key", how="semi")
    bills = _bills(lines, eol).rename({"rows": "bill_rows", "count": "bill_count"})
    total = pl.col("claim_total").str.strip_chars()
    documents = (
        claims.with_columns(ipadt=_ipadt(eol))
        .join(dx_rows, on="key", how="left")
        .join(op_rows, on="key", how="left")
        .join(bills, on="key", how="left")
        .with_columns(
            pl.col("dx_count", "op_count", "bill_count", "items", "x_satang").fill_null(0),
            pl.col("dx_rows", "op_rows", "bill_rows").fill_null(""),
            auth_dt=iso_datetime(pl.col("date_in"), pl.col("time_in")),
            inv_dt=iso_date(pl.col("cht_date")),
            # Σ D lines as the claim total says: it disagrees exactly when the 16 files' CHT
            # disagrees with their CHA (B04, here B10).
            drg_charge=format_baht(parse_satang(total) - pl.col("x_satang").fill_null(0)),
        )
        .with_columns(pl.col("drg_charge").fill_null(""))
    )
    files = {f"{row['key']}.xml": _document(row, meta) for row in documents.iter_rows(named=True)}
    return Encoded(
        files=files,
        archive=len(files) > 1,
        suffix=".xml",
        claims=len(files),
        items=int(documents["items"].sum()),
    )
