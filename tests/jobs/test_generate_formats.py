"""``generate --format``: the same claims in every format, read back as the same canonical rows.

Each format's inbox is read back with that format's reader and compared, claim by claim, with
the 16-file inbox of the same seed: keys, dates and times, person, diagnoses, procedures,
items (kind, code, quantity, charged) and the charged total. CIPN holds the inpatient claims,
ClaimRec the outpatient ones, FHIR both.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import zipfile
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from lxml import etree

from clearinghouse.errors import DropRefused
from clearinghouse.parse import parse_amount, parse_date, parse_quantity
from formats.cipn import read_cipn_file
from formats.sixteen import RawDrop, read_sixteen
from formats.xmlsafe import check_xml
from jobs.generate import GenerateReport, generate
from jobs.synth.portable import PORTABLE_CLAIM_CODES, PORTABLE_DROP_CODES

MAX = 1 << 30
SEED = 21
CLAIMS = 400

Claims = dict[tuple[str, ...], dict[str, Any]]


# --- reading an inbox back into per-claim summaries -----------------------------------------


def _key(frame: pl.DataFrame) -> pl.Expr:
    an = pl.col("AN") if "AN" in frame.columns else pl.lit("")
    seq = pl.col("SEQ") if "SEQ" in frame.columns else pl.lit("")
    return pl.when(an != "").then(an).otherwise(seq)


def _per_claim(frame: pl.DataFrame, **values: pl.Expr) -> dict[str, list[Any]]:
    """Sorted lists of ``values`` per claim key."""
    rows = frame.select(k=_key(frame), v=pl.struct(**values)).group_by("k").agg("v")
    return {k: sorted(tuple(d.values()) for d in v) for k, v in rows.iter_rows()}


def summaries(drop: RawDrop, where: tuple[str, ...]) -> Claims:
    """Per claim (``where`` + type + key): what every format must read back the same."""
    t = drop.tables
    charged = (
        pl.when(pl.col("TOTAL") == "")
        .then(parse_quantity(pl.col("q")) * parse_amount(pl.col("r")))
        .otherwise(parse_amount(pl.col("TOTAL")))
    )
    items = pl.concat([
        t["ADP"].select("AN", "SEQ", "TOTAL", kind=pl.lit("ADP"), code="CODE", q="QTY", r="RATE"),
        t["DRU"].select("AN", "SEQ", "TOTAL", kind=pl.lit("DRU"), code="DIDSTD", q="AMOUNT",
                        r="DRUGPRIC"),
    ])  # fmt: skip
    details = {
        "dx": _per_claim(
            pl.concat([t["ODX"], t["IDX"]], how="diagonal"),
            diag=pl.col("DIAG"), principal=pl.col("DXTYPE") == "1",
        ),
        "ops": _per_claim(pl.concat([t["OOP"], t["IOP"]], how="diagonal"), oper=pl.col("OPER")),
        "items": _per_claim(
            items, kind=pl.col("kind"), code=pl.col("code"), qty=parse_quantity(pl.col("q")),
            charged=charged,
        ),
        "total": _per_claim(t["CHT"], total=parse_amount(pl.col("TOTAL"))),
        "cha": _per_claim(
            t["CHA"], category=pl.col("CHRGITEM"), amount=parse_amount(pl.col("AMOUNT"))
        ),
    }  # fmt: skip
    person = dict(t["PAT"].select("HN", "PERSON_ID").iter_rows())
    claims = pl.concat([
        t["OPD"].select(type=pl.lit("OP"), key="SEQ", hn="HN", start=parse_date(pl.col("DATEOPD")),
                        start_time="TIMEOPD", end=pl.lit(None, pl.Date), end_time=pl.lit("")),
        t["IPD"].select(type=pl.lit("IP"), key="AN", hn="HN", start=parse_date(pl.col("DATEADM")),
                        start_time="TIMEADM", end=parse_date(pl.col("DATEDSC")),
                        end_time="TIMEDSC"),
    ])  # fmt: skip
    found: Claims = {}
    for row in claims.iter_rows(named=True):
        key = row["key"]
        found[(*where, row["type"], key)] = {
            "when": (row["start"], row["start_time"], row["end"], row["end_time"]),
            "person": person.get(row["hn"]),
            "dx": details["dx"].get(key, []),
            "ops": details["ops"].get(key, []),
            "items": details["items"].get(key, []),
            "total": sum(v for (v,) in details["total"].get(key, [])),
            "categories": _by_category(details["cha"].get(key, [])),
        }
    return found


def _by_category(rows: list[tuple[str, int | None]]) -> dict[str, int | None]:
    sums: dict[str, int | None] = {}
    for category, amount in rows:
        known = sums.get(category, 0)
        sums[category] = None if known is None or amount is None else known + amount
    return sums


def drops(out: Path) -> list[tuple[tuple[str, ...], Path]]:
    """Every drop of an inbox with where it sits: (hcode, "corrections" or "")."""
    found, seen = [], set()
    for hospital in sorted((out / "inbox").iterdir()):
        for folder, kind in ((hospital, ""), (hospital / "corrections", "corrections")):
            if not folder.is_dir():
                continue
            for path in sorted(p for p in folder.iterdir() if p.name != "corrections"):
                digest = hashlib.sha256(
                    b"".join(p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file())
                    if path.is_dir() else path.read_bytes()
                ).hexdigest()  # fmt: skip
                if digest not in seen:  # an F08 copy once
                    seen.add(digest)
                    found.append(((hospital.name, kind), path))
    return found


def cipn_members(path: Path, scratch: Path) -> list[Path]:
    """A CIPN drop's files: the members of its ZIP transport (each a drop), or itself."""
    if path.suffix != ".zip":
        return [path]
    target = scratch / path.stem
    target.mkdir(parents=True)
    with zipfile.ZipFile(path) as archive:
        archive.extractall(target)
    return sorted(target.iterdir())


def read_inbox(out: Path, fmt: str, scratch: Path) -> Claims:
    """Every claim of an inbox as read back by its format's reader."""
    found: Claims = {}
    for where, path in drops(out):
        if fmt == "16files":
            found |= summaries(read_sixteen(path, max_bytes=MAX), where)
        elif fmt == "cipn":
            for member in cipn_members(path, scratch):
                found |= summaries(read_cipn_file(member, max_bytes=MAX), where)
        elif fmt == "claimrec":
            reader = pytest.importorskip("formats.claimrec")
            found |= summaries(reader.read_claimrec(path, max_bytes=MAX), where)
        else:
            reader = pytest.importorskip("formats.fhir")
            found |= summaries(reader.read_fhir(path, max_bytes=MAX), where)
    return found


@functools.cache
def _generated(fmt: str, root: Path, error_rate: float, portable: bool) -> GenerateReport:
    return generate(
        root / f"{fmt}-{error_rate}-{portable}", claims=CLAIMS, seed=SEED, error_rate=error_rate,
        fmt=fmt, portable=portable,
    )  # fmt: skip


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("formats")


def made(
    root: Path, fmt: str, *, error_rate: float = 0.0, portable: bool = False
) -> GenerateReport:
    return _generated(fmt, root, error_rate, portable)


# --- the same claims in every format --------------------------------------------------------

CARRIES = {"cipn": ("IP",), "claimrec": ("OP",), "fhir-json": ("OP", "IP"),
           "fhir-xml": ("OP", "IP")}  # fmt: skip


@pytest.mark.parametrize("portable", [False, True], ids=["drawn", "portable"])
@pytest.mark.parametrize("fmt", list(CARRIES))
def test_read_back_as_the_16_files(root: Path, fmt: str, portable: bool) -> None:
    sixteen = read_inbox(made(root, "16files", portable=portable).out, "16files", root / "x16")
    expected = {k: v for k, v in sixteen.items() if k[2] in CARRIES[fmt]}
    report = made(root, fmt, portable=portable)
    got = read_inbox(report.out, fmt, root / f"x-{fmt}-{portable}")
    assert got.keys() == expected.keys()
    assert expected  # the format's claims are there at all
    for ident, claim in expected.items():
        assert got[ident] == claim, ident
    assert all(c["total"] == sum(c["categories"].values()) for c in got.values())
    regular = sum(1 for (_, where, *_) in expected if where == "")
    assert report.claims == regular


# --- what each format writes ------------------------------------------------------------------


def test_names_and_layout(root: Path) -> None:
    expected = {"cipn": {".zip", ".xml"}, "claimrec": {".zip"}, "fhir-json": {".json"},
                "fhir-xml": {".xml"}}  # fmt: skip
    tags = {"cipn": "CIPN", "claimrec": "CLAIMREC", "fhir-json": "FHIR", "fhir-xml": "FHIR"}
    for fmt, suffixes in expected.items():
        report = made(root, fmt, error_rate=0.1)
        paths = [p for p in (report.out / "inbox").glob("*/*") if p.name != "corrections"]
        paths += list((report.out / "inbox").glob("*/corrections/*"))
        assert {p.suffix for p in paths} <= suffixes
        assert all(f"_{tags[fmt]}_" in p.name for p in paths)
        assert sum(report.drops.values()) == len(paths)
        assert report.format == fmt


def test_claimrec_envelopes_are_checked_xml(root: Path) -> None:
    """Every envelope passes F06/F02/F05 and its RECCOUNT counts its first section."""
    encodings: Counter[str] = Counter()
    for _, path in drops(made(root, "claimrec").out):
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            assert names[0].startswith("BILLTRAN") and names[-1].startswith("OPServices")
            for name in names:
                data = archive.read(name)
                doc = check_xml(data, signed_from_root=False)
                encodings[doc.codec] += 1
                tree = etree.fromstring(data)
                first = tree[1]
                rows = [r for r in (first.text or "").splitlines() if r.strip()]
                assert tree.findtext("Header/RECCOUNT") == str(len(rows))
    assert set(encodings) == {"cp874", "utf-8"}


def _fhir_claims(path: Path) -> list[dict[str, Any]]:
    if path.suffix == ".json":
        bundle = json.loads(path.read_bytes(), parse_float=Decimal)
        return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Claim"]
    ns = {"f": "http://hl7.org/fhir"}
    tree = etree.parse(io.BytesIO(path.read_bytes()))
    found = []
    for claim in tree.iterfind(".//f:entry/f:resource/f:Claim", ns):
        total = claim.find("f:total/f:value", ns)
        nets = [Decimal(v.get("value")) for v in claim.iterfind("f:item/f:net/f:value", ns)]
        found.append({"total": {"value": Decimal(total.get("value"))},
                      "item": [{"net": {"value": n}} for n in nets]})  # fmt: skip
    return found


@pytest.mark.parametrize("fmt", ["fhir-json", "fhir-xml"])
def test_fhir_bundles_parse_and_add_up(root: Path, fmt: str) -> None:
    report = made(root, fmt)
    claims = [c for _, p in drops(report.out) for c in _fhir_claims(p)]
    assert len(claims) == report.claims + report.extra_claims
    for claim in claims:
        assert sum(i["net"]["value"] for i in claim["item"]) == claim["total"]["value"]


def test_cipn_documents_are_checked_xml(root: Path, tmp_path: Path) -> None:
    """Every admission passes F06/F02/F05; Windows-874 or UTF-8 as the drop's style says."""
    report = generate(
        tmp_path / "out", claims=600, hospitals=6, seed=SEED, error_rate=0.0, fmt="cipn"
    )
    codecs: Counter[str] = Counter()
    for _, path in drops(report.out):
        for member in cipn_members(path, tmp_path / "members"):
            codecs[check_xml(member.read_bytes()).codec] += 1
    assert set(codecs) == {"cp874", "utf-8"}
    assert sum(codecs.values()) == report.claims + report.extra_claims


# --- faults -----------------------------------------------------------------------------------


def _refusal(path: Path, scratch: Path) -> str | None:
    """The code every file of a CIPN drop is refused with (None: accepted)."""
    try:
        members = cipn_members(path, scratch)
    except zipfile.BadZipFile:
        return "F01"
    codes = set()
    for member in members:
        try:
            read_cipn_file(member, max_bytes=MAX)
            codes.add(None)
        except DropRefused as exc:
            codes.add(exc.code)
    assert len(codes) == 1, (path, codes)
    return codes.pop()


def test_cipn_faults_read_back(root: Path, tmp_path: Path) -> None:
    report = made(root, "cipn", error_rate=0.1)
    refused: Counter[str] = Counter()
    claims: list[RawDrop] = []
    for _, path in drops(report.out):
        code = _refusal(path, tmp_path / path.name)
        if code is not None:
            refused[code] += 1
        elif path.parent.name != "99999":
            claims += [
                read_cipn_file(m, max_bytes=MAX)
                for m in cipn_members(path, tmp_path / "ok" / path.name)
            ]
    assert refused == Counter({c: report.faults[c] for c in ("F01", "F02", "F03", "F04")})
    ipd = pl.concat([d.tables["IPD"] for d in claims])
    pat = pl.concat([d.tables["PAT"] for d in claims])
    assert ipd["s01"].sum() == report.faults.get("S01", 0)
    assert (pat["PERSON_ID"] == "").sum() == report.faults.get("S02", 0)
    assert set(report.faults) <= {*PORTABLE_CLAIM_CODES, *PORTABLE_DROP_CODES, "B05", "B06",
                                  "B10", "F02", "S01", "S02", "S03", "S04"}  # fmt: skip
    assert "B04" not in report.faults  # said as B10


def test_format_does_not_change_the_draw(root: Path) -> None:
    """The faults of the claims every format carries are the 16 files' faults."""
    sixteen = made(root, "16files", error_rate=0.1)
    fhir = made(root, "fhir-json", error_rate=0.1)
    shared = {"B01", "B02", "B03", "B04", "B05", "B06", "B07", "C01", "C02", "C03", "C04", "C05",
              "C06", "K01", "K02", "K03", "S02", "S03", "S04", "S06", "S07", "F03", "F04", "F07",
              "F08"}  # fmt: skip
    assert {c: n for c, n in fhir.faults.items() if c in shared} == {
        c: n for c, n in sixteen.faults.items() if c in shared
    }
    assert fhir.claims == sixteen.claims


def test_portable_draws_only_what_every_format_carries(root: Path) -> None:
    report = made(root, "16files", error_rate=0.1, portable=True)
    assert report.portable
    assert set(report.faults) <= {*PORTABLE_CLAIM_CODES, *PORTABLE_DROP_CODES}
    assert set(report.faults) >= {"C02", "S07", "K02", "F03"}
    tables: dict[str, list[pl.DataFrame]] = {}
    for _, path in drops(report.out):
        try:
            drop = read_sixteen(path, max_bytes=MAX)
        except DropRefused:
            continue
        for name, frame in drop.tables.items():
            tables.setdefault(name, []).append(frame)
    t = {name: pl.concat(frames) for name, frames in tables.items()}
    assert t["ORF"].is_empty() and t["IRF"].is_empty() and t["LVD"].is_empty()
    assert not set(t["AER"]["AETYPE"]) & {"V", "W"}
    assert set(t["CHA"]["CHRGITEM"]) <= {f"{c}1" for c in "123456789ABCDEFGH"}
    inpatient = t["INS"].filter(pl.col("AN") != "")
    assert not inpatient.is_empty()
    assert set(inpatient["INSCL"]) <= {"OFC", "SSS"}  # what CIPN/AIPN can state
    assert set(t["INS"]["INSCL"]) <= {"OFC", "SSS", ""}  # and ClaimRec


# --- determinism ------------------------------------------------------------------------------


def _digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*")) if p.is_file()
    }  # fmt: skip


@pytest.mark.parametrize("fmt", list(CARRIES))
def test_same_arguments_same_bytes(root: Path, tmp_path: Path, fmt: str) -> None:
    first = made(root, fmt, error_rate=0.1)
    again = generate(tmp_path, claims=CLAIMS, seed=SEED, error_rate=0.1, fmt=fmt)
    assert _digests(first.out) == _digests(again.out)
    assert again.faults == first.faults
