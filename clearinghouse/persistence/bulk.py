"""Bulk paths between Polars frames and the database, bypassing the ORM.

* :func:`insert_frame` writes a frame in the caller's transaction: PostgreSQL ``COPY … FROM
  STDIN`` (CSV written by Polars, streamed chunk by chunk through the raw psycopg2 cursor of
  the same connection), SQLite chunked ``executemany`` with values already in SQLAlchemy's
  SQLite storage formats (so rows read back through the ORM look like rows it wrote).
* :func:`temp_keys` loads a frame into a temporary table for set-based lookups in SQL.
* :func:`read_frame` reads a query into a frame; with a schema the columns come back in exactly
  those types on both backends (PostgreSQL reads through ``COPY … TO STDOUT``).

Null and empty string stay distinct both ways.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence
from typing import Any, TypeAlias

import polars as pl
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    Date,
    DateTime,
    Double,
    Index,
    MetaData,
    Select,
    Table,
    Text,
    TextClause,
    text,
)
from sqlalchemy.sql import FromClause
from sqlalchemy.types import TypeEngine

from clearinghouse.persistence.models import Base

__all__ = ["Query", "insert_frame", "read_frame", "temp_keys"]

#: What read_frame runs: SQL text (``:name`` parameters), a text() clause, or a Select.
Query: TypeAlias = str | TextClause | Select[*tuple[Any, ...]]

#: SQLAlchemy's storage formats for DATE and DATETIME on SQLite (as Polars/chrono formats).
SQLITE_DATE_FORMAT = "%Y-%m-%d"
SQLITE_DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S%.6f"

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_COPY_READ_SIZE = 1 << 20
_BOOLEANS = {"t": True, "f": False, "true": True, "false": False, "1": True, "0": False}


# --- insert -----------------------------------------------------------------------------------


def _resolve(table: str | FromClause) -> tuple[Table | None, str]:
    if isinstance(table, Table):
        return table, table.name
    if not isinstance(table, str):
        raise TypeError(f"insert_frame needs a table or a table name, not {table!r}")
    return Base.metadata.tables.get(table), table


def _check_columns(frame: pl.DataFrame, tbl: Table | None, name: str) -> None:
    if tbl is not None:
        unknown = [c for c in frame.columns if c not in tbl.c]
        if unknown:
            raise ValueError(f"{name} has no column(s) {', '.join(unknown)}")
    for col, dtype in frame.schema.items():
        if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None:
            raise TypeError(f"{name}.{col}: store naive datetimes, not {dtype}")
        if dtype.is_nested() or isinstance(dtype, pl.Object | pl.Decimal | pl.Binary):
            raise TypeError(f"{name}.{col}: cannot store a {dtype} column")


def _plain(frame: pl.DataFrame) -> pl.DataFrame:
    """Categorical/Enum as String; everything else unchanged."""
    casts = [
        pl.col(c).cast(pl.String)
        for c, t in frame.schema.items()
        if isinstance(t, pl.Categorical | pl.Enum)
    ]
    return frame.with_columns(casts) if casts else frame


def _table_sql(conn: Connection, tbl: Table | None, name: str) -> str:
    prep = conn.dialect.identifier_preparer
    return prep.format_table(tbl) if tbl is not None else prep.quote(name)


def insert_frame(
    conn: Connection,
    table: str | FromClause,
    frame: pl.DataFrame,
    *,
    chunk_rows: int = 20_000,
) -> int:
    """Insert every row of ``frame`` into ``table`` in the caller's transaction; rows written.

    The frame's column names must be columns of the table (a subset: the others get their
    defaults). ``table`` is a Table (``Model.__table__`` too) or a name (of ``models.py``, or any
    table: then the columns are not checked).
    Datetimes are naive. Memory stays bounded by ``chunk_rows`` rows of CSV or Python values.
    """
    if chunk_rows < 1:
        raise ValueError("chunk_rows must be positive")
    tbl, name = _resolve(table)
    _check_columns(frame, tbl, name)
    if frame.height == 0:
        return 0
    if not frame.columns:
        raise ValueError(f"{name}: a frame without columns cannot be inserted")
    frame = _plain(frame)
    if not conn.in_transaction():
        conn.begin()  # so the caller's commit covers the raw cursor's work too
    prep = conn.dialect.identifier_preparer
    columns = ", ".join(prep.quote(c) for c in frame.columns)
    target = _table_sql(conn, tbl, name)
    if conn.dialect.name == "postgresql":
        _copy_in(conn, f"COPY {target} ({columns}) FROM STDIN WITH (FORMAT csv)", frame, chunk_rows)
    else:
        _executemany(conn, target, columns, frame, chunk_rows)
    return frame.height


class _CsvStream(io.RawIOBase):
    """A read-only file producing ``frame`` as headerless CSV, ``chunk_rows`` rows at a time.

    Nulls are unquoted empty fields, empty strings are ``""`` (PostgreSQL's CSV convention).
    """

    def __init__(self, frame: pl.DataFrame, chunk_rows: int) -> None:
        super().__init__()
        self._chunks = frame.iter_slices(chunk_rows)
        self._buffer = b""
        self._offset = 0

    def readable(self) -> bool:
        return True

    def _next_chunk(self) -> bool:
        chunk = next(self._chunks, None)
        if chunk is None:
            return False
        out = io.BytesIO()
        chunk.write_csv(
            out,
            include_header=False,
            null_value="",
            quote_style="necessary",
            date_format="%Y-%m-%d",
            datetime_format="%Y-%m-%d %H:%M:%S%.6f",
            float_scientific=False,
        )
        self._buffer = out.getvalue()
        self._offset = 0
        return True

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            parts = [self._buffer[self._offset :]]
            while self._next_chunk():
                parts.append(self._buffer)
            self._buffer, self._offset = b"", 0
            return b"".join(parts)
        while self._offset >= len(self._buffer):
            if not self._next_chunk():
                return b""
        piece = self._buffer[self._offset : self._offset + size]
        self._offset += len(piece)
        return piece

    def readinto(self, b: Any) -> int:
        piece = self.read(len(b))
        b[: len(piece)] = piece
        return len(piece)


def _copy_in(conn: Connection, sql: str, frame: pl.DataFrame, chunk_rows: int) -> None:
    raw = conn.connection.driver_connection
    assert raw is not None
    with raw.cursor() as cursor:
        cursor.copy_expert(sql, _CsvStream(frame, chunk_rows), size=_COPY_READ_SIZE)


def _sqlite_values(frame: pl.DataFrame) -> pl.DataFrame:
    """Dates and datetimes as SQLAlchemy's SQLite strings, booleans as 0/1."""
    exprs: list[pl.Expr] = []
    for col, dtype in frame.schema.items():
        if dtype == pl.Date:
            exprs.append(pl.col(col).dt.strftime(SQLITE_DATE_FORMAT))
        elif isinstance(dtype, pl.Datetime):
            exprs.append(pl.col(col).dt.strftime(SQLITE_DATETIME_FORMAT))
        elif dtype == pl.Boolean:
            exprs.append(pl.col(col).cast(pl.Int8))
        elif dtype == pl.Time:
            exprs.append(pl.col(col).dt.strftime("%H:%M:%S%.6f"))
        elif dtype == pl.Null:
            exprs.append(pl.col(col).cast(pl.String))
    return frame.with_columns(exprs) if exprs else frame


def _executemany(
    conn: Connection, target: str, columns: str, frame: pl.DataFrame, chunk_rows: int
) -> None:
    marks = ", ".join("?" for _ in frame.columns)
    sql = f"INSERT INTO {target} ({columns}) VALUES ({marks})"
    for chunk in frame.iter_slices(chunk_rows):
        conn.exec_driver_sql(sql, _sqlite_values(chunk).rows())


# --- temporary key tables ---------------------------------------------------------------------


def _sql_type(name: str, col: str, dtype: pl.DataType) -> TypeEngine[Any]:
    if dtype in (pl.String, pl.Categorical, pl.Null) or isinstance(dtype, pl.Enum):
        return Text()
    if dtype.is_integer():
        return BigInteger()
    if dtype == pl.Date:
        return Date()
    if isinstance(dtype, pl.Datetime):
        return DateTime()
    if dtype == pl.Boolean:
        return Boolean()
    if dtype.is_float():
        return Double()
    raise TypeError(f"temporary table {name}: column {col} has unsupported type {dtype}")


def temp_keys(
    conn: Connection, name: str, frame: pl.DataFrame, *, index: Sequence[str] = ()
) -> str:
    """A temporary table ``name`` holding ``frame`` (String/Int/Date/… columns); its name.

    For set-based lookups: join the keys of a drop against stored data in SQL. An existing
    temporary table of that name is replaced. On PostgreSQL it is dropped at the end of the
    transaction (``ON COMMIT DROP``) and analyzed for the planner; on SQLite it lives with the
    connection. ``index`` names columns to index (one index over all of them).
    """
    if not _IDENTIFIER.match(name):
        raise ValueError(f"not a plain identifier: {name!r}")
    if not frame.columns:
        raise ValueError(f"temporary table {name}: the frame has no columns")
    pg = conn.dialect.name == "postgresql"
    meta = MetaData()
    columns = [Column(c, _sql_type(name, c, t)) for c, t in frame.schema.items()]
    dialect_kw: dict[str, Any] = {"postgresql_on_commit": "DROP"} if pg else {}
    table = Table(name, meta, *columns, prefixes=["TEMPORARY"], **dialect_kw)
    if index:
        Index(f"ix_{name}", *(table.c[c] for c in index))
    quoted = conn.dialect.identifier_preparer.quote(name)
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {'pg_temp' if pg else 'temp'}.{quoted}")
    meta.create_all(conn)
    insert_frame(conn, table, frame)
    if pg:
        conn.exec_driver_sql(f"ANALYZE {quoted}")
    return name


# --- read -------------------------------------------------------------------------------------


def _statement(sql: Query, params: Mapping[str, Any] | None) -> Any:
    stmt: Any = text(sql) if isinstance(sql, str) else sql
    if params:
        stmt = stmt.params(**params)
    return stmt


def read_frame(
    conn: Connection,
    sql: Query,
    schema: pl.Schema | Mapping[str, pl.DataType] | None = None,
    *,
    params: Mapping[str, Any] | None = None,
) -> pl.DataFrame:
    """The result of ``sql`` (text with ``:name`` parameters, or a Select) as a frame.

    Without ``schema`` the types are inferred from the values SQLAlchemy returns. With
    ``schema`` (give one for every column), those columns come back in exactly those types on
    both backends (dates as ``pl.Date`` on SQLite too, booleans from 0/1 or ``t``/``f``), in
    the result's order; the values are the driver's own (no per-value processing), and on
    PostgreSQL the rows travel through ``COPY (query) TO STDOUT`` read by Polars. Columns the
    schema does not name come back as the driver gives them.
    """
    stmt = _statement(sql, params)
    target = pl.Schema(schema) if schema is not None else None
    if target is not None and conn.dialect.name == "postgresql" and _covered(stmt, target):
        copied = _copy_out(conn, stmt, target)
        if all(c in target for c in copied.columns):
            # One chunk: a frame read in pieces makes every later gather and sort slow.
            return _conform(copied, target).rechunk()
    result = conn.execute(stmt)
    names = list(result.keys())
    if target is None:
        return _from_rows(names, result.fetchall(), None)
    # The schema says what the values are: skip SQLAlchemy's per-value result processing and
    # take the driver's rows (SQLite dates as text, booleans as 0/1; _conform converts them).
    rows = result.cursor.fetchall() if result.cursor is not None else []
    result.close()
    return _conform(_from_rows(names, rows, target), target)


def _from_rows(
    names: list[str], rows: Sequence[Sequence[Any]], target: pl.Schema | None
) -> pl.DataFrame:
    columns: dict[str, pl.Series] = {}
    values = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    for i, col in enumerate(names):
        want = target.get(col) if target is not None else None
        data = list(values[i])
        if want is not None and (want.is_integer() or want in (pl.String, pl.Float64)):
            try:
                columns[col] = pl.Series(col, data, dtype=want, strict=True)
                continue
            except (TypeError, pl.exceptions.PolarsError):
                pass
        columns[col] = pl.Series(col, data, strict=False) if data else pl.Series(col, [])
    return pl.DataFrame(columns)


def _convert(col: str, have: pl.DataType, want: pl.DataType) -> pl.Expr:
    expr = pl.col(col)
    if have == pl.Null:
        return expr.cast(want)
    if have == pl.String:
        if want == pl.Date:
            return expr.str.to_date(SQLITE_DATE_FORMAT)
        if isinstance(want, pl.Datetime):
            return expr.str.to_datetime(
                "%Y-%m-%d %H:%M:%S%.f", time_unit=want.time_unit, time_zone=want.time_zone
            )
        if want == pl.Boolean:
            return expr.replace_strict(_BOOLEANS, return_dtype=pl.Boolean)
    return expr.cast(want, strict=True)


def _conform(frame: pl.DataFrame, target: pl.Schema) -> pl.DataFrame:
    missing = [c for c in target if c not in frame.columns]
    if missing:
        raise ValueError(f"the query has no column(s) {', '.join(missing)}")
    have = frame.schema
    return frame.with_columns(
        _convert(c, have[c], want).alias(c) for c, want in target.items() if have[c] != want
    )


def _covered(stmt: Any, target: pl.Schema) -> bool:
    if isinstance(stmt, Select):
        return all(c in target for c in stmt.selected_columns.keys())  # noqa: SIM118
    return True  # text: known after the COPY


#: Types the CSV reader parses straight from PostgreSQL's COPY text (the rest go via String).
_DIRECT = (pl.Int64(), pl.Int32(), pl.String())


def _copy_out(conn: Connection, stmt: Any, target: pl.Schema) -> pl.DataFrame:
    """The result of ``stmt`` through ``COPY (…) TO STDOUT``: integer and text columns of
    ``target`` parsed as such, every other column as String (for :func:`_conform`)."""
    compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    if not conn.in_transaction():
        conn.begin()
    raw = conn.connection.driver_connection
    assert raw is not None
    out = io.BytesIO()
    with raw.cursor() as cursor:
        query = cursor.mogrify(compiled.string, compiled.params).decode("utf-8")
        cursor.copy_expert(f"COPY ({query}) TO STDOUT WITH (FORMAT csv, HEADER true)", out)
    out.seek(0)
    direct = {name: kind for name, kind in target.items() if kind in _DIRECT}
    return pl.read_csv(
        out, has_header=True, infer_schema=False, schema_overrides=direct, raise_if_empty=False
    )
