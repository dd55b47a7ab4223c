"""The FHIR acknowledgement: a collection Bundle of ClaimResponse built from hand-made ack rows
and items, written as JSON and XML, checked against the FHIR R4 rules it must keep (required
elements, value sets, element order) and for exact amounts."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from lxml import etree

from clearinghouse.codes import RULES
from formats.fhir_ack import (
    ADJUDICATION_SYSTEM,
    FHIR_NS,
    ITEM_COLUMNS,
    OUTCOMES,
    RULE_CODE_SYSTEM,
    claim_responses,
    fhir_json,
    fhir_xml,
    write_fhir_ack,
)

RECEIVED = dt.date(2026, 10, 8)
SHA = "ab12cd34ef56" + "0" * 52
STEM = "10670_2026-10-08_ab12cd34ef56"
FILE = "bundle.json"

# --- FHIR R4, from the StructureDefinitions (hl7.org/fhir/R4) --------------------------------
# Element order of each type (every element, so that ours must be a subsequence of it).
ORDER = {
    "Bundle": ["id", "meta", "implicitRules", "language", "identifier", "type", "timestamp",
               "total", "link", "entry", "signature"],
    "Bundle.entry": ["id", "extension", "modifierExtension", "link", "fullUrl", "resource",
                     "search", "request", "response"],
    "ClaimResponse": ["id", "meta", "implicitRules", "language", "text", "contained",
                      "extension", "modifierExtension", "identifier", "status", "type",
                      "subType", "use", "patient", "created", "insurer", "requestor", "request",
                      "outcome", "disposition", "preAuthRef", "preAuthPeriod", "payeeType",
                      "item", "addItem", "adjudication", "total", "payment", "fundsReserve",
                      "formCode", "form", "processNote", "communicationRequest", "insurance",
                      "error"],
    "ClaimResponse.item": ["id", "extension", "modifierExtension", "itemSequence",
                           "noteNumber", "adjudication", "detail"],
    "ClaimResponse.item.adjudication": ["id", "extension", "modifierExtension", "category",
                                        "reason", "amount", "value"],
    "ClaimResponse.total": ["id", "extension", "modifierExtension", "category", "amount"],
    "ClaimResponse.processNote": ["id", "extension", "modifierExtension", "number", "type",
                                  "text", "language"],
    "ClaimResponse.error": ["id", "extension", "modifierExtension", "itemSequence",
                            "detailSequence", "subDetailSequence", "code"],
    "OperationOutcome": ["id", "meta", "implicitRules", "language", "text", "contained",
                         "extension", "modifierExtension", "issue"],
    "OperationOutcome.issue": ["id", "extension", "modifierExtension", "severity", "code",
                               "details", "diagnostics", "location", "expression"],
    "Identifier": ["id", "extension", "use", "type", "system", "value", "period", "assigner"],
    "Reference": ["id", "extension", "reference", "type", "identifier", "display"],
    "CodeableConcept": ["id", "extension", "coding", "text"],
    "Coding": ["id", "extension", "system", "version", "code", "display", "userSelected"],
    "Money": ["id", "extension", "value", "currency"],
}  # fmt: skip
# The type of each complex element we write, to walk the tree.
CHILD = {
    ("Bundle", "identifier"): "Identifier", ("Bundle", "entry"): "Bundle.entry",
    ("ClaimResponse", "identifier"): "Identifier", ("ClaimResponse", "type"): "CodeableConcept",
    ("ClaimResponse", "patient"): "Reference", ("ClaimResponse", "insurer"): "Reference",
    ("ClaimResponse", "requestor"): "Reference", ("ClaimResponse", "request"): "Reference",
    ("ClaimResponse", "item"): "ClaimResponse.item",
    ("ClaimResponse", "adjudication"): "ClaimResponse.item.adjudication",
    ("ClaimResponse", "total"): "ClaimResponse.total",
    ("ClaimResponse", "processNote"): "ClaimResponse.processNote",
    ("ClaimResponse", "error"): "ClaimResponse.error",
    ("ClaimResponse.item", "adjudication"): "ClaimResponse.item.adjudication",
    ("ClaimResponse.item.adjudication", "category"): "CodeableConcept",
    ("ClaimResponse.item.adjudication", "reason"): "CodeableConcept",
    ("ClaimResponse.item.adjudication", "amount"): "Money",
    ("ClaimResponse.total", "category"): "CodeableConcept",
    ("ClaimResponse.total", "amount"): "Money",
    ("ClaimResponse.error", "code"): "CodeableConcept",
    ("OperationOutcome", "issue"): "OperationOutcome.issue",
    ("OperationOutcome.issue", "details"): "CodeableConcept",
    ("Reference", "identifier"): "Identifier",
    ("CodeableConcept", "coding"): "Coding",
}  # fmt: skip
REQUIRED = {  # min cardinality 1
    "Bundle": {"type"},
    "ClaimResponse": {"status", "type", "use", "patient", "created", "insurer", "outcome"},
    "ClaimResponse.item": {"itemSequence", "adjudication"},
    "ClaimResponse.item.adjudication": {"category"},
    "ClaimResponse.total": {"category", "amount"},
    "ClaimResponse.processNote": {"text"},
    "ClaimResponse.error": {"code"},
    "OperationOutcome": {"issue"},
    "OperationOutcome.issue": {"severity", "code"},
}
VALUE_SETS = {  # required bindings
    ("Bundle", "type"): {"document", "message", "transaction", "transaction-response", "batch",
                         "batch-response", "history", "searchset", "collection"},
    ("ClaimResponse", "status"): {"active", "cancelled", "draft", "entered-in-error"},
    ("ClaimResponse", "use"): {"claim", "preauthorization", "predetermination"},
    ("ClaimResponse", "outcome"): {"queued", "complete", "error", "partial"},
    ("ClaimResponse.processNote", "type"): {"display", "print", "printoper"},
    ("OperationOutcome.issue", "severity"): {"fatal", "error", "warning", "information"},
    ("OperationOutcome.issue", "code"): {
        "invalid", "structure", "required", "value", "invariant", "security", "login",
        "unknown", "expired", "forbidden", "suppressed", "processing", "not-supported",
        "duplicate", "multiple-matches", "not-found", "deleted", "too-long", "code-invalid",
        "extension", "too-costly", "business-rule", "conflict", "transient", "lock-error",
        "no-store", "exception", "timeout", "incomplete", "throttled", "informational"},
}  # fmt: skip
ADJUDICATION_CODES = {"submitted", "copay", "eligible", "deductible", "unallocdeduct",
                      "eligpercent", "tax", "benefit"}  # fmt: skip


# --- the drop -------------------------------------------------------------------------------


def ack_rows() -> pl.DataFrame:
    """An A, a D and a C claim version, then two rows that belong to no claim."""
    return pl.DataFrame(
        {
            "claim_type": ["OP", "IP", "OP", None, None],
            "claim_key": ["K1", "AN1", "K3", None, None],
            "version": [1, 2, 1, None, None],
            "status": ["A", "D", "C", "C", "C"],
            "codes": ["B07;E02", "E01", "C04;S04", "S05", "S02"],
            "file": [FILE] * 5,
            "line": [1, 2, 3, 4, 5],
        },
        schema={"claim_type": pl.String, "claim_key": pl.String, "version": pl.Int64,
                "status": pl.String, "codes": pl.String, "file": pl.String, "line": pl.Int64},
    )  # fmt: skip


def ack_items() -> pl.DataFrame:
    k1 = ("OP", "K1", 1, "1101700203451", 128451, 100001, "E02")
    an1 = ("IP", "AN1", 2, "3100600123450", 200000, 1500075, "E01")
    k3 = ("OP", "K3", 1, "", 999, 0, "S04")
    rows = [
        # the claim (type, key, version, person, charged, allowed, claim codes), then the
        # item (file, line, charged, allowed, item codes); satang
        (*k1, f"{FILE}#item1", 1, 123450, 100000, ""),
        (*k1, f"{FILE}#item10", 1, 1, 1, ""),
        (*k1, f"{FILE}#item2", 1, 5000, 0, "B07"),
        (*an1, f"{FILE}#item1", 2, 200000, 0, ""),
        (*k3, f"{FILE}#item1", 3, 999, 0, "C04"),
    ]  # fmt: skip
    frame = pl.DataFrame(rows, schema=ITEM_COLUMNS, orient="row")
    return frame.with_columns(kind=pl.lit("ADP"), code=pl.lit("55020"), quantity=pl.lit(1))


def build(**kwargs: Any) -> dict[str, Any]:
    args: dict[str, Any] = {"hcode": "10670", "received": RECEIVED, "sha256": SHA,
                            "drop": FILE, **kwargs}  # fmt: skip
    return claim_responses(ack_rows(), ack_items(), **args)


def resources(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    return [entry["resource"] for entry in bundle["entry"]]


def by_key(bundle: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        r["request"]["identifier"]["value"]: r
        for r in resources(bundle)
        if r["resourceType"] == "ClaimResponse"
    }


def code_of(concept: dict[str, Any]) -> tuple[str, str]:
    [coding] = concept["coding"]
    return coding["system"], coding["code"]


def amounts(adjudications: list[dict[str, Any]]) -> dict[str, Decimal]:
    """category → amount of the entries that carry one (one per category)."""
    out: dict[str, Decimal] = {}
    for a in adjudications:
        if "amount" in a:
            category = code_of(a["category"])[1]
            assert category not in out
            assert a["amount"]["currency"] == "THB"
            out[category] = a["amount"]["value"]
    return out


def reasons(adjudications: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [code_of(a["reason"]) for a in adjudications if "reason" in a]


# --- the builder ----------------------------------------------------------------------------


def test_bundle_is_a_collection_of_one_response_per_claim_then_the_orphans() -> None:
    bundle = build()
    assert bundle["resourceType"] == "Bundle"
    assert bundle["type"] == "collection"
    assert bundle["identifier"]["value"] == STEM
    kinds = [r["resourceType"] for r in resources(bundle)]
    assert kinds == ["ClaimResponse"] * 3 + ["OperationOutcome"]
    urls = [e["fullUrl"] for e in bundle["entry"]]
    assert len(set(urls)) == len(urls)
    assert all(u.startswith("urn:uuid:") for u in urls)
    assert build() == bundle  # deterministic: a rewritten acknowledgement is the same file
    assert all("request" not in e and "response" not in e for e in bundle["entry"])  # bdl-3/4


def test_accepted_claim_items_amounts_and_codes() -> None:
    k1 = by_key(build())["K1"]
    assert (k1["status"], k1["use"], k1["outcome"]) == ("active", "claim", "complete")
    assert code_of(k1["type"]) == ("http://terminology.hl7.org/CodeSystem/claim-type",
                                   "professional")  # fmt: skip
    assert k1["created"] == "2026-10-08"
    assert k1["patient"]["identifier"]["value"] == "1101700203451"
    assert k1["requestor"]["identifier"]["value"] == "10670"
    assert k1["request"] == {"type": "Claim", "identifier": {"value": "K1"},
                             "display": f"{FILE} entry 1"}  # fmt: skip
    assert k1["identifier"][0]["value"] == "10670/OP/K1/1"
    assert k1["disposition"] == "accepted: B07, E02"
    # items by their Claim.item.sequence (#item10 after #item2), amounts exact
    assert [i["itemSequence"] for i in k1["item"]] == [1, 2, 10]
    first, second, tenth = k1["item"]
    assert amounts(first["adjudication"]) == {
        "submitted": Decimal("1234.50"), "eligible": Decimal("1000.00"),
        "benefit": Decimal("1000.00"),
    }  # fmt: skip
    assert str(amounts(first["adjudication"])["submitted"]) == "1234.50"
    assert amounts(tenth["adjudication"])["benefit"] == Decimal("0.01")
    # the item code sits on its item; the claim's own code at the header
    assert reasons(first["adjudication"]) == []
    assert reasons(second["adjudication"]) == [(RULE_CODE_SYSTEM, "B07")]
    assert reasons(k1["adjudication"]) == [(RULE_CODE_SYSTEM, "E02")]
    assert amounts(k1["adjudication"]) == {}  # the items carry the whole allowed amount
    assert amounts(k1["total"]) == {
        "submitted": Decimal("1284.51"), "eligible": Decimal("1000.01"),
        "benefit": Decimal("1000.01"),
    }  # fmt: skip
    assert "error" not in k1
    assert [n["text"][:3] for n in k1["processNote"]] == ["B07", "E02"]
    assert [n["number"] for n in k1["processNote"]] == [1, 2]


def test_denied_claim_is_complete_with_no_benefit() -> None:
    an1 = by_key(build())["AN1"]
    assert an1["outcome"] == "complete"
    assert code_of(an1["type"])[1] == "institutional"
    assert an1["identifier"][0]["value"] == "10670/IP/AN1/2"
    assert an1["disposition"].startswith("denied")
    [item] = an1["item"]
    assert amounts(item["adjudication"]) == {
        "submitted": Decimal("2000.00"), "eligible": Decimal("0.00"), "benefit": Decimal("0.00"),
    }  # fmt: skip
    # the DRG amount no item carries is at the header; denied: benefit 0, reason E01
    assert amounts(an1["adjudication"]) == {"eligible": Decimal("15000.75"),
                                            "benefit": Decimal("0.00")}  # fmt: skip
    assert reasons(an1["adjudication"]) == [(RULE_CODE_SYSTEM, "E01")]
    assert amounts(an1["total"]) == {
        "submitted": Decimal("2000.00"), "eligible": Decimal("15000.75"),
        "benefit": Decimal("0.00"),
    }  # fmt: skip
    assert "error" not in an1


def test_rejected_claim_is_an_error_with_its_codes_and_no_adjudication() -> None:
    k3 = by_key(build())["K3"]
    assert k3["outcome"] == "error"
    assert k3["disposition"] == "rejected, fix and resubmit: C04, S04"
    for section in ("item", "addItem", "adjudication", "payment"):
        assert section not in k3
    assert amounts(k3["total"]) == {"submitted": Decimal("9.99")}
    errors = [(e.get("itemSequence"), code_of(e["code"])) for e in k3["error"]]
    assert errors == [(None, (RULE_CODE_SYSTEM, "S04")), (1, (RULE_CODE_SYSTEM, "C04"))]
    assert k3["patient"] == {"display": "patient not identified by the claim"}
    displays = {c["coding"][0]["display"] for c in (e["code"] for e in k3["error"])}
    assert displays == {r.text for r in RULES if r.code in ("S04", "C04")}


def test_orphan_rows_are_issues_of_one_operation_outcome() -> None:
    [outcome] = [r for r in resources(build()) if r["resourceType"] == "OperationOutcome"]
    issues = outcome["issue"]
    assert [(i["severity"], i["code"], code_of(i["details"])[1]) for i in issues] == [
        ("error", "not-found", "S05"), ("error", "required", "S02"),
    ]  # fmt: skip
    assert [i["expression"] for i in issues] == [["Bundle.entry[3]"], ["Bundle.entry[4]"]]
    assert issues[0]["diagnostics"].startswith(f"{FILE} entry 4: S05 ")


def test_a_claim_missing_from_the_items_frame_still_answers() -> None:
    bundle = claim_responses(
        ack_rows().head(1), ack_items().head(0), hcode="10670", received=RECEIVED,
        sha256=SHA, drop=FILE,
    )  # fmt: skip
    [k1] = resources(bundle)
    assert "item" not in k1
    assert "total" not in k1
    assert reasons(k1["adjudication"]) == [(RULE_CODE_SYSTEM, "B07"), (RULE_CODE_SYSTEM, "E02")]
    assert check_fhir(bundle) > 0


def test_items_of_other_formats_are_numbered_by_line() -> None:
    items = (
        ack_items().head(2).with_columns(item_file=pl.lit("ADP.txt"), item_line=pl.Series([9, 5]))
    )
    bundle = claim_responses(ack_rows().head(1), items, hcode="10670", received=RECEIVED,
                             sha256=SHA, drop=FILE)  # fmt: skip
    [k1] = resources(bundle)
    # line 5 (charged 0.01) is item 1, line 9 (1234.50) item 2
    assert [(i["itemSequence"], amounts(i["adjudication"])["submitted"]) for i in k1["item"]] == [
        (1, Decimal("0.01")), (2, Decimal("1234.50")),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("refusal", "severity", "issue", "stem"),
    [
        (("F", "F03"), "fatal", "required", STEM),
        (("F", "F07"), "fatal", "business-rule", STEM),
        (("DUP", "F08"), "information", "duplicate", f"{STEM}_DUP"),
    ],
)
def test_a_refused_or_duplicate_drop_is_one_operation_outcome(
    refusal: tuple[str, str], severity: str, issue: str, stem: str
) -> None:
    bundle = build(refusal=refusal, message="the details")
    assert bundle["identifier"]["value"] == stem
    [outcome] = resources(bundle)
    assert outcome["resourceType"] == "OperationOutcome"
    [only] = outcome["issue"]
    assert (only["severity"], only["code"]) == (severity, issue)
    assert code_of(only["details"]) == (RULE_CODE_SYSTEM, refusal[1])
    assert FILE in only["diagnostics"]
    assert "the details" in only["diagnostics"]
    assert "expression" not in only
    assert check_fhir(bundle) > 0


def test_a_refusal_is_f_or_dup() -> None:
    with pytest.raises(ValueError, match="refusal"):
        build(refusal=("C", "S05"))


# --- FHIR R4 rules over the whole Bundle ------------------------------------------------------


def check_fhir(bundle: dict[str, Any]) -> int:
    """Walk the Bundle: order, required elements, value sets, no empty values, exact money.

    Returns the number of elements checked.
    """
    seen = 0

    def walk(node: dict[str, Any], kind: str) -> None:
        nonlocal seen
        names = [n for n in node if n != "resourceType"]
        order = ORDER[kind]
        assert set(names) <= set(order), (kind, set(names) - set(order))
        assert names == sorted(names, key=order.index), kind
        assert REQUIRED.get(kind, set()) <= set(names), (kind, REQUIRED[kind] - set(names))
        for name in names:
            seen += 1
            value = node[name]
            assert value not in (None, "", [], {}), (kind, name)
            for one in value if isinstance(value, list) else [value]:
                assert not isinstance(one, float), (kind, name)
                if (kind, name) in VALUE_SETS:
                    assert one in VALUE_SETS[(kind, name)], (kind, name, one)
                if kind == "Bundle.entry" and name == "resource":
                    walk(one, one["resourceType"])
                elif (kind, name) in CHILD:
                    walk(one, CHILD[(kind, name)])
                elif kind == "Money" and name == "value":
                    assert isinstance(one, Decimal)
                    assert one.as_tuple().exponent == -2, one
                elif name in ("itemSequence", "number"):
                    assert isinstance(one, int)
                    assert one >= 1
                else:
                    assert isinstance(one, str), (kind, name, one)

    walk(bundle, "Bundle")
    for r in resources(bundle):
        if r["resourceType"] == "ClaimResponse":
            assert r["outcome"] in OUTCOMES
            for a in r.get("adjudication", []) + [
                a for i in r.get("item", []) for a in i["adjudication"]
            ]:
                assert code_of(a["category"])[0] == ADJUDICATION_SYSTEM
                assert code_of(a["category"])[1] in ADJUDICATION_CODES
                if "reason" in a:
                    assert code_of(a["reason"])[0] == RULE_CODE_SYSTEM
            if "error" in r:  # R4 ClaimResponse.error: no adjudication sections with errors
                assert not {"item", "addItem", "payment"} & set(r)
    return seen


def test_the_bundle_keeps_the_fhir_r4_rules() -> None:
    assert check_fhir(build()) > 100


# --- JSON and XML -----------------------------------------------------------------------------


def test_json_file_is_the_bundle_with_exact_decimals(tmp_path: Path) -> None:
    bundle = build()
    path = write_fhir_ack(tmp_path / "ack", STEM, bundle)
    assert path == tmp_path / "ack" / f"{STEM}.fhir.json"
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary left
    text = path.read_text(encoding="utf-8")
    assert '"value":1234.50,"currency":"THB"' in text  # a JSON number, two decimals
    assert '"value":15000.75' in text
    assert '"value":0.00' in text
    assert text.startswith('{\n "resourceType": "Bundle",')
    parsed = json.loads(text, parse_float=Decimal)
    assert parsed == bundle
    assert list(parsed) == ["resourceType", "identifier", "type", "entry"]
    assert check_fhir(parsed) == check_fhir(bundle)
    # one entry per line
    assert len(text.splitlines()) == len(bundle["entry"]) + 7


def leaves_json(node: Any, path: str = "") -> list[tuple[str, str]]:
    if isinstance(node, dict):
        out = []
        for name, value in node.items():
            if name == "resourceType":
                continue
            if name == "resource":
                kind = value["resourceType"]
                out += leaves_json(value, f"{path}/resource/{kind}")
            else:
                out += leaves_json(value, f"{path}/{name}")
        return out
    if isinstance(node, list):
        return [leaf for one in node for leaf in leaves_json(one, path)]
    text = format(node, "f") if isinstance(node, Decimal) else str(node)
    return [(path, text)]


def leaves_xml(element: Any, path: str = "") -> list[tuple[str, str]]:
    out = []
    for child in element:
        name = etree.QName(child).localname
        assert etree.QName(child).namespace == FHIR_NS
        assert not (child.text or "").strip()
        if "value" in child.attrib:
            assert len(child) == 0
            out.append((f"{path}/{name}", child.get("value")))
        else:
            out += leaves_xml(child, f"{path}/{name}")
    return out


def test_xml_file_says_the_same_in_fhir_xml(tmp_path: Path) -> None:
    bundle = build()
    path = write_fhir_ack(tmp_path, STEM, bundle, syntax="xml")
    assert path.name == f"{STEM}.fhir.xml"
    data = path.read_bytes()
    assert data.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    root = etree.fromstring(data)
    assert root.tag == f"{{{FHIR_NS}}}Bundle"
    assert root.nsmap == {None: FHIR_NS}
    # the same leaves in the same order as the JSON: the XML follows FHIR's element order
    json_leaves = leaves_json(json.loads(fhir_json(bundle), parse_float=Decimal))
    assert leaves_xml(root) == json_leaves
    values = [v for p, v in json_leaves if p.endswith("/amount/value")]
    assert "1234.50" in values
    assert "15000.75" in values
    assert all(v.count(".") == 1 and len(v.split(".")[1]) == 2 for v in values)
    # element order inside each XML element, checked against the FHIR order directly
    response = root.find(f"{{{FHIR_NS}}}entry/{{{FHIR_NS}}}resource/{{{FHIR_NS}}}ClaimResponse")
    assert response is not None
    names = [etree.QName(c).localname for c in response]
    order = ORDER["ClaimResponse"]
    assert names == sorted(names, key=order.index)
    assert names[:7] == ["identifier", "status", "type", "use", "patient", "created", "insurer"]


def test_writer_refuses_what_fhir_does_not_allow(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="syntax"):
        write_fhir_ack(tmp_path, STEM, build(), syntax="yaml")
    with pytest.raises(ValueError, match="no element"):
        fhir_json({"resourceType": "Bundle", "type": "collection", "colour": "red"})
    with pytest.raises(ValueError, match="empty"):
        fhir_xml({"resourceType": "Bundle", "type": "collection", "entry": []})
    money = {"value": 1234.5, "currency": "THB"}
    total = {"category": {"coding": [{"code": "benefit"}]}, "amount": money}
    response = {"resourceType": "ClaimResponse", "total": [total]}
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": response}]}
    with pytest.raises(TypeError, match="float"):
        fhir_json(bundle)


# --- docs/ack-fhir.md -------------------------------------------------------------------------

DOC = Path(__file__).parents[2] / "docs" / "ack-fhir.md"


def test_the_documented_code_system_is_the_rule_table() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert RULE_CODE_SYSTEM in text
    documented = [
        line for line in text.splitlines() if line.startswith("| ") and line[2:5] in
        {r.code for r in RULES} and line[5:8] == " | "
    ]  # fmt: skip
    assert documented == [f"| {r.code} | {r.effect.value} | {r.text} |" for r in RULES]


def test_the_documented_example_is_what_the_builder_writes() -> None:
    text = DOC.read_text(encoding="utf-8")
    example = text.split("```json\n", 1)[1].split("```", 1)[0]
    rows = ack_rows().filter(pl.col("line").is_in([1, 3, 4]))
    rows = rows.with_columns(
        codes=pl.when(pl.col("line") == 1).then(pl.lit("B07")).otherwise("codes")
    )
    k1 = ("OP", "K1", 1, "1101700203451", 128450, 100000, "")
    k3 = ("OP", "K3", 1, "", 999, 0, "S04")
    items = pl.DataFrame(
        [(*k1, f"{FILE}#item1", 1, 123450, 100000, ""), (*k1, f"{FILE}#item2", 1, 5000, 0, "B07"),
         (*k3, f"{FILE}#item1", 3, 999, 0, "C04")],
        schema=ITEM_COLUMNS, orient="row",
    )  # fmt: skip
    bundle = claim_responses(rows, items, hcode="10670", received=RECEIVED, sha256=SHA, drop=FILE)
    assert json.loads(example, parse_float=Decimal) == bundle
    assert check_fhir(bundle) > 0
    # the XML excerpt is the file's first lines
    excerpt = text.split("```xml\n", 1)[1].split("        …", 1)[0]
    assert fhir_xml(bundle).decode("utf-8").startswith(excerpt)


def test_xml_escapes_what_a_hospital_may_write() -> None:
    key = 'A&B <"1">\tx\x01'
    rows = ack_rows().head(1).with_columns(claim_key=pl.lit(key))
    items = ack_items().head(1).with_columns(claim_key=pl.lit(key))
    bundle = claim_responses(rows, items, hcode="10670", received=RECEIVED, sha256=SHA, drop=FILE)
    root = etree.fromstring(fhir_xml(bundle))
    ns = {"f": FHIR_NS}
    [value] = root.xpath("//f:request/f:identifier/f:value/@value", namespaces=ns)
    assert value == 'A&B <"1">\tx\ufffd'  # XML 1.0 cannot hold U+0001
    assert json.loads(fhir_json(bundle))["entry"][0]["resource"]["request"]["identifier"] == {
        "value": key
    }
