"""Claims as one FHIR R4 Bundle per drop, JSON or XML (docs/formats.md §4 inverted).

Every OPD and IPD row becomes a Claim entry (``identifier`` = SEQ or AN, ``type``
``professional`` or ``institutional``) with its Patient and Coverage contained, its
diagnoses (``principal`` typed; a claim without a principal numbers them from 2, since the
reader takes sequence 1 as principal when none is typed), procedures, referral, emergency
``subType``, accident type (V → ``MVA``, W → ``WPA``, O → other), items and ``total``. Items are
the bill lines (``exchange.bill_lines``): fee-schedule and TMT codings for ADP and DRU items,
``text`` only for a charge-only line. Money is ``THB`` written as decimal text (JSON numbers
are written as read: ``12.345`` stays, so S04 reads back; a value that is no JSON number,
``abc`` or ``1,250.00``, is written as ``1.5`` for a quantity and ``0.001`` for money, both still
S04). UTF-8, no BOM.

What cannot be said is dropped: leave days (no LVD: the stay counts them), S01 (no field
counts). Faults said the FHIR way: S02 a Patient that does not resolve (no PAT row) or no
``created`` (an empty CHT date), S05 a Patient no Claim references (orphan detail rows other
than PAT cannot be said), S06 the Claim entry twice, S07 a foreign provider. Drop faults: F02
a byte that is not UTF-8 (JSON reads it as unparseable, F01), F03 a Bundle of Patients only,
F04 an entry without a resource.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

import polars as pl

from jobs.synth.exchange import (
    DropMeta,
    Encoded,
    Tables,
    bill_lines,
    claim_rows,
    diagnoses,
    dotted_icd9,
    dotted_icd10,
    iso_date,
    iso_datetime,
    procedures,
)

__all__ = ["encode_fhir"]

_OFFSET = "+07:00"
_SID = "https://clearinghouse.example/sid"
_CS = "https://clearinghouse.example/CodeSystem"
_CID = "https://terms.sil-th.org/id/th-cid"
_TMT = "http://terms.sil-th.org/CodeSystem/th-tmt"
_ICD10 = "http://hl7.org/fhir/sid/icd-10"
_ICD9 = "http://hl7.org/fhir/sid/icd-9-cm"
_HL7 = "http://terminology.hl7.org/CodeSystem"
_ACCIDENTS = {"V": "MVA", "W": "WPA"}
_GENDER = {"1": "male", "2": "female"}
_JSON_NUMBER = re.compile(r"-?(0|[1-9]\d*)(\.\d+)?")
_MARK = "\x00"  # json.dumps writes it \u0000, which no other string here holds
_MARKED = re.compile(r'"\\u0000([^"]*)"')

Json = dict[str, Any]


@dataclass(frozen=True, slots=True)
class _Number:
    """A decimal as its text: raw in XML; in JSON as a number (a stand-in when it is none)."""

    text: str
    stand_in: str

    def json(self) -> str:
        return self.text if _JSON_NUMBER.fullmatch(self.text) else self.stand_in


def _quantity(text: str) -> Json:
    return {"value": _Number(text, "1.5")}


def _money(text: str) -> Json:
    return {"value": _Number(text, "0.001"), "currency": "THB"}


def _coding(system: str, code: str) -> Json:
    return {"coding": [{"system": system, "code": code}]}


def _marked(value: object) -> str:
    """A number as a marked string, unmarked by :func:`_to_json` (json has no raw numbers)."""
    if isinstance(value, _Number):
        return _MARK + value.json()
    raise TypeError(f"cannot write {value!r} as FHIR JSON")


def _to_json(value: object) -> str:
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_marked)
    return _MARKED.sub(r"\1", text)


def _to_xml(name: str, value: object, out: list[str]) -> None:
    """FHIR XML: primitives as ``value`` attributes, resources wrapped in their type."""
    if isinstance(value, list):
        for each in value:
            _to_xml(name, each, out)
    elif isinstance(value, dict):
        out.append(f"<{name}>")
        if "resourceType" in value:
            _resource_xml(value, out)
        else:
            for key, each in value.items():
                _to_xml(key, each, out)
        out.append(f"</{name}>")
    else:
        text = (
            value.text
            if isinstance(value, _Number)
            else ("true" if value else "false")
            if isinstance(value, bool)
            else str(value)
        )
        out.append(f'<{name} value="{escape(text, {chr(34): "&quot;"})}"/>')


def _resource_xml(resource: Json, out: list[str], *, root: bool = False) -> None:
    kind = resource["resourceType"]
    out.append(f'<{kind} xmlns="http://hl7.org/fhir">' if root else f"<{kind}>")
    for key, value in resource.items():
        if root and key == "entry":
            for entry in value:  # one line per entry
                out.append("\n")
                _to_xml(key, entry, out)
            out.append("\n")
        elif key != "resourceType":
            _to_xml(key, value, out)
    out.append(f"</{kind}>")


def _patient(row: dict[str, Any], ident: str) -> Json:
    patient: Json = {"resourceType": "Patient", "id": ident}
    if row["pid"]:
        patient["identifier"] = [{"system": _CID, "value": row["pid"]}]
    if row["namepat"]:
        patient["name"] = [{"text": row["namepat"]}]
    if row["sex"] in _GENDER:
        patient["gender"] = _GENDER[row["sex"]]
    if row["dob"]:
        patient["birthDate"] = row["dob_iso"]
    return patient


def _claim(row: dict[str, Any]) -> Json:
    ip = row["claim_type"] == "IP"
    missing = not row["has_pat"] or bool(row["blank_code"])
    subject = f"Patient/{row['claim_type']}-{row['key']}" if missing else "#patient"
    coverage: Json = {"resourceType": "Coverage", "id": "coverage", "status": "active"}
    if row["inscl"]:
        coverage["type"] = _coding(f"{_CS}/inscl", row["inscl"])
    coverage |= {"beneficiary": {"reference": subject}, "payor": [{"display": row["inscl"] or "-"}]}
    claim: Json = {
        "resourceType": "Claim",
        "id": f"{row['claim_type'].lower()}-{row['key']}",
        "contained": ([] if missing else [_patient(row, "patient")]) + [coverage],
        "identifier": [{"system": f"{_SID}/claim-key", "value": row["key"]}],
        "status": "active",
        "type": _coding(f"{_HL7}/claim-type", "institutional" if ip else "professional"),
    }
    if row["ucae"] in ("E", "A"):
        claim["subType"] = _coding(f"{_HL7}/ex-claimsubtype", "emergency")
    period = {"start": row["start"]} | ({"end": row["end"]} if ip else {})
    claim |= {"use": "claim", "patient": {"reference": subject}, "billablePeriod": period}
    if row["cht_date"]:
        claim["created"] = _iso_date_text(row["cht_date"])
    claim["provider"] = {"identifier": {"system": f"{_SID}/hcode", "value": row["hcare"]}}
    claim["priority"] = _coding(f"{_HL7}/processpriority", "normal")
    if row["refer"]:
        claim["referral"] = {"identifier": {"system": f"{_SID}/hcode", "value": row["refer"]}}
    dxs = row["dx"] or []
    first = 1 if any(d["dxtype"] == "1" for d in dxs) else 2
    if dxs:
        claim["diagnosis"] = [
            {"sequence": first + i, "diagnosisCodeableConcept": _coding(_ICD10, d["code"])}
            | ({"type": [_coding(f"{_HL7}/ex-diagnosistype", "principal")]}
               if d["dxtype"] == "1" else {})
            for i, d in enumerate(dxs)
        ]  # fmt: skip
    if row["ops"]:
        claim["procedure"] = [
            {"sequence": i, "procedureCodeableConcept": _coding(_ICD9, code)}
            for i, code in enumerate(row["ops"], start=1)
        ]
    claim["insurance"] = [{"sequence": 1, "focal": True, "coverage": {"reference": "#coverage"}}]
    if row["aetype"]:
        kind = _ACCIDENTS.get(row["aetype"])
        claim["accident"] = {
            "date": _iso_date_text(row["date_in"]),
            "type": _coding(f"{_HL7}/v3-ActCode", kind) if kind else {"text": "other accident"},
        }
    if row["lines"]:
        claim["item"] = [_item(line) for line in row["lines"]]
    claim["total"] = _money(row["claim_total"])
    return claim


def _item(line: dict[str, Any]) -> Json:
    product: Json = {"text": line["name"] or "charge"}
    if line["kind"] and line["code"]:
        system = _TMT if line["kind"] == "DRU" else f"{_CS}/fee-schedule"
        product = _coding(system, line["code"]) | ({"text": line["name"]} if line["name"] else {})
    return {
        "sequence": line["n"],
        "category": _coding(f"{_CS}/chrgitem", line["category"]),
        "productOrService": product,
        "quantity": _quantity(line["qty"]),
        "unitPrice": _money(line["rate"]),
        "net": _money(line["total"]),
    }


def _full_url(name: str) -> str:
    """A stable ``urn:uuid`` for an entry (the same drop, the same bytes)."""
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, name)}"


def _iso_date_text(day: str) -> str:
    """``YYYYMMDD`` → ``YYYY-MM-DD`` for one value (anything else as it is)."""
    return f"{day[:4]}-{day[4:6]}-{day[6:]}" if len(day) == 8 and day.isdigit() else day


def _claims(t: Tables, meta: DropMeta) -> pl.DataFrame:
    """Every claim row with its diagnoses, procedures and lines as lists."""
    ident = ["claim_type", "key"]
    parts = []
    for kind in ("OP", "IP"):
        rows = claim_rows(t, kind, meta.hcode).with_columns(claim_type=pl.lit(kind))
        dx = (
            diagnoses(t, kind)
            .group_by("key")
            .agg(dx=pl.struct(code=dotted_icd10(pl.col("diag")), dxtype="dxtype"))
        )
        ops = procedures(t, kind).group_by("key").agg(ops=dotted_icd9(pl.col("oper")))
        parts.append(rows.join(dx, on="key", how="left").join(ops, on="key", how="left"))
    claims = pl.concat(parts, how="diagonal_relaxed")
    lines = (
        bill_lines(t)
        .join(claims.select(ident).unique(), on="key")
        .group_by(ident)
        .agg(lines=pl.struct("n", "category", "kind", "code", "qty", "rate", "total", "name"))
    )
    return claims.join(lines, on=ident, how="left", maintain_order="left").with_columns(
        start=iso_datetime(pl.col("date_in"), pl.col("time_in"), _OFFSET),
        end=iso_datetime(pl.col("date_out"), pl.col("time_out"), _OFFSET),
        dob_iso=iso_date(pl.col("dob")),
    )


def encode_fhir(t: Tables, meta: DropMeta, *, xml: bool) -> Encoded:
    """The drop's claims as a Bundle (``.json`` or ``.xml``); none: an empty ``Encoded``."""
    suffix = ".xml" if xml else ".json"
    claims = _claims(t, meta)
    if claims.is_empty():
        return Encoded(suffix=suffix)
    rows = list(claims.iter_rows(named=True))
    if meta.fault == "F03":
        resources = [_patient(row, f"patient-{i}") for i, row in enumerate(rows, start=1)]
    else:
        resources = [_claim(row) for row in rows]
    used = set(claims["hn"])
    orphans = (
        t["PAT"]
        .filter(~pl.col("HN").is_in(list(used)))
        .select(
            pid="PERSON_ID",
            namepat="NAMEPAT",
            sex="SEX",
            dob="DOB",
            dob_iso=iso_date(pl.col("DOB")),
        )
    )
    resources += [
        _patient(row, f"unreferenced-{i}")
        for i, row in enumerate(orphans.iter_rows(named=True), start=1)
    ]
    entries: list[Json] = [
        {"fullUrl": _full_url(f"{meta.hcode}/{meta.session}/{i}"), "resource": resource}
        for i, resource in enumerate(resources, start=1)
    ]
    if meta.fault == "F04":
        entries.insert(0, {"fullUrl": _full_url(meta.stamp)})
    bundle: Json = {
        "resourceType": "Bundle",
        "id": f"{meta.hcode}-{meta.session}",
        "type": "collection",
        "timestamp": meta.stamp + _OFFSET,
        "entry": entries,
    }
    if xml:
        out: list[str] = ['<?xml version="1.0" encoding="UTF-8"?>\n']
        _resource_xml(bundle, out, root=True)
        data = ("".join(out) + "\n").encode("utf-8")
        marker = b'value="collection"'
    else:
        head = _to_json({k: v for k, v in bundle.items() if k != "entry"})[:-1]
        body = ",\n".join(_to_json(entry) for entry in entries)
        data = f'{head},"entry":[\n{body}\n]}}\n'.encode()
        marker = b'"collection"'
    if meta.fault == "F02":
        data = data.replace(marker, marker[:-2] + b"\xfe" + marker[-2:], 1)
    lines = claims.select(pl.col("lines").list.eval(
        (pl.element().struct.field("kind") != "") & (pl.element().struct.field("code") != "")
    ).list.sum().fill_null(0))  # fmt: skip
    return Encoded(
        files={f"bundle{suffix}": data},
        suffix=suffix,
        claims=claims.select("claim_type", "key").n_unique(),
        items=0 if meta.fault == "F03" else int(lines.to_series().sum()),
        orphans=orphans.height,
    )
