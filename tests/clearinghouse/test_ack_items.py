"""``ack_items`` on both backends: the spec's first worked drop (16 files) ingested through the
CLI, its stored items read back with their codes and their claims' totals, and turned into the
FHIR acknowledgement (one ClaimResponse per claim version, the orphans in one outcome)."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, text

from clearinghouse.persistence.claims_store import ACK_ITEM_SCHEMA, ack_items, ack_rows
from clearinghouse.persistence.db import make_engine
from formats.fhir_ack import RULE_CODE_SYSTEM, claim_responses, fhir_json
from jobs.cli import cli

CASE = Path(__file__).parents[1] / "cases" / "two-drops"
DROP = CASE / "drops" / "10713" / "10713_16F_20261002_CM1"


def run(*args: str) -> None:
    result = CliRunner().invoke(cli, list(args), obj={}, catch_exceptions=False)
    assert result.exit_code == 0, result.output


@pytest.fixture
def stored(db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Engine:
    monkeypatch.chdir(tmp_path)
    run("--db", db, "init")
    run("--db", db, "reference", "load", str(CASE / "reference"))
    run("--db", db, "ingest", str(DROP), "--hcode", "10713", "--received", "2026-10-02",
        "--ack-dir", str(tmp_path / "ack"))  # fmt: skip
    return make_engine(db)


def _read(engine: Engine) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, Any]]:
    try:
        with engine.connect() as conn:
            drop_id, sha = conn.execute(text("SELECT id, sha256 FROM claim_drop")).one()
            rows, items = ack_rows(conn, drop_id), ack_items(conn, drop_id)
            stored = {
                "items": conn.execute(text("SELECT count(*) FROM item")).scalar_one(),
                "claims": conn.execute(
                    text("SELECT claim_key, charged, allowed FROM claim_version")
                ).all(),
                "sha": sha,
            }
    finally:
        engine.dispose()
    return rows, items, stored


def test_ack_items_reads_every_item_with_its_codes_and_claim_totals(stored: Engine) -> None:
    rows, items, db = _read(stored)
    assert items.schema == ACK_ITEM_SCHEMA
    lines = items.filter(pl.col("item_file").is_not_null())
    assert lines.height == db["items"] > 0
    # every claim version of the drop is there, items or not, with its stored totals
    claims = items.unique(["claim_type", "claim_key", "version"])
    assert claims.height == rows.filter(pl.col("claim_key").is_not_null()).height
    totals = {k: (c, a) for k, c, a in db["claims"]}
    for r in claims.iter_rows(named=True):
        assert (r["claim_charged"], r["claim_allowed"]) == totals[r["claim_key"]]
    # item codes sit on their item, claim codes on the claim (the CSV has their union)
    coded = lines.filter(pl.col("item_codes") != "")
    assert dict(zip(coded["claim_key"], coded["item_codes"], strict=True)) == {
        "6900000023": "C04",
        "6900000024": "C05",
        "6900000025": "B07",
    }
    assert set(coded["kind"]) <= {"ADP", "DRU"}
    assert (coded["allowed"] == 0).all()  # an item code prices the item at 0
    by_key = {r["claim_key"]: r for r in claims.iter_rows(named=True)}
    assert by_key["6900000012"]["claim_codes"] == "E03"
    assert by_key["6900000018"]["claim_codes"] == "C01;E04"
    assert by_key["6900000023"]["claim_codes"] == ""
    csv_codes = dict(zip(rows["claim_key"], rows["codes"], strict=True))
    for key, r in by_key.items():
        on_items = coded.filter(pl.col("claim_key") == key)["item_codes"].to_list()
        union = set(filter(None, r["claim_codes"].split(";"))) | set(on_items)
        assert ";".join(sorted(union)) == csv_codes[key]
    assert lines["charged"].null_count() == 0
    assert set(lines["item_file"]) <= {"ADP.txt", "DRU.txt"}


def test_the_stored_drop_as_a_fhir_acknowledgement(stored: Engine) -> None:
    rows, items, db = _read(stored)
    bundle = claim_responses(
        rows, items, hcode="10713", received=dt.date(2026, 10, 2),
        sha256=db["sha"], drop=DROP.name,
    )  # fmt: skip
    parsed = json.loads(fhir_json(bundle), parse_float=Decimal)
    resources = [e["resource"] for e in parsed["entry"]]
    responses = [r for r in resources if r["resourceType"] == "ClaimResponse"]
    claim_rows = rows.filter(pl.col("claim_key").is_not_null())
    assert [r["request"]["identifier"]["value"] for r in responses] == claim_rows[
        "claim_key"
    ].to_list()
    outcomes = [r["outcome"] for r in responses]
    statuses = claim_rows["status"].to_list()
    assert outcomes == ["error" if s == "C" else "complete" for s in statuses]
    [orphans] = [r for r in resources if r["resourceType"] == "OperationOutcome"]
    assert [i["details"]["coding"][0]["code"] for i in orphans["issue"]] == ["S05", "S05"]
    # every A claim's benefit is its stored allowed amount, to the satang
    allowed = {k: a for k, _, a in db["claims"]}
    for response, status in zip(responses, statuses, strict=True):
        totals = {
            t["category"]["coding"][0]["code"]: t["amount"]["value"] for t in response["total"]
        }
        key = response["request"]["identifier"]["value"]
        if status == "A":
            assert totals["benefit"] == Decimal(allowed[key]) / 100
    c04 = next(r for r in responses if r["request"]["identifier"]["value"] == "6900000023")
    reasons = [
        a["reason"]["coding"][0]
        for item in c04["item"]
        for a in item["adjudication"]
        if "reason" in a
    ]
    assert [(c["system"], c["code"]) for c in reasons] == [(RULE_CODE_SYSTEM, "C04")]
