"""Priced lines of claim slots (ADP fee items and DRU drugs) and the charges they add up to.

Codes are drawn from the reference rows valid on the claim's pricing date; prices sit around
the reference price (often above it, so that allowed < charged). CHA rows are the items summed
by charge category (plus room charges for inpatients), and CHT's TOTAL is exactly their sum.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from jobs.synth.catalog import Catalog
from jobs.synth.pools import pick_weighted

__all__ = ["Charges", "charges"]

_ADP_CATEGORIES = ("71", "81", "91", "B1", "C1", "51", "21", "A1", "E1", "H1")
_ADP_TYPES = ("3", "8", "8", "12", "13", "15", "17")
_DRUG_QUANTITIES = np.array([1, 2, 3, 5, 7, 10, 14, 20, 28, 30, 60])


@dataclass(frozen=True, slots=True)
class Charges:
    """Typed item and charge frames of a set of slots, keyed by claim ``key``."""

    items: pl.DataFrame  # key, kind (ADP/DRU), code, qty, rate, total, blank_total, category, ...
    cha: pl.DataFrame  # key, category, amount
    cht: pl.DataFrame  # key, total (satang), present


def _first_in(candidates: tuple[str, ...], available: tuple[str, ...]) -> str:
    for code in candidates:
        if code in available:
            return code
    return available[0]


def _lines(
    cat: Catalog, slots: pl.DataFrame, kind: str, counts: np.ndarray, rng: np.random.Generator
) -> pl.DataFrame:
    owner = np.repeat(np.arange(slots.height), counts)
    n = len(owner)
    day = slots["service"].cast(pl.Int32).to_numpy().astype(np.int64)[owner]
    pool, pool_key = (cat.fees, cat.fee_key) if kind == "ADP" else (cat.drugs, cat.drug_key)
    ip = (slots["claim_type"] == "IP").to_numpy()[owner]
    picked = pool.pick(pool_key(day), rng.random(n) ** np.where(ip, 1.3, 2.5))
    price = picked["price"].fill_null(100).to_numpy()
    factor = np.where(rng.random(n) < 0.55, 1.0, 0.85 + rng.random(n) * 0.75)
    rate = np.maximum(1, np.floor(price * factor + 0.5)).astype(np.int64)
    if kind == "ADP":
        qty = np.where(rng.random(n) < 0.8, 1, 2 + (rng.random(n) < 0.3)).astype(np.int64)
        adp = tuple(c for c in _ADP_CATEGORIES if c in cat.categories) or cat.categories
        category = np.array(adp)[(rng.random(n) * len(adp)).astype(np.int64)]
        extra = np.array(_ADP_TYPES)[(rng.random(n) * len(_ADP_TYPES)).astype(np.int64)]
    else:
        qty = _DRUG_QUANTITIES[(rng.random(n) * len(_DRUG_QUANTITIES)).astype(np.int64)]
        qty = np.where(price > 10_000, 1 + (rng.random(n) < 0.3), qty)
        category = np.where(
            ip, _first_in(("31", "41"), cat.categories), _first_in(("41", "31"), cat.categories)
        )
        extra = np.where(ip, "1", "2")  # USE_STATUS: used in hospital / taken home
    fault = slots["fault"].to_numpy().astype(object)[owner]
    first = np.ones(n, dtype=bool)
    first[1:] = owner[1:] != owner[:-1]
    unknown = {"ADP": ("C04", cat.unknown["fee"]), "DRU": ("C05", cat.unknown["drug"])}[kind]
    code = np.where(
        first & (fault == unknown[0]),
        unknown[1],
        picked["code"].fill_null(unknown[1]).to_numpy().astype(str),
    )
    if kind == "ADP":
        qty = np.where(first & (fault == "B07"), 0, qty)
    return pl.DataFrame(
        {
            "key": slots["key"].gather(owner),
            "kind": pl.Series([kind] * n, dtype=pl.String),
            "code": pl.Series(code, dtype=pl.String),
            "qty": qty.astype(np.int64),
            "rate": rate,
            "total": qty.astype(np.int64) * rate,
            "blank_total": rng.random(n) < 0.04,
            "category": pl.Series(category, dtype=pl.String),
            "extra": pl.Series(extra, dtype=pl.String),
        }
    )


def charges(cat: Catalog, slots: pl.DataFrame, rng: np.random.Generator) -> Charges:
    """Items, CHA and CHT of every slot (with C04, C05, B07, C06 and B04 faults applied)."""
    n = slots.height
    ip = (slots["claim_type"] == "IP").to_numpy()
    n_items = np.where(
        ip,
        8 + (rng.random(n) * 8).astype(np.int64),
        5 + pick_weighted(rng.random(n), [2, 4, 6, 6, 5, 4, 3, 2, 2, 1, 1]),
    )
    n_adp = np.clip(np.rint(n_items * (0.25 + rng.random(n) * 0.3)), 1, n_items - 1)
    n_adp = n_adp.astype(np.int64)
    items = pl.concat(
        [
            _lines(cat, slots, "ADP", n_adp, rng),
            _lines(cat, slots, "DRU", n_items - n_adp, rng),
        ]
    )
    room = _first_in(("11", "12"), cat.categories)
    per_day = 40_000 + (rng.random(n) * 80).astype(np.int64) * 1_000
    stay = (
        slots.select("key", nights=pl.col("los") + 1)
        .with_columns(amount=pl.Series(per_day) * pl.col("nights"))
        .filter(pl.Series(ip))
    )
    cha = (
        pl.concat(
            [
                items.select("key", "category", amount="total"),
                stay.select("key", category=pl.lit(room), amount="amount"),
            ]
        )
        .group_by("key", "category")
        .agg(pl.col("amount").sum())
        .sort("key", "category")
    )
    c06 = slots.filter(pl.col("fault") == "C06")["key"].to_list()
    first = pl.col("key").is_first_distinct()
    cha = cha.with_columns(
        category=pl.when(first & pl.col("key").is_in(c06))
        .then(pl.lit(cat.unknown["category"]))
        .otherwise(pl.col("category"))
    )
    totals = cha.group_by("key").agg(pl.col("amount").sum().alias("total"))
    shift = 100 * (1 + (rng.random(n) * 500).astype(np.int64))
    drop_row = rng.random(n) < 0.5
    cht = (
        slots.select("key", "fault", shift=pl.Series(shift), drop_row=pl.Series(drop_row))
        .join(totals, on="key", how="left", maintain_order="left")
        .select(
            "key",
            total=pl.when(pl.col("fault") == "B04")
            .then(pl.col("total") + pl.col("shift"))
            .otherwise(pl.col("total"))
            .fill_null(0),
            present=~((pl.col("fault") == "B04") & pl.col("drop_row")).fill_null(False),
        )
    )
    return Charges(items=items, cha=cha, cht=cht)
