"""The value shapes every XML/FHIR reader converts to (docs/formats.md, "Common to every
reader"): ISO dates and date-times to ``YYYYMMDD`` + ``HHMM``, ICD codes without their dot.
Anything that does not have the expected shape passes through as read, so the ordinary rules
report it on the right row."""

from __future__ import annotations

import polars as pl

__all__ = ["date_part", "icd", "time_part"]

_ISO = r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::\d{2}(?:\.\d+)?)?)?$"


def date_part(col: pl.Expr) -> pl.Expr:
    """ISO date (or date-time) → ``YYYYMMDD``; anything else as read (S03 downstream)."""
    parts = col.str.strip_chars().str.extract_groups(_ISO)
    iso = pl.concat_str(parts.struct.field(str(i)) for i in (1, 2, 3))
    return pl.when(iso.is_not_null()).then(iso).otherwise(col.str.strip_chars())


def time_part(col: pl.Expr) -> pl.Expr:
    """ISO date-time → ``HHMM`` (seconds dropped); "" when it has no time."""
    parts = col.str.strip_chars().str.extract_groups(_ISO)
    return pl.concat_str(parts.struct.field("4"), parts.struct.field("5")).fill_null("")


def icd(name: str) -> pl.Expr:
    """An ICD code as the pipeline reads it: without its dot (``J18.9`` → ``J189``)."""
    return pl.col(name).str.strip_chars().str.replace_all(".", "", literal=True)
