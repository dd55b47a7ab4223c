"""Storing judged drops and reading them back: drops, claim versions, items, codes, orphans.

Called by the ingest job inside ``locked_transaction``; ids are assigned in Polars from
``next_id`` (the lock makes that safe) so that the bulk paths need no round trips.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import polars as pl
from sqlalchemy import Connection, insert, select, text

from clearinghouse.obligations import OBLIGATION_SCHEMA
from clearinghouse.persistence.bulk import insert_frame, read_frame, temp_keys
from clearinghouse.persistence.db import next_id
from clearinghouse.persistence.models import Drop, Period
from clearinghouse.rules.keys import HISTORY_SCHEMA

__all__ = [
    "ACK_ROW_SCHEMA",
    "DropRecord",
    "ack_rows",
    "assign_period",
    "find_drop",
    "history",
    "insert_drop",
    "replaced_obligations",
    "store_claims",
    "store_obligations",
]

ACK_ROW_SCHEMA = pl.Schema(
    {
        "claim_type": pl.String(),
        "claim_key": pl.String(),
        "version": pl.Int64(),
        "status": pl.String(),
        "codes": pl.String(),
        "file": pl.String(),
        "line": pl.Int64(),
    }
)


@dataclass(frozen=True, slots=True)
class DropRecord:
    """What the acknowledgement needs of a stored drop."""

    id: int
    sha256: str
    hcode: str | None
    received: dt.date
    status: str
    code: str | None
    message: str | None
    name: str
    format: str
    rows_read: dict[str, int]
    ignored_files: list[str]
    claims: int
    accepted: int
    denied: int
    rejected: int
    charged: int
    allowed: int
    reference_version_id: int | None
    corrections: bool


def find_drop(conn: Connection, sha256: str) -> DropRecord | None:
    """The stored drop with this hash, if any."""
    d = conn.execute(select(Drop.__table__).where(Drop.sha256 == sha256)).first()
    if d is None:
        return None
    return DropRecord(
        id=d.id,
        sha256=d.sha256,
        hcode=d.hcode,
        received=d.received,
        status=d.status,
        code=d.code,
        message=d.message,
        name=d.name,
        format=d.format,
        rows_read=json.loads(d.rows_read),
        ignored_files=json.loads(d.ignored_files),
        claims=d.claims,
        accepted=d.accepted,
        denied=d.denied,
        rejected=d.rejected,
        charged=d.charged,
        allowed=d.allowed,
        reference_version_id=d.reference_version_id,
        corrections=d.corrections,
    )


def insert_drop(conn: Connection, record: DropRecord, *, size: int) -> int:
    """Insert the drop row (its id is ``record.id``)."""
    conn.execute(
        insert(Drop).values(
            id=record.id,
            sha256=record.sha256,
            hcode=record.hcode,
            received=record.received,
            status=record.status,
            code=record.code,
            message=record.message,
            format=record.format,
            name=record.name,
            size=size,
            corrections=record.corrections,
            reference_version_id=record.reference_version_id,
            rows_read=json.dumps(record.rows_read, sort_keys=True),
            ignored_files=json.dumps(record.ignored_files),
            claims=record.claims,
            accepted=record.accepted,
            denied=record.denied,
            rejected=record.rejected,
            charged=record.charged,
            allowed=record.allowed,
            ingested_at=dt.datetime.now(dt.UTC).replace(tzinfo=None),
        )
    )
    return record.id


def assign_period(conn: Connection, received: dt.date) -> str:
    """The earliest OPEN period at or after the received month; created OPEN if new."""
    year, month = received.year, received.month
    settled = set(conn.execute(select(Period.period).where(Period.status == "SETTLED")).scalars())
    while f"{year:04d}-{month:02d}" in settled:
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    period = f"{year:04d}-{month:02d}"
    exists = conn.execute(select(Period.period).where(Period.period == period)).first()
    if exists is None:
        conn.execute(insert(Period).values(period=period, status="OPEN", closed_at=None))
    return period


def history(conn: Connection, hcode: str, claims: pl.DataFrame) -> pl.DataFrame:
    """Stored versions of ``hcode`` sharing an identity or a person with the drop's claims."""
    keys = temp_keys(conn, "drop_keys", claims.select("claim_type", "claim_key").unique())
    persons = temp_keys(
        conn, "drop_persons", claims.filter(pl.col("person_id") != "").select("person_id").unique()
    )
    cols = (
        "cv.claim_type, cv.claim_key, cv.version, cv.status, cv.person_id, "
        "cv.coverage_date, cv.admitted_at, cv.discharged_at"
    )
    sql = text(
        # CROSS JOIN makes SQLite drive from the drop's keys into claim_version's indexes
        # instead of scanning the hospital's whole history; PostgreSQL plans it freely.
        f"SELECT {cols} FROM {keys} k CROSS JOIN claim_version cv "
        "WHERE cv.hcode = :h AND cv.claim_type = k.claim_type AND cv.claim_key = k.claim_key "
        f"UNION SELECT {cols} FROM {persons} p CROSS JOIN claim_version cv "
        "WHERE cv.hcode = :h AND cv.person_id = p.person_id"
    ).bindparams(h=hcode)
    return read_frame(conn, sql, schema=HISTORY_SCHEMA)


def _ids(first: int) -> pl.Expr:
    """Consecutive Int64 ids from ``first`` (assigned under the write lock)."""
    return pl.int_range(first, first + pl.len(), dtype=pl.Int64).alias("id")


def store_claims(
    conn: Connection,
    *,
    drop_id: int,
    claims: pl.DataFrame,
    items: pl.DataFrame,
    codes: pl.DataFrame,
    orphans: pl.DataFrame,
    payers: pl.DataFrame,
    chunk_rows: int,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Bulk-insert a judged drop's claim versions, items, codes, orphan rows and payers.

    Returns the stored claim versions (with ``id``) and payer shares (``claim_version_id,
    fund, amount``), from which the obligations are built.

    ``claims`` carries every claim_version column but ``id``/``drop_id``; ``items`` (priced:
    ``kind, file, line, code, quantity, charged, allowed``) and ``codes`` carry the claim
    identity (and codes the item position) to be linked to ids.
    """
    first_claim = next_id(conn, "claim_version")
    claims = claims.sort("file", "line").with_columns(
        _ids(first_claim), drop_id=pl.lit(drop_id, pl.Int64)
    )
    ident = claims.select("claim_type", "claim_key", claim_version_id="id")
    first_item = next_id(conn, "item")
    items = (
        items.join(ident, on=["claim_type", "claim_key"])
        .sort("claim_version_id", "file", "line")
        .with_columns(_ids(first_item))
    )
    item_ids = items.select(
        "claim_type", "claim_key", item_file="file", item_line="line", item_id="id"
    )
    first_code = next_id(conn, "claim_code")
    codes = (
        codes.join(ident, on=["claim_type", "claim_key"])
        .join(
            item_ids,
            on=["claim_type", "claim_key", "item_file", "item_line"],
            how="left",
            nulls_equal=False,
        )
        .sort("claim_version_id", "item_id", "code", nulls_last=False)
        .with_columns(_ids(first_code))
        .select("id", "claim_version_id", "item_id", "code")
    )
    first_orphan = next_id(conn, "orphan_row")
    orphans = orphans.with_columns(_ids(first_orphan), drop_id=pl.lit(drop_id, pl.Int64))
    insert_frame(conn, "claim_version", claims, chunk_rows=chunk_rows)
    insert_frame(
        conn,
        "item",
        items.select(
            "id",
            "claim_version_id",
            "kind",
            "file",
            "line",
            "code",
            "quantity",
            "charged",
            "allowed",
        ),
        chunk_rows=chunk_rows,
    )
    insert_frame(conn, "claim_code", codes, chunk_rows=chunk_rows)
    insert_frame(conn, "orphan_row", orphans, chunk_rows=chunk_rows)
    first_payer = next_id(conn, "claim_payer")
    shares = (
        payers.join(ident, on=["claim_type", "claim_key"])
        .sort("claim_version_id", "fund")
        .with_columns(_ids(first_payer))
        .select("id", "claim_version_id", "fund", "amount")
    )
    insert_frame(conn, "claim_payer", shares, chunk_rows=chunk_rows)
    return claims, shares


def replaced_obligations(conn: Connection, hcode: str, replaced: pl.DataFrame) -> pl.DataFrame:
    """The CLAIM and REFER obligations of the replaced versions that are not yet reversed.

    ``replaced``: ``claim_type, claim_key, version`` of the versions a correction replaces.
    """
    keys = temp_keys(
        conn, "replaced_versions", replaced.select("claim_type", "claim_key", "version")
    )
    cols = ", ".join(f"o.{name}" for name in ("id", *OBLIGATION_SCHEMA.names()))
    sql = text(
        f"SELECT {cols} FROM {keys} k CROSS JOIN obligation o "
        "WHERE o.hcode = :h AND o.claim_type = k.claim_type AND o.claim_key = k.claim_key "
        "AND o.version = k.version AND o.kind IN ('CLAIM', 'REFER') "
        "AND NOT EXISTS (SELECT 1 FROM obligation r WHERE r.reverses_id = o.id)"
    ).bindparams(h=hcode)
    return read_frame(conn, sql, schema=pl.Schema({"id": pl.Int64(), **OBLIGATION_SCHEMA}))


def store_obligations(
    conn: Connection, obligations: pl.DataFrame, *, drop_id: int, chunk_rows: int
) -> None:
    """Insert the obligations created by drop ``drop_id`` (ids assigned here, under the lock)."""
    first = next_id(conn, "obligation")
    frame = obligations.sort("claim_version_id", "kind", "payer", "payee").with_columns(
        _ids(first), drop_id=pl.lit(drop_id, pl.Int64)
    )
    insert_frame(conn, "obligation", frame, chunk_rows=chunk_rows)


def ack_rows(conn: Connection, drop_id: int) -> pl.DataFrame:
    """A stored drop's acknowledgement rows: claim versions in file/line order, then orphans."""
    claims = read_frame(
        conn,
        text(
            "SELECT cv.id, cv.claim_type, cv.claim_key, cv.version, cv.status, cv.file, cv.line "
            "FROM claim_version cv WHERE cv.drop_id = :d"
        ).bindparams(d=drop_id),
        schema=pl.Schema(
            {"id": pl.Int64(), **{k: v for k, v in ACK_ROW_SCHEMA.items() if k != "codes"}}
        ),
    )
    codes = read_frame(
        conn,
        text(
            "SELECT cc.claim_version_id AS id, cc.code FROM claim_code cc "
            "JOIN claim_version cv ON cv.id = cc.claim_version_id WHERE cv.drop_id = :d"
        ).bindparams(d=drop_id),
        schema=pl.Schema({"id": pl.Int64(), "code": pl.String()}),
    )
    joined = codes.group_by("id").agg(codes=pl.col("code").unique().sort().str.join(";"))
    claim_rows = (
        claims.join(joined, on="id", how="left")
        .with_columns(pl.col("codes").fill_null(""))
        .sort("file", "line")
        .select(ACK_ROW_SCHEMA.names())
    )
    orphans = (
        read_frame(
            conn,
            text("SELECT file, line, code FROM orphan_row WHERE drop_id = :d").bindparams(
                d=drop_id
            ),
            schema=pl.Schema({"file": pl.String(), "line": pl.Int64(), "code": pl.String()}),
        )
        .sort("file", "line")
        .select(
            claim_type=pl.lit(None, pl.String),
            claim_key=pl.lit(None, pl.String),
            version=pl.lit(None, pl.Int64),
            status=pl.lit("C"),
            codes="code",
            file="file",
            line="line",
        )
    )
    return pl.concat([claim_rows.cast(dict(ACK_ROW_SCHEMA)), orphans.cast(dict(ACK_ROW_SCHEMA))])  # type: ignore[arg-type]


__all__ += ["ACK_ITEM_SCHEMA", "ack_items"]

ACK_ITEM_SCHEMA = pl.Schema(
    {
        "claim_type": pl.String(),
        "claim_key": pl.String(),
        "version": pl.Int64(),
        "person_id": pl.String(),
        "claim_charged": pl.Int64(),
        "claim_allowed": pl.Int64(),
        "claim_codes": pl.String(),
        "item_file": pl.String(),
        "item_line": pl.Int64(),
        "kind": pl.String(),
        "code": pl.String(),
        "quantity": pl.Int64(),
        "charged": pl.Int64(),
        "allowed": pl.Int64(),
        "item_codes": pl.String(),
    }
)


def ack_items(conn: Connection, drop_id: int) -> pl.DataFrame:
    """A stored drop's items with their codes, for the FHIR acknowledgement.

    One row per stored item (``ACK_ITEM_SCHEMA``); a claim version without items is one row
    whose item columns are null. Each row carries its claim's totals (``claim_charged``,
    ``claim_allowed``, satang), ``person_id`` and ``claim_codes`` (the codes raised on the
    claim itself); ``item_codes`` are the codes raised on that item. Codes are unique, sorted
    and ``;``-joined, ``""`` when none. Rows in the claims' file/line order, then item id.
    """
    lines = read_frame(
        conn,
        text(
            "SELECT cv.id AS claim_version_id, cv.file AS claim_file, cv.line AS claim_line, "
            "cv.claim_type, cv.claim_key, cv.version, cv.person_id, "
            "cv.charged AS claim_charged, cv.allowed AS claim_allowed, i.id AS item_id, "
            "i.file AS item_file, i.line AS item_line, i.kind, i.code, i.quantity, "
            "i.charged, i.allowed "
            "FROM claim_version cv LEFT JOIN item i ON i.claim_version_id = cv.id "
            "WHERE cv.drop_id = :d"
        ).bindparams(d=drop_id),
        schema=pl.Schema(
            {
                "claim_version_id": pl.Int64(),
                "claim_file": pl.String(),
                "claim_line": pl.Int64(),
                **{
                    k: v
                    for k, v in ACK_ITEM_SCHEMA.items()
                    if k not in ("claim_codes", "item_codes")
                },
                "item_id": pl.Int64(),
            }
        ),
    )
    codes = read_frame(
        conn,
        text(
            "SELECT cc.claim_version_id, cc.item_id, cc.code FROM claim_code cc "
            "JOIN claim_version cv ON cv.id = cc.claim_version_id WHERE cv.drop_id = :d"
        ).bindparams(d=drop_id),
        schema=pl.Schema(
            {"claim_version_id": pl.Int64(), "item_id": pl.Int64(), "code": pl.String()}
        ),
    )
    joined = pl.col("code").unique().sort().str.join(";")
    on_claims = (
        codes.filter(pl.col("item_id").is_null())
        .group_by("claim_version_id")
        .agg(claim_codes=joined)
    )
    on_items = (
        codes.filter(pl.col("item_id").is_not_null()).group_by("item_id").agg(item_codes=joined)
    )
    return (
        lines.join(on_claims, on="claim_version_id", how="left")
        .join(on_items, on="item_id", how="left")
        .with_columns(
            pl.col("claim_codes").fill_null(""),
            item_codes=pl.when(pl.col("item_id").is_not_null()).then(
                pl.col("item_codes").fill_null("")
            ),
        )
        .sort("claim_file", "claim_line", "item_id", nulls_last=True)
        .select(ACK_ITEM_SCHEMA.names())
        .cast(dict(ACK_ITEM_SCHEMA))  # type: ignore[arg-type]
    )
