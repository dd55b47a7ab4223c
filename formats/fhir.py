"""FHIR R4 Claim bundles, JSON or XML (intake.md Format 3) → the 16 raw tables.

The syntax is judged from the first non-blank byte (``{`` JSON, ``<`` XML);
:mod:`formats.fhir_json` and :mod:`formats.fhir_xml` hand over the bundle's entries one at a
time, in the same JSON-like shape (an XML element becomes a list of children, a primitive the
text of its ``value`` attribute). :class:`Walker` copies the fields the mapping needs from
each entry into column buffers, flushed into frames every few thousand entries so that a
large bundle is read in bounded memory; :func:`formats.fhir_map.raw_tables` maps them.

Drop-level refusals: F01 (size, neither JSON nor XML, not parseable, root neither Bundle
nor Claim, Bundle type not batch/collection), F06 and F02 (XML), F03 (no Claim), F04 (an
entry without ``resource``, a resource without ``resourceType``: Q22), in that order.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import polars as pl

from clearinghouse.errors import DropRefused, UsageError
from formats.drop import checked_size
from formats.fhir_json import json_entries
from formats.fhir_map import SOURCE_SCHEMAS, Sources, raw_tables
from formats.fhir_xml import xml_entries
from formats.sixteen import RawDrop

__all__ = ["DRUG_SYSTEMS", "TH_CID", "Walker", "read_fhir"]

#: Coding systems whose item codes are drugs (Q20): the TMT URIs in use.
DRUG_SYSTEMS = frozenset(
    {
        "http://terms.sil-th.org/CodeSystem/th-tmt",
        "https://terms.sil-th.org/core/CodeSystem/cs-th-tmt",
        "http://tmt.this.or.th",
    }
)
#: The Thai citizen ID system, preferred among a Patient's identifiers.
TH_CID = "https://terms.sil-th.org/id/th-cid"

_RESOURCES = ("Patient", "Coverage", "Organization")
_DECIMAL = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_MAX_EXPONENT = 30
_FLUSH_EVERY = 4096


def _one(node: object, *path: str) -> object:
    """The value at ``path``, taking the first element of every list on the way."""
    # Called some hundred times per Claim: plain type checks, no helper calls.
    for key in path:
        node = node.get(key) if type(node) is dict else None
        if type(node) is list:
            node = node[0] if node else None
    return node


def _many(node: object, key: str) -> list[object]:
    value = node.get(key) if type(node) is dict else None
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _number(value: object) -> str:
    """A FHIR decimal as plain text (``1E+2`` → ``100``, ``125.00`` kept), never via float;
    anything that is not a decimal as read."""
    kind = type(value)
    if kind is int:
        return str(value)
    if kind is Decimal:
        plain = str(value)
    elif kind is str:
        plain = str(value).strip()
        if not _DECIMAL.fullmatch(plain):
            return plain
    else:
        return _text(value)
    if "E" not in plain and "e" not in plain:
        return plain
    try:
        exact = Decimal(plain)
    except ArithmeticError:  # an exponent past what decimals hold: as read (S04)
        return plain
    exponent = exact.as_tuple().exponent
    # ``1E+999999999`` stays as read (S04) rather than become a gigabyte of zeros.
    if not isinstance(exponent, int) or abs(exponent) > _MAX_EXPONENT:
        return plain
    return format(exact, "f")


def _text(value: object) -> str:
    """A primitive as trimmed text; "" for none or for a structure."""
    if type(value) is str:
        return value.strip()
    if value is None or isinstance(value, dict | list):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        return _number(value)
    return str(value).strip()


def _codes(concept: object) -> list[tuple[str, str]]:
    """A CodeableConcept's ``(system, code)`` pairs that have a code."""
    pairs = [(_text(_one(c, "system")), _text(_one(c, "code"))) for c in _many(concept, "coding")]
    return [(system, code) for system, code in pairs if code]


def _diagnosis_code(concept: object) -> str:
    """The ICD-10 coding's code (any system naming ICD-10), else the first code."""
    codes = _codes(concept)
    icd10 = [code for system, code in codes if "icd10" in system.lower().replace("-", "")]
    return (icd10 or [code for _, code in codes] or [""])[0]


class _Buffer:
    """Column lists of one source frame, flushed into frames now and then."""

    def __init__(self, schema: dict[str, pl.DataType]) -> None:
        self.schema = schema
        self.columns: dict[str, list[object]] = {name: [] for name in schema}
        self.frames: list[pl.DataFrame] = []

    def add(self, **row: object) -> None:
        for name, column in self.columns.items():
            column.append(row[name])

    def flush(self) -> None:
        if self.columns["line"]:
            self.frames.append(pl.DataFrame(self.columns, schema=self.schema))
            self.columns = {name: [] for name in self.schema}

    def frame(self) -> pl.DataFrame:
        self.flush()
        if not self.frames:
            return pl.DataFrame(schema=self.schema)
        return pl.concat(self.frames, rechunk=True)


class Walker:
    """Copies each bundle entry's mapped fields into the source buffers (docs/formats.md §4)."""

    def __init__(self, drug_systems: Iterable[str] = DRUG_SYSTEMS) -> None:
        self.drug_systems = frozenset(drug_systems)
        self.buffers = {name: _Buffer(schema) for name, schema in SOURCE_SCHEMAS.items()}
        self.claims = 0
        self.problem = ""  # the first F04 found (raised after F03 is ruled out)
        self._entries = 0

    def add(self, index: int, entry: object) -> None:
        """Entry ``index`` (1-based) of the bundle."""
        resource = _one(entry, "resource")
        kind = _text(_one(resource, "resourceType"))
        if not kind:
            self.problem = self.problem or (
                f"entry {index} has no resource"
                if not isinstance(resource, dict)
                else f"the resource of entry {index} has no resourceType"
            )
        elif kind == "Claim":
            self._claim(index, resource)
        elif kind in _RESOURCES:
            self._resource(kind, 0, index, resource, _text(_one(entry, "fullUrl")))
        self._entries += 1
        if self._entries % _FLUSH_EVERY == 0:
            for buffer in self.buffers.values():
                buffer.flush()

    def sources(self) -> Sources:
        return Sources(**{name: buffer.frame() for name, buffer in self.buffers.items()})

    def _resource(self, kind: str, scope: int, line: int, resource: object, url: str) -> None:
        identifiers = _many(resource, "identifier")
        cid = [i for i in identifiers if _text(_one(i, "system")) == TH_CID]
        self.buffers["resources"].add(
            kind=kind, scope=scope, line=line, id=_text(_one(resource, "id")), full_url=url,
            person_id=_text(_one((cid or identifiers or [None])[0], "value")),
            birth_date=_text(_one(resource, "birthDate")), gender=_text(_one(resource, "gender")),
            coverage_type=_text(_one(resource, "type", "coding", "code")),
            identifier=_text(_one(resource, "identifier", "value")),
        )  # fmt: skip

    def _claim(self, line: int, claim: object) -> None:
        self.claims += 1
        insurance = _many(claim, "insurance")
        focal = [i for i in insurance if _text(_one(i, "focal")) == "true"] or insurance
        accident = _one(claim, "accident")
        period, total = _one(claim, "billablePeriod"), _one(claim, "total")
        provider = _one(claim, "provider")
        self.buffers["claims"].add(
            line=line, key=_text(_one(claim, "identifier", "value")),
            type_code=_text(_one(claim, "type", "coding", "code")),
            use=_text(_one(claim, "use")), status=_text(_one(claim, "status")),
            start=_text(_one(period, "start")), end=_text(_one(period, "end")),
            created=_text(_one(claim, "created")), total_value=_number(_one(total, "value")),
            total_currency=_text(_one(total, "currency")),
            provider_id=_text(_one(provider, "identifier", "value")),
            provider_ref=_text(_one(provider, "reference")),
            patient_ref=_text(_one(claim, "patient", "reference")),
            coverage_ref=_text(_one(focal[0] if focal else None, "coverage", "reference")),
            subtype=_text(_one(claim, "subType", "coding", "code")),
            accident=isinstance(accident, dict),
            accident_type=_text(_one(accident, "type", "coding", "code")),
            referral=_text(_one(claim, "referral", "identifier", "value")),
        )  # fmt: skip
        for contained in _many(claim, "contained"):
            kind = _text(_one(contained, "resourceType"))
            if kind in _RESOURCES:
                self._resource(kind, line, line, contained, "")
        for diagnosis in _many(claim, "diagnosis"):
            types = [code for t in _many(diagnosis, "type") for _, code in _codes(t)]
            self.buffers["diagnoses"].add(
                line=line, code=_diagnosis_code(_one(diagnosis, "diagnosisCodeableConcept")),
                sequence=_text(_one(diagnosis, "sequence")), principal="principal" in types,
            )  # fmt: skip
        for procedure in _many(claim, "procedure"):
            codes = _codes(_one(procedure, "procedureCodeableConcept"))
            self.buffers["procedures"].add(line=line, code=codes[0][1] if codes else "")
        for position, item in enumerate(_many(claim, "item"), start=1):
            self._item(line, position, item)

    def _item(self, line: int, position: int, item: object) -> None:
        codes = _codes(_one(item, "productOrService"))
        drugs = [code for system, code in codes if system in self.drug_systems]
        net, unit = _one(item, "net"), _one(item, "unitPrice")
        self.buffers["items"].add(
            line=line, sequence=_text(_one(item, "sequence")) or str(position),
            code=(drugs or [code for _, code in codes] or [""])[0], coded=bool(codes),
            drug=bool(drugs), category=_text(_one(item, "category", "coding", "code")),
            quantity=_number(_one(item, "quantity", "value")),
            unit_value=_number(_one(unit, "value")), unit_currency=_text(_one(unit, "currency")),
            has_net=net is not None, net_value=_number(_one(net, "value")),
            net_currency=_text(_one(net, "currency")),
        )  # fmt: skip


def _syntax(path: Path) -> tuple[str, int]:
    """``json`` or ``xml`` and the bytes to skip (a UTF-8 byte order mark); F01 else."""
    with path.open("rb") as handle:
        pending = handle.read(3)
        skip = 3 if pending == b"\xef\xbb\xbf" else 0
        pending = pending[skip:]
        while not (stripped := pending.lstrip(b" \t\r\n")):
            pending = handle.read(1 << 16)
            if not pending:
                break
    if stripped.startswith(b"{"):
        return "json", skip
    if stripped.startswith(b"<"):
        return "xml", 0
    raise DropRefused("F01", "the file is neither FHIR JSON (starting with {) nor FHIR XML")


def read_fhir(
    path: Path,
    *,
    max_bytes: int,
    timezone: str = "Asia/Bangkok",
    drug_systems: Iterable[str] = DRUG_SYSTEMS,
) -> RawDrop:
    """A FHIR R4 Bundle (``batch`` or ``collection``) of Claims, or a lone Claim, as raw tables.

    Args:
        path: the JSON or XML file.
        max_bytes: the largest drop accepted (F01 above it, checked before reading).
        timezone: where date-times with an offset are converted to (settings ``timezone``).
        drug_systems: the coding systems whose item codes are drugs (Q20).

    Raises:
        DropRefused: F01, F06, F02, F03 or F04, the first check that fails.
        UsageError: ``timezone`` is no time zone (a bad installation, not a bad drop).
    """
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise UsageError(f"setting timezone: {timezone!r} is not a time zone name") from exc
    checked_size(path, max_bytes)
    try:
        syntax, skip = _syntax(path)
        entries = json_entries(path, skip) if syntax == "json" else xml_entries(path.read_bytes())
        walker = Walker(drug_systems)
        for index, entry in enumerate(entries, start=1):
            walker.add(index, entry)
    except OSError as exc:
        raise DropRefused("F01", f"the drop cannot be read ({exc.strerror or exc})") from exc
    if not walker.claims:
        raise DropRefused("F03", f"{path.name} holds no Claim resource")
    if walker.problem:
        raise DropRefused("F04", f"{path.name}: {walker.problem}")
    tables, raised = raw_tables(walker.sources(), file=path.name, timezone=timezone)
    present = [table for table, frame in tables.items() if not frame.is_empty()]
    return RawDrop(
        tables=tables,
        rows_read={table: tables[table].height for table in present},
        ignored_files=[],
        files=dict.fromkeys(present, path.name),
        raised=raised,
    )
