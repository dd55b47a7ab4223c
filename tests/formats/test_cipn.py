"""CIPN/AIPN sections read into frames: fields, lines, field-count flags, Reccount (F04),
one admission per file (F03). Documents are built here in Windows-874 with Thai text."""

from __future__ import annotations

import hashlib

import polars as pl
import pytest

from clearinghouse.errors import DropRefused
from clearinghouse.schema import TABLES, raw_schema
from formats.cipn import BILL_FIELDS, IPADT_FIELDS, raw_tables, read_cipn
from formats.xmlsafe import check_xml

IPADT = (
    "AN6900123|HN0042|0|3100500123456|นาง|สมศรี มีสุข|19750312|2|2|10|01|099|E|O|"
    "2026-10-03T08:15:00|2026-10-07T10:30:00|0|2|1|0|W1|MED"
)
BILLS = [
    "1|2026-10-03|01|LC001|ค่าห้อง|4|500.00|2000.00|0.00|||D|01||||D||500.00|2000.00",
    "2|2026-10-04|03|LC002|ยา|1|300.00|300.00|50.00|||D|03||||T||250.00|250.00",
]


def document(
    *,
    root: str = "CIPN",
    dx_count: str = "2",
    bill_count: str = "2",
    ipadt: list[str] | None = None,
    bills: list[str] | None = None,
    doc_sys: str = "CIPN",
) -> bytes:
    rows = "\r\n".join([IPADT] if ipadt is None else ipadt)
    body = (
        f"<{root}>\r\n"
        f'<Header><DocClass>IPClaim</DocClass><DocSysID version="2.1">{doc_sys}</DocSysID>'
        "<authorID>10670</authorID></Header>\r\n"
        "<ClaimAuth><UPayPlan>80</UPayPlan><Hmain>10670</Hmain><Hcare>10670</Hcare>"
        "<CareAs>M</CareAs></ClaimAuth>\r\n"
        f"<IPADT>{rows}</IPADT>\r\n"
        f'<IPDx Reccount="{dx_count}">\r\n1|1|ICD-10|J189|ปอดบวม|ว12345|2026-10-03\r\n'
        "2|2|ICD-10|E119|เบาหวาน|ว12345|2026-10-03\r\n</IPDx>\r\n"
        '<IPOp Reccount="1">1|ICD-9-CM|9604|ใส่ท่อ|ว12345|2026-10-03|2026-10-03|OR</IPOp>\r\n'
        "<Invoices><InvNumber>INV1</InvNumber><InvDT>2026-10-07</InvDT>\r\n"
        f'<BillItems Reccount="{bill_count}">\r\n'
        + "\r\n".join(bills or BILLS)
        + "\r\n</BillItems>\r\n"
        "<InvAddDiscount>0.00</InvAddDiscount><DRGCharge>2000.00</DRGCharge>"
        "<XDRGClaim>250.00</XDRGClaim></Invoices>\r\n"
        f"</{root}>\r\n\r\n"
    ).encode("cp874")
    digest = hashlib.md5(body, usedforsecurity=False).hexdigest().upper()
    head = b'<?xml version="1.0" encoding="windows-874"?>\r\n'
    return head + body + f'<?EndNote HMAC="{digest}"?>\r\n'.encode()


def read(data: bytes, file: str = "10670-CIPN-AN6900123-20261007103000.xml"):  # type: ignore[no-untyped-def]
    return read_cipn(check_xml(data, signed_from_root=True), file)


def test_sections_become_frames_with_lines_and_texts() -> None:
    admission = read(document())
    assert admission.root == "CIPN"
    assert admission.header == {"DocClass": "IPClaim", "DocSysID": "CIPN", "authorID": "10670"}
    assert admission.claim_auth["Hmain"] == "10670"
    row = admission.ipadt.row(0, named=True)
    assert [row[name] for name in IPADT_FIELDS] == IPADT.split("|")
    assert (row["line"], row["s01"]) == (5, False)
    assert admission.ipdx.select("Code", "DiagTerm", "line").rows() == [
        ("J189", "ปอดบวม", 7), ("E119", "เบาหวาน", 8)
    ]  # fmt: skip
    assert admission.ipop.select("Code", "line").rows() == [("9604", 10)]
    bills = admission.bills
    assert bills.columns == [*BILL_FIELDS, "invoice", "line", "s01"]
    assert bills.select("ChargeAmt", "Discount", "ClaimCat", "invoice", "line").rows() == [
        ("2000.00", "0.00", "D", 0, 13), ("300.00", "50.00", "T", 0, 14)
    ]  # fmt: skip
    assert admission.invoices.rows(named=True) == [
        {"InvNumber": "INV1", "InvDT": "2026-10-07", "InvAddDiscount": "0.00",
         "DRGCharge": "2000.00", "XDRGClaim": "250.00"}
    ]  # fmt: skip


def test_an_aipn_reads_the_same_way() -> None:
    assert read(document(root="AIPN")).root == "AIPN"


def test_a_row_with_fewer_fields_is_flagged_more_are_accepted() -> None:
    longer = read(document(ipadt=[IPADT + "|appended by a newer exporter"]))
    assert longer.ipadt.select("DEPT", "s01").rows() == [("MED", False)]
    shorter = read(document(ipadt=[IPADT.rsplit("|", 1)[0]]))
    assert shorter.ipadt.select("DISCHWARD", "DEPT", "s01").rows() == [("W1", "", True)]


@pytest.mark.parametrize(("dx", "bills"), [("3", "2"), ("2", "1")])
def test_a_reccount_that_disagrees_with_the_rows_is_f04(dx: str, bills: str) -> None:
    with pytest.raises(DropRefused) as caught:
        read(document(dx_count=dx, bill_count=bills))
    assert caught.value.code == "F04"


@pytest.mark.parametrize("rows", [[], [IPADT, IPADT.replace("AN6900123", "AN6900124")]])
def test_one_admission_per_file_else_f03(rows: list[str]) -> None:
    with pytest.raises(DropRefused) as caught:
        read(document(ipadt=rows))
    assert caught.value.code == "F03"


def test_a_claimrec_root_is_not_an_admission() -> None:
    data = document().replace(b"<CIPN>", b"<ClaimRec>").replace(b"</CIPN>", b"</ClaimRec>")
    body = data.split(b"\r\n", 1)[1].rsplit(b"<?EndNote", 1)[0]
    digest = hashlib.md5(body, usedforsecurity=False).hexdigest().upper().encode()
    data = data.rsplit(b'HMAC="', 1)[0] + b'HMAC="' + digest + b'"?>\r\n'
    with pytest.raises(DropRefused) as caught:
        read(data)
    assert caught.value.code == "F03"
    assert pl.Series([1]).len() == 1


MAPPED_BILLS = [
    # room: category 01, nothing coded
    "1|2026-10-03|01|LC001|ค่าห้อง|4|500.00|2000.00|0.00|||D|01||||D||500.00|2000.00",
    # a drug (TMT), 50.00 discount, excess (X)
    "2|2026-10-04|03|LC002|ยา|2|150.00|300.00|50.00|||D|03||TMT|1234567|X||125.00|250.00",
    # a lab test with a CSMBS fee code; its TMLT code in STDCode is not the fee code
    "3|2026-10-04|07|LC003|CBC|1|90.00|90.00||||D|07|30101|TMLT|350001|T||90.00|90.00",
    # a group outside 01-17
    "4|2026-10-05|99|LC004|อื่นๆ|1|10.00|10.00|0.00|||D|88||||D||10.00|10.00",
]


def test_an_admission_becomes_the_raw_tables_of_the_16_files() -> None:
    data = document(bills=MAPPED_BILLS, bill_count="4")
    tables = raw_tables(read(data, "10670-CIPN.xml"))
    assert set(tables) == set(TABLES)
    for name, frame in tables.items():
        assert frame.schema == raw_schema(name), name
    at = ("10670-CIPN.xml", 5, False)  # synthesised rows sit on the IPADT row
    assert tables["IPD"].rows() == [
        ("HN0042", "AN6900123", "20261003", "0815", "20261007", "1030", "2", "1", *at)
    ]
    assert tables["PAT"].rows() == [
        ("10670", "HN0042", "19750312", "2", "099", "3100500123456", *at)
    ]
    assert tables["INS"].rows() == [
        ("HN0042", "OFC", "3100500123456", "10670", "AN6900123", "", *at)
    ]
    assert tables["AER"].select("UCAE", "line").rows() == [("E", 5)]
    assert tables["LVD"].select("QTYDAY").rows() == [("0",)]
    assert tables["IDX"].select("DIAG", "DXTYPE", "line").rows() == [
        ("J189", "1", 7), ("E119", "2", 8)
    ]  # fmt: skip
    assert tables["IOP"].select("OPER", "line").rows() == [("9604", 10)]
    assert tables["CHA"].select("CHRGITEM", "AMOUNT", "line").rows() == [
        ("11", "2000.00", 13), ("32", "250.00", 14), ("71", "90.00", 15), ("J1", "10.00", 16)
    ]  # fmt: skip
    assert tables["DRU"].select("DIDSTD", "AMOUNT", "DRUGPRIC", "TOTAL", "HCODE").rows() == [
        ("1234567", "2", "150.00", "250.00", "10670")
    ]
    assert tables["ADP"].select("CODE", "QTY", "RATE", "TOTAL").rows() == [
        ("30101", "1", "90.00", "90.00")
    ]
    # Σ net = 2000.00 + 250.00 + 90.00 + 10.00, dated by the invoice.
    assert tables["CHT"].select("DATE", "TOTAL", "line").rows() == [("20261007", "2350.00", 5)]
    assert tables["OPD"].is_empty() and tables["ODX"].is_empty()


def test_the_document_type_names_the_right_and_a_bad_charge_stays_as_read() -> None:
    bad = MAPPED_BILLS[0].replace("2000.00|0.00", "2,000.00|0.00")
    # Real AIPN files keep the <CIPN> root: the right follows DocSysID.
    tables = raw_tables(read(document(doc_sys="AIPN", bills=[bad], bill_count="1")))
    assert tables["INS"]["INSCL"].to_list() == ["SSS"]
    assert tables["CHA"]["AMOUNT"].to_list() == ["2,000.00"]  # S04 downstream, once
    assert tables["CHT"]["TOTAL"].to_list() == ["2,000.00"]
