"""The one CSV writer for every file the spec names.

UTF-8 without BOM, ``\\n`` line ends, minimal quoting, and an empty value written as an empty
field (Polars would quote an empty string as ``""`` to tell it from null; the spec's files
make no such difference).
"""

from __future__ import annotations

import io
from pathlib import Path

import polars as pl

__all__ = ["csv_bytes", "write_csv"]


def _blanked(frame: pl.DataFrame) -> pl.DataFrame:
    strings = [name for name, kind in frame.schema.items() if kind == pl.String()]
    if not strings:
        return frame
    empty = frame.select((pl.col(name) == "").any() for name in strings).row(0)
    text = [name for name, found in zip(strings, empty, strict=True) if found]
    return frame.with_columns(
        pl.when(pl.col(name) == "").then(None).otherwise(pl.col(name)).alias(name) for name in text
    )


def csv_bytes(frame: pl.DataFrame) -> bytes:
    """The frame as spec CSV bytes (header included)."""
    buffer = io.BytesIO()
    _blanked(frame).write_csv(buffer, line_terminator="\n", quote_style="necessary", null_value="")
    return buffer.getvalue()


def write_csv(frame: pl.DataFrame, path: Path) -> None:
    """Write the frame as a spec CSV file (header included), straight to disk."""
    _blanked(frame).write_csv(path, line_terminator="\n", quote_style="necessary", null_value="")
