"""What a settlement run settles and the statements of a month (pure, set-based).

A run's members are stored as spans of obligation ids: every id from ``first_id`` to
``last_id`` belongs to the run. Spans are the islands of consecutive ids among the members, so a
month settled in one go is one span however many obligations it holds, and since obligation ids
are assigned ``max + 1`` under the write lock, no later obligation can fall inside a span.

Statements (settlement.md): one file per hospital (every obligation in which it is payer or
payee, plus a NOPAY row per C or D version of the period, then TOTAL) and one per fund (per
counterparty hospital and kind, then TOTAL). Amounts here are satang; the writers format them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import polars as pl

from clearinghouse.errors import Problem

__all__ = [
    "FUND_STATEMENT_SCHEMA",
    "HOSPITAL_STATEMENT_SCHEMA",
    "LISTING_COLUMNS",
    "attach_runs",
    "check_balanced",
    "fund_statements",
    "hospital_statements",
    "listing",
    "order_of",
    "spans",
]

#: obligations.csv: sorted by every column in this order (amount and version as numbers).
LISTING_COLUMNS = [
    "payer", "payee", "amount", "kind", "hcode", "claim_type", "claim_key", "version",
]  # fmt: skip

#: A hospital statement's rows (``hospital`` names the file and is not written).
HOSPITAL_STATEMENT_SCHEMA = pl.Schema(
    {
        "hospital": pl.String(),
        "kind": pl.String(),
        "claim_hcode": pl.String(),
        "claim_type": pl.String(),
        "claim_key": pl.String(),
        "version": pl.Int64(),
        "status": pl.String(),
        "codes": pl.String(),
        "allowed": pl.Int64(),
        "received": pl.Int64(),
        "paid": pl.Int64(),
        "run": pl.String(),
        "net": pl.Int64(),
    }
)

#: A fund statement's rows (``fund`` names the file and is not written).
FUND_STATEMENT_SCHEMA = pl.Schema(
    {
        "fund": pl.String(),
        "hcode": pl.String(),
        "kind": pl.String(),
        "claims": pl.Int64(),
        "paid": pl.Int64(),
        "received": pl.Int64(),
        "net": pl.Int64(),
    }
)


def spans(ids: pl.Series) -> pl.DataFrame:
    """The islands of consecutive integers among ``ids``: ``first_id, last_id``, ascending."""
    frame = pl.DataFrame({"id": ids.cast(pl.Int64)}).unique().sort("id")
    return (
        frame.with_columns(island=pl.col("id") - pl.int_range(pl.len(), dtype=pl.Int64))
        .group_by("island")
        .agg(first_id=pl.col("id").min(), last_id=pl.col("id").max())
        .sort("first_id")
        .select("first_id", "last_id")
    )


def attach_runs(obligations: pl.DataFrame, run_spans: pl.DataFrame) -> pl.DataFrame:
    """``obligations`` (with ``id``) plus ``run``: the run whose span holds it, else null.

    ``run_spans``: ``first_id, last_id, run`` (non-overlapping).
    """
    spans_sorted = run_spans.select(
        pl.col("first_id").cast(pl.Int64), pl.col("last_id").cast(pl.Int64), "run"
    ).sort("first_id")
    joined = obligations.sort("id").join_asof(
        spans_sorted, left_on="id", right_on="first_id", strategy="backward"
    )
    return joined.with_columns(
        run=pl.when(pl.col("id") <= pl.col("last_id")).then(pl.col("run"))
    ).drop("first_id", "last_id")


def check_balanced(position: pl.DataFrame, run_id: str) -> None:
    """The zero-sum check: raise :class:`Problem` unless every net is in/out and they sum to 0."""
    total = int(position["net"].sum())
    inconsistent = position.filter(pl.col("gross_in") - pl.col("gross_out") != pl.col("net")).height
    if total != 0 or inconsistent:
        raise Problem(
            f"run {run_id} does not balance (Σ net = {total} satang, {inconsistent} "
            "participants with gross in − gross out ≠ net): nothing was settled or written"
        )


def _codes(column: pl.Series) -> pl.Series:
    """Order-preserving integer codes of a column: nulls 0 (first), then 1, 2, … by value.

    Strings compare in byte order, like Polars' own string sort. A column with few distinct
    values (hospitals, funds, kinds) is coded through an Enum of its sorted values, far cheaper
    than ranking millions of strings; others are ranked.
    """
    if column.dtype == pl.String() and column.head(65_536).n_unique() < 4_096:
        values = column.drop_nulls().unique().sort()
        coded = column.cast(pl.Enum(values.to_list())).to_physical().cast(pl.UInt64) + 1
    elif column.dtype.is_integer() and column.null_count() < column.len() and (
        cast(int, column.max()) - cast(int, column.min()) < 1 << 62
    ):
        # Integers code as themselves, shifted to start at 1: no sort needed.
        coded = (column.cast(pl.Int64) - cast(int, column.min()) + 1).cast(pl.UInt64)
    else:
        coded = column.rank("dense").cast(pl.UInt64)
    return coded.fill_null(0)


def order_of(frame: pl.DataFrame, by: Sequence[str]) -> pl.Series:
    """Row indices that sort ``frame`` by the columns ``by`` (ascending, nulls first).

    A multi-column sort of ten million rows with strings is slow in Polars, so each column
    becomes integer codes, neighbouring codes are packed into one 63-bit key while they fit,
    and the keys are applied least significant first with stable single-key sorts.
    """
    keys: list[pl.Series] = []
    limit = 1 << 63
    current: pl.Series | None = None
    bound = 0  # the largest value ``current`` can hold
    for name in by:
        codes = _codes(frame.get_column(name))
        top = cast(int, codes.max() or 0)
        if current is not None and (bound + 1) * (top + 1) < limit:
            current = current * (top + 1) + codes
            bound = bound * (top + 1) + top
        else:
            if current is not None:
                keys.append(current)
            current, bound = codes, top
    if current is not None:
        keys.append(current)
    rows = pl.DataFrame({f"k{i}": key for i, key in enumerate(keys)}).with_row_index("row")
    for i in reversed(range(len(keys))):
        rows = rows.sort(f"k{i}", maintain_order=True)
    return rows.get_column("row")


def _sorted(frame: pl.DataFrame, by: Sequence[str]) -> pl.DataFrame:
    """``frame`` sorted by ``by`` (see :func:`order_of`)."""
    return frame[order_of(frame, by)]


def listing(obligations: pl.DataFrame) -> pl.DataFrame:
    """The rows of obligations.csv, sorted by every column in order."""
    return _sorted(obligations.select(LISTING_COLUMNS), LISTING_COLUMNS)


def _hospital_side(obligations: pl.DataFrame, side: str) -> pl.DataFrame:
    amount = pl.col("amount")
    return obligations.filter(pl.col(side).str.starts_with("H:")).select(
        hospital=pl.col(side).str.slice(2),
        kind="kind",
        claim_version_id="claim_version_id",
        claim_hcode="hcode",
        claim_type="claim_type",
        claim_key="claim_key",
        version="version",
        received=amount if side == "payee" else pl.lit(0, pl.Int64),
        paid=amount if side == "payer" else pl.lit(0, pl.Int64),
        run="run",
    )


def hospital_statements(obligations: pl.DataFrame, versions: pl.DataFrame) -> pl.DataFrame:
    """Every hospital statement of a month, sorted, in HOSPITAL_STATEMENT_SCHEMA.

    Args:
        obligations: the month's obligations: ``payer, payee, amount, kind, claim_version_id,
            hcode, claim_type, claim_key, version, run``.
        versions: the month's claim versions and every version an obligation names: ``id,
            hcode, claim_type, claim_key, version, status, codes, allowed, in_period``.
    """
    detail = versions.select(
        claim_version_id="id", status="status", codes="codes", allowed="allowed"
    )
    owed = pl.concat(
        [_hospital_side(obligations, "payee"), _hospital_side(obligations, "payer")]
    ).join(detail, on="claim_version_id", how="left")
    nopay = versions.filter(pl.col("in_period") & pl.col("status").is_in(["C", "D"])).select(
        hospital="hcode",
        kind=pl.lit("NOPAY"),
        claim_version_id="id",
        claim_hcode="hcode",
        claim_type="claim_type",
        claim_key="claim_key",
        version="version",
        received=pl.lit(0, pl.Int64),
        paid=pl.lit(0, pl.Int64),
        run=pl.lit(None, pl.String),
        status="status",
        codes="codes",
        # Money follows status: a rejected version allows nothing (as in the claims export).
        allowed=pl.when(pl.col("status") == "C").then(0).otherwise(pl.col("allowed")),
    )
    rows = pl.concat([owed, nopay], how="diagonal").with_columns(
        net=pl.lit(None, pl.Int64), total=pl.lit(0, pl.Int8)
    )
    hospitals = pl.concat(
        [
            rows.select("hospital"),
            versions.filter(pl.col("in_period")).select(hospital="hcode"),
        ]
    ).unique()
    sums = rows.group_by("hospital").agg(pl.col("received").sum(), pl.col("paid").sum())
    totals = (
        hospitals.join(sums, on="hospital", how="left")
        .with_columns(pl.col("received", "paid").fill_null(0))
        .with_columns(
            kind=pl.lit("TOTAL"), net=pl.col("received") - pl.col("paid"), total=pl.lit(1, pl.Int8)
        )
    )
    every = pl.concat([rows, totals], how="diagonal")
    order = ["hospital", "total", "claim_hcode", "claim_type", "claim_key", "version", "kind",
             "received", "paid", "run"]  # fmt: skip
    return (
        _sorted(every, order)
        .select(HOSPITAL_STATEMENT_SCHEMA.names())
        .cast(HOSPITAL_STATEMENT_SCHEMA)
    )


def _fund_side(obligations: pl.DataFrame, side: str) -> pl.DataFrame:
    other = "payer" if side == "payee" else "payee"
    counterparty = pl.col(other)
    return obligations.filter(pl.col(side).str.starts_with("F:")).select(
        fund=pl.col(side).str.slice(2),
        hcode=pl.when(counterparty.str.starts_with("H:"))
        .then(counterparty.str.slice(2))
        .otherwise(counterparty),
        kind="kind",
        claim_version_id="claim_version_id",
        paid=pl.col("amount") if side == "payer" else pl.lit(0, pl.Int64),
        received=pl.col("amount") if side == "payee" else pl.lit(0, pl.Int64),
    )


def fund_statements(obligations: pl.DataFrame) -> pl.DataFrame:
    """Every fund statement of a month, sorted, in FUND_STATEMENT_SCHEMA.

    ``obligations``: the month's ``payer, payee, amount, kind, claim_version_id``.
    """
    sides = pl.concat([_fund_side(obligations, "payee"), _fund_side(obligations, "payer")])
    rows = sides.group_by("fund", "hcode", "kind").agg(
        claims=pl.col("claim_version_id").n_unique(),
        paid=pl.col("paid").sum(),
        received=pl.col("received").sum(),
    )
    totals = sides.group_by("fund").agg(
        hcode=pl.lit("TOTAL"),
        kind=pl.lit(""),
        claims=pl.col("claim_version_id").n_unique(),
        paid=pl.col("paid").sum(),
        received=pl.col("received").sum(),
    )
    every = pl.concat(
        [
            rows.with_columns(net=pl.lit(None, pl.Int64), total=pl.lit(0, pl.Int8)),
            totals.with_columns(net=pl.col("received") - pl.col("paid"), total=pl.lit(1, pl.Int8)),
        ],
        how="diagonal_relaxed",
    )
    ordered = _sorted(every, ["fund", "total", "hcode", "kind"])
    return ordered.select(FUND_STATEMENT_SCHEMA.names()).cast(FUND_STATEMENT_SCHEMA)
