"""Alembic environment: migrate through the caller's connection, or open one from a URL.

``init_schema`` passes its connection (inside the global write lock) as
``config.attributes["connection"]``. From the alembic command line the URL is ``-x db=URL``,
else ``sqlalchemy.url`` of the ini file, else the ``CLEARINGHOUSE_DB`` setting.
"""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context
from sqlalchemy import Connection

from clearinghouse.persistence.models import Base

config = context.config
target_metadata = Base.metadata


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        compare_server_default=True,
        render_as_batch=connection.dialect.name == "sqlite",
        transaction_per_migration=False,
    )


def _run(connection: Connection) -> None:
    _configure(connection)
    with context.begin_transaction():
        context.run_migrations()


def _url() -> str:
    from clearinghouse.settings import load_settings

    url = context.get_x_argument(as_dictionary=True).get("db") or config.get_main_option(
        "sqlalchemy.url"
    )
    return url or load_settings().db


def main() -> None:
    given = config.attributes.get("connection")
    if given is not None:
        _run(given)
        return
    if config.config_file_name is not None:
        fileConfig(config.config_file_name, disable_existing_loggers=False)
    if context.is_offline_mode():
        context.configure(
            url=_url(), target_metadata=target_metadata, literal_binds=True, compare_type=True
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    from clearinghouse.persistence.db import locked_transaction, make_engine

    engine = make_engine(_url())
    try:
        with locked_transaction(engine) as connection:
            _run(connection)
    finally:
        engine.dispose()


main()
