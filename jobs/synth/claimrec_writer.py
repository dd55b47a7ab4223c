"""Outpatient claims as a ClaimRec ZIP of three envelopes (docs/formats.md §3 inverted).

``BILLTRAN<day>.txt`` holds one BILLTRAN row per OPD row (``InvNo`` = the 16-file SEQ, so a
claim keeps its identity) and the claims' bill lines as BillItems (``exchange.bill_lines``:
each item and each charge-only remainder one line, ``BillMuad`` = the category's first
character, ``STDCode`` only on fee-schedule lines). ``BILLDISP<day>.txt`` holds a Dispensing
row per claim with drugs and its DispensedItems (the DRU rows: drugs are priced from these
only). ``OPServices<day>.txt`` holds an ``EC`` visit row per claim (``TypeIn`` 4 for an
emergency), an ``OP`` row per procedure and the OPDx diagnoses. Each envelope has its Header
(``RECCOUNT`` = rows of its first section) and its ``Checksum`` trailer over every byte before
it; Windows-874 or UTF-8 and the line ends as the drop's style says.

What cannot be said is dropped: inpatient claims (absent), birth date, sex and nationality, the
accident type, the referral, the excess flag of a category (every line is claimable), the
claimed right other than OFC (``CS``) and SSS (``SS``) (written ``OT``: no right claimed, which
changes nothing as the generated rights match the registry). Faults said the ClaimRec way: S01
a short BILLTRAN row, S02 an empty ``Pid``, S06 a BILLTRAN row twice, S07 a foreign ``Hcode``
or ``ProviderID``, B04 an ``Amount`` other than Σ BillItems, C06 an unknown ``BillMuad``, S05
bill lines and diagnoses whose bill is absent (an orphan PAT row cannot be said). Drop faults:
F02 a byte the bills envelope's encoding lacks, F03 no bills envelope, F04 a wrong RECCOUNT.
"""

from __future__ import annotations

import hashlib
from xml.sax.saxutils import escape

import polars as pl

from clearinghouse.money import format_baht
from jobs.synth.exchange import (
    DropMeta,
    Encoded,
    Tables,
    bill_lines,
    claim_rows,
    diagnoses,
    dotted_icd9,
    dotted_icd10,
    iso_date,
    iso_datetime,
    procedures,
    xml_escaped,
)

__all__ = ["encode_claimrec"]

_PAYPLAN = {"OFC": "CS", "SSS": "SS"}
_DRUG_GROUPS = ("3", "4")


def _pipe(*fields: pl.Expr | str) -> pl.Expr:
    expressions = [pl.col(f) if isinstance(f, str) else f for f in fields]
    return xml_escaped(pl.concat_str(expressions, separator="|"))


def _text(frame: pl.DataFrame, row: pl.Expr, eol: str) -> tuple[str, int]:
    """The rows of a section, one per frame row, and how many."""
    if frame.is_empty():
        return "", 0
    return str(frame.select(row.str.join(eol)).item()), frame.height


def _envelope(
    sections: list[tuple[str, str, int]], meta: DropMeta, payplan: str, *, bad: bool = False
) -> bytes:
    """One envelope: Header (RECCOUNT of the first section), sections, Checksum trailer."""
    eol = meta.eol
    count = sections[0][2] + (1 if meta.fault == "F04" and bad else 0)
    body = "".join(
        f"<{tag}>{eol}{rows}{eol}</{tag}>{eol}" if rows else f"<{tag}></{tag}>{eol}"
        for tag, rows, _ in sections
    )
    text = (
        f'<?xml version="1.0" encoding="{meta.declared}"?>{eol}'
        f'<ClaimRec System="OP" PayPlan="{payplan}" Version="0.93">{eol}'
        f"<Header>{eol}<HCODE>{escape(meta.hcode)}</HCODE>{eol}"
        f"<HNAME>{escape(meta.hcode)}</HNAME>{eol}<DATETIME>{meta.stamp}</DATETIME>{eol}"
        f"<SESSNO>{meta.session:04d}</SESSNO>{eol}<RECCOUNT>{count}</RECCOUNT>{eol}"
        f"</Header>{eol}{body}</ClaimRec>{eol}"
    )
    data = text.encode(meta.codec)
    if meta.fault == "F02" and bad:
        first = sections[0][0]
        data = data.replace(f"<{first}>".encode(), f"<{first}>".encode() + b"\xfe", 1)
    digest = hashlib.md5(data, usedforsecurity=False).hexdigest().upper()
    return data + f'<?EndNote Checksum="{digest}"?>{eol}'.encode("ascii")


def encode_claimrec(t: Tables, meta: DropMeta) -> Encoded:
    """The drop's outpatient claims as the three envelopes (none: an empty ``Encoded``)."""
    claims = claim_rows(t, "OP", meta.hcode)
    if claims.is_empty():
        return Encoded(archive=True)
    eol, day = meta.eol, f"{meta.day:%Y%m%d}"
    claims = claims.with_columns(
        pid=pl.when(pl.col("person_missing")).then(pl.lit("")).otherwise(pl.col("pid")),
        dt=iso_datetime(pl.col("date_in"), pl.col("time_in")),
    )
    unique = claims.unique("key", keep="first", maintain_order=True)
    known = unique.select("key")
    inpatient = t["IPD"].select(key="AN")
    lines = bill_lines(t).join(inpatient, on="key", how="anti")
    dx = diagnoses(t, "OP")
    orphans = pl.concat([lines.select("key"), dx.select("key")]).join(known, on="key", how="anti")

    payplans = claims["inscl"].replace_strict(_PAYPLAN, default="OT")
    billtran = (
        pl.lit("01"), "permit", "dt", "hcare", "key", "invoice", "hn", pl.lit(""), "claim_total",
        pl.lit("0.00"), pl.lit(""), pl.lit("A"), "pid", "namepat", "hospmain",
        pl.col("inscl").replace_strict(_PAYPLAN, default="OT"), "claim_total", pl.lit(""),
        pl.lit("0.00"),
    )  # fmt: skip
    # S01: one field short of the documented 19.
    billtran_row = pl.when(pl.col("s01")).then(_pipe(*billtran[:-1])).otherwise(_pipe(*billtran))
    drug = pl.col("kind") == "DRU"
    fee_code = (pl.col("kind") == "ADP") & ~pl.col("category").str.slice(0, 1).is_in(_DRUG_GROUPS)
    bill_items = _pipe(
        "key", iso_date(pl.col("date")), pl.col("category").str.slice(0, 1), "local",
        pl.when(fee_code).then(pl.col("code")).otherwise(pl.lit("")), "name", "qty", "rate",
        "total", "rate", "total", pl.lit(""), pl.lit("OP1"),
    )  # fmt: skip
    bills = _envelope(
        [
            ("BILLTRAN", *_text(claims, billtran_row, eol)),
            ("BillItems", *_text(lines, bill_items, eol)),
        ],
        meta,
        "SS" if (payplans == "SS").all() else "CS",
        bad=True,
    )

    drugs = lines.filter(drug).join(known, on="key", how="semi")
    dispensing = (
        drugs.group_by("key", maintain_order=True)
        .agg(count=pl.len(), charge=pl.col("satang").sum())
        .join(unique, on="key")
    )
    dispensing_row = _pipe(
        "hcare", pl.concat_str(pl.lit("D"), pl.col("key")), "key", "hn", "pid", "dt", "dt",
        pl.lit(""), pl.col("count").cast(pl.String), format_baht(pl.col("charge")),
        format_baht(pl.col("charge")), pl.lit("0.00"), pl.lit("0.00"), pl.lit("HP"), pl.lit(""),
        pl.lit("1"), pl.concat_str(pl.lit("S"), pl.col("key")), pl.lit(""),
    )  # fmt: skip
    dispensed_row = _pipe(
        pl.concat_str(pl.lit("D"), pl.col("key")), pl.lit("1"), "local", "code", pl.lit(""),
        "name", "unit", "sig_code", "sig_text", "qty", "rate", "total", "rate", "total",
        pl.lit("0"), pl.lit("OD"), pl.lit("OP1"), pl.lit(""), pl.lit(""),
    )  # fmt: skip
    files = {f"BILLTRAN{day}.txt": bills}
    if not dispensing.is_empty():
        files[f"BILLDISP{day}.txt"] = _envelope(
            [
                ("Dispensing", *_text(dispensing, dispensing_row, eol)),
                ("DispensedItems", *_text(drugs, dispensed_row, eol)),
            ],
            meta,
            "CS",
        )

    visits = pl.concat(
        [
            unique.select("key", "hn", "pid", "clinic", "dt", svid=pl.lit(""), cls=pl.lit("EC"),
                          code=pl.lit(""), typein=pl.when(pl.col("ucae").is_in(["E", "A"]))
                          .then(pl.lit("4")).otherwise(pl.lit("1"))),
            orphans.filter(pl.col("key").is_in(dx["key"].to_list())).unique(maintain_order=True)
            .select("key", hn=pl.lit(""), pid=pl.lit(""), clinic=pl.lit(""), dt=pl.lit(""),
                    svid=pl.lit(""), cls=pl.lit("EC"), code=pl.lit(""), typein=pl.lit("1")),
            procedures(t, "OP").join(unique, on="key").select(
                "key", "hn", "pid", "clinic", "dt", svid=pl.concat_str(pl.lit("P"),
                pl.col("n").cast(pl.String)), cls=pl.lit("OP"), code=dotted_icd9(pl.col("oper")),
                typein=pl.lit("")),
        ]
    )  # fmt: skip
    service_row = _pipe(
        "key", pl.concat_str(pl.lit("S"), pl.col("key"), pl.col("svid")), "cls",
        pl.lit(meta.hcode), "hn", "pid", pl.lit("1"), pl.lit("01"), "typein", pl.lit("1"),
        pl.lit(""), pl.lit(""), "clinic", "dt", "dt", pl.lit(""),
        pl.when(pl.col("cls") == "OP").then(pl.lit("IC")).otherwise(pl.lit("")), "code",
        pl.lit("0.00"), pl.lit("Y"), pl.lit(""), pl.lit("OP1"),
    )  # fmt: skip
    dx_row = _pipe(
        pl.lit("EC"), pl.concat_str(pl.lit("S"), pl.col("key")), "dxtype", pl.lit("IT"),
        dotted_icd10(pl.col("diag")), pl.lit(""),
    )  # fmt: skip
    files[f"OPServices{day}.txt"] = _envelope(
        [("OPServices", *_text(visits, service_row, eol)), ("OPDx", *_text(dx, dx_row, eol))],
        meta,
        "CS",
    )
    if meta.fault == "F03":
        del files[f"BILLTRAN{day}.txt"]
    priced = lines.join(known, on="key", how="semi").filter(
        (fee_code & (pl.col("code") != "")) | drug
    )
    return Encoded(
        files=files,
        archive=True,
        suffix=".zip",
        claims=unique.height,
        items=priced.height,
        orphans=orphans["key"].n_unique(),
    )
