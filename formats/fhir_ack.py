"""The FHIR acknowledgement of a FHIR drop: a ``collection`` Bundle of ``ClaimResponse``.

One ClaimResponse per claim version of the drop (in the CSV's file/line order), then one
``OperationOutcome`` for the rows that belong to no claim; a drop refused whole (F codes) or a
duplicate (F08) is a Bundle holding a single ``OperationOutcome``. The mapping, the code system
of our rule codes and an example are in ``docs/ack-fhir.md``.

Money is baht as :class:`~decimal.Decimal` with two places (``Decimal("1234.50")``), built from
integer satang and written digit for digit: a JSON number ``1234.50``, an XML
``value="1234.50"``; never a float.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from decimal import Decimal
from json.encoder import encode_basestring as _json_string  # C, no ASCII escaping
from pathlib import Path
from typing import Any

import polars as pl

from clearinghouse.codes import RULES
from clearinghouse.money import baht
from formats.ack import _atomic_write, ack_stem

__all__ = [
    "ADJUDICATION_SYSTEM",
    "FHIR_NS",
    "ITEM_COLUMNS",
    "OUTCOMES",
    "RULE_CODE_SYSTEM",
    "claim_responses",
    "fhir_json",
    "fhir_xml",
    "write_fhir_ack",
]

#: Our CodeSystem for the rule codes of ``clearinghouse/codes.py`` (``docs/ack-fhir.md``).
RULE_CODE_SYSTEM = "https://clearinghouse.example/fhir/CodeSystem/rule-code"
#: Identifies one claim version: ``<hcode>/<claim_type>/<claim_key>/<version>``.
CLAIM_VERSION_SYSTEM = "https://clearinghouse.example/fhir/NamingSystem/claim-version"
#: Identifies one acknowledgement: its file stem.
ACK_SYSTEM = "https://clearinghouse.example/fhir/NamingSystem/acknowledgement"
#: Hospital codes (HCODE) and the settlement participants (``CH`` is the clearinghouse).
HCODE_SYSTEM = "https://clearinghouse.example/fhir/NamingSystem/hcode"
PARTICIPANT_SYSTEM = "https://clearinghouse.example/fhir/NamingSystem/participant"
#: The Thai citizen id, as the FHIR reader prefers it for ``Patient.identifier``.
PERSON_ID_SYSTEM = "https://terms.sil-th.org/id/th-cid"
ADJUDICATION_SYSTEM = "http://terminology.hl7.org/CodeSystem/adjudication"
CLAIM_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/claim-type"
FHIR_NS = "http://hl7.org/fhir"
#: The required value set of ``ClaimResponse.outcome`` (RemittanceOutcome, R4).
OUTCOMES = frozenset({"queued", "complete", "error", "partial"})

#: What the builder reads of ``items`` (``claims_store.ack_items``): one row per stored item,
#: a claim without items as one row whose item columns are null.
ITEM_COLUMNS = (
    "claim_type", "claim_key", "version", "person_id", "claim_charged", "claim_allowed",
    "claim_codes", "item_file", "item_line", "charged", "allowed", "item_codes",
)  # fmt: skip

_RULES = {r.code: r for r in RULES}
_CLAIM_TYPES = {"OP": "professional", "IP": "institutional"}
_DISPOSITION = {"A": "accepted", "D": "denied, no fund pays", "C": "rejected, fix and resubmit"}
# OperationOutcome.issue.code (IssueType, required binding) for the codes that can reach one.
_ISSUE_TYPE = {
    "F01": "structure",
    "F02": "structure",
    "F03": "required",
    "F04": "required",
    "F05": "invalid",
    "F06": "structure",
    "F07": "business-rule",
    "F08": "duplicate",
    "S02": "required",
    "S05": "not-found",
}
_ITEM_SEQUENCE = r"#item(\d+)$"


def _money(satang: int) -> dict[str, Any]:
    return {"value": Decimal(baht(satang)), "currency": "THB"}


def _coding(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    coding: dict[str, Any] = {"system": system, "code": code}
    if display is not None:
        coding["display"] = display
    return coding


def _rule_concept(code: str) -> dict[str, Any]:
    known = _RULES.get(code)
    return {"coding": [_coding(RULE_CODE_SYSTEM, code, known.text if known else None)]}


# HL7 adjudication categories (no display): one shared, never mutated concept per code.
_CATEGORIES = {
    code: {"coding": [{"system": ADJUDICATION_SYSTEM, "code": code}]}
    for code in ("submitted", "eligible", "benefit")
}


def _category(code: str) -> dict[str, Any]:
    return _CATEGORIES[code]


def _adjudication(
    category: str, *, satang: int | None = None, reason: str | None = None
) -> dict[str, Any]:
    entry: dict[str, Any] = {"category": _category(category)}
    if reason is not None:
        entry["reason"] = _rule_concept(reason)
    if satang is not None:
        entry["amount"] = _money(satang)
    return entry


def _split(codes: str | None) -> list[str]:
    return sorted({c for c in (codes or "").split(";") if c})


def _note(code: str) -> str:
    known = _RULES.get(code)
    return f"{code} {known.text}" if known else code


# --- the frames, prepared once ----------------------------------------------------------------


def _items_with_sequence(items: pl.DataFrame) -> pl.DataFrame:
    """Item lines with their ``item_seq``: ``…#item<n>`` (FHIR, Q18), else the line's rank."""
    claim = ["claim_type", "claim_key", "version"]
    lines = items.filter(pl.col("item_file").is_not_null()).sort(*claim, "item_file", "item_line")
    parsed = pl.col("item_file").str.extract(_ITEM_SEQUENCE).cast(pl.Int64, strict=False)
    rank = pl.int_range(1, pl.len() + 1, dtype=pl.Int64).over(claim)
    return lines.with_columns(item_seq=pl.coalesce(parsed, rank)).sort(*claim, "item_seq")


def _claim_info(items: pl.DataFrame) -> dict[tuple[str, str, int], dict[str, Any]]:
    claim = ["claim_type", "claim_key", "version"]
    heads = items.unique(subset=claim, keep="first", maintain_order=True)
    return {
        (r["claim_type"], r["claim_key"], r["version"]): r
        for r in heads.select(
            *claim, "person_id", "claim_charged", "claim_allowed", "claim_codes"
        ).iter_rows(named=True)
    }


def _item_lines(items: pl.DataFrame) -> dict[tuple[str, str, int], list[dict[str, Any]]]:
    lines: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
    for r in _items_with_sequence(items).iter_rows(named=True):
        lines.setdefault((r["claim_type"], r["claim_key"], r["version"]), []).append(r)
    return lines


# --- resources --------------------------------------------------------------------------------


def _patient(person_id: str | None) -> dict[str, Any]:
    if person_id:
        return {"identifier": {"system": PERSON_ID_SYSTEM, "value": person_id}}
    return {"display": "patient not identified by the claim"}


def _item(line: dict[str, Any], status: str) -> dict[str, Any]:
    adjudication = []
    if line["charged"] is not None:
        adjudication.append(_adjudication("submitted", satang=line["charged"]))
    adjudication.append(_adjudication("eligible", satang=line["allowed"]))
    adjudication.append(_adjudication("benefit", satang=line["allowed"] if status == "A" else 0))
    adjudication += [_adjudication("eligible", reason=c) for c in _split(line["item_codes"])]
    return {"itemSequence": line["item_seq"], "adjudication": adjudication}


def _header_amounts(
    info: dict[str, Any] | None, lines: list[dict[str, Any]], status: str
) -> list[dict[str, Any]]:
    """The part of the allowed amount no item carries (an IP claim's DRG amount), if any."""
    if info is None or info["claim_allowed"] is None:
        return []
    rest = info["claim_allowed"] - sum(ln["allowed"] or 0 for ln in lines)
    if rest == 0:
        return []
    return [
        _adjudication("eligible", satang=rest),
        _adjudication("benefit", satang=rest if status == "A" else 0),
    ]


def _totals(info: dict[str, Any] | None, status: str) -> list[dict[str, Any]]:
    if info is None or info["claim_charged"] is None:
        return []

    def total(category: str, satang: int) -> dict[str, Any]:
        return {"category": _category(category), "amount": _money(satang)}

    out = [total("submitted", info["claim_charged"])]
    if status in ("A", "D"):
        allowed = info["claim_allowed"] or 0
        out += [total("eligible", allowed), total("benefit", allowed if status == "A" else 0)]
    return out


def _claim_response(
    row: dict[str, Any],
    info: dict[str, Any] | None,
    lines: list[dict[str, Any]],
    *,
    hcode: str,
    received: dt.date,
) -> dict[str, Any]:
    status = row["status"]
    codes = _split(row["codes"])
    item_codes = [(ln["item_seq"], c) for ln in lines for c in _split(ln["item_codes"])]
    if info is not None and info["claim_codes"] is not None:
        claim_codes = _split(info["claim_codes"])
    else:  # not in the items frame: every code not raised on an item is the claim's
        claim_codes = sorted(set(codes) - {c for _, c in item_codes})
    resource: dict[str, Any] = {
        "resourceType": "ClaimResponse",
        "identifier": [
            {
                "system": CLAIM_VERSION_SYSTEM,
                "value": f"{hcode}/{row['claim_type']}/{row['claim_key']}/{row['version']}",
            }
        ],
        "status": "active",
        "type": {"coding": [_coding(CLAIM_TYPE_SYSTEM, _CLAIM_TYPES[row["claim_type"]])]},
        "use": "claim",
        "patient": _patient(info["person_id"] if info else None),
        "created": received.isoformat(),
        "insurer": {
            "identifier": {"system": PARTICIPANT_SYSTEM, "value": "CH"},
            "display": "the claims clearinghouse",
        },
        "requestor": {"identifier": {"system": HCODE_SYSTEM, "value": hcode}},
        "request": {
            "type": "Claim",
            "identifier": {"value": row["claim_key"]},
            "display": f"{row['file']} entry {row['line']}",
        },
        "outcome": "error" if status == "C" else "complete",
        "disposition": _DISPOSITION[status] + (f": {', '.join(codes)}" if codes else ""),
    }
    if status in ("A", "D"):
        # R4: a response with errors carries no adjudication sections (item, addItem, payment).
        if lines:
            resource["item"] = [_item(ln, status) for ln in lines]
        header = _header_amounts(info, lines, status)
        header += [_adjudication("benefit", reason=c) for c in claim_codes]
        if header:
            resource["adjudication"] = header
    if totals := _totals(info, status):
        resource["total"] = totals
    if codes:
        resource["processNote"] = [
            {"number": n, "type": "display", "text": _note(c)} for n, c in enumerate(codes, 1)
        ]
    if status == "C":
        errors = [{"code": _rule_concept(c)} for c in claim_codes]
        errors += [{"itemSequence": seq, "code": _rule_concept(c)} for seq, c in item_codes]
        if errors:
            resource["error"] = errors
    return resource


def _issue(code: str, severity: str, diagnostics: str, entry: int | None = None) -> dict[str, Any]:
    issue: dict[str, Any] = {
        "severity": severity,
        "code": _ISSUE_TYPE.get(code, "processing"),
        "details": _rule_concept(code),
        "diagnostics": diagnostics,
    }
    if entry is not None:
        issue["expression"] = [f"Bundle.entry[{entry - 1}]"]  # FHIRPath indexes from 0
    return issue


def _orphan_outcome(orphans: pl.DataFrame) -> dict[str, Any] | None:
    issues = [
        _issue(code, "error", f"{r['file']} entry {r['line']}: {_note(code)}", r["line"])
        for r in orphans.iter_rows(named=True)
        for code in _split(r["codes"]) or ["S05"]  # a row of no claim is S05 unless told
    ]
    return {"resourceType": "OperationOutcome", "issue": issues} if issues else None


def _refusal_outcome(refusal: tuple[str, str], drop: str, message: str | None) -> dict[str, Any]:
    status, code = refusal
    if status not in ("F", "DUP"):
        raise ValueError(f"a refusal is ('F', code) or ('DUP', 'F08'), not {refusal!r}")
    what = "refused" if status == "F" else "already received; nothing changes"
    text = f"drop {drop} {what}: {_note(code)}" + (f" ({message})" if message else "")
    severity = "fatal" if status == "F" else "information"
    return {"resourceType": "OperationOutcome", "issue": [_issue(code, severity, text)]}


def claim_responses(
    rows: pl.DataFrame,
    items: pl.DataFrame,
    *,
    hcode: str,
    received: dt.date,
    sha256: str,
    drop: str,
    refusal: tuple[str, str] | None = None,
    message: str | None = None,
) -> dict[str, Any]:
    """The FHIR acknowledgement of a drop, as a JSON-shaped dict (amounts as ``Decimal``).

    Args:
        rows: the CSV acknowledgement rows (``ack_rows``: claim versions, then orphans).
        items: ``claims_store.ack_items`` of the drop (columns ``ITEM_COLUMNS``).
        hcode: the submitting hospital ("" when unknown, F07).
        received: the received date (``ClaimResponse.created``).
        sha256: the drop's hash (with ``received`` it names the Bundle and its entries).
        drop: the drop's name, quoted in a refusal.
        refusal: ``("F", code)`` for a drop refused whole, ``("DUP", "F08")`` for a duplicate:
            the Bundle is then one OperationOutcome and ``rows``/``items`` are not read.
        message: the refusal's own message (``DropRecord.message``), quoted when given.

    Returns:
        A ``Bundle`` of type ``collection``; read-only (its adjudication categories are
        shared objects).
    """
    duplicate = refusal is not None and refusal[0] == "DUP"
    stem = ack_stem(hcode, received, sha256, duplicate=duplicate)
    if refusal is not None:
        resources = [_refusal_outcome(refusal, drop, message)]
    else:
        items = items.select(ITEM_COLUMNS)
        info = _claim_info(items)
        lines = _item_lines(items)
        resources = []
        for row in rows.filter(pl.col("claim_key").is_not_null()).iter_rows(named=True):
            key = (row["claim_type"], row["claim_key"], row["version"])
            resources.append(
                _claim_response(
                    row, info.get(key), lines.get(key, []), hcode=hcode, received=received
                )
            )
        if (outcome := _orphan_outcome(rows.filter(pl.col("claim_key").is_null()))) is not None:
            resources.append(outcome)
    return {
        "resourceType": "Bundle",
        "identifier": {"system": ACK_SYSTEM, "value": stem},
        "type": "collection",
        "entry": [
            {"fullUrl": f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{ACK_SYSTEM}/{stem}#{n}')}",
             "resource": resource}
            for n, resource in enumerate(resources, 1)
        ],
    }  # fmt: skip


# --- serialization ----------------------------------------------------------------------------

_P = ""  # a primitive: a JSON value, an XML ``value`` attribute
_RESOURCE = "Resource"  # Bundle.entry.resource: typed by its resourceType
# The elements we write, per type, in the order the R4 StructureDefinitions give them.
_ELEMENTS: dict[str, tuple[tuple[str, str], ...]] = {
    "Bundle": (("identifier", "Identifier"), ("type", _P), ("entry", "Bundle.entry")),
    "Bundle.entry": (("fullUrl", _P), ("resource", _RESOURCE)),
    "ClaimResponse": (
        ("identifier", "Identifier"), ("status", _P), ("type", "CodeableConcept"),
        ("use", _P), ("patient", "Reference"), ("created", _P), ("insurer", "Reference"),
        ("requestor", "Reference"), ("request", "Reference"), ("outcome", _P),
        ("disposition", _P), ("item", "ClaimResponse.item"),
        ("adjudication", "ClaimResponse.item.adjudication"), ("total", "ClaimResponse.total"),
        ("processNote", "ClaimResponse.processNote"), ("error", "ClaimResponse.error"),
    ),
    "ClaimResponse.item": (
        ("itemSequence", _P), ("adjudication", "ClaimResponse.item.adjudication"),
    ),
    "ClaimResponse.item.adjudication": (
        ("category", "CodeableConcept"), ("reason", "CodeableConcept"), ("amount", "Money"),
    ),
    "ClaimResponse.total": (("category", "CodeableConcept"), ("amount", "Money")),
    "ClaimResponse.processNote": (("number", _P), ("type", _P), ("text", _P)),
    "ClaimResponse.error": (("itemSequence", _P), ("code", "CodeableConcept")),
    "OperationOutcome": (("issue", "OperationOutcome.issue"),),
    "OperationOutcome.issue": (
        ("severity", _P), ("code", _P), ("details", "CodeableConcept"), ("diagnostics", _P),
        ("expression", _P),
    ),
    "Identifier": (("system", _P), ("value", _P)),
    "Reference": (("type", _P), ("identifier", "Identifier"), ("display", _P)),
    "CodeableConcept": (("coding", "Coding"), ("text", _P)),
    "Coding": (("system", _P), ("code", _P), ("display", _P)),
    "Money": (("value", _P), ("currency", _P)),
}  # fmt: skip
_RESOURCES = frozenset({"Bundle", "ClaimResponse", "OperationOutcome"})
_BROKEN_DEPTH = 2  # Bundle elements and the entry list are broken into lines, nothing deeper


_LAYOUTS: dict[tuple[str, tuple[str, ...]], tuple[tuple[str, str], ...]] = {}


def _layout(node: dict[str, Any], kind: str) -> tuple[tuple[str, str], ...]:
    """``node``'s elements as ``(name, type)`` in FHIR order (cached per shape)."""
    shape = (kind, tuple(node))
    layout = _LAYOUTS.get(shape)
    if layout is None:
        order = _ELEMENTS[kind]
        known = {name for name, _ in order} | ({"resourceType"} if kind in _RESOURCES else set())
        if unknown := set(node) - known:
            raise ValueError(f"{kind} has no element {sorted(unknown)} this writer knows")
        layout = tuple((name, child) for name, child in order if name in node)
        _LAYOUTS[shape] = layout
    return layout


def _fields(node: dict[str, Any], kind: str) -> list[tuple[str, str, Any]]:
    """``node``'s elements as ``(name, type, value)`` in FHIR order; refuses anything else."""
    out = []
    for name, child in _layout(node, kind):
        value = node[name]
        if value is None or (type(value) in (str, list, dict) and not value):
            raise ValueError(f"{kind}.{name} is empty: FHIR has no empty elements")
        out.append((name, child, value))
    return out


def _primitive(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, int | str):
        return str(value)
    raise TypeError(f"not a FHIR primitive: {value!r} ({type(value).__name__})")


def _json_into(out: list[str], node: dict[str, Any], kind: str, depth: int) -> None:
    """Append ``node`` as JSON; line breaks down to the Bundle's entries only."""
    inner = "\n" + " " * (depth + 1) if depth < _BROKEN_DEPTH else ""
    colon = ": " if inner else ":"
    out.append("{")
    sep = ""
    if kind in _RESOURCES:
        out.append(f'{inner}"resourceType"{colon}"{kind}"')
        sep = ","
    for name, child, value in _fields(node, kind):
        out.append(f'{sep}{inner}"{name}"{colon}')
        sep = ","
        if type(value) is list:
            broken = "\n" + " " * (depth + 2) if depth + 1 < _BROKEN_DEPTH else ""
            for n, one in enumerate(value):
                out.append(("[" if n == 0 else ",") + broken)
                _json_element(out, one, child, depth + 2)
            out.append(("\n" + " " * (depth + 1) if broken else "") + "]")
        else:
            _json_element(out, value, child, depth + 2)
    out.append(("\n" + " " * depth if inner else "") + "}")


def _json_element(out: list[str], value: Any, kind: str, depth: int) -> None:
    if kind == _P:
        # strings escaped as JSON; numbers and booleans as literals, Decimal digit for digit
        out.append(_json_string(value) if type(value) is str else _primitive(value))
    else:
        _json_into(out, value, value["resourceType"] if kind == _RESOURCE else kind, depth)


def fhir_json(resource: dict[str, Any]) -> bytes:
    """A resource as FHIR JSON (UTF-8, elements in FHIR order, decimals exact).

    A Bundle is written one element per line and one entry per line, each entry compact.
    """
    out: list[str] = []
    _json_into(out, resource, resource["resourceType"], 0)
    out.append("\n")
    return "".join(out).encode("utf-8")


# Characters XML 1.0 cannot hold (a drop parsed as XML never has them; a file name might).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_ATTRIBUTE = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\t": "&#9;", "\n": "&#10;",
     "\r": "&#13;"}
)  # fmt: skip


def _xml_attribute(value: Any) -> str:
    return _NOT_XML.sub("\ufffd", _primitive(value)).translate(_ATTRIBUTE)


def _xml_into(out: list[str], node: dict[str, Any], kind: str, depth: int) -> None:
    """Append the elements of ``node``, indented two spaces a level, values in ``value``."""
    pad = "  " * depth
    for name, child, value in _fields(node, kind):
        for one in value if type(value) is list else [value]:
            if child == _P:
                out.append(f'{pad}<{name} value="{_xml_attribute(one)}"/>\n')
                continue
            out.append(f"{pad}<{name}>\n")
            if child == _RESOURCE:
                resource = one["resourceType"]
                out.append(f"{pad}  <{resource}>\n")
                _xml_into(out, one, resource, depth + 2)
                out.append(f"{pad}  </{resource}>\n")
            else:
                _xml_into(out, one, child, depth + 1)
            out.append(f"{pad}</{name}>\n")


def fhir_xml(resource: dict[str, Any]) -> bytes:
    """A resource as FHIR XML: namespace ``http://hl7.org/fhir``, values in ``value``."""
    kind = resource["resourceType"]
    out = ["<?xml version='1.0' encoding='UTF-8'?>\n", f'<{kind} xmlns="{FHIR_NS}">\n']
    _xml_into(out, resource, kind, 1)
    out.append(f"</{kind}>\n")
    return "".join(out).encode("utf-8")


def write_fhir_ack(
    ack_dir: Path, stem: str, bundle: dict[str, Any], *, syntax: str = "json"
) -> Path:
    """Write ``<stem>.fhir.json`` (or ``<stem>.fhir.xml``) atomically; returns its path."""
    if syntax not in ("json", "xml"):
        raise ValueError(f"syntax is 'json' or 'xml', not {syntax!r}")
    data = fhir_json(bundle) if syntax == "json" else fhir_xml(bundle)
    ack_dir.mkdir(parents=True, exist_ok=True)
    path = ack_dir / f"{stem}.fhir.{syntax}"
    _atomic_write(path, data)
    return path
