"""Which claim slots of a drop carry which intended fault.

Each code needs a slot it can happen on (B01 an inpatient, B05 a patient for whom a diagnosis of
the other sex exists, C01 a patient with a single claim in the drop...). A code that finds no
slot in this drop is carried to the next one. Faults that change who or when (B02, B03, K02) are
applied here, before the claim content is drawn, so that everything else stays consistent.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import numpy.typing as npt
import polars as pl

from jobs.synth.catalog import Catalog
from jobs.synth.pools import day_number
from jobs.synth.slots import age_at

__all__ = ["CLAIM_CODES", "DROP_CODES", "ROW_CODES", "SLOT_CODES", "assign_faults"]

DROP_CODES = ("F01", "F02", "F03", "F04", "F07", "F08")
#: Codes carried by one claim of a regular drop, in the order slots are handed out (the most
#: constrained first).
SLOT_CODES = (
    "B01",
    "B03",
    "B05",
    "B06",
    "C01",
    "B02",
    "S01",
    "S02",
    "S03",
    "S04",
    "S06",
    "S07",
    "C02",
    "C03",
    "C04",
    "C05",
    "C06",
    "B04",
    "B07",
    "K02",
    "K01",
)
#: Codes of rows that belong to no claim (S05) or of claims in a corrections drop (K03).
ROW_CODES = ("S05", "K03")
CLAIM_CODES = SLOT_CODES + ROW_CODES

_TWIN_COLUMNS = (
    "person",
    "pid",
    "sex",
    "dob",
    "thai",
    "nation",
    "fund",
    "home",
    "hmain",
    "name_u",
    "hn",
    "service",
    "visitor",
    "age",
    "age_key",
    "ucae",
    "aetype",
    "emergency",
    "refer",
    "inscl",
    "clinic",
    "sure_pay",
)


def _eligible(cat: Catalog, slots: pl.DataFrame, code: str) -> npt.NDArray[np.bool_]:
    free: npt.NDArray[np.bool_] = (
        slots["fault"].is_null().to_numpy() & ~slots["k02_source"].to_numpy()
    )
    op: npt.NDArray[np.bool_] = (slots["claim_type"] == "OP").to_numpy()
    keys = slots["age_key"].to_numpy()
    if code == "B01":
        return free & ~op
    if code == "B02":
        return free & op
    if code == "B03":
        adult: npt.NDArray[np.bool_] = (slots["age"] >= 2).to_numpy()
        return free & op & adult
    if code == "B05":
        return free & cat.wrong_sex.has(keys)
    if code == "B06":
        return free & cat.wrong_age.has(keys)
    if code == "C01":
        single: npt.NDArray[np.bool_] = slots["hn"].is_unique().to_numpy()
        return free & single
    return free


def _with_fault(slots: pl.DataFrame, fault: np.ndarray) -> pl.DataFrame:
    return slots.with_columns(fault=pl.Series(fault.tolist(), dtype=pl.String).replace("", None))


def assign_faults(
    cat: Catalog,
    slots: pl.DataFrame,
    wanted: Counter[str],
    rng: np.random.Generator,
    k01_sources: int,
) -> tuple[pl.DataFrame, Counter[str]]:
    """Mark slots with their fault; return the slots and the codes that found no slot."""
    left: Counter[str] = Counter()
    slots = slots.with_columns(k02_source=pl.lit(False))
    fault = slots["fault"].fill_null("").to_numpy().astype("<U3")
    for code in SLOT_CODES:
        want = wanted.get(code, 0)
        if not want:
            continue
        if code == "K02":
            slots, placed = _twins(_with_fault(slots, fault), want, rng)
            fault = slots["fault"].fill_null("").to_numpy().astype("<U3")
        else:
            limit = k01_sources if code == "K01" else want
            mask = _eligible(cat, _with_fault(slots, fault), code)
            chosen = rng.permutation(np.flatnonzero(mask))[: min(want, limit)]
            fault[chosen] = code
            placed = len(chosen)
        if placed < want:
            left[code] = want - placed
    for code in ROW_CODES:
        if wanted.get(code, 0):
            left[code] = wanted[code]
    return _shift_dates(cat, _with_fault(slots, fault), rng), left


def _twins(slots: pl.DataFrame, want: int, rng: np.random.Generator) -> tuple[pl.DataFrame, int]:
    """K02: a second outpatient claim of a patient on the same day (a new claim identity)."""
    free = slots["fault"].is_null().to_numpy() & (slots["claim_type"] == "OP").to_numpy()
    sources = rng.permutation(np.flatnonzero(free & slots["sure_pay"].to_numpy()))
    twins = rng.permutation(np.setdiff1d(np.flatnonzero(free), sources[:want]))
    k = min(want, len(sources), len(twins))
    if k == 0:
        return slots, 0
    twin_slots = slots["slot"].to_numpy()[twins[:k]].tolist()
    source_slots = slots["slot"].to_numpy()[sources[:k]].tolist()
    copied = (
        slots[sources[:k]]
        .select(_TWIN_COLUMNS)
        .with_columns(slot=pl.Series(twin_slots, dtype=pl.Int64))
    )
    is_twin = pl.col("slot").is_in(twin_slots)
    twinned = slots.filter(is_twin).drop(_TWIN_COLUMNS).join(copied, on="slot")
    filled = (
        pl.concat([slots.filter(~is_twin), twinned.select(slots.columns)])
        .sort("slot")
        .with_columns(
            fault=pl.when(is_twin).then(pl.lit("K02")).otherwise(pl.col("fault")),
            k02_source=pl.col("slot").is_in(source_slots),
        )
    )
    return filled, k


def _shift_dates(cat: Catalog, slots: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """B02: served after the as-of (received) date; B03: more than 365 days before it."""
    as_of = day_number(cat.as_of)
    n = slots.height
    late = as_of + 1 + (rng.random(n) * 15).astype(np.int64)
    stale = as_of - 366 - (rng.random(n) * 60).astype(np.int64)
    shifted = slots.with_columns(
        service=pl.when(pl.col("fault") == "B02")
        .then(pl.Series(late).cast(pl.Int32).cast(pl.Date))
        .when(pl.col("fault") == "B03")
        .then(pl.Series(stale).cast(pl.Int32).cast(pl.Date))
        .otherwise(pl.col("service")),
    ).with_columns(age=age_at(pl.col("service"), pl.col("dob")))
    return shifted.with_columns(
        age_key=cat.age_key(shifted["sex"].to_numpy(), shifted["age"].to_numpy())
    )
