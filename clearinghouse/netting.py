"""Multilateral netting through the clearing account (pure, set-based).

Positions: for each participant in a run's obligations, ``gross_in`` (Σ received),
``gross_out`` (Σ paid) and ``net`` = gross_in − gross_out; the nets sum to exactly zero.
Transfers: every participant with a negative net pays −net to ``CH``; ``CH`` pays every
participant with a positive net. One transfer per participant with a non-zero net.
"""

from __future__ import annotations

import polars as pl

__all__ = [
    "CLEARING_ACCOUNT",
    "POSITION_SCHEMA",
    "TRANSFER_SCHEMA",
    "netting_effect",
    "positions",
    "transfers",
]

CLEARING_ACCOUNT = "CH"

POSITION_SCHEMA = pl.Schema(
    {"participant": pl.String(), "gross_in": pl.Int64(), "gross_out": pl.Int64(),
     "net": pl.Int64()}
)  # fmt: skip
TRANSFER_SCHEMA = pl.Schema({"payer": pl.String(), "payee": pl.String(), "amount": pl.Int64()})


def positions(obligations: pl.DataFrame) -> pl.DataFrame:
    """Gross and net position of every participant (net 0 included), sorted by participant.

    ``obligations``: ``payer, payee, amount`` (satang).
    """
    received = obligations.group_by(participant="payee").agg(gross_in=pl.col("amount").sum())
    paid = obligations.group_by(participant="payer").agg(gross_out=pl.col("amount").sum())
    return (
        received.join(paid, on="participant", how="full", coalesce=True)
        .with_columns(pl.col("gross_in", "gross_out").fill_null(0))
        .with_columns(net=pl.col("gross_in") - pl.col("gross_out"))
        .sort("participant")
        .cast(POSITION_SCHEMA)
    )


def transfers(position: pl.DataFrame) -> pl.DataFrame:
    """Hub-and-spoke transfers through ``CH``, sorted by payer then payee."""
    debtors = position.filter(pl.col("net") < 0).select(
        payer="participant", payee=pl.lit(CLEARING_ACCOUNT), amount=-pl.col("net")
    )
    creditors = position.filter(pl.col("net") > 0).select(
        payer=pl.lit(CLEARING_ACCOUNT), payee="participant", amount="net"
    )
    return pl.concat([debtors, creditors]).sort("payer", "payee").cast(TRANSFER_SCHEMA)


def netting_effect(obligations: pl.DataFrame, position: pl.DataFrame) -> float | None:
    """1 − (Σ|net| / 2) ÷ Σ obligation amounts: the share of gross money that never moves.

    A ratio for reports only; every amount stays integer satang. None without obligations.
    """
    gross = int(obligations["amount"].sum())
    if gross == 0:
        return None
    moved = int(position["net"].abs().sum()) / 2
    return 1 - moved / gross
