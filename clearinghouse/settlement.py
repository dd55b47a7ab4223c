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
from dataclasses import dataclass
from typing import cast

import polars as pl

from clearinghouse.errors import Problem

__all__ = [
    "FUND_STATEMENT_SCHEMA",
    "KIND",
    "KINDS",
    "LISTING_COLUMNS",
    "VERSION_SCHEMA",
    "Coded",
    "attach_runs",
    "check_balanced",
    "code",
    "encode",
    "fund_statements",
    "hospital_statements",
    "listing",
    "order_of",
    "order_versions",
    "spans",
]

#: obligations.csv: sorted by every column in this order (amount and version as numbers).
LISTING_COLUMNS = [
    "payer", "payee", "amount", "kind", "hcode", "claim_type", "claim_key", "version",
]  # fmt: skip

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
    values = ids.cast(pl.Int64).drop_nulls()
    if not values.is_sorted():
        values = values.sort()
    repeated = values.diff() == 0
    if repeated.any():
        values = values.filter(~repeated.fill_null(False))
    # Within an island, id − position is constant; each run of it is one island.
    island = (values - pl.int_range(values.len(), dtype=pl.Int64, eager=True)).rle()
    lengths = island.struct.field("len").cast(pl.Int64)
    last = lengths.cum_sum() - 1
    first = last - lengths + 1
    return pl.DataFrame(
        {"first_id": values.gather(first), "last_id": values.gather(last)},
        schema={"first_id": pl.Int64, "last_id": pl.Int64},
    )


def attach_runs(obligations: pl.DataFrame, run_spans: pl.DataFrame) -> pl.DataFrame:
    """``obligations`` (with ``id``) plus ``run``: the run whose span holds it, else null.

    ``run_spans``: ``first_id, last_id, run`` (non-overlapping).
    """
    ids = obligations["id"]
    if ids.is_empty():
        return obligations.with_columns(run=pl.lit(None, pl.String))
    spans_sorted = run_spans.select(
        pl.col("first_id").cast(pl.Int64), pl.col("last_id").cast(pl.Int64), "run"
    ).filter((pl.col("last_id") >= ids.min()) & (pl.col("first_id") <= ids.max()))
    if spans_sorted.is_empty():  # none of them settled yet (a month without nightly runs)
        return obligations.with_columns(run=pl.lit(None, pl.String))
    ordered = obligations if ids.is_sorted() else obligations.sort("id")
    joined = ordered.join_asof(
        spans_sorted.sort("first_id"), left_on="id", right_on="first_id", strategy="backward"
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


def _codes(frame: pl.DataFrame, name: str) -> tuple[pl.Expr, int]:
    """An expression of order-preserving integer codes of column ``name`` (nulls 0, first;
    then 1, 2, … by value) and the largest code.

    Strings compare in byte order, like Polars' own string sort. Integers code as themselves
    shifted to start at 1 (no sort); Enums listing their categories in byte order by their
    physical codes; a text column with few distinct values through an Enum of its sorted
    values, far cheaper than ranking millions of strings; anything else is ranked.
    """
    column = frame.get_column(name)
    if isinstance(column.dtype, pl.Enum) and _byte_ordered(column.dtype):
        code = pl.col(name).to_physical().cast(pl.UInt64) + 1
        return code.fill_null(0), len(column.dtype.categories)
    if column.dtype.is_integer():
        low, high = column.min(), column.max()
        if low is None:  # every value null: every code 0
            return pl.col(name).is_null().cast(pl.UInt64) * 0, 0
        if cast(int, high) - cast(int, low) < 1 << 62:
            code = (pl.col(name).cast(pl.Int64) - cast(int, low) + 1).cast(pl.UInt64)
            return code.fill_null(0), cast(int, high) - cast(int, low) + 1
    text = _small(column.cast(pl.String) if isinstance(column.dtype, pl.Enum) else column)
    if isinstance(text.dtype, pl.Enum):
        coded = text.to_physical().cast(pl.UInt64) + 1
    else:
        coded = text.rank("dense").cast(pl.UInt64)
    coded = coded.fill_null(0)
    return pl.lit(coded), cast(int, coded.max() or 0)


def order_of(frame: pl.DataFrame, by: Sequence[str]) -> pl.Series:
    """Row indices that sort ``frame`` by the columns ``by`` (ascending, nulls first).

    A multi-column sort of ten million rows with strings is slow in Polars, so each column
    becomes integer codes, neighbouring codes are packed into one 63-bit key while they fit
    (all keys computed in one pass), and the packed keys are sorted together (ties keep their
    order).
    """
    if frame.height == 0 or not by:
        return pl.Series("row", range(frame.height), dtype=pl.get_index_type())
    keys: list[pl.Expr] = []
    limit = 1 << 63
    current: pl.Expr | None = None
    bound = 0  # the largest value ``current`` can hold
    for name in by:
        code, top = _codes(frame, name)
        if current is not None and (bound + 1) * (top + 1) < limit:
            current = current * (top + 1) + code
            bound = bound * (top + 1) + top
        else:
            if current is not None:
                keys.append(current)
            current, bound = code, top
    assert current is not None
    keys.append(current)
    packed = frame.select(key.alias(f"k{i}") for i, key in enumerate(keys))
    return packed.select(pl.arg_sort_by(packed.columns, maintain_order=True)).to_series()


#: Kinds in byte order (so an Enum of them sorts as the strings do); TOTAL closes a statement.
KINDS = ["CLAIM", "NOPAY", "REFER", "REVERSAL", "TOTAL"]
KIND = pl.Enum(KINDS)

#: What a month's claim versions must hold (``codes``: ``;``-joined, "" for none;
#: ``reference_version_id``: the reference data that priced the version).
VERSION_SCHEMA = pl.Schema(
    {
        "id": pl.Int64(),
        "hcode": pl.String(),
        "claim_type": pl.String(),
        "claim_key": pl.String(),
        "version": pl.Int64(),
        "status": pl.String(),
        "codes": pl.String(),
        "allowed": pl.Int64(),
        "in_period": pl.Boolean(),
        "reference_version_id": pl.Int64(),
    }
)

_IDENTITY = ["hcode", "claim_type", "claim_key", "version"]


@dataclass(frozen=True, slots=True)
class Coded:
    """Obligations and the claim versions they name, coded for sorting and gathering.

    ``versions`` are sorted by identity (hcode, claim_type, claim_key, version as a number),
    so a version's row number (``vrow``) orders claims as the files do; each obligation
    carries the ``vrow`` of its version, and its ``payer``/``payee`` are one Enum of every
    participant name in byte order, ``kind`` is :data:`KIND`. An obligation's identity is its
    version's: the files take hcode, claim_type, claim_key and version from ``versions``.
    """

    obligations: pl.DataFrame
    versions: pl.DataFrame


def _enum_of(*columns: pl.Series) -> pl.Enum:
    """An Enum of every value of ``columns``, in byte order (so it sorts as the strings)."""
    values = pl.concat([c.cast(pl.String).unique() for c in columns]).drop_nulls()
    return pl.Enum(values.unique().sort())


def _byte_ordered(enum: pl.Enum) -> bool:
    """Whether the Enum lists its categories in byte order (its codes sort as the strings)."""
    categories = pl.Series(enum.categories)
    return categories.equals(categories.sort())


def _small(column: pl.Series) -> pl.Series:
    """A String column with few distinct values as an Enum in byte order; others unchanged."""
    if column.dtype == pl.String() and column.head(65_536).n_unique() < 4_096:
        enum = _enum_of(column)
        if len(enum.categories) < 65_536:
            return column.cast(enum)
    return column


def _lookup(keys: pl.Series, table_keys: pl.Series, values: pl.Series) -> pl.Series:
    """``values`` at the position of each of ``keys`` in ``table_keys`` (unique); null if none.

    Dense integer keys (a month's version ids) go through an array indexed by key, far cheaper
    than a hash join of millions of rows; sparse ones through a join.
    """
    if table_keys.is_empty() or keys.is_empty():
        return pl.Series(values.name, [None] * keys.len(), dtype=values.dtype)
    low, high = cast(int, table_keys.min()), cast(int, table_keys.max())
    span = high - low + 1
    if span <= 4 * table_keys.len() + 4_096:
        slots = pl.Series([None] * 0, dtype=values.dtype).extend_constant(None, span)
        slots = slots.scatter(table_keys - low, values)
        inside = (keys >= low) & (keys <= high)
        index = pl.select(pl.when(inside).then(keys - low)).to_series()
        return slots.gather(index).alias(values.name)
    table = pl.DataFrame({"key": table_keys, values.name: values})
    return (
        pl.DataFrame({"key": keys})
        .join(table, on="key", how="left", maintain_order="left")
        .get_column(values.name)
    )


def order_versions(versions: pl.DataFrame) -> pl.DataFrame:
    """``versions`` (:data:`VERSION_SCHEMA`) sorted by claim identity (hcode, claim_type,
    claim_key, version as a number), with their row number ``vrow``; for :func:`code`."""
    # Short text as Enums: cheap to sort, gather and write. (No code is written as "".)
    coded = versions.with_columns(
        _small(versions[name]) for name in ("hcode", "claim_type", "status")
    ).with_columns(_small(versions["codes"].replace("", None)))
    return coded[order_of(coded, _IDENTITY)].with_row_index("vrow")


def encode(obligations: pl.DataFrame) -> pl.DataFrame:
    """``obligations`` with ``payer`` and ``payee`` as one Enum of every participant name in
    byte order and ``kind`` as :data:`KIND` (unchanged if already so)."""
    payer, payee = obligations.schema["payer"], obligations.schema["payee"]
    if isinstance(payer, pl.Enum) and payer == payee and obligations.schema["kind"] == KIND:
        return obligations
    participant = _enum_of(obligations["payer"], obligations["payee"])
    return obligations.with_columns(
        pl.col("payer").cast(participant), pl.col("payee").cast(participant),
        pl.col("kind").cast(KIND),
    )  # fmt: skip


def code(obligations: pl.DataFrame, ordered: pl.DataFrame) -> Coded:
    """Code a month (or a run): see :class:`Coded`.

    Args:
        obligations: ``payer, payee, amount, kind, claim_version_id`` and any others (``run``),
            through :func:`encode` or not.
        ordered: every version an obligation names, through :func:`order_versions` (more may
            be given: the month's C and D versions, for the NOPAY rows).

    Raises:
        Problem: an obligation names a claim version that was not given.
    """
    vrow = _lookup(obligations["claim_version_id"], ordered["id"], ordered["vrow"])
    if vrow.null_count():
        raise Problem(
            f"{vrow.null_count()} obligations name a claim version that cannot be read: "
            "the database is inconsistent; nothing was settled or written"
        )
    return Coded(obligations=encode(obligations).with_columns(vrow), versions=ordered)


def listing(month: Coded) -> pl.DataFrame:
    """The rows of obligations.csv (LISTING_COLUMNS), sorted by every column in order.

    Identity order is ``vrow`` order, so the sort keys are all integers.
    """
    owed = month.obligations
    keys = owed.select(
        pl.col("payer", "payee").to_physical(), "amount", pl.col("kind").to_physical(), "vrow"
    )
    ordered = owed.select("payer", "payee", "amount", "kind", "vrow")[order_of(keys, keys.columns)]
    identity = month.versions.select(_IDENTITY)[ordered["vrow"]]
    return pl.concat([ordered.drop("vrow"), identity], how="horizontal").select(LISTING_COLUMNS)


def _hospitals(month: Coded) -> tuple[pl.Enum, pl.Series]:
    """The Enum of every hospital with an obligation or an in-period version (hcodes in byte
    order), and for each participant code its hospital (null for funds and CH)."""
    names = pl.Series(cast(pl.Enum, month.obligations.schema["payer"]).categories)
    own = names.filter(names.str.starts_with("H:")).str.slice(2)
    held = month.versions.filter("in_period")["hcode"]
    hospital = _enum_of(own, held)
    of_participant = pl.when(names.str.starts_with("H:")).then(names.str.slice(2)).cast(hospital)
    return hospital, pl.select(of_participant).to_series()


def hospital_statements(month: Coded) -> pl.DataFrame:
    """Every hospital statement of a month, sorted, TOTAL last in each: ``hospital`` (names the
    file, not written), ``kind, claim_hcode, claim_type, claim_key, version, status, codes,
    allowed, received, paid, run, net`` (amounts in satang; ``hospital``, ``kind``, ``run`` and
    short text columns may be Enums).

    ``month.obligations`` carry ``run``; ``month.versions`` are the month's claim versions and
    every version an obligation names (``in_period`` tells which are the month's).
    """
    owed, versions = month.obligations, month.versions
    hospital, of_participant = _hospitals(month)
    runs = owed.schema["run"]
    if not isinstance(runs, pl.Enum):
        runs = _enum_of(owed["run"])
    sides = []
    for side, received, paid in (("payee", "amount", None), ("payer", None, "amount")):
        where = of_participant.gather(owed[side].to_physical())
        sides.append(
            owed.select(
                hosp=where,
                vrow="vrow",
                kind="kind",
                received=pl.col(received) if received else pl.lit(0, pl.Int64),
                paid=pl.col(paid) if paid else pl.lit(0, pl.Int64),
                run=pl.col("run").cast(runs),
            ).filter(pl.col("hosp").is_not_null())
        )
    nopay = versions.filter(pl.col("in_period") & pl.col("status").is_in(["C", "D"])).select(
        hosp=pl.col("hcode").cast(pl.String).cast(hospital),
        vrow="vrow",
        kind=pl.lit("NOPAY", KIND),
        received=pl.lit(0, pl.Int64),
        paid=pl.lit(0, pl.Int64),
        run=pl.lit(None, runs),
    )
    rows = pl.concat([*sides, nopay]).with_columns(total=pl.lit(0, pl.UInt8))
    totals = (
        pl.DataFrame({"hosp": pl.Series(hospital.categories).cast(hospital)})
        .join(
            rows.group_by("hosp").agg(pl.col("received").sum(), pl.col("paid").sum()),
            on="hosp",
            how="left",
        )
        .select(
            "hosp",
            vrow=pl.lit(None, pl.UInt32),
            kind=pl.lit("TOTAL", KIND),
            received=pl.col("received").fill_null(0),
            paid=pl.col("paid").fill_null(0),
            run=pl.lit(None, runs),
            total=pl.lit(1, pl.UInt8),
        )
    )
    every = pl.concat([rows, totals.cast(rows.schema)])
    keys = every.select(
        pl.col("hosp").to_physical(), "total", "vrow", pl.col("kind").to_physical(), "received",
        "paid", pl.col("run").to_physical(),
    )  # fmt: skip
    every = every[order_of(keys, keys.columns)]
    detail = versions.select([*_IDENTITY, "status", "codes", "allowed"])[every["vrow"]]
    nothing = (every["kind"] == "NOPAY") & (detail["status"] == "C")
    return pl.DataFrame(
        {
            "hospital": every["hosp"],
            "kind": every["kind"],
            "claim_hcode": detail["hcode"],
            "claim_type": detail["claim_type"],
            "claim_key": detail["claim_key"],
            "version": detail["version"],
            "status": detail["status"],
            "codes": detail["codes"],
            # Money follows status: a rejected version allows nothing (as in the claims export).
            "allowed": pl.select(
                pl.when(nothing).then(pl.lit(0, pl.Int64)).otherwise(detail["allowed"])
            ).to_series(),
            "received": every["received"],
            "paid": every["paid"],
            "run": every["run"],
            "net": pl.select(
                pl.when(every["total"] == 1).then(every["received"] - every["paid"])
            ).to_series(),
        }
    )


def fund_statements(month: Coded) -> pl.DataFrame:
    """Every fund statement of a month, sorted, in FUND_STATEMENT_SCHEMA.

    Per fund: one row per counterparty (a hospital's hcode, else the participant) and kind,
    ``claims`` = distinct claim versions, then TOTAL.
    """
    owed = month.obligations
    names = pl.Series(cast(pl.Enum, owed.schema["payer"]).categories)
    is_fund = names.str.starts_with("F:")
    sides = []
    for side, other, paid in (("payee", "payer", False), ("payer", "payee", True)):
        amount = pl.col("amount")
        zero = pl.lit(0, pl.Int64)
        sides.append(
            owed.filter(is_fund.gather(owed[side].to_physical())).select(
                fund=pl.col(side).to_physical().cast(pl.UInt32),
                other=pl.col(other).to_physical().cast(pl.UInt32),
                kind="kind",
                vrow="vrow",
                paid=amount if paid else zero,
                received=zero if paid else amount,
            )
        )
    both = pl.concat(sides)
    # One packed integer key per (fund, counterparty, kind): the cheapest group key.
    width, kinds = names.len(), len(KINDS)
    key = (pl.col("fund").cast(pl.UInt64) * width + pl.col("other")) * kinds + pl.col(
        "kind"
    ).to_physical()
    sums = [
        pl.col("vrow").n_unique().alias("claims"),
        pl.col("paid").sum(),
        pl.col("received").sum(),
    ]
    rows = (
        both.group_by(key.alias("key"))
        .agg(sums)
        .select(
            fund=(pl.col("key") // (width * kinds)).cast(pl.UInt32),
            other=(pl.col("key") // kinds % width).cast(pl.UInt32),
            kind=(pl.col("key") % kinds).replace_strict(list(range(kinds)), KINDS),
            claims="claims",
            paid="paid",
            received="received",
        )
    )
    totals = both.group_by("fund").agg(sums)
    name = pl.col("name")
    label = pl.DataFrame(
        {"code": pl.int_range(names.len(), eager=True, dtype=pl.UInt32), "name": names}
    ).with_columns(
        short=pl.when(name.str.starts_with("H:")).then(name.str.slice(2)).otherwise(name)
    )
    fund_names = label.select(fund="code", fund_name=pl.col("name").str.slice(2))
    hcodes = label.select(other="code", hcode="short")
    every = pl.concat(
        [
            rows.join(hcodes, on="other").select(
                "fund",
                "hcode",
                pl.col("kind").cast(pl.String),
                "claims",
                "paid",
                "received",
                net=pl.lit(None, pl.Int64),
                total=pl.lit(0, pl.Int8),
            ),
            totals.select(
                "fund",
                hcode=pl.lit("TOTAL"),
                kind=pl.lit(""),
                claims="claims",
                paid="paid",
                received="received",
                net=pl.col("received") - pl.col("paid"),
                total=pl.lit(1, pl.Int8),
            ),
        ],
        how="vertical_relaxed",
    ).join(fund_names, on="fund")
    return (
        every.sort("fund_name", "total", "hcode", "kind")
        .select(pl.col("fund_name").alias("fund"), *FUND_STATEMENT_SCHEMA.names()[1:])
        .cast(FUND_STATEMENT_SCHEMA)
    )
