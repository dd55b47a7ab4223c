"""A CIPN/AIPN file dropped as it is: ingested through the CLI on both databases, answered
with an acknowledgement that points at its IPADT row; a bad file gets its F code, never a
traceback; reconcile re-counts it from the raw store."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from clearinghouse.persistence.db import make_engine
from jobs.synth.writer import zip_bytes
from tests.formats.cipn_docs import IPADT, MAPPED_BILLS, document

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


# --- a ZIP of CIPN files is transport: every member is a drop of its own ----------------------


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    path.write_bytes(zip_bytes(members, dt.date(2026, 10, 8)))  # deflated, as exporters do
    return path


def _acks(folder: Path) -> dict[str, list[dict[str, str]]]:
    found = {}
    for ack in sorted(folder.glob("*.csv")):
        with ack.open(encoding="utf-8", newline="") as handle:
            found[ack.name] = list(csv.DictReader(handle))
    return found


def _second_admission() -> bytes:
    return document(ipadt=[IPADT.replace("AN6900123", "AN6900124", 1)])


def test_each_member_of_a_cipn_zip_is_its_own_drop(ready: str, tmp_path: Path) -> None:
    good, other = document(bills=MAPPED_BILLS, bill_count="4"), _second_admission()
    tampered = document().replace(b"<DocClass>IPClaim", b"<DocClass>IPClaimX")
    transport = _zip(tmp_path / "10670-batch.zip", {
        "batch/AN6900123.xml": good, "AN6900124.xml": other, "AN6900125.xml": tampered,
        "readme.txt": b"not a drop",
    })  # fmt: skip
    done = run("--db", ready, "ingest", str(transport), "--hcode", "10670", "--received",
               "2026-10-08", "--ack-dir", "acks", cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stdout.splitlines() if line.startswith("10670 ")]
    assert [line.split(":")[0] for line in lines] == [
        "10670 AN6900123.xml", "10670 AN6900124.xml", "10670 AN6900125.xml",
    ]  # fmt: skip
    acks = _acks(tmp_path / "acks")
    by_hash = {name.rsplit("_", 1)[1][:12]: rows for name, rows in acks.items()}
    for data, member in ((good, "AN6900123.xml"), (other, "AN6900124.xml")):
        [row] = by_hash[hashlib.sha256(data).hexdigest()[:12]]
        assert (row["file"], row["line"], row["claim_key"]) == (member, "5", member[:-4])
    [refused] = by_hash[hashlib.sha256(tampered).hexdigest()[:12]]
    assert (refused["status"], refused["codes"]) == ("F", "F05")
    engine = make_engine(ready)
    try:
        with engine.connect() as conn:
            drops = conn.execute(text("SELECT name, format, status FROM claim_drop ORDER BY id"))
            assert [tuple(row) for row in drops] == [
                ("AN6900123.xml", "cipn", "OK"), ("AN6900124.xml", "cipn", "OK"),
                ("AN6900125.xml", "cipn", "F"),
            ]  # fmt: skip
    finally:
        engine.dispose()
    # Each member's bytes are kept as they were, named by their own hash.
    kept = {p.name for p in (tmp_path / "raw").iterdir()}
    assert f"{hashlib.sha256(good).hexdigest()}.xml" in kept
    # The reconciliation re-counts every member from its kept bytes.
    audit = run("--db", ready, "reconcile", "--period", "2026-10", "--out", "audit", cwd=tmp_path)
    assert audit.returncode == 0 and "no breaks" in audit.stdout, audit.stdout + audit.stderr
    # One admission sent again alone is the same drop: its bytes, not its envelope, count.
    alone = tmp_path / "AN6900124.xml"
    alone.write_bytes(other)
    again = run("--db", ready, "ingest", str(alone), "--hcode", "10670", "--received",
                "2026-10-09", "--ack-dir", "acks", cwd=tmp_path)  # fmt: skip
    assert "duplicate F08" in again.stdout


@pytest.mark.parametrize("kind", ["slip", "bomb"])
def test_a_hostile_cipn_zip_is_refused_whole_f01(ready: str, tmp_path: Path, kind: str) -> None:
    if kind == "slip":
        members = {"AN6900123.xml": document(), "../../etc/AN6900124.xml": _second_admission()}
    else:  # 64 MiB of padding inside an admission, deflated to ~64 KiB; the maximum is 1 MiB
        padded = document().replace(b"<IPADT>", b"<!--" + b" " * (64 << 20) + b"--><IPADT>")
        members = {"AN6900123.xml": padded}
    transport = _zip(tmp_path / "10670-hostile.zip", members)
    done = subprocess.run(
        [sys.executable, "-m", "jobs", "--db", ready, "ingest", str(transport), "--hcode",
         "10670", "--received", "2026-10-08", "--ack-dir", "acks"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "CLEARINGHOUSE_MAX_DROP_BYTES": str(1 << 20)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    [[row]] = _acks(tmp_path / "acks").values()
    assert (row["status"], row["codes"]) == ("F", "F01")
    assert "refused F01" in done.stdout
