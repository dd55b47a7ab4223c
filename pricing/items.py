"""Item pricing: each ADP and DRU item against the central reference price valid on its date.

Pure and set-based (frames in, frames out), money in ``Int64`` satang throughout.
"""

from __future__ import annotations

import polars as pl

from clearinghouse.rules.items import effective_on

__all__ = ["ZERO_PRICE_CODES", "exempt_allowed", "outpatient_allowed", "price_items"]

CLAIM_ID = ["claim_type", "claim_key"]
ITEM_KEY = [*CLAIM_ID, "file", "line"]

#: Item codes that price the item at 0.
ZERO_PRICE_CODES = ("C04", "C05", "B07")


def _reference_prices(fee_schedule: pl.DataFrame, drugs: pl.DataFrame) -> pl.DataFrame:
    """Fee schedule and drug ceilings as one frame: kind, code, unit_price, drg_exempt, validity."""
    fees = fee_schedule.select(
        kind=pl.lit("ADP"),
        code="code",
        unit_price="unit_price",
        drg_exempt=pl.col("drg_exempt").fill_null(False),
        valid_from="valid_from",
        valid_to="valid_to",
    )
    ceilings = drugs.select(
        kind=pl.lit("DRU"),
        code="code",
        unit_price="ceiling_price",
        drg_exempt=pl.lit(False),
        valid_from="valid_from",
        valid_to="valid_to",
    )
    return pl.concat([fees, ceilings])


def price_items(
    items: pl.DataFrame,
    item_codes: pl.DataFrame,
    fee_schedule: pl.DataFrame,
    drugs: pl.DataFrame,
) -> pl.DataFrame:
    """The allowed amount of every item.

    Args:
        items: as from :func:`clearinghouse.facts.item_facts` (``claim_type, claim_key, file,
            line, kind, code, quantity, unit_charge, charged, pricing_date``).
        item_codes: the item codes raised, long (``claim_type, claim_key, file, line, code``);
            only C04, C05 and B07 matter here.
        fee_schedule, drugs: the reference frames.

    Returns:
        ``items`` plus ``unit_price`` (satang per unit, from the fee schedule for ADP or the drug
        ceiling for DRU, valid on ``pricing_date``; null when none), ``drg_exempt`` (Bool, an
        ADP item whose fee row is paid on top of the DRG) and ``allowed`` (``Int64`` satang,
        never null): min(charged, quantity × unit_price), 0 when the item carries C04/C05/B07,
        or charged, quantity or unit_price is null; for an IP claim every item but a DRG-exempt
        ADP item is inside the DRG and priced 0.
    """
    prices = (
        items.select(*ITEM_KEY, "kind", "code", "pricing_date")
        .join(_reference_prices(fee_schedule, drugs), on=["kind", "code"], how="inner")
        .filter(effective_on(pl.col("pricing_date")))
        # Overlapping rows are refused at load; the latest start only makes the choice total.
        .sort([*ITEM_KEY, "valid_from"], descending=[False] * len(ITEM_KEY) + [True])
        .group_by(ITEM_KEY, maintain_order=True)
        .agg(pl.col("unit_price").first(), pl.col("drg_exempt").first())
    )
    zeroed = (
        item_codes.filter(pl.col("code").is_in(ZERO_PRICE_CODES))
        .select(ITEM_KEY)
        .unique()
        .with_columns(zeroed=pl.lit(True))
    )
    ceiling = pl.col("quantity").cast(pl.Int128) * pl.col("unit_price")
    priced = pl.min_horizontal(pl.col("charged").cast(pl.Int128), ceiling).clip(lower_bound=0)
    inside_drg = (pl.col("claim_type") == "IP") & ~pl.col("drg_exempt")
    return (
        items.join(prices, on=ITEM_KEY, how="left")
        .join(zeroed, on=ITEM_KEY, how="left")
        .with_columns(pl.col("drg_exempt").fill_null(False))
        .with_columns(
            allowed=pl.when(
                pl.col("zeroed").fill_null(False)
                | inside_drg
                | pl.col("charged").is_null()
                | pl.col("quantity").is_null()
                | pl.col("unit_price").is_null()
            )
            .then(pl.lit(0, pl.Int64))
            .otherwise(priced.cast(pl.Int64)),
        )
        .drop("zeroed")
    )


def outpatient_allowed(priced_items: pl.DataFrame) -> pl.DataFrame:
    """Σ item allowed per OP claim: ``claim_type, claim_key, items_allowed``.

    Claims without items are absent; their allowed amount is 0.
    """
    return (
        priced_items.filter(pl.col("claim_type") == "OP")
        .group_by(CLAIM_ID)
        .agg(items_allowed=pl.col("allowed").sum())
    )


def exempt_allowed(priced_items: pl.DataFrame) -> pl.DataFrame:
    """Σ allowed of the DRG-exempt items per IP claim: ``claim_type, claim_key, exempt_allowed``.

    Claims without such items are absent; their sum is 0.
    """
    return (
        priced_items.filter((pl.col("claim_type") == "IP") & pl.col("drg_exempt"))
        .group_by(CLAIM_ID)
        .agg(exempt_allowed=pl.col("allowed").sum())
    )
