"""Keys across drops (K01, K02, K03), versions and duplicate drops, through the CLI.

Each test runs on SQLite and PostgreSQL (the ``db`` fixture): ``init``, the worked example's
reference set, then drops built with ``DropBuilder`` ingested with ``clearinghouse ingest``;
the assertions read the acknowledgement CSVs (``hcode, claim_type, claim_key, version, status,
codes, file, line``) written into ``--ack-dir``. Received dates lie in 2026-11 (today is
2026-11-23); the claims were served in 2026-10.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner
from sqlalchemy import text

from clearinghouse.persistence.db import make_engine
from clearinghouse.rules.keys import HISTORY_SCHEMA, near_duplicates
from jobs.cli import cli
from tests.clearinghouse.drops import HCODE, OP_PERSON, OTHER_PERSON, DropBuilder

REFERENCE_DIR = Path(__file__).parents[1] / "cases" / "two-drops" / "reference"
RECEIVED = "2026-11-01"


def run(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args), obj={}, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def read_ack(path: Path) -> pl.DataFrame:
    return pl.read_csv(path, infer_schema=False).with_columns(
        pl.col("version", "line").cast(pl.Int64), pl.col("codes").fill_null("")
    )


class Clearinghouse:
    """A fresh clearinghouse on one backend; ``ingest`` returns the new acknowledgement."""

    def __init__(self, db: str, root: Path) -> None:
        self.db = db
        self.root = root
        self.ack_dir = root / "ack"
        self.written = 0

    def write(self, drop: DropBuilder) -> Path:
        self.written += 1
        return drop.write(self.root / "drops" / f"drop{self.written}")

    def ingest(
        self,
        drop: DropBuilder | Path,
        *,
        received: str = RECEIVED,
        corrections: bool = False,
        hcode: str = HCODE,
    ) -> pl.DataFrame:
        if isinstance(drop, DropBuilder):
            hcode = drop.hcode
            drop = self.write(drop)
        before = set(self.ack_dir.glob("*.csv"))
        args = ["--db", self.db, "ingest", str(drop), "--hcode", hcode, "--received", received]
        args += ["--ack-dir", str(self.ack_dir)]
        run(*args, *(["--corrections"] if corrections else []))
        [new] = set(self.ack_dir.glob("*.csv")) - before
        return read_ack(new)

    def scalar(self, sql: str) -> object:
        engine = make_engine(self.db)
        try:
            with engine.connect() as conn:
                return conn.execute(text(sql)).scalar_one()
        finally:
            engine.dispose()


@pytest.fixture
def house(db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Clearinghouse:
    monkeypatch.chdir(tmp_path)  # the raw store and default paths stay in the test's folder
    run("--db", db, "init")
    run("--db", db, "reference", "load", str(REFERENCE_DIR))
    return Clearinghouse(db, tmp_path)


def outcome(ack: pl.DataFrame, drop: DropBuilder, claim: str) -> tuple[int, str, str]:
    """``(version, status, codes)`` of one named claim in an acknowledgement."""
    [row] = ack.filter(
        pl.col("claim_type") == drop.claims[claim].kind, pl.col("claim_key") == drop.key(claim)
    ).iter_rows(named=True)
    return row["version"], row["status"], row["codes"]


def op_only() -> DropBuilder:
    return DropBuilder(ip=False)


# --- K01, K03 and versions --------------------------------------------------------------------


def test_same_key_again_is_k01_version_2(house: Clearinghouse) -> None:
    first = DropBuilder()
    ack = house.ingest(first)
    assert outcome(ack, first, "OP") == (1, "A", "")
    assert outcome(ack, first, "IP") == (1, "A", "")

    again = first.copy().change("OPD", "OP", CLINIC="02")  # other bytes, same keys
    ack = house.ingest(again, received="2026-11-02")
    assert outcome(ack, again, "OP") == (2, "C", "K01")
    assert outcome(ack, again, "IP") == (2, "C", "K01")


def test_claim_whose_latest_version_is_c_may_be_sent_again(house: Clearinghouse) -> None:
    rejected = op_only().change("CHT", "OP", TOTAL="60.00")
    assert outcome(house.ingest(rejected), rejected, "OP") == (1, "C", "B04")

    fixed = op_only()
    assert outcome(house.ingest(fixed, received="2026-11-02"), fixed, "OP") == (2, "A", "")


def test_correction_of_an_unknown_key_is_k03(house: Clearinghouse) -> None:
    drop = op_only()
    assert outcome(house.ingest(drop, corrections=True), drop, "OP") == (1, "C", "K03")


def test_correction_of_a_key_with_only_a_c_version_is_k03(house: Clearinghouse) -> None:
    rejected = op_only().change("CHT", "OP", TOTAL="60.00")
    house.ingest(rejected)
    fixed = op_only()
    ack = house.ingest(fixed, received="2026-11-02", corrections=True)
    assert outcome(ack, fixed, "OP") == (2, "C", "K03")


def test_correction_of_an_accepted_claim_is_version_2_accepted(house: Clearinghouse) -> None:
    first = op_only()
    house.ingest(first)
    corrected = first.copy().change("ADP", "OP", QTY="2", TOTAL="100.00")
    corrected.change("CHA", "OP", row=0, AMOUNT="100.00").change("CHT", "OP", TOTAL="103.50")
    ack = house.ingest(corrected, received="2026-11-02", corrections=True)
    assert outcome(ack, corrected, "OP") == (2, "A", "")  # neither K01 nor K03, nor K02
    assert house.scalar("SELECT replaces_version FROM claim_version WHERE version = 2") == 1


def test_correction_replaces_the_accepted_version_past_a_later_c(house: Clearinghouse) -> None:
    first = op_only()
    house.ingest(first)
    resent = first.copy().change("OPD", "OP", CLINIC="02")
    assert outcome(house.ingest(resent, received="2026-11-02"), resent, "OP") == (2, "C", "K01")
    corrected = first.copy().change("OPD", "OP", CLINIC="03")
    ack = house.ingest(corrected, received="2026-11-03", corrections=True)
    assert outcome(ack, corrected, "OP") == (3, "A", "")
    assert house.scalar("SELECT replaces_version FROM claim_version WHERE version = 3") == 1


def test_claim_identity_is_per_hospital(house: Clearinghouse) -> None:
    here = DropBuilder(op=False)
    house.ingest(here)
    there = DropBuilder(hcode="10670", op=False)  # the same AN at another hospital
    ack = house.ingest(there)
    assert ack["hcode"].to_list() == ["10670"]
    assert outcome(ack, there, "IP") == (1, "A", "")


# --- K02 --------------------------------------------------------------------------------------


def test_two_visits_of_one_person_on_one_day_both_carry_k02(house: Clearinghouse) -> None:
    drop = op_only().add_op_claim("OP2", seq="6910000002")  # same HN and person, same day
    ack = house.ingest(drop)
    assert outcome(ack, drop, "OP") == (1, "A", "K02")
    assert outcome(ack, drop, "OP2") == (1, "A", "K02")


@pytest.mark.parametrize(
    "second",
    [
        pytest.param({"date": "20261006"}, id="next-day"),
        pytest.param({"hn": "500009", "person_id": OTHER_PERSON}, id="other-person"),
    ],
)
def test_near_miss_no_k02(house: Clearinghouse, second: dict[str, str]) -> None:
    drop = op_only().add_op_claim("OP2", seq="6910000002", **second)
    ack = house.ingest(drop)
    assert outcome(ack, drop, "OP") == (1, "A", "")
    assert outcome(ack, drop, "OP2") == (1, "A", "")


def test_k02_against_an_accepted_claim_of_an_earlier_drop(house: Clearinghouse) -> None:
    earlier = op_only()
    first_ack = house.ingest(earlier)
    later = DropBuilder(op=False, ip=False).add_op_claim("OP", seq="6910000002")
    ack = house.ingest(later, received="2026-11-02")
    assert outcome(ack, later, "OP") == (1, "A", "K02")
    assert outcome(first_ack, earlier, "OP") == (1, "A", "")  # a warning is not retroactive


def test_no_k02_against_a_rejected_claim_of_an_earlier_drop(house: Clearinghouse) -> None:
    house.ingest(op_only().change("CHT", "OP", TOTAL="60.00"))  # C: never effective
    later = DropBuilder(op=False, ip=False).add_op_claim("OP", seq="6910000002")
    assert outcome(house.ingest(later, received="2026-11-02"), later, "OP") == (1, "A", "")


@pytest.mark.parametrize(
    ("admitted", "codes"),
    [
        pytest.param(("20261006", "0900"), "K02", id="overlap-one-hour"),
        pytest.param(("20261006", "1000"), "", id="miss-touching-at-discharge"),
    ],
)
def test_k02_for_overlapping_stays(
    house: Clearinghouse, admitted: tuple[str, str], codes: str
) -> None:
    # The first stay runs 2026-10-03 08:00 .. 2026-10-06 10:00.
    drop = DropBuilder(op=False).add_ip_claim(
        "IP2", an="691000002", admitted=admitted, discharged=("20261008", "1000")
    )
    ack = house.ingest(drop)
    assert outcome(ack, drop, "IP") == (1, "A", codes)
    assert outcome(ack, drop, "IP2") == (1, "A", codes)


def test_k02_ignores_an_identity_corrected_to_d_in_the_same_drop() -> None:
    # Pure: D needs routing (E01/E03), which this build does not raise through the CLI yet.
    day = dt.date(2026, 10, 5)
    history = pl.DataFrame(
        [
            ("OP", "X", 1, "A", OP_PERSON, day, None, None),
            ("OP", "Y", 1, "A", OP_PERSON, dt.date(2026, 10, 1), None, None),
        ],
        schema=HISTORY_SCHEMA,
        orient="row",
    )
    # A correction drop: X v2 is denied (replaces X v1), Y v2 moves to X's day.
    claims = pl.DataFrame(
        [("OP", "X", "D", OP_PERSON, day), ("OP", "Y", "A", OP_PERSON, day)],
        schema=["claim_type", "claim_key", "status", "person_id", "coverage_date"],
        orient="row",
    ).with_columns(
        admitted_at=pl.lit(None, pl.Datetime("us")), discharged_at=pl.lit(None, pl.Datetime("us"))
    )
    found = near_duplicates(claims, history)
    # X (D) meets Y (A) on the same day: K02 on X. Y meets only X, now effectively D: none.
    assert found.select("claim_key", "code").sort("claim_key").rows() == [("X", "K02")]


# --- duplicate drops --------------------------------------------------------------------------


def test_same_bytes_again_is_dup_f08_and_nothing_is_stored_twice(house: Clearinghouse) -> None:
    drop = DropBuilder()
    path = house.write(drop)
    first = house.ingest(path)
    original = sorted(house.ack_dir.glob("*.csv"))
    original_text = original[0].read_text()
    assert first["version"].to_list() == [1, 1]

    dup = house.ingest(path)
    assert dup.rows() == [(HCODE, None, None, None, "DUP", "F08", None, None)]
    # The same bytes elsewhere, received another day: still the same drop (the hash decides).
    elsewhere = shutil.copytree(path, house.root / "elsewhere" / "resent")
    dup_later = house.ingest(elsewhere, received="2026-11-05")
    assert dup_later["status"].to_list() == ["DUP"]
    assert sorted(p.name for p in house.ack_dir.glob("*_DUP.csv")) == sorted(
        [f"{original[0].stem}_DUP.csv", f"{HCODE}_2026-11-05_{original[0].stem[-12:]}_DUP.csv"]
    )

    assert original[0].read_text() == original_text
    assert house.scalar("SELECT COUNT(*) FROM claim_drop") == 1
    assert house.scalar("SELECT COUNT(*) FROM claim_version") == 2
    assert house.scalar("SELECT MAX(version) FROM claim_version") == 1
    # The next real version of these claims is 2, not 3.
    changed = drop.copy().change("OPD", "OP", CLINIC="02")
    assert outcome(house.ingest(changed, received="2026-11-06"), changed, "OP") == (2, "C", "K01")
