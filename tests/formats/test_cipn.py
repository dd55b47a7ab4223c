"""CIPN/AIPN sections read into frames: fields, lines, field-count flags, Reccount (F04),
one admission per file (F03). Documents are built here in Windows-874 with Thai text."""

from __future__ import annotations

import datetime as dt
import hashlib

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clearinghouse.errors import DropRefused
from clearinghouse.judge import judge_drop
from clearinghouse.schema import TABLES, raw_schema
from formats.cipn import (
    BILL_FIELDS,
    IPADT_FIELDS,
    admission_drop,
    bill_totals_codes,
    raw_tables,
    read_cipn,
    read_cipn_many,
)
from formats.xmlsafe import check_xml
from pricing.reference import read_reference_dir, sample_dir
from tests.formats.cipn_docs import BILLS, IPADT, MAPPED_BILLS, document


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


def test_a_section_longer_than_libxml2s_default_text_limit_is_read() -> None:
    # 150,000 bill lines: over 10 MB of text in one element.
    line = MAPPED_BILLS[0]
    bills = [line.replace("1|", f"{n}|", 1) for n in range(1, 150_001)]
    data = document(bills=bills, bill_count=str(len(bills)))
    assert len(data) > 10 * 2**20
    admission = read(data)
    assert admission.bills.height == 150_000
    assert admission.bills["line"].tail(1).to_list() == [12 + 150_000]


# --- B10: the invoice's totals against its bill lines ----------------------------------------


def _raised(**totals: str) -> list[str]:
    admission = read_cipn(check_xml(document(**totals)), "AN6900123.xml")
    return bill_totals_codes(admission)["code"].to_list()


@pytest.mark.parametrize(
    ("totals", "codes"),
    [
        ({}, []),  # 2000.00 over the D line; min(250.00, 300.00 − 50.00) over the T line
        ({"drg_charge": "2000.01"}, ["B10"]),
        ({"xdrg_claim": "300.00"}, ["B10"]),  # Σ ClaimAmt without the min: one exporter's slip
        ({"drg_charge": "", "xdrg_claim": ""}, []),  # not given: not checked
        ({"drg_charge": "2,000.00"}, ["S04"]),  # unparseable: reported, not judged
    ],
)
def test_bill_totals_are_checked_per_invoice(totals: dict[str, str], codes: list[str]) -> None:
    assert _raised(**totals) == codes


def test_a_t_line_whose_claim_amount_does_not_parse_is_s04_not_b10() -> None:
    bills = [
        BILLS[0],
        "2|2026-10-04|03|LC002|ยา|1|300.00|300.00|50.00|||D|03||||T||250.00|abc",
    ]
    admission = read_cipn(check_xml(document(bills=bills)), "AN6900123.xml")
    assert bill_totals_codes(admission)["code"].to_list() == ["S04"]


_LINE = st.tuples(
    st.sampled_from(["D", "T", "X"]),
    st.integers(0, 10**7),  # charge, satang
    st.integers(0, 10**5),  # discount
    st.integers(0, 10**7),  # claimed
)


def _baht(satang: int) -> str:
    return f"{satang // 100}.{satang % 100:02d}"


@settings(max_examples=60, deadline=None)
@given(lines=st.lists(_LINE, min_size=1, max_size=8), off=st.integers(-500, 500))
def test_b10_fires_exactly_when_a_total_is_off(
    lines: list[tuple[str, int, int, int]], off: int
) -> None:
    lines = [
        (cat, max(charge, discount), discount, claimed) for cat, charge, discount, claimed in lines
    ]
    rows = [
        f"{i}|2026-10-04|01|LC{i}|x|1|{_baht(c)}|{_baht(c)}|{_baht(d)}|||D|01||||{cat}||{_baht(a)}|{_baht(a)}"
        for i, (cat, c, d, a) in enumerate(lines, start=1)
    ]
    drg = sum(c - d for cat, c, d, _ in lines if cat == "D")
    xdrg = sum(min(a, c - d) for cat, c, d, a in lines if cat == "T")
    doc = document(
        bills=rows, bill_count=str(len(rows)), drg_charge=_baht(drg + max(off, -drg)),
        xdrg_claim=_baht(xdrg),
    )  # fmt: skip
    raised = bill_totals_codes(read_cipn(check_xml(doc), "f.xml"))["code"].to_list()
    assert raised == (["B10"] if max(off, -drg) != 0 else [])


def test_b10_rejects_the_claim_through_the_judgement(reference: dict[str, pl.DataFrame]) -> None:
    drop = admission_drop(read_cipn(check_xml(document(drg_charge="1999.00")), "AN6900123.xml"))
    judged = judge_drop(
        drop.tables, hcode="10670", received=dt.date(2026, 10, 31), reference=reference,
        raised=drop.raised, absent=drop.absent,
    )  # fmt: skip
    claim = judged.claims.row(0, named=True)
    assert (claim["claim_key"], claim["status"]) == ("AN6900123", "C")
    assert "B10" in claim["codes"]


@pytest.fixture(scope="module")
def reference() -> dict[str, pl.DataFrame]:
    return read_reference_dir(sample_dir())


def test_many_admissions_read_together_equal_each_read_alone() -> None:
    docs = [
        (document(bills=MAPPED_BILLS, bill_count="4"), "a.xml"),
        (document(dx_count="9"), "refused.xml"),  # F04: its own refusal, the others unharmed
        (document(ipadt=[IPADT.replace("AN6900123", "AN6900124", 1)], drg_charge="1.00"), "b.xml"),
        (document(root="AIPN", doc_sys="AIPN", bills=[" "], bill_count="0"), "c.xml"),
    ]
    together = read_cipn_many(docs)
    assert isinstance(together[1], DropRefused) and together[1].code == "F04"
    for (data, name), drop in zip(docs, together, strict=True):
        if isinstance(drop, DropRefused):
            continue
        alone = admission_drop(read_cipn(check_xml(data), name))
        assert drop.rows_read == alone.rows_read and drop.files == alone.files
        assert drop.raised.equals(alone.raised)
        for table, frame in alone.tables.items():
            assert drop.tables[table].equals(frame), (name, table)
    assert together[2].raised["code"].to_list() == ["B10"]  # type: ignore[union-attr]
    assert together[3].tables["CHA"].is_empty()  # type: ignore[union-attr]
    assert together[3].tables["CHT"]["TOTAL"].to_list() == ["0.00"]  # type: ignore[union-attr]


def test_a_discount_that_does_not_parse_or_passes_the_charge_is_s04_not_the_gross() -> None:
    bills = [
        "1|2026-10-03|01|LC001|ค่าห้อง|4|500.00|2000.00|abc|||D|01||||D||500.00|2000.00",
        "2|2026-10-04|03|LC002|ยา|1|300.00|300.00|400.00|||D|03||||T||250.00|250.00",
    ]
    tables = raw_tables(read_cipn(check_xml(document(bills=bills)), "AN6900123.xml"))
    assert tables["CHA"]["AMOUNT"].to_list() == ["2000.00 - abc", "300.00 - 400.00"]
    assert tables["CHT"]["TOTAL"].to_list() == ["2000.00 - abc"]  # no invented total


def test_no_ipadt_is_f03_before_a_wrong_reccount_f04() -> None:
    with pytest.raises(DropRefused) as caught:
        read_cipn(check_xml(document(ipadt=[" "], dx_count="9")), "AN6900123.xml")
    assert caught.value.code == "F03"
