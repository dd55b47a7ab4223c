"""Shared fixtures: a fresh, migrated database on each backend.

* ``db``: the URL of a FRESH database with the schema applied, once per backend (``sqlite``,
  ``postgresql``). Ask for it (or ``engine``) and the test runs on both.
* ``engine``: an engine on ``db``, disposed after the test.
* ``pg_admin_url``: a PostgreSQL URL allowed to create databases (env
  ``CLEARINGHOUSE_TEST_PG_ADMIN``, default ``postgresql://postgres@127.0.0.1:5432/postgres``).

PostgreSQL databases are cloned from a template migrated once per session
(``CREATE DATABASE … TEMPLATE``) and dropped after each test. When PostgreSQL cannot be reached
the PostgreSQL half is skipped, unless ``CI`` is set: then it fails. ``-m "not postgresql"``
deselects it.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url

from clearinghouse.errors import ClearinghouseError
from clearinghouse.persistence.db import init_schema, make_engine, masked_url

PG_ADMIN_DEFAULT = "postgresql://postgres@127.0.0.1:5432/postgres"
_START_HINT = (
    "start it with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` "
    "or set CLEARINGHOUSE_TEST_PG_ADMIN"
)
_PREFIX = f"ch_t_{os.getpid()}_"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "postgresql: runs against PostgreSQL (skipped when it is unreachable)"
    )


# --- PostgreSQL -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def pg_admin_url() -> str:
    """A PostgreSQL URL that may create and drop databases; skips (fails on CI) if unreachable."""
    url = os.environ.get("CLEARINGHOUSE_TEST_PG_ADMIN") or PG_ADMIN_DEFAULT
    try:
        make_engine(url).dispose()  # make_engine reaches the server once
    except ClearinghouseError as exc:
        where = masked_url(url)
        reason = str(exc).partition(f"{where}: ")[2] or str(exc)
        half = "the PostgreSQL half of the persistence tests"
        if os.environ.get("CI"):
            pytest.fail(
                f"CI is set and PostgreSQL is not reachable at {where} ({reason}): "
                f"{half} cannot run; {_START_HINT}",
                pytrace=False,
            )
        pytest.skip(
            f"PostgreSQL not reachable at {where} ({reason}): {half} is skipped; {_START_HINT}"
        )
    return url


@pytest.fixture(scope="session")
def _pg_admin(pg_admin_url: str) -> Iterator[Engine]:
    engine = create_engine(
        make_url(pg_admin_url).set(drivername="postgresql+psycopg2"),
        isolation_level="AUTOCOMMIT",
    )
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def _pg_template(_pg_admin: Engine, pg_admin_url: str) -> Iterator[str]:
    """A database migrated once per session, cloned by every PostgreSQL test."""
    name = f"ch_tmpl_{os.getpid()}_{secrets.token_hex(4)}"
    with _pg_admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        engine = make_engine(_database_url(pg_admin_url, name))
        try:
            init_schema(engine)
        finally:
            engine.dispose()
        yield name
    finally:
        with _pg_admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _database_url(admin_url: str, database: str) -> str:
    return make_url(admin_url).set(database=database).render_as_string(hide_password=False)


def _pg_database(request: pytest.FixtureRequest, admin_url: str) -> Iterator[str]:
    template: str = request.getfixturevalue("_pg_template")
    admin: Engine = request.getfixturevalue("_pg_admin")
    name = _PREFIX + secrets.token_hex(4)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    try:
        yield _database_url(admin_url, name)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- SQLite -----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once per session, copied by every SQLite test."""
    path = tmp_path_factory.mktemp("sqlite_template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        init_schema(engine)
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        engine.dispose()
    return path


# --- the fixtures tests use -------------------------------------------------------------------


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a fresh database with the schema applied (parametrized over both backends)."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("_sqlite_template")
        path = tmp_path / "clearinghouse.db"
        shutil.copyfile(template, path)
        yield f"sqlite:///{path}"
        return
    admin_url: str = request.getfixturevalue("pg_admin_url")
    yield from _pg_database(request, admin_url)


@pytest.fixture
def engine(db: str) -> Iterator[Engine]:
    """An engine on ``db``; disposed after the test so that the database can be dropped."""
    eng = make_engine(db)
    yield eng
    eng.dispose()


@pytest.fixture
def more_dbs(
    db: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[[], str]]:
    """Make further fresh databases on ``db``'s backend (dropped after the test), for tests
    that compare several independent runs."""
    made = contextlib.ExitStack()

    def make() -> str:
        if db.startswith("sqlite"):
            path = tmp_path / f"more_{secrets.token_hex(4)}.db"
            shutil.copyfile(request.getfixturevalue("_sqlite_template"), path)
            return f"sqlite:///{path}"
        admin_url: str = request.getfixturevalue("pg_admin_url")
        return made.enter_context(contextlib.contextmanager(_pg_database)(request, admin_url))

    with made:
        yield make
