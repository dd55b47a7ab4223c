"""A CIPN/AIPN file dropped as it is: ingested through the CLI on both databases, answered
with an acknowledgement that points at its IPADT row; a bad file gets its F code, never a
traceback; reconcile re-counts it from the raw store."""

from __future__ import annotations

import csv
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from clearinghouse.persistence.db import make_engine
from tests.formats.cipn_docs import MAPPED_BILLS, document

SAMPLE = Path(__file__).resolve().parents[2] / "pricing" / "sample"


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jobs", *args], cwd=cwd, capture_output=True, text=True,
        timeout=300, check=False,
    )  # fmt: skip


@pytest.fixture
def ready(db: str, tmp_path: Path) -> str:
    assert run("--db", db, "init", cwd=tmp_path).returncode == 0
    load = run("--db", db, "reference", "load", str(SAMPLE), cwd=tmp_path)
    assert load.returncode == 0, load.stderr
    return db


def ingest(db: str, path: Path, cwd: Path) -> tuple[list[dict[str, str]], dict[str, object]]:
    done = run("--db", db, "ingest", str(path), "--received", "2026-10-08",
               "--ack-dir", "acks", cwd=cwd)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    [ack] = (cwd / "acks").glob(f"*_{sha[:12]}.csv")
    with ack.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return rows, json.loads(ack.with_suffix(".json").read_text(encoding="utf-8"))


def test_a_cipn_file_is_a_drop_of_one_admission(ready: str, tmp_path: Path) -> None:
    name = "10670-CIPN-AN6900123-20261007103000.xml"
    (tmp_path / "inbox" / "10670").mkdir(parents=True)
    path = tmp_path / "inbox" / "10670" / name
    path.write_bytes(document(bills=MAPPED_BILLS, bill_count="4"))
    rows, summary = ingest(ready, path, tmp_path)
    [claim] = rows
    assert (claim["hcode"], claim["claim_type"], claim["claim_key"], claim["version"]) == (
        "10670", "IP", "AN6900123", "1"
    )  # fmt: skip
    assert (claim["file"], claim["line"]) == (name, "5")  # the IPADT row
    assert claim["status"] in ("A", "D", "C")
    assert all(code[:1] in "SKBCEW" for code in filter(None, claim["codes"].split(";")))
    assert (summary["format"], summary["drop"]) == ("cipn", name)
    assert summary["claims"]["total"] == 1  # type: ignore[index]
    assert summary["charged"] == "2350.00"  # Σ net of the four bill lines
    assert summary["rows_read"]["IPD"] == 1  # type: ignore[index]
    engine = make_engine(ready)
    try:
        with engine.connect() as conn:
            kinds = conn.execute(text("SELECT format, name FROM claim_drop")).all()
    finally:
        engine.dispose()
    assert [tuple(k) for k in kinds] == [("cipn", name)]
    # The auditors' re-count reads the kept XML again: no break.
    audit = run("--db", ready, "reconcile", "--period", "2026-10", "--out", "audit", cwd=tmp_path)
    assert audit.returncode == 0, audit.stdout + audit.stderr
    assert "no breaks" in audit.stdout
    # The same bytes again change nothing.
    again = run("--db", ready, "ingest", str(path), "--received", "2026-10-08",
                "--ack-dir", "acks", cwd=tmp_path)  # fmt: skip
    assert again.returncode == 0 and "DUP" in again.stdout + again.stderr


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (document().replace(b"<DocClass>IPClaim", b"<DocClass>IPClaimX"), "F05"),
        (b'<?xml version="1.0"?>\n<!DOCTYPE CIPN [<!ENTITY x "y">]>\n<CIPN/>', "F06"),
        (document(dx_count="9"), "F04"),
    ],
    ids=["tampered", "entity", "reccount"],
)
def test_a_bad_cipn_file_gets_its_f_code(
    ready: str, tmp_path: Path, data: bytes, code: str
) -> None:
    path = tmp_path / "10670-CIPN-bad.xml"
    path.write_bytes(data)
    done = run("--db", ready, "ingest", str(path), "--hcode", "10670", "--received",
               "2026-10-08", "--ack-dir", "acks", cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    [ack] = (tmp_path / "acks").glob("*.csv")
    with ack.open(encoding="utf-8", newline="") as handle:
        [row] = list(csv.DictReader(handle))
    assert (row["status"], row["codes"]) == ("F", code)


def test_a_1_gib_xml_file_is_refused_by_its_size_unread(ready: str, tmp_path: Path) -> None:
    # Sparse: it claims 1 GiB + 1 byte on disk without taking it. Nothing but stat reads it.
    path = tmp_path / "10670-CIPN-huge.xml"
    with path.open("wb") as handle:
        handle.write(b'<?xml version="1.0" encoding="windows-874"?>\n<CIPN>')
        handle.truncate(2**30 + 1)
    done = run("--db", ready, "ingest", str(path), "--hcode", "10670", "--received",
               "2026-10-08", "--ack-dir", "acks", cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    [ack] = (tmp_path / "acks").glob("*.csv")
    with ack.open(encoding="utf-8", newline="") as handle:
        [row] = list(csv.DictReader(handle))
    assert (row["status"], row["codes"]) == ("F", "F01")
    assert not (tmp_path / "raw").exists() or not any((tmp_path / "raw").iterdir())
