"""FHIR R4 Claim bundles (JSON and XML) onto the 16 raw tables: docs/formats.md §4, column by
column, both syntaxes giving the same frames, references, money, time zones, item positions,
the HL7 and Thai example sets judged, the refusals, and a 50,000-Claim bundle in bounded
memory."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import subprocess
import sys
import textwrap
import time
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from clearinghouse.errors import DropRefused, UsageError
from clearinghouse.judge import Judgement, judge_drop
from clearinghouse.schema import TABLES, raw_schema
from formats.fhir import read_fhir
from formats.sixteen import RAISED_SCHEMA, RawDrop
from pricing.reference import read_reference_dir
from tests.formats.fhir_docs import (
    HCODE,
    PERSON_ID,
    TMT,
    Resource,
    bundle,
    claim,
    coverage,
    diagnosis,
    item,
    money,
    organization,
    patient,
    to_json,
    to_xml,
    write,
)

CASES = Path(__file__).parents[1] / "cases"
REFERENCE_DIR = CASES / "two-drops" / "reference"
RECEIVED = dt.date(2026, 11, 1)
MAX_BYTES = 1 << 30
AT = ("drop.json", 1, False)  # file, line, s01 of a row standing on the first entry


@pytest.fixture(scope="module")
def reference() -> dict[str, pl.DataFrame]:
    return read_reference_dir(REFERENCE_DIR)


def read(folder: Path, resource: Resource, name: str = "drop.json", **kwargs: str) -> RawDrop:
    return read_fhir(write(folder, name, resource), max_bytes=MAX_BYTES, **kwargs)


def rows(drop: RawDrop, table: str, *columns: str) -> list[tuple[object, ...]]:
    frame = drop.tables[table]
    return frame.select(columns).rows() if columns else frame.rows()


def judged(drop: RawDrop, reference: dict[str, pl.DataFrame]) -> Judgement:
    return judge_drop(
        drop.tables, hcode=HCODE, received=RECEIVED, reference=reference,
        raised=drop.raised, absent=drop.absent,
    )  # fmt: skip


def outcomes(judgement: Judgement) -> dict[str, tuple[str, list[str]]]:
    return {
        key: (status, sorted(codes))
        for key, status, codes in judgement.claims.select(
            "claim_key", "status", "codes"
        ).iter_rows()
    }


# --- the mapping, column by column ------------------------------------------------------------


def test_an_outpatient_claim_maps_column_by_column(tmp_path: Path) -> None:
    drop = read(tmp_path, bundle(claim()))
    for name, frame in drop.tables.items():
        assert frame.schema == raw_schema(name), name
    hn = "OP|OP6910001"
    assert rows(drop, "OPD") == [(hn, "", "20261001", "0930", "OP6910001", *AT)]
    assert rows(drop, "PAT") == [(HCODE, hn, "19800102", "1", "", PERSON_ID, *AT)]
    assert rows(drop, "INS") == [(hn, "UCS", PERSON_ID, "", "", "OP6910001", *AT)]
    assert rows(drop, "ODX") == [("OP6910001", "J069", "1", "", *AT)]
    assert rows(drop, "CHT") == [(hn, "", "OP6910001", "20261001", "150.00", *AT)]
    assert rows(drop, "CHA") == [
        (hn, "", "OP6910001", "11", "50.00", *AT), (hn, "", "OP6910001", "31", "100.00", *AT)
    ]  # fmt: skip
    assert rows(drop, "ADP") == [
        (hn, "", "OP6910001", "", "55020", "1", "50.00", "50.00", "drop.json#item1", 1, False)
    ]
    assert rows(drop, "DRU") == [
        (HCODE, hn, "", "OP6910001", "100011", "200", "0.50", "100.00", "drop.json#item2", 1,
         False)
    ]  # fmt: skip
    empty = {"IPD", "IDX", "OOP", "IOP", "AER", "ORF", "IRF", "LVD"}
    assert {t for t, f in drop.tables.items() if f.is_empty()} == empty
    assert drop.rows_read == {t: 2 if t == "CHA" else 1 for t in TABLES if t not in empty}
    assert drop.files == dict.fromkeys(drop.rows_read, "drop.json")
    assert drop.raised.is_empty() and drop.raised.schema == RAISED_SCHEMA
    assert drop.absent == frozenset() and drop.ignored_files == []


def test_an_inpatient_claim_with_an_accident_a_referral_and_a_procedure(tmp_path: Path) -> None:
    resource = claim(
        "AN6910002", kind="institutional", start="2026-10-03T08:15:00+07:00",
        end="2026-10-07T10:30:00+07:00",
        diagnoses=[diagnosis(1, "S06.00"), diagnosis(2, "T14.9")],
        procedure=[{"sequence": 1, "procedureCodeableConcept": {"coding": [{"code": "96.04"}]}}],
        subType={"coding": [{"code": "emergency"}]},
        accident={"type": {"coding": [{"code": "MVA"}]}},
        referral={"identifier": {"value": "10714"}},
    )  # fmt: skip
    drop = read(tmp_path, bundle(claim("OP6910001"), resource))
    at = ("drop.json", 2, False)
    hn = "IP|AN6910002"
    assert rows(drop, "IPD") == [(hn, "AN6910002", "20261003", "0815", "20261007", "1030", "",
                                  "", *at)]  # fmt: skip
    # No diagnosis typed principal: the one with sequence 1 is.
    assert rows(drop, "IDX") == [("AN6910002", "S0600", "1", "", *at),
                                 ("AN6910002", "T149", "4", "", *at)]  # fmt: skip
    assert rows(drop, "IOP") == [("AN6910002", "9604", "", *at)]
    assert rows(drop, "AER") == [(hn, "AN6910002", "", "E", "V", *at)]
    assert rows(drop, "IRF") == [("AN6910002", "10714", "", *at)]
    assert rows(drop, "INS", "HN", "AN", "SEQ") == [
        ("OP|OP6910001", "", "OP6910001"), (hn, "AN6910002", "")
    ]  # fmt: skip
    assert rows(drop, "ORF") == [] and rows(drop, "OOP") == []


@pytest.mark.parametrize(
    ("accident", "subtype", "expected"),
    [
        ({"type": {"coding": [{"code": "WPA"}]}}, None, [("", "W")]),
        ({"type": {"coding": [{"code": "SCHOOL"}]}}, None, [("", "O")]),  # Q21: no UCAE A
        ({"date": "2026-10-01"}, None, [("", "O")]),
        (None, {"coding": [{"code": "emergency"}]}, [("E", "")]),
        (None, {"coding": [{"code": "urgent"}]}, []),
    ],
)
def test_accident_and_emergency_give_one_aer_row(
    tmp_path: Path, accident: Resource | None, subtype: Resource | None, expected: list[object]
) -> None:
    extra = {k: v for k, v in (("accident", accident), ("subType", subtype)) if v}
    drop = read(tmp_path, claim(**extra))
    assert rows(drop, "AER", "UCAE", "AETYPE") == expected


# --- the two syntaxes -------------------------------------------------------------------------

SAME_IN_BOTH = {
    "outpatient": bundle(claim()),
    "inpatient, bundle-level patient": bundle(
        ("urn:uuid:p-1", patient("p-1", gender="female")),
        claim("AN1", kind="institutional", patient_ref="urn:uuid:p-1", coverage_ref="Coverage/c1",
              contained=[], end="2026-10-02T11:00:00Z", items=[item(None, None, text="room")]),
        ("http://h.example/fhir/Coverage/c1", coverage("c1", "OFC")),
    ),
    "odd values": bundle(
        claim("OP2", total="1E+2", currency=None, use="preauthorization",
              diagnoses=[diagnosis(1, "J06.9"), diagnosis(2, "A09.9", principal=True)],
              items=[item(7, "X1", quantity=Decimal("2.0"), unit="12.345", net="1E+2",
                          currency="USD"), item(None, "100011", system=TMT, quantity=None)]),
        patient("lonely"),
        organization(),
    ),
    "lone claim": claim(),
}  # fmt: skip


@pytest.mark.parametrize("name", SAME_IN_BOTH)
def test_json_and_xml_give_identical_frames(tmp_path: Path, name: str) -> None:
    resource = SAME_IN_BOTH[name]
    from_json = read(tmp_path, resource, "drop.json")
    from_xml = read(tmp_path, resource, "drop.xml")
    assert from_json.rows_read == from_xml.rows_read
    assert from_json.rows_read["OPD" if "IPD" not in from_json.rows_read else "IPD"] == 1
    for table in TABLES:
        renamed = from_xml.tables[table].with_columns(
            pl.col("file").str.replace("drop.xml", "drop.json", literal=True)
        )
        assert_frame_equal(from_json.tables[table], renamed, check_exact=True)
    assert_frame_equal(from_json.raised, from_xml.raised)


def test_xml_ignores_narrative_comments_and_other_namespaces(tmp_path: Path) -> None:
    data = to_xml(claim()).replace(
        b"<status ",
        b'<text><status value="generated"/><div xmlns="http://www.w3.org/1999/xhtml">'
        b'<p>hi</p></div></text><!-- a comment --><x:note xmlns:x="urn:x" value="1"/>'
        b"<status ",
        1,
    )
    path = tmp_path / "claim.xml"
    path.write_bytes(data)
    drop = read_fhir(path, max_bytes=MAX_BYTES)
    assert rows(drop, "OPD", "SEQ", "file", "line") == [("OP6910001", "claim.xml", 1)]


# --- claims, references and positions ---------------------------------------------------------


def test_a_lone_claim_is_a_bundle_of_one(tmp_path: Path) -> None:
    drop = read(tmp_path, claim())
    assert rows(drop, "OPD", "SEQ", "line") == [("OP6910001", 1)]


def test_patients_by_fullurl_type_and_id_or_contained(tmp_path: Path) -> None:
    resource = bundle(
        ("urn:uuid:aaa", patient("p-a", cid="1111111111119", gender="female")),
        claim("C1", patient_ref="urn:uuid:aaa", contained=[coverage()]),
        ("https://h.example/fhir/Patient/p-b", patient("p-b", cid="2222222222222")),
        claim("C2", patient_ref="Patient/p-b", coverage_ref=None, contained=[]),
        claim("C3"),  # contained Patient and Coverage
        claim("C4", patient_ref="Patient/nowhere", contained=[]),
        claim("C5", patient_ref="#p-a", contained=[]),  # contained only: not the bundle's
    )
    drop = read(tmp_path, resource)
    assert rows(drop, "PAT", "HN", "PERSON_ID", "SEX", "line") == [
        ("OP|C1", "1111111111119", "2", 1),  # at the Patient's own entry
        ("OP|C2", "2222222222222", "1", 3),
        ("OP|C3", PERSON_ID, "1", 5),
    ]
    assert rows(drop, "INS", "HN", "INSCL", "CID", "line") == [
        ("OP|C1", "UCS", "1111111111119", 2),
        ("OP|C2", "", "2222222222222", 4),
        ("OP|C3", "UCS", PERSON_ID, 5),
        ("OP|C4", "", "", 6),
        ("OP|C5", "", "", 7),
    ]


def test_the_cid_identifier_wins_else_the_first(tmp_path: Path) -> None:
    other = [{"system": "https://terms.sil-th.org/id/th-hn", "value": "HN1"}]
    with_cid = read(tmp_path, claim(contained=[patient(other_ids=other), coverage()]))
    assert rows(with_cid, "PAT", "PERSON_ID") == [(PERSON_ID,)]
    without = read(tmp_path, claim(contained=[patient(cid=None, other_ids=other), coverage()]))
    assert rows(without, "PAT", "PERSON_ID") == [("HN1",)]


def test_unreferenced_patient_and_coverage_are_s05_rows(
    tmp_path: Path, reference: dict[str, pl.DataFrame]
) -> None:
    drop = read(tmp_path, bundle(claim(), patient("nobody"), coverage("unused"), organization()))
    assert rows(drop, "PAT", "HN", "line") == [("OP|OP6910001", 1), ("|Patient:nobody", 2)]
    assert rows(drop, "INS", "HN", "SEQ", "line") == [
        ("OP|OP6910001", "OP6910001", 1), ("", "|Coverage:unused", 3)
    ]  # fmt: skip
    judgement = judged(drop, reference)
    assert judgement.orphans.rows() == [("drop.json", 2, "S05"), ("drop.json", 3, "S05")]
    assert outcomes(judgement) == {"OP6910001": ("A", [])}


def test_a_claim_without_identifier_is_one_orphan_row(
    tmp_path: Path, reference: dict[str, pl.DataFrame]
) -> None:
    drop = read(tmp_path, bundle(claim(None, status="draft"), claim("OP2")))
    assert rows(drop, "OPD", "HN", "SEQ", "line") == [("", "", 1), ("OP|OP2", "OP2", 2)]
    for table in ("PAT", "INS", "CHT", "CHA", "ADP", "DRU", "ODX"):
        assert set(rows(drop, table, "line")) == {(2,)}, table
    assert drop.raised.is_empty()
    judgement = judged(drop, reference)
    assert judgement.orphans.rows() == [("drop.json", 1, "S02")]
    assert outcomes(judgement) == {"OP2": ("A", [])}


@pytest.mark.parametrize(
    ("provider", "contained", "hcode"),
    [
        ({"identifier": {"value": "10714"}}, [], "10714"),
        ({"reference": "#org"}, [organization("org", "10998")], "10998"),
        ({"reference": "Organization/org1"}, [], HCODE),  # the bundle's Organization
        ({"reference": "Practitioner/1"}, [], ""),
    ],
)
def test_the_hospital_code_is_the_provider_identifier_else_its_organization(
    tmp_path: Path, provider: Resource, contained: list[Resource], hcode: str
) -> None:
    resource = claim(provider=provider, contained=[patient(), coverage(), *contained])
    drop = read(tmp_path, bundle(resource, organization()))
    assert rows(drop, "PAT", "HCODE") == [(hcode,)]
    assert rows(drop, "DRU", "HCODE") == [(hcode,)]


def test_items_are_positioned_by_sequence_and_text_only_products_are_charges(
    tmp_path: Path,
) -> None:
    items = [
        item(10, "55020"),
        item(None, "100011", system=TMT),  # no sequence: its position, 2
        item(3, None, text="ค่าห้อง", net="800.00"),  # a charge, no item
        item(4, "55021", net=None),  # an item without net: no charge
    ]
    drop = read(tmp_path, claim(items=items))
    assert rows(drop, "ADP", "CODE", "file", "line") == [
        ("55020", "drop.json#item10", 1), ("55021", "drop.json#item4", 1)
    ]  # fmt: skip
    assert rows(drop, "DRU", "DIDSTD", "file") == [("100011", "drop.json#item2")]
    assert rows(drop, "CHA", "AMOUNT", "file") == [
        ("50.00", "drop.json"), ("50.00", "drop.json"), ("800.00", "drop.json")
    ]  # fmt: skip
    assert rows(drop, "ADP", "TOTAL") == [("50.00",), ("",)]


def test_drug_systems_are_configurable(tmp_path: Path) -> None:
    drop = read_fhir(
        write(tmp_path, "drop.json", claim()), max_bytes=MAX_BYTES, drug_systems=["urn:none"]
    )
    assert rows(drop, "ADP", "CODE") == [("55020",), ("100011",)] and rows(drop, "DRU") == []


# --- values: money, quantities, dates ---------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "currency", "expected"),
    [
        ("1E+2", "THB", "100"),
        ("1.5E+1", "THB", "15"),
        ("125.00", "THB", "125.00"),
        ("0.30", "THB", "0.30"),  # never through a float
        ("12.345", "THB", "12.345"),  # kept: S04
        ("1E+999999", "THB", "1E+999999"),  # not a million zeros: S04
        ("135.57", "USD", "135.57 USD"),
        ("135.57", None, "135.57 (no currency)"),  # Q19
        (None, "THB", ""),
    ],
)
def test_money_is_exact_decimal_text_and_thb_only(
    tmp_path: Path, value: str | None, currency: str | None, expected: str
) -> None:
    resource = claim(total=None)
    resource["total"] = money(value, currency)
    for name in ("drop.json", "drop.xml"):
        assert rows(read(tmp_path, resource, name), "CHT", "TOTAL") == [(expected,)]


@pytest.mark.parametrize(
    ("quantity", "expected"), [(3, "3"), (Decimal("2.0"), "2.0"), (None, ""), ("2", "2")]
)
def test_quantities_as_read(tmp_path: Path, quantity: object, expected: str) -> None:
    drop = read(tmp_path, claim(items=[item(1, quantity=quantity)]))  # type: ignore[arg-type]
    assert rows(drop, "ADP", "QTY") == [(expected,)]


def test_bad_amounts_and_quantities_are_claim_codes(
    tmp_path: Path, reference: dict[str, pl.DataFrame]
) -> None:
    resource = bundle(
        claim("USD", currency="USD", items=[item(1, currency="USD", net="150.00")]),
        claim("NOCUR", currency=None, items=[item(1, net="150.00")]),
        claim("FRACTION", total="12.345", items=[item(1, net="12.345")]),
        claim("EXPONENT", total="1.5E+2", items=[item(1, net="1.5E+2")]),
        claim("QTY20", total="50.00", items=[item(1, quantity=Decimal("2.0"))]),
        claim("NOQTY", total="50.00", items=[item(1, quantity=None)]),
    )
    assert outcomes(judged(read(tmp_path, resource), reference)) == {
        "USD": ("C", ["S04"]),  # B04 stays silent: the amounts enter no sum
        "NOCUR": ("C", ["S04"]),
        "FRACTION": ("C", ["S04"]),
        "EXPONENT": ("A", []),  # 1.5E+2 is 150
        "QTY20": ("C", ["S04"]),
        "NOQTY": ("C", ["S02"]),
    }


@pytest.mark.parametrize(
    ("start", "zone", "date", "time"),
    [
        ("2026-10-01T23:30:00+00:00", "Asia/Bangkok", "20261002", "0630"),
        ("2026-10-01T23:30:59Z", "Asia/Bangkok", "20261002", "0630"),
        ("2026-10-01T09:30:00-05:00", "Asia/Bangkok", "20261001", "2130"),
        ("2026-10-01T09:30:00.123+05:45", "Asia/Bangkok", "20261001", "1045"),
        ("2026-10-01T09:30:00", "Asia/Bangkok", "20261001", "0930"),  # no offset: local
        ("2026-10-01 09:30", "Asia/Bangkok", "20261001", "0930"),
        ("2026-10-01T23:30:00+07:00", "UTC", "20261001", "1630"),
        ("2026-10-01", "Asia/Bangkok", "20261001", ""),
        ("20261001", "Asia/Bangkok", "20261001", ""),
        ("2026-10", "Asia/Bangkok", "2026-10", ""),  # S03
        ("2026-02-30T10:00:00+07:00", "Asia/Bangkok", "20260230", "1000"),  # S03
    ],
)
def test_date_times_with_an_offset_are_converted_to_the_local_zone(
    tmp_path: Path, start: str, zone: str, date: str, time: str
) -> None:
    resource = claim("AN1", kind="institutional", start=start, end=start, created=start)
    drop = read(tmp_path, resource, timezone=zone)
    assert rows(drop, "IPD", "DATEADM", "TIMEADM", "DATEDSC", "TIMEDSC") == [
        (date, time, date, time)
    ]
    assert rows(drop, "CHT", "DATE") == [(date,)]


def test_an_unknown_time_zone_is_a_setting_problem(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="Mars/Olympus"):
        read(tmp_path, claim(), timezone="Mars/Olympus")


@pytest.mark.parametrize(
    ("birth", "gender", "dob", "sex"),
    [("1975-03-12", "female", "19750312", "2"), ("1975", "other", "1975", ""),
     (None, "unknown", "", "")],
)  # fmt: skip
def test_birth_date_and_gender(
    tmp_path: Path, birth: str | None, gender: str, dob: str, sex: str
) -> None:
    drop = read(tmp_path, claim(contained=[patient(birth=birth, gender=gender), coverage()]))
    assert rows(drop, "PAT", "DOB", "SEX") == [(dob, sex)]


# --- judged: principal diagnosis, use/status, hospital ----------------------------------------


def test_principal_diagnosis_use_status_and_hospital_codes(
    tmp_path: Path, reference: dict[str, pl.DataFrame]
) -> None:
    resource = bundle(
        claim("TWO", diagnoses=[diagnosis(1, "J06.9", principal=True),
                                diagnosis(2, "I10", principal=True)]),
        claim("SEQ2", diagnoses=[diagnosis(2, "J06.9"), diagnosis(3, "I10")]),
        claim("TYPED", diagnoses=[diagnosis(1, "Z99.9"), diagnosis(2, "J06.9", principal=True)]),
        claim("DRAFT", status="draft"),
        claim("PREAUTH", use="preauthorization"),
        claim("ELSEWHERE", provider={"identifier": {"value": "10714"}}),
    )  # fmt: skip
    assert outcomes(judged(read(tmp_path, resource), reference)) == {
        "TWO": ("C", ["C02"]),
        "SEQ2": ("C", ["C02"]),
        "TYPED": ("A", []),  # Z999 is only secondary
        "DRAFT": ("C", ["S02"]),
        "PREAUTH": ("C", ["S02"]),
        "ELSEWHERE": ("C", ["S07"]),
    }


# --- example sets -----------------------------------------------------------------------------

HL7_CODES = {
    "claim-example-institutional.json": ("IP", "9612345", ["C03", "S02", "S04"]),
    "claim-example.xml": ("OP", "12345", ["C03", "S02", "S04"]),
    "claim-example-pharmacy.xml": ("OP", "7612345", ["C03", "S02", "S04"]),
    "claim-example-oral-contained.xml": ("OP", "12347", ["C03", "S02", "S04", "S07"]),
}


@pytest.mark.parametrize("name", HL7_CODES)
def test_the_hl7_example_claims_get_precise_codes(
    name: str, reference: dict[str, pl.DataFrame]
) -> None:
    drop = read_fhir(CASES / "fhir" / "hl7" / name, max_bytes=MAX_BYTES)
    judgement = judged(drop, reference)
    kind, key, codes = HL7_CODES[name]
    assert judgement.claims.select("claim_type", "claim_key", "status", "codes", "line").rows() == [
        (kind, key, "C", codes, 1)
    ]
    assert judgement.orphans.is_empty()


def test_the_contained_hl7_example_resolves_its_patient_and_provider() -> None:
    drop = read_fhir(
        CASES / "fhir" / "hl7" / "claim-example-oral-contained.xml", max_bytes=MAX_BYTES
    )
    assert rows(drop, "PAT", "HCODE", "DOB", "SEX", "PERSON_ID") == [("3456", "19860517", "1", "")]
    assert rows(drop, "INS", "INSCL") == [("EHCPOL",)]
    assert rows(drop, "ADP", "CODE", "RATE", "TOTAL", "file") == [
        ("1200", "135.57 USD", "135.57 USD", "claim-example-oral-contained.xml#item1")
    ]


def test_the_thai_example_set_is_accepted_where_it_should_be(
    reference: dict[str, pl.DataFrame],
) -> None:
    folder = CASES / "fhir" / "thai"
    drop = read_fhir(folder / "bundle.json", max_bytes=MAX_BYTES)
    judgement = judged(drop, reference)
    with (folder / "expected.csv").open(encoding="utf-8") as handle:
        expected = [
            (r["claim_type"], r["claim_key"], r["status"], r["codes"].split(), int(r["line"]))
            for r in csv.DictReader(handle)
        ]
    got = judgement.claims.sort("line").select("claim_type", "claim_key", "status", "codes", "line")
    assert got.rows() == expected
    assert judgement.orphans.is_empty()
    # The room charge is text only: a charge of the stay, no item.
    assert rows(drop, "CHA", "CHRGITEM", "AMOUNT", "line")[2] == ("11", "2000.00", 4)
    assert rows(drop, "IPD", "DATEADM", "TIMEADM", "DATEDSC", "TIMEDSC") == [
        ("20261003", "0815", "20261007", "1030")
    ]


# --- refusals ---------------------------------------------------------------------------------

BILLION_LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10 if i > 1 else "&lol;" * 10}">'.encode()
        for i in range(1, 10)
    )
    + b']>\n<Bundle xmlns="http://hl7.org/fhir"><type value="collection"/>'
    b'<entry><resource><Claim><id value="&lol9;"/></Claim></resource></entry></Bundle>'
)
REFUSED = {
    "not JSON": ("drop.json", b'{"resourceType": "Bundle", "type": "batch", "entry": [', "F01"),
    "trailing garbage": ("drop.json", to_json(claim()) + b" }", "F01"),
    "neither": ("drop.json", b"HN|SEQ\n1|2\n", "F01"),
    "empty": ("drop.json", b"  \n", "F01"),
    "JSON array": ("drop.json", b"[1, 2]", "F01"),
    "a Patient": ("drop.json", to_json(patient()), "F01"),
    "transaction": ("drop.json", to_json(bundle(claim(), kind="transaction")), "F01"),
    "no type": ("drop.json", to_json({"resourceType": "Bundle", "entry": []}), "F01"),
    "no Claim": ("drop.json", to_json(bundle(patient(), coverage())), "F03"),
    "no entries": ("drop.json", to_json({"resourceType": "Bundle", "type": "batch"}), "F03"),
    "an entry without resource, no Claim": (
        "drop.json", to_json(bundle(claim()) | {"entry": [{"fullUrl": "x"}]}), "F03"
    ),
    "entry without resource and a claim": ("drop.json", to_json(
        {"resourceType": "Bundle", "type": "batch",
         "entry": [{"resource": claim()}, {"fullUrl": "urn:uuid:x"}]}), "F04"),
    "resource without resourceType": ("drop.json", to_json(
        {"resourceType": "Bundle", "type": "batch",
         "entry": [{"resource": claim()}, {"resource": {"id": "x"}}]}), "F04"),
    "XML transaction": ("drop.xml", to_xml(bundle(claim(), kind="transaction")), "F01"),
    "XML another root": ("drop.xml", to_xml(patient()), "F01"),
    "XML no Claim": ("drop.xml", to_xml(bundle(patient())), "F03"),
    "XML empty resource": ("drop.xml", to_xml(bundle(claim())).replace(
        b"</entry>", b"</entry><entry><resource/></entry>", 1), "F04"),
    "XML DTD": ("drop.xml", b'<?xml version="1.0"?>\n<!DOCTYPE Bundle SYSTEM "x.dtd">\n'
                + to_xml(bundle(claim())).split(b"\n", 1)[1], "F06"),
    "XML not well-formed": ("drop.xml", to_xml(bundle(claim()))[:-12], "F06"),
    "XML encoding": ("drop.xml", to_xml(bundle(claim())).replace(b"UTF-8", b"KOI8-R"), "F02"),
    "billion laughs": ("drop.xml", BILLION_LAUGHS, "F06"),
}  # fmt: skip


@pytest.mark.parametrize("case", REFUSED)
def test_refusals(tmp_path: Path, case: str) -> None:
    name, data, code = REFUSED[case]
    path = tmp_path / name
    path.write_bytes(data)
    started = time.monotonic()
    with pytest.raises(DropRefused) as caught:
        read_fhir(path, max_bytes=MAX_BYTES)
    assert (caught.value.code, case) == (code, case)
    assert time.monotonic() - started < 2


def test_a_drop_over_the_maximum_is_refused_unread(tmp_path: Path) -> None:
    path = write(tmp_path, "drop.json", bundle(claim()))
    with pytest.raises(DropRefused) as caught:
        read_fhir(path, max_bytes=path.stat().st_size - 1)
    assert caught.value.code == "F01"


def test_a_byte_order_mark_and_leading_blanks_are_allowed(tmp_path: Path) -> None:
    for name, data in (("drop.json", to_json(claim())), ("drop.xml", to_xml(claim()))):
        path = tmp_path / name
        path.write_bytes(b"\xef\xbb\xbf" + (b"\n  " if name.endswith("json") else b"") + data)
        assert rows(read_fhir(path, max_bytes=MAX_BYTES), "OPD", "SEQ") == [("OP6910001",)]


# --- a large bundle ---------------------------------------------------------------------------

_MEASURE = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from formats.fhir import read_fhir

    def peak():  # VmHWM: this process's peak resident set (ru_maxrss survives the exec)
        with open("/proc/self/status") as status:
            return next(int(l.split()[1]) * 1024 for l in status if l.startswith("VmHWM:"))

    before = peak()
    started = time.monotonic()
    drop = read_fhir(Path(sys.argv[1]), max_bytes=1 << 31)
    print(json.dumps(
        {"seconds": time.monotonic() - started, "grown": peak() - before, "rows": drop.rows_read}
    ))
    """
)


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="measures /proc VmHWM")
def test_a_50000_claim_bundle_is_read_as_a_stream(tmp_path: Path) -> None:
    claims = 50_000
    entry = to_json({"fullUrl": "urn:uuid:KEY", "resource": claim("KEY")}).decode()
    path = tmp_path / "big.json"
    with path.open("w", encoding="utf-8") as handle:
        handle.write('{"resourceType": "Bundle", "type": "batch", "entry": [')
        for n in range(claims):
            handle.write(("," if n else "") + entry.replace("KEY", f"OP{n:07d}"))
        handle.write("]}")
    size = path.stat().st_size
    run = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(path)],
        capture_output=True, text=True, check=True,
        env={**os.environ, "POLARS_MAX_THREADS": "2"},
    )  # fmt: skip
    measured = json.loads(run.stdout)
    assert measured["rows"]["OPD"] == claims
    assert measured["rows"]["ADP"] == measured["rows"]["DRU"] == claims
    # Parsed whole (json.load) this file takes about 8 times its size before any mapping;
    # streamed, the peak is the column buffers' frames and the mapping's work on them
    # (about 2.7 times the file's size when written).
    assert measured["grown"] < 4 * size, (measured, size)


# --- found in review: inputs that must end in codes, never a traceback ------------------------


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("big.json", b'{"resourceType":"Claim","total":{"value":1e1000000000000000000}}'),
        ("long.json", b'{"resourceType":"Claim","total":{"value":1' + b"0" * 4400 + b"}}"),
    ],
)
def test_numbers_past_what_decimals_hold_are_f01_not_a_traceback(
    tmp_path: Path, name: str, data: bytes
) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(DropRefused) as caught:
        read_fhir(path, max_bytes=MAX_BYTES)
    assert caught.value.code == "F01"


def test_an_xml_exponent_past_what_decimals_hold_stays_as_read(tmp_path: Path) -> None:
    xml = to_xml(bundle(claim())).replace(
        b'<value value="150.00"/>', b'<value value="1e1000000000000000000"/>', 1
    )
    path = tmp_path / "drop.xml"
    path.write_bytes(xml)
    drop = read_fhir(path, max_bytes=MAX_BYTES)
    assert drop.tables["CHT"]["TOTAL"].to_list() == ["1e1000000000000000000"]  # S04 downstream


def test_xml_nested_past_reason_is_f01(tmp_path: Path) -> None:
    deep = b"<extension>" * 1100 + b"</extension>" * 1100
    xml = to_xml(bundle(claim())).replace(b"<status ", deep + b"<status ", 1)
    path = tmp_path / "drop.xml"
    path.write_bytes(xml)
    with pytest.raises(DropRefused) as caught:
        read_fhir(path, max_bytes=MAX_BYTES)
    assert caught.value.code == "F01"


def test_two_items_with_one_sequence_keep_their_own_positions_and_get_s02(
    tmp_path: Path, reference: dict[str, pl.DataFrame]
) -> None:
    items = [item(1, "55020", unit="50.00", net="50.00"), item(1, "BAD01", unit="100.00",
             net="100.00")]  # fmt: skip
    drop = read(tmp_path, bundle(claim(items=items)))
    assert rows(drop, "ADP", "file", "CODE") == [
        ("drop.json#item1@1", "55020"), ("drop.json#item1@2", "BAD01"),
    ]  # fmt: skip
    assert drop.raised["code"].to_list() == ["S02"]
    judgement = judged(drop, reference)
    item_codes = judgement.codes.filter(pl.col("item_file") == "drop.json#item1@2")
    assert "C04" in item_codes["code"].to_list()  # the unknown code is not hidden by its twin
