"""Claim rules (C01–C03, B01–B06): expressions over the claim facts and reference joins."""

from __future__ import annotations

import datetime as dt

import polars as pl

__all__ = [
    "age_outside_range",
    "bad_person_id",
    "claim_rule_columns",
    "discharged_before_admission",
    "filed_late",
    "not_one_principal",
    "served_after_received",
    "sex_restricted",
    "totals_disagree",
    "unknown_principal",
]

LATE_AFTER_DAYS = 365


def bad_person_id(person_id: pl.Expr) -> pl.Expr:
    """C01: present, but not 13 digits or its check digit is wrong."""
    digits = [person_id.str.slice(i, 1).cast(pl.Int64, strict=False) for i in range(13)]
    weighted = pl.sum_horizontal(*[d * (13 - i) for i, d in enumerate(digits[:12])])
    check = (11 - weighted % 11) % 10
    well_formed = person_id.str.contains(r"^[0-9]{13}$")
    return (person_id != "") & (~well_formed | (check != digits[12]).fill_null(True))


def not_one_principal(principal_count: pl.Expr) -> pl.Expr:
    """C02: not exactly one principal diagnosis."""
    return principal_count != 1


def unknown_principal(one_principal: pl.Expr, icd_known: pl.Expr) -> pl.Expr:
    """C03: the one principal diagnosis is not in the ICD-10 reference."""
    return one_principal & ~icd_known


def discharged_before_admission(
    admitted: pl.Expr, discharged: pl.Expr, times_known: pl.Expr
) -> pl.Expr:
    """B01: discharge before admission: by date-time when both times are given, else by date."""
    by_time = discharged < admitted
    by_date = discharged.dt.date() < admitted.dt.date()
    return pl.when(times_known).then(by_time).otherwise(by_date).fill_null(False)


def served_after_received(service: pl.Expr, received: dt.date) -> pl.Expr:
    """B02: service date after the received date."""
    return (service > pl.lit(received)).fill_null(False)


def filed_late(service: pl.Expr, received: dt.date) -> pl.Expr:
    """B03: more than 365 days between the service date and the received date."""
    return ((pl.lit(received) - service).dt.total_days() > LATE_AFTER_DAYS).fill_null(False)


def totals_disagree(
    cht_rows: pl.Expr, cht_ok: pl.Expr, cht_total: pl.Expr, cha_ok: pl.Expr, cha_total: pl.Expr
) -> pl.Expr:
    """B04: no CHT row, or Σ CHA.AMOUNT ≠ CHT.TOTAL (only when both parse)."""
    return (cht_rows == 0) | (cht_ok & cha_ok & (cht_total != cha_total)).fill_null(False)


def sex_restricted(one_principal: pl.Expr, icd_sex: pl.Expr, sex: pl.Expr) -> pl.Expr:
    """B05: the principal diagnosis is restricted to the other sex."""
    known = icd_sex.is_in(["1", "2"]) & sex.is_in(["1", "2"])
    return (one_principal & known & (icd_sex != sex)).fill_null(False)


def whole_years(born: pl.Expr, on: pl.Expr) -> pl.Expr:
    """Age in whole years on a date."""
    before_birthday = (on.dt.month() * 100 + on.dt.day()) < (born.dt.month() * 100 + born.dt.day())
    return on.dt.year() - born.dt.year() - before_birthday.cast(pl.Int32)


def age_outside_range(
    one_principal: pl.Expr, age: pl.Expr, age_min: pl.Expr, age_max: pl.Expr
) -> pl.Expr:
    """B06: age on the service date outside the principal diagnosis' range."""
    outside = (age < age_min).fill_null(False) | (age > age_max).fill_null(False)
    return (one_principal & outside).fill_null(False)


def claim_rule_columns(facts: pl.DataFrame, icd10: pl.DataFrame, received: dt.date) -> pl.DataFrame:
    """Evaluate every claim rule at once: identity columns plus one boolean per code."""
    icd = icd10.select(
        pdx="code", icd_known=pl.lit(True), icd_sex="sex", age_min="age_min", age_max="age_max"
    )
    one = pl.col("principal_count") == 1
    return (
        facts.join(icd, on="pdx", how="left")
        .with_columns(pl.col("icd_known").fill_null(False))
        .select(
            "claim_type",
            "claim_key",
            C01=bad_person_id(pl.col("person_id")),
            C02=not_one_principal(pl.col("principal_count")),
            C03=unknown_principal(one, pl.col("icd_known")),
            B01=discharged_before_admission(
                pl.col("admitted_at"), pl.col("discharged_at"), pl.col("times_known")
            ),
            B02=served_after_received(pl.col("service_date"), received),
            B03=filed_late(pl.col("service_date"), received),
            B04=totals_disagree(
                pl.col("cht_rows"),
                pl.col("cht_ok"),
                pl.col("cht_total"),
                pl.col("cha_ok"),
                pl.col("cha_total"),
            ),
            B05=sex_restricted(one, pl.col("icd_sex"), pl.col("sex")),
            B06=age_outside_range(
                one,
                whole_years(pl.col("dob"), pl.col("service_date")),
                pl.col("age_min"),
                pl.col("age_max"),
            ),
            S06=pl.col("occurrences") > 1,
        )
    )
