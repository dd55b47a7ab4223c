"""Golden cases per format (tests/cases/<format>/plan.json), end to end through the CLI on
SQLite and PostgreSQL: every acknowledgement written (CSV and, for FHIR, the ClaimResponse
bundle) and the period's claims export, compared byte for byte with the hand-checked files
under the case's ``expected/``; then the period's reconciliation finds no break."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from jobs.cli import cli

CASES = Path(__file__).parent.parent / "cases"
FORMAT_CASES = sorted(
    path.parent.name
    for path in CASES.glob("*/plan.json")
    if path.parent.name != "two-drops"  # the spec's example has its own test
)


def run(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args), obj={}, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    return result.output


def _twin(name: str) -> bool:
    return name.endswith(".json") and not name.endswith(".fhir.json")


@pytest.mark.parametrize("case", FORMAT_CASES)
def test_golden_case(db: str, case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = CASES / case
    plan = json.loads((folder / "plan.json").read_text(encoding="utf-8"))
    monkeypatch.chdir(tmp_path)
    run("--db", db, "init")
    run("--db", db, "reference", "load", os.path.normpath(folder / plan["reference"]))
    for step in plan["steps"]:
        extra = ["--hcode", step["hcode"]] if step.get("hcode") else []
        run("--db", db, "ingest", str(folder / step["path"]), *extra,
            "--received", step["received"], "--ack-dir", "acks")  # fmt: skip
    expected = folder / "expected"
    wanted = sorted(p.name for p in (expected / "acks").iterdir())
    # The JSON twins are checked by the ingest tests (their totals); not kept here.
    written = sorted(p.name for p in Path("acks").iterdir() if not _twin(p.name))
    assert written == wanted
    for name in wanted:
        assert (Path("acks") / name).read_bytes() == (expected / "acks" / name).read_bytes(), name
    run("--db", db, "export", "claims", "--period", plan["period"], "--out", "claims.csv")
    assert Path("claims.csv").read_bytes() == (expected / "claims.csv").read_bytes()
    # The auditors' recount reads every kept drop again in its own format: nothing breaks.
    audit = run("--db", db, "reconcile", "--period", plan["period"], "--out", "audit")
    assert "no breaks" in audit, audit
