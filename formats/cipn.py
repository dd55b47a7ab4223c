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
from formats.cipn_map import (
    Head,
    Stacked,
    admission_drop,
    bill_totals_codes,
    drops_of_stacked,
    raw_tables,
)
from formats.drop import checked_size
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
    """Column buffers of one pipe-separated section, over any number of admissions."""

    fields: Sequence[str]
    columns: dict[str, list[str]] = field(default_factory=dict)
    lines: list[int] = field(default_factory=list)
    s01: list[bool] = field(default_factory=list)
    invoice: list[int] = field(default_factory=list)
    member: list[int] = field(default_factory=list)

    def add(self, element: Element, invoice: int = 0, member: int = 0) -> int:
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
            self.member.append(member)
            added += 1
        return added

    def truncate(self, rows: int) -> None:
        """Forget every row after the first ``rows`` (a refused admission's)."""
        for values in self.columns.values():
            del values[rows:]
        del self.lines[rows:], self.s01[rows:], self.invoice[rows:], self.member[rows:]

    def frame(self) -> pl.DataFrame:
        data: dict[str, list[object]] = {
            name: list(self.columns.get(name, [])) for name in self.fields
        }
        schema: dict[str, pl.DataType] = {name: pl.String() for name in self.fields}
        data |= {"invoice": list(self.invoice), "line": list(self.lines), "s01": list(self.s01),
                 "member": list(self.member)}  # fmt: skip
        schema |= {"invoice": pl.Int64(), "line": pl.Int64(), "s01": pl.Boolean(),
                   "member": pl.Int64()}  # fmt: skip
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


@dataclass
class _Batch:
    """The sections of many admissions in shared column buffers, each row with its member."""

    sections: dict[str, _Rows] = field(
        default_factory=lambda: {tag: _Rows(fields) for tag, fields in _SECTIONS.items()}
    )
    bills: _Rows = field(default_factory=lambda: _Rows(BILL_FIELDS))
    invoices: list[dict[str, str | int]] = field(default_factory=list)
    heads: list[Head] = field(default_factory=list)

    def read(self, doc: XmlDoc, file: str) -> None:
        """Add one checked document's sections; its refusal (F03, F04) leaves nothing."""
        member = len(self.heads)
        marks = {tag: len(rows.lines) for tag, rows in self.sections.items()}
        marks["BillItems"] = len(self.bills.lines)
        invoices = len(self.invoices)
        try:
            self.heads.append(self._walk(doc, file, member))
        except DropRefused:
            for tag, rows in self.sections.items():
                rows.truncate(marks[tag])
            self.bills.truncate(marks["BillItems"])
            del self.invoices[invoices:]
            raise

    def _walk(self, doc: XmlDoc, file: str, member: int) -> Head:
        if doc.root not in ROOTS:
            raise DropRefused("F03", f"{file}: the root is {doc.root!r}, not CIPN or AIPN")
        header: dict[str, str] = {}
        auth: dict[str, str] = {}
        current: dict[str, str] = {}
        counts: list[str | None] = []  # judged after F03, as the spec orders the checks
        adt_rows = len(self.sections["IPADT"].lines)
        invoice = 0
        for element in elements(doc, None):  # Header and ClaimAuth children have many names
            tag, parent = element.tag, element.parent
            if tag in self.sections:
                counts.append(_count_problem(element, self.sections[tag].add(element, 0, member)))
            elif tag == "BillItems":
                added = self.bills.add(element, invoice, member)
                counts.append(_count_problem(element, added))
            elif tag in _INVOICE_FIELDS and parent == "Invoices":
                current[tag] = element.text.strip()
            elif tag == "Invoices":
                self.invoices.append(
                    {"member": member, **{name: current.get(name, "") for name in _INVOICE_FIELDS}}
                )
                current = {}
                invoice += 1
            elif parent == "Header":
                header[tag] = element.text.strip()
            elif parent == "ClaimAuth":
                auth[tag] = element.text.strip()
        admissions = len(self.sections["IPADT"].lines) - adt_rows
        if admissions != 1:
            raise DropRefused(
                "F03", f"{file}: {admissions} IPADT rows, where a CIPN file holds one admission"
            )
        if problem := next((p for p in counts if p), None):
            raise DropRefused("F04", problem)
        return Head(root=doc.root, file=file, header=header, claim_auth=auth)

    def stacked(self) -> Stacked:
        """Every admission read, stacked (frames with ``member``)."""
        return Stacked(
            heads=list(self.heads),
            ipadt=self.sections["IPADT"].frame().drop("invoice"),
            ipdx=self.sections["IPDx"].frame().drop("invoice"),
            ipop=self.sections["IPOp"].frame().drop("invoice"),
            bills=self.bills.frame(),
            invoices=pl.DataFrame(
                self.invoices or None,
                schema={"member": pl.Int64(), **{name: pl.String() for name in _INVOICE_FIELDS}},
            ),
        )


def read_cipn(doc: XmlDoc, file: str) -> Admission:
    """The sections of a checked CIPN/AIPN document named ``file`` in its drop."""
    batch = _Batch()
    batch.read(doc, file)
    stacked = batch.stacked()
    (head,) = stacked.heads
    return Admission(
        root=head.root,
        file=head.file,
        header=head.header,
        claim_auth=head.claim_auth,
        ipadt=stacked.ipadt.drop("member"),
        ipdx=stacked.ipdx.drop("member"),
        ipop=stacked.ipop.drop("member"),
        bills=stacked.bills.drop("member"),
        invoices=stacked.invoices.drop("member"),
    )


def read_cipn_file(path: Path, *, max_bytes: int) -> RawDrop:
    """A single CIPN/AIPN file as a drop of raw tables (F01 over ``max_bytes``, then the XML
    checks and the sections' refusals)."""
    checked_size(path, max_bytes)
    try:
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


def read_cipn_many(documents: Sequence[tuple[bytes, str]]) -> list[RawDrop | DropRefused]:
    """Many CIPN/AIPN documents (bytes, file name), each a drop of its own, mapped in one
    set-based pass: each one's drop, or the refusal of its own checks."""
    batch = _Batch()
    refused: list[DropRefused | None] = []
    for data, file in documents:
        try:
            batch.read(check_xml(data), file)
            refused.append(None)
        except DropRefused as refusal:
            refused.append(refusal)
    mapped = iter(drops_of_stacked(batch.stacked()) if batch.heads else [])
    return [next(mapped) if refusal is None else refusal for refusal in refused]
