"""The national 16-file export: a folder or a ZIP of ``<TABLE>[suffix].txt`` files → raw frames.

Drop-level checks run in the order of intake.md: F01 (size, unreadable or hostile archive,
two files for one table), F02 (encoding), F03 (required tables), F04 (required columns); the
first that fails raises ``DropRefused`` with a message for the hospital's officer. Rows are
never judged here: the frames carry every value as a string plus ``file``, ``line``, ``s01``.
"""

from __future__ import annotations

import lzma
import re
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import polars as pl

from clearinghouse.errors import DropRefused
from clearinghouse.schema import TABLES, raw_schema
from formats.drop import drop_size, folder_files, is_zip
from formats.text import TextTable, read_text_table, table_frame

__all__ = ["REQUIRED_TABLES", "RawDrop", "read_sixteen", "table_of"]

#: Tables every drop must hold, and the claim tables of which it must hold at least one.
REQUIRED_TABLES = ("INS", "PAT", "CHT", "CHA")
CLAIM_TABLES = ("OPD", "IPD")

_TABLE_FILE = re.compile(rf"^({'|'.join(TABLES)})(?:[^A-Za-z].*)?\.txt$", re.IGNORECASE | re.DOTALL)
_CHUNK = 1 << 20
# Everything zipfile and its decompressors raise on damaged, encrypted or exotic archives.
_ZIP_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    lzma.LZMAError,
    OSError,
    EOFError,
    RuntimeError,
    NotImplementedError,
    ValueError,
)


@dataclass
class RawDrop:
    """A 16-file drop as raw table frames.

    ``tables`` holds every table of ``TABLES``, each frame exactly ``raw_schema(table)``
    (an absent table is an empty frame); ``rows_read`` and ``files`` (the file's name inside
    the drop) only the tables present; ``ignored_files`` the other files' names, sorted.
    """

    tables: dict[str, pl.DataFrame]
    rows_read: dict[str, int]
    ignored_files: list[str]
    files: dict[str, str]


def table_of(name: str) -> str | None:
    """The table a file name stands for (``<TABLE>.txt``, ``<TABLE><suffix>.txt``), else None."""
    match = _TABLE_FILE.match(name)
    return match.group(1).upper() if match else None


def _human(size: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} bytes"


def _too_large(what: str, size: int, max_bytes: int) -> DropRefused:
    return DropRefused(
        "F01",
        f"{what} {_human(size)}, more than the {_human(max_bytes)} accepted; "
        "split it into smaller drops",
    )


def _claim_file(tables: dict[str, str], table: str, name: str) -> None:
    if table in tables:
        first, second = sorted((tables[table], name))
        raise DropRefused(
            "F01", f"two files for table {table}: {first} and {second}; send one file per table"
        )
    tables[table] = name


def _unsafe(name: str) -> bool:
    """A member name with an absolute path, a drive letter or a ``..`` step."""
    posix = name.replace("\\", "/")
    return (
        posix.startswith("/")
        or re.match(r"^[A-Za-z]:", posix) is not None
        or ".." in posix.split("/")
    )


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


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, room: int, limit: int) -> bytes:
    """The member's bytes, refusing once more than ``room`` bytes come out (a lying archive)."""
    parts: list[bytes] = []
    taken = 0
    with archive.open(info) as member:
        while chunk := member.read(_CHUNK):
            taken += len(chunk)
            if taken > room:
                raise DropRefused(
                    "F01",
                    f"the ZIP archive unpacks to more than the {_human(limit)} accepted; "
                    "split it into smaller drops",
                )
            parts.append(chunk)
    return b"".join(parts)


def _read_zip(path: Path, max_bytes: int) -> tuple[dict[str, bytes], dict[str, str], list[str]]:
    names: dict[str, str] = {}
    members: dict[str, zipfile.ZipInfo] = {}
    ignored: list[str] = []
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            for info in infos:
                if _unsafe(info.filename):
                    raise DropRefused(
                        "F01",
                        f"the ZIP archive holds {info.filename!r}, a name with an "
                        "absolute path or '..'; put the files at the top of the archive",
                    )
            declared = sum(info.file_size for info in infos)
            if declared > max_bytes:
                raise _too_large("the ZIP archive unpacks to", declared, max_bytes)
            for info in infos:
                base = PurePosixPath(info.filename.replace("\\", "/")).name
                if info.is_dir() or not base or base.startswith("."):
                    continue
                table = table_of(base)
                if table is None:
                    ignored.append(info.filename)
                    continue
                if info.flag_bits & 0x1:
                    raise DropRefused(
                        "F01",
                        f"{info.filename} is password-protected; send the ZIP without a password",
                    )
                _claim_file(names, table, base)
                members[table] = info
            blobs: dict[str, bytes] = {}
            unpacked = 0
            for table, info in members.items():
                blobs[table] = _read_member(archive, info, max_bytes - unpacked, max_bytes)
                unpacked += len(blobs[table])
    except _ZIP_ERRORS as exc:
        raise DropRefused(
            "F01",
            f"the ZIP archive is damaged or cannot be unpacked ({exc}); create it again and resend",
        ) from exc
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
    try:
        size = drop_size(path)
        folder = path.is_dir()
    except OSError as exc:
        raise DropRefused("F01", f"the drop cannot be read ({exc.strerror or exc})") from exc
    if size > max_bytes:
        raise _too_large("the drop is", size, max_bytes)
    if folder:
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
