"""The national 16-file export: a folder or a ZIP of ``<TABLE>[suffix].txt`` files → raw frames.

Drop-level checks run in the order of intake.md: F01 (size, unreadable or hostile archive,
two files for one table), F02 (encoding), F03 (required tables), F04 (required columns); the
first that fails raises ``DropRefused`` with a message for the hospital's officer. Rows are
never judged here: the frames carry every value as a string plus ``file``, ``line``, ``s01``.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from clearinghouse.errors import DropRefused
from clearinghouse.schema import TABLES, raw_schema
from formats.drop import checked_size, folder_files, is_zip
from formats.text import TextTable, read_text_table, table_frame
from formats.zipsafe import base_name, checked_members, open_zip, read_member

__all__ = ["RAISED_SCHEMA", "REQUIRED_TABLES", "RawDrop", "read_sixteen", "table_of"]

#: Tables every drop must hold, and the claim tables of which it must hold at least one.
REQUIRED_TABLES = ("INS", "PAT", "CHT", "CHA")
CLAIM_TABLES = ("OPD", "IPD")

_TABLE_FILE = re.compile(rf"^({'|'.join(TABLES)})(?:[^A-Za-z].*)?\.txt$", re.IGNORECASE | re.DOTALL)
#: Claim-level codes a reader raises on fields no canonical column holds (B10, FHIR S02).
RAISED_SCHEMA = pl.Schema(
    {"claim_type": pl.String(), "claim_key": pl.String(), "code": pl.String()}
)


@dataclass
class RawDrop:
    """A drop as raw table frames, whatever its format.

    ``tables`` holds every table of ``TABLES``, each frame exactly ``raw_schema(table)``
    (an absent table is an empty frame); ``rows_read`` and ``files`` (the file's name inside
    the drop) only the tables present; ``ignored_files`` the other files' names, sorted.
    ``raised``: claim codes the reader found on fields no canonical column holds
    (``RAISED_SCHEMA``); ``absent``: the ``(table, column)`` pairs the format does not carry,
    which the row rules must not call empty (docs/formats.md, "Rules that cannot fire").
    """

    tables: dict[str, pl.DataFrame]
    rows_read: dict[str, int]
    ignored_files: list[str]
    files: dict[str, str]
    raised: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=RAISED_SCHEMA))
    absent: frozenset[tuple[str, str]] = frozenset()


def table_of(name: str) -> str | None:
    """The table a file name stands for (``<TABLE>.txt``, ``<TABLE><suffix>.txt``), else None."""
    match = _TABLE_FILE.match(name)
    return match.group(1).upper() if match else None


def _claim_file(tables: dict[str, str], table: str, name: str) -> None:
    if table in tables:
        first, second = sorted((tables[table], name))
        raise DropRefused(
            "F01", f"two files for table {table}: {first} and {second}; send one file per table"
        )
    tables[table] = name


def _read_folder(path: Path) -> tuple[dict[str, bytes], dict[str, str], list[str]]:
    names: dict[str, str] = {}
    ignored: list[str] = []
    try:
        entries = folder_files(path)
        for entry in entries:
            table = table_of(entry.name)
            if table is None:
                ignored.append(entry.name)
            else:
                _claim_file(names, table, entry.name)
        blobs = {table: (path / name).read_bytes() for table, name in names.items()}
    except OSError as exc:
        raise DropRefused("F01", f"the folder cannot be read ({exc.strerror or exc})") from exc
    return blobs, names, ignored


def _read_zip(path: Path, max_bytes: int) -> tuple[dict[str, bytes], dict[str, str], list[str]]:
    names: dict[str, str] = {}
    members: dict[str, zipfile.ZipInfo] = {}
    ignored: list[str] = []
    with open_zip(path) as archive:
        for info in checked_members(archive, max_bytes):
            table = table_of(base_name(info))
            if table is None:
                ignored.append(info.filename)
                continue
            _claim_file(names, table, base_name(info))
            members[table] = info
        blobs: dict[str, bytes] = {}
        unpacked = 0
        for table, info in members.items():
            blobs[table] = read_member(archive, info, max_bytes - unpacked, max_bytes)
            unpacked += len(blobs[table])
    return blobs, names, sorted(ignored)


def _decoded(blobs: dict[str, bytes], names: dict[str, str]) -> dict[str, TextTable]:
    """Every table file decoded (its header located), in table order; F02 for the first not."""
    texts: dict[str, TextTable] = {}
    for table in TABLES:
        if table not in blobs:
            continue
        text = read_text_table(names[table], blobs.pop(table))
        if text is None:
            raise DropRefused(
                "F02",
                f"{names[table]} is neither UTF-8 nor Windows-874 (TIS-620) text; "
                "export it in one of these encodings",
            )
        texts[table] = text
    return texts


def _check_tables(present: dict[str, TextTable]) -> None:
    missing = [t for t in REQUIRED_TABLES if t not in present]
    if not any(t in present for t in CLAIM_TABLES):
        missing.append("OPD or IPD")
    if missing:
        raise DropRefused(
            "F03",
            f"required table(s) missing: {', '.join(missing)}; every drop needs "
            "INS, PAT, CHT, CHA and OPD or IPD (files named like INS.txt or INS6910.txt)",
        )


def _check_columns(present: dict[str, TextTable]) -> None:
    problems = []
    for table, text in present.items():
        if text.header_index is None:
            problems.append(f"{text.file} has no header line")
            continue
        lacking = [c for c in TABLES[table].required if c not in text.columns]
        if lacking:
            problems.append(f"{text.file} lacks column(s) {', '.join(lacking)}")
    if problems:
        raise DropRefused(
            "F04", "; ".join(problems) + "; the header must name every required column"
        )


def read_sixteen(path: Path, *, max_bytes: int) -> RawDrop:
    """Read a 16-file drop (a folder or a ZIP archive) into raw table frames.

    Raises:
        DropRefused: F01, F02, F03 or F04, the first check that fails.
    """
    checked_size(path, max_bytes)
    if path.is_dir():
        blobs, names, ignored = _read_folder(path)
    elif is_zip(path):
        blobs, names, ignored = _read_zip(path, max_bytes)
    else:
        raise DropRefused("F01", "the drop is neither a ZIP archive nor a folder of table files")
    texts = _decoded(blobs, names)
    _check_tables(texts)
    _check_columns(texts)
    present = {table: names[table] for table in texts}
    frames: dict[str, pl.DataFrame] = {}
    for table in TABLES:
        # One table at a time, its bytes released once read: the peak is one table's work.
        text = texts.pop(table, None)
        if text is None:
            frames[table] = pl.DataFrame(schema=raw_schema(table))
        else:
            frames[table] = table_frame(text, TABLES[table]).collect()
            del text
    return RawDrop(
        tables=frames,
        rows_read={table: frames[table].height for table in present},
        ignored_files=sorted(ignored),
        files=present,
    )
