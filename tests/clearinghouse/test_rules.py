"""Every drop-local rule (S, C, B) on drops built in code, judged against the example reference set.

Pure: a ``DropBuilder`` drop is written, read with ``read_sixteen`` and judged with
``judge_drop``; no database. Each case says what changes from the clean claims, which claim it
looks at, and the status and the exact codes that claim must end with: the code fires with its
effect (C codes reject; the item codes C04, C05, B07 leave the claim ``A``), and a near miss
shows where it stops firing. Received date 2026-11-01; the OP claim is served 2026-10-05, the
IP claim admitted 2026-10-03 08:00 and discharged 2026-10-06 10:00.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

from clearinghouse.judge import Judgement, judge_drop
from formats.sixteen import read_sixteen
from pricing.reference import read_reference_dir
from tests.clearinghouse.drops import OP_HN, DropBuilder

REFERENCE_DIR = Path(__file__).parents[1] / "cases" / "two-drops" / "reference"
RECEIVED = dt.date(2026, 11, 1)
MAX_BYTES = 1 << 30

Edit = Callable[[DropBuilder], object]


@pytest.fixture(scope="module")
def reference() -> dict[str, pl.DataFrame]:
    return read_reference_dir(REFERENCE_DIR)


@pytest.fixture
def judge(tmp_path: Path, reference: dict[str, pl.DataFrame]) -> Callable[[DropBuilder], Judgement]:
    """Write the drop, read it back like an ingest would, and judge it."""

    def run(drop: DropBuilder) -> Judgement:
        raw = read_sixteen(drop.write(tmp_path / "drop"), max_bytes=MAX_BYTES)
        return judge_drop(raw.tables, hcode=drop.hcode, received=RECEIVED, reference=reference)

    return run


def outcome(judgement: Judgement, drop: DropBuilder, claim: str) -> tuple[str, list[str]]:
    """The status and the sorted codes of one named claim of the drop."""
    kind, key = drop.claims[claim].kind, drop.key(claim)
    row = judgement.claims.filter(pl.col("claim_type") == kind, pl.col("claim_key") == key)
    assert row.height == 1, f"{claim} ({kind} {key}) is not exactly one claim: {row}"
    return row["status"].item(), sorted(row["codes"].item())


def case(name: str, edit: Edit, claim: str, status: str, codes: list[str]) -> pytest.ParameterSet:
    return pytest.param(edit, claim, status, codes, id=name)


def set_dates(drop: DropBuilder, claim: str, **values: str) -> DropBuilder:
    """Change a claim's header dates (OPD or IPD)."""
    table = "OPD" if drop.claims[claim].kind == "OP" else "IPD"
    return drop.change(table, claim, **values)


def principal(drop: DropBuilder, claim: str, diag: str) -> DropBuilder:
    """Make ``diag`` the claim's (only) principal diagnosis."""
    table = "ODX" if drop.claims[claim].kind == "OP" else "IDX"
    return drop.change(table, claim, DIAG=diag)


def patient(drop: DropBuilder, claim: str, **values: str) -> DropBuilder:
    return drop.change("PAT", claim, **values)


# --- S: rows ----------------------------------------------------------------------------------

S01 = [
    case("S01-OPD-extra-field", lambda d: d.skew("OPD", "OP", +1), "OP", "C", ["S01"]),
    case("S01-IPD-one-field-short", lambda d: d.skew("IPD", "IP", -1), "IP", "C", ["S01"]),
    case("S01-PAT-extra-field", lambda d: d.skew("PAT", "OP", +1), "OP", "C", ["S01"]),
    case("S01-DRU-one-field-short", lambda d: d.skew("DRU", "IP", -1), "IP", "C", ["S01"]),
    case(
        "S01-miss-quoted-fields",
        lambda d: d.change("OPD", "OP", CLINIC='"01"', TIMEOPD='"0930"'),
        "OP",
        "A",
        [],
    ),
]

S02 = [
    case("S02-OPD-HN", lambda d: d.change("OPD", "OP", HN=""), "OP", "C", ["S02"]),
    case("S02-OPD-DATEOPD", lambda d: d.change("OPD", "OP", DATEOPD=""), "OP", "C", ["S02"]),
    case("S02-IPD-HN", lambda d: d.change("IPD", "IP", HN=""), "IP", "C", ["S02"]),
    case("S02-IPD-DATEADM", lambda d: d.change("IPD", "IP", DATEADM=""), "IP", "C", ["S02"]),
    case("S02-IPD-DATEDSC", lambda d: d.change("IPD", "IP", DATEDSC=""), "IP", "C", ["S02"]),
    case("S02-PAT-HN", lambda d: d.change("PAT", "OP", HN=""), "OP", "C", ["S02"]),
    case("S02-PAT-PERSON_ID-not-C01", lambda d: patient(d, "OP", PERSON_ID=""), "OP", "C", ["S02"]),
    case("S02-PAT-DOB", lambda d: patient(d, "OP", DOB=""), "OP", "C", ["S02"]),
    case("S02-CHT-DATE", lambda d: d.change("CHT", "OP", DATE=""), "OP", "C", ["S02"]),
    case("S02-CHT-TOTAL-not-B04", lambda d: d.change("CHT", "OP", TOTAL=""), "OP", "C", ["S02"]),
    case("S02-ADP-CODE-not-C04", lambda d: d.change("ADP", "OP", CODE=""), "OP", "C", ["S02"]),
    case("S02-ADP-QTY", lambda d: d.change("ADP", "OP", QTY=""), "OP", "C", ["S02"]),
    case("S02-DRU-DIDSTD-not-C05", lambda d: d.change("DRU", "IP", DIDSTD=""), "IP", "C", ["S02"]),
    case("S02-DRU-AMOUNT", lambda d: d.change("DRU", "IP", AMOUNT=""), "IP", "C", ["S02"]),
    case("S02-claim-HN-without-PAT-row", lambda d: d.remove("PAT", "OP"), "OP", "C", ["S02"]),
    case(
        "S02-miss-optional-fields-empty",
        lambda d: d.change("OPD", "OP", CLINIC="", TIMEOPD="").change("ADP", "OP", RATE=""),
        "OP",
        "A",
        [],
    ),
]

S03 = [
    case("S03-date-7-digits", lambda d: set_dates(d, "OP", DATEOPD="2026105"), "OP", "C", ["S03"]),
    case("S03-date-20260230", lambda d: set_dates(d, "OP", DATEOPD="20260230"), "OP", "C", ["S03"]),
    case("S03-time-2460", lambda d: set_dates(d, "OP", TIMEOPD="2460"), "OP", "C", ["S03"]),
    case("S03-time-0860", lambda d: set_dates(d, "IP", TIMEADM="0860"), "IP", "C", ["S03"]),
    case(
        "S03-IPD-DATEDSC-20261032-no-B01",
        lambda d: set_dates(d, "IP", DATEDSC="20261032"),
        "IP",
        "C",
        ["S03"],
    ),
    case("S03-PAT-DOB-19800230", lambda d: patient(d, "OP", DOB="19800230"), "OP", "C", ["S03"]),
    case(
        "S03-CHT-DATE-iso", lambda d: d.change("CHT", "OP", DATE="2026-10-05"), "OP", "C", ["S03"]
    ),
    case(
        "S03-miss-buddhist-era-2569",
        lambda d: set_dates(d, "OP", DATEOPD="25691005"),
        "OP",
        "A",
        [],
    ),
    case("S03-miss-BE-DOB", lambda d: patient(d, "OP", DOB="25230515"), "OP", "A", []),
    case("S03-miss-leap-day-DOB", lambda d: patient(d, "OP", DOB="20000229"), "OP", "A", []),
    case("S03-miss-time-2359", lambda d: set_dates(d, "IP", TIMEDSC="2359"), "IP", "A", []),
]

S04 = [
    case(
        "S04-CHA-3-decimals-not-B04",
        lambda d: d.change("CHA", "OP", row=1, AMOUNT="3.505"),
        "OP",
        "C",
        ["S04"],
    ),
    case(
        "S04-CHA-text-not-B04",
        lambda d: d.change("CHA", "OP", row=1, AMOUNT="three"),
        "OP",
        "C",
        ["S04"],
    ),
    case("S04-CHT-negative", lambda d: d.change("CHT", "OP", TOTAL="-53.50"), "OP", "C", ["S04"]),
    case("S04-ADP-RATE-text", lambda d: d.change("ADP", "OP", RATE="fifty"), "OP", "C", ["S04"]),
    case("S04-ADP-QTY-1.5", lambda d: d.change("ADP", "OP", QTY="1.5"), "OP", "C", ["S04"]),
    case("S04-DRU-AMOUNT-1.5", lambda d: d.change("DRU", "IP", AMOUNT="1.5"), "IP", "C", ["S04"]),
    case(
        "S04-DRU-DRUGPRIC-negative",
        lambda d: d.change("DRU", "IP", DRUGPRIC="-21.00"),
        "IP",
        "C",
        ["S04"],
    ),
    case(
        "S04-ADP-TOTAL-thousands-separator",
        lambda d: d.change("ADP", "OP", TOTAL="1,050.00"),
        "OP",
        "C",
        ["S04"],
    ),
    case("S04-miss-one-decimal", lambda d: d.change("CHT", "OP", TOTAL="53.5"), "OP", "A", []),
    case(
        "S04-miss-quantity-0-is-B07",
        lambda d: d.change("ADP", "OP", QTY="0", TOTAL="0.00"),
        "OP",
        "A",
        ["B07"],
    ),
]

S06 = [
    case("S06-OPD-SEQ-twice", lambda d: d.repeat("OPD", "OP"), "OP", "C", ["S06"]),
    case("S06-IPD-AN-twice", lambda d: d.repeat("IPD", "IP"), "IP", "C", ["S06"]),
    case(
        "S06-miss-second-visit-other-SEQ",
        lambda d: d.add_op_claim("OP2", seq="6910000002"),
        "OP2",
        "A",
        [],
    ),
]

S07 = [
    case("S07-PAT-HCODE", lambda d: patient(d, "OP", HCODE="10670"), "OP", "C", ["S07"]),
    case("S07-DRU-HCODE", lambda d: d.change("DRU", "IP", HCODE="10670"), "IP", "C", ["S07"]),
    case("S07-miss-PAT-HCODE-empty", lambda d: patient(d, "OP", HCODE=""), "OP", "A", []),
    case("S07-miss-DRU-HCODE-empty", lambda d: d.change("DRU", "IP", HCODE=""), "IP", "A", []),
]

# --- C: code sets -----------------------------------------------------------------------------

C01 = [
    case(
        "C01-wrong-check-digit",
        lambda d: patient(d, "OP", PERSON_ID="3053318123426"),
        "OP",
        "C",
        ["C01"],
    ),
    case("C01-12-digits", lambda d: patient(d, "OP", PERSON_ID="305331812342"), "OP", "C", ["C01"]),
    case(
        "C01-letter-in-13",
        lambda d: patient(d, "OP", PERSON_ID="30533181234X5"),
        "OP",
        "C",
        ["C01"],
    ),
    case(
        "C01-miss-other-valid-id",
        lambda d: patient(d, "OP", PERSON_ID="1561280619205"),
        "OP",
        "A",
        [],
    ),
]

C02 = [
    case("C02-no-principal", lambda d: d.change("ODX", "OP", DXTYPE="2"), "OP", "C", ["C02"]),
    case("C02-two-principals", lambda d: d.repeat("ODX", "OP", DIAG="I10"), "OP", "C", ["C02"]),
    case("C02-no-diagnosis-at-all", lambda d: d.remove("IDX", "IP"), "IP", "C", ["C02"]),
    case(
        "C02-miss-principal-and-secondary",
        lambda d: d.repeat("ODX", "OP", DIAG="I10", DXTYPE="2"),
        "OP",
        "A",
        [],
    ),
]

C03 = [
    case("C03-unknown-code", lambda d: principal(d, "OP", "X999"), "OP", "C", ["C03"]),
    case("C03-category-not-a-code", lambda d: principal(d, "IP", "J18"), "IP", "C", ["C03"]),
    case(
        "C03-not-with-two-principals",
        lambda d: d.repeat("ODX", "OP", DIAG="X999"),
        "OP",
        "C",
        ["C02"],
    ),
    case("C03-miss-lower-case-is-upper-cased", lambda d: principal(d, "OP", "j069"), "OP", "A", []),
    case(
        "C03-miss-3-character-code",
        lambda d: principal(d, "OP", "N40"),  # male patient: no B05 either
        "OP",
        "A",
        [],
    ),
]


def adp_on(drop: DropBuilder, code: str, day: str) -> DropBuilder:
    """The OP claim served on ``day`` with fee-schedule item ``code``."""
    return set_dates(drop, "OP", DATEOPD=day).change("ADP", "OP", CODE=code)


def ip_adp_stay(drop: DropBuilder, code: str, admitted: str, discharged: str) -> DropBuilder:
    return set_dates(drop, "IP", DATEADM=admitted, DATEDSC=discharged).change(
        "ADP", "IP", CODE=code
    )


C04 = [
    case("C04-unknown-code", lambda d: adp_on(d, "99999", "20261005"), "OP", "A", ["C04"]),
    case(
        "C04-valid-only-before-pricing-date",
        lambda d: adp_on(d, "61102", "20261001"),  # 61102 ends 2026-09-30
        "OP",
        "A",
        ["C04"],
    ),
    case(
        "C04-valid-only-after-pricing-date",
        lambda d: adp_on(d, "70101", "20260930"),  # 70101 starts 2026-10-01
        "OP",
        "A",
        ["C04"],
    ),
    case(
        "C04-IP-priced-on-discharge-date",
        lambda d: ip_adp_stay(d, "70101", "20260925", "20260930"),
        "IP",
        "A",
        ["C04"],
    ),
    case("C04-miss-last-valid-day", lambda d: adp_on(d, "61102", "20260930"), "OP", "A", []),
    case(
        "C04-miss-two-ranges-first",
        lambda d: adp_on(d, "30201", "20261009"),
        "OP",
        "A",
        [],
    ),
    case(
        "C04-miss-two-ranges-second",
        lambda d: adp_on(d, "30201", "20261010"),
        "OP",
        "A",
        [],
    ),
    case(
        "C04-miss-IP-admitted-before-valid-from",
        lambda d: ip_adp_stay(d, "70101", "20260928", "20261002"),
        "IP",
        "A",
        [],
    ),
]


def dru_on(drop: DropBuilder, code: str, day: str) -> DropBuilder:
    return set_dates(drop, "OP", DATEOPD=day).change("DRU", "OP", DIDSTD=code)


C05 = [
    case("C05-unknown-drug", lambda d: dru_on(d, "999999", "20261005"), "OP", "A", ["C05"]),
    case(
        "C05-valid-only-before-pricing-date",
        lambda d: dru_on(d, "700900", "20261001"),  # 700900 ends 2026-09-30
        "OP",
        "A",
        ["C05"],
    ),
    case("C05-miss-last-valid-day", lambda d: dru_on(d, "700900", "20260930"), "OP", "A", []),
]

C06 = [
    case(
        "C06-unknown-category",
        lambda d: d.change("CHA", "OP", row=0, CHRGITEM="Z9"),
        "OP",
        "C",
        ["C06"],
    ),
    case(
        "C06-unknown-category-IP",
        lambda d: d.change("CHA", "IP", row=1, CHRGITEM="99"),
        "IP",
        "C",
        ["C06"],
    ),
    case(
        "C06-miss-last-category",
        lambda d: d.change("CHA", "OP", row=0, CHRGITEM="K1"),
        "OP",
        "A",
        [],
    ),
]

# --- B: business consistency ------------------------------------------------------------------


def stay(drop: DropBuilder, admitted: str, discharged: str) -> DropBuilder:
    """The IP claim's admission and discharge as ``YYYYMMDD HHMM``."""
    (day_in, time_in), (day_out, time_out) = admitted.split(), discharged.split()
    return set_dates(drop, "IP", DATEADM=day_in, TIMEADM=time_in, DATEDSC=day_out, TIMEDSC=time_out)


B01 = [
    case(
        "B01-same-day-earlier-time",
        lambda d: stay(d, "20261003 1000", "20261003 0900"),
        "IP",
        "C",
        ["B01"],
    ),
    case("B01-day-before", lambda d: stay(d, "20261003 0800", "20261002 1000"), "IP", "C", ["B01"]),
    case(
        "B01-miss-same-minute", lambda d: stay(d, "20261003 1000", "20261003 1000"), "IP", "A", []
    ),
    case(
        "B01-miss-same-day-later",
        lambda d: stay(d, "20261003 0800", "20261003 1630"),
        "IP",
        "A",
        [],
    ),
]

B02 = [
    case(
        "B02-OP-day-after-received",
        lambda d: set_dates(d, "OP", DATEOPD="20261102"),
        "OP",
        "C",
        ["B02"],
    ),
    case(
        "B02-IP-discharged-after-received",
        lambda d: stay(d, "20261030 0800", "20261102 1000"),
        "IP",
        "C",
        ["B02"],
    ),
    case(
        "B02-miss-OP-on-received-day",
        lambda d: set_dates(d, "OP", DATEOPD="20261101"),
        "OP",
        "A",
        [],
    ),
    case(
        "B02-miss-IP-discharged-on-received-day",
        lambda d: stay(d, "20261030 0800", "20261101 0700"),
        "IP",
        "A",
        [],
    ),
]

B03 = [
    case(
        "B03-366-days",
        lambda d: set_dates(d, "OP", DATEOPD="20251031"),
        "OP",
        "C",
        ["B03"],
    ),
    case(
        "B03-IP-discharged-366-days-before",
        lambda d: stay(d, "20251025 0800", "20251031 1000"),
        "IP",
        "C",
        ["B03"],
    ),
    case("B03-miss-365-days", lambda d: set_dates(d, "OP", DATEOPD="20251101"), "OP", "A", []),
    case(
        "B03-miss-IP-counts-from-discharge",
        lambda d: stay(d, "20251025 0800", "20251101 1000"),
        "IP",
        "A",
        [],
    ),
]

B04 = [
    case("B04-sum-differs", lambda d: d.change("CHT", "OP", TOTAL="60.00"), "OP", "C", ["B04"]),
    case("B04-no-CHT-row", lambda d: d.remove("CHT", "OP"), "OP", "C", ["B04"]),
    case("B04-CHA-row-missing", lambda d: d.remove("CHA", "IP", row=1), "IP", "C", ["B04"]),
    case(
        "B04-miss-other-split-same-sum",
        lambda d: d.change("CHA", "OP", row=0, AMOUNT="40.00").add(
            "CHA", "OP", DATE="20261005", CHRGITEM="C2", AMOUNT="10.00"
        ),
        "OP",
        "A",
        [],
    ),
]


def female(drop: DropBuilder, claim: str, dob: str = "19900101") -> DropBuilder:
    return patient(drop, claim, SEX="2", DOB=dob)


B05 = [
    case("B05-female-code-for-male", lambda d: principal(d, "OP", "O800"), "OP", "C", ["B05"]),
    case(
        "B05-male-code-for-female",
        lambda d: principal(female(d, "IP"), "IP", "N40"),
        "IP",
        "C",
        ["B05"],
    ),
    case(
        "B05-miss-female-code-for-female",
        lambda d: principal(female(d, "OP"), "OP", "O800"),
        "OP",
        "A",
        [],
    ),
    case(
        "B05-miss-sex-unknown",
        lambda d: principal(patient(d, "OP", SEX=""), "OP", "O800"),
        "OP",
        "A",
        [],
    ),
]

# O800 is for women aged 12..55, J050 for children 0..14; the OP claim is served 2026-10-05.
B06 = [
    case(
        "B06-12th-birthday-tomorrow",
        lambda d: principal(female(d, "OP", "20141006"), "OP", "O800"),
        "OP",
        "C",
        ["B06"],
    ),
    case(
        "B06-56-today",
        lambda d: principal(female(d, "OP", "19701005"), "OP", "O800"),
        "OP",
        "C",
        ["B06"],
    ),
    case(
        "B06-15-today",
        lambda d: principal(patient(d, "OP", DOB="20111005"), "OP", "J050"),
        "OP",
        "C",
        ["B06"],
    ),
    case(
        "B06-miss-exactly-age_min",
        lambda d: principal(female(d, "OP", "20141005"), "OP", "O800"),
        "OP",
        "A",
        [],
    ),
    case(
        "B06-miss-age_max-until-tomorrow",
        lambda d: principal(female(d, "OP", "19701006"), "OP", "O800"),
        "OP",
        "A",
        [],
    ),
    case(
        "B06-miss-14-until-tomorrow",
        lambda d: principal(patient(d, "OP", DOB="20111006"), "OP", "J050"),
        "OP",
        "A",
        [],
    ),
    case(
        "B06-miss-buddhist-era-DOB",
        lambda d: principal(female(d, "OP", "25571005"), "OP", "O800"),
        "OP",
        "A",
        [],
    ),
]

B07 = [
    case(
        "B07-ADP-QTY-0",
        lambda d: d.change("ADP", "OP", QTY="0", TOTAL="0.00"),
        "OP",
        "A",
        ["B07"],
    ),
    case("B07-DRU-AMOUNT-0", lambda d: d.change("DRU", "IP", AMOUNT="0"), "IP", "A", ["B07"]),
    case(
        "B07-miss-QTY-3",
        lambda d: d.change("ADP", "OP", QTY="3", TOTAL="150.00"),
        "OP",
        "A",
        [],
    ),
]


@pytest.mark.parametrize(
    ("edit", "claim", "status", "codes"),
    [
        *S01,
        *S02,
        *S03,
        *S04,
        *S06,
        *S07,
        *C01,
        *C02,
        *C03,
        *C04,
        *C05,
        *C06,
        *B01,
        *B02,
        *B03,
        *B04,
        *B05,
        *B06,
        *B07,
    ],
)
def test_rule(
    judge: Callable[[DropBuilder], Judgement],
    edit: Edit,
    claim: str,
    status: str,
    codes: list[str],
) -> None:
    drop = DropBuilder()
    edit(drop)
    assert outcome(judge(drop), drop, claim) == (status, codes)


# --- the rules together -----------------------------------------------------------------------


def test_clean_drop_accepts_every_claim_without_codes(
    judge: Callable[[DropBuilder], Judgement],
) -> None:
    drop = DropBuilder().add_op_claim(
        "OP2", seq="6910000002", hn="500003", person_id="4589693504923"
    )
    judged = judge(drop)
    assert judged.claims.height == 3
    assert judged.claims["status"].to_list() == ["A", "A", "A"]
    assert judged.claims["codes"].to_list() == [[], [], []]
    assert judged.codes.is_empty()
    assert judged.orphans.is_empty()


def test_a_claim_carries_all_its_codes(judge: Callable[[DropBuilder], Judgement]) -> None:
    drop = (
        DropBuilder()
        .change("OPD", "OP", TIMEOPD="2460")  # S03
        .change("PAT", "OP", PERSON_ID="3053318123426")  # C01
        .change("ODX", "OP", DIAG="X999")  # C03
        .change("CHA", "OP", row=0, CHRGITEM="Z9")  # C06
        .change("CHT", "OP", TOTAL="60.00")  # B04
        .change("ADP", "OP", CODE="99999")  # C04 on the item
        .change("DRU", "OP", AMOUNT="0")  # B07 on the item
    )
    judged = judge(drop)
    assert outcome(judged, drop, "OP") == (
        "C",
        ["B04", "B07", "C01", "C03", "C04", "C06", "S03"],
    )
    assert outcome(judged, drop, "IP") == ("A", [])


def test_rejected_claim_keeps_its_item_codes_and_rejection_beats_item(
    judge: Callable[[DropBuilder], Judgement],
) -> None:
    drop = DropBuilder().change("ADP", "IP", CODE="99999").change("IPD", "IP", TIMEDSC="2500")
    assert outcome(judge(drop), drop, "IP") == ("C", ["C04", "S03"])


@pytest.mark.parametrize(
    ("edit", "claim", "table", "code"),
    [
        pytest.param(lambda d: d.change("ADP", "OP", CODE="99999"), "OP", "ADP", "C04", id="C04"),
        pytest.param(
            lambda d: d.change("DRU", "IP", DIDSTD="999999"), "IP", "DRU", "C05", id="C05"
        ),
        pytest.param(lambda d: d.change("DRU", "IP", AMOUNT="0"), "IP", "DRU", "B07", id="B07"),
    ],
)
def test_item_codes_sit_on_their_item(
    judge: Callable[[DropBuilder], Judgement], edit: Edit, claim: str, table: str, code: str
) -> None:
    drop = DropBuilder()
    edit(drop)
    judged = judge(drop)
    [row] = judged.codes.filter(pl.col("code") == code).iter_rows(named=True)
    assert row == {
        "claim_type": drop.claims[claim].kind,
        "claim_key": drop.key(claim),
        "item_file": f"{table}.txt",
        "item_line": drop.line(table, claim),
        "code": code,
    }


def test_claim_codes_have_no_item_position(judge: Callable[[DropBuilder], Judgement]) -> None:
    drop = DropBuilder().change("CHT", "OP", TOTAL="60.00")
    judged = judge(drop)
    assert judged.codes.select("claim_key", "item_file", "item_line", "code").rows() == [
        (drop.key("OP"), None, None, "B04")
    ]


# --- orphans ----------------------------------------------------------------------------------


def test_orphans_are_listed_with_file_and_line(judge: Callable[[DropBuilder], Judgement]) -> None:
    drop = (
        DropBuilder()
        .add("ODX", None, SEQ="6919999999", DIAG="J069", DXTYPE="1")  # S05: unknown key
        .repeat("PAT", "OP")  # S05: a second PAT row for one HN
        .add("PAT", None, HCODE="10713", HN="599999", DOB="19800101", PERSON_ID="1561280619205")
        .add("CHA", None, DATE="20261005", CHRGITEM="C1", AMOUNT="1.00")  # S02: no key
    )
    judged = judge(drop)
    assert judged.orphans.rows() == [
        ("CHA.txt", drop.line("CHA", None, row=4), "S02"),
        ("ODX.txt", drop.line("ODX", None, row=1), "S05"),
        ("PAT.txt", drop.line("PAT", None, row=2), "S05"),  # the second row of OP_HN
        ("PAT.txt", drop.line("PAT", None, row=3), "S05"),  # HN 599999: no claim
    ]
    assert drop.rows("PAT")[2].values["HN"] == OP_HN
    # Orphans belong to nothing: the claims stay clean.
    assert outcome(judged, drop, "OP") == ("A", [])
    assert outcome(judged, drop, "IP") == ("A", [])


@pytest.mark.parametrize(
    ("table", "claim", "field"), [("OPD", "OP", "SEQ"), ("IPD", "IP", "AN")], ids=["OPD", "IPD"]
)
def test_claim_row_without_key_is_an_orphan_and_its_details_too(
    judge: Callable[[DropBuilder], Judgement], table: str, claim: str, field: str
) -> None:
    drop = DropBuilder().change(table, claim, **{field: ""})
    judged = judge(drop)
    assert judged.claims.height == 1
    assert (f"{table}.txt", 2, "S02") in judged.orphans.rows()
    # Its detail rows and its patient now link to nothing (S05).
    details = {
        (f"{t}.txt", drop.line(t, claim, row=i))
        for t in ("INS", "CHT", "CHA", "ADP", "DRU", "PAT")
        for i in range(len(drop.rows(t, claim)))
    }
    s05 = {(f, line) for f, line, code in judged.orphans.rows() if code == "S05"}
    assert details <= s05


# --- bugs -------------------------------------------------------------------------------------


def test_same_day_stay_without_discharge_time_is_not_b01(
    judge: Callable[[DropBuilder], Judgement],
) -> None:
    drop = set_dates(DropBuilder(), "IP", DATEADM="20261003", DATEDSC="20261003", TIMEDSC="")
    assert outcome(judge(drop), drop, "IP") == ("A", [])


THAI_DIGITS = str.maketrans("0123456789", "๐๑๒๓๔๕๖๗๘๙")


@pytest.mark.parametrize(
    ("table", "claim", "field", "value"),
    [
        ("CHT", "OP", "TOTAL", "53.50"),
        ("ADP", "OP", "QTY", "1"),
        ("DRU", "IP", "AMOUNT", "1"),
    ],
    ids=["CHT-TOTAL", "ADP-QTY", "DRU-AMOUNT"],
)
def test_thai_digits_in_an_amount_are_a_claim_problem_not_a_crash(
    judge: Callable[[DropBuilder], Judgement], table: str, claim: str, field: str, value: str
) -> None:
    drop = DropBuilder().change(table, claim, **{field: value.translate(THAI_DIGITS)})
    # Only ASCII digits are numbers: S04, never an exception.
    assert outcome(judge(drop), drop, claim) == ("C", ["S04"])


def test_person_id_in_thai_digits_is_c01(judge: Callable[[DropBuilder], Judgement]) -> None:
    drop = patient(DropBuilder(), "OP", PERSON_ID="3053318123426".translate(THAI_DIGITS))
    assert outcome(judge(drop), drop, "OP") == ("C", ["C01"])
