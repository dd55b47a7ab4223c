"""The synthetic inbox generator: layout, determinism, realism and the intended faults."""

from __future__ import annotations

import functools
import hashlib
import io
import re
import zipfile
from collections import Counter
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from clearinghouse.errors import DropRefused, UsageError
from formats.sixteen import read_sixteen
from jobs.generate import GenerateReport, generate
from jobs.synth.assign import CLAIM_CODES, DROP_CODES

AS_OF = date(2026, 10, 31)
DROP_NAME = re.compile(r"^\d{5}_16F_\d{8}_\d+(\.zip)?$")
TABLE_FILE = re.compile(r"^([A-Za-z]{3})[^A-Za-z]*\.txt$")

Drop = dict[str, pl.DataFrame]


# --- reading drops back with plain Python and Polars -------------------------------------


def _files(path: Path) -> dict[str, bytes] | None:
    if path.is_dir():
        return {p.name: p.read_bytes() for p in sorted(path.iterdir())}
    try:
        with zipfile.ZipFile(io.BytesIO(path.read_bytes())) as archive:
            return {name: archive.read(name) for name in archive.namelist()}
    except zipfile.BadZipFile:
        return None


def _table(data: bytes) -> pl.DataFrame | None:
    for encoding in ("utf-8-sig", "cp874"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        return None
    lines = [line for line in text.splitlines() if line.strip()]
    header = [h.strip() for h in lines[0].split("|")]
    rows = [[f.strip('"') for f in line.split("|")][: len(header)] for line in lines[1:]]
    rows = [r + [""] * (len(header) - len(r)) for r in rows]
    return pl.DataFrame(rows, schema=dict.fromkeys(header, pl.String), orient="row")


def read_drop(path: Path) -> Drop | None:
    """Every table of a drop by name, or None when the drop is not readable at all."""
    files = _files(path)
    if files is None:
        return None
    tables: Drop = {}
    for name, data in files.items():
        match = TABLE_FILE.match(name)
        if match is None:
            continue
        frame = _table(data)
        if frame is None:
            return None
        tables[match.group(1).upper()] = frame
    return tables


def drops_of(report: GenerateReport) -> list[Path]:
    """Every drop in the inbox (corrections included), each distinct content once."""
    return _drops_in(report.out)


@functools.cache
def _drops_in(out: Path) -> list[Path]:
    found, seen = [], set()
    for hospital in sorted((out / "inbox").iterdir()):
        for folder in (hospital, hospital / "corrections"):
            if not folder.is_dir():
                continue
            for drop in sorted(p for p in folder.iterdir() if p.name != "corrections"):
                digest = hashlib.sha256(repr(_files(drop)).encode()).hexdigest()
                if digest not in seen:
                    seen.add(digest)
                    found.append(drop)
    return found


def tables_of(report: GenerateReport) -> dict[str, pl.DataFrame]:
    """Tables of the drops not refused whole (F01-F04), concatenated, with the drop's path."""
    return _tables_in(report.out)


@functools.cache
def _tables_in(out: Path) -> dict[str, pl.DataFrame]:
    parts: dict[str, list[pl.DataFrame]] = {}
    for path in _drops_in(out):
        drop = read_drop(path)
        if drop is None or not {"INS", "PAT", "CHT", "CHA"} <= set(drop):
            continue
        if "PERSON_ID" not in drop["PAT"].columns:
            continue
        for name, frame in drop.items():
            parts.setdefault(name, []).append(frame.with_columns(drop=pl.lit(str(path))))
    return {name: pl.concat(frames, how="diagonal") for name, frames in parts.items()}


def key(frame: pl.DataFrame) -> pl.Expr:
    an = pl.col("AN") if "AN" in frame.columns else pl.lit("")
    seq = pl.col("SEQ") if "SEQ" in frame.columns else pl.lit("")
    return pl.concat_str(pl.col("drop"), pl.lit("/"), pl.when(an != "").then(an).otherwise(seq))


def check_digit_ok(pid: str) -> bool:
    if not re.fullmatch(r"\d{13}", pid):
        return False
    total = sum(int(pid[i]) * (13 - i) for i in range(12))
    return (11 - total % 11) % 10 == int(pid[12])


def as_date(text: pl.Expr) -> pl.Expr:
    """YYYYMMDD (Buddhist-era years above 2400 allowed) to a date."""
    year = text.str.slice(0, 4).cast(pl.Int32, strict=False)
    fixed = pl.when(year > 2400).then(year - 543).otherwise(year).cast(pl.String)
    return pl.concat_str(fixed, text.str.slice(4, 4)).str.to_date("%Y%m%d", strict=False)


# --- fixtures -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> GenerateReport:
    return generate(tmp_path_factory.mktemp("faulty"), claims=1500, seed=7, error_rate=0.05)


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> GenerateReport:
    return generate(tmp_path_factory.mktemp("clean"), claims=5000, seed=3, error_rate=0.0)


# --- tests ----------------------------------------------------------------------------------


def test_layout(faulty: GenerateReport) -> None:
    hospitals = pl.read_csv(faulty.reference / "hospitals.csv", infer_schema=False)
    known = set(hospitals["hcode"])
    folders = {p.name for p in faulty.inbox.iterdir()}
    assert set(faulty.drops) == folders
    assert len(folders - known) == 1  # the F07 drop's unknown hospital
    for folder in sorted(faulty.inbox.iterdir()):
        names = [p.name for p in folder.iterdir() if p.name != "corrections"]
        assert names and all(DROP_NAME.match(n) for n in names)
        written = len(names) + len(list((folder / "corrections").glob("*")))
        assert faulty.drops[folder.name] == written
    kinds = {p.suffix == ".zip" for p in faulty.inbox.glob("*/*") if p.name != "corrections"}
    assert kinds == {True, False}
    assert any(faulty.inbox.glob("*/corrections/*"))
    for name in ("hospitals", "funds", "registry", "icd10", "fee_schedule", "drugs", "drg",
                 "drg_grouping", "base_rates", "charge_categories"):
        assert (faulty.reference / f"{name}.csv").is_file()
    assert faulty.claims == 1500


def _digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    first = generate(tmp_path / "a", claims=400, seed=11, error_rate=0.1)
    again = generate(tmp_path / "b", claims=400, seed=11, error_rate=0.1)
    other = generate(tmp_path / "c", claims=400, seed=12, error_rate=0.1)
    assert _digests(first.out) == _digests(again.out)
    assert replace(again, out=first.out) == first
    digests_other = _digests(other.out)
    changed = [k for k, v in _digests(first.out).items() if digests_other.get(k) != v]
    assert len(changed) > 10


def test_refuses_a_non_empty_output(tmp_path: Path) -> None:
    (tmp_path / "inbox" / "x").mkdir(parents=True)
    with pytest.raises(UsageError):
        generate(tmp_path, claims=10)


def test_person_ids_valid_except_c01(faulty: GenerateReport, clean: GenerateReport) -> None:
    for report, expected in ((faulty, faulty.faults["C01"]), (clean, 0)):
        pat = tables_of(report)["PAT"]
        ids = pat["PERSON_ID"].to_list()
        assert sum(not check_digit_ok(p) for p in ids) == expected


def _charge_mismatches(report: GenerateReport) -> int:
    """Claims whose CHA amounts do not add up exactly to their CHT total (or lack one)."""
    t = tables_of(report)
    amount = re.compile(r"\d+(\.\d{1,2})?")
    sums: dict[str, Decimal | None] = {}
    for k, value in t["CHA"].select(key(t["CHA"]), "AMOUNT").iter_rows():
        known = sums.get(k, Decimal(0))
        sums[k] = known + Decimal(value) if known is not None and amount.fullmatch(value) else None
    totals = dict(t["CHT"].select(key(t["CHT"]), "TOTAL").iter_rows())
    return sum(1 for k in sums.keys() | totals.keys()
               if k not in sums or k not in totals or sums[k] != Decimal(totals[k]))


def test_charges_add_up_except_b04(faulty: GenerateReport, clean: GenerateReport) -> None:
    assert _charge_mismatches(clean) == 0
    mismatched = _charge_mismatches(faulty)
    # B04 always breaks the sum; an unparseable CHA amount (S04) or an orphan CHA row (S05) may.
    assert faulty.faults["B04"] <= mismatched
    assert mismatched <= faulty.faults["B04"] + faulty.faults["S04"] + faulty.faults["S05"]


def test_realistic_mix(clean: GenerateReport) -> None:
    t = tables_of(clean)
    op, ip = t["OPD"].height, t["IPD"].height
    assert 0.93 <= op / (op + ip) <= 0.97
    rights = t["INS"]["INSCL"].value_counts(normalize=True)
    share = dict(zip(rights["INSCL"], rights["proportion"], strict=True))
    assert 0.6 <= share["UCS"] <= 0.8
    assert 0.08 <= share["SSS"] <= 0.25
    assert 0.03 <= share["OFC"] <= 0.12
    assert {"LGO", "MIG", "STP", ""} <= set(share)
    items = pl.concat([t["ADP"].select(key(t["ADP"]).alias("k")),
                       t["DRU"].select(key(t["DRU"]).alias("k"))]).group_by("k").len()
    assert items["len"].min() >= 5
    assert items["len"].max() <= 15
    first = t["PAT"]["PERSON_ID"].str.slice(0, 1)
    assert first.is_in(["0", "6", "7"]).any()
    aer = t["AER"]
    assert set(aer["AETYPE"]) >= {"V", "W"}
    assert set(aer["UCAE"]) == {"A", "E"}
    assert t["ORF"].height > 0
    assert t["LVD"].height > 0
    assert t["IOP"].height > 0
    served = t["OPD"].select(as_date(pl.col("DATEOPD")).alias("d"))["d"]
    assert served.max() <= AS_OF
    recent = served.filter(served >= date(2026, 9, 1)).len() / served.len()
    assert 0.9 <= recent < 1.0
    principal = t["ODX"].filter(pl.col("DXTYPE") == "1").group_by(key(t["ODX"])).len()
    assert principal["len"].max() == 1
    assert principal.height == op


def test_every_adjusted_rw_branch_happens(clean: GenerateReport) -> None:
    t = tables_of(clean)
    ref = clean.reference
    grouping = pl.read_csv(ref / "drg_grouping.csv", infer_schema=False)
    drg = pl.read_csv(ref / "drg.csv", infer_schema=False).filter(pl.col("valid_to").is_null())
    ipd = t["IPD"].with_columns(k=key(t["IPD"]))
    pdx = t["IDX"].filter(pl.col("DXTYPE") == "1").select(key(t["IDX"]).alias("k"), "DIAG")
    procedural = t["IOP"].select(key(t["IOP"]).alias("k")).unique().with_columns(p=pl.lit("1"))
    leave = t["LVD"].group_by(key(t["LVD"]).alias("k")).agg(
        pl.col("QTYDAY").cast(pl.Int64).sum().alias("leave"))
    stays = (
        ipd.join(pdx, on="k").join(procedural, on="k", how="left").join(leave, on="k", how="left")
        .with_columns(
            adm=as_date(pl.col("DATEADM")), dsc=as_date(pl.col("DATEDSC")),
            minutes=pl.col("TIMEDSC").cast(pl.Int64) // 100 * 60 + pl.col("TIMEDSC").cast(
                pl.Int64) % 100 - pl.col("TIMEADM").cast(pl.Int64) // 100 * 60
            - pl.col("TIMEADM").cast(pl.Int64) % 100,
            p=pl.col("p").fill_null("0"))
        .with_columns(los=(pl.col("dsc") - pl.col("adm")).dt.total_days()
                      - pl.col("leave").fill_null(0),
                      stay=(pl.col("dsc") - pl.col("adm")).dt.total_days() * 1440
                      + pl.col("minutes"))
    )
    matches = [
        stays.join(grouping.filter(pl.col("pdx_prefix").str.len_chars() == n),
                   left_on=[pl.col("DIAG").str.slice(0, n), "p"],
                   right_on=["pdx_prefix", "procedural"]).with_columns(n=pl.lit(n))
        for n in range(1, 8)
    ]
    grouped = (pl.concat(matches).sort("n", descending=True).unique("k", keep="first")
               .join(drg, on="drg")
               .with_columns(pl.col("wtlos").cast(pl.Float64), pl.col("ot").cast(pl.Float64)))
    branch = (
        pl.when(pl.col("stay") < 1440).then(pl.lit("day case"))
        .when((pl.col("los") < pl.col("wtlos") / 3) & (pl.col("wtlos") > 3)).then(pl.lit("short"))
        .when((pl.col("ot") > 0) & (pl.col("los") > 3 * pl.col("ot"))).then(pl.lit(">3ot"))
        .when((pl.col("ot") > 0) & (pl.col("los") > 2 * pl.col("ot"))).then(pl.lit(">2ot"))
        .when((pl.col("ot") > 0) & (pl.col("los") > pl.col("ot"))).then(pl.lit(">ot"))
        .otherwise(pl.lit("normal"))
    )
    assert grouped.height == ipd.height
    assert set(grouped.select(branch.alias("b"))["b"]) == {
        "day case", "short", "normal", ">ot", ">2ot", ">3ot"}
    assert (stays["stay"] >= 0).all()


def test_codes_come_from_the_reference(faulty: GenerateReport) -> None:
    t = tables_of(faulty)
    ref = faulty.reference
    fees = set(pl.read_csv(ref / "fee_schedule.csv", infer_schema=False)["code"])
    drugs = set(pl.read_csv(ref / "drugs.csv", infer_schema=False)["code"])
    icd = set(pl.read_csv(ref / "icd10.csv", infer_schema=False)["code"])
    categories = set(pl.read_csv(ref / "charge_categories.csv", infer_schema=False)["code"])
    adp = t["ADP"].filter(pl.col("CODE") != "")["CODE"]
    assert (~adp.is_in(list(fees))).sum() == faulty.faults["C04"]
    assert (~t["DRU"]["DIDSTD"].is_in(list(drugs))).sum() == faulty.faults["C05"]
    assert (~t["CHA"]["CHRGITEM"].is_in(list(categories))).sum() == faulty.faults["C06"]
    diag = pl.concat([t["ODX"].select("DIAG"), t["IDX"].select("DIAG")])["DIAG"]
    assert (~diag.is_in(list(icd))).sum() >= faulty.faults["C03"]


def test_fault_counts(faulty: GenerateReport, clean: GenerateReport) -> None:
    assert set(faulty.faults) == set(DROP_CODES) | set(CLAIM_CODES)
    assert all(n >= 1 for n in faulty.faults.values())
    claim_faults = sum(faulty.faults[c] for c in CLAIM_CODES)
    assert claim_faults == pytest.approx(1500 * 0.05, abs=len(CLAIM_CODES))
    assert dict(clean.faults) == {}
    assert not any(clean.inbox.glob("99*"))


def test_registry_holds_the_insured_patients(clean: GenerateReport) -> None:
    t = tables_of(clean)
    registry = pl.read_csv(clean.reference / "registry.csv", infer_schema=False)
    assert clean.registry_rows > 0
    patients = (
        t["INS"].select("HN", "INSCL", "drop").join(
            t["PAT"].select("HN", "PERSON_ID", "drop"), on=["HN", "drop"])
        .unique(["PERSON_ID", "INSCL"])
    )
    listed = patients.join(registry.select(PERSON_ID="person_id", INSCL="fund"),
                           on=["PERSON_ID", "INSCL"], how="semi")
    others = patients.filter(~pl.col("INSCL").is_in(["", "UCS"]))
    assert others.join(listed, on="PERSON_ID", how="anti").height == 0
    ucs = patients.filter(pl.col("INSCL") == "UCS")
    unregistered = ucs.join(registry.select(PERSON_ID="person_id"), on="PERSON_ID", how="anti")
    assert 0 < unregistered.height < 0.06 * ucs.height  # Thai people in no registry (E04)
    assert patients.filter(pl.col("INSCL") == "").join(
        registry.select(PERSON_ID="person_id"), on="PERSON_ID", how="semi").height == 0


def test_the_reader_refuses_only_the_broken_drops(faulty: GenerateReport,
                                                  clean: GenerateReport) -> None:
    for report, expected in (
        (faulty, Counter({"F01": 1, "F02": 1, "F03": 1, "F04": 1})),
        (clean, Counter()),
    ):
        refused: Counter[str] = Counter()
        for drop in drops_of(report):
            try:
                read_sixteen(drop, max_bytes=1 << 30)
            except DropRefused as exc:
                refused[exc.code] += 1
        assert refused == expected


def test_progress_reports_claims_done(tmp_path: Path) -> None:
    seen: list[int] = []
    generate(tmp_path, claims=300, seed=2, error_rate=0.0, progress=seen.append)
    assert seen == sorted(seen)
    assert seen[-1] == 300
