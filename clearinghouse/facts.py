"""Claim facts: one row per claim with the parsed values the rules, prices and routes need.

Pure and set-based: a ``Linked`` drop in, frames out. Values that do not parse are null here;
the row rules have already said so.
"""

from __future__ import annotations

import polars as pl

from clearinghouse.linking import Linked
from clearinghouse.parse import parse_amount, parse_date, parse_quantity, parse_time_minutes
from clearinghouse.schema import CLAIM_ID

__all__ = ["claim_facts", "item_facts"]


def _at(date_col: str, time_col: str) -> pl.Expr:
    """A date and an HHMM time as a datetime; an empty time is midnight."""
    day = parse_date(pl.col(date_col))
    minutes = (
        pl.when(pl.col(time_col).str.strip_chars() == "")
        .then(0)
        .otherwise(parse_time_minutes(pl.col(time_col)))
    )
    return day.cast(pl.Datetime("us")) + pl.duration(minutes=minutes)


def _first_per_claim(frame: pl.DataFrame, *cols: pl.Expr) -> pl.DataFrame:
    return frame.sort("line").group_by(CLAIM_ID).agg([c.first() for c in cols])


def claim_facts(linked: Linked) -> pl.DataFrame:
    """One row per claim: identity, position, dates, person, right claimed, totals, diagnoses."""
    is_op = pl.col("claim_type") == "OP"
    claims = linked.claims.with_columns(
        hn=pl.col("hn"),
        service_date=pl.when(is_op)
        .then(parse_date(pl.col("DATEOPD")))
        .otherwise(parse_date(pl.col("DATEDSC"))),
        coverage_date=pl.when(is_op)
        .then(parse_date(pl.col("DATEOPD")))
        .otherwise(parse_date(pl.col("DATEADM"))),
        admitted_at=pl.when(is_op).then(None).otherwise(_at("DATEADM", "TIMEADM")),
        discharged_at=pl.when(is_op).then(None).otherwise(_at("DATEDSC", "TIMEDSC")),
        times_known=~is_op
        & (pl.col("TIMEADM").str.strip_chars() != "")
        & (pl.col("TIMEDSC").str.strip_chars() != ""),
    ).select(
        "claim_type",
        "claim_key",
        "hn",
        "file",
        "line",
        "occurrences",
        "service_date",
        "coverage_date",
        "admitted_at",
        "discharged_at",
        "times_known",
    )

    patients = linked.patients.select(
        "hn",
        person_id=pl.col("PERSON_ID").str.strip_chars(),
        dob=parse_date(pl.col("DOB")),
        sex=pl.col("SEX").str.strip_chars(),
        nation=pl.col("NATION").str.strip_chars(),
    )
    ins = _first_per_claim(
        linked.details["INS"],
        pl.col("INSCL").str.strip_chars().str.to_uppercase().alias("inscl"),
        pl.col("HOSPMAIN").str.strip_chars().alias("hospmain"),
    )
    cht = (
        linked.details["CHT"]
        .group_by(CLAIM_ID)
        .agg(
            cht_rows=pl.len(),
            cht_total=parse_amount(pl.col("TOTAL")).sum(),
            cht_ok=parse_amount(pl.col("TOTAL")).is_not_null().all(),
        )
    )
    cha = (
        linked.details["CHA"]
        .group_by(CLAIM_ID)
        .agg(
            cha_total=parse_amount(pl.col("AMOUNT")).sum(),
            cha_ok=parse_amount(pl.col("AMOUNT")).is_not_null().all(),
        )
    )
    diagnoses = pl.concat([linked.details["ODX"], linked.details["IDX"]], how="diagonal").filter(
        # A principal row without a code is no diagnosis: the claim then has none (C02).
        (pl.col("DXTYPE").str.strip_chars() == "1") & (pl.col("DIAG").str.strip_chars() != "")
    )
    principal = (
        diagnoses.sort("file", "line")
        .group_by(CLAIM_ID)
        .agg(
            principal_count=pl.len(),
            pdx=pl.col("DIAG").str.strip_chars().str.to_uppercase().first(),
        )
    )
    return (
        claims.join(patients, on="hn", how="left")
        .join(ins, on=CLAIM_ID, how="left")
        .join(cht, on=CLAIM_ID, how="left")
        .join(cha, on=CLAIM_ID, how="left")
        .join(principal, on=CLAIM_ID, how="left")
        .join(_care_facts(linked), on=CLAIM_ID, how="left")
        .with_columns(
            pl.col("person_id").fill_null(""),
            pl.col("cht_rows").fill_null(0),
            pl.col("cha_total").fill_null(0),
            pl.col("cha_ok").fill_null(True),
            pl.col("principal_count").fill_null(0),
            pl.col("emergency").fill_null(False),
            pl.col("aetype").fill_null(""),
            pl.col("refers").fill_null(pl.lit([], pl.List(pl.String))),
            pl.col("leave_days").fill_null(0),
            pl.col("procedural").fill_null(False),
            charged=pl.when(pl.col("cht_ok")).then(pl.col("cht_total")).otherwise(0).fill_null(0),
        )
    )


def _care_facts(linked: Linked) -> pl.DataFrame:
    """Per claim: emergency and accident type (AER), referrals (ORF/IRF), leave days (LVD),
    and whether it has a procedure row (OOP/IOP)."""
    aer = linked.details["AER"].with_columns(
        ucae=pl.col("UCAE").str.strip_chars().str.to_uppercase(),
        aetype=pl.col("AETYPE").str.strip_chars().str.to_uppercase(),
    )
    accidents = (
        aer.sort("line")
        .group_by(CLAIM_ID)
        .agg(
            emergency=(pl.col("ucae").is_in(["E", "A"]) | pl.col("aetype").is_in(["V", "W"])).any(),
            # Compensation needs one accident type: road traffic first, then work injury.
            aetype=pl.when(pl.col("aetype").is_in(["V"]).any())
            .then(pl.lit("V"))
            .when(pl.col("aetype").is_in(["W"]).any())
            .then(pl.lit("W"))
            .otherwise(pl.col("aetype").filter(pl.col("aetype") != "").first().fill_null("")),
        )
    )
    refers = (
        pl.concat([linked.details["ORF"], linked.details["IRF"]], how="diagonal")
        .with_columns(refer=pl.col("REFER").str.strip_chars())
        .filter(pl.col("refer") != "")
        .group_by(CLAIM_ID)
        .agg(refers=pl.col("refer").unique().sort())
    )
    leave = (
        linked.details["LVD"]
        .group_by(CLAIM_ID)
        .agg(leave_days=parse_quantity(pl.col("QTYDAY")).sum())
    )
    procedures = (
        pl.concat([linked.details["OOP"], linked.details["IOP"]], how="diagonal")
        .select(CLAIM_ID)
        .unique()
        .with_columns(procedural=pl.lit(True))
    )
    return (
        linked.claims.select(CLAIM_ID)
        .join(accidents, on=CLAIM_ID, how="left")
        .join(refers, on=CLAIM_ID, how="left")
        .join(leave, on=CLAIM_ID, how="left")
        .join(procedures, on=CLAIM_ID, how="left")
    )


def item_facts(linked: Linked, claims: pl.DataFrame) -> pl.DataFrame:
    """Every ADP and DRU row of a claim as an item with its pricing date and parsed values."""
    adp = linked.details["ADP"].select(
        *CLAIM_ID,
        "file",
        "line",
        kind=pl.lit("ADP"),
        code=pl.col("CODE").str.strip_chars(),
        quantity=parse_quantity(pl.col("QTY")),
        unit_charge=parse_amount(pl.col("RATE")),
        total_raw=pl.col("TOTAL").str.strip_chars(),
    )
    dru = linked.details["DRU"].select(
        *CLAIM_ID,
        "file",
        "line",
        kind=pl.lit("DRU"),
        code=pl.col("DIDSTD").str.strip_chars(),
        quantity=parse_quantity(pl.col("AMOUNT")),
        unit_charge=parse_amount(pl.col("DRUGPRIC")),
        total_raw=pl.col("TOTAL").str.strip_chars(),
    )
    items = pl.concat([adp, dru])
    return (
        items.with_columns(
            charged=pl.when(pl.col("total_raw") == "")
            .then(pl.col("quantity") * pl.col("unit_charge"))
            .otherwise(parse_amount(pl.col("total_raw"))),
        )
        .drop("total_raw")
        .join(claims.select(*CLAIM_ID, pricing_date="service_date"), on=CLAIM_ID, how="left")
    )
