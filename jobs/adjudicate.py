"""Adjudication: a judged drop priced at central reference prices and routed to its payers.

Pure composition of the pricing and routing stages (frames in, frames out, no I/O):
coverage → item prices → DRG grouping and inpatient price → routing → E01–E05, B08, B09.
Every claim also gets its derivation, a JSON record that ``explain`` prints.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import polars as pl

from clearinghouse.judge import Judgement, add_codes
from clearinghouse.routing import coverage, route
from clearinghouse.schema import CLAIM_ID
from pricing.drg import group_drg, length_of_stay, price_inpatient
from pricing.items import exempt_allowed, outpatient_allowed, price_items

__all__ = ["ADJUDICATION_TABLES", "Adjudication", "adjudicate"]

#: The reference frames adjudication reads.
ADJUDICATION_TABLES = ("registry", "funds", "hospitals", "fee_schedule", "drugs", "drg",
                       "drg_grouping", "base_rates")  # fmt: skip


@dataclass(frozen=True, slots=True)
class Adjudication:
    """The judgement with outcomes: claims gain allowed, drg, adjrw_e4, coverage, refer charge
    and derivation; items gain allowed; payers per claim (to be kept for A claims only)."""

    judgement: Judgement
    payers: pl.DataFrame


def _inpatient(
    facts: pl.DataFrame,
    covered: pl.DataFrame,
    hcode: str,
    reference: dict[str, pl.DataFrame],
    items: pl.DataFrame,
) -> pl.DataFrame:
    """DRG, LOS and price of the IP claims (only those with exactly one principal diagnosis
    are grouped: B08 is evaluated only then)."""
    hospital_type = reference["hospitals"].filter(pl.col("hcode") == hcode)["type"]
    los, day_case = length_of_stay(
        pl.col("admitted_at"), pl.col("discharged_at"), pl.col("leave_days")
    )
    ip = (
        facts.filter(pl.col("claim_type") == "IP")
        .with_columns(
            pdx=pl.when(pl.col("principal_count") == 1).then(pl.col("pdx")),
            los=los,
            day_case=day_case,
            pricing_date=pl.col("service_date"),
            hospital_type=pl.lit(hospital_type[0] if len(hospital_type) else None, pl.String),
        )
        .join(covered.select(*CLAIM_ID, "rate_fund", "care"), on=CLAIM_ID, how="left")
    )
    grouped = ip.join(group_drg(ip, reference["drg_grouping"]), on=CLAIM_ID, how="left")
    grouped = grouped.join(exempt_allowed(items), on=CLAIM_ID, how="left")
    return price_inpatient(grouped, reference["drg"], reference["base_rates"])


def _derivation(frame: pl.DataFrame) -> pl.Expr:
    """The derivation record of each claim as one JSON string (set-based)."""
    fields = [
        c for c in (
            "coverage_fund", "hmain", "coverage_source", "registry_valid_from",
            "registry_valid_to", "registry_precedence", "inscl", "emergency", "aetype", "ucep",
            "care", "rate_fund", "pdx", "procedural", "los", "leave_days", "day_case",
            "admitted_at", "discharged_at", "drg", "rw_e4", "rw0d_e4", "wtlos_e4", "ot_e4",
            "of_e4", "drg_valid_from", "drg_valid_to", "adjrw_branch", "weight_set", "b12_e4",
            "b23_e4", "adjrw_e4", "rate", "rate_hospital_type", "rate_valid_from",
            "rate_valid_to", "drg_amount", "exempt_allowed", "items_allowed", "allowed",
            "charged", "comp_fund", "comp", "cap_applied", "primary", "referral", "refers",
            "refer_charge_to", "refer_charge",
        )
        if c in frame.columns
    ]  # fmt: skip
    temporal = {n for n in fields if frame.schema[n] in (pl.Date(), pl.Datetime("us"))}
    return pl.struct(
        [pl.col(n).cast(pl.String) if n in temporal else pl.col(n) for n in fields]
    ).struct.json_encode()


def adjudicate(
    judgement: Judgement, *, hcode: str, reference: dict[str, pl.DataFrame]
) -> Adjudication:
    """Price and route every claim of a judged drop; add E01–E05, B08 and B09."""
    facts = judgement.claims.with_columns(hcode=pl.lit(hcode))
    covered = coverage(facts, reference["registry"], reference["funds"])
    item_codes = judgement.codes.filter(pl.col("item_line").is_not_null()).select(
        *CLAIM_ID, "code", file="item_file", line="item_line"
    )
    items = price_items(judgement.items, item_codes, reference["fee_schedule"], reference["drugs"])
    inpatient = _inpatient(facts, covered, hcode, reference, items)
    priced = (
        facts.join(covered, on=CLAIM_ID, how="left")
        .join(outpatient_allowed(items), on=CLAIM_ID, how="left")
        .join(
            inpatient.select(
                *CLAIM_ID,
                "los",
                "day_case",
                "drg",
                "rw_e4",
                "rw0d_e4",
                "wtlos_e4",
                "ot_e4",
                "of_e4",
                "drg_valid_from",
                "drg_valid_to",
                "adjrw_e4",
                "adjrw_branch",
                "weight_set",
                "b12_e4",
                "b23_e4",
                "rate",
                "rate_hospital_type",
                "rate_valid_from",
                "rate_valid_to",
                "drg_amount",
                "exempt_allowed",
                "b09",
                ip_allowed="allowed",
            ),
            on=CLAIM_ID,
            how="left",
        )
        .with_columns(
            allowed=pl.when(pl.col("claim_type") == "OP")
            .then(pl.col("items_allowed").fill_null(0))
            .otherwise(pl.col("ip_allowed").fill_null(0))
            .cast(pl.Int64),
        )
    )
    outcome, payers, routing_codes = route(priced, reference["funds"], reference["hospitals"])
    claims = priced.join(outcome, on=CLAIM_ID, how="left")
    one_principal = pl.col("principal_count") == 1
    pricing_codes = pl.concat(
        [
            claims.filter(
                (pl.col("claim_type") == "IP") & one_principal & pl.col("drg").is_null()
            ).select(*CLAIM_ID, code=pl.lit("B08")),
            claims.filter(pl.col("b09").fill_null(False)).select(*CLAIM_ID, code=pl.lit("B09")),
        ]
    )
    claims = claims.with_columns(derivation=_derivation(claims))
    judged = add_codes(
        replace(judgement, claims=claims, items=items), pl.concat([routing_codes, pricing_codes])
    )
    return Adjudication(judgement=judged, payers=payers)
