"""Thai DRG pricing: grouping, length of stay, every AdjRW branch, base rates and B09."""

from __future__ import annotations

import math
from datetime import date, datetime
from fractions import Fraction
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pricing.drg import (
    adjrw_branch,
    adjusted_relative_weight,
    group_drg,
    length_of_stay,
    price_inpatient,
    weight_set,
)
from pricing.reference import read_reference_dir

EXAMPLE = Path(__file__).parents[1] / "cases" / "two-drops" / "reference"
SLOPES = {"M1": (770, 480), "M2": (1212, 743), "P1": (904, 584), "P2": (1580, 1268)}


@pytest.fixture(scope="module")
def ref() -> dict[str, pl.DataFrame]:
    return read_reference_dir(EXAMPLE)


# --- AdjRW ------------------------------------------------------------------------------------

PARAMS = ["drg", "rw_e4", "rw0d_e4", "wtlos_e4", "ot_e4", "of_e4", "los", "day_case"]


def _adjrw(
    rows: list[tuple[str, int, int, int, int, int, int | None, bool | None]],
) -> pl.DataFrame:
    frame = pl.DataFrame(
        rows,
        schema={
            "drg": pl.String,
            "rw_e4": pl.Int64,
            "rw0d_e4": pl.Int64,
            "wtlos_e4": pl.Int64,
            "ot_e4": pl.Int64,
            "of_e4": pl.Int64,
            "los": pl.Int64,
            "day_case": pl.Boolean,
        },
        orient="row",
    )
    c = pl.col
    return frame.with_columns(
        adjusted_relative_weight(
            c("rw_e4"),
            c("rw0d_e4"),
            c("wtlos_e4"),
            c("ot_e4"),
            c("of_e4"),
            c("los"),
            c("day_case"),
            c("drg"),
        ),
        adjrw_branch=adjrw_branch(c("wtlos_e4"), c("ot_e4"), c("los"), c("day_case")),
        weight_set=weight_set(c("drg"), c("rw_e4")),
    )


# (drg, rw, rw0d, wtlos, ot, of (all ·10⁴), los, day_case, branch, set, expected AdjRW ·10⁴)
ADJRW_CASES = [
    # day case: rw0d 0.4120 > 0 → 0.4120
    ("04550", 12345, 4120, 56000, 170000, 10000, 0, True, "day_case", "M2", 4120),
    # day case: rw0d 0 → rw 3.2150
    ("08030", 32150, 0, 93000, 280000, 8000, 0, True, "day_case", "P2", 32150),
    # a day case wins over a long los (a stay across midnight): still rw0d
    ("04550", 12345, 4120, 56000, 170000, 10000, 1, True, "day_case", "M2", 4120),
    # short stay, los 1 < 5.60/3 = 1.87: 0.4120 + 1·(1.2345 − 0.4120)/ceil(1.87)=2
    #   = 0.4120 + 0.41125 = 0.82325 → 0.8233 (exact …5 rounds up)
    ("04550", 12345, 4120, 56000, 170000, 10000, 1, False, "short_stay", "M2", 8233),
    # short stay, los 0 (two days minus two leave days): 0.4120 + 0 = 0.4120
    ("04550", 12345, 4120, 56000, 170000, 10000, 0, False, "short_stay", "M2", 4120),
    # short stay, ceil(7.00/3) = 3: 0.2000 + 1·0.1001/3 = 0.23336… → 0.2334
    ("06550", 3001, 2000, 70000, 210000, 10000, 1, False, "short_stay", "M1", 2334),
    # ... los 2 < 2.33: 0.2000 + 2·0.1001/3 = 0.26673… → 0.2667
    ("06550", 3001, 2000, 70000, 210000, 10000, 2, False, "short_stay", "M1", 2667),
    # short stay with rw0d 0 → rw: 14020, los 1 < 4.12/3 = 1.37
    ("14020", 9870, 0, 41200, 120000, 7500, 1, False, "short_stay", "P1", 9870),
    # 05050 (the example's OFC claim): 1.9000 + 1·(4.8512 − 1.9)/ceil(6.5/3)=3 = 2.88373… → 2.8837
    ("05050", 48512, 19000, 65000, 200000, 10000, 1, False, "short_stay", "P2", 28837),
    # wtlos 2.50 ≤ 3: los 0 < 0.83 is no short stay → rw 0.5120
    ("04560", 5120, 1800, 25000, 80000, 5000, 0, False, "normal", "M1", 5120),
    # wtlos exactly 3.0000 is not > 3 → rw
    ("04560", 5120, 1800, 30000, 80000, 5000, 0, False, "normal", "M1", 5120),
    # los 2 = wtlos/3 = 6.00/3 is not < → rw
    ("06550", 3001, 2000, 60000, 180000, 10000, 2, False, "normal", "M1", 3001),
    # a negative los (bad dates) is no short stay → rw
    ("04550", 12345, 4120, 56000, 170000, 10000, -1, False, "normal", "M2", 12345),
    # M1 06530 (rw 0.4567, of 0.75, ot 9; b12 0.0770, b23 0.0480):
    # los 9 = ot is not > ot → rw
    ("06530", 4567, 1523, 28000, 90000, 7500, 9, False, "normal", "M1", 4567),
    # los 12: 0.4567 + 0.75·0.0770·3 = 0.4567 + 0.17325 = 0.62995 → 0.6300
    ("06530", 4567, 1523, 28000, 90000, 7500, 12, False, "long_stay_1", "M1", 6300),
    # los 18 = 2·ot: 0.4567 + 0.75·0.0770·9 = 0.4567 + 0.51975 = 0.97645 → 0.9765
    ("06530", 4567, 1523, 28000, 90000, 7500, 18, False, "long_stay_1", "M1", 9765),
    # los 21: 0.4567 + 0.51975 + 0.75·0.0480·3 (0.108) = 1.08445 → 1.0845
    ("06530", 4567, 1523, 28000, 90000, 7500, 21, False, "long_stay_2", "M1", 10845),
    # los 27 = 3·ot: 0.4567 + 0.51975 + 0.75·0.0480·9 (0.324) = 1.30045 → 1.3005
    ("06530", 4567, 1523, 28000, 90000, 7500, 27, False, "long_stay_2", "M1", 13005),
    # los 40: 0.4567 + 0.75·9·(0.0770 + 0.0480) = 0.4567 + 0.84375 = 1.30045 → 1.3005
    ("06530", 4567, 1523, 28000, 90000, 7500, 40, False, "long_stay_3", "M1", 13005),
    # M2 10550 (rw 0.7640, of 0.70, ot 12; b12 0.1212, b23 0.0743):
    # los 15: 0.7640 + 0.7·0.1212·3 = 0.7640 + 0.25452 = 1.01852 → 1.0185
    ("10550", 7640, 2500, 40000, 120000, 7000, 15, False, "long_stay_1", "M2", 10185),
    # los 24 = 2·ot: 0.7640 + 0.7·0.1212·12 = 0.7640 + 1.01808 = 1.78208 → 1.7821
    ("10550", 7640, 2500, 40000, 120000, 7000, 24, False, "long_stay_1", "M2", 17821),
    # los 30: 0.7640 + 1.01808 + 0.7·0.0743·6 (0.31206) = 2.09414 → 2.0941
    ("10550", 7640, 2500, 40000, 120000, 7000, 30, False, "long_stay_2", "M2", 20941),
    # los 36 = 3·ot: 0.7640 + 1.01808 + 0.7·0.0743·12 (0.62412) = 2.4062
    ("10550", 7640, 2500, 40000, 120000, 7000, 36, False, "long_stay_2", "M2", 24062),
    # los 50: 0.7640 + 0.7·12·(0.1212 + 0.0743) = 0.7640 + 1.6422 = 2.4062
    ("10550", 7640, 2500, 40000, 120000, 7000, 50, False, "long_stay_3", "M2", 24062),
    # P1, a procedural DRG 01030 (DC 03) (rw 1.5521, of 0.90, ot 23; b12 0.0904, b23 0.0584):
    # los 25: 1.5521 + 0.9·0.0904·2 = 1.5521 + 0.16272 = 1.71482 → 1.7148
    ("01030", 15521, 5000, 78000, 230000, 9000, 25, False, "long_stay_1", "P1", 17148),
    # los 46 = 2·ot: 1.5521 + 0.9·0.0904·23 = 1.5521 + 1.87128 = 3.42338 → 3.4234
    ("01030", 15521, 5000, 78000, 230000, 9000, 46, False, "long_stay_1", "P1", 34234),
    # los 50: 1.5521 + 1.87128 + 0.9·0.0584·4 (0.21024) = 3.63362 → 3.6336
    ("01030", 15521, 5000, 78000, 230000, 9000, 50, False, "long_stay_2", "P1", 36336),
    # los 69 = 3·ot: 1.5521 + 1.87128 + 0.9·0.0584·23 (1.20888) = 4.63226 → 4.6323
    ("01030", 15521, 5000, 78000, 230000, 9000, 69, False, "long_stay_2", "P1", 46323),
    # los 70: 1.5521 + 0.9·23·(0.0904 + 0.0584) = 1.5521 + 3.08016 = 4.63226 → 4.6323
    ("01030", 15521, 5000, 78000, 230000, 9000, 70, False, "long_stay_3", "P1", 46323),
    # P2 08030 (rw 3.2150, of 0.80, ot 28; b12 0.1580, b23 0.1268):
    # los 30: 3.2150 + 0.8·0.1580·2 = 3.2150 + 0.2528 = 3.4678
    ("08030", 32150, 0, 93000, 280000, 8000, 30, False, "long_stay_1", "P2", 34678),
    # los 60: 3.2150 + 0.8·0.1580·28 (3.5392) + 0.8·0.1268·4 (0.40576) = 7.15996 → 7.1600
    ("08030", 32150, 0, 93000, 280000, 8000, 60, False, "long_stay_2", "P2", 71600),
    # los 100: 3.2150 + 0.8·28·(0.1580 + 0.1268) = 3.2150 + 6.37952 = 9.59452 → 9.5945
    ("08030", 32150, 0, 93000, 280000, 8000, 100, False, "long_stay_3", "P2", 95945),
    # los 14 (the example's RTA claim) ≤ ot 28 → rw 3.2150
    ("08030", 32150, 0, 93000, 280000, 8000, 14, False, "normal", "P2", 32150),
    # set boundaries: rw 0.6999 is M1: 0.6999 + 0.5·0.0770·1 = 0.7384
    ("04539", 6999, 2100, 39000, 120000, 5000, 13, False, "long_stay_1", "M1", 7384),
    # rw 0.7000 is M2: 0.7000 + 0.6·0.1212·1 = 0.77272 → 0.7727
    ("05590", 7000, 2300, 33000, 100000, 6000, 11, False, "long_stay_1", "M2", 7727),
    # rw 1.9999 is P1: 1.9999 + 0.8·0.0904·1 = 2.07222 → 2.0722
    ("07020", 19999, 6800, 49000, 150000, 8000, 16, False, "long_stay_1", "P1", 20722),
    # rw 2.0000 is P2: 2.0000 + 0.9·0.1580·1 = 2.1422
    ("12010", 20000, 7000, 52000, 160000, 9000, 17, False, "long_stay_1", "P2", 21422),
    # ot 0: never a long stay → rw 1.3300
    ("12540", 13300, 4400, 68000, 0, 0, 40, False, "normal", "M2", 13300),
    # a fractional ot 2.5: los 3 > 2.5, ≤ 5: 1.0000 + 1.0·0.0904·0.5 = 1.0452
    ("01000", 10000, 0, 30000, 25000, 10000, 3, False, "long_stay_1", "P1", 10452),
    # no los → no AdjRW
    ("04550", 12345, 4120, 56000, 170000, 10000, None, False, None, "M2", None),
]


@pytest.mark.parametrize("case", ADJRW_CASES, ids=[f"{c[0]}-los{c[6]}-{c[8]}" for c in ADJRW_CASES])
def test_adjusted_relative_weight(case: tuple[object, ...]) -> None:
    *params, branch, wset, expected = case
    out = _adjrw([tuple(params)])  # type: ignore[list-item]
    assert out.schema["adjrw_e4"] == pl.Int64
    assert out.row(0, named=True)["adjrw_e4"] == expected
    assert out.row(0, named=True)["adjrw_branch"] == branch
    assert out.row(0, named=True)["weight_set"] == wset


def _oracle(
    drg: str, rw: int, rw0d: int, wtlos: int, ot: int, of: int, los: int, day_case: bool
) -> int:
    """The spec's AdjRW with ``Fraction``s, rounded half-up to 4 decimals, in ten-thousandths."""
    w = [Fraction(v, 10_000) for v in (rw, rw0d, wtlos, ot, of)]
    f_rw, f_rw0d, f_wtlos, f_ot, f_of = w
    medical = int(drg[2:4]) >= 50
    if medical:
        wset = "M1" if f_rw <= Fraction(6999, 10_000) else "M2"
    else:
        wset = "P1" if f_rw <= Fraction(19999, 10_000) else "P2"
    b12, b23 = (Fraction(b, 10_000) for b in SLOPES[wset])
    if day_case:
        value = f_rw0d if f_rw0d > 0 else f_rw
    elif 0 <= los < f_wtlos / 3 and f_wtlos > 3:
        value = f_rw0d + los * (f_rw - f_rw0d) / math.ceil(f_wtlos / 3) if f_rw0d > 0 else f_rw
    elif f_ot > 0 and los > f_ot:
        if los <= 2 * f_ot:
            value = f_rw + f_of * b12 * (los - f_ot)
        elif los <= 3 * f_ot:
            value = f_rw + f_of * b12 * f_ot + f_of * b23 * (los - 2 * f_ot)
        else:
            value = f_rw + f_of * f_ot * (b12 + b23)
    else:
        value = f_rw
    return math.floor(value * 10_000 + Fraction(1, 2))


DRG_CODES = ["04550", "06530", "10550", "01530", "08030", "14020", "05050", "21560", "12010"]
weights = st.tuples(
    st.sampled_from(DRG_CODES),
    st.integers(0, 200_000),  # rw ≤ 20
    st.integers(0, 100_000),  # rw0d
    st.integers(0, 400_000),  # wtlos ≤ 40 days
    st.one_of(st.integers(0, 1_000_000), st.integers(0, 100).map(lambda d: d * 10_000)),
    st.integers(0, 20_000),  # of
    st.integers(-3, 400),  # los
    st.booleans(),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(weights, min_size=1, max_size=40))
def test_adjrw_equals_fraction_oracle(
    rows: list[tuple[str, int, int, int, int, int, int, bool]],
) -> None:
    out = _adjrw(rows)  # type: ignore[arg-type]
    assert out["adjrw_e4"].to_list() == [_oracle(*r) for r in rows]
    assert (out["adjrw_e4"] >= 0).all()


# --- length of stay -----------------------------------------------------------------------------

# (admitted, discharged, leave days, los, day_case)
STAYS = [
    # 23 h 59 min is a day case: 2026-09-18 08:00 → 2026-09-19 07:59; los 1 calendar day
    (datetime(2026, 9, 18, 8, 0), datetime(2026, 9, 19, 7, 59), 0, 1, True),
    # 24 h is not
    (datetime(2026, 9, 18, 8, 0), datetime(2026, 9, 19, 8, 0), 0, 1, False),
    # same day 08:00 → 16:30: los 0, a day case (the example's 690000003)
    (datetime(2026, 9, 18, 8, 0), datetime(2026, 9, 18, 16, 30), 0, 0, True),
    # 2026-09-10 10:00 → 2026-09-16 11:00: 16 − 10 = 6 days (690000001)
    (datetime(2026, 9, 10, 10, 0), datetime(2026, 9, 16, 11, 0), 0, 6, False),
    # leave days reduce it: 6 − 2 = 4
    (datetime(2026, 9, 10, 10, 0), datetime(2026, 9, 16, 11, 0), 2, 4, False),
    # no LVD rows (null) count as 0: 2026-09-20 14:00 → 09-24 10:00 = 4 (690000006)
    (datetime(2026, 9, 20, 14, 0), datetime(2026, 9, 24, 10, 0), None, 4, False),
    # across a month: 2026-09-30 23:00 → 2026-10-02 01:00 = 2 days, 26 h
    (datetime(2026, 9, 30, 23, 0), datetime(2026, 10, 2, 1, 0), 0, 2, False),
]


@pytest.mark.parametrize("stay", STAYS)
def test_length_of_stay(stay: tuple[datetime, datetime, int | None, int, bool]) -> None:
    admitted, discharged, leave, los, day_case = stay
    frame = pl.DataFrame(
        {"adm": [admitted], "dsc": [discharged], "leave": [leave]},
        schema={"adm": pl.Datetime("us"), "dsc": pl.Datetime("us"), "leave": pl.Int64},
    )
    out = frame.select(*length_of_stay(pl.col("adm"), pl.col("dsc"), pl.col("leave")))
    assert out.schema["los"] == pl.Int64
    assert out.row(0) == (los, day_case)


# --- grouping -----------------------------------------------------------------------------------

# (pdx, procedural, expected DRG) against the example's drg_grouping.csv
GROUPING = [
    ("J189", False, "04552"),  # J189 beats J18 and J
    ("J180", False, "04550"),  # J18 beats J
    ("J069", False, "04539"),  # only J
    ("I219", True, "05050"),  # I21 procedural
    ("I219", False, "05530"),  # I21 medical beats I2 and I
    ("I209", False, "05560"),  # I2
    ("I209", True, None),  # no procedural row for I20, I2 or I → B08
    ("K350", False, "06550"),  # K35 is procedural only → K
    ("S7200", True, "08030"),
    ("H251", True, "02010"),
    ("Z000", False, None),  # no row
    ("", False, None),
    (None, False, None),
]


def test_group_drg(ref: dict[str, pl.DataFrame]) -> None:
    claims = pl.DataFrame(
        {
            "claim_type": ["IP"] * len(GROUPING),
            "claim_key": [str(i) for i in range(len(GROUPING))],
            "pdx": [g[0] for g in GROUPING],
            "procedural": [g[1] for g in GROUPING],
        },
        schema={
            "claim_type": pl.String,
            "claim_key": pl.String,
            "pdx": pl.String,
            "procedural": pl.Boolean,
        },
    )
    out = group_drg(claims, ref["drg_grouping"])
    assert out.columns == ["claim_type", "claim_key", "drg"]
    got = dict(out.select("claim_key", "drg").iter_rows())
    assert [got[str(i)] for i in range(len(GROUPING))] == [g[2] for g in GROUPING]


# --- inpatient price ----------------------------------------------------------------------------

INPATIENT_SCHEMA = pl.Schema(
    {
        "claim_type": pl.String(),
        "claim_key": pl.String(),
        "drg": pl.String(),
        "pricing_date": pl.Date(),
        "los": pl.Int64(),
        "day_case": pl.Boolean(),
        "rate_fund": pl.String(),
        "hospital_type": pl.String(),
        "care": pl.String(),
        "exempt_allowed": pl.Int64(),
    }
)

Claim = tuple[str | None, date, int, bool, str, str, str, int | None]


def _price(rows: list[Claim], ref: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """(drg, pricing date, los, day_case, rate fund, hospital type, care, exempt) → priced."""
    claims = pl.DataFrame(
        [("IP", str(i), *row) for i, row in enumerate(rows)],
        schema=INPATIENT_SCHEMA,
        orient="row",
    )
    return price_inpatient(claims, ref["drg"], ref["base_rates"]).sort(
        pl.col("claim_key").cast(pl.Int64)
    )


# (claim, expected adjrw_e4, rate satang, matched hospital type, drg_amount, allowed, b09)
PRICES: list[tuple[Claim, int | None, int | None, str | None, int | None, int | None, bool]] = [
    # 04550 rw 1.2345 until 2026-09-30: 1.2345 × 8,350.00 = 10,308.075 → 10,308.08
    (("04550", date(2026, 9, 16), 6, False, "UCS", "PUB", "IP", 0),
     12345, 835_000, "*", 1_030_808, 1_030_808, False),
    # 04550 rw 1.2560 from 2026-10-01; UCS * IP 8,350.00 until 2026-10-15:
    # 1.2560 × 8,350.00 = 10,487.60
    (("04550", date(2026, 10, 15), 6, False, "UCS", "PUB", "IP", 0),
     12560, 835_000, "*", 1_048_760, 1_048_760, False),
    # ... 8,450.00 from 2026-10-16: 1.2560 × 8,450.00 = 10,613.20
    (("04550", date(2026, 10, 16), 6, False, "UCS", "PUB", "IP", 0),
     12560, 845_000, "*", 1_061_320, 1_061_320, False),
    # an exact hospital type before *: UCS OTH IP 9,100.00: 1.2560 × 9,100.00 = 11,429.60
    (("04550", date(2026, 10, 16), 6, False, "UCS", "OTH", "IP", 0),
     12560, 910_000, "OTH", 1_142_960, 1_142_960, False),
    # UCEP: UCS * IP_EMERGENCY 10,500.00: 1.2560 × 10,500.00 = 13,188.00
    (("04550", date(2026, 10, 16), 6, False, "UCS", "PUB", "IP_EMERGENCY", 0),
     12560, 1_050_000, "*", 1_318_800, 1_318_800, False),
    # ... UCS PRV IP_EMERGENCY 12,000.00: 1.2560 × 12,000.00 = 15,072.00
    (("04550", date(2026, 10, 16), 6, False, "UCS", "PRV", "IP_EMERGENCY", 0),
     12560, 1_200_000, "PRV", 1_507_200, 1_507_200, False),
    # 06530 long stay: 0.6300 × 8,350.00 = 5,260.50; exempt items on top: + 100.00
    (("06530", date(2026, 9, 24), 12, False, "UCS", "PUB", "IP", 10_000),
     6300, 835_000, "*", 526_050, 536_050, False),
    # a DRG with no parameters → B09, nothing computed
    (("99999", date(2026, 9, 16), 6, False, "UCS", "PUB", "IP", 0),
     None, 835_000, "*", None, None, True),
    # 04550 has no row before 2024-10-01 → B09
    (("04550", date(2024, 9, 30), 6, False, "UCS", "PUB", "IP", 0),
     None, None, None, None, None, True),
    # the rate fund has no base rate (WCF) → B09
    (("04550", date(2026, 9, 16), 6, False, "WCF", "PUB", "IP", 0),
     12345, None, None, None, None, True),
    # no DRG (B08): not B09, nothing computed
    ((None, date(2026, 9, 16), 6, False, "UCS", "PUB", "IP", 0),
     None, 835_000, "*", None, None, False),
]  # fmt: skip


def test_price_inpatient(ref: dict[str, pl.DataFrame]) -> None:
    out = _price([p[0] for p in PRICES], ref)
    assert out.height == len(PRICES)
    for column in ("adjrw_e4", "rate", "drg_amount", "allowed"):
        assert out.schema[column] == pl.Int64
    got = list(
        out.select(
            "adjrw_e4", "rate", "rate_hospital_type", "drg_amount", "allowed", "b09"
        ).iter_rows()
    )
    assert got == [p[1:] for p in PRICES]


def test_price_inpatient_derivation(ref: dict[str, pl.DataFrame]) -> None:
    out = _price(
        [
            ("06530", date(2026, 9, 24), 12, False, "UCS", "PUB", "IP", 0),
            ("04550", date(2026, 10, 16), 6, False, "UCS", "PUB", "IP", 0),
        ],
        ref,
    )
    first, second = out.iter_rows(named=True)
    assert (first["adjrw_branch"], first["weight_set"]) == ("long_stay_1", "M1")
    assert (first["b12_e4"], first["b23_e4"]) == (770, 480)
    assert (first["rw_e4"], first["of_e4"], first["ot_e4"]) == (4567, 7500, 90000)
    assert (second["adjrw_branch"], second["weight_set"]) == ("normal", None)
    assert (second["drg_valid_from"], second["drg_valid_to"]) == (date(2026, 10, 1), None)
    assert (second["rate_valid_from"], second["rate_valid_to"]) == (date(2026, 10, 16), None)


# The worked example's IP claims (tests/cases/two-drops). LOS from IPD, no LVD rows; the
# procedural flag from IOP; the rate fund, hospital type and care from routing; the exempt sum
# from the DRG-exempt ADP items (fee 7502 2,800.00; 7120 15,000.00; 4603 16,000.00).
EXAMPLE_IP = [
    # 690000001 J180 2026-09-10 10:00 → 09-16 11:00: los 6; UCS PUB IP; normal 1.2345
    ("690000001", "J180", False, "2026-09-10 10:00", "2026-09-16 11:00", "UCS", "IP", 0,
     "04550", 12345, 1_030_808),  # 1.2345 × 8,350.00 = 10,308.075 → 10,308.08
    # 690000003 H251 + IOP, 08:00 → 16:30 day case → rw0d 0.6050; 7502 min(3,640, 2,800)
    ("690000003", "H251", True, "2026-09-18 08:00", "2026-09-18 16:30", "UCS", "IP", 280_000,
     "02010", 6050, 785_175),  # 0.6050 × 8,350.00 = 5,051.75; + 2,800.00 = 7,851.75
    # 690000004 A090 09-12 09:00 → 09-24 10:00: los 12 > ot 9 → 0.62995 → 0.6300
    ("690000004", "A090", False, "2026-09-12 09:00", "2026-09-24 10:00", "UCS", "IP", 0,
     "06530", 6300, 526_050),  # 0.6300 × 8,350.00 = 5,260.50
    # 690000006 I639 09-20 14:00 → 09-24 10:00: los 4 ≥ 7.80/3 → rw
    ("690000006", "I639", False, "2026-09-20 14:00", "2026-09-24 10:00", "UCS", "IP", 0,
     "01530", 15521, 1_296_004),  # 1.5521 × 8,350.00 = 12,960.035 → 12,960.04
    # 690000009 S7200 + IOP, los 14 ≤ ot 28 → rw; 7120 min(21,000, 15,000)
    ("690000009", "S7200", True, "2026-09-14 20:00", "2026-09-28 10:00", "UCS", "IP", 1_500_000,
     "08030", 32150, 4_184_525),  # 3.2150 × 8,350.00 = 26,845.25; + 15,000.00
    # 690000010 I219 + IOP, OFC, UCEP, 10-01 08:00 → 10-02 10:30: los 1, 26.5 h → short stay
    ("690000010", "I219", True, "2026-10-01 08:00", "2026-10-02 10:30", "OFC", "IP_EMERGENCY",
     1_600_000, "05050", 28837, 4_772_070),  # 2.8837 × 11,000.00 = 31,720.70; + 16,000.00
    # 690000076 D649 MIG, 09-19 13:00 → 09-21 15:00: los 2 ≥ 3.10/3 → rw
    ("690000076", "D649", False, "2026-09-19 13:00", "2026-09-21 15:00", "MIG", "IP", 0,
     "16550", 6350, 444_500),  # 0.6350 × 7,000.00 = 4,445.00
    # 690000081 E119 MNF → rate fund UCS, an emergency → IP_EMERGENCY; los 8 → rw
    ("690000081", "E119", False, "2026-09-16 12:30", "2026-09-24 11:00", "UCS", "IP_EMERGENCY",
     0, "10550", 7640, 802_200),  # 0.7640 × 10,500.00 = 8,022.00
]  # fmt: skip


def test_worked_example(ref: dict[str, pl.DataFrame]) -> None:
    stamp = "%Y-%m-%d %H:%M"
    claims = pl.DataFrame(
        [(key, pdx, proc, adm, dsc, fund, care, exempt) for key, pdx, proc, adm, dsc, fund, care,
         exempt, *_ in EXAMPLE_IP],
        schema=["claim_key", "pdx", "procedural", "adm", "dsc", "rate_fund", "care",
                "exempt_allowed"],
        orient="row",
    ).with_columns(
        pl.col("adm", "dsc").str.to_datetime(stamp),
        claim_type=pl.lit("IP"),
        hospital_type=pl.lit("PUB"),  # 10713 and 10670 are both PUB
        leave=pl.lit(0),
    )  # fmt: skip
    los, day_case = length_of_stay(pl.col("adm"), pl.col("dsc"), pl.col("leave"))
    claims = claims.with_columns(los, day_case, pricing_date=pl.col("dsc").dt.date())
    grouped = claims.join(group_drg(claims, ref["drg_grouping"]), on=["claim_type", "claim_key"])
    out = price_inpatient(grouped, ref["drg"], ref["base_rates"]).sort("claim_key")
    got = list(out.select("claim_key", "drg", "adjrw_e4", "allowed", "b09").iter_rows())
    assert got == [(c[0], c[8], c[9], c[10], False) for c in EXAMPLE_IP]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(weights, min_size=1, max_size=20),
    st.integers(0, 10**9),
    st.integers(0, 10**9),
)
def test_prices_non_negative_and_monotone_in_rate(
    rows: list[tuple[str, int, int, int, int, int, int, bool]], rate_a: int, rate_b: int
) -> None:
    low, high = sorted((rate_a, rate_b))
    drg = pl.DataFrame(
        [(f"{r[0]}-{i}", *r[1:6], date(2024, 1, 1), None) for i, r in enumerate(rows)],
        schema={
            "drg": pl.String, "rw_e4": pl.Int64, "rw0d_e4": pl.Int64, "wtlos_e4": pl.Int64,
            "ot_e4": pl.Int64, "of_e4": pl.Int64, "valid_from": pl.Date, "valid_to": pl.Date,
        },
        orient="row",
    )  # fmt: skip
    rates = pl.DataFrame(
        [("LOW", "*", "IP", low, date(2024, 1, 1), None),
         ("HIGH", "*", "IP", high, date(2024, 1, 1), None)],
        schema=["fund", "hospital_type", "care", "rate", "valid_from", "valid_to"],
        orient="row",
    )  # fmt: skip
    amounts = {}
    for fund in ("LOW", "HIGH"):
        claims = pl.DataFrame(
            [("IP", str(i), f"{r[0]}-{i}", date(2026, 10, 1), r[6], r[7], fund, "PUB", "IP", 0)
             for i, r in enumerate(rows)],
            schema=INPATIENT_SCHEMA,
            orient="row",
        )  # fmt: skip
        out = price_inpatient(claims, drg, rates).sort(pl.col("claim_key").cast(pl.Int64))
        assert not out["b09"].any()
        assert (out["allowed"] >= 0).all()
        amounts[fund] = out["drg_amount"].to_list()
    assert all(a <= b for a, b in zip(amounts["LOW"], amounts["HIGH"], strict=True))
