"""Month close on PostgreSQL: 10,000,000 obligations among 1,000 hospitals and the funds.

The database is seeded on the server (``generate_series``): one reference version with 1,000
hospitals, 1,000 drops received in October 2026, 5,000,000 accepted claim versions with two
obligations each (a CLAIM from the primary fund and, for every tenth version, a REFER from a
main hospital to UCS, else a CLAIM from a second fund), and 500,000 C/D versions with a code
each (the statements' NOPAY rows). Then ``clearinghouse settle --period 2026-10`` runs in a
child process, timed with every file written (positions, transfers, obligations, pain.001,
1,000 hospital and 8 fund statements, manifest); its peak memory is the child's max RSS. The
stored run is then asked for again (files rebuilt and checked against the recorded hashes).

Seeding takes minutes, so it is done once into a template database named by a hash of the
seed (SQL, reference data, schema head) and kept between runs; each run clones it
(``CREATE DATABASE … TEMPLATE``, a file copy) and drops the clone afterwards. Drop the
``ch_bench_close_*`` databases to reseed.

Goal: the close under 30 s including all files.
"""

from __future__ import annotations

import hashlib
import inspect
import os
import resource
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from clearinghouse.persistence.db import (
    alembic_config,
    init_schema,
    locked_transaction,
    make_engine,
)
from clearinghouse.persistence.reference_store import store_reference
from pricing.reference import read_reference_dir, sample_dir

ADMIN = os.environ.get(
    "CLEARINGHOUSE_TEST_PG_ADMIN", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
)
HOSPITALS = 1_000
ACCEPTED = 5_000_000
NOPAY = 500_000
FUNDS = ["UCS", "SSS", "OFC", "LGO", "SSI", "MIG", "WCF", "RTA"]


def _reference(engine_url: str) -> None:
    frames = dict(read_reference_dir(sample_dir()))
    frames["hospitals"] = pl.DataFrame(
        {
            "hcode": [str(20000 + i) for i in range(HOSPITALS)],
            "name": [f"โรงพยาบาลทดสอบ {i}" for i in range(HOSPITALS)],
            "province": ["Bangkok"] * HOSPITALS,
            "type": ["PUB"] * HOSPITALS,
            "account": [f"06{i:08d}" for i in range(HOSPITALS)],
            "bank": [None] * HOSPITALS,
        }
    )
    engine = make_engine(engine_url)
    init_schema(engine)
    with locked_transaction(engine) as conn:
        store_reference(conn, frames, label="bench-1000-hospitals", source="benchmark")
    engine.dispose()


_SEED = [
    "INSERT INTO period VALUES ('2026-10', 'OPEN', NULL)",
    f"""INSERT INTO claim_drop (id, sha256, hcode, received, status, code, message, format, name,
        size, corrections, reference_version_id, rows_read, ignored_files, claims, accepted,
        denied, rejected, charged, allowed, ingested_at)
        SELECT h, md5(h::text) || md5('x' || h::text), (19999 + h)::text,
        DATE '2026-10-15', 'OK', NULL, NULL, '16files', 'bench_' || h, 1000, false, 1, '{{}}',
        '[]', 0, 0, 0, 0, 0, 0, TIMESTAMP '2026-10-15 12:00'
        FROM generate_series(1, {HOSPITALS}) h""",
    f"""INSERT INTO claim_version (id, drop_id, hcode, claim_type, claim_key, version, person_id,
        hn, status, period, received, correction, file, line, charged, allowed,
        reference_version_id)
        SELECT v, v % {HOSPITALS} + 1, (20000 + v % {HOSPITALS})::text,
        CASE WHEN v % 7 = 0 THEN 'IP' ELSE 'OP' END, (6900000000 + v)::text, 1,
        (1100000000000 + v)::text, v::text,
        CASE WHEN v <= {ACCEPTED} THEN 'A' WHEN v % 2 = 0 THEN 'C' ELSE 'D' END,
        '2026-10', DATE '2026-10-15', false, 'OPD.txt', v % 5000 + 2, 100000 + v % 90000,
        CASE WHEN v <= {ACCEPTED} OR v % 2 = 1 THEN 50000 + v % 80000 ELSE 0 END, 1
        FROM generate_series(1, {ACCEPTED + NOPAY}) v""",
    f"""INSERT INTO claim_code (id, claim_version_id, item_id, code)
        SELECT v - {ACCEPTED}, v, NULL, CASE WHEN v % 2 = 0 THEN 'C01' ELSE 'E03' END
        FROM generate_series({ACCEPTED + 1}, {ACCEPTED + NOPAY}) v""",
    f"""INSERT INTO obligation (id, payer, payee, amount, kind, claim_version_id, hcode,
        claim_type, claim_key, version, period, reverses_id, drop_id)
        SELECT g, CASE WHEN g % 2 = 1 THEN 'F:' || (ARRAY{FUNDS})[1 + (g / 2) % 3]
                       WHEN (g / 2) % 10 = 0 THEN 'H:' || (20000 + (g * 7) % {HOSPITALS})
                       ELSE 'F:' || (ARRAY{FUNDS})[4 + (g / 2) % 5] END,
                  CASE WHEN g % 2 = 0 AND (g / 2) % 10 = 0 THEN 'F:UCS'
                       ELSE 'H:' || (20000 + ((g + 1) / 2) % {HOSPITALS}) END,
                  1000 + (g * 7919) % 5000000,
                  CASE WHEN g % 2 = 0 AND (g / 2) % 10 = 0 THEN 'REFER' ELSE 'CLAIM' END,
                  (g + 1) / 2, (20000 + ((g + 1) / 2) % {HOSPITALS})::text,
                  CASE WHEN ((g + 1) / 2) % 7 = 0 THEN 'IP' ELSE 'OP' END,
                  (6900000000 + (g + 1) / 2)::text, 1, '2026-10', NULL,
                  ((g + 1) / 2) % {HOSPITALS} + 1
        FROM generate_series(1::bigint, {2 * ACCEPTED}) g""",
]


def _seed(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        # The generated rows are consistent by construction: skip the per-row foreign-key
        # triggers (the constraints stay declared).
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        for statement in _SEED:
            conn.execute(text(statement))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        # As a database that has been live a while: hint bits set, visibility map, statistics.
        conn.execute(text("VACUUM (FREEZE, ANALYZE)"))
    engine.dispose()


def _database_url(name: str) -> str:
    return make_url(ADMIN).set(database=name).render_as_string(hide_password=False)


def _template_name() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    source = "\n".join([inspect.getsource(_reference), *_SEED, str(head)])
    return f"ch_bench_close_{hashlib.sha256(source.encode()).hexdigest()[:12]}"


def _exists(admin: Engine, name: str) -> bool:
    with admin.connect() as conn:
        found = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        return found.first() is not None


def _template(admin: Engine) -> str:
    """The seeded template database, made now unless an earlier run left it."""
    name = _template_name()
    if _exists(admin, name):
        print(f"\nseeded template {name} kept from an earlier run")
        return name
    building = f"{name}_{uuid.uuid4().hex[:6]}"
    started = time.perf_counter()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{building}"'))
    try:
        _reference(_database_url(building))
        _seed(_database_url(building))
        with admin.connect() as conn:  # renamed only once complete: no half-seeded template
            conn.execute(text(f'ALTER DATABASE "{building}" RENAME TO "{name}"'))
    except BaseException:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{building}" WITH (FORCE)'))
        raise
    print(f"\nseeded 10,000,000 obligations into {name} in {time.perf_counter() - started:.1f} s")
    return name


@pytest.fixture
def close_db() -> Iterator[str]:
    """A fresh clone of the seeded template; dropped afterwards."""
    admin = create_engine(ADMIN, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect():
            pass
    except Exception as exc:
        admin.dispose()
        pytest.skip(f"PostgreSQL not reachable at {ADMIN}: {exc}")
    name = f"ch_bench_{uuid.uuid4().hex[:10]}"
    try:
        template = _template(admin)
        started = time.perf_counter()
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}" STRATEGY FILE_COPY'))
        # The clone's files are still being written back to disk: let that finish before the
        # close is timed, as on a database that has been live a while.
        os.sync()
        print(f"cloned the template in {time.perf_counter() - started:.1f} s")
        yield _database_url(name)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _child_peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def test_month_close_10m_obligations(benchmark: object, close_db: str, tmp_path: Path) -> None:
    # SETTLE_BENCH_OUT keeps the files (to compare them between versions of the code).
    out = Path(os.environ.get("SETTLE_BENCH_OUT") or tmp_path) / "close"
    command = [sys.executable, "-m", "jobs", "--db", close_db, "settle", "--period", "2026-10",
               "--out", str(out)]  # fmt: skip
    env = {**os.environ, "CLEARINGHOUSE_DB": close_db}
    began = time.perf_counter()
    done = benchmark.pedantic(  # type: ignore[attr-defined]
        subprocess.run,
        args=(command,),
        kwargs={"capture_output": True, "text": True, "env": env, "check": False},
        rounds=1,
        iterations=1,
    )
    seconds = time.perf_counter() - began
    assert done.returncode == 0, done.stderr
    peak = _child_peak_mib()
    files = sorted(p for p in out.rglob("*") if p.is_file())
    size = sum(p.stat().st_size for p in files) / 2**20
    print(done.stdout.strip())
    print(
        f"month close: {seconds:.1f} s, peak {peak:.0f} MiB, {len(files)} files, {size:.0f} MiB "
        f"(goal < 30 s)"
    )
    again = time.perf_counter()
    repeat = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    assert repeat.returncode == 0, repeat.stderr
    print(
        f"asked again (stored run, files rebuilt and verified): "
        f"{time.perf_counter() - again:.1f} s, peak {_child_peak_mib():.0f} MiB"
    )
    assert (out / "positions.csv").read_text().count("\n") == HOSPITALS + len(FUNDS) + 1
