"""Inpatient CIPN / AIPN XML (intake.md Format 2) → section frames of raw strings.

One admission per file, after :func:`formats.xmlsafe.check_xml` (F06, F02, F05). The
pipe-separated sections become frames with one String column per field (names from the
domain notes §2), then ``line`` (the physical line of the row in the file: the element's
start line plus the row's offset inside it) and ``s01`` (the row had fewer fields than its
section; more are accepted, as newer exporter versions append fields: docs/formats.md Q1).
The header, ``ClaimAuth`` and each invoice's totals are kept as text.

Drop-level refusals: F03 when the file has no ``IPADT`` row (or more than one: one admission
per file), F04 when a section's ``Reccount`` disagrees with its rows. Nothing is judged here;
mapping onto the canonical claim tables is the next step.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from clearinghouse.errors import DropRefused
from formats.cipn_map import bill_totals_codes, drops_of, raw_tables
from formats.sixteen import RawDrop
from formats.xmlsafe import Element, XmlDoc, check_xml, elements

__all__ = [
    "BILL_FIELDS",
    "IPADT_FIELDS",
    "IPDX_FIELDS",
    "IPOP_FIELDS",
    "Admission",
    "admission_drop",
    "bill_totals_codes",
    "raw_tables",
    "read_cipn",
    "read_cipn_bytes",
    "read_cipn_file",
    "read_cipn_many",
]

ROOTS = ("CIPN", "AIPN")
IPADT_FIELDS = (
    "AN", "HN", "IDTYPE", "PIDPAT", "TITLE", "NAMEPAT", "DOB", "SEX", "MARRIAGE", "CHANGWAT",
    "AMPHUR", "NATION", "ADMTYPE", "ADMSOURCE", "DTADM", "DTDISCH", "LEAVEDAY", "DISCHSTAT",
    "DISCHTYPE", "ADMWT", "DISCHWARD", "DEPT",
)  # fmt: skip
IPDX_FIELDS = ("seq", "DxType", "CodeSys", "Code", "DiagTerm", "DR", "DateDiag")
#: The notes give IPOp's width (8) but not its names: these follow the IPDx pattern.
IPOP_FIELDS = ("seq", "CodeSys", "Code", "ProcTerm", "DR", "DateIn", "DateOut", "Location")
BILL_FIELDS = (
    "seq", "ServDate", "BillGr", "LCCode", "Descript", "QTY", "UnitPrice", "ChargeAmt",
    "Discount", "ProcedureSeq", "DiagnosisSeq", "ClaimSys", "BillGrCS", "CSCode", "CodeSys",
    "STDCode", "ClaimCat", "DateRev", "ClaimUP", "ClaimAmt",
)  # fmt: skip
_INVOICE_FIELDS = ("InvNumber", "InvDT", "InvAddDiscount", "DRGCharge", "XDRGClaim")
_SECTIONS = {"IPADT": IPADT_FIELDS, "IPDx": IPDX_FIELDS, "IPOp": IPOP_FIELDS}


@dataclass
class _Rows:
    """Column buffers of one pipe-separated section."""

    fields: Sequence[str]
    columns: dict[str, list[str]] = field(default_factory=dict)
    lines: list[int] = field(default_factory=list)
    s01: list[bool] = field(default_factory=list)
    invoice: list[int] = field(default_factory=list)

    def add(self, element: Element, invoice: int = 0) -> int:
        """Append the element's rows (blank lines skipped); how many."""
        added = 0
        for offset, text in enumerate(element.text.split("\n")):
            row = text.strip("\r")
            if not row.strip():
                continue
            values = row.split("|")
            for i, name in enumerate(self.fields):
                self.columns.setdefault(name, []).append(values[i] if i < len(values) else "")
            self.lines.append(element.line + offset)
            # Fewer fields than the section's list: S01; more are newer versions' additions.
            self.s01.append(len(values) < len(self.fields))
            self.invoice.append(invoice)
            added += 1
        return added

    def frame(self) -> pl.DataFrame:
        data: dict[str, list[object]] = {
            name: list(self.columns.get(name, [])) for name in self.fields
        }
        schema: dict[str, pl.DataType] = {name: pl.String() for name in self.fields}
        data |= {"invoice": list(self.invoice), "line": list(self.lines), "s01": list(self.s01)}
        schema |= {"invoice": pl.Int64(), "line": pl.Int64(), "s01": pl.Boolean()}
        return pl.DataFrame(data, schema=schema)


@dataclass(frozen=True)
class Admission:
    """One CIPN/AIPN file's sections.

    ``ipadt`` has exactly one row; ``bills`` carry the ``invoice`` (0-based) they are in, and
    ``invoices`` one row per ``Invoices`` element (its totals as text).
    """

    root: str
    file: str
    header: dict[str, str]
    claim_auth: dict[str, str]
    ipadt: pl.DataFrame
    ipdx: pl.DataFrame
    ipop: pl.DataFrame
    bills: pl.DataFrame
    invoices: pl.DataFrame


def _count_problem(element: Element, rows: int) -> str | None:
    """What is wrong with the element's ``Reccount`` (None when absent or right)."""
    declared = element.attributes.get("Reccount") or element.attributes.get("RECCOUNT")
    if declared is not None and declared.strip() != str(rows):
        return f"{element.tag} (line {element.line}) declares {declared} rows, holds {rows}"
    return None


def read_cipn(doc: XmlDoc, file: str) -> Admission:
    """The sections of a checked CIPN/AIPN document named ``file`` in its drop."""
    if doc.root not in ROOTS:
        raise DropRefused("F03", f"{file}: the root is {doc.root!r}, not CIPN or AIPN")
    sections = {tag: _Rows(fields) for tag, fields in _SECTIONS.items()}
    bills = _Rows(BILL_FIELDS)
    header: dict[str, str] = {}
    auth: dict[str, str] = {}
    invoices: list[dict[str, str]] = []
    current: dict[str, str] = {}
    counts: list[str | None] = []  # judged after F03, as the spec orders the checks
    for element in elements(doc, None):  # Header and ClaimAuth children have many names
        tag, parent = element.tag, element.parent
        if tag in sections:
            counts.append(_count_problem(element, sections[tag].add(element)))
        elif tag == "BillItems":
            counts.append(_count_problem(element, bills.add(element, invoice=len(invoices))))
        elif tag in _INVOICE_FIELDS and parent == "Invoices":
            current[tag] = element.text.strip()
        elif tag == "Invoices":
            invoices.append({name: current.get(name, "") for name in _INVOICE_FIELDS})
            current = {}
        elif parent == "Header":
            header[tag] = element.text.strip()
        elif parent == "ClaimAuth":
            auth[tag] = element.text.strip()
    ipadt = sections["IPADT"].frame()
    if ipadt.height != 1:
        raise DropRefused(
            "F03", f"{file}: {ipadt.height} IPADT rows, where a CIPN file holds one admission"
        )
    if problem := next((p for p in counts if p), None):
        raise DropRefused("F04", problem)
    return Admission(
        root=doc.root,
        file=file,
        header=header,
        claim_auth=auth,
        ipadt=ipadt.drop("invoice"),
        ipdx=sections["IPDx"].frame().drop("invoice"),
        ipop=sections["IPOp"].frame().drop("invoice"),
        bills=bills.frame(),
        invoices=pl.DataFrame(
            invoices or None,
            schema={name: pl.String() for name in _INVOICE_FIELDS},
        ),
    )


def read_cipn_file(path: Path, *, max_bytes: int) -> RawDrop:
    """A single CIPN/AIPN file as a drop of raw tables (F01 over ``max_bytes``, then the XML
    checks and the sections' refusals)."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise DropRefused("F01", f"the drop is larger than the maximum of {max_bytes} bytes")
        data = path.read_bytes()
    except OSError as exc:
        raise DropRefused("F01", f"the drop cannot be read ({exc.strerror or exc})") from exc
    return read_cipn_bytes(data, path.name)


def read_cipn_bytes(data: bytes, file: str) -> RawDrop:
    """A CIPN/AIPN document's bytes (a file's, or a transport ZIP member's) as a drop."""
    (drop,) = read_cipn_many([(data, file)])
    if isinstance(drop, DropRefused):
        raise drop
    return drop


def admission_drop(admission: Admission) -> RawDrop:
    """One read admission as a drop: its raw tables and its bill-total codes."""
    return drops_of([admission])[0]


def read_cipn_many(documents: Sequence[tuple[bytes, str]]) -> list[RawDrop | DropRefused]:
    """Many CIPN/AIPN documents (bytes, file name), each a drop of its own, mapped in one
    set-based pass: each one's drop, or the refusal of its own checks."""
    read: list[RawDrop | DropRefused | Admission] = []
    for data, file in documents:
        try:
            read.append(read_cipn(check_xml(data), file))
        except DropRefused as refusal:
            read.append(refusal)
    admissions = [a for a in read if isinstance(a, Admission)]
    mapped = iter(drops_of(admissions) if admissions else [])
    return [next(mapped) if isinstance(a, Admission) else a for a in read]
