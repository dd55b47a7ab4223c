"""Set-up jobs: create the schema, load reference data sets as new versions."""

from __future__ import annotations

from pathlib import Path

from clearinghouse.persistence.db import init_schema, locked_transaction, make_engine
from clearinghouse.persistence.reference_store import latest_version, store_reference
from clearinghouse.settings import Settings
from pricing.reference import read_reference_dir, sample_dir

__all__ = ["initialise", "load_reference_dir"]


def initialise(settings: Settings) -> int | None:
    """Create the schema; load the bundled sample set when no reference data exists yet.

    Returns the new reference version, or None when one was already loaded (idempotent).
    """
    engine = make_engine(settings.db)
    try:
        init_schema(engine)
        with engine.connect() as conn:
            if latest_version(conn) is not None:
                return None
        frames = read_reference_dir(sample_dir())
        with locked_transaction(engine) as conn:
            return store_reference(conn, frames, label="bundled sample", source=str(sample_dir()))
    finally:
        engine.dispose()


def load_reference_dir(
    settings: Settings, directory: Path, label: str | None
) -> tuple[int, dict[str, int]]:
    """Validate and load a reference folder as a new version; returns it and rows per file."""
    frames = read_reference_dir(directory)
    engine = make_engine(settings.db)
    try:
        init_schema(engine)
        with locked_transaction(engine) as conn:
            version = store_reference(
                conn, frames, label=label or directory.resolve().name, source=str(directory)
            )
    finally:
        engine.dispose()
    return version, {name: frame.height for name, frame in frames.items()}
