"""Obligations from judged claims: who owes whom, per claim version (pure, set-based).

CLAIM: each fund in the payers of an ``A`` version pays the treating hospital. REFER: the main
hospital of an in-province outpatient referral pays the coverage fund. REVERSAL: when a
correction replaces a version, each of that version's CLAIM and REFER obligations is paid back
(payee → payer, same amount), in the period of the correction.
"""

from __future__ import annotations

import polars as pl

__all__ = ["OBLIGATION_SCHEMA", "claim_obligations", "reversals"]

OBLIGATION_SCHEMA = pl.Schema(
    {
        "payer": pl.String(),
        "payee": pl.String(),
        "amount": pl.Int64(),
        "kind": pl.String(),
        "claim_version_id": pl.Int64(),
        "hcode": pl.String(),
        "claim_type": pl.String(),
        "claim_key": pl.String(),
        "version": pl.Int64(),
        "period": pl.String(),
        "reverses_id": pl.Int64(),
    }
)

_VERSION = ["hcode", "claim_type", "claim_key", "version", "period"]


def claim_obligations(claims: pl.DataFrame, payers: pl.DataFrame) -> pl.DataFrame:
    """CLAIM and REFER obligations of the accepted versions.

    Args:
        claims: stored claim versions: ``id`` plus hcode, claim_type, claim_key, version,
            period, status, coverage_fund, refer_charge_to, refer_charge.
        payers: ``claim_version_id, fund, amount``.
    """
    accepted = claims.filter(pl.col("status") == "A")
    claim = (
        payers.filter(pl.col("amount") > 0)
        .join(accepted.select("id", *_VERSION), left_on="claim_version_id", right_on="id")
        .select(
            payer=pl.format("F:{}", "fund"),
            payee=pl.format("H:{}", "hcode"),
            amount="amount",
            kind=pl.lit("CLAIM"),
            claim_version_id="claim_version_id",
            **{name: pl.col(name) for name in _VERSION},
        )
    )
    refer = accepted.filter(pl.col("refer_charge").fill_null(0) > 0).select(
        payer=pl.format("H:{}", "refer_charge_to"),
        payee=pl.format("F:{}", "coverage_fund"),
        amount="refer_charge",
        kind=pl.lit("REFER"),
        claim_version_id="id",
        **{name: pl.col(name) for name in _VERSION},
    )
    return (
        pl.concat([claim, refer])
        .with_columns(reverses_id=pl.lit(None, pl.Int64))
        .cast(OBLIGATION_SCHEMA)
    )


def reversals(replaced: pl.DataFrame, period: str) -> pl.DataFrame:
    """The REVERSAL of each obligation of a replaced version, in the correction's period.

    Args:
        replaced: the not yet reversed CLAIM/REFER obligations of the replaced versions, with
            their ``id`` and every OBLIGATION_SCHEMA column.
        period: the period of the correction.
    """
    return replaced.select(
        payer="payee",
        payee="payer",
        amount="amount",
        kind=pl.lit("REVERSAL"),
        claim_version_id="claim_version_id",
        hcode="hcode",
        claim_type="claim_type",
        claim_key="claim_key",
        version="version",
        period=pl.lit(period),
        reverses_id="id",
    ).cast(OBLIGATION_SCHEMA)
