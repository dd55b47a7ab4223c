"""Item rules (C04, C05, B07) and the charge-category rule C06, as reference joins."""

from __future__ import annotations

import polars as pl

from clearinghouse.schema import ITEM_KEY

__all__ = ["effective_on", "item_rule_columns", "unknown_categories"]


def effective_on(date: pl.Expr) -> pl.Expr:
    """A reference row applies on ``date``: valid_from ≤ date ≤ valid_to (open-ended null)."""
    return (pl.col("valid_from") <= date) & (
        pl.col("valid_to").is_null() | (date <= pl.col("valid_to"))
    )


def _known_on_date(items: pl.DataFrame, reference: pl.DataFrame, kind: str) -> pl.DataFrame:
    """The items of ``kind`` whose code has a reference row valid on the pricing date."""
    codes = reference.select("code", "valid_from", "valid_to")
    return (
        items.filter(pl.col("kind") == kind)
        .select(*ITEM_KEY, "code", "pricing_date")
        .join(codes, on="code", how="inner")
        .filter(effective_on(pl.col("pricing_date")))
        .select(ITEM_KEY)
        .unique()
        .with_columns(known=pl.lit(True))
    )


def item_rule_columns(
    items: pl.DataFrame, fee_schedule: pl.DataFrame, drugs: pl.DataFrame
) -> pl.DataFrame:
    """One row per item with a boolean per item code (C04, C05, B07)."""
    known = pl.concat(
        [_known_on_date(items, fee_schedule, "ADP"), _known_on_date(items, drugs, "DRU")]
    )
    checkable = (pl.col("code") != "") & pl.col("pricing_date").is_not_null()
    unknown = checkable & pl.col("known").is_null()
    return items.join(known, on=ITEM_KEY, how="left").select(
        *ITEM_KEY,
        C04=(pl.col("kind") == "ADP") & unknown,
        C05=(pl.col("kind") == "DRU") & unknown,
        B07=(pl.col("quantity") == 0).fill_null(False),
    )


def unknown_categories(cha: pl.DataFrame, categories: pl.DataFrame) -> pl.DataFrame:
    """C06: the claims with a CHA category code not in the reference."""
    return (
        cha.with_columns(code=pl.col("CHRGITEM").str.strip_chars())
        .filter(pl.col("code") != "")
        .join(categories.select("code"), on="code", how="anti")
        .select("claim_type", "claim_key", code=pl.lit("C06"))
        .unique()
    )
