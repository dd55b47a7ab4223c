"""Storage: the data model, engines and the write lock, bulk frame I/O, reference versions."""

from clearinghouse.persistence.bulk import insert_frame, read_frame, temp_keys
from clearinghouse.persistence.db import (
    check_connection,
    init_schema,
    locked_transaction,
    make_engine,
    next_id,
)
from clearinghouse.persistence.reference_store import (
    latest_version,
    load_reference,
    store_reference,
)

__all__ = [
    "check_connection",
    "init_schema",
    "insert_frame",
    "latest_version",
    "load_reference",
    "locked_transaction",
    "make_engine",
    "next_id",
    "read_frame",
    "store_reference",
    "temp_keys",
]
