"""Routing (pricing_routing.md, Routing steps 1–6): who pays a claim, and the E codes.

Two set-based stages, frames in → frames out, no I/O:

* :func:`coverage` resolves step 1 (coverage fund, hmain) and what inpatient pricing needs from
  it (rate fund, UCEP care). It runs before inpatient pricing.
* :func:`route` takes the coverage joined with the priced claims and applies steps 2–5: the
  claimed right (E02), compensation first, the primary share (E01), the outpatient referral
  (E03, refer charge). It returns the outcome per claim, the payers and the E01–E05 codes.

Money is Int64 satang. A claim whose PERSON_ID does not start with a digit (empty included) or
whose coverage date is unknown has no determinable coverage: it gets no coverage and none of
E01, E04, E05 (rules.md: a rule whose input is empty or does not parse does not fire; such a
claim is rejected by S02/S03/C01 anyway).
"""

from __future__ import annotations

from typing import NamedTuple

import polars as pl

from clearinghouse.rules.items import effective_on
from clearinghouse.schema import CLAIM_ID

__all__ = [
    "CODES_SCHEMA",
    "COVERAGE_SCHEMA",
    "OUTCOME_SCHEMA",
    "PAYERS_SCHEMA",
    "Routed",
    "coverage",
    "route",
]


#: Fallback funds of step 1 and the rate fund of claims without a (priced) coverage.
UNIVERSAL = "UCS"
MULTINATIONAL = "MNF"
#: Step 3: AETYPE → compensation fund.
ACCIDENT_FUNDS = {"V": "RTA", "W": "WCF"}
THAI_FIRST_DIGITS = ["1", "2", "3", "4", "5", "8"]
NON_THAI_FIRST_DIGITS = ["0", "6", "7"]

COVERAGE_SCHEMA = pl.Schema(
    {
        "claim_type": pl.String(),
        "claim_key": pl.String(),
        "coverage_fund": pl.String(),
        "hmain": pl.String(),
        "coverage_source": pl.String(),
        "coverage_known": pl.Boolean(),
        "registry_valid_from": pl.Date(),
        "registry_valid_to": pl.Date(),
        "registry_precedence": pl.Int64(),
        "rate_fund": pl.String(),
        "ucep": pl.Boolean(),
        "care": pl.String(),
    }
)

OUTCOME_SCHEMA = pl.Schema(
    {
        "claim_type": pl.String(),
        "claim_key": pl.String(),
        "comp_fund": pl.String(),
        "comp": pl.Int64(),
        "primary": pl.Int64(),
        "refer_charge_to": pl.String(),
        "refer_charge": pl.Int64(),
        "referral": pl.String(),
        "cap_applied": pl.Boolean(),
    }
)

_IDS: dict[str, pl.DataType] = {"claim_type": pl.String(), "claim_key": pl.String()}
PAYERS_SCHEMA = pl.Schema({**_IDS, "fund": pl.String(), "amount": pl.Int64()})
CODES_SCHEMA = pl.Schema({**_IDS, "code": pl.String()})

E_CODES = ["E01", "E02", "E03", "E04", "E05"]


class Routed(NamedTuple):
    """The result of :func:`route`: unpack as ``outcome, payers, codes = route(...)``."""

    outcome: pl.DataFrame
    payers: pl.DataFrame
    codes: pl.DataFrame


def _registry_matches(
    base: pl.DataFrame, registry: pl.DataFrame, funds: pl.DataFrame
) -> pl.DataFrame:
    """Per claim, the registry row valid on the coverage date with the lowest precedence."""
    persons = base.select("person_id").unique()
    # Semi-join first: the registry may hold millions of rows, the drop a few thousand persons.
    candidates = registry.join(persons, on="person_id", how="semi")
    precedence = funds.select(fund="code", registry_precedence="precedence")
    return (
        base.select(*CLAIM_ID, "person_id", "coverage_date")
        .join(candidates, on="person_id", how="inner")
        .filter(effective_on(pl.col("coverage_date")))
        .join(precedence, on="fund", how="left")
        # Ties in precedence (not expected in a sane registry): the latest row, then by codes.
        .sort(
            [*CLAIM_ID, "registry_precedence", "valid_from", "fund", "hmain"],
            descending=[False, False, False, True, False, False],
            nulls_last=True,
        )
        .unique(subset=CLAIM_ID, keep="first", maintain_order=True)
        .select(
            *CLAIM_ID,
            registry_fund="fund",
            registry_hmain=pl.when(pl.col("hmain").str.strip_chars() != "").then(
                pl.col("hmain").str.strip_chars()
            ),
            registry_valid_from="valid_from",
            registry_valid_to="valid_to",
            registry_precedence="registry_precedence",
        )
    )


def coverage(claims: pl.DataFrame, registry: pl.DataFrame, funds: pl.DataFrame) -> pl.DataFrame:
    """Step 1 (coverage) and step 6 (UCEP) for every claim.

    Args:
        claims: ``claim_type, claim_key, hcode, person_id, coverage_date, inscl, emergency,
            aetype`` (``inscl`` and ``aetype`` are not used here; they are accepted so the
            claims frame can be passed as is).
        registry: REFERENCE_SCHEMAS["registry"].
        funds: REFERENCE_SCHEMAS["funds"].

    Returns:
        COVERAGE_SCHEMA, one row per claim. ``coverage_source`` is ``registry``,
        ``thai_default`` (E04), ``mnf`` (E05) or null (no coverage); ``coverage_known`` is false
        when the person or the date cannot be determined.
    """
    first_digit = pl.col("person_id").fill_null("").str.slice(0, 1)
    base = claims.select(
        *CLAIM_ID,
        "hcode",
        "person_id",
        "coverage_date",
        emergency=pl.col("emergency").fill_null(False),
        first_digit=first_digit,
        coverage_known=first_digit.str.contains("^[0-9]$") & pl.col("coverage_date").is_not_null(),
    )
    matches = _registry_matches(base.filter(pl.col("coverage_known")), registry, funds)
    known, digit = pl.col("coverage_known"), pl.col("first_digit")
    registered = pl.col("registry_fund").is_not_null()
    thai_default = known & ~registered & digit.is_in(THAI_FIRST_DIGITS)
    mnf = known & ~registered & digit.is_in(NON_THAI_FIRST_DIGITS) & pl.col("emergency")
    fund = (
        pl.when(registered)
        .then(pl.col("registry_fund"))
        .when(thai_default)
        .then(pl.lit(UNIVERSAL))
        .when(mnf)
        .then(pl.lit(MULTINATIONAL))
    )
    hmain = pl.when(registered).then(pl.col("registry_hmain"))
    ucep = pl.col("emergency") & (hmain.is_null() | (hmain != pl.col("hcode"))).fill_null(True)
    return (
        base.join(matches, on=CLAIM_ID, how="left")
        .with_columns(
            coverage_fund=fund,
            hmain=hmain,
            coverage_source=pl.when(registered)
            .then(pl.lit("registry"))
            .when(thai_default)
            .then(pl.lit("thai_default"))
            .when(mnf)
            .then(pl.lit("mnf")),
            ucep=ucep,
        )
        .with_columns(
            rate_fund=pl.when(
                pl.col("coverage_fund").is_null() | (pl.col("coverage_fund") == MULTINATIONAL)
            )
            .then(pl.lit(UNIVERSAL))
            .otherwise(pl.col("coverage_fund")),
            care=pl.when(pl.col("ucep")).then(pl.lit("IP_EMERGENCY")).otherwise(pl.lit("IP")),
        )
        .select(COVERAGE_SCHEMA.names())
        .cast(dict(COVERAGE_SCHEMA))  # type: ignore[arg-type]
    )


def _decided(claims: pl.DataFrame, funds: pl.DataFrame, hospitals: pl.DataFrame) -> pl.DataFrame:
    """The claims with every routing decision as a column (steps 2–5)."""
    caps = funds.select(comp_fund="code", cap="cap_per_claim")
    op_refer = funds.select(coverage_fund="code", op_refer="op_refer")
    treating = hospitals.select("hcode", treating_province="province")
    main = hospitals.select(hmain="hcode", main_province="province")
    charged = pl.col("charged").fill_null(0).clip(lower_bound=0)
    allowed = pl.col("allowed").fill_null(0).clip(lower_bound=0)
    covered = pl.col("coverage_fund").is_not_null()
    frame = (
        claims.with_columns(
            comp_fund=pl.col("aetype")
            .fill_null("")
            .replace_strict(ACCIDENT_FUNDS, default=None, return_dtype=pl.String)
        )
        .join(caps, on="comp_fund", how="left")
        .join(op_refer, on="coverage_fund", how="left")
        .join(treating, on="hcode", how="left")
        .join(main, on="hmain", how="left")
    )
    comp = (
        pl.when(pl.col("comp_fund").is_not_null())
        .then(pl.min_horizontal(charged, pl.col("cap").fill_null(charged)))
        .otherwise(0)
    )
    frame = frame.with_columns(
        comp=comp.cast(pl.Int64),
        cap_applied=(pl.col("comp_fund").is_not_null() & (charged > pl.col("cap"))).fill_null(
            False
        ),
    ).with_columns(
        primary=pl.when(covered)
        .then((allowed - pl.col("comp")).clip(lower_bound=0))
        .otherwise(0)
        .cast(pl.Int64)
    )
    emergency = pl.col("emergency").fill_null(False)
    needs_referral = (
        (pl.col("claim_type") == "OP")
        & covered
        & pl.col("op_refer").fill_null(False)
        & pl.col("hmain").is_not_null()
        & (pl.col("hmain") != pl.col("hcode")).fill_null(True)
        & ~emergency
    )
    referred = pl.col("refers").list.contains(pl.col("hmain")).fill_null(False)
    same_province = (pl.col("main_province") == pl.col("treating_province")).fill_null(False)
    charge = needs_referral & referred & same_province & (pl.col("primary") > 0)
    inscl = pl.col("inscl").fill_null("").str.strip_chars()
    source = pl.col("coverage_source")
    return frame.with_columns(
        refer_charge_to=pl.when(charge).then(pl.col("hmain")),
        refer_charge=pl.when(charge).then(pl.col("primary")),
        referral=pl.when(~needs_referral)
        .then(pl.lit("not applicable"))
        .when(~referred)
        .then(pl.lit("no referral from main hospital: E03"))
        .when(same_province & (pl.col("primary") > 0))
        .then(pl.lit("same province: main hospital charged"))
        .when(same_province)
        .then(pl.lit("same province: primary share 0, nothing charged"))
        .otherwise(pl.lit("other province: fund bears it")),
        E01=pl.col("coverage_known").fill_null(False) & ~covered & pl.col("comp_fund").is_null(),
        E02=covered & (inscl != "") & (inscl != pl.col("coverage_fund")),
        E03=needs_referral & ~referred,
        E04=(source == "thai_default").fill_null(False),
        E05=(source == "mnf").fill_null(False),
    )


def route(claims: pl.DataFrame, funds: pl.DataFrame, hospitals: pl.DataFrame) -> Routed:
    """Steps 2–5 for every claim (rejected ones too): outcome, payers and E codes.

    Args:
        claims: the :func:`coverage` output joined with ``hcode, inscl, emergency, aetype,
            refers`` (List[String], the claim's ORF/IRF REFER codes), ``charged`` and
            ``allowed`` (Int64 satang).
        funds: REFERENCE_SCHEMAS["funds"].
        hospitals: REFERENCE_SCHEMAS["hospitals"].

    Returns:
        ``Routed(outcome, payers, codes)``: OUTCOME_SCHEMA one row per claim; PAYERS_SCHEMA
        ``{comp fund: comp, coverage fund: primary}`` with amounts > 0 only, computed for every
        claim (the caller lists them for A claims only); CODES_SCHEMA the E01–E05 that fired.
    """
    decided = _decided(claims, funds, hospitals)
    outcome = decided.select(OUTCOME_SCHEMA.names()).cast(dict(OUTCOME_SCHEMA))  # type: ignore[arg-type]
    shares = pl.concat(
        [
            decided.select(*CLAIM_ID, fund="comp_fund", amount="comp"),
            decided.select(*CLAIM_ID, fund="coverage_fund", amount="primary"),
        ]
    )
    payers = (
        shares.filter(pl.col("fund").is_not_null() & (pl.col("amount") > 0))
        .group_by([*CLAIM_ID, "fund"])
        .agg(pl.col("amount").sum())
        .sort([*CLAIM_ID, "fund"])
        .cast(dict(PAYERS_SCHEMA))  # type: ignore[arg-type]
    )
    codes = (
        decided.select(*CLAIM_ID, *E_CODES)
        .unpivot(index=CLAIM_ID, on=E_CODES, variable_name="code", value_name="fired")
        .filter(pl.col("fired"))
        .select(CODES_SCHEMA.names())
        .sort([*CLAIM_ID, "code"])
        .cast(dict(CODES_SCHEMA))  # type: ignore[arg-type]
    )
    return Routed(outcome, payers, codes)
