"""Acknowledgement files: ``<hcode>_<received>_<sha12>.csv`` and its ``.json`` twin.

Written to a temporary name in the same folder, then renamed, so a reader never sees half a
file. CSV: UTF-8 without BOM, ``\\n`` line ends, minimal quoting.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import polars as pl

from formats.csv import csv_bytes

__all__ = ["ACK_COLUMNS", "ack_stem", "refusal_rows", "write_ack"]

ACK_COLUMNS = ["hcode", "claim_type", "claim_key", "version", "status", "codes", "file", "line"]


def ack_stem(hcode: str | None, received: dt.date, sha256: str, *, duplicate: bool = False) -> str:
    """The file name stem of an acknowledgement (``unknown_…`` when no hospital is known)."""
    stem = f"{hcode or 'unknown'}_{received.isoformat()}_{sha256[:12]}"
    return f"{stem}_DUP" if duplicate else stem


def refusal_rows(status: str, code: str) -> pl.DataFrame:
    """The single row of a drop refused whole (``F``) or a duplicate (``DUP``)."""
    return pl.DataFrame(
        {
            "claim_type": [None],
            "claim_key": [None],
            "version": [None],
            "status": [status],
            "codes": [code],
            "file": [None],
            "line": [None],
        },
        schema={
            "claim_type": pl.String,
            "claim_key": pl.String,
            "version": pl.Int64,
            "status": pl.String,
            "codes": pl.String,
            "file": pl.String,
            "line": pl.Int64,
        },
    )


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with tmp.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    tmp.replace(path)


def write_ack(
    ack_dir: Path, stem: str, hcode: str | None, rows: pl.DataFrame, summary: dict[str, Any]
) -> Path:
    """Write the CSV (``hcode`` prepended to ``rows``) and its JSON twin; returns the CSV path."""
    ack_dir.mkdir(parents=True, exist_ok=True)
    frame = rows.with_columns(hcode=pl.lit(hcode or "", pl.String)).select(ACK_COLUMNS)
    csv_path = ack_dir / f"{stem}.csv"
    _atomic_write(csv_path, csv_bytes(frame))
    twin = json.dumps(summary, ensure_ascii=False, indent=1, sort_keys=False) + "\n"
    _atomic_write(ack_dir / f"{stem}.json", twin.encode("utf-8"))
    return csv_path
