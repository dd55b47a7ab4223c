"""Obligations written at ingest: the worked example's, immutability, reversals (both databases)."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from clearinghouse.money import format_baht
from clearinghouse.persistence.bulk import read_frame
from clearinghouse.persistence.db import make_engine
from jobs.cli import cli

CASE = Path(__file__).parent.parent / "cases" / "two-drops"
DROP_10713 = CASE / "drops/10713/10713_16F_20261002_CM1"
COLUMNS = ["payer", "payee", "amount", "kind", "hcode", "claim_type", "claim_key", "version"]
SCHEMA = pl.Schema(
    {
        "id": pl.Int64(), "payer": pl.String(), "payee": pl.String(), "amount": pl.Int64(),
        "kind": pl.String(), "hcode": pl.String(), "claim_type": pl.String(),
        "claim_key": pl.String(), "version": pl.Int64(), "period": pl.String(),
        "reverses_id": pl.Int64(),
    }
)  # fmt: skip


def run(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args), obj={}, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def obligations(db: str) -> pl.DataFrame:
    engine = make_engine(db)
    try:
        with engine.connect() as conn:
            return read_frame(
                conn, text(f"SELECT {', '.join(SCHEMA.names())} FROM obligation"), schema=SCHEMA
            )
    finally:
        engine.dispose()


@pytest.fixture
def loaded(db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.chdir(tmp_path)
    run("--db", db, "init")
    run("--db", db, "reference", "load", str(CASE / "reference"))
    return db


def test_worked_example_obligations(loaded: str) -> None:
    run("--db", loaded, "ingest", str(DROP_10713), "--hcode", "10713", "--received", "2026-10-02")
    run("--db", loaded, "ingest", str(CASE / "drops/10670/10670_16F_20261003_KK1.zip"),
        "--hcode", "10670", "--received", "2026-10-03")  # fmt: skip
    stored = obligations(loaded).sort(COLUMNS)
    expected = pl.read_csv(CASE / "expected" / "obligations.csv", infer_schema=False)
    shown = stored.with_columns(format_baht(pl.col("amount")), pl.col("version").cast(pl.String))
    assert shown.select(COLUMNS).rows() == expected.rows()
    assert set(stored["period"]) == {"2026-10"}


def test_obligations_are_never_updated_or_deleted(loaded: str) -> None:
    run("--db", loaded, "ingest", str(DROP_10713), "--hcode", "10713", "--received", "2026-10-02")
    engine = make_engine(loaded)
    try:
        for statement in ("UPDATE obligation SET amount = 0", "DELETE FROM obligation"):
            with pytest.raises(DBAPIError, match="never updated or deleted"), engine.begin() as c:
                c.execute(text(statement))
    finally:
        engine.dispose()
    # The 24 obligations of hospital 10713 in the spec's obligations.csv are all still there.
    assert obligations(loaded).height == 24


def test_corrections_reverse_the_replaced_version_once(loaded: str, tmp_path: Path) -> None:
    run("--db", loaded, "ingest", str(DROP_10713), "--hcode", "10713", "--received", "2026-10-02")
    first = obligations(loaded)
    # Received on the same day as the original, so every accepted claim stays accepted.
    for n, day in ((1, "2026-10-02"), (2, "2026-10-02")):
        again = tmp_path / f"again{n}"
        shutil.copytree(DROP_10713, again)
        with (again / "OPD.txt").open("a") as opd:
            opd.write("\n" * n)  # the same claims in other bytes: a new drop
        run("--db", loaded, "ingest", str(again), "--hcode", "10713", "--received", day,
            "--corrections")  # fmt: skip
    every = obligations(loaded)
    reversed_ = every.filter(pl.col("kind") == "REVERSAL")
    # Each correction reverses the previous version's CLAIM and REFER obligations, once each.
    assert reversed_["reverses_id"].n_unique() == reversed_.height == 2 * first.height
    targets = every.join(reversed_.select(id="reverses_id"), on="id", how="semi")
    assert sorted(targets["version"].unique()) == [1, 2]
    assert reversed_["amount"].sum() == 2 * first["amount"].sum()
    pairs = reversed_.join(every, left_on="reverses_id", right_on="id", suffix="_old")
    assert (pairs["payer"] == pairs["payee_old"]).all()
    assert (pairs["payee"] == pairs["payer_old"]).all()
    # Version 3 stands: what is owed in total equals version 1's obligations.
    signed = every.with_columns(
        pl.when(pl.col("kind") == "REVERSAL").then(-pl.col("amount")).otherwise("amount")
    )
    assert signed["amount"].sum() == first["amount"].sum()
