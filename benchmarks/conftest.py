"""Benchmark fixtures: generated inboxes (cached per seed and size) and fresh databases."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

ADMIN = os.environ.get(
    "CLEARINGHOUSE_TEST_PG_ADMIN", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
)
CACHE = Path(__file__).parent.parent / ".benchmarks" / "data"


def generated(claims: int, seed: int = 7, error_rate: float = 0.02) -> Path:
    """A generated inbox + reference set, made once and kept under .benchmarks/data."""
    from jobs.generate import generate

    out = CACHE / f"gen-{claims}-{seed}-{error_rate}"
    if not (out / ".complete").exists():
        generate(out, claims=claims, seed=seed, error_rate=error_rate)
        (out / ".complete").write_text("ok\n")
    return out


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh empty database URL on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'bench.db'}"
        return
    name = f"ch_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(ADMIN, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        pytest.skip(f"PostgreSQL not reachable at {ADMIN}: {exc}")
    try:
        yield ADMIN.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
