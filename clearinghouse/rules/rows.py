"""Row rules (S01–S04, S07): what is wrong with one input row, as expressions per table.

Each rule is a boolean expression over a raw table frame; the engine evaluates them all at
once. A rule whose input is empty does not fire (S02 reports the empty field once).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import polars as pl

from clearinghouse.parse import parse_amount, parse_date, parse_quantity, parse_time_minutes

__all__ = ["row_rules"]

RowRule = tuple[str, pl.Expr]


def _text(name: str) -> pl.Expr:
    return pl.col(name).str.strip_chars()


def _required_empty(*names: str) -> pl.Expr:
    """Any of the required fields is empty (never, when none is left to require)."""
    if not names:
        return pl.lit(False)
    return pl.any_horizontal(*[_text(n) == "" for n in names])


def unparseable(parser: Callable[[pl.Expr], pl.Expr], *names: str) -> pl.Expr:
    """Any of the fields is present but does not parse."""
    return pl.any_horizontal(*[(_text(n) != "") & parser(pl.col(n)).is_null() for n in names])


def foreign_hospital(hcode: str) -> pl.Expr:
    """The row's HCODE is present and names another hospital than the submitter."""
    return (_text("HCODE") != "") & (_text("HCODE") != hcode)


def _amount(raw: pl.Expr) -> pl.Expr:
    return parse_amount(raw)


@functools.cache
def row_rules(table: str, hcode: str, absent: frozenset[str] = frozenset()) -> tuple[RowRule, ...]:
    """The row rules of ``table`` for a drop submitted by ``hcode`` (built once, reused).

    ``absent``: the table's columns the drop's format does not carry (a ClaimRec bill has no
    birth date): S02 does not require them.
    """

    def required_empty(*names: str) -> pl.Expr:
        return _required_empty(*(n for n in names if n not in absent))

    rules: list[RowRule] = [("S01", pl.col("s01"))]
    rules += {
        "OPD": [
            ("S02", required_empty("HN", "SEQ", "DATEOPD")),
            (
                "S03",
                unparseable(parse_date, "DATEOPD") | unparseable(parse_time_minutes, "TIMEOPD"),
            ),
        ],
        "IPD": [
            ("S02", required_empty("HN", "AN", "DATEADM", "DATEDSC")),
            (
                "S03",
                unparseable(parse_date, "DATEADM", "DATEDSC")
                | unparseable(parse_time_minutes, "TIMEADM", "TIMEDSC"),
            ),
        ],
        "PAT": [
            ("S02", required_empty("HN", "PERSON_ID", "DOB")),
            ("S03", unparseable(parse_date, "DOB")),
            ("S07", foreign_hospital(hcode)),
        ],
        "CHT": [
            ("S02", required_empty("DATE", "TOTAL")),
            ("S03", unparseable(parse_date, "DATE")),
            ("S04", unparseable(_amount, "TOTAL")),
        ],
        "CHA": [("S04", unparseable(_amount, "AMOUNT"))],
        "ADP": [
            ("S02", required_empty("CODE", "QTY")),
            ("S04", unparseable(parse_quantity, "QTY") | unparseable(_amount, "RATE", "TOTAL")),
        ],
        "DRU": [
            ("S02", required_empty("DIDSTD", "AMOUNT")),
            (
                "S04",
                unparseable(parse_quantity, "AMOUNT") | unparseable(_amount, "DRUGPRIC", "TOTAL"),
            ),
            ("S07", foreign_hospital(hcode)),
        ],
        "LVD": [("S04", unparseable(parse_quantity, "QTYDAY"))],
    }.get(table, [])
    return tuple(rules)
