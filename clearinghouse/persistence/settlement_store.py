"""Settlement persistence: runs, their member spans, positions, creditors; periods.

Everything written here is final (migration 0004's triggers refuse UPDATE and DELETE), except
the period's status, which goes from OPEN to SETTLED once. Call the writers under the lock.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import polars as pl
from sqlalchemy import Connection, insert, select, text, update

from clearinghouse.persistence.bulk import insert_frame, read_frame, temp_keys
from clearinghouse.persistence.db import next_id
from clearinghouse.persistence.models import Period, SettlementRun
from clearinghouse.settlement import VERSION_SCHEMA, spans

__all__ = [
    "MEMBER_SCHEMA",
    "RunRecord",
    "find_run",
    "mark_settled",
    "obligations_of",
    "open_before",
    "period_status",
    "period_versions",
    "read_creditors",
    "read_positions",
    "run_members",
    "run_spans",
    "store_run",
    "versions_named",
]

#: An obligation as settlement reads it. Its claim identity (hcode, claim_type, claim_key,
#: version) is its claim version's, read with the versions (see :func:`claim_versions_for`):
#: ten million obligations name far fewer versions.
MEMBER_SCHEMA = pl.Schema(
    {
        "id": pl.Int64(),
        "payer": pl.String(),
        "payee": pl.String(),
        "amount": pl.Int64(),
        "kind": pl.String(),
        "claim_version_id": pl.Int64(),
    }
)
_COLUMNS = ", ".join(f"o.{name}" for name in MEMBER_SCHEMA.names())

_SPAN_SCHEMA = pl.Schema({"first_id": pl.Int64(), "last_id": pl.Int64(), "run": pl.String()})


@dataclass(frozen=True, slots=True)
class RunRecord:
    """A stored run: what its files need besides its members, positions and creditors."""

    id: int
    run_id: str
    kind: str
    cutoff: str
    period: str | None
    created_at: str
    run_date: dt.date
    reference_versions: list[dict[str, Any]]
    directory_version_id: int | None
    clearing_name: str
    clearing_account: str
    clearing_bank: str
    high_water: int
    obligations: int
    gross: int
    participants: int
    transfers: int
    control_sum: int
    files: dict[str, str | None]


def find_run(conn: Connection, cutoff: str) -> RunRecord | None:
    table = SettlementRun.__table__
    row = conn.execute(select(table).where(table.c.cutoff == cutoff)).first()
    if row is None:
        return None
    return RunRecord(
        id=row.id,
        run_id=row.run_id,
        kind=row.kind,
        cutoff=row.cutoff,
        period=row.period,
        created_at=row.created_at,
        run_date=row.run_date,
        reference_versions=json.loads(row.reference_versions),
        directory_version_id=row.directory_version_id,
        clearing_name=row.clearing_name,
        clearing_account=row.clearing_account,
        clearing_bank=row.clearing_bank,
        high_water=row.high_water,
        obligations=row.obligations,
        gross=row.gross,
        participants=row.participants,
        transfers=row.transfers,
        control_sum=row.control_sum,
        files=json.loads(row.files),
    )


def period_status(conn: Connection, period: str) -> str | None:
    """OPEN, SETTLED, or None for a period nothing has landed in."""
    value = conn.execute(select(Period.status).where(Period.period == period)).scalar()
    return None if value is None else str(value)


def run_spans(conn: Connection) -> pl.DataFrame:
    """Every stored span with its run's ``run_id``: ``first_id, last_id, run``."""
    sql = text(
        "SELECT s.first_id, s.last_id, r.run_id AS run FROM run_span s "
        "JOIN settlement_run r ON r.id = s.run"
    )
    return read_frame(conn, sql, _SPAN_SCHEMA)


def obligations_of(
    conn: Connection, *, period: str | None = None, through: dt.date | None = None
) -> pl.DataFrame:
    """Candidate obligations (settled or not): a period's, or those of the OPEN periods whose
    drop was received on or before ``through``."""
    if period is not None:
        sql = text(f"SELECT {_COLUMNS} FROM obligation o WHERE o.period = :p").bindparams(p=period)
    else:
        sql = text(
            f"SELECT {_COLUMNS} FROM obligation o "
            "WHERE o.period IN (SELECT p.period FROM period p WHERE p.status = 'OPEN') "
            "AND o.drop_id IN (SELECT d.id FROM claim_drop d WHERE d.received <= :t)"
        ).bindparams(t=through)
    return read_frame(conn, sql, MEMBER_SCHEMA)


def open_before(conn: Connection, period: str) -> pl.DataFrame:
    """``id, period`` of every obligation in an OPEN period before ``period``."""
    sql = text(
        "SELECT o.id, o.period FROM obligation o WHERE o.period < :p "
        "AND o.period IN (SELECT q.period FROM period q WHERE q.status = 'OPEN')"
    ).bindparams(p=period)
    return read_frame(conn, sql, pl.Schema({"id": pl.Int64(), "period": pl.String()}))


def run_members(conn: Connection, run: int) -> pl.DataFrame:
    """The obligations of stored run ``run`` (through its spans)."""
    sql = text(
        f"SELECT {_COLUMNS} FROM run_span s JOIN obligation o "
        "ON o.id >= s.first_id AND o.id <= s.last_id WHERE s.run = :r"
    ).bindparams(r=run)
    return read_frame(conn, sql, MEMBER_SCHEMA)


def read_positions(conn: Connection, run: int) -> pl.DataFrame:
    sql = text(
        "SELECT participant, gross_in, gross_out, net FROM run_position WHERE run = :r"
    ).bindparams(r=run)
    schema = pl.Schema(
        {"participant": pl.String(), "gross_in": pl.Int64(), "gross_out": pl.Int64(),
         "net": pl.Int64()}
    )  # fmt: skip
    return read_frame(conn, sql, schema).sort("participant")


def read_creditors(conn: Connection, run: int) -> pl.DataFrame:
    sql = text(
        "SELECT participant, name, account, bank FROM run_creditor WHERE run = :r"
    ).bindparams(r=run)
    schema = pl.Schema(
        {"participant": pl.String(), "name": pl.String(), "account": pl.String(),
         "bank": pl.String()}
    )  # fmt: skip
    return read_frame(conn, sql, schema).sort("participant")


#: Claim versions as read (their codes are read apart; ``in_period`` as 0/1).
_VERSIONS_SCHEMA = pl.Schema(
    {
        name: pl.Int64() if name == "in_period" else kind
        for name, kind in VERSION_SCHEMA.items()
        if name != "codes"
    }
)
_VERSION_COLUMNS = ", ".join(f"cv.{name}" for name in _VERSIONS_SCHEMA if name != "in_period")


def _wanted(conn: Connection, ids: pl.Series) -> str:
    """A temporary table ``wanted_span(first_id, last_id)`` of the islands of ``ids``: a
    month's version ids are a few long runs, so the reads below are index range scans."""
    return temp_keys(conn, "wanted_span", spans(ids))


def _versions_by_id(conn: Connection, table: str) -> pl.DataFrame:
    """The claim versions whose ids lie in the spans of temporary ``table`` (:func:`_wanted`)."""
    sql = (
        f"SELECT {_VERSION_COLUMNS}, 0 AS in_period FROM claim_version cv "
        f"JOIN {table} w ON cv.id BETWEEN w.first_id AND w.last_id"
    )
    return read_frame(conn, sql, _VERSIONS_SCHEMA)


def _with_codes(conn: Connection, versions: pl.DataFrame, table: str | None = None) -> pl.DataFrame:
    """``versions`` with their ``codes`` (distinct, sorted, ``;``-joined; "" for none), in
    settlement.VERSION_SCHEMA. ``table``: a :func:`_wanted` table already covering their ids."""
    codes = pl.DataFrame(schema={"id": pl.Int64(), "code": pl.String()})
    if not versions.is_empty():
        table = table or _wanted(conn, versions["id"])
        sql = (
            "SELECT cc.claim_version_id AS id, cc.code FROM claim_code cc "
            f"JOIN {table} w ON cc.claim_version_id BETWEEN w.first_id AND w.last_id"
        )
        codes = read_frame(conn, sql, codes.schema)
    joined = _joined_codes(codes)
    return (
        versions.join(joined, on="id", how="left")
        .with_columns(pl.col("codes").fill_null(""), in_period=pl.col("in_period") == 1)
        .select(VERSION_SCHEMA.names())
    )


def _joined_codes(codes: pl.DataFrame) -> pl.DataFrame:
    """``id, codes``: each version's distinct codes, sorted, ``;``-joined. Most versions
    have one code: only the others are grouped."""
    distinct = codes.unique()
    several = distinct["id"].is_duplicated()
    single = distinct.filter(~several).select("id", codes="code")
    grouped = (
        distinct.filter(several)
        .sort("id", "code")
        .group_by("id", maintain_order=True)
        .agg(codes=pl.col("code").str.join(";"))
    )
    return pl.concat([single, grouped])


def period_versions(conn: Connection, period: str) -> pl.DataFrame:
    """Every claim version of ``period`` (``in_period``), with its codes
    (settlement.VERSION_SCHEMA): what a month's listing, statements and NOPAY rows need, but
    for the earlier versions its REVERSALs name (CLAIM and REFER obligations are in their
    version's period): read those with :func:`versions_named`."""
    sql = text(
        f"SELECT {_VERSION_COLUMNS}, 1 AS in_period FROM claim_version cv WHERE cv.period = :p"
    ).bindparams(p=period)
    return _with_codes(conn, read_frame(conn, sql, _VERSIONS_SCHEMA))


def versions_named(conn: Connection, ids: pl.Series) -> pl.DataFrame:
    """The claim versions ``ids`` (those a run's obligations name), with their codes
    (settlement.VERSION_SCHEMA, ``in_period`` false: only a close has NOPAY rows)."""
    if ids.is_empty():
        return _with_codes(conn, pl.DataFrame(schema=_VERSIONS_SCHEMA))
    table = _wanted(conn, ids)  # one span table for the versions and their codes
    return _with_codes(conn, _versions_by_id(conn, table), table)


def store_run(
    conn: Connection,
    record: RunRecord,
    *,
    spans: pl.DataFrame,
    positions: pl.DataFrame,
    creditors: pl.DataFrame,
    chunk_rows: int,
) -> int:
    """Insert a run with its spans, positions and creditors; its database id."""
    run = next_id(conn, "settlement_run")
    values = {
        name: getattr(record, name)
        for name in RunRecord.__dataclass_fields__
        if name not in ("id", "reference_versions", "files")
    }
    conn.execute(
        insert(SettlementRun).values(
            id=run,
            reference_versions=json.dumps(record.reference_versions, ensure_ascii=False),
            files=json.dumps(record.files, ensure_ascii=False),
            **values,
        )
    )
    tagged = pl.lit(run, pl.Int64).alias("run")
    insert_frame(conn, "run_span", spans.with_columns(tagged), chunk_rows=chunk_rows)
    insert_frame(conn, "run_position", positions.with_columns(tagged), chunk_rows=chunk_rows)
    insert_frame(conn, "run_creditor", creditors.with_columns(tagged), chunk_rows=chunk_rows)
    return run


def mark_settled(conn: Connection, period: str, closed_at: dt.datetime) -> None:
    """The period becomes SETTLED for good (created so if nothing ever landed in it)."""
    if period_status(conn, period) is None:
        conn.execute(insert(Period).values(period=period, status="SETTLED", closed_at=closed_at))
    else:
        conn.execute(
            update(Period)
            .where(Period.period == period)
            .values(status="SETTLED", closed_at=closed_at)
        )
