"""The command line as people and scripts meet it: exit statuses and one-line messages."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

CASE = Path(__file__).parent.parent / "cases" / "two-drops"


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jobs", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def assert_clean_failure(done: subprocess.CompletedProcess[str], code: int, words: str) -> None:
    assert done.returncode == code, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    assert words in done.stderr, done.stderr


@pytest.fixture
def ready(db: str, tmp_path: Path) -> str:
    assert run("--db", db, "init", cwd=tmp_path).returncode == 0
    load = run("--db", db, "reference", "load", str(CASE / "reference"), cwd=tmp_path)
    assert load.returncode == 0, load.stderr
    assert "reference version 2 loaded" in load.stdout
    return db


def test_missing_path_is_bad_usage(ready: str, tmp_path: Path) -> None:
    done = run("--db", ready, "ingest", str(tmp_path / "nowhere"), cwd=tmp_path)
    assert_clean_failure(done, 2, "nowhere")


def test_future_received_date_is_refused(ready: str, tmp_path: Path) -> None:
    drop = str(CASE / "drops/10670/10670_16F_20261003_KK1.zip")
    done = run(
        "--db", ready, "ingest", drop, "--hcode", "10670", "--received", "2999-01-01", cwd=tmp_path
    )
    assert_clean_failure(done, 2, "in the future")


def test_unreachable_database_is_one_line(tmp_path: Path) -> None:
    done = run("--db", "postgresql://nobody@127.0.0.1:1/none", "init", cwd=tmp_path)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_malformed_reference_names_file_line_and_column(ready: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "drugs.csv").write_text(
        "code,ceiling_price,valid_from,valid_to\n100011,0.35,2024-10-01,\n549007,2.345,2024-10-01,\n"
    )
    done = run("--db", ready, "reference", "load", str(bad), cwd=tmp_path)
    assert_clean_failure(done, 2, "drugs.csv line 3, column ceiling_price")


def test_inbox_with_refused_and_unknown_hospital_drops(ready: str, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    (inbox / "10670").mkdir(parents=True)
    (inbox / "99999").mkdir()
    (inbox / "ack").mkdir()
    shutil.copy(CASE / "drops/10670/10670_16F_20261003_KK1.zip", inbox / "10670" / "b.zip")
    (inbox / "10670" / "a.zip").write_bytes(b"PK\x03\x04 this is not a zip archive")
    shutil.copytree(CASE / "drops/10713/10713_16F_20261002_CM1", inbox / "99999" / "drop1")
    done = run(
        "--db",
        ready,
        "ingest",
        str(inbox),
        "--received",
        "2026-10-05",
        "--ack-dir",
        "acks",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert [line.split(":")[0] for line in lines] == ["10670 a.zip", "10670 b.zip", "99999 drop1"]
    assert "refused F01" in lines[0]
    assert "ingested 23 claims" in lines[1]
    assert "refused F07" in lines[2]
    refused = sorted((tmp_path / "acks").glob("*.csv"))
    assert len(refused) == 3
    f07 = pl.read_csv(next(p for p in refused if p.name.startswith("99999_")), infer_schema=False)
    assert f07.row(0, named=True) == {
        "hcode": "99999",
        "claim_type": None,
        "claim_key": None,
        "version": None,
        "status": "F",
        "codes": "F07",
        "file": None,
        "line": None,
    }
