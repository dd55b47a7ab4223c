"""The settlement files (settlement.md, Files): frames in satang to the columns written.

Every file is written to a staging folder first and hashed there (SHA-256 of the exact bytes);
the run records the hashes before the files take their place. Amounts in baht with two
decimals, versions and counts as plain integers, nothing else in a cell.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl

from clearinghouse.money import format_baht
from formats.csv import write_csv

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
]

PAIN = "pain.001.xml"
MANIFEST = "manifest.json"


def _baht(*names: str) -> list[pl.Expr]:
    return [format_baht(pl.col(name)) for name in names]


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
    """statements/H_<hcode>.csv, from one hospital's sorted statement rows."""
    return statement.select(
        "kind", "claim_hcode", "claim_type", "claim_key", "version", "status", "codes",
        *_baht("allowed", "received", "paid"), "run", *_baht("net"),
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


def manifest_bytes(manifest: Mapping[str, Any]) -> bytes:
    """manifest.json: keys in the order given, UTF-8, a final newline."""
    return (json.dumps(manifest, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
