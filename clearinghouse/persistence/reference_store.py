"""Versioned, immutable reference data.

Every load is a new version (``max + 1``). A load may be partial: the tables it does not bring
are carried forward by reference (``reference_table_source`` points at the version whose rows
are used), never by copying rows. Frames go in and come out in exactly
:data:`~clearinghouse.schema.REFERENCE_SCHEMAS`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

import polars as pl
from sqlalchemy import Connection, Table, func, insert, select, text

from clearinghouse.errors import UsageError
from clearinghouse.persistence.bulk import insert_frame, read_frame, temp_keys
from clearinghouse.persistence.db import next_id
from clearinghouse.persistence.models import Base, ReferenceTableSource, ReferenceVersion
from clearinghouse.schema import REFERENCE_SCHEMAS, REFERENCE_TABLES

__all__ = [
    "latest_version",
    "load_reference",
    "reference_sources",
    "registry_for",
    "store_reference",
]


def _table(name: str) -> Table:
    return Base.metadata.tables[REFERENCE_TABLES[name]]


def _conform(name: str, frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with exactly the columns of REFERENCE_SCHEMAS[name], in those types."""
    schema = REFERENCE_SCHEMAS[name]
    missing = [c for c in schema if c not in frame.columns]
    extra = [c for c in frame.columns if c not in schema]
    if missing or extra:
        raise ValueError(
            f"reference table {name}: columns differ from its schema"
            f" (missing {missing or 'none'}, unexpected {extra or 'none'})"
        )
    return frame.select(pl.col(c).cast(t, strict=True) for c, t in schema.items())


def latest_version(conn: Connection) -> int | None:
    """The newest reference data version, or None before the first load."""
    value = conn.execute(select(func.max(ReferenceVersion.id))).scalar_one_or_none()
    return None if value is None else int(value)


def reference_sources(conn: Connection, version_id: int) -> dict[str, tuple[int, int]]:
    """For one version: frame name -> (version whose rows it uses, row count)."""
    by_table = {t: n for n, t in REFERENCE_TABLES.items()}
    rows = conn.execute(
        select(
            ReferenceTableSource.table_name,
            ReferenceTableSource.source_version_id,
            ReferenceTableSource.rows,
        ).where(ReferenceTableSource.version_id == version_id)
    ).all()
    return {by_table[t]: (int(src), int(n)) for t, src, n in rows if t in by_table}


def store_reference(
    conn: Connection,
    frames: Mapping[str, pl.DataFrame],
    *,
    label: str,
    source: str,
    loaded_at: dt.datetime | None = None,
) -> int:
    """Store a new reference version from ``frames`` (frame name -> frame); its id.

    Call it inside :func:`~clearinghouse.persistence.db.locked_transaction`. Tables absent
    from ``frames`` are carried forward from the previous version; the first version must
    bring every table. ``loaded_at`` defaults to now (UTC, naive).
    """
    unknown = sorted(set(frames) - set(REFERENCE_TABLES))
    if unknown:
        raise UsageError(f"unknown reference table(s): {', '.join(unknown)}")
    conformed = {name: _conform(name, frame) for name, frame in frames.items()}
    previous = latest_version(conn)
    carried = reference_sources(conn, previous) if previous is not None else {}
    missing = [n for n in REFERENCE_TABLES if n not in conformed and n not in carried]
    if missing:
        raise UsageError(
            "the first reference data load must contain every table; missing: " + ", ".join(missing)
        )
    version = (previous or 0) + 1
    conn.execute(
        insert(ReferenceVersion).values(
            id=version,
            label=label,
            source=source,
            loaded_at=loaded_at or dt.datetime.now(dt.UTC).replace(tzinfo=None),
        )
    )
    sources: list[dict[str, object]] = []
    for name, stored in REFERENCE_TABLES.items():
        frame = conformed.get(name)
        if frame is None:
            src, rows = carried[name]
            sources.append({"table_name": stored, "source_version_id": src, "rows": rows})
            continue
        table = _table(name)
        frame = frame.with_columns(version_id=pl.lit(version, pl.Int64))
        if "id" in table.c:
            first = next_id(conn, table)
            ids = pl.int_range(first, first + frame.height, dtype=pl.Int64, eager=True)
            frame = frame.with_columns(id=ids)
        insert_frame(conn, table, frame)
        sources.append({"table_name": stored, "source_version_id": version, "rows": frame.height})
    conn.execute(insert(ReferenceTableSource), [{"version_id": version, **s} for s in sources])
    return version


def load_reference(
    conn: Connection,
    version_id: int | None = None,
    tables: Iterable[str] | None = None,
) -> tuple[int, dict[str, pl.DataFrame]]:
    """The active (newest, or ``version_id``) reference version and its frames.

    ``tables`` limits the frames loaded (frame names, e.g. ``["funds", "hospitals"]``): the
    registry can be large. Frames are in exactly REFERENCE_SCHEMAS, in load order.
    """
    wanted = list(REFERENCE_TABLES) if tables is None else list(dict.fromkeys(tables))
    unknown = [t for t in wanted if t not in REFERENCE_TABLES]
    if unknown:
        raise UsageError(f"unknown reference table(s): {', '.join(unknown)}")
    version = latest_version(conn) if version_id is None else version_id
    if version is None:
        raise UsageError(
            "no reference data has been loaded yet: run `clearinghouse init` (bundled sample) "
            "or `clearinghouse reference load DIR`"
        )
    sources = reference_sources(conn, version)
    if not sources:
        raise UsageError(f"there is no reference data version {version}")
    frames: dict[str, pl.DataFrame] = {}
    for name in wanted:
        table = _table(name)
        schema = REFERENCE_SCHEMAS[name]
        order = [table.c.id] if "id" in table.c else list(table.primary_key.columns)
        stmt = (
            select(*(table.c[c] for c in schema))
            .where(table.c.version_id == sources[name][0])
            .order_by(*order)
        )
        frames[name] = read_frame(conn, stmt, schema)
    return version, frames


def registry_for(conn: Connection, version_id: int, persons: pl.DataFrame) -> pl.DataFrame:
    """The registry rows of reference version ``version_id`` for the given ``person_id``s.

    A set-based lookup: the drop's person ids go into a temporary table joined to the
    registry's ``(version_id, person_id)`` index, so a registry of millions is never loaded.
    """
    source, _ = reference_sources(conn, version_id)["registry"]
    keys = temp_keys(conn, "drop_registry_persons", persons.select("person_id").unique())
    sql = text(
        # CROSS JOIN: SQLite drives from the drop's persons into the registry index.
        f"SELECT r.person_id, r.fund, r.hmain, r.valid_from, r.valid_to FROM {keys} p "
        "CROSS JOIN ref_registry r WHERE r.version_id = :v AND r.person_id = p.person_id"
    ).bindparams(v=source)
    return read_frame(conn, sql, schema=REFERENCE_SCHEMAS["registry"])
