"""The settlement files (settlement.md, Files): frames in satang to the columns written.

Every file is written to a staging folder first and hashed there (SHA-256 of the exact bytes);
the run records the hashes before the files take their place. Amounts in baht with two
decimals, versions and counts as plain integers, nothing else in a cell.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import polars as pl

from clearinghouse.money import baht_decimal
from formats.csv import csv_bytes, write_csv

__all__ = [
    "MANIFEST",
    "PAIN",
    "fund_statement_rows",
    "hospital_statement_rows",
    "listing_rows",
    "manifest_bytes",
    "position_rows",
    "sha256_file",
    "transfer_rows",
    "write_frame",
    "write_parts",
]

PAIN = "pain.001.xml"
MANIFEST = "manifest.json"


def _baht(*names: str) -> list[pl.Expr]:
    """Baht columns: exact decimals, written as :func:`format_baht` formats them."""
    return [baht_decimal(pl.col(name)) for name in names]


def position_rows(position: pl.DataFrame) -> pl.DataFrame:
    """positions.csv: ``participant, gross_in, gross_out, net``."""
    return position.select("participant", *_baht("gross_in", "gross_out", "net"))


def transfer_rows(transfer: pl.DataFrame) -> pl.DataFrame:
    """transfers.csv: ``payer, payee, amount``."""
    return transfer.select("payer", "payee", *_baht("amount"))


def listing_rows(listing: pl.DataFrame) -> pl.DataFrame:
    """obligations.csv, from the sorted listing."""
    return listing.select(
        "payer", "payee", *_baht("amount"), "kind", "hcode", "claim_type", "claim_key", "version"
    )


def hospital_statement_rows(statement: pl.DataFrame) -> pl.DataFrame:
    """statements/H_<hcode>.csv (every hospital's rows, ``hospital`` kept first to split by),
    from the sorted statements."""
    return statement.select(
        "hospital", "kind", "claim_hcode", "claim_type", "claim_key", "version", "status",
        "codes", *_baht("allowed", "received", "paid"), "run", *_baht("net"),
    )  # fmt: skip


def fund_statement_rows(statement: pl.DataFrame) -> pl.DataFrame:
    """statements/F_<fund>.csv, from one fund's sorted statement rows."""
    return statement.select("hcode", "kind", "claims", *_baht("paid", "received", "net"))


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_frame(frame: pl.DataFrame, path: Path) -> str:
    """Write ``frame`` as a spec CSV at ``path``; its SHA-256."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_csv(frame, path)
    return sha256_file(path)


def _runs(column: pl.Series) -> list[tuple[str, int]]:
    """``(value, rows)`` of each run of equal values in ``column``, in order."""
    if isinstance(column.dtype, pl.Enum):
        labels = column.dtype.categories.to_list()
        runs = column.to_physical().rle().struct.unnest()
        return [(labels[v], n) for n, v in runs.iter_rows()]
    runs = column.cast(pl.String).rle().struct.unnest()
    return [(str(v), n) for n, v in runs.iter_rows()]


def _line_ends(text: bytes, start: int, rows: list[int]) -> list[int]:
    """The offset just past the last line of each consecutive part of ``rows[i]`` lines (≥ 1)
    of ``text`` from ``start``: guessed from the mean line length, then moved line by line."""
    ends: list[int] = []
    pos, left = start, sum(rows)
    for n in rows:
        end = min(len(text), pos + (len(text) - pos) * n // left)
        have = text.count(b"\n", pos, end)
        if have >= n:
            while have > n:
                end = text.rfind(b"\n", pos, end)
                have -= 1
            end = text.rfind(b"\n", pos, end) + 1
        while have < n:
            end = text.find(b"\n", end) + 1
            if not end:  # fewer lines than rows
                return ends
            have += 1
        ends.append(end)
        pos, left = end, left - n
    return ends


def write_parts(
    frame: pl.DataFrame, key: str, name_of: Callable[[str], str], folder: Path
) -> dict[str, str]:
    """Write ``frame`` (sorted by ``key``) as one spec CSV per value of ``key`` (the column
    itself not written), at ``folder / name_of(value)``; ``{name: SHA-256}``.

    The rows are formatted once for all files, then cut at line ends: a thousand small
    writes of the same frame cost twice as much. (Should a value hold a line end, each
    part is formatted on its own.)
    """
    runs = _runs(frame.get_column(key))
    rows = [n for _, n in runs]
    body = frame.drop(key)
    header = csv_bytes(body.head(0))
    text = csv_bytes(body)
    ends = _line_ends(text, len(header), rows)
    # Every part found, ending where the text does, unless a value holds a line end.
    whole = len(ends) == len(runs) and (not ends or ends[-1] == len(text))
    written: dict[str, str] = {}
    first, pos = 0, len(header)
    for i, (value, count) in enumerate(runs):
        if whole:
            data = memoryview(text)[pos : ends[i]]
            pos = ends[i]
        else:
            data = memoryview(csv_bytes(body.slice(first, count)))[len(header) :]
        first += count
        name = name_of(value)
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256(header)
        digest.update(data)
        with path.open("wb") as handle:
            handle.write(header)
            handle.write(data)
        written[name] = digest.hexdigest()
    return written


def manifest_bytes(manifest: Mapping[str, Any]) -> bytes:
    """manifest.json: keys in the order given, UTF-8, a final newline."""
    return (json.dumps(manifest, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
