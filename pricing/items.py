"""Item pricing: each ADP and DRU item against the central reference price valid on its date.

Pure and set-based (frames in, frames out), money in ``Int64`` satang throughout.
"""

from __future__ import annotations

import polars as pl

from clearinghouse.rules.items import effective_on
from clearinghouse.schema import CLAIM_ID, ITEM_KEY

__all__ = ["ZERO_PRICE_CODES", "exempt_allowed", "outpatient_allowed", "price_items"]

#: What an item's reference price depends on.
PRICE_KEY = ["kind", "code", "pricing_date"]
_ROW = "__item_row"

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


def _overlapping(reference: pl.DataFrame) -> bool:
    """Whether two rows of the same kind and code are valid on a common date."""
    rows = reference.select("kind", "code", "valid_from", "valid_to").with_row_index("row")
    pairs = rows.join(rows, on=["kind", "code"], suffix="_other").filter(
        pl.col("row") != pl.col("row_other"),
        pl.col("valid_from") <= pl.col("valid_from_other"),
        pl.col("valid_to").is_null() | (pl.col("valid_to") >= pl.col("valid_from_other")),
    )
    return pairs.height > 0


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
    reference = _reference_prices(fee_schedule, drugs)
    zeroed = item_codes.filter(pl.col("code").is_in(ZERO_PRICE_CODES)).select(ITEM_KEY)
    # Both lookups yield only their new columns, aligned to ``items`` by row number (a join's
    # output order is not guaranteed), so the items' own columns are never copied.
    keys = items.lazy().select(*ITEM_KEY, "kind", "code", "pricing_date").with_row_index(_ROW)
    candidates = (
        keys.join(reference.lazy(), on=["kind", "code"], how="inner")
        .filter(effective_on(pl.col("pricing_date")))
        .select(_ROW, "unit_price", "drg_exempt", "valid_from")
    )
    if _overlapping(reference):
        # Overlapping rows are refused at load; the latest start only makes the choice total.
        candidates = candidates.sort([_ROW, "valid_from"], descending=[False, True]).unique(
            _ROW, keep="first", maintain_order=True
        )
    else:
        # At most one row per code is valid on any date: no choice to make.
        candidates = candidates.sort(_ROW)
    found, zeroed_rows = pl.collect_all(
        [candidates, keys.join(zeroed.lazy(), on=ITEM_KEY, how="semi").select(_ROW)]
    )
    rows = found[_ROW]
    unit_price = pl.repeat(None, items.height, dtype=pl.Int64, eager=True).scatter(
        rows, found["unit_price"]
    )
    drg_exempt = pl.repeat(False, items.height, eager=True).scatter(rows, found["drg_exempt"])
    zeroed_mask = pl.repeat(False, items.height, eager=True).scatter(zeroed_rows[_ROW], True)
    ceiling = pl.col("quantity").cast(pl.Int128) * pl.col("unit_price")
    priced = pl.min_horizontal(pl.col("charged").cast(pl.Int128), ceiling).clip(lower_bound=0)
    inside_drg = (pl.col("claim_type") == "IP") & ~pl.col("drg_exempt")
    # On the columns it reads only: the new columns are chunked unlike ``items``, and aligning
    # them would copy every item column.
    allowed = (
        pl.DataFrame([items["claim_type"], items["charged"], items["quantity"]])
        .with_columns(unit_price=unit_price, drg_exempt=drg_exempt, zeroed=zeroed_mask)
        .select(
            allowed=pl.when(
                pl.col("zeroed")
                | inside_drg
                | pl.col("charged").is_null()
                | pl.col("quantity").is_null()
                | pl.col("unit_price").is_null()
            )
            .then(pl.lit(0, pl.Int64))
            .otherwise(priced.cast(pl.Int64))
        )
        .to_series()
    )
    return items.with_columns(unit_price=unit_price, drg_exempt=drg_exempt, allowed=allowed)


def outpatient_allowed(priced_items: pl.DataFrame) -> pl.DataFrame:
    """Σ item allowed per OP claim: ``claim_type, claim_key, items_allowed``.

    Claims without items are absent; their allowed amount is 0.
    """
    return (
        priced_items.lazy()  # only the three columns used are read, not every item column
        .filter(pl.col("claim_type") == "OP")
        .group_by(CLAIM_ID)
        .agg(items_allowed=pl.col("allowed").sum())
        .collect()
    )


def exempt_allowed(priced_items: pl.DataFrame) -> pl.DataFrame:
    """Σ allowed of the DRG-exempt items per IP claim: ``claim_type, claim_key, exempt_allowed``.

    Claims without such items are absent; their sum is 0.
    """
    return (
        priced_items.lazy()  # only the four columns used are read, not every item column
        .filter((pl.col("claim_type") == "IP") & pl.col("drg_exempt"))
        .group_by(CLAIM_ID)
        .agg(exempt_allowed=pl.col("allowed").sum())
        .collect()
    )
