"""Engines, the global write lock, schema migration and id assignment.

One database URL selects the backend: ``sqlite:///FILE`` or ``postgresql://…`` (psycopg2).
Every problem reaching the database becomes a :class:`~clearinghouse.errors.UsageError` (a URL
that cannot work) or a :class:`~clearinghouse.errors.TransientError` (a server that may come back)
with a one-line message naming the URL, password masked.

Writers (ingests, settlement runs, reference loads, ``init``) serialize on one global lock held
for the whole transaction: :func:`locked_transaction`. Under it, ids are ``max + 1``
(:func:`next_id`), so whole frames get their ids in Polars without round trips.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, func, select
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError
from sqlalchemy.sql import FromClause

from clearinghouse.errors import TransientError, UsageError
from clearinghouse.persistence.models import Base

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = [
    "WRITE_LOCK_KEY",
    "alembic_config",
    "check_connection",
    "init_schema",
    "is_postgresql",
    "is_sqlite",
    "locked_transaction",
    "make_engine",
    "masked_url",
    "next_id",
    "require_schema",
    "schema_revision",
]

#: The advisory-lock key of the global write lock on PostgreSQL (any constant will do; this one
#: spells "CLEARHS" in ASCII so that it is recognizable in ``pg_locks``).
WRITE_LOCK_KEY = 0x434C_4541_5248_53

#: How long a SQLite writer waits for the lock before giving up (milliseconds).
SQLITE_BUSY_TIMEOUT_MS = 30 * 60 * 1000

#: How long a PostgreSQL connection attempt may take (seconds), unless the URL says otherwise.
PG_CONNECT_TIMEOUT_S = 10

_BEGIN_OPTION = "clearinghouse_sqlite_begin"


def masked_url(url: str | URL) -> str:
    """``url`` with its password replaced by ``***`` (also for URLs that do not parse)."""
    if isinstance(url, str):
        try:
            url = make_url(url)
        except (ArgumentError, ValueError):
            return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", str(url))
    if url.drivername == "postgresql+psycopg2":  # our default: show it as people write it
        url = url.set(drivername="postgresql")
    return url.render_as_string(hide_password=True)


def is_sqlite(bind: Engine | Connection) -> bool:
    return bind.dialect.name == "sqlite"


def is_postgresql(bind: Engine | Connection) -> bool:
    return bind.dialect.name == "postgresql"


def _parse(url: str) -> URL:
    if not url or not url.strip():
        raise UsageError("no database URL given: use sqlite:///FILE or postgresql://HOST/DB")
    try:
        parsed = make_url(url.strip())
    except (ArgumentError, ValueError) as exc:
        raise UsageError(
            f"not a database URL: {masked_url(url)} (use sqlite:///FILE or postgresql://HOST/DB)"
        ) from exc
    backend, _, driver = parsed.drivername.partition("+")
    if backend in ("postgresql", "postgres") and driver in ("", "psycopg2"):
        return parsed.set(drivername="postgresql+psycopg2")
    if backend == "sqlite" and driver in ("", "pysqlite"):
        if parsed.database in (None, "", ":memory:") or parsed.query.get("mode") == "memory":
            raise UsageError(
                f"in-memory SQLite is not supported ({masked_url(parsed)}): "
                "give a file, e.g. sqlite:///clearinghouse.db"
            )
        return parsed
    raise UsageError(
        f"unsupported database URL {masked_url(parsed)}: use sqlite:///FILE or postgresql://HOST/DB"
    )


def make_engine(url: str, *, check: bool = True) -> Engine:
    """An engine for ``url``; with ``check`` (the default) the database is reached once now.

    SQLite: foreign keys on, WAL journal, a long busy timeout, and SQLAlchemy (not the
    ``sqlite3`` module) emits ``BEGIN`` so that :func:`locked_transaction` can say
    ``BEGIN IMMEDIATE`` and DDL is transactional. PostgreSQL: psycopg2, UTF-8, a connect
    timeout, pre-ping for long-running processes.
    """
    parsed = _parse(url)
    try:
        if parsed.get_backend_name() == "sqlite":
            engine = create_engine(parsed, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
            _install_sqlite_hooks(engine)
        else:
            connect_args: dict[str, Any] = {}
            if "connect_timeout" not in parsed.query:
                connect_args["connect_timeout"] = PG_CONNECT_TIMEOUT_S
            engine = create_engine(
                parsed,
                client_encoding="utf8",
                pool_pre_ping=True,
                connect_args=connect_args,
            )
    except NoSuchModuleError as exc:  # pragma: no cover - psycopg2 is a dependency
        raise UsageError(f"no driver for {masked_url(parsed)}: {exc}") from exc
    if check:
        try:
            check_connection(engine)
        except BaseException:
            engine.dispose()
            raise
    return engine


def _install_sqlite_hooks(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module (the documented recipe).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA journal_mode=WAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get(_BEGIN_OPTION, "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


def _describe(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    lines = [line.strip() for line in str(orig).splitlines() if line.strip()]
    return lines[0] if lines else type(orig).__name__


def check_connection(engine: Engine) -> None:
    """Reach the database once: UsageError or TransientError with a one-line message if not."""
    where = masked_url(engine.url)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
            conn.rollback()
    except DBAPIError as exc:
        reason = _describe(exc)
        if is_sqlite(engine):
            raise UsageError(f"cannot open the SQLite database {where}: {reason}") from exc
        lowered = reason.lower()
        if "does not exist" in lowered or "authentication failed" in lowered:
            raise UsageError(f"cannot use the database {where}: {reason}") from exc
        raise TransientError(f"database unreachable at {where}: {reason}") from exc


@contextmanager
def locked_transaction(engine: Engine) -> Iterator[Connection]:
    """One transaction holding THE global write lock; commits on success, rolls back on error.

    PostgreSQL: ``pg_advisory_xact_lock`` (released by the commit or rollback). SQLite:
    ``BEGIN IMMEDIATE`` (the database's write lock, waited for up to the busy timeout).
    """
    where = masked_url(engine.url)
    try:
        conn = engine.connect()
    except DBAPIError as exc:
        raise TransientError(f"database unreachable at {where}: {_describe(exc)}") from exc
    with conn:
        try:
            if is_sqlite(engine):
                conn.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"})
            transaction = conn.begin()
            if is_postgresql(engine):
                conn.execute(select(func.pg_advisory_xact_lock(WRITE_LOCK_KEY)))
        except DBAPIError as exc:
            raise TransientError(
                f"could not take the write lock of {where}: {_describe(exc)}"
            ) from exc
        try:
            with transaction:
                yield conn
        except DBAPIError as exc:
            if exc.connection_invalidated:
                raise TransientError(f"lost the connection to {where}: {_describe(exc)}") from exc
            raise


def alembic_config(conn: Connection | None = None) -> Config:
    """An Alembic configuration for the migrations shipped in the package (no ini file).

    With ``conn``, ``env.py`` migrates through that connection (and its transaction).
    """
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("clearinghouse") / "migrations"))
    if conn is not None:
        cfg.attributes["connection"] = conn
    return cfg


def init_schema(engine: Engine) -> None:
    """Create or upgrade the schema to the newest migration (idempotent, under the lock)."""
    from alembic import command

    with locked_transaction(engine) as conn:
        command.upgrade(alembic_config(conn), "head")


def schema_revision(engine: Engine) -> str | None:
    """The migration the database is at, or None for a database without our schema."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def require_schema(engine: Engine) -> None:
    """UsageError unless the database is at the newest migration (``clearinghouse init``)."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    current = schema_revision(engine)
    if current is None:
        raise UsageError(
            f"the database {masked_url(engine.url)} has no clearinghouse schema: "
            "run `clearinghouse init`"
        )
    if current != head:
        raise UsageError(
            f"the database {masked_url(engine.url)} is at schema {current}, not {head}: "
            "run `clearinghouse init` to upgrade it"
        )


def next_id(conn: Connection, table: str | FromClause, column: str = "id") -> int:
    """``max(column) + 1`` (1 for an empty table). Call it under the write lock."""
    tbl = Base.metadata.tables[table] if isinstance(table, str) else table
    value = conn.execute(select(func.coalesce(func.max(tbl.c[column]), 0))).scalar_one()
    return int(value) + 1
