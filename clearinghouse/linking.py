"""Linking a drop's raw tables into claims: keys, duplicates, orphans and patients.

Pure and set-based: raw table frames in (``schema.raw_schema``), linked frames out. A claim is
an OPD row (``OP``, key ``SEQ``) or an IPD row (``IP``, key ``AN``); a detail row links by
``AN`` when it is not empty, else by ``SEQ``; PAT links to claims by ``HN``.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from clearinghouse.schema import CLAIM_TABLES, TABLES

__all__ = ["Linked", "link"]

_ORPHAN_SCHEMA = pl.Schema({"file": pl.String(), "line": pl.Int64(), "code": pl.String()})


@dataclass(frozen=True, slots=True)
class Linked:
    """A drop after linking.

    Attributes:
        claims: one row per claim identity (first occurrence): claim_type, claim_key, hn,
            file, line, occurrences, plus the header row's raw columns.
        details: every detail table's rows that belong to a claim, with claim_type/claim_key.
        patients: the PAT row used by each claim's HN (first row per HN), keyed by ``hn``.
        orphans: rows that belong to no claim: file, line, code (S05, or S02 for no key).
        unmatched_hn: claims whose HN has no PAT row (claim_type, claim_key).
    """

    claims: pl.DataFrame
    details: dict[str, pl.DataFrame]
    patients: pl.DataFrame
    orphans: pl.DataFrame
    unmatched_hn: pl.DataFrame


def _trimmed(name: str) -> pl.Expr:
    return pl.col(name).str.strip_chars()


def _keyed(table: str, frame: pl.DataFrame) -> pl.DataFrame:
    """Add ``claim_type``/``claim_key`` (null when the row has no readable key)."""
    spec = TABLES[table]
    if table == "OPD":
        kind, key = pl.lit("OP"), _trimmed("SEQ")
    elif table == "IPD":
        kind, key = pl.lit("IP"), _trimmed("AN")
    else:
        an = _trimmed("AN") if "AN" in spec.columns else pl.lit("")
        seq = _trimmed("SEQ") if "SEQ" in spec.columns else pl.lit("")
        kind = pl.when(an != "").then(pl.lit("IP")).when(seq != "").then(pl.lit("OP"))
        key = pl.when(an != "").then(an).when(seq != "").then(seq)
    key = pl.when(key != "").then(key)
    return frame.with_columns(
        table=pl.lit(table),
        claim_type=pl.when(key.is_not_null()).then(kind),
        claim_key=key,
    )


def _orphans(frame: pl.DataFrame, code: str) -> pl.DataFrame:
    return frame.select("file", "line", code=pl.lit(code)).cast(_ORPHAN_SCHEMA)


def link(tables: dict[str, pl.DataFrame]) -> Linked:
    """Link the raw tables of one drop into claims, details, patients and orphans."""
    orphans: list[pl.DataFrame] = []
    headers = []
    for table in CLAIM_TABLES:
        keyed = _keyed(table, tables[table])
        orphans.append(_orphans(keyed.filter(pl.col("claim_key").is_null()), "S02"))
        headers.append(keyed.filter(pl.col("claim_key").is_not_null()))
    header_rows = pl.concat(headers, how="diagonal").sort("file", "line")
    claims = (
        header_rows.group_by("claim_type", "claim_key", maintain_order=True)
        .agg(pl.all().first(), occurrences=pl.len())
        .with_columns(hn=_trimmed("HN"))
    )
    identity = claims.select("claim_type", "claim_key")

    details: dict[str, pl.DataFrame] = {}
    # The second and later header rows of a duplicated key belong to the first (S06).
    details["HEADER"] = header_rows.join(identity, on=["claim_type", "claim_key"], how="semi")
    for table in TABLES:
        if table in CLAIM_TABLES or table == "PAT":
            continue
        keyed = _keyed(table, tables[table])
        orphans.append(_orphans(keyed.filter(pl.col("claim_key").is_null()), "S02"))
        readable = keyed.filter(pl.col("claim_key").is_not_null())
        orphans.append(
            _orphans(readable.join(identity, on=["claim_type", "claim_key"], how="anti"), "S05")
        )
        details[table] = readable.join(identity, on=["claim_type", "claim_key"], how="semi")

    pat = tables["PAT"].with_columns(hn=_trimmed("HN")).sort("line")
    orphans.append(_orphans(pat.filter(pl.col("hn") == ""), "S02"))
    pat = pat.filter(pl.col("hn") != "").with_columns(
        rank=pl.col("line").rank("ordinal").over("hn")
    )
    used_hn = claims.select("hn").unique()
    first = pat.filter(pl.col("rank") == 1)
    orphans.append(_orphans(pat.filter(pl.col("rank") > 1), "S05"))
    orphans.append(_orphans(first.join(used_hn, on="hn", how="anti"), "S05"))
    patients = first.join(used_hn, on="hn", how="semi").drop("rank")
    unmatched = claims.join(patients.select("hn"), on="hn", how="anti").select(
        "claim_type", "claim_key"
    )
    return Linked(
        claims=claims,
        details=details,
        patients=patients,
        orphans=pl.concat(orphans).sort("file", "line"),
        unmatched_hn=unmatched,
    )
