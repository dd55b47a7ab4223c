"""The reference-set reader, the bundled sample set and the exact money expressions."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clearinghouse.errors import UsageError
from clearinghouse.money import format_baht, format_scaled, parse_satang, parse_scaled
from clearinghouse.schema import REFERENCE_SCHEMAS
from pricing.build_sample import build_sample, check_digit
from pricing.reference import read_reference_dir, sample_dir

EXAMPLE = Path(__file__).parents[1] / "cases" / "two-drops" / "reference"
needs_example = pytest.mark.skipif(not EXAMPLE.is_dir(), reason="worked example not available")


@pytest.fixture(scope="module")
def sample() -> dict[str, pl.DataFrame]:
    return read_reference_dir(sample_dir())


@pytest.fixture(scope="module")
def example() -> dict[str, pl.DataFrame]:
    return read_reference_dir(EXAMPLE)


def weight_set(drg: pl.Expr, rw_e4: pl.Expr) -> pl.Expr:
    medical = drg.str.slice(2, 2).cast(pl.Int64) >= 50
    return (
        pl.when(medical & (rw_e4 <= 6999)).then(pl.lit("M1"))
        .when(medical).then(pl.lit("M2"))
        .when(rw_e4 <= 19999).then(pl.lit("P1"))
        .otherwise(pl.lit("P2"))
    )  # fmt: skip


# --- the sample set --------------------------------------------------------------------------


def test_sample_has_every_file_in_its_canonical_schema(sample: dict[str, pl.DataFrame]) -> None:
    assert set(sample) == set(REFERENCE_SCHEMAS)
    for name, frame in sample.items():
        assert frame.schema == REFERENCE_SCHEMAS[name], name
        assert frame.height > 0, name


def test_sample_drg_covers_every_weight_set(sample: dict[str, pl.DataFrame]) -> None:
    sets = sample["drg"].select(weight_set(pl.col("drg"), pl.col("rw_e4")).alias("set"))
    assert set(sets["set"]) == {"M1", "M2", "P1", "P2"}


def test_sample_grouping_points_to_known_drgs(sample: dict[str, pl.DataFrame]) -> None:
    missing = sample["drg_grouping"].join(sample["drg"], on="drg", how="anti")
    assert missing.is_empty(), missing


def test_sample_covers_every_icd10_chapter_letter(sample: dict[str, pl.DataFrame]) -> None:
    letters = {chr(c) for c in range(ord("A"), ord("Z") + 1)}
    assert set(sample["icd10"]["code"].str.slice(0, 1)) == letters
    assert sample["icd10"].height > 5000
    single = sample["drg_grouping"].filter(pl.col("pdx_prefix").str.len_chars() == 1)
    for procedural in (False, True):
        chosen = single.filter(pl.col("procedural") == procedural)["pdx_prefix"]
        assert set(chosen) == letters, procedural


def test_sample_icd10_restricts_obvious_blocks(sample: dict[str, pl.DataFrame]) -> None:
    icd = {row["code"]: row for row in sample["icd10"].iter_rows(named=True)}
    assert icd["O800"]["sex"] == "2"
    assert (icd["O800"]["age_min"], icd["O800"]["age_max"]) == (12, 55)
    assert icd["N40"]["sex"] == "1"
    assert icd["C539"]["sex"] == "2"
    assert icd["P073"]["age_max"] == 0
    assert icd["J189"]["sex"] is None


def test_sample_registry_is_consistent(sample: dict[str, pl.DataFrame]) -> None:
    registry = sample["registry"]
    ids = registry["person_id"].unique().to_list()
    assert len(ids) >= 200
    assert all(check_digit(pid[:12]) == pid[12] for pid in ids)
    assert registry.join(sample["funds"], left_on="fund", right_on="code", how="anti").is_empty()
    with_hmain = registry.filter(pl.col("hmain").is_not_null())
    assert with_hmain.join(
        sample["hospitals"], left_on="hmain", right_on="hcode", how="anti"
    ).is_empty()
    assert registry.filter(pl.col("valid_to").is_not_null()).height > 0
    assert registry["person_id"].is_duplicated().any()


def test_sample_funds_and_rates(sample: dict[str, pl.DataFrame]) -> None:
    funds = {row["code"]: row for row in sample["funds"].iter_rows(named=True)}
    assert set(funds) == {"UCS", "OFC", "SSS", "LGO", "STP", "MIG", "WCF", "RTA", "MNF"}
    assert funds["WCF"]["cap_per_claim"] == 5_000_000
    assert funds["RTA"]["cap_per_claim"] == 3_000_000
    assert funds["UCS"]["op_refer"] is True
    rates = sample["base_rates"]
    fallbacks = rates.filter(pl.col("hospital_type") == "*")
    for fund in ("UCS", "OFC", "SSS", "LGO", "STP", "MIG"):
        for care in ("IP", "IP_EMERGENCY"):
            assert fallbacks.filter((pl.col("fund") == fund) & (pl.col("care") == care)).height
    ofc_prv = rates.filter((pl.col("fund") == "OFC") & (pl.col("hospital_type") == "PRV"))
    assert 1_089_700 in ofc_prv["rate"].to_list()


def test_build_sample_is_deterministic(tmp_path: Path) -> None:
    counts = build_sample(tmp_path)
    for name in REFERENCE_SCHEMAS:
        built = (tmp_path / f"{name}.csv").read_bytes()
        assert built == (sample_dir() / f"{name}.csv").read_bytes(), name
        assert counts[name] == built.count(b"\n") - 1


# --- the worked example --------------------------------------------------------------------

_KEYS = {
    "hospitals": ["hcode"], "funds": ["code"], "icd10": ["code"], "charge_categories": ["code"],
    "fee_schedule": ["code"], "drugs": ["code"], "drg": ["drg"],
    "drg_grouping": ["pdx_prefix", "procedural"], "base_rates": ["fund", "hospital_type", "care"],
}  # fmt: skip


@needs_example
def test_example_reads_cleanly(example: dict[str, pl.DataFrame]) -> None:
    for name, frame in example.items():
        assert frame.schema == REFERENCE_SCHEMAS[name]
    assert example["funds"]["bank"].is_null().all()


@needs_example
@pytest.mark.parametrize("name", sorted(_KEYS))
def test_sample_agrees_with_example_where_they_overlap(
    name: str, sample: dict[str, pl.DataFrame], example: dict[str, pl.DataFrame]
) -> None:
    key = _KEYS[name]
    ours = sample[name].drop("bank", strict=False)
    theirs = example[name].drop("bank", strict=False)
    shared = ours.join(theirs.select(key).unique(), on=key, how="semi")
    assert shared.sort(shared.columns).equals(theirs.sort(theirs.columns))


def _best_drg(grouping: pl.DataFrame, codes: pl.DataFrame) -> pl.DataFrame:
    return (
        codes.join(grouping, how="cross")
        .filter(pl.col("code").str.starts_with(pl.col("pdx_prefix")))
        .sort(pl.col("pdx_prefix").str.len_chars(), descending=True)
        .group_by("code", "procedural")
        .agg(pl.col("drg").first())
    )


@needs_example
def test_example_diagnoses_group_the_same(
    sample: dict[str, pl.DataFrame], example: dict[str, pl.DataFrame]
) -> None:
    codes = example["icd10"].select("code")
    theirs = _best_drg(example["drg_grouping"], codes)
    ours = _best_drg(sample["drg_grouping"], codes)
    joined = theirs.join(ours, on=["code", "procedural"], how="left", suffix="_sample")
    assert (joined["drg"] == joined["drg_sample"]).all(), joined


# --- malformed sets ------------------------------------------------------------------------


def _edit(folder: Path, file: str, line: int, text: str | None) -> None:
    """Replace 1-based ``line`` of ``file`` (append when past the end, delete when None)."""
    lines = (folder / file).read_text(encoding="utf-8").splitlines()
    if text is None:
        del lines[line - 1]
    elif line > len(lines):
        lines.append(text)
    else:
        lines[line - 1] = text
    (folder / file).write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture
def small_set(tmp_path: Path) -> Path:
    for name in (
        "funds",
        "fee_schedule",
        "drugs",
        "drg",
        "drg_grouping",
        "base_rates",
        "hospitals",
        "icd10",
    ):
        shutil.copy(sample_dir() / f"{name}.csv", tmp_path)
    (tmp_path / "registry.csv").write_text(
        "person_id,fund,hmain,valid_from,valid_to\n"
        "1101700203451,UCS,10713,2015-01-01,\n"
        "1101700203451,SSS,10714,2020-01-01,2026-12-31\n",
        encoding="utf-8",
    )
    return tmp_path


@pytest.mark.parametrize(
    ("file", "line", "text", "expected"),
    [
        (
            "fee_schedule.csv",
            3,
            "55020,12.345,0,2024-10-01,",
            "fee_schedule.csv line 3, column unit_price: '12.345' is not an amount",
        ),
        ("drugs.csv", 2, "100011,0.35,2024-02-30,", "drugs.csv line 2, column valid_from"),
        (
            "drg.csv",
            4,
            "99999,1.0000,0.5000,3.00,9,0.5000,2024-10-01,2024-09-30",
            "drg.csv line 4, column valid_to: '2024-09-30' is before valid_from",
        ),
        (
            "hospitals.csv",
            99,
            "10713,ซ้ำ,Chiang Mai,PUB,0000000000,",
            "hospitals.csv line 45, column hcode: duplicate key '10713' (first on line 2)",
        ),
        ("drg_grouping.csv", 999, "J18,0,04550", "drg_grouping.csv line 167, column pdx_prefix"),
        (
            "hospitals.csv",
            1,
            "hcode,name,type,account,bank",
            "hospitals.csv line 1, column province: missing column",
        ),
        (
            "registry.csv",
            3,
            "1101700203451,XXX,,2020-01-01,",
            "registry.csv line 3, column fund: 'XXX' is not a fund in funds.csv",
        ),
        (
            "registry.csv",
            3,
            "110170020345,UCS,,2020-01-01,",
            "registry.csv line 3, column person_id: '110170020345' is not a 13-digit",
        ),
        (
            "funds.csv",
            2,
            "OFC,Civil,10,,yes,9990000101,",
            "funds.csv line 2, column op_refer: 'yes' is not 0 or 1",
        ),
        (
            "hospitals.csv",
            3,
            "10714,ฝาง,Chiang Mai,GOV,0671207142,",
            "hospitals.csv line 3, column type: 'GOV' is not PUB, OTH or PRV",
        ),
        ("icd10.csv", 2, "A00.0,,,", "icd10.csv line 2, column code: 'A00.0' is not an ICD-10"),
        ("icd10.csv", 2, "A000,M,,", "icd10.csv line 2, column sex: 'M' is not empty, 1 or 2"),
        (
            "base_rates.csv",
            2,
            "UCS,*,OP,8350.00,2024-10-01,",
            "base_rates.csv line 2, column care: 'OP' is not IP or IP_EMERGENCY",
        ),
        (
            "base_rates.csv",
            99,
            "UCS,OTH,IP,9100.00,2025-01-01,",
            "base_rates.csv line 18, column valid_from: '2025-01-01' overlaps the validity of "
            "line 4",
        ),
        (
            "drg.csv",
            2,
            "01010,1.23456,0.5000,3.00,9,0.5000,2024-10-01,",
            "drg.csv line 2, column rw: '1.23456' is not a decimal with at most 4 decimals",
        ),
        ("funds.csv", 2, "OFC,,10,,0,9990000101,", "funds.csv line 2, column name: is empty"),
    ],
)
def test_malformed_set_names_file_line_and_column(
    small_set: Path, file: str, line: int, text: str, expected: str
) -> None:
    _edit(small_set, file, line, text)
    with pytest.raises(UsageError, match="not valid") as raised:
        read_reference_dir(small_set)
    assert expected in str(raised.value)


def test_several_problems_are_reported_together(small_set: Path) -> None:
    _edit(small_set, "drugs.csv", 2, "100011,0.355,2024-10-01,")
    _edit(small_set, "fee_schedule.csv", 5, "x,1,2,3,4")
    with pytest.raises(UsageError) as raised:
        read_reference_dir(small_set)
    message = str(raised.value)
    assert "drugs.csv line 2" in message
    assert "fee_schedule.csv line 5, column drg_exempt" in message
    assert "fee_schedule.csv line 5, column valid_from" in message


def test_ragged_row_is_refused_with_its_line(small_set: Path) -> None:
    _edit(small_set, "drugs.csv", 3, "100223,1.20,2024-10-01,,extra")
    with pytest.raises(UsageError, match=r"drugs.csv line 3: more fields than the header"):
        read_reference_dir(small_set)


def test_missing_or_empty_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="does not exist"):
        read_reference_dir(tmp_path / "nowhere")
    with pytest.raises(UsageError, match="holds none of the files"):
        read_reference_dir(tmp_path)


def test_partial_set_with_bom_extra_columns_and_blank_lines(tmp_path: Path) -> None:
    (tmp_path / "drugs.csv").write_bytes(
        "\ufeffcode,ceiling_price,note,valid_from,valid_to\r\n"
        "549007, 21.00 ,ยาฉีด,2024-10-01,\r\n\r\n"
        "700900,0.7,,2024-10-01,2026-09-30\r\n".encode()
    )
    (tmp_path / "funds.csv").write_text(
        "code,name,precedence,cap_per_claim,op_refer,account\n"
        "WCF,Workmen's Compensation Fund,70,50000.00,0,9990000707\n",
        encoding="utf-8",
    )
    frames = read_reference_dir(tmp_path)
    assert set(frames) == {"drugs", "funds"}
    drugs = frames["drugs"]
    assert drugs.schema == REFERENCE_SCHEMAS["drugs"]
    assert drugs["ceiling_price"].to_list() == [2100, 70]
    assert drugs["valid_to"].to_list()[0] is None
    funds = frames["funds"]
    assert funds.row(0) == (
        "WCF",
        "Workmen's Compensation Fund",
        70,
        5_000_000,
        False,
        "9990000707",
        None,
    )


# --- money -----------------------------------------------------------------------------------


def test_parse_satang_accepts_exact_decimals_only() -> None:
    texts = [
        "12",
        "12.5",
        "12.50",
        "0.29",
        "007.07",
        "-3.00",
        "12.345",
        "1,000",
        ".5",
        "12.",
        "+1",
        "",
        None,
        "1e3",
        "0.1 ",
    ]
    frame = pl.DataFrame({"t": texts}, schema={"t": pl.String})
    got = frame.select(
        plain=parse_satang(pl.col("t")), signed=parse_satang(pl.col("t"), allow_negative=True)
    )
    assert got["plain"].to_list() == [1200, 1250, 1250, 29, 707] + [None] * 10
    assert got["signed"].to_list()[5] == -300


def test_parse_scaled_to_ten_thousandths() -> None:
    frame = pl.DataFrame({"t": ["1.5521", "7.80", "23", "0.00005", "1.23456"]})
    assert frame.select(parse_scaled(pl.col("t"), 4))["t"].to_list() == [
        15521,
        78000,
        230000,
        None,
        None,
    ]


def test_format_baht_examples() -> None:
    frame = pl.DataFrame({"v": [-1205, 0, 123456789, 5, -5, None]}, schema={"v": pl.Int64})
    assert frame.select(format_baht(pl.col("v")))["v"].to_list() == [
        "-12.05",
        "0.00",
        "1234567.89",
        "0.05",
        "-0.05",
        None,
    ]


_INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)


@settings(deadline=None, max_examples=200, database=None)
@given(st.lists(_INT64, min_size=1, max_size=50))
def test_satang_round_trips_through_text(values: list[int]) -> None:
    frame = pl.DataFrame({"v": values}, schema={"v": pl.Int64})
    text = frame.select(format_baht(pl.col("v")))["v"]
    assert text.str.contains(r"^-?\d+\.\d{2}$").all()
    back = text.to_frame().select(parse_satang(pl.col("v"), allow_negative=True))["v"]
    assert back.to_list() == values


@settings(deadline=None, max_examples=100, database=None)
@given(st.lists(st.integers(min_value=0, max_value=10**15), min_size=1, max_size=50))
def test_scaled_round_trips_through_text(values: list[int]) -> None:
    frame = pl.DataFrame({"v": values}, schema={"v": pl.Int64})
    text = frame.select(format_scaled(pl.col("v"), 4))["v"]
    assert text.to_frame().select(parse_scaled(pl.col("v"), 4))["v"].to_list() == values


@settings(deadline=None, max_examples=100, database=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 10**12), st.text("0123456789", max_size=2)),
        min_size=1,
        max_size=30,
    )
)
def test_parse_satang_is_integer_arithmetic(parts: list[tuple[int, str]]) -> None:
    texts = [f"{whole}.{frac}" if frac else str(whole) for whole, frac in parts]
    expected = [whole * 100 + int(frac.ljust(2, "0") or 0) for whole, frac in parts]
    frame = pl.DataFrame({"t": texts})
    assert frame.select(parse_satang(pl.col("t")))["t"].to_list() == expected
