"""Set-based parsing of raw text columns: dates, times, amounts and quantities.

Every function takes and returns a ``pl.Expr``; a value that does not parse becomes null, so
a rule can say "present but unparseable" as ``raw != "" & parsed.is_null()``. Money is parsed
to integer satang from its digits, never through a binary float.
"""

from __future__ import annotations

import polars as pl

from clearinghouse.money import parse_int, parse_satang

__all__ = [
    "BUDDHIST_ERA_OFFSET",
    "parse_amount",
    "parse_date",
    "parse_quantity",
    "parse_time_minutes",
]

BUDDHIST_ERA_OFFSET = 543


def parse_date(raw: pl.Expr) -> pl.Expr:
    """``YYYYMMDD`` to a date; a year above 2400 is Buddhist era; an impossible date is null."""
    text = raw.str.strip_chars()
    ok = text.str.contains(r"^[0-9]{8}$")
    year = text.str.slice(0, 4).cast(pl.Int32, strict=False)
    year = pl.when(year > 2400).then(year - BUDDHIST_ERA_OFFSET).otherwise(year)
    month = text.str.slice(4, 2).cast(pl.Int32, strict=False)
    day = text.str.slice(6, 2).cast(pl.Int32, strict=False)
    iso = pl.format(
        "{}-{}-{}",
        year.cast(pl.String).str.zfill(4),
        month.cast(pl.String).str.zfill(2),
        day.cast(pl.String).str.zfill(2),
    )
    return pl.when(ok).then(iso.str.to_date("%Y-%m-%d", strict=False)).otherwise(None)


def parse_time_minutes(raw: pl.Expr) -> pl.Expr:
    """``HHMM`` to minutes after midnight (Int32); out-of-range or malformed is null."""
    text = raw.str.strip_chars()
    hours = text.str.slice(0, 2).cast(pl.Int32, strict=False)
    minutes = text.str.slice(2, 2).cast(pl.Int32, strict=False)
    valid = text.str.contains(r"^[0-9]{4}$") & (hours < 24) & (minutes < 60)
    return pl.when(valid).then(hours * 60 + minutes).otherwise(None)


def parse_quantity(raw: pl.Expr) -> pl.Expr:
    """A non-negative whole number; anything else (decimals, signs, text) is null."""
    return parse_int(raw.str.strip_chars())


def parse_amount(raw: pl.Expr) -> pl.Expr:
    """A non-negative amount with at most two decimals, in satang; anything else is null."""
    return parse_satang(raw.str.strip_chars())
