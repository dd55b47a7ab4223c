"""Outpatient ClaimRec envelopes (CSOP ``PayPlan="CS"``, SSOP ``"SS"``; intake.md Format 2).

A drop is a ZIP of up to three envelopes, or one envelope on its own: bills (``BILLTRAN`` +
``BillItems``), dispensing (``Dispensing`` + ``DispensedItems``) and services
(``OPServices`` + ``OPDx``), each recognised by its first section, not its name. Checks, the
first that fails refusing the drop (docs/formats.md §3):

* F01: the ZIP (unreadable, unsafe member, too large: :mod:`formats.zipsafe`), two envelopes
  of one kind or two members of one name, found by a streamed look at each member's first
  section before any envelope is checked. Then, per envelope once it is known to be
  well-formed (its root can only be read from a parsed document): a root other than
  ``ClaimRec System="OP"`` (Q17).
* Per envelope, in member order: F06, F02, F05 (:func:`formats.xmlsafe.check_xml`; the
  checksum covers every byte before ``<?EndNote``).
* F03: no bills envelope (a lone dispensing or services envelope has no claim to belong
  to), or an envelope holding none of the three first sections.
* F04: an envelope's ``Header/RECCOUNT`` missing or not the number of rows of its first
  section. F07 is the caller's.

A ZIP member that does not start as XML is listed in ``ignored_files``; sections of another
kind inside an envelope are not read. Envelopes are read
one at a time (their bytes released once parsed), each section's text split into rows and
fields by Polars; :mod:`formats.claimrec_map` maps the sections onto the raw tables.
"""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import polars as pl
from lxml import etree

from clearinghouse.errors import DropRefused
from formats.claimrec_map import (
    ABSENT,
    BILL_ITEM_FIELDS,
    BILLTRAN_FIELDS,
    DISPENSED_ITEM_FIELDS,
    DISPENSING_FIELDS,
    OPDX_FIELDS,
    OPSERVICES_FIELDS,
    Sections,
    raw_tables,
    section_schema,
)
from formats.drop import checked_size, is_zip
from formats.sixteen import RawDrop
from formats.xmlsafe import Element, XmlDoc, check_xml, elements, looks_like_xml
from formats.zipsafe import base_name, checked_members, open_zip, read_member, too_large

__all__ = ["Envelope", "read_claimrec", "read_envelope"]

SECTIONS: dict[str, Sequence[str]] = {
    "BILLTRAN": BILLTRAN_FIELDS,
    "BillItems": BILL_ITEM_FIELDS,
    "Dispensing": DISPENSING_FIELDS,
    "DispensedItems": DISPENSED_ITEM_FIELDS,
    "OPServices": OPSERVICES_FIELDS,
    "OPDx": OPDX_FIELDS,
}
#: An envelope's first section (its kind) → the envelope's name for people.
KINDS = {"BILLTRAN": "bills", "Dispensing": "dispensing", "OPServices": "services"}
#: The envelope whose member name each table's rows come from.
_TABLE_KIND = {
    **dict.fromkeys(("OPD", "PAT", "INS", "CHT", "CHA", "ADP"), "BILLTRAN"),
    "DRU": "Dispensing",
    **dict.fromkeys(("OOP", "AER", "ODX"), "OPServices"),
}
_PEEK = 1 << 16


@dataclass(frozen=True)
class Envelope:
    """One checked envelope: its member name, kind (first section; "" for none), Header
    values, root attributes and the frames of all six sections (``section_schema`` each)."""

    file: str
    kind: str
    header: dict[str, str]
    attributes: dict[str, str]
    sections: dict[str, pl.DataFrame]


def _rows(element: Element, fields: Sequence[str], file: str) -> pl.DataFrame:
    """The element's ``|`` rows (blank lines skipped) as a frame: each field, ``line`` = the
    element's line + the row's offset in its text (lxml normalises CRLF), ``s01`` = fewer
    fields than documented (more are newer versions' additions, Q1)."""
    rows = (
        pl.Series("text", [element.text])
        .str.split("\n")
        .explode()
        .to_frame()
        .with_row_index("offset")
        .filter(pl.col("text").str.strip_chars() != "")
        .with_columns(values=pl.col("text").str.strip_chars_end("\r").str.split("|"))
    )
    return rows.select(
        *(
            pl.col("values").list.get(i, null_on_oob=True).fill_null("").alias(name)
            for i, name in enumerate(fields)
        ),
        file=pl.lit(file, pl.String),
        line=pl.col("offset").cast(pl.Int64) + element.line,
        s01=pl.col("values").list.len() < len(fields),
    )


def read_envelope(doc: XmlDoc, file: str) -> Envelope:
    """The sections of a checked envelope named ``file`` in its drop; F01 unless its root
    is ``ClaimRec`` with ``System="OP"``."""
    if doc.root != "ClaimRec":
        raise DropRefused(
            "F01", f"{file} is not an outpatient ClaimRec envelope: its root is <{doc.root}>"
        )
    parts: dict[str, list[pl.DataFrame]] = {tag: [] for tag in SECTIONS}
    header: dict[str, str] = {}
    attributes: dict[str, str] = {}
    kind = ""
    for element in elements(doc, None):  # Header children have many names
        if element.tag in SECTIONS:
            parts[element.tag].append(_rows(element, SECTIONS[element.tag], file))
            kind = kind or (element.tag if element.tag in KINDS else "")
        elif element.parent == "Header":
            header[element.tag] = element.text.strip()
        elif not element.parent:  # the root, handed over last
            attributes = element.attributes
    system = attributes.get("System", "").strip()
    if system.upper() != "OP":
        raise DropRefused(
            "F01", f'{file} is a ClaimRec envelope of System="{system}"; only "OP" is read here'
        )
    return Envelope(
        file=file,
        kind=kind,
        header=header,
        attributes=attributes,
        sections={
            tag: pl.concat(frames) if frames else pl.DataFrame(schema=section_schema(fields))
            for (tag, fields), frames in zip(SECTIONS.items(), parts.values(), strict=True)
        },
    )


class _Bounded:
    """A member's stream for the parser, refusing (F01) once more than ``limit`` bytes came
    out: a bomb whose declared sizes lie is stopped while being peeked at."""

    def __init__(self, head: bytes, stream: IO[bytes], limit: int) -> None:
        self._head, self._stream, self._limit, self._seen = head, stream, limit, len(head)

    def read(self, size: int = -1) -> bytes:
        if self._head:
            piece, self._head = self._head, b""
            return piece
        piece = self._stream.read(size if size > 0 else _PEEK)
        self._seen += len(piece)
        if self._seen > self._limit:
            raise too_large("the ZIP archive unpacks to at least", self._seen, self._limit)
        return piece


def _peek_kind(archive: zipfile.ZipFile, info: zipfile.ZipInfo, max_bytes: int) -> str | None:
    """The member's first section, parsed up to its start tag (comments and CDATA are not
    sections): None when the member does not start as XML, "" when no first section could
    be found (the envelope's own checks then say why)."""
    if info.flag_bits & 0x1:
        raise DropRefused(
            "F01", f"{info.filename} is password-protected; send the ZIP without a password"
        )
    with archive.open(info) as member:
        head = member.read(_PEEK)
        if not looks_like_xml(head):
            return None
        # Everything dangerous off and libxml2's limits on: a DTD bomb only ends the peek.
        starts = etree.iterparse(
            _Bounded(head, member, max_bytes), events=("start",), tag=tuple(KINDS),
            resolve_entities=False, load_dtd=False, no_network=True, huge_tree=False,
        )  # fmt: skip
        try:
            for _, element in starts:
                return str(element.tag)
        except etree.XMLSyntaxError:
            return ""
    return ""


def _claim(taken: dict[str, str], what: str, name: str, kind: str, hint: str) -> None:
    if what in taken:
        first, second = sorted((taken[what], name))
        raise DropRefused("F01", f"two {kind} in one drop: {first} and {second}; {hint}")
    taken[what] = name


def _one_of_a_kind(taken: dict[str, str], kind: str, name: str) -> None:
    _claim(taken, kind, name, f"{KINDS[kind]} envelopes", "send one envelope of each kind")


def _checked(data: bytes, file: str) -> XmlDoc:
    """:func:`check_xml` for a ClaimRec envelope, its refusal naming the envelope."""
    try:
        return check_xml(data, signed_from_root=False)
    except DropRefused as refused:
        raise DropRefused(refused.code, f"{file}: {refused.message}") from refused


def _zip_envelopes(path: Path, max_bytes: int) -> tuple[list[Envelope], list[str]]:
    """Every XML member as a checked envelope, in member order, and the ignored members."""
    envelopes: list[zipfile.ZipInfo] = []
    ignored: list[str] = []
    names: dict[str, str] = {}
    kinds: dict[str, str] = {}
    with open_zip(path) as archive:
        for info in checked_members(archive, max_bytes):
            kind = _peek_kind(archive, info, max_bytes)
            if kind is None:
                ignored.append(info.filename)
                continue
            _claim(names, base_name(info), info.filename, "members of one name", "rename one")
            if kind:
                _one_of_a_kind(kinds, kind, base_name(info))
            envelopes.append(info)
    read: list[Envelope] = []
    unpacked = 0
    for info in envelopes:
        # The ZIP is opened again per member so that only its own errors read as damage.
        with open_zip(path) as archive:
            data = read_member(archive, info, max_bytes - unpacked, max_bytes)
        unpacked += len(data)
        read.append(read_envelope(_checked(data, base_name(info)), base_name(info)))
        del data
    return read, sorted(ignored)


def _lone_envelope(path: Path) -> Envelope:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DropRefused("F01", f"the drop cannot be read ({exc.strerror or exc})") from exc
    if not looks_like_xml(data[:_PEEK]):
        raise DropRefused(
            "F01", "the drop is neither a ZIP of ClaimRec envelopes nor a ClaimRec XML file"
        )
    return read_envelope(_checked(data, path.name), path.name)


def _by_kind(envelopes: list[Envelope]) -> dict[str, Envelope]:
    """The envelopes by kind: F01 for two of a kind (as parsed), F03 for an envelope
    without a first section or a drop without bills."""
    taken: dict[str, str] = {}
    for envelope in envelopes:
        if envelope.kind:
            _one_of_a_kind(taken, envelope.kind, envelope.file)
    for envelope in envelopes:
        if not envelope.kind:
            raise DropRefused(
                "F03", f"{envelope.file} holds none of the sections BILLTRAN, Dispensing, "
                "OPServices",
            )  # fmt: skip
    kinds = {envelope.kind: envelope for envelope in envelopes}
    if "BILLTRAN" not in kinds:
        found = ", ".join(f"{KINDS[e.kind]} {e.file}" for e in envelopes)
        raise DropRefused(
            "F03",
            f"the drop has no bills envelope (BILLTRAN + BillItems)"
            f"{f', only {found}' if found else ''}; "
            "send the dispensing and services envelopes with the bills they belong to",
        )
    return {kind: kinds[kind] for kind in KINDS if kind in kinds}


def _check_count(envelope: Envelope) -> None:
    declared = envelope.header.get("RECCOUNT")
    rows = envelope.sections[envelope.kind].height
    if declared is None:
        raise DropRefused(
            "F04", f"{envelope.file} has no Header/RECCOUNT (the rows of its {envelope.kind})"
        )
    if not declared.isdigit() or int(declared) != rows:
        raise DropRefused(
            "F04",
            f"{envelope.file}: Header/RECCOUNT declares {declared!r} rows, "
            f"its {envelope.kind} section holds {rows}",
        )


def _section(kinds: dict[str, Envelope], kind: str, tag: str) -> pl.DataFrame:
    envelope = kinds.get(kind)
    if envelope is None:
        return pl.DataFrame(schema=section_schema(SECTIONS[tag]))
    return envelope.sections[tag]


def read_claimrec(path: Path, *, max_bytes: int) -> RawDrop:
    """A ZIP of ClaimRec envelopes, or one bills envelope, as a drop of raw tables.

    Raises:
        DropRefused: F01, F06, F02, F05, F03 or F04, the first check that fails.
    """
    if path.is_dir():
        raise DropRefused("F01", "a folder is not a ClaimRec drop; send the envelopes zipped")
    checked_size(path, max_bytes)
    if is_zip(path):
        envelopes, ignored = _zip_envelopes(path, max_bytes)
    else:
        envelopes, ignored = [_lone_envelope(path)], []
    kinds = _by_kind(envelopes)
    for envelope in kinds.values():
        _check_count(envelope)
    bills = kinds["BILLTRAN"]
    tables = raw_tables(
        Sections(
            billtran=bills.sections["BILLTRAN"],
            bill_items=bills.sections["BillItems"],
            dispensing=_section(kinds, "Dispensing", "Dispensing"),
            dispensed_items=_section(kinds, "Dispensing", "DispensedItems"),
            services=_section(kinds, "OPServices", "OPServices"),
            diagnoses=_section(kinds, "OPServices", "OPDx"),
            hcode=bills.header.get("HCODE", ""),
            payplan=bills.attributes.get("PayPlan", ""),
        )
    )
    present = [table for table, frame in tables.items() if not frame.is_empty()]
    return RawDrop(
        tables=tables,
        rows_read={table: tables[table].height for table in present},
        ignored_files=ignored,
        files={table: kinds[_TABLE_KIND[table]].file for table in present},
        absent=ABSENT,
    )
