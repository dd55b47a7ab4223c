"""Item pricing: min(charged, quantity × reference price), zeroing codes, the DRG envelope."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pricing.items import exempt_allowed, outpatient_allowed, price_items
from pricing.reference import read_reference_dir

EXAMPLE = Path(__file__).parents[1] / "cases" / "two-drops" / "reference"

ITEM_SCHEMA = pl.Schema(
    {
        "claim_type": pl.String(),
        "claim_key": pl.String(),
        "file": pl.String(),
        "line": pl.Int64(),
        "kind": pl.String(),
        "code": pl.String(),
        "quantity": pl.Int64(),
        "unit_charge": pl.Int64(),
        "charged": pl.Int64(),
        "pricing_date": pl.Date(),
    }
)
CODE_SCHEMA = pl.Schema(
    {
        "claim_type": pl.String(),
        "claim_key": pl.String(),
        "file": pl.String(),
        "line": pl.Int64(),
        "code": pl.String(),
    }
)
SEP = date(2026, 9, 22)


@pytest.fixture(scope="module")
def ref() -> dict[str, pl.DataFrame]:
    return read_reference_dir(EXAMPLE)


def _items(
    rows: list[tuple[str, str, int, str, str, int | None, int | None, date]],
) -> pl.DataFrame:
    """(claim_type, claim_key, line, kind, code, quantity, charged, pricing_date) rows."""
    return pl.DataFrame(
        [
            (ct, key, "ADP" if kind == "ADP" else "DRU", line, kind, code, qty, None, chg, day)
            for ct, key, line, kind, code, qty, chg, day in rows
        ],
        schema=ITEM_SCHEMA,
        orient="row",
    )


def _codes(rows: list[tuple[str, str, int, str, str]]) -> pl.DataFrame:
    """(claim_type, claim_key, line, kind, code) rows of raised item codes."""
    return pl.DataFrame(
        [(ct, key, kind, line, code) for ct, key, line, kind, code in rows],
        schema=CODE_SCHEMA,
        orient="row",
    )


# (claim_type, kind, code, quantity, charged satang, pricing date, raised code,
#  expected unit_price, expected drg_exempt, expected allowed) — the arithmetic on the right.
CASES = [
    # ADP 55020 at 50.00: min(45.00, 1 × 50.00) = 45.00
    ("OP", "ADP", "55020", 1, 4_500, SEP, None, 5_000, False, 4_500),
    # min(120.00, 2 × 50.00) = 100.00
    ("OP", "ADP", "55020", 2, 12_000, SEP, None, 5_000, False, 10_000),
    # DRU 100011 ceiling 0.35: min(14.00, 20 × 0.35 = 7.00) = 7.00
    ("OP", "DRU", "100011", 20, 1_400, SEP, None, 35, False, 700),
    # min(5.00, 7.00) = 5.00
    ("OP", "DRU", "100011", 20, 500, SEP, None, 35, False, 500),
    # 30201 costs 90.00 until 2026-10-09 and 100.00 from 2026-10-10: min(135.00, 90.00)
    ("OP", "ADP", "30201", 1, 13_500, date(2026, 10, 9), None, 9_000, False, 9_000),
    # ... and min(135.00, 100.00) the day after
    ("OP", "ADP", "30201", 1, 13_500, date(2026, 10, 10), None, 10_000, False, 10_000),
    # drug 700900 expired 2026-09-30: no ceiling on 2026-10-01 (C05 raised) → 0
    ("OP", "DRU", "700900", 10, 700, date(2026, 10, 1), "C05", None, False, 0),
    # ... and priced the day before: min(7.00, 10 × 0.70) = 7.00
    ("OP", "DRU", "700900", 10, 700, date(2026, 9, 30), None, 70, False, 700),
    # unknown fee code → C04 → 0
    ("OP", "ADP", "99999", 1, 13_500, SEP, "C04", None, False, 0),
    # unknown drug → C05 → 0
    ("OP", "DRU", "999999", 2, 900, SEP, "C05", None, False, 0),
    # quantity 0 → B07 → 0 (its price is still shown)
    ("OP", "ADP", "41001", 0, 0, SEP, "B07", 17_000, False, 0),
    # the code zeroes the item whatever the price would be
    ("OP", "ADP", "55020", 1, 4_500, SEP, "B07", 5_000, False, 0),
    # charged not parseable → 0
    ("OP", "ADP", "55020", 1, None, SEP, None, 5_000, False, 0),
    # IP, non-exempt ADP 31001: inside the DRG → 0
    ("IP", "ADP", "31001", 1, 7_500, SEP, None, 5_000, False, 0),
    # IP, DRG-exempt ADP 7502 at 2,800.00: min(3,640.00, 2,800.00) = 2,800.00 on top of the DRG
    ("IP", "ADP", "7502", 1, 364_000, SEP, None, 280_000, True, 280_000),
    # IP, DRG-exempt ADP 7120 at 15,000.00: min(21,000.00, 15,000.00)
    ("IP", "ADP", "7120", 1, 2_100_000, SEP, None, 1_500_000, True, 1_500_000),
    # IP, every DRU item is inside the DRG → 0
    ("IP", "DRU", "100011", 10, 700, SEP, None, 35, False, 0),
    # OP, the exempt flag changes nothing: min(3,640.00, 2,800.00)
    ("OP", "ADP", "7502", 1, 364_000, SEP, None, 280_000, True, 280_000),
]


def test_price_items_table(ref: dict[str, pl.DataFrame]) -> None:
    items = _items(
        [
            (ct, f"K{i}", i, kind, code, qty, chg, day)
            for i, (ct, kind, code, qty, chg, day, *_rest) in enumerate(CASES)
        ]
    )
    codes = _codes(
        [(c[0], f"K{i}", i, c[1], c[6]) for i, c in enumerate(CASES) if c[6] is not None]
        # a code that does not zero (C06 is a claim code; any other code is ignored here)
        + [("OP", "K0", 0, "ADP", "E02")]
    )
    out = price_items(items, codes, ref["fee_schedule"], ref["drugs"]).sort("line")
    assert out.columns == [*ITEM_SCHEMA.names(), "unit_price", "drg_exempt", "allowed"]
    assert out.schema["allowed"] == pl.Int64
    assert out.height == len(CASES)
    got = list(out.select("unit_price", "drg_exempt", "allowed").iter_rows())
    assert got == [(c[7], c[8], c[9]) for c in CASES]


def test_claim_sums(ref: dict[str, pl.DataFrame]) -> None:
    items = _items(
        [
            ("OP", "A", 1, "ADP", "55020", 1, 4_500, SEP),  # 45.00
            ("OP", "A", 2, "DRU", "100011", 20, 1_400, SEP),  # min(14.00, 7.00) = 7.00
            ("OP", "A", 3, "ADP", "99999", 1, 9_000, SEP),  # C04 → 0
            ("IP", "B", 4, "ADP", "7502", 1, 364_000, SEP),  # exempt 2,800.00
            ("IP", "B", 5, "ADP", "9001", 2, 200_000, SEP),  # exempt min(2,000, 2 × 1,200)
            ("IP", "B", 6, "ADP", "31001", 1, 7_500, SEP),  # inside the DRG
            ("IP", "C", 7, "DRU", "100011", 1, 35, SEP),  # no exempt item
        ]
    )
    codes = _codes([("OP", "A", 3, "ADP", "C04")])
    priced = price_items(items, codes, ref["fee_schedule"], ref["drugs"])
    op = outpatient_allowed(priced)
    assert op.columns == ["claim_type", "claim_key", "items_allowed"]
    assert op.rows() == [("OP", "A", 4_500 + 700 + 0)]
    ip = exempt_allowed(priced)
    assert ip.columns == ["claim_type", "claim_key", "exempt_allowed"]
    assert ip.rows() == [("IP", "B", 280_000 + 200_000)]


KINDS_CODES = [
    ("ADP", "55020"),
    ("ADP", "30201"),
    ("ADP", "7502"),
    ("ADP", "99999"),
    ("DRU", "100011"),
    ("DRU", "700900"),
    ("DRU", "999999"),
]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["OP", "IP"]),
            st.sampled_from(KINDS_CODES),
            st.one_of(st.none(), st.integers(0, 10_000)),
            st.one_of(st.none(), st.integers(0, 10**12)),
            st.dates(date(2024, 1, 1), date(2027, 12, 31)),
            st.sampled_from([None, "C04", "C05", "B07", "E02"]),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_allowed_between_zero_and_charged(
    ref: dict[str, pl.DataFrame],
    rows: list[tuple[str, tuple[str, str], int | None, int | None, date, str | None]],
) -> None:
    items = _items(
        [
            (ct, f"K{i}", i, kc[0], kc[1], qty, chg, day)
            for i, (ct, kc, qty, chg, day, _) in enumerate(rows)
        ]
    )
    codes = _codes(
        [(r[0], f"K{i}", i, r[1][0], r[5]) for i, r in enumerate(rows) if r[5] is not None]
    )
    out = price_items(items, codes, ref["fee_schedule"], ref["drugs"])
    assert out.height == len(rows)
    assert out["allowed"].null_count() == 0
    assert (out["allowed"] >= 0).all()
    assert (out["allowed"] <= out["charged"].fill_null(0)).all()
