"""explain and export claims through the CLI on the worked example (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from jobs.cli import cli

CASE = Path(__file__).parent.parent / "cases" / "two-drops"


def run(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(cli, list(args), obj={}, catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result.output


@pytest.fixture
def example(db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.chdir(tmp_path)
    run("--db", db, "init")
    run("--db", db, "reference", "load", str(CASE / "reference"))
    run(
        "--db",
        db,
        "ingest",
        str(CASE / "drops/10670/10670_16F_20261003_KK1.zip"),
        "--hcode",
        "10670",
        "--received",
        "2026-10-03",
    )
    return db


def test_explain_inpatient_shows_the_arithmetic(example: str) -> None:
    text = run("--db", example, "explain", "10670", "IP", "690000009")
    assert "status A" in text and "IPD6910.txt line 2" in text
    assert "LOS 14, day case no" in text
    assert "-> 08030" in text
    assert "AdjRW: normal stay: rw = 3.2150 -> 3.2150" in text
    assert "base rate UCS * IP: 8,350.00 per AdjRW (valid 2024-10-01..2026-10-15)" in text
    # 3.2150 x 8,350.00 = 26,845.25; + the DRG-exempt item 15,000.00 = 41,845.25
    assert "DRG amount = 3.2150 x 8,350.00 = 26,845.25; DRG-exempt items 15,000.00" in text
    assert "Compensation: RTA pays min(charged, cap) = 30,000.00 (cap applied)" in text
    assert "Payers: RTA 30,000.00; UCS 11,845.25" in text


def test_explain_json_and_denial(example: str) -> None:
    info = json.loads(run("--db", example, "explain", "10670", "OP", "6900000061", "--json"))
    assert info["claim"]["status"] == "D"
    assert [c["code"] for c in info["codes"]] == ["E03"]
    assert info["derivation"]["referral"] == "no referral from main hospital: E03"
    assert info["payers"] == []


def test_explain_unknown_claim_exits_2(example: str) -> None:
    result = CliRunner().invoke(cli, ["--db", example, "explain", "10670", "OP", "nope"], obj={})
    assert result.exit_code == 2
    assert "no claim 10670 OP nope has been received" in result.output


def test_parquet_export_has_the_csv_values_typed(example: str, tmp_path: Path) -> None:
    run("--db", example, "export", "claims", "--period", "2026-10", "--out", "c.csv")
    run("--db", example, "export", "claims", "--period", "2026-10", "--out", "c.parquet")
    csv = pl.read_csv("c.csv", infer_schema=False)
    parquet = pl.read_parquet("c.parquet")
    assert parquet.columns == csv.columns
    assert parquet.schema["charged"] == pl.Decimal(18, 2)
    assert parquet.schema["refer_charge"] == pl.Decimal(18, 2)
    assert parquet.schema["received"] == pl.Date()
    assert parquet.schema["version"] == pl.Int64()
    row = parquet.filter(pl.col("claim_key") == "690000009").row(0, named=True)
    assert row["allowed"] == Decimal("41845.25")
    assert row["adjrw"] == Decimal("3.2150")
    assert parquet["claim_key"].to_list() == csv["claim_key"].to_list()


def test_export_unknown_period_exits_2(example: str) -> None:
    result = CliRunner().invoke(
        cli, ["--db", example, "export", "claims", "--period", "2030-01", "--out", "x.csv"], obj={}
    )
    assert result.exit_code == 2
    assert "period 2030-01 is unknown" in result.output
