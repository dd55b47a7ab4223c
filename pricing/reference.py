"""Read a reference data set (a folder of CSV files) into typed, validated frames.

Every value is read as text and parsed set-based (a registry of millions of rows is a handful
of column expressions, never a loop over rows). Any problem refuses the whole set with one
:class:`~clearinghouse.errors.UsageError` listing the first few, each with its file, line and
column.
"""

from __future__ import annotations

import csv
from importlib.resources import files
from pathlib import Path

import polars as pl

from clearinghouse.errors import UsageError
from clearinghouse.schema import REFERENCE_SCHEMAS
from pricing.reference_tables import REFERENCE_FILES, FileSpec

__all__ = ["MAX_REPORTED_PROBLEMS", "read_reference_dir", "read_reference_file", "sample_dir"]

#: How many problems one refusal lists.
MAX_REPORTED_PROBLEMS = 10

_LINE = "__line"


def sample_dir() -> Path:
    """The folder of the bundled sample reference set (``pricing/sample``)."""
    return Path(str(files("pricing") / "sample"))


def read_reference_dir(path: Path) -> dict[str, pl.DataFrame]:
    """Read every reference CSV present in ``path``.

    Returns:
        Frames named by file stem (``hospitals``, ``fee_schedule``, ...), each exactly of its
        :data:`~clearinghouse.schema.REFERENCE_SCHEMAS` schema; absent files are absent keys.

    Raises:
        UsageError: the folder does not exist or holds none of the files, or any value,
            column or key is wrong (the message names file, line and column).
    """
    if not path.is_dir():
        raise UsageError(f"reference data folder {path} does not exist or is not a folder")
    present = [spec for spec in REFERENCE_FILES.values() if (path / spec.file).is_file()]
    if not present:
        names = ", ".join(spec.file for spec in REFERENCE_FILES.values())
        raise UsageError(f"reference data folder {path} holds none of the files {names}")
    parsed: dict[str, pl.LazyFrame] = {}
    unreadable: list[str] = []
    for spec in present:
        try:
            parsed[spec.name] = _parse(spec, _read_raw(path / spec.file, spec))
        except UsageError as exc:
            unreadable.append(f"  {exc}")
    if unreadable:
        raise UsageError(f"reference data in {path} is not valid:\n" + "\n".join(unreadable))
    problems = [_problems(spec, parsed[spec.name]) for spec in present]
    if "registry" in parsed and "funds" in parsed:
        problems.append(_unknown_funds(parsed["registry"], parsed["funds"]))
    # One collect for all: the parse of each file is a common subplan of its checks and result.
    found, *frames = pl.collect_all(
        [pl.concat(problems), *(_typed(name, frame) for name, frame in parsed.items())]
    )
    _raise_if_any(path, found)
    return dict(zip(parsed, frames, strict=True))


def read_reference_file(path: Path) -> pl.DataFrame:
    """Read one reference CSV, named by its file (e.g. ``drugs.csv``), checked on its own."""
    spec = REFERENCE_FILES.get(path.stem)
    if spec is None or path.name != spec.file:
        raise UsageError(f"{path.name} is not a reference data file")
    if not path.is_file():
        raise UsageError(f"reference data file {path} does not exist")
    frame = _parse(spec, _read_raw(path, spec))
    _raise_if_any(path.parent, _problems(spec, frame).collect())
    return _typed(spec.name, frame).collect()


def _read_raw(path: Path, spec: FileSpec) -> pl.LazyFrame:
    """The file's known columns as stripped text (empty = null) plus the 1-based line."""
    try:
        header = pl.read_csv(path, n_rows=0, infer_schema=False, encoding="utf8").columns
    except pl.exceptions.NoDataError:
        header = []
    except pl.exceptions.ComputeError as exc:
        raise UsageError(f"{spec.file}: cannot read the header ({exc})") from exc
    by_name: dict[str, str] = {}
    for raw_name in header:
        by_name.setdefault(raw_name.strip(), raw_name)
    missing = [c.name for c in spec.columns if not c.optional and c.name not in by_name]
    if missing:
        listed = ", ".join(missing)
        raise UsageError(f"{spec.file} line 1, column {missing[0]}: missing column(s) {listed}")
    wanted = [c.name for c in spec.columns if c.name in by_name]
    try:
        frame = pl.read_csv(
            path,
            columns=[by_name[name] for name in wanted],
            infer_schema=False,
            encoding="utf8",
            row_index_name=_LINE,
            row_index_offset=2,
        )
    except pl.exceptions.ComputeError as exc:
        raise UsageError(_unreadable(path, spec, exc)) from exc
    stripped = [
        pl.col(by_name[name]).str.strip_chars().replace("", None).alias(name) for name in wanted
    ]
    absent = [pl.lit(None, pl.String).alias(c.name) for c in spec.columns if c.name not in wanted]
    blank_line = pl.all_horizontal(pl.col(name).is_null() for name in wanted)
    return frame.lazy().select(pl.col(_LINE).cast(pl.Int64), *stripped, *absent).filter(~blank_line)


def _unreadable(path: Path, spec: FileSpec, exc: Exception) -> str:
    """Name the first line with more fields than the header (only read on this error path)."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows = csv.reader(handle)
            width = len(next(rows, []))
            for row in rows:
                if len(row) > width:
                    return f"{spec.file} line {rows.line_num}: more fields than the header"
    except UnicodeDecodeError:
        return f"{spec.file}: not UTF-8 text"
    return f"{spec.file}: not a readable CSV file ({exc})"


def _parse(spec: FileSpec, raw: pl.LazyFrame) -> pl.LazyFrame:
    """Add the parsed value of every column as ``<name>``; the text stays in ``<name>__raw``."""
    return raw.select(
        _LINE,
        *(pl.col(c.name).alias(f"{c.name}__raw") for c in spec.columns),
        *(c.parse(pl.col(c.name)).alias(c.name) for c in spec.columns),
    )


def _problem(spec: FileSpec, frame: pl.LazyFrame, column: str, text: pl.Expr) -> pl.LazyFrame:
    return frame.select(
        pl.lit(spec.file).alias("file"),
        pl.col(_LINE).alias("line"),
        pl.lit(column).alias("column"),
        text.alias("problem"),
    ).head(MAX_REPORTED_PROBLEMS)


def _problems(spec: FileSpec, frame: pl.LazyFrame) -> pl.LazyFrame:
    """Every problem of one file as rows ``(file, line, column, problem)``."""
    found: list[pl.LazyFrame] = []
    for col in spec.columns:
        raw = pl.col(f"{col.name}__raw")
        if not col.nullable:
            found.append(_problem(spec, frame.filter(raw.is_null()), col.name, pl.lit("is empty")))
        unparsed = frame.filter(raw.is_not_null() & pl.col(col.name).is_null())
        message = pl.format("'{}' is not {}", raw, pl.lit(col.expect))
        found.append(_problem(spec, unparsed, col.name, message))
    for low, high in (("valid_from", "valid_to"), ("age_min", "age_max")):
        if low in frame.collect_schema():
            reversed_ = frame.filter(pl.col(high) < pl.col(low))
            message = pl.format(
                "'{}' is before {} '{}'", f"{high}__raw", pl.lit(low), f"{low}__raw"
            )
            found.append(_problem(spec, reversed_, high, message))
    for key in spec.unique:
        again = frame.filter(pl.all_horizontal(pl.col(k).is_not_null() for k in key))
        again = again.with_columns(first=pl.col(_LINE).min().over(key)).filter(
            pl.col(_LINE) > pl.col("first")
        )
        shown = pl.concat_str([pl.col(f"{k}__raw") for k in key], separator=", ")
        message = pl.format("duplicate key '{}' (first on line {})", shown, "first")
        found.append(_problem(spec, again, key[0], message))
    if spec.dated_key:
        found.append(_overlaps(spec, frame))
    return pl.concat(found)


def _overlaps(spec: FileSpec, frame: pl.LazyFrame) -> pl.LazyFrame:
    """Rows of one dated key whose validity overlaps the previous row's (ambiguous prices)."""
    key = list(spec.dated_key)
    order = ["valid_from", _LINE]
    ordered = frame.filter(
        pl.all_horizontal(pl.col(k).is_not_null() for k in [*key, "valid_from"])
    ).with_columns(
        prev_to=pl.col("valid_to").shift(1).over(key, order_by=order),
        prev_line=pl.col(_LINE).shift(1).over(key, order_by=order),
    )
    overlapping = ordered.filter(
        pl.col("prev_line").is_not_null()
        & (pl.col("prev_to").is_null() | (pl.col("prev_to") >= pl.col("valid_from")))
    )
    message = pl.format(
        "'{}' overlaps the validity of line {} for the same {}",
        "valid_from__raw",
        "prev_line",
        pl.lit(", ".join(key)),
    )
    return _problem(spec, overlapping, "valid_from", message)


def _unknown_funds(registry: pl.LazyFrame, funds: pl.LazyFrame) -> pl.LazyFrame:
    unknown = registry.filter(pl.col("fund").is_not_null()).join(
        funds.select(pl.col("code").alias("fund")), on="fund", how="anti", maintain_order="left"
    )
    message = pl.format("'{}' is not a fund in funds.csv", "fund__raw")
    return _problem(REFERENCE_FILES["registry"], unknown, "fund", message)


def _raise_if_any(path: Path, problems: pl.DataFrame) -> None:
    if problems.is_empty():
        return
    order = {spec.file: i for i, spec in enumerate(REFERENCE_FILES.values())}
    first = (
        problems.with_columns(order=pl.col("file").replace_strict(order, default=len(order)))
        .sort("order", "line", "column")
        .head(MAX_REPORTED_PROBLEMS)
    )
    lines = [
        f"  {row['file']} line {row['line']}, column {row['column']}: {row['problem']}"
        for row in first.iter_rows(named=True)
    ]
    more = "" if len(problems) <= len(first) else "\n  (and more)"
    raise UsageError(f"reference data in {path} is not valid:\n" + "\n".join(lines) + more)


def _typed(name: str, frame: pl.LazyFrame) -> pl.LazyFrame:
    schema = REFERENCE_SCHEMAS[name]
    renamed = {"rw_e4": "rw", "rw0d_e4": "rw0d", "wtlos_e4": "wtlos", "ot_e4": "ot", "of_e4": "of"}
    return frame.select(
        pl.col(renamed.get(col, col)).cast(dtype).alias(col) for col, dtype in schema.items()
    )
