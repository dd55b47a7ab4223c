"""Keys across drops (K01–K03) and version numbering, against the stored history.

``history`` holds the stored claim versions of the submitting hospital that share an identity
or a person with the drop: ``claim_type, claim_key, version, status, person_id,
coverage_date, admitted_at, discharged_at``.
"""

from __future__ import annotations

import polars as pl

from clearinghouse.schema import CLAIM_ID

__all__ = ["HISTORY_SCHEMA", "key_codes", "near_duplicates", "versions"]

HISTORY_SCHEMA = pl.Schema(
    {
        "claim_type": pl.String(),
        "claim_key": pl.String(),
        "version": pl.Int64(),
        "status": pl.String(),
        "person_id": pl.String(),
        "coverage_date": pl.Date(),
        "admitted_at": pl.Datetime("us"),
        "discharged_at": pl.Datetime("us"),
    }
)

_STAY = ["person_id", "coverage_date", "admitted_at", "discharged_at"]


def _effective(history: pl.DataFrame) -> pl.DataFrame:
    """The latest A or D version of each stored identity."""
    return (
        history.filter(pl.col("status").is_in(["A", "D"])).sort("version").group_by(CLAIM_ID).last()
    )


def versions(claims: pl.DataFrame, history: pl.DataFrame) -> pl.DataFrame:
    """Per claim of the drop: its new version number and the A/D version it would replace."""
    stored = history.group_by(CLAIM_ID).agg(latest=pl.col("version").max())
    effective = _effective(history).select(*CLAIM_ID, replaceable="version")
    return (
        claims.select(CLAIM_ID)
        .join(stored, on=CLAIM_ID, how="left")
        .join(effective, on=CLAIM_ID, how="left")
        .select(
            *CLAIM_ID,
            version=(pl.col("latest").fill_null(0) + 1).cast(pl.Int64),
            replaceable=pl.col("replaceable").cast(pl.Int64),
        )
    )


def key_codes(claims: pl.DataFrame, history: pl.DataFrame, *, corrections: bool) -> pl.DataFrame:
    """K01 (already accepted or denied, not a correction) or K03 (a correction of nothing)."""
    has_effective = _effective(history).select(CLAIM_ID)
    if corrections:
        hits = claims.join(has_effective, on=CLAIM_ID, how="anti")
        return hits.select(*CLAIM_ID, code=pl.lit("K03"))
    hits = claims.join(has_effective, on=CLAIM_ID, how="semi")
    return hits.select(*CLAIM_ID, code=pl.lit("K01"))


def near_duplicates(claims: pl.DataFrame, history: pl.DataFrame) -> pl.DataFrame:
    """K02: another identity of the same person and type, effective version A, same visit.

    Same visit = the same OP service date, or IP stays that overlap strictly. The drop's own
    accepted claims count, and replace a stored version of the same identity.
    """
    drop_accepted = claims.filter(pl.col("status") == "A").select(*CLAIM_ID, *_STAY)
    stored = (
        _effective(history)
        .filter(pl.col("status") == "A")
        # A stored version that this drop replaces (a correction to A or D) no longer counts.
        .join(
            claims.filter(pl.col("status").is_in(["A", "D"])).select(CLAIM_ID),
            on=CLAIM_ID,
            how="anti",
        )
        .select(*CLAIM_ID, *_STAY)
    )
    others = pl.concat([drop_accepted, stored]).filter(pl.col("person_id") != "")
    pairs = (
        claims.filter(pl.col("person_id") != "")
        .select(*CLAIM_ID, *_STAY)
        .join(others, on=["claim_type", "person_id"], suffix="_other")
    )
    same_visit = (
        pl.when(pl.col("claim_type") == "OP")
        .then(pl.col("coverage_date") == pl.col("coverage_date_other"))
        .otherwise(
            (pl.col("admitted_at") < pl.col("discharged_at_other"))
            & (pl.col("admitted_at_other") < pl.col("discharged_at"))
        )
    )
    return (
        pairs.filter(
            (pl.col("claim_key") != pl.col("claim_key_other")) & same_visit.fill_null(False)
        )
        .select(*CLAIM_ID, code=pl.lit("K02"))
        .unique()
    )
