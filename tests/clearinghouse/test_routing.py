"""Routing (pricing_routing.md steps 1–6): one test per path, the worked example, invariants."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clearinghouse.facts import claim_facts
from clearinghouse.linking import link
from clearinghouse.money import format_baht, parse_satang
from clearinghouse.routing import (
    CODES_SCHEMA,
    COVERAGE_SCHEMA,
    OUTCOME_SCHEMA,
    PAYERS_SCHEMA,
    Routed,
    coverage,
    route,
)
from clearinghouse.schema import REFERENCE_SCHEMAS
from formats.sixteen import read_sixteen
from pricing.reference import read_reference_dir

CASE = Path(__file__).parents[1] / "cases" / "two-drops"
DAY = dt.date(2026, 9, 24)
NULL_DATE: dt.date | None = None

FUNDS = pl.DataFrame(
    [
        (code, code, precedence, cap, op_refer, f"99900{precedence:05d}", None)
        for code, precedence, cap, op_refer in [
            ("OFC", 10, None, False),
            ("LGO", 20, None, False),
            ("SSS", 30, None, False),
            ("UCS", 40, None, True),
            ("STP", 50, None, False),
            ("MIG", 60, None, False),
            ("WCF", 70, 5_000_000, False),
            ("RTA", 80, 3_000_000, False),
            ("MNF", 90, None, False),
        ]
    ],
    schema=REFERENCE_SCHEMAS["funds"],
    orient="row",
)
HOSPITALS = pl.DataFrame(
    [
        (hcode, hcode, province, "PUB", "0", None)
        for hcode, province in [
            ("10713", "Chiang Mai"),
            ("10714", "Chiang Mai"),
            ("10670", "Khon Kaen"),
            ("10998", "Khon Kaen"),
        ]
    ],
    schema=REFERENCE_SCHEMAS["hospitals"],
    orient="row",
)


def registry(*rows: tuple[str, str, str, dt.date, dt.date | None]) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=REFERENCE_SCHEMAS["registry"], orient="row")


def claim(key: str = "K1", **values: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "claim_type": "OP",
        "claim_key": key,
        "hcode": "10713",
        "person_id": "1561280619205",
        "coverage_date": DAY,
        "inscl": "",
        "emergency": False,
        "aetype": "",
        "refers": [],
        "charged": 10_000,
        "allowed": 8_000,
    }
    base.update(values)
    return base


CLAIM_SCHEMA = pl.Schema(
    {
        "claim_type": pl.String(),
        "claim_key": pl.String(),
        "hcode": pl.String(),
        "person_id": pl.String(),
        "coverage_date": pl.Date(),
        "inscl": pl.String(),
        "emergency": pl.Boolean(),
        "aetype": pl.String(),
        "refers": pl.List(pl.String()),
        "charged": pl.Int64(),
        "allowed": pl.Int64(),
    }
)


def run(claims: list[dict[str, Any]], reg: pl.DataFrame) -> tuple[pl.DataFrame, Routed]:
    frame = pl.DataFrame(claims, schema=CLAIM_SCHEMA)
    cov = coverage(frame, reg, FUNDS)
    return cov, route(cov.join(frame, on=["claim_type", "claim_key"]), FUNDS, HOSPITALS)


def one(frame: pl.DataFrame, key: str = "K1") -> dict[str, Any]:
    rows = frame.filter(pl.col("claim_key") == key).to_dicts()
    assert len(rows) == 1
    return rows[0]


def payers_of(routed: Routed, key: str = "K1") -> dict[str, int]:
    rows = routed.payers.filter(pl.col("claim_key") == key).iter_rows(named=True)
    return {r["fund"]: r["amount"] for r in rows}


def codes_of(routed: Routed, key: str = "K1") -> list[str]:
    return routed.codes.filter(pl.col("claim_key") == key)["code"].to_list()


UCS_10714 = registry(("1561280619205", "UCS", "10714", dt.date(2015, 1, 1), None))


# --- step 1: coverage ----------------------------------------------------------------------


def test_registry_coverage() -> None:
    cov, routed = run([claim()], UCS_10714)
    assert cov.schema == COVERAGE_SCHEMA
    row = one(cov)
    assert (row["coverage_fund"], row["hmain"], row["coverage_source"]) == (
        "UCS",
        "10714",
        "registry",
    )
    assert (row["registry_valid_from"], row["registry_valid_to"]) == (dt.date(2015, 1, 1), None)
    assert (row["registry_precedence"], row["rate_fund"], row["ucep"], row["care"]) == (
        40,
        "UCS",
        False,
        "IP",
    )
    assert routed.outcome.schema == OUTCOME_SCHEMA
    assert routed.payers.schema == PAYERS_SCHEMA
    assert routed.codes.schema == CODES_SCHEMA


def test_two_coverages_lowest_precedence_wins() -> None:
    reg = registry(
        ("1561280619205", "UCS", "10714", dt.date(2015, 1, 1), None),
        ("1561280619205", "OFC", "", dt.date(2020, 1, 1), None),
        ("9999999999999", "SSS", "10713", dt.date(2015, 1, 1), None),
    )
    cov, routed = run([claim(inscl="OFC")], reg)
    row = one(cov)
    assert (row["coverage_fund"], row["hmain"], row["registry_precedence"]) == ("OFC", None, 10)
    assert payers_of(routed) == {"OFC": 8_000}
    assert codes_of(routed) == []


def test_coverage_ended_before_the_date() -> None:
    reg = registry(
        ("1561280619205", "SSS", "10713", dt.date(2015, 1, 1), dt.date(2026, 9, 23)),
        ("1561280619205", "OFC", "10713", dt.date(2026, 9, 25), None),
    )
    cov, routed = run([claim()], reg)
    row = one(cov)
    assert (row["coverage_fund"], row["hmain"], row["coverage_source"]) == (
        "UCS",
        None,
        "thai_default",
    )
    assert codes_of(routed) == ["E04"]
    # Bounds are inclusive: on valid_to the row still applies.
    cov, _ = run([claim(coverage_date=dt.date(2026, 9, 23))], reg)
    assert one(cov)["coverage_fund"] == "SSS"


def test_thai_without_coverage_e04() -> None:
    cov, routed = run([claim(person_id="8848531941308", inscl="UCS")], registry())
    row = one(cov)
    assert (row["coverage_fund"], row["hmain"], row["rate_fund"]) == ("UCS", None, "UCS")
    assert payers_of(routed) == {"UCS": 8_000}
    assert codes_of(routed) == ["E04"]
    assert one(routed.outcome)["referral"] == "not applicable"


def test_non_thai_emergency_e05_and_rate_fund_ucs() -> None:
    ip = claim(claim_type="IP", person_id="6959596294301", emergency=True, inscl="MNF")
    cov, routed = run([ip], registry())
    row = one(cov)
    assert (row["coverage_fund"], row["coverage_source"], row["rate_fund"]) == (
        "MNF",
        "mnf",
        "UCS",
    )
    assert (row["ucep"], row["care"]) == (True, "IP_EMERGENCY")
    assert payers_of(routed) == {"MNF": 8_000}
    assert codes_of(routed) == ["E05"]


def test_non_thai_not_emergency_e01_no_payers_rate_fund_ucs() -> None:
    cov, routed = run([claim(person_id="7589974112951")], registry())
    row = one(cov)
    assert (row["coverage_fund"], row["coverage_source"], row["rate_fund"]) == (None, None, "UCS")
    assert payers_of(routed) == {}
    assert codes_of(routed) == ["E01"]
    assert (one(routed.outcome)["primary"], one(routed.outcome)["comp"]) == (0, 0)


@pytest.mark.parametrize(
    ("person_id", "coverage_date"), [("", DAY), ("X123", DAY), ("1561280619205", NULL_DATE)]
)
def test_undeterminable_person_or_date_no_coverage_no_code(
    person_id: str, coverage_date: dt.date | None
) -> None:
    cov, routed = run([claim(person_id=person_id, coverage_date=coverage_date)], UCS_10714)
    row = one(cov)
    assert (row["coverage_fund"], row["coverage_known"], row["rate_fund"]) == (None, False, "UCS")
    assert codes_of(routed) == []
    assert payers_of(routed) == {}


# --- step 2: claimed right ------------------------------------------------------------------


def test_e02_against_registry_and_fallbacks() -> None:
    reg = registry(("2803509062182", "SSS", "10714", dt.date(2018, 1, 1), None))
    claims = [
        claim("REG", person_id="2803509062182", inscl="UCS"),
        claim("E04", person_id="1275956765522", inscl="OFC"),
        claim("E05", person_id="6644441167613", inscl="UCS", emergency=True),
        claim("E01", person_id="7589974112951", inscl="UCS"),
        claim("SAME", person_id="2803509062182", inscl="SSS"),
    ]
    _, routed = run(claims, reg)
    assert codes_of(routed, "REG") == ["E02"]
    assert payers_of(routed, "REG") == {"SSS": 8_000}
    assert codes_of(routed, "E04") == ["E02", "E04"]
    assert codes_of(routed, "E05") == ["E02", "E05"]
    assert codes_of(routed, "E01") == ["E01"]  # no coverage fund: no E02
    assert codes_of(routed, "SAME") == []


# --- steps 3 and 4: compensation first, primary share ---------------------------------------

UCS_10713 = registry(("1561280619205", "UCS", "10713", dt.date(2015, 1, 1), None))


@pytest.mark.parametrize(
    ("aetype", "charged", "allowed", "payers", "cap_applied"),
    [
        ("V", 8_997_600, 4_184_525, {"RTA": 3_000_000, "UCS": 1_184_525}, True),
        ("V", 280_560, 36_850, {"RTA": 280_560}, False),  # comp above allowed: primary 0
        ("W", 6_000_000, 7_000_000, {"WCF": 5_000_000, "UCS": 2_000_000}, True),
        ("W", 138_900, 14_500, {"WCF": 138_900}, False),
    ],
)
def test_compensation_with_cap(
    aetype: str, charged: int, allowed: int, payers: dict[str, int], cap_applied: bool
) -> None:
    c = claim(aetype=aetype, emergency=True, charged=charged, allowed=allowed)
    _, routed = run([c], UCS_10713)
    row = one(routed.outcome)
    assert row["comp_fund"] == {"V": "RTA", "W": "WCF"}[aetype]
    assert row["cap_applied"] is cap_applied
    assert row["primary"] == max(0, allowed - row["comp"])
    assert payers_of(routed) == payers
    assert codes_of(routed) == []


def test_compensation_without_coverage_is_not_e01() -> None:
    c = claim(person_id="7589974112951", aetype="V", charged=50_000, allowed=40_000)
    _, routed = run([c], registry())
    assert payers_of(routed) == {"RTA": 50_000}
    assert one(routed.outcome)["primary"] == 0
    assert codes_of(routed) == []


# --- step 5: outpatient referral ------------------------------------------------------------


def test_referral_in_province_charges_the_main_hospital() -> None:
    _, routed = run([claim(refers=["10714"])], UCS_10714)
    row = one(routed.outcome)
    assert (row["refer_charge_to"], row["refer_charge"]) == ("10714", 8_000)
    assert row["referral"] == "same province: main hospital charged"
    assert payers_of(routed) == {"UCS": 8_000}


def test_referral_in_province_primary_zero_no_charge() -> None:
    _, routed = run([claim(refers=["10714"], allowed=0)], UCS_10714)
    row = one(routed.outcome)
    assert (row["refer_charge_to"], row["refer_charge"]) == (None, None)
    assert codes_of(routed) == []


def test_referral_across_provinces_fund_bears_it() -> None:
    _, routed = run([claim(hcode="10670", refers=["10714"])], UCS_10714)
    row = one(routed.outcome)
    assert (row["refer_charge_to"], row["refer_charge"]) == (None, None)
    assert row["referral"] == "other province: fund bears it"
    assert payers_of(routed) == {"UCS": 8_000}
    assert codes_of(routed) == []


def test_no_referral_from_main_hospital_e03() -> None:
    _, routed = run([claim(refers=["10670"])], UCS_10714)
    row = one(routed.outcome)
    assert row["referral"] == "no referral from main hospital: E03"
    assert (row["refer_charge_to"], row["refer_charge"]) == (None, None)
    assert codes_of(routed) == ["E03"]
    assert payers_of(routed) == {"UCS": 8_000}  # computed; the caller lists payers for A only


def test_at_the_main_hospital_no_referral_needed() -> None:
    _, routed = run([claim(hcode="10714")], UCS_10714)
    assert one(routed.outcome)["referral"] == "not applicable"
    assert codes_of(routed) == []


def test_emergency_exempt_from_referral_and_fund_without_op_refer() -> None:
    sss = registry(("1561280619205", "SSS", "10714", dt.date(2015, 1, 1), None))
    _, emergency = run([claim(emergency=True)], UCS_10714)
    _, no_op_refer = run([claim()], sss)
    _, inpatient = run([claim(claim_type="IP")], UCS_10714)
    for routed in (emergency, no_op_refer, inpatient):
        assert one(routed.outcome)["referral"] == "not applicable"
        assert codes_of(routed) == []


# --- step 6: UCEP ---------------------------------------------------------------------------


def test_ucep_away_from_main_hospital_or_without_one() -> None:
    ip: dict[str, Any] = {"claim_type": "IP", "emergency": True}
    no_hmain = registry(("1561280619205", "OFC", "", dt.date(2015, 1, 1), None))
    cov_away, _ = run([claim(**ip)], UCS_10714)
    cov_none, _ = run([claim(**ip)], no_hmain)
    cov_home, _ = run([claim(hcode="10714", **ip)], UCS_10714)
    cov_plain, _ = run([claim(claim_type="IP")], UCS_10714)
    assert (one(cov_away)["ucep"], one(cov_away)["care"]) == (True, "IP_EMERGENCY")
    assert (one(cov_none)["ucep"], one(cov_none)["rate_fund"]) == (True, "OFC")
    assert (one(cov_home)["ucep"], one(cov_home)["care"]) == (False, "IP")
    assert (one(cov_plain)["ucep"], one(cov_plain)["care"]) == (False, "IP")


# --- the worked example (tests/cases/two-drops/expected/claims.csv) -------------------------

EXAMPLE_REGISTRY = registry(
    ("1426186858621", "UCS", "10670", dt.date(2015, 1, 1), None),
    ("3421128896517", "UCS", "10670", dt.date(2015, 1, 1), None),
    ("2524512649761", "SSS", "10670", dt.date(2018, 1, 1), None),
    ("1561280619205", "UCS", "10714", dt.date(2015, 1, 1), None),
    ("8608191620511", "UCS", "10714", dt.date(2015, 1, 1), None),
    ("2803509062182", "SSS", "10714", dt.date(2018, 1, 1), None),
    ("8582402007070", "UCS", "10998", dt.date(2015, 1, 1), None),
    ("3737994059986", "UCS", "10998", dt.date(2015, 1, 1), None),
)

# claim, expected (codes, payers, refer_charge_to, refer_charge)
EXAMPLE = [
    (
        claim("690000009", claim_type="IP", hcode="10670", person_id="1426186858621",
              coverage_date=dt.date(2026, 9, 14), inscl="UCS", emergency=True, aetype="V",
              charged=8_997_600, allowed=4_184_525),
        ([], {"RTA": 3_000_000, "UCS": 1_184_525}, None, None),
    ),
    (
        claim("690000081", claim_type="IP", hcode="10670", person_id="6959596294301",
              coverage_date=dt.date(2026, 9, 16), inscl="MNF", emergency=True,
              charged=951_800, allowed=802_200),
        (["E05"], {"MNF": 802_200}, None, None),
    ),
    (
        claim("6900000056", hcode="10670", person_id="8582402007070", inscl="UCS",
              coverage_date=dt.date(2026, 9, 23), refers=["10998"], charged=7_280, allowed=6_280),
        ([], {"UCS": 6_280}, "10998", 6_280),
    ),
    (
        claim("6900000061", hcode="10670", person_id="3737994059986", inscl="UCS",
              coverage_date=dt.date(2026, 9, 25), refers=["13777"], charged=20_680,
              allowed=17_950),
        (["E03"], None, None, None),
    ),
    (
        claim("6900000062", hcode="10670", person_id="3421128896517", inscl="UCS",
              coverage_date=dt.date(2026, 9, 26), emergency=True, aetype="V",
              charged=280_560, allowed=36_850),
        ([], {"RTA": 280_560}, None, None),
    ),
    (
        claim("6900000064", hcode="10670", person_id="2524512649761", inscl="SSS",
              coverage_date=dt.date(2026, 9, 29), emergency=True, aetype="W",
              charged=138_900, allowed=14_500),
        ([], {"WCF": 138_900}, None, None),
    ),
    (
        claim("6900000065", hcode="10670", person_id="6644441167613", inscl="MNF",
              coverage_date=dt.date(2026, 9, 30), emergency=True, charged=8_952, allowed=8_630),
        (["E05"], {"MNF": 8_630}, None, None),
    ),
    (
        claim("6900000068", hcode="10670", person_id="7589974112951",
              coverage_date=dt.date(2026, 9, 30), charged=27_300, allowed=23_950),
        (["E01"], None, None, None),
    ),
    (
        claim("6900000070", hcode="10670", person_id="1275956765522", inscl="UCS",
              coverage_date=dt.date(2026, 9, 22), charged=19_172, allowed=15_672),
        (["E04"], {"UCS": 15_672}, None, None),
    ),
    (
        claim("6900000008", person_id="1561280619205", inscl="UCS", refers=["10714"],
              charged=19_320, allowed=17_350),
        ([], {"UCS": 17_350}, "10714", 17_350),
    ),
    (
        claim("6900000012", person_id="8608191620511", inscl="UCS",
              coverage_date=dt.date(2026, 9, 26), charged=30_300, allowed=21_200),
        (["E03"], None, None, None),
    ),
    (
        claim("6900000018", person_id="2117715162042", inscl="UCS",
              coverage_date=dt.date(2026, 9, 23), charged=23_860, allowed=0),
        (["E04"], None, None, None),  # C01 rejects it; E codes still evaluated
    ),
    (
        claim("6900000042", person_id="2803509062182", inscl="UCS", charged=5_630,
              allowed=5_630),
        (["E02"], {"SSS": 5_630}, None, None),
    ),
]  # fmt: skip


@pytest.mark.parametrize(("c", "expected"), EXAMPLE, ids=[c["claim_key"] for c, _ in EXAMPLE])
def test_worked_example_claim(
    c: dict[str, Any],
    expected: tuple[list[str], dict[str, int] | None, str | None, int | None],
) -> None:
    codes, payers, refer_to, refer_charge = expected
    _, routed = run([c], EXAMPLE_REGISTRY)
    key = c["claim_key"]
    assert codes_of(routed, key) == codes
    if payers is not None:  # A claims; D/C claims' payers are blanked by the caller
        assert payers_of(routed, key) == payers
    row = one(routed.outcome, key)
    assert (row["refer_charge_to"], row["refer_charge"]) == (refer_to, refer_charge)


def _satang(baht: str) -> int | None:
    return int(Decimal(baht) * 100) if baht else None


def _payers_text(payers: pl.DataFrame) -> pl.DataFrame:
    baht = format_baht(pl.col("amount"))
    return payers.group_by("claim_type", "claim_key").agg(
        routed_payers=pl.concat_str(pl.col("fund"), pl.lit(":"), baht).sort().str.join(";")
    )


def test_worked_example_every_claim() -> None:
    """All claims of both drops, from the real drops and reference: E codes, payers, refers."""
    reference = read_reference_dir(CASE / "reference")
    expected = pl.read_csv(CASE / "expected" / "claims.csv", infer_schema=False).fill_null("")
    drops = [
        ("10713", CASE / "drops" / "10713" / "10713_16F_20261002_CM1"),
        ("10670", CASE / "drops" / "10670" / "10670_16F_20261003_KK1.zip"),
    ]
    facts = pl.concat(
        [
            claim_facts(link(read_sixteen(path, max_bytes=10**9).tables)).with_columns(
                hcode=pl.lit(hcode)
            )
            for hcode, path in drops
        ],
        how="diagonal_relaxed",
    )
    allowed = expected.select("claim_type", "claim_key", allowed=parse_satang(pl.col("allowed")))
    claims = facts.drop("allowed", strict=False).join(allowed, on=["claim_type", "claim_key"])
    cov = coverage(claims, reference["registry"], reference["funds"])
    routed = route(
        cov.join(claims, on=["claim_type", "claim_key"]), reference["funds"], reference["hospitals"]
    )
    e_codes = routed.codes.group_by("claim_type", "claim_key").agg(
        e=pl.col("code").sort().str.join(";")
    )
    got = (
        expected.join(e_codes, on=["claim_type", "claim_key"], how="left")
        .join(_payers_text(routed.payers), on=["claim_type", "claim_key"], how="left")
        .join(routed.outcome, on=["claim_type", "claim_key"], how="left", suffix="_routed")
        .with_columns(pl.col("e", "routed_payers").fill_null(""))
    )
    assert got.height == expected.height == 54
    for row in got.iter_rows(named=True):
        want_e = ";".join(c for c in row["codes"].split(";") if c.startswith("E"))
        assert row["e"] == want_e, row["claim_key"]
        if row["status"] == "A":
            assert row["routed_payers"] == row["payers"], row["claim_key"]
        assert (row["refer_charge_to_routed"] or "") == row["refer_charge_to"], row["claim_key"]
        assert row["refer_charge_routed"] == _satang(row["refer_charge"]), row["claim_key"]


# --- invariants ----------------------------------------------------------------------------

PEOPLE = ["1561280619205", "2803509062182", "8848531941308", "6959596294301", "7589974112951",
          "0370588240301", "", "X1"]  # fmt: skip
PROPERTY_REGISTRY = registry(
    ("1561280619205", "UCS", "10714", dt.date(2015, 1, 1), None),
    ("2803509062182", "SSS", "10713", dt.date(2018, 1, 1), None),
    ("2803509062182", "OFC", "", dt.date(2026, 1, 1), dt.date(2026, 6, 30)),
    ("0370588240301", "MIG", "10670", dt.date(2020, 1, 1), None),
)

random_claims = st.lists(
    st.fixed_dictionaries(
        {
            "claim_type": st.sampled_from(["OP", "IP"]),
            "hcode": st.sampled_from(["10713", "10714", "10670", "99999"]),
            "person_id": st.sampled_from(PEOPLE),
            "coverage_date": st.one_of(
                st.none(), st.dates(dt.date(2025, 1, 1), dt.date(2027, 1, 1))
            ),
            "inscl": st.sampled_from(["", "UCS", "SSS", "MNF"]),
            "emergency": st.booleans(),
            "aetype": st.sampled_from(["", "", "V", "W", "O"]),
            "refers": st.lists(st.sampled_from(["10713", "10714", "10670"]), max_size=2),
            "charged": st.integers(0, 8_000_000),
            "allowed": st.integers(0, 8_000_000),
        }
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=60, deadline=None)
@given(random_claims)
def test_routing_invariants(rows: list[dict[str, Any]]) -> None:
    claims = [claim(f"K{i}", **row) for i, row in enumerate(rows)]
    cov, routed = run(claims, PROPERTY_REGISTRY)
    ids = ["claim_type", "claim_key"]
    outcome = routed.outcome
    assert cov.height == outcome.height == len(claims)
    assert outcome.select(ids).n_unique() == len(claims)
    frame = pl.DataFrame(claims, schema=CLAIM_SCHEMA).join(outcome, on=ids)
    paid = routed.payers.group_by(ids).agg(paid=pl.col("amount").sum())
    frame = frame.join(paid, on=ids, how="left").with_columns(pl.col("paid").fill_null(0))
    assert (routed.payers["amount"] > 0).all()
    assert (frame["paid"] <= frame["allowed"] + frame["comp"]).all()
    assert (frame["primary"] <= frame["allowed"]).all()
    assert (frame["comp"] <= frame["charged"]).all()
    assert (frame.select(pl.min_horizontal("comp", "primary") >= 0)).to_series().all()
    charged = frame.filter(pl.col("refer_charge").is_not_null())
    assert (charged["refer_charge"] == charged["primary"]).all()
    assert (charged["refer_charge"] > 0).all()
    denied = routed.codes.filter(pl.col("code") == "E01").select(ids)
    assert routed.payers.join(denied, on=ids, how="semi").is_empty()
    e03 = routed.codes.filter(pl.col("code") == "E03").select(ids)
    assert outcome.join(e03, on=ids, how="semi")["refer_charge_to"].null_count() == e03.height
