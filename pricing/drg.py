"""Thai DRG pricing of inpatient claims: grouping, length of stay, AdjRW and the DRG amount.

Pure and set-based (frames in, frames out). Weights are ``Int64`` ten-thousandths (``*_e4``),
money is ``Int64`` satang; every AdjRW is computed as an exact integer fraction (in ``Int128``)
and rounded half-up once, so no binary float ever touches a weight or an amount.
"""

from __future__ import annotations

import polars as pl

from clearinghouse.rules.items import effective_on
from clearinghouse.schema import CLAIM_ID

__all__ = [
    "BRANCHES",
    "WEIGHT_SETS",
    "adjrw_branch",
    "adjusted_relative_weight",
    "group_drg",
    "length_of_stay",
    "price_inpatient",
    "round_half_up",
    "weight_set",
]


#: The AdjRW branches, in the order they are tried.
BRANCHES = ("day_case", "short_stay", "long_stay_1", "long_stay_2", "long_stay_3", "normal")

#: Long-stay slopes (b12, b23) per weight set, in ten-thousandths.
WEIGHT_SETS: dict[str, tuple[int, int]] = {
    "M1": (770, 480),
    "M2": (1212, 743),
    "P1": (904, 584),
    "P2": (1580, 1268),
}

_E4 = 10_000
_E8 = _E4 * _E4
_MINUTES_PER_DAY = 1_440
_BIG = pl.Int128


def round_half_up(numerator: pl.Expr, denominator: pl.Expr | int) -> pl.Expr:
    """``numerator / denominator`` rounded to an integer, exactly .5 toward +∞ (denominator > 0).

    ``floor((2N + D) / 2D)`` in ``Int128``; the result is cast back to ``Int64``.
    """
    den = denominator if isinstance(denominator, pl.Expr) else pl.lit(denominator)
    num = numerator.cast(_BIG)
    den = den.cast(_BIG)
    return ((2 * num + den) // (2 * den)).cast(pl.Int64)


def length_of_stay(
    admitted_at: pl.Expr, discharged_at: pl.Expr, leave_days: pl.Expr
) -> tuple[pl.Expr, pl.Expr]:
    """(``los``, ``day_case``) of a stay.

    los = calendar days from the admission date to the discharge date, minus leave days (a null
    leave-day total counts as 0); day_case = the stay lasts under 1,440 minutes.
    """
    days = (discharged_at.dt.date() - admitted_at.dt.date()).dt.total_days()
    los = (days - leave_days.fill_null(0)).cast(pl.Int64).alias("los")
    minutes = (discharged_at - admitted_at).dt.total_minutes()
    day_case = (minutes < _MINUTES_PER_DAY).alias("day_case")
    return los, day_case


def weight_set(drg: pl.Expr, rw: pl.Expr) -> pl.Expr:
    """The DRG's long-stay set: M1/M2 when digits 3–4 of the code are ≥ 50, else P1/P2."""
    medical = drg.str.slice(2, 2).cast(pl.Int64, strict=False) >= 50
    return (
        pl.when(medical & (rw <= 6_999)).then(pl.lit("M1"))
        .when(medical).then(pl.lit("M2"))
        .when(rw <= 19_999).then(pl.lit("P1"))
        .otherwise(pl.lit("P2"))
    )  # fmt: skip


def _slope(sets: pl.Expr, index: int) -> pl.Expr:
    expr: pl.Expr = pl.lit(None, pl.Int64)
    for name, slopes in WEIGHT_SETS.items():
        expr = pl.when(sets == name).then(pl.lit(slopes[index], pl.Int64)).otherwise(expr)
    return expr


def adjrw_branch(wtlos: pl.Expr, ot: pl.Expr, los: pl.Expr, day_case: pl.Expr) -> pl.Expr:
    """Which AdjRW formula applies (one of :data:`BRANCHES`); null when los or day_case is."""
    los_e4 = los.cast(_BIG) * _E4
    short = (los >= 0) & (3 * los_e4 < wtlos) & (wtlos > 3 * _E4)
    return (
        pl.when(los.is_null() | day_case.is_null()).then(pl.lit(None, pl.String))
        .when(day_case).then(pl.lit("day_case"))
        .when(short).then(pl.lit("short_stay"))
        .when((ot > 0) & (los_e4 > ot) & (los_e4 <= 2 * ot)).then(pl.lit("long_stay_1"))
        .when((ot > 0) & (los_e4 > ot) & (los_e4 <= 3 * ot)).then(pl.lit("long_stay_2"))
        .when((ot > 0) & (los_e4 > ot)).then(pl.lit("long_stay_3"))
        .otherwise(pl.lit("normal"))
    )  # fmt: skip


def adjusted_relative_weight(
    rw: pl.Expr,
    rw0d: pl.Expr,
    wtlos: pl.Expr,
    ot: pl.Expr,
    of: pl.Expr,
    los: pl.Expr,
    day_case: pl.Expr,
    drg: pl.Expr,
) -> pl.Expr:
    """AdjRW in ten-thousandths (``Int64``), exact then rounded half-up once.

    Args:
        rw, rw0d, wtlos, ot, of: the DRG row's parameters in ten-thousandths.
        los: length of stay in whole days; day_case: the stay was under 24 hours.
        drg: the 5-character DRG code (its digits 3–4 choose the medical or procedural set).

    Returns:
        An ``Int64`` expression; null when a parameter, los or day_case is null.
    """
    big = [e.cast(_BIG) for e in (rw, rw0d, wtlos, ot, of)]
    rw_, rw0d_, wtlos_, ot_, of_ = big
    los_e4 = los.cast(_BIG) * _E4
    sets = weight_set(drg, rw)
    b12 = _slope(sets, 0).cast(_BIG)
    b23 = _slope(sets, 1).cast(_BIG)
    branch = adjrw_branch(wtlos, ot, los, day_case)
    thirds = (wtlos_ + (3 * _E4 - 1)) // (3 * _E4)  # ceil(wtlos / 3) in whole days
    # Each branch as numerator / denominator of AdjRW·10^4.
    numerator = (
        pl.when(branch == "day_case")
        .then(pl.when(rw0d_ > 0).then(rw0d_).otherwise(rw_) * _E8)
        .when(branch == "short_stay")
        .then(
            pl.when(rw0d_ > 0)
            .then(rw0d_ * thirds + los.cast(_BIG) * (rw_ - rw0d_))
            .otherwise(rw_ * thirds)
            * _E8
        )
        .when(branch == "long_stay_1")
        .then(rw_ * _E8 + of_ * b12 * (los_e4 - ot_))
        .when(branch == "long_stay_2")
        .then(rw_ * _E8 + of_ * b12 * ot_ + of_ * b23 * (los_e4 - 2 * ot_))
        .when(branch == "long_stay_3")
        .then(rw_ * _E8 + of_ * ot_ * (b12 + b23))
        .when(branch == "normal")
        .then(rw_ * _E8)
    )
    denominator = pl.when(branch == "short_stay").then(thirds * _E8).otherwise(pl.lit(_E8, _BIG))
    return round_half_up(numerator, denominator).alias("adjrw_e4")


def group_drg(claims: pl.DataFrame, grouping: pl.DataFrame) -> pl.DataFrame:
    """The DRG of each claim: the grouping row with the longest ``pdx_prefix`` of the PDx.

    Args:
        claims: ``claim_type, claim_key, pdx`` (String, may be null) and ``procedural`` (Bool).
        grouping: the ``drg_grouping`` reference frame.

    Returns:
        ``claim_type, claim_key, drg``, one row per claim; ``drg`` null when no row applies (B08).
        Two rows with the same prefix and flag are ambiguous reference data; the greater code wins.
    """
    ids = claims.select(*CLAIM_ID, "pdx", "procedural")
    prefixes = (
        ids.with_columns(length=pl.int_ranges(1, pl.col("pdx").str.len_chars() + 1))
        .explode("length")
        .with_columns(pdx_prefix=pl.col("pdx").str.slice(0, pl.col("length")))
    )
    matched = (
        prefixes.join(
            grouping.select("pdx_prefix", "procedural", "drg"),
            on=["pdx_prefix", "procedural"],
            how="inner",
        )
        .group_by(CLAIM_ID)
        .agg(pl.col("drg").sort_by("length", "drg").last())
    )
    return ids.select(CLAIM_ID).join(matched, on=CLAIM_ID, how="left")


def price_inpatient(
    claims: pl.DataFrame, drg: pl.DataFrame, base_rates: pl.DataFrame
) -> pl.DataFrame:
    """AdjRW, base rate, DRG amount and allowed amount of each inpatient claim.

    Args:
        claims: ``claim_type, claim_key, drg`` (null = B08), ``pricing_date`` (Date), ``los``
            (Int), ``day_case`` (Bool), ``rate_fund``, ``hospital_type`` (PUB/OTH/PRV), ``care``
            (``IP`` / ``IP_EMERGENCY``), ``exempt_allowed`` (satang; null counts as 0).
        drg: the ``drg`` reference frame; base_rates: the ``base_rates`` reference frame.

    Returns:
        The claims plus the DRG row used (``rw_e4, rw0d_e4, wtlos_e4, ot_e4, of_e4,
        drg_valid_from, drg_valid_to``), ``adjrw_e4, adjrw_branch, weight_set, b12_e4, b23_e4``,
        the base-rate row used (``rate`` satang per AdjRW, ``rate_hospital_type`` as matched,
        ``rate_valid_from, rate_valid_to``), ``drg_amount`` (satang), ``allowed`` (drg_amount +
        exempt_allowed) and ``b09`` (a grouped claim whose DRG has no parameters, or whose rate
        fund has no base rate, valid on the pricing date). Amounts are null where not
        computable (B08, B09, or no los/day_case); the caller rejects such claims.
    """
    keys = claims.select(*CLAIM_ID, "drg", "pricing_date")
    params = _pick(
        keys.join(drg, on="drg", how="inner").filter(effective_on(pl.col("pricing_date"))),
        exact_first=None,
    )
    params = params.select(
        *CLAIM_ID,
        "rw_e4",
        "rw0d_e4",
        "wtlos_e4",
        "ot_e4",
        "of_e4",
        drg_valid_from="valid_from",
        drg_valid_to="valid_to",
    )
    rate_keys = claims.select(*CLAIM_ID, "rate_fund", "hospital_type", "care", "pricing_date")
    candidates = rate_keys.join(
        base_rates.rename({"hospital_type": "rate_hospital_type"}),
        left_on=["rate_fund", "care"],
        right_on=["fund", "care"],
        how="inner",
    ).filter(
        (pl.col("rate_hospital_type") == pl.col("hospital_type"))
        | (pl.col("rate_hospital_type") == "*"),
        effective_on(pl.col("pricing_date")),
    )
    rates = _pick(candidates, exact_first="rate_hospital_type").select(
        *CLAIM_ID,
        "rate",
        "rate_hospital_type",
        rate_valid_from="valid_from",
        rate_valid_to="valid_to",
    )
    priced = claims.join(params, on=CLAIM_ID, how="left").join(rates, on=CLAIM_ID, how="left")
    sets = weight_set(pl.col("drg"), pl.col("rw_e4"))
    branch = adjrw_branch(pl.col("wtlos_e4"), pl.col("ot_e4"), pl.col("los"), pl.col("day_case"))
    long_stay = branch.str.starts_with("long_stay")
    priced = priced.with_columns(
        adjusted_relative_weight(
            pl.col("rw_e4"),
            pl.col("rw0d_e4"),
            pl.col("wtlos_e4"),
            pl.col("ot_e4"),
            pl.col("of_e4"),
            pl.col("los"),
            pl.col("day_case"),
            pl.col("drg"),
        ),
        adjrw_branch=pl.when(pl.col("rw_e4").is_not_null()).then(branch),
        weight_set=pl.when(long_stay).then(sets),
        b12_e4=pl.when(long_stay).then(_slope(sets, 0)),
        b23_e4=pl.when(long_stay).then(_slope(sets, 1)),
        b09=pl.col("drg").is_not_null() & (pl.col("rw_e4").is_null() | pl.col("rate").is_null()),
    )
    return priced.with_columns(
        drg_amount=round_half_up(pl.col("adjrw_e4").cast(_BIG) * pl.col("rate"), _E4),
    ).with_columns(
        allowed=pl.col("drg_amount") + pl.col("exempt_allowed").fill_null(0),
    )


def _pick(candidates: pl.DataFrame, exact_first: str | None) -> pl.DataFrame:
    """One candidate reference row per claim: an exact hospital type before ``*``, then the
    latest ``valid_from`` (overlaps are refused at load; this only makes the choice total)."""
    order: list[pl.Expr] = []
    descending: list[bool] = []
    if exact_first is not None:
        order.append(pl.col(exact_first) == "*")
        descending.append(False)
    order.append(pl.col("valid_from"))
    descending.append(True)
    return (
        candidates.sort([*CLAIM_ID, *order], descending=[False, False, *descending])
        .group_by(CLAIM_ID, maintain_order=True)
        .first()
    )
