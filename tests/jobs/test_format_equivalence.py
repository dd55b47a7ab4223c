"""The same claims sent in every format give the same outcomes and the same money.

``generate --portable`` draws claims every format can carry; the same seed written as the 16
files, as CIPN + ClaimRec (inpatient and outpatient: together the same claims) and as FHIR
JSON and FHIR XML is ingested through the CLI into a database of its own, the month is closed,
and per claim identity the export (status, codes, DRG, AdjRW, charged, allowed, payers,
referral charge) and the settlement files (positions, transfers, obligations, statements) must
be the same. Acknowledgement file/line and drop grouping differ by nature and are not compared.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from jobs.cli import cli
from jobs.generate import generate

AS_OF = dt.date(2026, 10, 31)
SEED, CLAIMS, HOSPITALS, ERRORS = 29, 600, 2, 0.2
#: Each way of sending the claims: the formats written into one inbox.
WAYS = {
    "16files": ("16files",),
    "xml": ("cipn", "claimrec"),
    "fhir-json": ("fhir-json",),
    "fhir-xml": ("fhir-xml",),
}
#: The settlement files that must be equal (pain.001.xml and manifest.json carry a timestamp).
SETTLEMENT = ("positions.csv", "transfers.csv", "obligations.csv")


def run(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args), obj={}, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def inboxes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One generated folder per format (reference data identical across them)."""
    made = {}
    for fmt in ("16files", "cipn", "claimrec", "fhir-json", "fhir-xml"):
        out = tmp_path_factory.mktemp(fmt)
        generate(out, claims=CLAIMS, hospitals=HOSPITALS, seed=SEED, error_rate=ERRORS,
                 as_of=AS_OF, fmt=fmt, portable=True)  # fmt: skip
        made[fmt] = out
    return made


def _send(db: str, way: str, inboxes: dict[str, Path], work: Path) -> tuple[pl.DataFrame, Path]:
    """Ingest one way of sending into ``db``, close the month: the export and the run folder."""
    first = inboxes[WAYS[way][0]]
    run("--db", db, "init")
    run("--db", db, "reference", "load", str(first / "reference"))
    for fmt in WAYS[way]:
        output = run("--db", db, "ingest", str(inboxes[fmt] / "inbox"), "--received",
                     AS_OF.isoformat(), "--ack-dir", str(work / "acks" / fmt))  # fmt: skip
        # Every drop written in the format was read as that format (faults aside).
        kinds = [json.loads(p.read_text())["format"] for p in (work / "acks" / fmt).glob("*.json")
                 if not p.name.endswith(".fhir.json")]  # fmt: skip
        assert kinds.count(fmt) >= len(kinds) - 6, (fmt, kinds)
        assert " ingested " in output
    run("--db", db, "export", "claims", "--period", "2026-10", "--out", str(work / "claims.csv"))
    run("--db", db, "settle", "--period", "2026-10", "--out", str(work / "close"))
    claims = pl.read_csv(work / "claims.csv", infer_schema=False)
    return claims.sort("hcode", "claim_type", "claim_key", "version"), work / "close"


def test_every_format_gives_the_same_outcomes_and_settlement(
    db: str, more_dbs: Callable[[], str], inboxes: dict[str, Path], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.chdir(tmp_path)
    for reference in ("cipn", "claimrec", "fhir-json", "fhir-xml"):
        same = inboxes[reference] / "reference"
        for csv in (inboxes["16files"] / "reference").glob("*.csv"):
            assert (same / csv.name).read_bytes() == csv.read_bytes(), csv.name
    results = {}
    for way in WAYS:
        work = tmp_path / way
        # One fresh database per way.
        target = db if way == "16files" else more_dbs()
        results[way] = _send(target, way, inboxes, work)
    base, base_close = results["16files"]
    assert base.height > 300
    assert set(base["status"]) == {"A", "D", "C"}  # the faults give every outcome
    for way, (claims, close) in results.items():
        assert claims.columns == base.columns
        assert claims.height == base.height, way
        differ = claims.join(base, on=["hcode", "claim_type", "claim_key", "version"],
                             how="full", suffix="_16", nulls_equal=True).filter(
            pl.any_horizontal(pl.col(c).ne_missing(pl.col(f"{c}_16"))
                              for c in base.columns if c not in ("received",))
        )  # fmt: skip
        assert differ.is_empty(), (way, differ)
        for name in SETTLEMENT:
            assert (close / name).read_bytes() == (base_close / name).read_bytes(), (way, name)
        statements = sorted(p.name for p in (close / "statements").iterdir())
        assert statements == sorted(p.name for p in (base_close / "statements").iterdir())
        for name in statements:
            assert (close / "statements" / name).read_bytes() == (
                base_close / "statements" / name
            ).read_bytes(), (way, name)
