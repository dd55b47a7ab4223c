"""``clearinghouse settle`` end to end, on SQLite and PostgreSQL (settlement.md, README invariants).

Every expected value is derived here, with the csv module and integer satang, from the spec's
worked example (tests/cases/two-drops: expected/obligations.csv, claims.csv, positions.csv,
summary.json, reference/) or from the other files of the same run; nothing is copied from an
earlier run of the code.

1. golden: the month close of the worked example, every file checked;
2. a run is final: asked again, elsewhere, after the settings and the reference data changed;
3. nightly runs then the close: which obligations each run takes, statements across runs;
4. a correction in the next month: REVERSAL rows in the period of the correction;
5. refusals (exit 2) and a run that cannot pay (exit 1): one line on stderr, nothing kept;
6. run tables are final and spans never overlap, enforced by the database;
7. PostgreSQL only: two closes at once, a run waiting for the write lock.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner, Result
from lxml import etree
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from clearinghouse.persistence.db import WRITE_LOCK_KEY, make_engine
from jobs.cli import cli
from tests.clearinghouse.drops import DropBuilder

HERE = Path(__file__).parent
CASE = HERE / "cases" / "two-drops"
EXPECTED = CASE / "expected"
DROP_10713 = CASE / "drops/10713/10713_16F_20261002_CM1"
DROP_10670 = CASE / "drops/10670/10670_16F_20261003_KK1.zip"
XSD = HERE / "schemas" / "pain.001.001.09.xsd"
NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"}
BIC = re.compile(r"[A-Z0-9]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?")

LISTING = ("payer", "payee", "amount", "kind", "hcode", "claim_type", "claim_key", "version")
CLAIM_ID = ("hcode", "claim_type", "claim_key", "version")
H_HEADER = (
    "kind,claim_hcode,claim_type,claim_key,version,status,codes,allowed,received,paid,run,net"
)
F_HEADER = "hcode,kind,claims,paid,received,net"
RUN_TABLES = ("settlement_run", "run_span", "run_position", "run_creditor")
#: The clearing account configured for the golden run (a BIC, so the debtor agent is a BICFI).
CLEARING = {
    "CLEARINGHOUSE_CLEARING_NAME": "Test National Clearing House",
    "CLEARINGHOUSE_CLEARING_ACCOUNT": "1234509876",
    "CLEARINGHOUSE_CLEARING_BANK": "KRTHTHBK",
}
Row = dict[str, str]


# --- money and files --------------------------------------------------------------------------


def satang(value: str) -> int:
    amount = Decimal(value)
    assert amount == amount.quantize(Decimal("0.01")), value
    return int(amount * 100)


def baht(amount: int) -> str:
    return f"{'-' if amount < 0 else ''}{abs(amount) // 100}.{abs(amount) % 100:02d}"


def read_rows(path: Path) -> list[Row]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def read_lists(path: Path) -> list[list[str]]:
    """Every line after the header, as a list of fields."""
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))[1:]


def assert_spec_csv(path: Path, header: str) -> None:
    """UTF-8 without BOM, ``\\n`` line ends, the exact header, a final newline."""
    data = path.read_bytes()
    assert not data.startswith(b"\xef\xbb\xbf") and b"\r" not in data, path
    assert data.endswith(b"\n") and data.decode("utf-8").split("\n", 1)[0] == header, path


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def files_in(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def listing_key(row: Row) -> tuple[str, ...]:
    return tuple(row[name] for name in LISTING)


def claim_of(row: Row) -> tuple[str, ...]:
    return tuple(row[name] for name in CLAIM_ID)


# --- the command line and the database ----------------------------------------------------------


def invoke(db: str, *args: str, env: Mapping[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, ["--db", db, *args], obj={}, env=env)


def ok(db: str, *args: str, env: Mapping[str, str] | None = None) -> str:
    result = invoke(db, *args, env=env)
    assert result.exit_code == 0, (args, result.output, result.exception)
    return result.stdout


def settle(db: str, out: Path, cutoff: str, env: Mapping[str, str] | None = None) -> str:
    """``settle --period`` for ``YYYY-MM``, ``settle --through`` for ``YYYY-MM-DD``."""
    option = "--period" if len(cutoff) == 7 else "--through"
    return ok(db, "settle", option, cutoff, "--out", str(out), env=env)


def ingest(db: str, path: Path, hcode: str, received: str, *, corrections: bool = False) -> str:
    extra = ["--corrections"] if corrections else []
    return ok(db, "ingest", str(path), "--hcode", hcode, "--received", received, *extra)


def spawn(db: str, *args: str, cwd: Path) -> subprocess.Popen[str]:
    """``python -m jobs --db DB ARGS`` in a process of its own."""
    root = str(HERE.parent)
    path = os.environ.get("PYTHONPATH")
    env = {**os.environ, "PYTHONPATH": root if not path else f"{root}{os.pathsep}{path}"}
    return subprocess.Popen(
        [sys.executable, "-m", "jobs", "--db", db, *args],
        cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def finish(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    stdout, stderr = process.communicate(timeout=120)
    return process.returncode, stdout, stderr


def query(db: str, sql: str) -> list[tuple[Any, ...]]:
    engine = make_engine(db)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(text(sql))]
    finally:
        engine.dispose()


def run_table_counts(db: str) -> dict[str, int]:
    counts = [f"(SELECT COUNT(*) FROM {table})" for table in RUN_TABLES]
    settled = "(SELECT COUNT(*) FROM period WHERE status = 'SETTLED')"
    [row] = query(db, f"SELECT {', '.join(counts)}, {settled}")
    return dict(zip([*RUN_TABLES, "settled periods"], map(int, row), strict=True))


@pytest.fixture
def ready(db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh database with the worked example's reference data, run from ``tmp_path``."""
    monkeypatch.chdir(tmp_path)
    ok(db, "init")
    ok(db, "reference", "load", str(CASE / "reference"))
    return db


@pytest.fixture
def example(ready: str) -> str:
    """The worked example's two drops ingested (received 2026-10-02 and 2026-10-03)."""
    ingest(ready, DROP_10713, "10713", "2026-10-02")
    ingest(ready, DROP_10670, "10670", "2026-10-03")
    return ready


def served_in_september(drop: DropBuilder, claim: str = "OP", day: str = "20260905") -> DropBuilder:
    """The builder's outpatient ``claim`` served on ``day`` instead."""
    drop.change("OPD", claim, DATEOPD=day).change("ODX", claim, DATEDX=day)
    drop.change("CHT", claim, DATE=day).change("CHA", claim, DATE=day)
    return drop.change("ADP", claim, DATEOPD=day).change("DRU", claim, DATE_SERV=day)


# --- what the files must say, derived independently ---------------------------------------------


def hospital_rows(
    obligations: Iterable[Row], run_of: Mapping[tuple[str, ...], str], claims: Iterable[Row]
) -> dict[str, list[list[str]]]:
    """The H_<hcode>.csv data rows (TOTAL excluded) the spec implies, in no particular order.

    ``claims``: the period's claim versions (claims.csv columns; status, codes and allowed are
    "?" for a version not given); ``run_of``: each obligation's run, by its listing fields.
    """
    versions = {claim_of(c): c for c in claims}
    unknown = {"status": "?", "codes": "?", "allowed": "?"}
    rows: dict[str, list[list[str]]] = defaultdict(list)
    for o in obligations:
        c = versions.get(claim_of(o), unknown)
        for side in ("payee", "payer"):
            if o[side].startswith("H:"):
                amounts = [o["amount"], "0.00"] if side == "payee" else ["0.00", o["amount"]]
                described = [c["status"], c["codes"], c["allowed"]]
                run = run_of[listing_key(o)]
                rows[o[side][2:]].append([o["kind"], *claim_of(o), *described, *amounts, run, ""])
    for c in versions.values():
        if c["status"] in ("C", "D"):
            rows[c["hcode"]].append(["NOPAY", *claim_of(c), c["status"], c["codes"], c["allowed"],
                                     "0.00", "0.00", "", ""])  # fmt: skip
    return rows


def fund_rows(obligations: Iterable[Row]) -> dict[str, list[list[str]]]:
    """Every F_<fund>.csv file's rows the spec implies (sorted, TOTAL last)."""
    groups: dict[str, dict[tuple[str, str], list[Row]]] = defaultdict(lambda: defaultdict(list))
    for o in obligations:
        for side, other in (("payer", "payee"), ("payee", "payer")):
            if o[side].startswith("F:"):
                key = (o[other].removeprefix("H:"), o["kind"])
                groups[o[side][2:]][key].append(o | {"side": side})

    def sums(owed: list[Row]) -> tuple[str, int, int]:
        paid = sum(satang(o["amount"]) for o in owed if o["side"] == "payer")
        received = sum(satang(o["amount"]) for o in owed if o["side"] == "payee")
        return str(len({claim_of(o) for o in owed})), paid, received

    files = {}
    for fund, by_key in groups.items():
        lines = []
        for key, owed in sorted(by_key.items()):
            claims, paid, received = sums(owed)
            lines.append([*key, claims, baht(paid), baht(received), ""])
        claims, paid, received = sums([o for owed in by_key.values() for o in owed])
        lines.append(["TOTAL", "", claims, baht(paid), baht(received), baht(received - paid)])
        files[fund] = lines
    return files


def check_hospital_statement(
    path: Path, expected: list[list[str]], *, mask_rejected_allowed: bool = False
) -> list[str]:
    """Header, rows (as a multiset), their order and the TOTAL; returns the TOTAL row."""
    assert_spec_csv(path, H_HEADER)
    *rows, total = read_lists(path)
    assert "TOTAL" not in [r[0] for r in rows]
    keys = [(r[1], r[2], r[3], int(r[4]), r[0]) for r in rows]
    assert keys == sorted(keys), f"{path.name} not sorted by hcode, type, key, version, kind"

    def comparable(lines: list[list[str]]) -> list[list[str]]:
        # The allowed of C versions' NOPAY rows has its own test below.
        masked = mask_rejected_allowed
        return sorted(
            [*r[:7], "?" if masked and r[0] == "NOPAY" and r[5] == "C" else r[7], *r[8:]]
            for r in lines
        )

    assert comparable(rows) == comparable(expected), path.name
    received = sum(satang(r[8]) for r in expected)
    paid = sum(satang(r[9]) for r in expected)
    blank = [""] * 7
    assert total == ["TOTAL", *blank, baht(received), baht(paid), "", baht(received - paid)]
    return total


def check_fund_statement(path: Path, expected: list[list[str]]) -> list[str]:
    """Header and rows in their exact order (hcode, kind, then TOTAL); returns the TOTAL row."""
    assert_spec_csv(path, F_HEADER)
    assert read_lists(path) == expected, path.name
    return expected[-1]


def check_manifest(out: Path, run_id: str, kind: str, cutoff: str) -> dict[str, Any]:
    """Hashes, row counts and control totals against the files of ``out`` themselves."""
    manifest: dict[str, Any] = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert (manifest["run_id"], manifest["kind"], manifest["cutoff"]) == (run_id, kind, cutoff)
    written = {p.relative_to(out).as_posix() for p in files_in(out)} - {"manifest.json"}
    files = manifest["files"]
    assert set(files) == written | {"pain.001.xml"}
    for name in written:
        assert files[name] == hashlib.sha256((out / name).read_bytes()).hexdigest(), name
    if "pain.001.xml" not in written:
        assert files["pain.001.xml"] is None
    owed = read_rows(out / "obligations.csv")
    position = read_rows(out / "positions.csv")
    moves = read_rows(out / "transfers.csv")
    assert manifest["rows"] == {
        "obligations": len(owed),
        "positions": len(position),
        "transfers": len(moves),
        "statements": len([n for n in written if n.startswith("statements/")]),
    }
    assert manifest["control_totals"] == {
        "obligations_gross": baht(sum(satang(o["amount"]) for o in owed)),
        "netted": baht(sum(max(satang(p["net"]), 0) for p in position)),
        "into_ch": baht(sum(satang(t["amount"]) for t in moves if t["payee"] == "CH")),
        "out_of_ch": baht(sum(satang(t["amount"]) for t in moves if t["payer"] == "CH")),
        "net_sum": "0.00",
    }
    created = dt.datetime.fromisoformat(manifest["created_at"])
    assert created.utcoffset() == dt.timedelta(hours=7)  # Asia/Bangkok
    assert manifest["run_date"] == created.date().isoformat()
    return manifest


def check_positions(out: Path) -> None:
    """positions.csv and transfers.csv recomputed from the run's own obligations.csv."""
    gross: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for o in read_rows(out / "obligations.csv"):
        gross[o["payee"]][0] += satang(o["amount"])
        gross[o["payer"]][1] += satang(o["amount"])
    assert read_lists(out / "positions.csv") == [
        [who, baht(i), baht(o), baht(i - o)] for who, (i, o) in sorted(gross.items())
    ]
    moves = [["CH", who, baht(i - o)] if i > o else [who, "CH", baht(o - i)]
             for who, (i, o) in gross.items() if i != o]  # fmt: skip
    assert read_lists(out / "transfers.csv") == sorted(moves)


def check_pain(out: Path, manifest: Mapping[str, Any], clearing: Mapping[str, str]) -> None:
    """Valid pain.001.001.09 paying exactly the net creditors of positions.csv."""
    document = etree.parse(str(out / "pain.001.xml"))
    etree.XMLSchema(etree.parse(str(XSD))).assertValid(document)
    root = document.getroot().xpath("p:CstmrCdtTrfInitn", namespaces=NS)[0]

    def one(node: etree._Element, path: str) -> str:
        [found] = node.xpath(path.replace("/", "/p:").replace("p:@", "@"), namespaces=NS)
        return str(found if isinstance(found, str) else found.text)

    run_id = manifest["run_id"]
    creditors = [(p["participant"], satang(p["net"])) for p in read_rows(out / "positions.csv")]
    creditors = [(who, net) for who, net in creditors if net > 0]
    name = clearing["CLEARINGHOUSE_CLEARING_NAME"]
    control = baht(sum(net for _, net in creditors))
    assert one(root, "./GrpHdr/MsgId") == one(root, "./PmtInf/PmtInfId") == run_id
    assert one(root, "./GrpHdr/CreDtTm") == manifest["created_at"]
    assert one(root, "./GrpHdr/NbOfTxs") == one(root, "./PmtInf/NbOfTxs") == str(len(creditors))
    assert one(root, "./GrpHdr/CtrlSum") == one(root, "./PmtInf/CtrlSum") == control
    assert one(root, "./GrpHdr/InitgPty/Nm") == one(root, "./PmtInf/Dbtr/Nm") == name
    assert one(root, "./PmtInf/PmtMtd") == "TRF"
    assert one(root, "./PmtInf/ReqdExctnDt/Dt") == manifest["run_date"]
    account = clearing["CLEARINGHOUSE_CLEARING_ACCOUNT"]
    assert one(root, "./PmtInf/DbtrAcct/Id/Othr/Id") == account
    bank = clearing["CLEARINGHOUSE_CLEARING_BANK"]
    agent = "BICFI" if BIC.fullmatch(bank) else "Othr/Id"
    assert one(root, f"./PmtInf/DbtrAgt/FinInstnId/{agent}") == bank
    reference = CASE / "reference"
    directory = {f"H:{h['hcode']}": h for h in read_rows(reference / "hospitals.csv")}
    directory |= {f"F:{f['code']}": f for f in read_rows(reference / "funds.csv")}
    shown = ("./PmtId/EndToEndId", "./Amt/InstdAmt", "./Amt/InstdAmt/@Ccy", "./Cdtr/Nm",
             "./CdtrAcct/Id/Othr/Id")  # fmt: skip
    transactions = [
        [*(one(tx, path) for path in shown), tx.xpath("p:CdtrAgt", namespaces=NS)]
        for tx in root.xpath("p:PmtInf/p:CdtTrfTxInf", namespaces=NS)
    ]
    # Sorted by participant; the reference data gives nobody's bank, so no CdtrAgt.
    assert transactions == [
        [f"{run_id}-{who.replace(':', '')}", baht(net), "THB", directory[who]["name"],
         directory[who]["account"], []]
        for who, net in sorted(creditors)
    ]  # fmt: skip


# --- 1. the worked example's month close ------------------------------------------------------


def test_golden_close_of_the_worked_example(example: str, tmp_path: Path) -> None:
    out = tmp_path / "close-2026-10"
    said = settle(example, out, "2026-10", env=CLEARING)
    assert said.startswith("CH-2026-10 (CLOSE, settled): 40 obligations")
    for name in ("positions.csv", "transfers.csv", "obligations.csv"):
        assert (out / name).read_bytes() == (EXPECTED / name).read_bytes(), name

    obligations = read_rows(EXPECTED / "obligations.csv")
    run_of = dict.fromkeys(map(listing_key, obligations), "CH-2026-10")
    hospitals = hospital_rows(obligations, run_of, read_rows(EXPECTED / "claims.csv"))
    funds = fund_rows(obligations)
    assert sorted(p.name for p in (out / "statements").iterdir()) == sorted(
        [f"H_{h}.csv" for h in hospitals] + [f"F_{f}.csv" for f in funds]
    )
    nets = {p["participant"]: p for p in read_rows(EXPECTED / "positions.csv")}
    for hcode, rows in hospitals.items():
        path = out / "statements" / f"H_{hcode}.csv"
        total = check_hospital_statement(path, rows, mask_rejected_allowed=False)
        p = nets[f"H:{hcode}"]
        assert total[8:] == [p["gross_in"], p["gross_out"], "", p["net"]]
    for fund, rows in funds.items():
        total = check_fund_statement(out / "statements" / f"F_{fund}.csv", rows)
        p = nets[f"F:{fund}"]
        assert total[3:] == [p["gross_out"], p["gross_in"], p["net"]]

    manifest = check_manifest(out, "CH-2026-10", "CLOSE", "2026-10")
    assert manifest["period"] == "2026-10"
    assert manifest["clearing_account"] == {
        key: CLEARING[f"CLEARINGHOUSE_CLEARING_{key.upper()}"]
        for key in ("name", "account", "bank")
    }
    summary = json.loads((EXPECTED / "summary.json").read_text())["periods"]["2026-10"]
    totals = manifest["control_totals"]
    assert (totals["obligations_gross"], totals["netted"]) == (summary["gross"], summary["netted"])
    # Both drops were priced with the case's reference data: version 2 (init loads version 1).
    assert [v["id"] for v in manifest["reference_versions"]] == [2]
    check_pain(out, manifest, CLEARING)


def test_nopay_rows_show_the_allowed_of_claims_csv(example: str, tmp_path: Path) -> None:
    settle(example, tmp_path / "close", "2026-10")
    shown = {
        (r["claim_hcode"], r["claim_type"], r["claim_key"], r["version"]): r["allowed"]
        for path in (tmp_path / "close" / "statements").glob("H_*.csv")
        for r in read_rows(path)
        if r["kind"] == "NOPAY"
    }
    claims = {claim_of(c): c for c in read_rows(EXPECTED / "claims.csv")}
    assert sorted(shown) == sorted(k for k, c in claims.items() if c["status"] in ("C", "D"))
    assert shown == {key: claims[key]["allowed"] for key in shown}  # C versions: 0.00


# --- 2. a run is final ------------------------------------------------------------------------


def test_asking_again_rewrites_the_same_bytes_and_changes_nothing(
    example: str, tmp_path: Path
) -> None:
    out = tmp_path / "close"
    settle(example, out, "2026-10", env=CLEARING)
    first = snapshot(out)
    counts = run_table_counts(example)
    assert (counts["settlement_run"], counts["settled periods"]) == (1, 1)

    # Since then another clearing account is configured and newer reference data gives 10670
    # another account: the stored run's values (payment file included) are what comes back.
    other = {"CLEARINGHOUSE_CLEARING_NAME": "Someone Else", "CLEARINGHOUSE_CLEARING_ACCOUNT": "9",
             "CLEARINGHOUSE_CLEARING_BANK": "006"}  # fmt: skip
    changed = tmp_path / "reference-v3"
    shutil.copytree(CASE / "reference", changed)
    hospitals = changed / "hospitals.csv"
    before = hospitals.read_text(encoding="utf-8")
    hospitals.write_text(before.replace("0401206705", "0401206999"), encoding="utf-8")
    ok(example, "reference", "load", str(changed))

    assert "stored run" in settle(example, out, "2026-10", env=other)
    assert snapshot(out) == first
    shutil.rmtree(out)
    settle(example, out, "2026-10", env=other)
    assert snapshot(out) == first
    settle(example, tmp_path / "elsewhere", "2026-10")
    assert snapshot(tmp_path / "elsewhere") == first
    assert run_table_counts(example) == counts


# --- 3. nightly runs, then the close ---------------------------------------------------------


def test_nightly_runs_then_the_close(ready: str, tmp_path: Path) -> None:
    db = ready
    # Ingested out of received order, so the 2026-10-02 obligations carry the higher ids.
    ingest(db, DROP_10670, "10670", "2026-10-03")
    ingest(db, DROP_10713, "10713", "2026-10-02")
    ingest(db, DropBuilder().write(tmp_path / "drop-1020"), "10713", "2026-10-20")
    example_owed = read_rows(EXPECTED / "obligations.csv")
    header = (EXPECTED / "obligations.csv").read_text(encoding="utf-8").split("\n", 1)[0]

    runs: dict[str, Path] = {}
    for day, hcode in (("2026-10-02", "10713"), ("2026-10-03", "10670")):
        runs[f"CH-{day}"] = out = tmp_path / f"nightly-{day}"
        assert settle(db, out, day, env=CLEARING).startswith(f"CH-{day} (NIGHTLY, settled)")
        # Exactly the obligations received up to that day and not settled before (a subset of
        # a sorted file stays sorted).
        chosen = [",".join(listing_key(o)) + "\n" for o in example_owed if o["hcode"] == hcode]
        written = (out / "obligations.csv").read_text(encoding="utf-8")
        assert written == "".join([header + "\n", *chosen])
        check_positions(out)
        manifest = check_manifest(out, f"CH-{day}", "NIGHTLY", day)
        assert manifest["period"] is None
        check_pain(out, manifest, CLEARING)
        assert not (out / "statements").exists()

    # Asking for a nightly again: the same bytes, nothing new recorded.
    first, counts = snapshot(runs["CH-2026-10-02"]), run_table_counts(db)
    assert "stored run" in settle(db, runs["CH-2026-10-02"], "2026-10-02", env=CLEARING)
    assert (snapshot(runs["CH-2026-10-02"]), run_table_counts(db)) == (first, counts)

    # A night with nothing new: an empty run, no payment file (not even a stale one in DIR).
    quiet = tmp_path / "nightly-2026-10-04"
    quiet.mkdir()
    shutil.copy(runs["CH-2026-10-03"] / "pain.001.xml", quiet / "pain.001.xml")
    assert "0 obligations" in settle(db, quiet, "2026-10-04")
    assert (quiet / "positions.csv").read_text() == "participant,gross_in,gross_out,net\n"
    assert (quiet / "transfers.csv").read_text() == "payer,payee,amount\n"
    assert not (quiet / "pain.001.xml").exists()
    check_manifest(quiet, "CH-2026-10-04", "NIGHTLY", "2026-10-04")

    # The close takes the rest: the two claims of the drop received on 2026-10-20.
    runs["CH-2026-10"] = close = tmp_path / "close"
    settle(db, close, "2026-10")
    assert sorted([o["payer"], o["payee"], o["kind"], *claim_of(o)]
                  for o in read_rows(close / "obligations.csv")) == [
        ["F:UCS", "H:10713", "CLAIM", "10713", "IP", "691000001", "1"],
        ["F:UCS", "H:10713", "CLAIM", "10713", "OP", "6910000001", "1"],
    ]  # fmt: skip
    check_positions(close)
    check_manifest(close, "CH-2026-10", "CLOSE", "2026-10")

    # Every obligation in the database is in exactly one span (plain SQL) ...
    covering = query(
        db,
        "SELECT o.id, COUNT(s.first_id) FROM obligation o LEFT JOIN run_span s "
        "ON o.id BETWEEN s.first_id AND s.last_id GROUP BY o.id",
    )
    assert len(covering) == 24 + 16 + 2
    assert {count for _, count in covering} == {1}
    # ... and in exactly one run's obligations.csv.
    month = [o for out in runs.values() for o in read_rows(out / "obligations.csv")]
    listed = Counter(map(listing_key, month))
    assert len(listed) == len(covering) and set(listed.values()) == {1}

    # The month's statements cover every run: each obligation row names its run, and each TOTAL
    # is the sum of the participant's positions over the month's runs.
    run_of = {
        listing_key(o): run for run, out in runs.items() for o in read_rows(out / "obligations.csv")
    }
    summed: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for out in runs.values():
        for p in read_rows(out / "positions.csv"):
            for i, column in enumerate(("gross_in", "gross_out", "net")):
                summed[p["participant"]][i] += satang(p[column])
    statements = close / "statements"
    project = [0, 1, 2, 3, 4, 8, 9, 10]  # kind, claim identity, received, paid, run
    for hcode, rows in hospital_rows(month, run_of, []).items():
        shown = read_lists(statements / f"H_{hcode}.csv")
        owed = [[r[i] for i in project] for r in shown if r[0] not in ("NOPAY", "TOTAL")]
        assert sorted(owed) == sorted([r[i] for i in project] for r in rows), hcode
        gross_in, gross_out, net = summed[f"H:{hcode}"]
        assert shown[-1][8:] == [baht(gross_in), baht(gross_out), "", baht(net)]
    runs_shown = {r[10] for r in read_lists(statements / "H_10713.csv") if r[0] == "CLAIM"}
    assert runs_shown == {"CH-2026-10-02", "CH-2026-10"}
    for fund, rows in fund_rows(month).items():
        total = check_fund_statement(statements / f"F_{fund}.csv", rows)
        gross_in, gross_out, net = summed[f"F:{fund}"]
        assert total[3:] == [baht(gross_out), baht(gross_in), baht(net)]
    # NOPAY rows: the C and D versions of both example drops, nothing of the clean late drop.
    nopay = {
        tuple(r[1:5]) for p in statements.glob("H_*.csv") for r in read_lists(p) if r[0] == "NOPAY"
    }
    claims = read_rows(EXPECTED / "claims.csv")
    assert nopay == {claim_of(c) for c in claims if c["status"] in ("C", "D")}


# --- 4. a correction in the next month ----------------------------------------------------------


def test_a_night_with_nothing_new_settles_nothing(ready: str, tmp_path: Path) -> None:
    db = ready
    ingest(db, DROP_10713, "10713", "2026-10-02")
    first = settle(db, tmp_path / "n2", "2026-10-02", env=CLEARING)
    assert first.startswith("CH-2026-10-02 (NIGHTLY, settled): 24 obligations")
    # Every candidate was settled by that one run: the next night has no member.
    again = settle(db, tmp_path / "n3", "2026-10-03", env=CLEARING)
    assert again.startswith("CH-2026-10-03 (NIGHTLY, settled): 0 obligations")
    assert (tmp_path / "n3" / "obligations.csv").read_text(encoding="utf-8").count("\n") == 1
    assert not (tmp_path / "n3" / "pain.001.xml").exists()
    assert query(db, "SELECT COUNT(*) FROM run_span") == [(1,)]


def test_a_correction_reverses_in_the_period_of_the_correction(ready: str, tmp_path: Path) -> None:
    db = ready
    september = served_in_september(DropBuilder(ip=False))
    ingest(db, september.write(tmp_path / "sep"), "10713", "2026-09-10")
    sep = tmp_path / "close-2026-09"
    settle(db, sep, "2026-09")
    [original] = read_rows(sep / "obligations.csv")
    key = ["10713", "OP", DropBuilder().key("OP")]
    # reference/: fee 55020 at 50.00, drug 100011 at 0.35 a unit, 10 units: 53.50.
    assert list(original.values()) == ["F:UCS", "H:10713", "53.50", "CLAIM", *key, "1"]
    september_files = snapshot(sep)

    # The correction, received in October, drops the drug line: 50.00 instead of 53.50.
    fixed = september.copy().remove("DRU", "OP").remove("CHA", "OP", row=1)
    ingest(db, fixed.change("CHT", "OP", TOTAL="50.00").write(tmp_path / "oct"), "10713",
           "2026-10-05", corrections=True)  # fmt: skip
    stored = query(db, "SELECT kind, version, period FROM obligation")
    assert sorted(stored) == [("CLAIM", 1, "2026-09"), ("CLAIM", 2, "2026-10"),
                              ("REVERSAL", 1, "2026-10")]  # fmt: skip

    oct_ = tmp_path / "close-2026-10"
    settle(db, oct_, "2026-10", env=CLEARING)
    assert read_lists(oct_ / "obligations.csv") == [
        ["F:UCS", "H:10713", "50.00", "CLAIM", *key, "2"],
        ["H:10713", "F:UCS", "53.50", "REVERSAL", *key, "1"],  # the payee pays back version 1
    ]
    check_positions(oct_)
    assert read_lists(oct_ / "transfers.csv") == [
        ["CH", "F:UCS", "3.50"],
        ["H:10713", "CH", "3.50"],
    ]
    manifest = check_manifest(oct_, "CH-2026-10", "CLOSE", "2026-10")
    check_pain(oct_, manifest, CLEARING)  # the fund is the creditor: its name and account
    assert read_lists(oct_ / "statements" / "H_10713.csv") == [
        ["REVERSAL", *key, "1", "A", "", "53.50", "0.00", "53.50", "CH-2026-10", ""],
        ["CLAIM", *key, "2", "A", "", "50.00", "50.00", "0.00", "CH-2026-10", ""],
        ["TOTAL", *[""] * 7, "50.00", "53.50", "", "-3.50"],
    ]
    assert read_lists(oct_ / "statements" / "F_UCS.csv") == [
        ["10713", "CLAIM", "1", "50.00", "0.00", ""],
        ["10713", "REVERSAL", "1", "0.00", "53.50", ""],
        ["TOTAL", "", "2", "50.00", "53.50", "3.50"],
    ]

    # A drop received in September after both closes lands in the next open month ...
    late = DropBuilder(op=False, ip=False).add_op_claim("L", seq="6910000002")
    ingest(db, served_in_september(late, "L", "20260920").write(tmp_path / "late"), "10713",
           "2026-09-28")  # fmt: skip
    assert query(db, "SELECT period FROM obligation WHERE version = 1 AND kind = 'CLAIM' "
                     "ORDER BY id") == [("2026-09",), ("2026-11",)]  # fmt: skip
    # ... and nothing done later changes the September files.
    settle(db, sep, "2026-09")
    assert snapshot(sep) == september_files
    settle(db, tmp_path / "again", "2026-09")
    assert snapshot(tmp_path / "again") == september_files


# --- 5. refusals and exit statuses ------------------------------------------------------------


def assert_refused(result: Result, code: int, *words: str) -> None:
    """Exit ``code``, one line on stderr naming ``words``, no traceback, nothing on stdout."""
    assert result.exit_code == code, (result.output, result.exception)
    assert isinstance(result.exception, SystemExit)  # no other exception escaped
    assert result.stdout == "" and "Traceback" not in result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith("clearinghouse: ") and all(w in line for w in words), line


def test_refusals_exit_2_with_one_line(ready: str, tmp_path: Path) -> None:
    db, out = ready, tmp_path / "out"
    today = dt.datetime.now(ZoneInfo("Asia/Bangkok")).date()
    for day in (today.isoformat(), (today + dt.timedelta(days=1)).isoformat()):
        assert_refused(invoke(db, "settle", "--through", day, "--out", str(out)), 2, day)
    for month in (today.strftime("%Y-%m"), f"{today.year + 1}-01"):
        assert_refused(invoke(db, "settle", "--period", month, "--out", str(out)), 2, month)
    for both_or_neither in (["--through", "2026-10-01", "--period", "2026-09"], []):
        result = invoke(db, "settle", *both_or_neither, "--out", str(out))
        assert_refused(result, 2, "--through", "--period")
    for bad in ("2026-13", "2026-00", "2026-1", "202610", "2026-10-01", "Oct 2026"):
        assert_refused(invoke(db, "settle", "--period", bad, "--out", str(out)), 2, bad)
    # A --through that is no date is click's usage error: exit 2, no traceback.
    result = invoke(db, "settle", "--through", "2026-02-30", "--out", str(out))
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit)
    assert "--through" in result.stderr and "Traceback" not in result.stderr
    assert run_table_counts(db)["settlement_run"] == 0
    assert files_in(out) == []


def test_an_out_that_is_a_file_is_bad_usage(ready: str, tmp_path: Path) -> None:
    taken = tmp_path / "taken"
    taken.write_text("not a folder\n")
    result = invoke(ready, "settle", "--period", "2026-10", "--out", str(taken))
    assert_refused(result, 2, str(taken))
    assert run_table_counts(ready)["settlement_run"] == 0


def test_an_earlier_open_month_blocks_the_close(ready: str, tmp_path: Path) -> None:
    db = ready
    september = served_in_september(DropBuilder(ip=False)).write(tmp_path / "sep")
    ingest(db, september, "10713", "2026-09-10")
    ingest(db, DropBuilder(op=False).write(tmp_path / "oct"), "10713", "2026-10-20")
    out = tmp_path / "close-2026-10"
    # Through a real process: exit 2, one line naming the open month, no traceback.
    code, stdout, stderr = finish(spawn(db, "settle", "--period", "2026-10", "--out", str(out),
                                        cwd=tmp_path))  # fmt: skip
    assert (code, stdout) == (2, ""), stderr
    [line] = stderr.splitlines()
    assert "2026-09" in line and "Traceback" not in stderr
    assert run_table_counts(db)["settlement_run"] == 0
    assert files_in(out) == []

    settle(db, tmp_path / "close-2026-09", "2026-09")
    assert "CH-2026-10 (CLOSE, settled): 1 obligations" in settle(db, out, "2026-10")


def test_a_run_that_cannot_pay_a_creditor_exits_1_and_keeps_nothing(
    example: str, tmp_path: Path
) -> None:
    # Newer reference data without hospital 10670: a net creditor without a bank account.
    reference = tmp_path / "reference-without-10670"
    shutil.copytree(CASE / "reference", reference)
    hospitals = reference / "hospitals.csv"
    lines = hospitals.read_text(encoding="utf-8").splitlines(keepends=True)
    hospitals.write_text("".join(x for x in lines if not x.startswith("10670,")), encoding="utf-8")
    ok(example, "reference", "load", str(reference))
    out = tmp_path / "close"
    assert_refused(invoke(example, "settle", "--period", "2026-10", "--out", str(out)), 1, "10670")
    assert run_table_counts(example) == dict.fromkeys([*RUN_TABLES, "settled periods"], 0)
    assert files_in(out) == []


# --- 6. runs are final; spans never overlap -------------------------------------------------------


def test_run_tables_refuse_update_and_delete_and_overlapping_spans(
    example: str, tmp_path: Path
) -> None:
    settle(example, tmp_path / "nightly", "2026-10-02")
    before = run_table_counts(example)
    assert all(before[table] > 0 for table in RUN_TABLES)
    [(first, last, run)] = query(example, "SELECT first_id, last_id, run FROM run_span")
    assert (first, last) == (1, 24)  # the 24 obligations of the drop received 2026-10-02
    columns = {"settlement_run": "kind", "run_span": "last_id", "run_position": "net",
               "run_creditor": "account"}  # fmt: skip
    insert = text("INSERT INTO run_span (first_id, last_id, run) VALUES (:f, :l, :r)")
    engine = make_engine(example)
    try:
        for table, column in columns.items():
            for statement in (f"UPDATE {table} SET {column} = {column}", f"DELETE FROM {table}"):
                with pytest.raises(DBAPIError, match="final"), engine.begin() as conn:
                    conn.execute(text(statement))
        if example.startswith("postgresql"):
            for table in RUN_TABLES:
                with pytest.raises(DBAPIError, match="final"), engine.begin() as conn:
                    conn.execute(text(f"TRUNCATE {table} CASCADE"))
        for low, high in ((last, last + 5), (first + 1, first + 2), (last - 1, last + 3)):
            with pytest.raises(DBAPIError), engine.begin() as conn:
                conn.execute(insert, {"f": low, "l": high, "r": run})
        # Refused for the overlap, not for any span: an adjacent one goes in (rolled back).
        with engine.connect() as conn, conn.begin() as transaction:
            conn.execute(insert, {"f": last + 1, "l": last + 5, "r": run})
            transaction.rollback()
    finally:
        engine.dispose()
    assert run_table_counts(example) == before


# --- 7. PostgreSQL: concurrent runs and the write lock ------------------------------------------


#: SQLite serializes writers by itself (BEGIN IMMEDIATE); the advisory lock is PostgreSQL's.
postgresql_only = pytest.mark.parametrize(
    "db", [pytest.param("postgresql", marks=pytest.mark.postgresql)], indirect=True
)


@postgresql_only
def test_two_closes_at_once_record_one_run(example: str, tmp_path: Path) -> None:
    outs = [tmp_path / "a", tmp_path / "b"]
    started = [spawn(example, "settle", "--period", "2026-10", "--out", str(o), cwd=tmp_path)
               for o in outs]  # fmt: skip
    results = [finish(process) for process in started]
    assert [code for code, _, _ in results] == [0, 0], results
    said = [stdout for _, stdout, _ in results]
    assert sorted("stored run" in s for s in said) == [False, True], said
    assert sum("(CLOSE, settled)" in s for s in said) == 1, said
    assert run_table_counts(example)["settlement_run"] == 1
    assert snapshot(outs[0]) == snapshot(outs[1])
    assert (outs[0] / "obligations.csv").read_bytes() == (EXPECTED / "obligations.csv").read_bytes()


def lock_waiters(engine: Engine) -> int:
    """How many sessions of this database wait for an advisory lock."""
    sql = (
        "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
        "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    )
    with engine.connect() as conn:
        return int(conn.execute(text(sql)).scalar_one())


def wait_until(condition: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


@postgresql_only
def test_a_run_waits_for_the_lock_and_a_later_ingest_goes_to_a_later_run(
    ready: str, tmp_path: Path
) -> None:
    db = ready
    ingest(db, DROP_10713, "10713", "2026-10-02")
    nightly = tmp_path / "nightly-2026-10-03"
    engine = make_engine(db)
    try:
        with engine.connect() as holder:
            transaction = holder.begin()
            holder.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": WRITE_LOCK_KEY})
            run = spawn(
                db, "settle", "--through", "2026-10-03", "--out", str(nightly), cwd=tmp_path
            )
            try:
                wait_until(lambda: lock_waiters(engine) == 1)
                # Received on 2026-10-03, due by the nightly's date, but committed after the
                # run read its set: it must go to a later run.
                late = spawn(db, "ingest", str(DROP_10670), "--hcode", "10670", "--received",
                             "2026-10-03", cwd=tmp_path)  # fmt: skip
                wait_until(lambda: lock_waiters(engine) == 2)
                time.sleep(1)
                assert run.poll() is None and late.poll() is None  # both still waiting
                assert run_table_counts(db)["settlement_run"] == 0
            finally:
                transaction.rollback()  # releases the lock: the run queued first goes first
            (run_code, run_out, run_err), (late_code, late_out, late_err) = (
                finish(run),
                finish(late),
            )
    finally:
        engine.dispose()
    assert (run_code, late_code) == (0, 0), (run_err, late_err)
    assert "CH-2026-10-03 (NIGHTLY, settled): 24 obligations" in run_out
    assert "ingested 23 claims" in late_out
    owed = read_rows(EXPECTED / "obligations.csv")
    taken = [listing_key(o) for o in read_rows(nightly / "obligations.csv")]
    assert taken == [listing_key(o) for o in owed if o["hcode"] == "10713"]
    settle(db, tmp_path / "close", "2026-10")
    rest = [listing_key(o) for o in read_rows(tmp_path / "close" / "obligations.csv")]
    assert rest == [listing_key(o) for o in owed if o["hcode"] == "10670"]
