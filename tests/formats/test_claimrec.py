"""The outpatient ClaimRec reader: envelopes onto the raw tables (docs/formats.md §3), chained
keys across envelopes, the drop checks in their order, bounded reading, and the claims the
judge makes of them against the worked example's reference set."""

from __future__ import annotations

import datetime as dt
import hashlib
import time
import tracemalloc
import zipfile
from pathlib import Path
from tempfile import TemporaryDirectory

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clearinghouse.errors import DropRefused
from clearinghouse.judge import Judgement, judge_drop
from clearinghouse.schema import TABLES, raw_schema
from formats.claimrec import read_claimrec
from formats.sixteen import RawDrop
from pricing.reference import read_reference_dir
from tests.formats.claimrec_docs import (
    BILL_ITEM_ROWS,
    BILLTRAN_ROWS,
    DISPENSED_ROWS,
    DISPENSING_ROWS,
    FIRST_ROW,
    HCODE,
    MEMBERS,
    OPDX_ROWS,
    SERVICE_ROWS,
    clean_drop,
    envelope,
    row,
    write_zip,
)

REFERENCE_DIR = Path(__file__).parents[1] / "cases" / "two-drops" / "reference"
RECEIVED = dt.date(2026, 11, 1)
MAX = 1 << 30
BILLS, DISP, SERV = MEMBERS["bills"], MEMBERS["dispensing"], MEMBERS["services"]

Members = dict[str, bytes]


def read(tmp_path: Path, members: Members, max_bytes: int = MAX) -> RawDrop:
    return read_claimrec(write_zip(tmp_path / "drop.zip", members), max_bytes=max_bytes)


def refusal(path: Path, max_bytes: int = MAX) -> DropRefused:
    with pytest.raises(DropRefused) as caught:
        read_claimrec(path, max_bytes=max_bytes)
    return caught.value


def rows(raw: RawDrop, table: str, *columns: str) -> list[tuple[object, ...]]:
    return raw.tables[table].select(columns or raw_schema(table).names()).rows()


def resign(data: bytes) -> bytes:
    """``data`` (an envelope, possibly edited) with its checksum made right again."""
    body = data.rsplit(b"<?EndNote", 1)[0]
    digest = hashlib.md5(body, usedforsecurity=False).hexdigest().upper()
    return body + f'<?EndNote Checksum="{digest}"?>\r\n'.encode()


@pytest.fixture(scope="module")
def reference() -> dict[str, pl.DataFrame]:
    return read_reference_dir(REFERENCE_DIR)


# --- the mapping -------------------------------------------------------------------------------


def test_three_envelopes_become_the_raw_tables_of_the_16_files(tmp_path: Path) -> None:
    raw = read(tmp_path, {**clean_drop(), "readme.pdf": b"%PDF-1.4"})
    for name, frame in raw.tables.items():
        assert frame.schema == raw_schema(name), name
    b1, b2 = (BILLS, FIRST_ROW, False), (BILLS, FIRST_ROW + 1, False)
    hn1, hn2 = "500001|INV6910001", "500002|INV6910002"
    assert rows(raw, "OPD") == [
        (hn1, "", "20261005", "0930", "INV6910001", *b1),
        (hn2, "", "20261005", "2210", "INV6910002", *b2),
    ]
    # Hcode empty on the second bill: the Header's; no birth date, sex or nation (not carried).
    assert rows(raw, "PAT") == [
        (HCODE, hn1, "", "", "", "3053318123425", *b1),
        (HCODE, hn2, "", "", "", "5669725102733", *b2),
    ]
    # PayPlan CS on the row, then empty on the row: the root's PayPlan CS.
    assert rows(raw, "INS") == [
        (hn1, "OFC", "3053318123425", HCODE, "", "INV6910001", *b1),
        (hn2, "OFC", "5669725102733", HCODE, "", "INV6910002", *b2),
    ]
    assert rows(raw, "CHT") == [
        (hn1, "", "INV6910001", "20261005", "143.50", *b1),
        (hn2, "", "INV6910002", "20261005", "1200.00", *b2),
    ]
    items = FIRST_ROW + len(BILLTRAN_ROWS) + 2
    assert rows(raw, "CHA", "SEQ", "CHRGITEM", "AMOUNT", "HN", "AN", "file", "line") == [
        ("INV6910001", "C1", "50.00", "", "", BILLS, items),
        ("INV6910001", "71", "90.00", "", "", BILLS, items + 1),
        ("INV6910001", "31", "3.50", "", "", BILLS, items + 2),  # a drug: a charge only
        ("INV6910002", "B1", "1200.00", "", "", BILLS, items + 3),
    ]
    assert rows(raw, "ADP", "SEQ", "TYPE", "CODE", "QTY", "RATE", "TOTAL", "line") == [
        ("INV6910001", "", "55020", "1", "50.00", "50.00", items),
        ("INV6910001", "", "30201", "1", "90.00", "90.00", items + 1),
        ("INV6910002", "", "42501", "2", "600.00", "1200.00", items + 3),
    ]
    # DispensedItems reach their bill through Dispensing; the supply (PrdCat 6) makes no row.
    dispensed = FIRST_ROW + len(DISPENSING_ROWS) + 2
    assert rows(raw, "DRU") == [
        (HCODE, "", "", "INV6910001", "100011", "10", "0.35", "3.50", DISP, dispensed, False)
    ]
    assert rows(raw, "OOP") == [("INV6910002", "8659", "", SERV, FIRST_ROW + 1, False)]
    assert rows(raw, "AER") == [("", "", "INV6910002", "E", "", SERV, FIRST_ROW + 1, False)]
    dx = FIRST_ROW + len(SERVICE_ROWS) + 2
    assert rows(raw, "ODX") == [
        ("INV6910001", "J069", "1", "", SERV, dx, False),
        ("INV6910001", "I10", "4", "", SERV, dx + 1, False),
        ("INV6910002", "S0600", "1", "", SERV, dx + 2, False),
    ]
    for table in ("IPD", "IDX", "IOP", "ORF", "IRF", "LVD"):
        assert raw.tables[table].is_empty(), table
    assert raw.rows_read == {
        "INS": 2, "PAT": 2, "OPD": 2, "ODX": 3, "OOP": 1, "CHT": 2, "CHA": 4, "ADP": 3,
        "DRU": 1, "AER": 1,
    }  # fmt: skip
    assert raw.files == {
        **dict.fromkeys(("INS", "PAT", "OPD", "CHT", "CHA", "ADP"), BILLS),
        "DRU": DISP,
        **dict.fromkeys(("ODX", "OOP", "AER"), SERV),
    }
    assert raw.ignored_files == ["readme.pdf"]
    assert ("PAT", "DOB") in raw.absent
    assert raw.raised.is_empty()


def test_a_lone_bills_envelope_is_a_drop_of_one_envelope(tmp_path: Path) -> None:
    path = tmp_path / "BILLTRAN20261006.xml"
    path.write_bytes(envelope("bills", BILLTRAN_ROWS, BILL_ITEM_ROWS, payplan="SS"))
    raw = read_claimrec(path, max_bytes=MAX)
    assert set(raw.files.values()) == {path.name}
    assert raw.tables["OPD"]["file"].to_list() == [path.name, path.name]
    assert raw.tables["INS"]["INSCL"].to_list() == ["OFC", "SSS"]  # row CS; root SS
    assert raw.tables["DRU"].is_empty() and raw.tables["ODX"].is_empty()
    assert set(raw.rows_read) == {"INS", "PAT", "OPD", "CHT", "CHA", "ADP"}


def test_members_in_folders_are_named_by_their_base_name(tmp_path: Path) -> None:
    drop = clean_drop()
    raw = read(tmp_path, {f"10713_CSOPBIL/{name}": data for name, data in drop.items()})
    assert raw.files["OPD"] == BILLS
    assert raw.tables["DRU"]["file"].to_list() == [DISP]


@pytest.mark.parametrize("payplan", ["SS", "ss", "XX", ""])
def test_the_right_claimed_follows_payplan(tmp_path: Path, payplan: str) -> None:
    bill = BILLTRAN_ROWS[0].replace("|CS|", f"|{payplan}|")
    raw = read(tmp_path, {BILLS: envelope("bills", [bill], BILL_ITEM_ROWS[:3], payplan="")})
    assert raw.tables["INS"]["INSCL"].to_list() == [{"SS": "SSS", "ss": "SSS"}.get(payplan, "")]


@pytest.mark.parametrize(("encoding", "eol"), [("UTF-8", "\r\n"), ("windows-874", "\n")])
def test_encodings_and_line_ends_read_the_same(tmp_path: Path, encoding: str, eol: str) -> None:
    expected = read(tmp_path, clean_drop()).tables
    drop = {
        BILLS: envelope("bills", BILLTRAN_ROWS, BILL_ITEM_ROWS, encoding=encoding, eol=eol),
        DISP: envelope("dispensing", DISPENSING_ROWS, DISPENSED_ROWS, encoding=encoding, eol=eol),
        SERV: envelope("services", SERVICE_ROWS, OPDX_ROWS, encoding=encoding, eol=eol),
    }
    raw = read(tmp_path, drop)
    for table, frame in expected.items():
        assert raw.tables[table].equals(frame), table


def test_rows_with_fewer_fields_are_s01_more_are_accepted(tmp_path: Path) -> None:
    short_bill = BILLTRAN_ROWS[0].rsplit("|", 1)[0]  # OtherPay left out
    long_item = BILL_ITEM_ROWS[0] + "|appended by a newer exporter"
    short_item = "|".join(BILL_ITEM_ROWS[1].split("|")[:9])  # up to ChargeAmt
    short_disp = "|".join(DISPENSING_ROWS[0].split("|")[:3])  # ProviderID|DispID|Invno
    raw = read(
        tmp_path,
        {
            BILLS: envelope(
                "bills",
                [short_bill, BILLTRAN_ROWS[1]],
                [long_item, short_item, *BILL_ITEM_ROWS[2:]],
            ),
            DISP: envelope("dispensing", [short_disp], DISPENSED_ROWS),
        },
    )
    for table in ("OPD", "PAT", "INS", "CHT"):
        assert raw.tables[table]["s01"].to_list() == [True, False], table
    assert rows(raw, "CHA", "AMOUNT", "s01") == [
        ("50.00", False), ("90.00", True), ("3.50", False), ("1200.00", False)
    ]  # fmt: skip
    assert rows(raw, "ADP", "CODE", "s01")[:2] == [("55020", False), ("30201", True)]
    # A short link row taints the rows that reach their bill through it.
    assert rows(raw, "DRU", "SEQ", "HCODE", "s01") == [("INV6910001", HCODE, True)]


# --- chained keys and orphans ------------------------------------------------------------------


def test_chained_keys_and_orphans(tmp_path: Path, reference: dict[str, pl.DataFrame]) -> None:
    dispensing = [
        *DISPENSING_ROWS,
        row(HCODE, "DSP002", "INV0000404", "500009", ""),  # a bill not in the drop
        row(HCODE, "DSP001", "INV6910002", "500002", ""),  # a second DSP001: the first counts
    ]
    dispensed = [
        DISPENSED_ROWS[0],
        DISPENSED_ROWS[0].replace("DSP001|", "DSP999|", 1),  # no such dispensing
        DISPENSED_ROWS[0].replace("DSP001|", "|", 1),  # no link at all
        DISPENSED_ROWS[0].replace("DSP001|", "DSP002|", 1),
    ]
    services = [
        *SERVICE_ROWS,
        SERVICE_ROWS[1].replace("INV6910002|SV002", "INV0000404|SV404"),  # OP, TypeIn 4
    ]
    opdx = [*OPDX_ROWS, row("OP", "SV999", "1", "IT", "J18.9", "ปอดบวม"), row("OP", "SV404", "1")]
    raw = read(
        tmp_path,
        {
            BILLS: envelope("bills", BILLTRAN_ROWS, BILL_ITEM_ROWS),
            DISP: envelope("dispensing", dispensing, dispensed),
            SERV: envelope("services", services, opdx),
        },
    )
    at = FIRST_ROW + len(dispensing) + 2
    assert rows(raw, "DRU", "SEQ", "HCODE", "line") == [
        ("INV6910001", HCODE, at),
        ("|Dispensing:DSP999", "", at + 1),
        ("", "", at + 2),
        ("INV0000404", HCODE, at + 3),
    ]
    dx = FIRST_ROW + len(services) + 2
    assert rows(raw, "ODX", "SEQ", "line")[3:] == [
        ("|OPServices:SV999", dx + 3), ("INV0000404", dx + 4)
    ]  # fmt: skip
    # The service of the absent bill makes no OOP or AER row: its line shows through its OPDx.
    assert rows(raw, "OOP", "SEQ") == [("INV6910002",)] == rows(raw, "AER", "SEQ")

    judged = judge(raw, reference)
    assert judged.orphans.sort("file", "line").rows() == [
        (DISP, at + 1, "S05"), (DISP, at + 2, "S02"), (DISP, at + 3, "S05"),
        (SERV, dx + 3, "S05"), (SERV, dx + 4, "S05"),
    ]  # fmt: skip
    assert judged.claims["status"].to_list() == ["A", "A"]


def test_orphan_bill_lines_are_listed_once(
    tmp_path: Path, reference: dict[str, pl.DataFrame]
) -> None:
    keyless = BILLTRAN_ROWS[1].replace("INV6910002", "")
    stray = BILL_ITEM_ROWS[0].replace("INV6910001", "INV0000404")  # also a fee-schedule line
    raw = read(tmp_path, {BILLS: envelope("bills", [BILLTRAN_ROWS[0], keyless], [stray])})
    # No synthesised row for the keyless bill, no ADP row for the stray line.
    assert raw.tables["PAT"].height == raw.tables["INS"].height == raw.tables["CHT"].height == 1
    assert raw.tables["ADP"].is_empty()
    judged = judge(raw, reference)
    assert judged.orphans.rows() == [
        (BILLS, FIRST_ROW + 1, "S02"), (BILLS, FIRST_ROW + 4, "S05")
    ]  # fmt: skip


def test_a_repeated_bill_is_s06_without_a_spurious_patient(
    tmp_path: Path, reference: dict[str, pl.DataFrame]
) -> None:
    drop = clean_drop()
    drop[BILLS] = envelope("bills", [*BILLTRAN_ROWS, BILLTRAN_ROWS[0]], BILL_ITEM_ROWS)
    raw = read(tmp_path, drop)
    assert raw.tables["PAT"].height == 2
    judged = judge(raw, reference)
    assert outcome(judged, "INV6910001") == ("C", ["B04", "S06"])  # Amount counted twice
    assert judged.orphans.is_empty()


# --- refusals ----------------------------------------------------------------------------------


def edited(kind: str, **changes: object) -> Members:
    """The clean drop with one envelope built with ``changes``."""
    drop = clean_drop()
    sections = {
        "bills": (BILLTRAN_ROWS, BILL_ITEM_ROWS),
        "dispensing": (DISPENSING_ROWS, DISPENSED_ROWS),
        "services": (SERVICE_ROWS, OPDX_ROWS),
    }[kind]
    drop[MEMBERS[kind]] = envelope(kind, *sections, **changes)  # type: ignore[arg-type]
    return drop


def tampered(data: bytes) -> bytes:
    return data.replace("นายสมชาย".encode("cp874"), "นายสมชัย".encode("cp874"))


def without(*names: str) -> Members:
    return {name: data for name, data in clean_drop().items() if name not in names}


def section_less() -> bytes:
    data = envelope("services", SERVICE_ROWS, OPDX_ROWS)
    return resign(data.replace(b"OPServices>", b"Services>").replace(b"OPDx>", b"Dx>"))


CIPN_ROOT = resign(envelope("bills", BILLTRAN_ROWS, root="CIPN"))
DTD = '<!DOCTYPE ClaimRec [<!ENTITY lol "lol">]>'
LAUGHS = (
    '<!DOCTYPE ClaimRec [<!ENTITY a "lollollollollol">'
    + "".join(
        f'<!ENTITY {n} "{("&" + p + ";") * 10}">'
        for p, n in zip("abcdefgh", "bcdefghi", strict=True)
    )
    + "]>"
)
EXTERNAL = '<!DOCTYPE ClaimRec [<!ENTITY x SYSTEM "file:///etc/passwd">]>'

REFUSALS = [
    ("two-bills-envelopes", {**clean_drop(), "BILLTRAN20261007.txt": clean_drop()[BILLS]}, "F01"),
    ("same-name-twice", {"a/" + BILLS: clean_drop()[BILLS], "b/" + BILLS: b"<x/>"}, "F01"),
    ("zip-slip", {**clean_drop(), "../" + SERV: clean_drop()[SERV]}, "F01"),
    ("absolute-path", {**clean_drop(), "/tmp/x.txt": b"<x/>"}, "F01"),
    ("system-ip", edited("bills", system="IP"), "F01"),
    ("root-cipn", {BILLS: CIPN_ROOT}, "F01"),
    ("dtd", edited("dispensing", doctype=DTD), "F06"),
    ("external-entity", edited("services", doctype=EXTERNAL), "F06"),
    (
        "billion-laughs",
        {
            **clean_drop(),
            BILLS: edited("bills", doctype=LAUGHS)[BILLS].replace(b">0001<", b">&i;<"),
        },
        "F06",
    ),
    (
        "not-well-formed",
        {**without(SERV), SERV: resign(b"<ClaimRec><OPServices></ClaimRec>")},
        "F06",
    ),
    ("undeclared-encoding", edited("bills", encoding="ISO-8859-1"), "F02"),
    ("bad-checksum", edited("bills", checksum="0" * 32), "F05"),
    ("tampered", {**clean_drop(), BILLS: tampered(clean_drop()[BILLS])}, "F05"),
    ("no-trailer", edited("services", trailer=False), "F05"),
    ("bills-reccount", edited("bills", reccount="3"), "F04"),
    ("no-bills", without(BILLS), "F03"),
    ("no-envelope-at-all", {"readme.txt": b"hello"}, "F03"),
    ("no-first-section", {**clean_drop(), SERV: section_less()}, "F03"),
    ("wrong-reccount", edited("dispensing", reccount="2"), "F04"),
    ("missing-reccount", edited("services", no_reccount=True), "F04"),
    ("non-numeric-reccount", edited("bills", reccount="two"), "F04"),
]


@pytest.mark.parametrize(
    ("members", "code"), [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS]
)
def test_refusals(tmp_path: Path, members: Members, code: str) -> None:
    assert refusal(write_zip(tmp_path / "drop.zip", members)).code == code


ORDER = [
    # F01 (two of a kind, seen before any envelope is checked) before F05.
    ("f01-before-f05", {"x.txt": tampered(clean_drop()[BILLS]), **clean_drop()}, "F01"),
    # F05 of any envelope before F03 (no bills) and F04.
    ("f05-before-f03", {DISP: envelope("dispensing", DISPENSING_ROWS, checksum="A" * 32)}, "F05"),
    (
        "f05-before-f04",
        {
            **edited("bills", reccount="9"),
            SERV: envelope("services", SERVICE_ROWS, checksum="0" * 32),
        },
        "F05",
    ),
    ("f03-before-f04", {DISP: envelope("dispensing", DISPENSING_ROWS, reccount="7")}, "F03"),
]


@pytest.mark.parametrize(("members", "code"), [r[1:] for r in ORDER], ids=[r[0] for r in ORDER])
def test_checks_run_in_the_order_of_the_spec(tmp_path: Path, members: Members, code: str) -> None:
    assert refusal(write_zip(tmp_path / "drop.zip", members)).code == code


def test_a_section_named_in_a_comment_does_not_make_the_kind(tmp_path: Path) -> None:
    drop = edited("dispensing", doctype="<!-- not a <BILLTRAN> section -->")
    raw = read(tmp_path, drop)
    assert raw.tables["DRU"]["file"].to_list() == [DISP]


def test_a_lone_dispensing_or_services_envelope_is_f03(tmp_path: Path) -> None:
    path = tmp_path / "BILLDISP20261006.xml"
    path.write_bytes(envelope("dispensing", DISPENSING_ROWS, DISPENSED_ROWS))
    error = refusal(path)
    assert error.code == "F03"
    assert "no bills envelope" in error.message


@pytest.mark.parametrize("content", [b"HN|SEQ\n1|2\n", b""])
def test_a_file_that_is_neither_zip_nor_xml_is_f01(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "drop.txt"
    path.write_bytes(content)
    assert refusal(path).code == "F01"


def test_a_folder_or_a_drop_over_the_maximum_is_f01(tmp_path: Path) -> None:
    assert refusal(tmp_path).code == "F01"
    path = write_zip(tmp_path / "drop.zip", clean_drop())
    assert refusal(path, max_bytes=100).code == "F01"


def _bomb(tmp_path: Path) -> Path:
    """A bills envelope padded with 64 MiB of spaces: a ZIP of about 64 KiB."""
    data = envelope("bills", BILLTRAN_ROWS, BILL_ITEM_ROWS)
    head, tail = data.split(b"<BILLTRAN>", 1)
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(BILLS, head + b" " * (64 << 20) + b"<BILLTRAN>" + tail)
    return path


def test_a_zip_bomb_is_f01_within_seconds(tmp_path: Path) -> None:
    path = _bomb(tmp_path)
    assert path.stat().st_size < 1 << 20
    started = time.perf_counter()
    error = refusal(path, max_bytes=1 << 20)
    assert error.code == "F01"
    assert "unpacks to" in error.message
    assert time.perf_counter() - started < 5


def test_a_zip_bomb_lying_about_its_size_is_f01_within_seconds(tmp_path: Path) -> None:
    data = bytearray(_bomb(tmp_path).read_bytes())
    # Declare 1,000 bytes unpacked in the local header and the central directory.
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = data.find(signature) + offset
        data[at : at + 4] = (1000).to_bytes(4, "little")
    path = tmp_path / "liar.zip"
    path.write_bytes(bytes(data))
    started = time.perf_counter()
    assert refusal(path, max_bytes=1 << 20).code == "F01"
    assert time.perf_counter() - started < 5


# --- judged ------------------------------------------------------------------------------------


def judge(raw: RawDrop, reference: dict[str, pl.DataFrame]) -> Judgement:
    return judge_drop(
        raw.tables, hcode=HCODE, received=RECEIVED, reference=reference, raised=raw.raised,
        absent=raw.absent,
    )  # fmt: skip


def outcome(judged: Judgement, key: str) -> tuple[str, list[str]]:
    claim = judged.claims.filter(pl.col("claim_key") == key)
    assert claim.height == 1
    return claim["status"].item(), sorted(claim["codes"].item())


def test_clean_claimrec_claims_are_accepted(
    tmp_path: Path, reference: dict[str, pl.DataFrame]
) -> None:
    raw = read(tmp_path, clean_drop())
    judged = judge(raw, reference)
    assert outcome(judged, "INV6910001") == ("A", [])
    assert outcome(judged, "INV6910002") == ("A", [])
    assert judged.claims.select("claim_type", "file", "line").rows() == [
        ("OP", BILLS, FIRST_ROW), ("OP", BILLS, FIRST_ROW + 1)
    ]  # fmt: skip
    # Without ``absent`` the missing birth date would reject every claim (S02).
    blind = judge_drop(raw.tables, hcode=HCODE, received=RECEIVED, reference=reference)
    assert outcome(blind, "INV6910001") == ("C", ["S02"])


def test_b04_when_amount_is_not_the_sum_of_the_bill_items(
    tmp_path: Path, reference: dict[str, pl.DataFrame]
) -> None:
    bill = BILLTRAN_ROWS[0].replace("|143.50|", "|150.00|", 1)
    drop = clean_drop()
    drop[BILLS] = envelope("bills", [bill, BILLTRAN_ROWS[1]], BILL_ITEM_ROWS)
    raw = read(tmp_path, drop)
    judged = judge(raw, reference)
    assert outcome(judged, "INV6910001") == ("C", ["B04"])
    assert outcome(judged, "INV6910002") == ("A", [])


def test_without_services_no_claim_has_a_diagnosis(
    tmp_path: Path, reference: dict[str, pl.DataFrame]
) -> None:
    judged = judge(read(tmp_path, without(SERV)), reference)
    assert outcome(judged, "INV6910001") == ("C", ["C02"])


# --- properties and size -----------------------------------------------------------------------


def visit(n: int, items: int, drugs: int, diagnoses: int) -> dict[str, list[str]]:
    """The rows of one generated visit, by section."""
    inv, disp, sv = f"INV{n:07d}", f"DSP{n:05d}", f"SV{n:05d}"
    amount = f"{10 * items}.00"
    return {
        "BILLTRAN": [row("01", "", "2026-10-05T09:30:00", HCODE, inv, "", f"HN{n}", "", amount,
                         "0.00", "", "A", "3053318123425", "ชื่อ", HCODE, "CS", amount, "", "")],
        "BillItems": [row(inv, "2026-10-05", "C", "", "55020", "บริการ", "1", "10.00", "10.00",
                          "", "", "", "OP1") for _ in range(items)],
        "Dispensing": [row(HCODE, disp, inv, f"HN{n}")] if drugs else [],
        "DispensedItems": [row(disp, "1", "", "100011", *[""] * 5, "1", "0.35", "0.35")
                           for _ in range(drugs)],
        "OPServices": [row(inv, sv, "OP", HCODE, f"HN{n}", *[""] * 12, "96.04")]
        if diagnoses else [],
        "OPDx": [row("EC", sv, "1" if i == 0 else "4", "IT", "J06.9") for i in range(diagnoses)],
    }  # fmt: skip


def drop_of(visits: list[dict[str, list[str]]], order: list[str]) -> Members:
    def rows_of(section: str) -> list[str]:
        return [line for v in visits for line in v[section]]

    members = {
        BILLS: envelope("bills", rows_of("BILLTRAN"), rows_of("BillItems")),
        DISP: envelope("dispensing", rows_of("Dispensing"), rows_of("DispensedItems")),
        SERV: envelope("services", rows_of("OPServices"), rows_of("OPDx")),
    }
    return {name: members[name] for name in order}


def canonical(tables: list[dict[str, pl.DataFrame]]) -> dict[str, list[tuple[object, ...]]]:
    """The rows of every table without their positions, in a fixed order."""
    return {
        table: sorted(pl.concat([t[table] for t in tables]).drop("file", "line").rows())
        for table in TABLES
    }


@settings(max_examples=20, deadline=None)
@given(
    shapes=st.lists(
        st.tuples(st.integers(0, 3), st.integers(0, 2), st.integers(0, 2)), min_size=1, max_size=6
    ),
    data=st.data(),
)
def test_any_split_of_the_visits_into_drops_gives_the_same_frames(
    shapes: list[tuple[int, int, int]], data: st.DataObject
) -> None:
    visits = [visit(n, *shape) for n, shape in enumerate(shapes, start=1)]
    parts = data.draw(st.lists(st.integers(0, 2), min_size=len(visits), max_size=len(visits)))
    order = data.draw(st.permutations([BILLS, DISP, SERV]))
    with TemporaryDirectory() as folder:
        whole = read(Path(folder), drop_of(visits, [BILLS, DISP, SERV])).tables
        shuffled = read(Path(folder), drop_of(visits, order)).tables
        split = []
        for part in sorted(set(parts)):
            mine = [v for v, p in zip(visits, parts, strict=True) if p == part]
            split.append(read(Path(folder), drop_of(mine, order)).tables)
    assert canonical([whole]) == canonical(split)
    for table, frame in whole.items():  # member order changes nothing, positions included
        assert shuffled[table].equals(frame), table


def test_fifty_thousand_bills_read_in_bounded_memory(tmp_path: Path) -> None:
    bills = [
        row("01", "", "2026-10-05T09:30:00", HCODE, f"INV{n:07d}", "", f"HN{n}", "", "20.00",
            "0.00", "", "A", "3053318123425", "นายสมชาย ใจดี", HCODE, "CS", "20.00", "", "")
        for n in range(50_000)
    ]  # fmt: skip
    items = [
        row(f"INV{n:07d}", "2026-10-05", "C", "", "55020", "ค่าบริการ", "1", "10.00", "10.00",
            "10.00", "10.00", "", "OP1")
        for n in range(50_000) for _ in range(2)
    ]  # fmt: skip
    path = write_zip(tmp_path / "drop.zip", {BILLS: envelope("bills", bills, items)})
    size = zipfile.ZipFile(path).getinfo(BILLS).file_size
    del bills, items
    tracemalloc.start()
    try:
        raw = read_claimrec(path, max_bytes=MAX)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert raw.rows_read["OPD"] == 50_000
    assert raw.rows_read["CHA"] == raw.rows_read["ADP"] == 100_000
    assert raw.tables["CHA"]["line"].max() == FIRST_ROW + 50_000 + 1 + 100_000
    # Python holds a few copies of the envelope at a time (its bytes, the signed slice, a
    # section's text and the UTF-8 Polars takes of it); an object per field would be some
    # 13 x 55 bytes per row of about 85 bytes, more than 8 times the envelope.
    assert peak < 6 * size, (peak, size)
