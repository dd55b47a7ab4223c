"""Hostile drops through the CLI, on both databases: each ends in an F acknowledgement, exit 0,
no traceback, in a process whose address space is capped (so "bounded memory" is enforced,
not hoped for): billion laughs and external entities in every XML format, zip slips and zip
bombs (declared and lying) in every zipped format, 1 GiB sparse files, JSON nested past reason.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import resource
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from jobs.synth.writer import zip_bytes
from tests.formats.cipn_docs import document
from tests.formats.claimrec_docs import BILL_ITEM_ROWS, BILLTRAN_ROWS, envelope
from tests.formats.fhir_docs import bundle, claim, to_json

SAMPLE = Path(__file__).resolve().parents[2] / "pricing" / "sample"
#: The address space a hostile drop may use (the interpreter, polars and lxml take ~1 GiB of it).
MEMORY_CAP = 3 << 30
MAX_DROP = 8 << 20  # small, so bombs and padding are past it cheaply

LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE {root} [<!ENTITY a "aaaaaaaaaa">'
    + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(8))
    + ']>\n<{root}>&i;</{root}>\n'
)
XXE = '<?xml version="1.0"?>\n<!DOCTYPE {root} [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n<{root}>&x;</{root}>\n'


def _zip(members: dict[str, bytes]) -> bytes:
    return zip_bytes(members, dt.date(2026, 10, 8))


def _lying(members: dict[str, bytes]) -> bytes:
    """A ZIP whose every member declares 1 KiB but inflates to its real (large) size."""
    data = bytearray(_zip(members))
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = data.find(signature)
        while at >= 0:
            data[at + offset : at + offset + 4] = (1024).to_bytes(4, "little")
            at = data.find(signature, at + 4)
    return bytes(data)


def _padded_admission() -> bytes:
    return document().replace(b"<IPADT>", b"<!--" + b" " * (64 << 20) + b"--><IPADT>")


def _sparse(path: Path, head: bytes) -> None:
    with path.open("wb") as handle:
        handle.write(head)
        handle.truncate(2**30 + 1)


def _write(data: bytes) -> Callable[[Path], object]:
    return lambda path: path.write_bytes(data)


CASES: dict[str, tuple[str, Callable[[Path], object], str]] = {
    "cipn billion laughs": ("a.xml", _write(LAUGHS.format(root="CIPN").encode()), "F06"),
    "cipn external entity": ("a.xml", _write(XXE.format(root="CIPN").encode()), "F06"),
    "fhir xml billion laughs": ("b.xml", _write(LAUGHS.format(root="Bundle").encode()), "F06"),
    "claimrec billion laughs": (
        "c.zip", _write(_zip({"BILLTRAN.txt": LAUGHS.format(root="ClaimRec").encode()})), "F06"
    ),
    "claimrec zip slip": ("d.zip", _write(_zip({
        "BILLTRAN.txt": envelope("bills", BILLTRAN_ROWS, BILL_ITEM_ROWS),
        "../../BILLDISP.txt": b"<?xml version='1.0'?><ClaimRec/>",
    })), "F01"),
    "16 files zip slip": ("e.zip", _write(_zip({"/etc/INS.txt": b"HN|INSCL\n"})), "F01"),
    "cipn transport declared bomb": ("f.zip", _write(_zip({"A.xml": _padded_admission()})), "F01"),
    "cipn transport lying bomb": ("g.zip", _write(_lying({"A.xml": _padded_admission()})), "F01"),
    "claimrec lying bomb": ("h.zip", _write(_lying({
        "BILLTRAN.txt": envelope("bills", BILLTRAN_ROWS, BILL_ITEM_ROWS).replace(
            b"<Header>", b"<!--" + b" " * (64 << 20) + b"--><Header>"),
    })), "F01"),
    "1 GiB sparse xml": ("i.xml", lambda p: _sparse(p, b"<?xml version='1.0'?><CIPN>"), "F01"),
    "1 GiB sparse json": ("j.json", lambda p: _sparse(p, b'{"resourceType": "Bundle"'), "F01"),
    "1 GiB sparse zip": ("k.zip", lambda p: _sparse(p, b"PK\x03\x04"), "F01"),
    "json nested a million deep": ("l.json", _write(b"[" * 1_000_000 + b"]" * 1_000_000), "F01"),
    "json truncated": ("m.json", _write(to_json(bundle(claim()))[:-40]), "F01"),
    # ijson's C backend crashed the process on an integer past 4,300 digits.
    "json number of 5,000 digits": (
        "n.json", _write(b'{"resourceType":"Bundle","type":"batch","total":1' + b"0" * 5000 + b"}"),
        "F01",
    ),
    "json exponent past decimals": (
        "o.json", _write(b'{"resourceType":"Claim","total":{"value":1e99999999999999999999}}'),
        "F01",
    ),
    "cipn transport with a name twice": (
        "p.zip",
        _write(_zip({"A.xml": document(), "B.xml": document()}).replace(b"B.xml", b"A.xml")),
        "F01",
    ),
}  # fmt: skip


def _capped() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


@pytest.fixture
def ready(db: str, tmp_path: Path) -> str:
    for args in (["init"], ["reference", "load", str(SAMPLE)]):
        done = subprocess.run([sys.executable, "-m", "jobs", "--db", db, *args], cwd=tmp_path,
                              capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
        assert done.returncode == 0, done.stderr
    return db


@pytest.mark.parametrize("case", list(CASES))
def test_a_hostile_drop_ends_in_an_f_acknowledgement(ready: str, tmp_path: Path, case: str) -> None:
    name, make, code = CASES[case]
    path = tmp_path / name
    make(path)
    done = subprocess.run(
        [sys.executable, "-m", "jobs", "--db", ready, "ingest", str(path), "--hcode", "10670",
         "--received", "2026-10-08", "--ack-dir", "acks"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "CLEARINGHOUSE_MAX_DROP_BYTES": str(MAX_DROP)}, preexec_fn=_capped,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    [ack] = (tmp_path / "acks").glob("*.csv")
    with ack.open(encoding="utf-8", newline="") as handle:
        [row] = list(csv.DictReader(handle))
    assert (row["status"], row["codes"]) == ("F", code), done.stdout
