"""What the generator may draw from a reference set: hospitals, funds and pools of valid codes.

Nothing here names a code that might be missing: every code comes from the reference frames,
and the "unknown" codes that faults need are searched for so they are surely absent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from clearinghouse.errors import UsageError
from jobs.synth.pools import Ints, KeyedPool, day_number
from pricing.reference import read_reference_file

__all__ = ["AGE_CAP", "Catalog", "load_catalog"]

AGE_CAP = 120
#: External causes (V01-Y98) are never a principal diagnosis; they are the accident's cause.
_EXTERNAL = ("V", "W", "X", "Y")
_SEXES = pl.DataFrame({"psex": ["1", "2"]})
#: How far back (days before the as-of date) inpatient discharges and reference validity reach.
IP_LOOKBACK = 340
_DATED_BEFORE, _DATED_AFTER = 800, 120


@dataclass(frozen=True, slots=True)
class Catalog:
    """Reference data shaped for vectorized picking (see :func:`load_catalog`)."""

    as_of: date
    first_day: date  # the first day every dated reference table has rows for
    hospitals: pl.DataFrame  # hcode, province, type; row position = hospital index
    registry_funds: tuple[str, ...]
    op_refer_funds: frozenset[str]
    categories: tuple[str, ...]
    age_breaks: Ints
    dx: KeyedPool  # key = age_key; rows: code
    ip_dx: KeyedPool  # key = age_key * 2 + procedural; rows: code, wtlos, ot
    wrong_sex: KeyedPool  # codes restricted to the other sex, age fitting
    wrong_age: KeyedPool  # codes for the sex whose age range excludes the band
    external: KeyedPool  # key 0: external-cause codes
    fee_breaks: Ints
    fees: KeyedPool  # key = validity interval; rows: code, price
    drug_breaks: Ints
    drugs: KeyedPool
    ip_rates: frozenset[tuple[str, str]]  # (rate fund, hospital type) with both IP base rates
    unknown: dict[str, str]  # icd, fee, drug, category, hcode -> a code absent from the set

    @property
    def n_bands(self) -> int:
        return len(self.age_breaks) - 1

    def age_key(self, sex: Ints, age: Ints) -> Ints:
        """Pool key of (sex 1/2, age in whole years)."""
        band = np.searchsorted(self.age_breaks, np.clip(age, 0, AGE_CAP), side="right") - 1
        band = np.clip(band, 0, self.n_bands - 1)
        return ((sex - 1) * self.n_bands + band).astype(np.int64)

    def fee_key(self, days: Ints) -> Ints:
        return _interval(self.fee_breaks, days)

    def drug_key(self, days: Ints) -> Ints:
        return _interval(self.drug_breaks, days)


def _interval(breaks: Ints, days: Ints) -> Ints:
    found = np.searchsorted(breaks, days, side="right") - 1
    return np.clip(found, 0, len(breaks) - 2).astype(np.int64)


def load_catalog(reference_dir: Path, as_of: date) -> Catalog:
    """Read the reference files the generator needs from ``reference_dir``."""
    ref = {
        name: read_reference_file(reference_dir / f"{name}.csv")
        for name in (
            "hospitals",
            "funds",
            "icd10",
            "charge_categories",
            "fee_schedule",
            "drugs",
            "drg",
            "drg_grouping",
            "base_rates",
        )
    }
    hospitals = ref["hospitals"].select("hcode", "province", "type").sort("hcode")
    funds = ref["funds"]
    registry_funds = tuple(
        funds.filter(pl.col("cap_per_claim").is_null() & (pl.col("code") != "MNF"))["code"]
    )
    first_day = max(
        ref[name]["valid_from"].min() or as_of
        for name in ("fee_schedule", "drugs", "drg", "base_rates")
    )
    if not isinstance(first_day, date) or first_day > as_of:
        raise UsageError(f"the reference data in {reference_dir} starts after {as_of}")
    ip_lo, ip_hi = max(as_of - timedelta(days=IP_LOOKBACK), first_day), as_of
    icd = ref["icd10"]
    breaks = _age_breaks(icd)
    bands = pl.DataFrame(
        {"band": np.arange(len(breaks) - 1), "lo": breaks[:-1], "hi": breaks[1:] - 1}
    )
    grid = (
        icd.join(bands, how="cross")
        .join(_SEXES, how="cross")
        .with_columns(
            key=(pl.col("psex").cast(pl.Int64) - 1) * len(bands) + pl.col("band"),
            fits_age=(pl.col("age_min").fill_null(0) <= pl.col("lo"))
            & (pl.col("age_max").fill_null(AGE_CAP) >= pl.col("hi")),
            outside_age=(pl.col("age_max").fill_null(AGE_CAP) < pl.col("lo"))
            | (pl.col("age_min").fill_null(0) > pl.col("hi")),
            fits_sex=pl.col("sex").is_null() | (pl.col("sex") == pl.col("psex")),
            external=pl.col("code").str.slice(0, 1).is_in(_EXTERNAL),
        )
    )
    n_keys = 2 * len(bands)
    dx_rows = grid.filter(pl.col("fits_age") & pl.col("fits_sex") & ~pl.col("external"))
    groups = _groupable(icd, ref["drg_grouping"], ref["drg"], ip_lo, ip_hi, as_of)
    ip_rows = dx_rows.join(groups, on="code").select(
        key=pl.col("key") * 2 + pl.col("procedural").cast(pl.Int64),
        code="code",
        wtlos="wtlos",
        ot="ot",
    )
    fee_breaks, fees = _dated_pool(ref["fee_schedule"].rename({"unit_price": "price"}), as_of)
    drug_breaks, drugs = _dated_pool(ref["drugs"].rename({"ceiling_price": "price"}), as_of)
    categories = tuple(sorted(ref["charge_categories"]["code"]))
    return Catalog(
        as_of=as_of,
        first_day=first_day,
        hospitals=hospitals,
        registry_funds=registry_funds,
        op_refer_funds=frozenset(funds.filter(pl.col("op_refer"))["code"]),
        categories=categories,
        age_breaks=breaks,
        dx=KeyedPool.build(dx_rows.select("key", "code"), n_keys, ["code"]),
        ip_dx=KeyedPool.build(ip_rows, 2 * n_keys, ["code"]),
        wrong_sex=KeyedPool.build(
            grid.filter(pl.col("fits_age") & ~pl.col("fits_sex")).select("key", "code"),
            n_keys,
            ["code"],
        ),
        wrong_age=KeyedPool.build(
            grid.filter(pl.col("outside_age") & pl.col("fits_sex") & ~pl.col("external")).select(
                "key", "code"
            ),
            n_keys,
            ["code"],
        ),
        external=KeyedPool.build(
            icd.filter(pl.col("code").str.slice(0, 1).is_in(_EXTERNAL)).select(
                pl.lit(0, pl.Int64).alias("key"), "code"
            ),
            1,
            ["code"],
        ),
        fee_breaks=fee_breaks,
        fees=fees,
        drug_breaks=drug_breaks,
        drugs=drugs,
        ip_rates=_ip_rates(ref["base_rates"], set(hospitals["type"]), ip_lo, ip_hi),
        unknown={
            "icd": _absent(set(icd["code"]), "U9{:02d}", 100),
            "fee": _absent(set(ref["fee_schedule"]["code"]), "9{:04d}", 10_000),
            "drug": _absent(set(ref["drugs"]["code"]), "99{:04d}", 10_000),
            "category": _absent(set(categories), "Z{}", 10),
            "hcode": _absent(set(hospitals["hcode"]), "99{:03d}", 1000, descending=True),
        },
    )


def _age_breaks(icd: pl.DataFrame) -> Ints:
    edges = {0, AGE_CAP + 1}
    edges.update(int(v) for v in icd["age_min"].drop_nulls() if 0 <= v <= AGE_CAP)
    edges.update(int(v) + 1 for v in icd["age_max"].drop_nulls() if 0 <= v < AGE_CAP)
    return np.array(sorted(edges), dtype=np.int64)


def _days(lo: date, hi: date) -> pl.DataFrame:
    return pl.DataFrame({"day": pl.date_range(lo, hi, eager=True)})


def _valid_on_day() -> pl.Expr:
    return (pl.col("valid_from") <= pl.col("day")) & (
        pl.col("valid_to").is_null() | (pl.col("valid_to") >= pl.col("day"))
    )


def _groupable(
    icd: pl.DataFrame, grouping: pl.DataFrame, drg: pl.DataFrame, lo: date, hi: date, as_of: date
) -> pl.DataFrame:
    """(code, procedural) pairs that group to a DRG valid every day of ``lo..hi``."""
    grouping = grouping.with_columns(length=pl.col("pdx_prefix").str.len_chars())
    matches = [
        icd.select("code", prefix=pl.col("code").str.slice(0, length))
        .join(grouping.filter(pl.col("length") == length), left_on="prefix", right_on="pdx_prefix")
        .select("code", "procedural", "drg", "length")
        for length in sorted(set(grouping["length"]))
    ]
    best = (
        pl.concat(matches)
        .sort("code", "procedural", "length", descending=[False, False, True])
        .unique(["code", "procedural"], keep="first", maintain_order=True)
    )
    n_days = (hi - lo).days + 1
    covered = (
        drg.join(_days(lo, hi), how="cross")
        .filter(_valid_on_day())
        .group_by("drg")
        .agg(pl.col("day").n_unique().alias("n"))
        .filter(pl.col("n") == n_days)
    )
    params = drg.filter(
        (pl.col("valid_from") <= as_of)
        & (pl.col("valid_to").is_null() | (pl.col("valid_to") >= as_of))
    ).select("drg", wtlos=pl.col("wtlos_e4") / 10_000, ot=pl.col("ot_e4") // 10_000)
    return (
        best.join(covered.select("drg"), on="drg")
        .join(params, on="drg")
        .select("code", "procedural", "wtlos", "ot")
    )


def _dated_pool(rows: pl.DataFrame, as_of: date) -> tuple[Ints, KeyedPool]:
    """Split the reference window at every validity edge; list the rows valid per interval."""
    lo = day_number(as_of) - _DATED_BEFORE
    hi = day_number(as_of) + _DATED_AFTER
    days = rows.select(
        start=pl.col("valid_from").cast(pl.Int64),
        end=pl.col("valid_to").cast(pl.Int64) + 1,
    )
    edges = {lo, hi + 1}
    for column in ("start", "end"):
        edges.update(int(v) for v in days[column].drop_nulls() if lo < v <= hi)
    breaks = np.array(sorted(edges), dtype=np.int64)
    intervals = pl.DataFrame(
        {"key": np.arange(len(breaks) - 1), "lo": breaks[:-1], "hi": breaks[1:] - 1}
    )
    valid = (
        rows.with_columns(days)
        .join(intervals, how="cross")
        .filter(
            (pl.col("start") <= pl.col("lo"))
            & (pl.col("end").is_null() | (pl.col("end") > pl.col("hi")))
        )
        .select("key", "code", "price")
    )
    # Cheapest first, so that a skewed uniform favours everyday items.
    return breaks, KeyedPool.build(valid, len(breaks) - 1, ["price", "code"])


def _ip_rates(
    rates: pl.DataFrame, types: set[str], lo: date, hi: date
) -> frozenset[tuple[str, str]]:
    """(fund, hospital type) pairs with an IP and an IP_EMERGENCY base rate on every day."""
    kinds = pl.DataFrame({"htype": sorted(types)})
    expanded = rates.join(kinds, how="cross").filter(
        (pl.col("hospital_type") == "*") | (pl.col("hospital_type") == pl.col("htype"))
    )
    n_days = (hi - lo).days + 1
    covered = (
        expanded.join(_days(lo, hi), how="cross")
        .filter(_valid_on_day())
        .group_by("fund", "htype", "care")
        .agg(pl.col("day").n_unique().alias("n"))
        .filter(pl.col("n") == n_days)
        .group_by("fund", "htype")
        .agg(pl.col("care").n_unique().alias("cares"))
        .filter(pl.col("cares") == 2)
    )
    return frozenset(zip(covered["fund"], covered["htype"], strict=True))


def _absent(existing: set[str], template: str, count: int, *, descending: bool = False) -> str:
    """The first code of ``template.format(i)`` (i counting up, or down) not in ``existing``."""
    order = range(count - 1, -1, -1) if descending else range(count)
    for i in order:
        code = template.format(i)
        if code not in existing:
            return code
    raise ValueError(f"no free code of the form {template}")
