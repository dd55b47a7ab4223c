"""Ingest of a generated 100,000-claim inbox on SQLite and PostgreSQL.

Runs the real command line in a child process so that the peak memory printed is the
ingest's own (``wait4``'s ``ru_maxrss``), not the generator's or pytest's.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import text

from benchmarks.conftest import generated
from clearinghouse.persistence.db import make_engine

CLAIMS = int(os.environ.get("BENCH_INGEST_CLAIMS", "100000"))


def _cli(db: str, *args: str, cwd: Path) -> tuple[float, int]:
    """Run ``clearinghouse`` and return (seconds, peak RSS in bytes)."""
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-m", "jobs", "--db", db, *args],
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    errors = child.stderr.read().decode() if child.stderr else ""
    if child.stderr:
        child.stderr.close()
    assert child.returncode == 0, errors
    return elapsed, usage.ru_maxrss * 1024


def test_ingest_100k(benchmark, fresh_db: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = generated(CLAIMS)
    _cli(fresh_db, "init", cwd=tmp_path)
    _cli(fresh_db, "reference", "load", str(data / "reference"), cwd=tmp_path)

    figures: dict[str, float] = {}

    def ingest() -> None:
        seconds, peak = _cli(
            fresh_db,
            "ingest",
            str(data / "inbox"),
            "--received",
            "2026-10-31",
            "--ack-dir",
            str(tmp_path / "ack"),
            cwd=tmp_path,
        )
        figures.update(seconds=seconds, peak=peak)

    benchmark.pedantic(ingest, rounds=1, iterations=1)
    engine = make_engine(fresh_db)
    with engine.connect() as conn:
        claims = conn.execute(text("SELECT COUNT(*) FROM claim_version")).scalar_one()
        items = conn.execute(text("SELECT COUNT(*) FROM item")).scalar_one()
    engine.dispose()
    backend = fresh_db.split(":", 1)[0]
    print(
        f"\n[ingest {backend}] {claims:,} claims, {items:,} item lines in "
        f"{figures['seconds']:.1f} s: {claims / figures['seconds']:,.0f} claims/s, "
        f"{items / figures['seconds']:,.0f} item lines/s, "
        f"peak memory {figures['peak'] / 2**20:,.0f} MiB"
    )
    assert claims > 0.9 * CLAIMS
