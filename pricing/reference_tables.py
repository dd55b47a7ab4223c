"""The reference-data CSV layout: for each file, its columns, how each parses, its keys.

Each column names a parser (a ``String`` expression to a typed expression, null when the text
does not parse) and what it expected, for the message a person reads when a value is wrong.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from clearinghouse.money import parse_int, parse_satang, parse_scaled

__all__ = ["REFERENCE_FILES", "Column", "FileSpec"]

Parser = Callable[[pl.Expr], pl.Expr]


def _text(col: pl.Expr) -> pl.Expr:
    return col


def _matching(pattern: str) -> Parser:
    def parse(col: pl.Expr) -> pl.Expr:
        return pl.when(col.str.contains(pattern)).then(col)

    return parse


def _one_of(*values: str) -> Parser:
    def parse(col: pl.Expr) -> pl.Expr:
        return pl.when(col.is_in(values)).then(col)

    return parse


def _date(col: pl.Expr) -> pl.Expr:
    # The pattern first: the date parser alone would accept unpadded months and days.
    return (
        pl.when(col.str.contains(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"))
        .then(col)
        .str.to_date("%Y-%m-%d", strict=False)
    )


def _flag(col: pl.Expr) -> pl.Expr:
    return pl.when(col == "1").then(True).when(col == "0").then(False)


def _e4(col: pl.Expr) -> pl.Expr:
    return parse_scaled(col, 4)


@dataclass(frozen=True, slots=True)
class Column:
    """One CSV column: its parser, what it expects, whether it may be empty or absent."""

    name: str
    parse: Parser = _text
    expect: str = "text"
    nullable: bool = False
    optional: bool = False


@dataclass(frozen=True, slots=True)
class FileSpec:
    """One reference file: its columns, unique keys and effective-dating key."""

    name: str
    columns: tuple[Column, ...]
    unique: tuple[tuple[str, ...], ...] = ()
    #: Rows with the same values here must not overlap in ``valid_from..valid_to``.
    dated_key: tuple[str, ...] = ()

    @property
    def file(self) -> str:
        return f"{self.name}.csv"

    @property
    def dated(self) -> bool:
        return any(c.name == "valid_from" for c in self.columns)


_AMOUNT = "an amount with at most 2 decimals"
_DECIMAL4 = "a decimal with at most 4 decimals"
_COUNT = "a whole number"
_DATE = "a date YYYY-MM-DD"
_FLAG = "0 or 1"


def _money(name: str, *, nullable: bool = False) -> Column:
    return Column(name, parse_satang, _AMOUNT, nullable=nullable)


def _weight(name: str) -> Column:
    return Column(name, _e4, _DECIMAL4)


def _count(name: str, *, nullable: bool = False) -> Column:
    return Column(name, parse_int, _COUNT, nullable=nullable)


def _validity() -> tuple[Column, Column]:
    return Column("valid_from", _date, _DATE), Column("valid_to", _date, _DATE, nullable=True)


def _account() -> tuple[Column, Column]:
    return Column("account"), Column("bank", nullable=True, optional=True)


_ICD10 = _matching(r"^[A-Z][0-9][0-9A-Z]{0,5}$")
_PREFIX = _matching(r"^[A-Z][0-9A-Z]{0,6}$")

REFERENCE_FILES: dict[str, FileSpec] = {
    spec.name: spec
    for spec in (
        FileSpec(
            "hospitals",
            (
                Column("hcode"),
                Column("name"),
                Column("province"),
                Column("type", _one_of("PUB", "OTH", "PRV"), "PUB, OTH or PRV"),
                *_account(),
            ),
            unique=(("hcode",),),
        ),
        FileSpec(
            "funds",
            (
                Column("code"),
                Column("name"),
                _count("precedence"),
                _money("cap_per_claim", nullable=True),
                Column("op_refer", _flag, _FLAG),
                *_account(),
            ),
            unique=(("code",), ("precedence",)),
        ),
        FileSpec(
            "registry",
            (
                Column("person_id", _matching(r"^[0-9]{13}$"), "a 13-digit person id"),
                Column("fund"),
                Column("hmain", nullable=True),
                *_validity(),
            ),
        ),
        FileSpec(
            "icd10",
            (
                Column("code", _ICD10, "an ICD-10 code without a dot"),
                Column("sex", _one_of("1", "2"), "empty, 1 or 2", nullable=True),
                _count("age_min", nullable=True),
                _count("age_max", nullable=True),
            ),
            unique=(("code",),),
        ),
        FileSpec("charge_categories", (Column("code"),), unique=(("code",),)),
        FileSpec(
            "fee_schedule",
            (
                Column("code"),
                _money("unit_price"),
                Column("drg_exempt", _flag, _FLAG),
                *_validity(),
            ),
            dated_key=("code",),
        ),
        FileSpec(
            "drugs",
            (Column("code"), _money("ceiling_price"), *_validity()),
            dated_key=("code",),
        ),
        FileSpec(
            "drg",
            (
                Column("drg", _matching(r"^[0-9]{5}$"), "a 5-digit DRG code"),
                *(_weight(name) for name in ("rw", "rw0d", "wtlos", "ot", "of")),
                *_validity(),
            ),
            dated_key=("drg",),
        ),
        FileSpec(
            "drg_grouping",
            (
                Column("pdx_prefix", _PREFIX, "an ICD-10 code prefix without a dot"),
                Column("procedural", _flag, _FLAG),
                Column("drg", _matching(r"^[0-9]{5}$"), "a 5-digit DRG code"),
            ),
            unique=(("pdx_prefix", "procedural"),),
        ),
        FileSpec(
            "base_rates",
            (
                Column("fund"),
                Column("hospital_type", _one_of("PUB", "OTH", "PRV", "*"), "PUB, OTH, PRV or *"),
                Column("care", _one_of("IP", "IP_EMERGENCY"), "IP or IP_EMERGENCY"),
                _money("rate"),
                *_validity(),
            ),
            dated_key=("fund", "hospital_type", "care"),
        ),
    )
}
