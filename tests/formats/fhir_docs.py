"""FHIR R4 resources for the tests: Claims, Patients, Coverages and Bundles as dicts, written
as JSON (numbers as ``Decimal`` keep their exact text: ``1E+2``, ``12.345``) or as XML from
the same dict, so that a test can read both syntaxes and compare the frames."""

from __future__ import annotations

import json
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

Resource = dict[str, Any]

TH_CID = "https://terms.sil-th.org/id/th-cid"
TMT = "http://terms.sil-th.org/CodeSystem/th-tmt"
FEE = "https://terms.sil-th.org/core/CodeSystem/cs-th-fee-schedule"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
CLAIM_TYPE = "http://terminology.hl7.org/CodeSystem/claim-type"
HCODE = "10713"
#: In the sample registry (tests/cases/two-drops/reference), with a right check digit.
PERSON_ID = "1982597919072"


def coding(code: str, system: str | None = None) -> Resource:
    concept: Resource = {"code": code}
    return {"coding": [{"system": system, **concept} if system else concept]}


def money(value: str | Decimal | None, currency: str | None = "THB") -> Resource:
    out: Resource = {}
    if value is not None:
        out["value"] = Decimal(value) if isinstance(value, str) else value
    if currency is not None:
        out["currency"] = currency
    return out


def patient(
    id: str = "pat1",
    *,
    cid: str | None = PERSON_ID,
    birth: str | None = "1980-01-02",
    gender: str | None = "male",
    other_ids: Iterable[Resource] = (),
) -> Resource:
    resource: Resource = {"resourceType": "Patient", "id": id}
    identifiers = [*other_ids, *([{"system": TH_CID, "value": cid}] if cid else [])]
    if identifiers:
        resource["identifier"] = identifiers
    if gender:
        resource["gender"] = gender
    if birth:
        resource["birthDate"] = birth
    return resource


def coverage(id: str = "cov1", right: str = "UCS") -> Resource:
    return {"resourceType": "Coverage", "id": id, "status": "active", "type": coding(right)}


def organization(id: str = "org1", hcode: str = HCODE) -> Resource:
    return {"resourceType": "Organization", "id": id, "identifier": [{"value": hcode}]}


def item(
    sequence: int | None,
    code: str | None = "55020",
    *,
    system: str | None = FEE,
    quantity: int | Decimal | None = 1,
    unit: str | None = "50.00",
    net: str | None = "50.00",
    currency: str | None = "THB",
    category: str | None = "11",
    text: str | None = None,
) -> Resource:
    line: Resource = {}
    if sequence is not None:
        line["sequence"] = sequence
    if category:
        line["category"] = coding(category)
    product: Resource = coding(code, system) if code else {}
    if text:
        product["text"] = text
    line["productOrService"] = product
    if quantity is not None:
        line["quantity"] = {"value": quantity}
    if unit is not None:
        line["unitPrice"] = money(unit, currency)
    if net is not None:
        line["net"] = money(net, currency)
    return line


def diagnosis(sequence: int, code: str, *, principal: bool = False) -> Resource:
    out: Resource = {"sequence": sequence, "diagnosisCodeableConcept": coding(code, ICD10)}
    if principal:
        out["type"] = [coding("principal")]
    return out


def claim(
    key: str | None = "OP6910001",
    *,
    kind: str = "professional",
    patient_ref: str = "#pat1",
    coverage_ref: str | None = "#cov1",
    contained: Iterable[Resource] | None = None,
    start: str | None = "2026-10-01T09:30:00+07:00",
    end: str | None = None,
    created: str = "2026-10-01",
    provider: Resource | None = None,
    diagnoses: Iterable[Resource] | None = None,
    items: Iterable[Resource] | None = None,
    total: str | None = "150.00",
    currency: str | None = "THB",
    use: str = "claim",
    status: str = "active",
    **extra: Any,
) -> Resource:
    """An outpatient Claim of 10713 with a contained Patient and Coverage, one principal
    diagnosis and a fee item plus a drug whose nets sum to the total."""
    resource: Resource = {"resourceType": "Claim", "id": (key or "nokey").lower()}
    resource["contained"] = [patient(), coverage()] if contained is None else list(contained)
    if not resource["contained"]:
        del resource["contained"]
    if key is not None:
        resource["identifier"] = [{"system": "https://hospital.example/claim", "value": key}]
    resource |= {"status": status, "type": coding(kind, CLAIM_TYPE), "use": use}
    resource["patient"] = {"reference": patient_ref}
    if start or end:
        resource["billablePeriod"] = {k: v for k, v in (("start", start), ("end", end)) if v}
    resource["created"] = created
    resource["provider"] = provider or {"identifier": {"value": HCODE}}
    resource["priority"] = coding("normal")
    resource["diagnosis"] = list(
        diagnoses if diagnoses is not None else [diagnosis(1, "J06.9", principal=True)]
    )
    if coverage_ref:
        resource["insurance"] = [
            {"sequence": 1, "focal": True, "coverage": {"reference": coverage_ref}}
        ]
    resource["item"] = list(
        items
        if items is not None
        else [
            item(1, "55020", unit="50.00", net="50.00"),
            item(2, "100011", system=TMT, quantity=200, unit="0.50", net="100.00", category="31"),
        ]
    )
    if total is not None:
        resource["total"] = money(total, currency)
    return resource | extra


def bundle(*entries: Resource | tuple[str, Resource], kind: str = "collection") -> Resource:
    """A Bundle of the resources, each with ``fullUrl`` ``urn:uuid:<id>`` unless given as
    ``(fullUrl, resource)`` (``""``: no fullUrl)."""
    out: list[Resource] = []
    for entry in entries:
        url, resource = entry if isinstance(entry, tuple) else (f"urn:uuid:{entry['id']}", entry)
        out.append({"fullUrl": url, "resource": resource} if url else {"resource": resource})
    return {"resourceType": "Bundle", "id": "drop", "type": kind, "entry": out}


def _json(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)}: {_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_json(v) for v in value) + "]"
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int | Decimal):
        return str(value)  # Decimal("1E+2") → 1E+2, a JSON number as written
    return json.dumps(value, ensure_ascii=False)


def to_json(resource: Resource) -> bytes:
    return _json(resource).encode()


def _xml(name: str, value: Any) -> str:
    if isinstance(value, list):
        return "".join(_xml(name, v) for v in value)
    if isinstance(value, dict):
        if name in ("resource", "contained"):
            return f"<{name}>{_resource_xml(value)}</{name}>"
        return f"<{name}>" + "".join(_xml(k, v) for k, v in value.items()) + f"</{name}>"
    text = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return f"<{name} value={quoteattr(text)}/>"


def _resource_xml(resource: Resource, namespace: str = "") -> str:
    kind = resource["resourceType"]
    body = "".join(_xml(k, v) for k, v in resource.items() if k != "resourceType")
    return f"<{kind}{namespace}>{body}</{kind}>"


def to_xml(resource: Resource) -> bytes:
    """The resource in FHIR XML (values in ``value`` attributes)."""
    head = '<?xml version="1.0" encoding="UTF-8"?>\n'
    return (head + _resource_xml(resource, ' xmlns="http://hl7.org/fhir"') + "\n").encode()


def write(folder: Path, name: str, resource: Resource) -> Path:
    """The resource as ``folder/name``, JSON or XML by the name's suffix."""
    path = folder / name
    path.write_bytes(to_xml(resource) if name.endswith(".xml") else to_json(resource))
    return path
