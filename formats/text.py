"""Delimited text tables: decoding, the header, and the rows as a raw table frame.

The rules are those of the 16-file export (intake.md, "Format 1"): UTF-8 (BOM allowed) or
Windows-874, CRLF or LF, ``|`` between fields, a value trimmed and then freed of one pair of
surrounding double quotes, blank lines skipped but counted, the header the first non-blank
line. Only the header is found in Python; splitting lines and fields is set-based in Polars,
and UTF-8 bytes go to Polars without becoming a Python string. Values stay strings.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

import polars as pl

from clearinghouse.schema import TableSpec, raw_schema

__all__ = ["TextTable", "clean_value", "decode_text", "read_text_table", "table_frame"]

SEPARATOR = "|"
_QUOTE = '"'
_UTF8 = "utf-8"
_CP874 = "cp874"


def decode_text(data: bytes) -> tuple[str, str] | None:
    """The text of a file and its encoding: UTF-8 (a BOM removed), else cp874; None if neither."""
    try:
        return data.decode("utf-8-sig"), _UTF8
    except UnicodeDecodeError:
        pass
    try:
        return data.decode(_CP874), _CP874
    except UnicodeDecodeError:
        return None


def clean_value(raw: str) -> str:
    """One field as read: surrounding white space stripped, then one pair of double quotes."""
    value = raw.strip()
    if len(value) >= 2 and value[0] == _QUOTE and value[-1] == _QUOTE:
        return value[1:-1]
    return value


@dataclass(frozen=True)
class TextTable:
    """A table file whose encoding is known and whose header is located.

    ``header_index`` is the 0-based physical line of the header, the first non-blank line (None
    when the file has none); ``columns`` maps each upper-cased header name to its first
    position; ``data`` are the file's bytes, BOM removed, in ``encoding``.
    """

    file: str
    data: bytes
    encoding: str
    header_index: int | None
    columns: dict[str, int]
    field_count: int


def _locate_header(text: str) -> tuple[int | None, list[str]]:
    start = 0
    index = 0
    while True:
        end = text.find("\n", start)
        line = text[start:] if end < 0 else text[start:end]
        if line.strip():
            return index, line.split(SEPARATOR)
        if end < 0:
            return None, []
        start = end + 1
        index += 1


def read_text_table(file: str, data: bytes) -> TextTable | None:
    """Decode ``data`` and locate its header; None when it is neither UTF-8 nor cp874."""
    decoded = decode_text(data)
    if decoded is None:
        return None
    text, encoding = decoded
    header_index, names = _locate_header(text)
    columns: dict[str, int] = {}
    for position, name in enumerate(names):
        columns.setdefault(clean_value(name).upper(), position)
    if encoding == _UTF8 and data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    return TextTable(file, data, encoding, header_index, columns, len(names))


def _cleaned(expr: pl.Expr, quoted: bool) -> pl.Expr:
    value = expr.fill_null("").str.strip_chars()
    if not quoted:
        return value
    wrapped = (
        value.str.starts_with(_QUOTE) & value.str.ends_with(_QUOTE) & (value.str.len_bytes() >= 2)
    )
    return pl.when(wrapped).then(value.str.slice(1, value.str.len_chars() - 2)).otherwise(value)


def _lines(table: TextTable) -> pl.LazyFrame:
    """The file's physical lines as ``raw``, numbered from 1 as ``line``."""
    if table.encoding == _UTF8:
        source = pl.Series("raw", [table.data], dtype=pl.Binary)
        text = pl.col("raw").cast(pl.String)
    else:
        source = pl.Series("raw", [table.data.decode(table.encoding)], dtype=pl.String)
        text = pl.col("raw")
    return (
        pl.LazyFrame(source)
        .select(text.str.split("\n"))
        .explode("raw")
        .with_row_index("line", offset=1)
    )


def table_frame(table: TextTable, spec: TableSpec) -> pl.LazyFrame:
    """The raw table frame of ``table``, lazily: exactly ``raw_schema(spec.name)``.

    One row per non-blank line after the header; ``line`` is its 1-based physical line number;
    a row with more or fewer fields than the header is read by position (missing fields empty,
    extra ones ignored) and has ``s01`` True. Columns of ``spec`` absent from the header are
    ``""``.
    """
    schema = raw_schema(spec.name)
    if table.header_index is None:
        return pl.LazyFrame(schema=schema)
    raw = pl.col("raw")
    last = max((table.columns[c] for c in spec.columns if c in table.columns), default=0)
    fields = raw.str.split_exact(SEPARATOR, last)
    quoted = _QUOTE.encode() in table.data
    values = [
        (
            _cleaned(fields.struct.field(f"field_{table.columns[column]}"), quoted)
            if column in table.columns
            else pl.lit("", dtype=pl.String)
        ).alias(column)
        for column in spec.columns
    ]
    return (
        _lines(table)
        .filter(pl.col("line") > table.header_index + 1, raw.str.contains(r"\S"))
        .select(
            *values,
            file=pl.lit(table.file, dtype=pl.String),
            line=pl.col("line").cast(pl.Int64),
            s01=raw.str.count_matches(SEPARATOR, literal=True) != table.field_count - 1,
        )
        .cast(schema)
    )
