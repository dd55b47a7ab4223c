"""Text tables to drop files the way real exporters write them, byte for byte reproducibly.

A drop's style is drawn once: folder or ZIP, file-name suffix (``ADP6910.txt``), encoding
(UTF-8, UTF-8 with BOM, Windows-874), CRLF or LF, quoted fields, shuffled column orders,
Buddhist-era dates, a stray blank line, an extra 17th file. ZIP members carry a fixed
timestamp, so the same tables always give the same bytes.
"""

from __future__ import annotations

import io
import shutil
import zipfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from jobs.synth.tables import TABLE_ORDER

__all__ = ["DropStyle", "choose_style", "copy_drop", "encode_tables", "write_drop"]

_EXTRA_FILE = ("LABFU", "HCODE|HN|PERSON_ID|DATESERV|SEQ|LABTEST|LABRESULT")


@dataclass(frozen=True, slots=True)
class DropStyle:
    """How one drop is written."""

    as_zip: bool
    suffix: str
    lower: bool
    encoding: str
    eol: str
    shuffle: bool
    quoted: frozenset[str]
    blank: frozenset[str]
    be: bool
    extra_file: bool
    order_seed: int


def choose_style(rng: np.random.Generator, day: date) -> DropStyle:
    """Draw a drop's style; ``day`` gives the ``YYMM`` (Buddhist era) file-name suffix."""
    u = rng.random(12)
    tables = np.array(TABLE_ORDER)
    return DropStyle(
        as_zip=bool(u[0] < 0.5),
        suffix=f"{(day.year + 543) % 100:02d}{day.month:02d}" if u[1] < 0.5 else "",
        lower=bool(u[2] < 0.05),
        encoding=str(
            np.array(["utf-8", "utf-8-sig", "cp874"])[
                np.searchsorted([0.45, 0.70], u[3], side="right")
            ]
        ),
        eol="\r\n" if u[4] < 0.6 else "\n",
        shuffle=bool(u[5] < 0.2),
        quoted=frozenset(tables[rng.random(len(tables)) < 0.5]) if u[6] < 0.15 else frozenset(),
        blank=frozenset(tables[rng.random(len(tables)) < 0.3]) if u[7] < 0.15 else frozenset(),
        be=bool(u[8] < 0.1),
        extra_file=bool(u[9] < 0.1),
        order_seed=int(rng.integers(1 << 31)),
    )


def file_name(table: str, style: DropStyle) -> str:
    name = f"{table}{style.suffix}.txt"
    return name.lower() if style.lower else name


def _render(table: str, frame: pl.DataFrame, style: DropStyle, position: int) -> str:
    columns = [c for c in frame.columns if not c.startswith("_")]
    if style.shuffle:
        columns = [
            str(c) for c in np.random.default_rng([style.order_seed, position]).permutation(columns)
        ]
    fields = [pl.col(c) for c in columns]
    if table in style.quoted:
        fields = [pl.concat_str(pl.lit('"'), f, pl.lit('"')) for f in fields]
    line = pl.concat_str(fields, separator="|")
    if "_s01" in frame.columns:
        line = pl.when(pl.col("_s01").fill_null(False)).then(line + "|").otherwise(line)
    lines = frame.select(line.alias("line"))["line"]
    if table in style.blank and frame.height:
        at = (style.order_seed + position) % (frame.height + 1)
        lines = pl.concat([lines[:at], pl.Series("line", ["  " if at % 2 else ""]), lines[at:]])
    body = pl.concat([pl.Series("line", ["|".join(columns)]), lines])
    return str(body.str.join(style.eol).item()) + style.eol


def encode_tables(tables: dict[str, pl.DataFrame], style: DropStyle) -> dict[str, bytes]:
    """File name -> bytes of every table of the drop (plus the extra file, if any)."""
    files: dict[str, bytes] = {}
    for position, table in enumerate(TABLE_ORDER):
        if table not in tables:
            continue
        text = _render(table, tables[table], style, position)
        files[file_name(table, style)] = text.encode(style.encoding)
    if style.extra_file:
        files[file_name(_EXTRA_FILE[0], style)] = (_EXTRA_FILE[1] + style.eol).encode("ascii")
    return files


def write_drop(
    folder: Path, name: str, files: dict[str, bytes], *, as_zip: bool, day: date
) -> Path:
    """Write the files as the folder ``folder/name`` or the archive ``folder/name.zip``."""
    folder.mkdir(parents=True, exist_ok=True)
    if not as_zip:
        target = folder / name
        target.mkdir()
        for member, data in files.items():
            (target / member).write_bytes(data)
        return target
    target = folder / f"{name}.zip"
    target.write_bytes(zip_bytes(files, day))
    return target


def zip_bytes(files: dict[str, bytes], day: date) -> bytes:
    """A deterministic ZIP archive of the files (fixed timestamps and attributes)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for member, data in files.items():
            info = zipfile.ZipInfo(member, date_time=(day.year, day.month, day.day, 7, 30, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o644 << 16
            archive.writestr(info, data, compresslevel=1)
    return buffer.getvalue()


def copy_drop(source: Path, folder: Path, name: str) -> Path:
    """An exact copy of a drop under another name (the same bytes, so the same hash)."""
    if source.is_dir():
        target = folder / name
        shutil.copytree(source, target)
        return target
    target = folder / f"{name}{source.suffix}"
    shutil.copyfile(source, target)
    return target
