"""A process killed mid-ingest leaves nothing; the rerun finishes the drop (both databases)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from clearinghouse.persistence.db import make_engine

CASE = Path(__file__).parent.parent / "cases" / "two-drops"
DROP = CASE / "drops/10713/10713_16F_20261002_CM1"


def clearinghouse(
    db: str, *args: str, failpoint: str | None = None, cwd: Path
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CLEARINGHOUSE_FAILPOINT"}
    if failpoint:
        env["CLEARINGHOUSE_FAILPOINT"] = failpoint
    return subprocess.run(
        [sys.executable, "-m", "jobs", "--db", db, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def counts(db: str) -> tuple[int, int, int, int]:
    engine = make_engine(db)
    try:
        with engine.connect() as conn:
            return tuple(  # type: ignore[return-value]
                conn.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one()
                for table in ("claim_drop", "claim_version", "item", "claim_code")
            )
    finally:
        engine.dispose()


def ingest_args(ack: Path) -> list[str]:
    return [
        "ingest",
        str(DROP),
        "--hcode",
        "10713",
        "--received",
        "2026-10-02",
        "--ack-dir",
        str(ack),
    ]


@pytest.fixture
def loaded(db: str, tmp_path: Path) -> str:
    assert clearinghouse(db, "init", cwd=tmp_path).returncode == 0
    load = clearinghouse(db, "reference", "load", str(CASE / "reference"), cwd=tmp_path)
    assert load.returncode == 0, load.stderr
    return db


def test_killed_before_commit_leaves_nothing_and_rerun_finishes(
    loaded: str, tmp_path: Path
) -> None:
    ack = tmp_path / "ack"
    killed = clearinghouse(
        loaded, *ingest_args(ack), failpoint="ingest:before-commit", cwd=tmp_path
    )
    assert killed.returncode == -signal.SIGKILL
    assert counts(loaded) == (0, 0, 0, 0)
    assert not ack.exists() or not list(ack.glob("*.csv"))

    rerun = clearinghouse(loaded, *ingest_args(ack), cwd=tmp_path)
    assert rerun.returncode == 0, rerun.stderr
    assert "ingested 31 claims" in rerun.stdout
    drops, claims, items, codes = counts(loaded)
    assert (drops, claims) == (1, 31)
    assert items > 0 and codes > 0
    assert len(list(ack.glob("*.csv"))) == 1


def test_killed_after_commit_rewrites_the_acknowledgement(loaded: str, tmp_path: Path) -> None:
    ack = tmp_path / "ack"
    killed = clearinghouse(loaded, *ingest_args(ack), failpoint="ingest:after-commit", cwd=tmp_path)
    assert killed.returncode == -signal.SIGKILL
    stored = counts(loaded)
    assert stored[:2] == (1, 31)
    assert not ack.exists() or not list(ack.glob("*.csv"))

    rerun = clearinghouse(loaded, *ingest_args(ack), cwd=tmp_path)
    assert rerun.returncode == 0, rerun.stderr
    assert "ack rewritten 31 claims" in rerun.stdout
    assert counts(loaded) == stored
    [written] = ack.glob("*.csv")
    assert written.read_text().count("\n") == 1 + 31 + 2  # header, claims, orphan rows
