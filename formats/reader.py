"""Which reader a drop goes to, from its content (intake.md: "the format is recognized from
the content, not the name"), and the ZIP transport of CIPN/AIPN files.

* a folder: the 16 files;
* a ZIP: the 16 files, unless its members are XML: a ClaimRec envelope among them makes the
  ZIP one ClaimRec drop; otherwise (CIPN/AIPN admissions) the ZIP is a transport whose every
  XML member is a drop of its own (:func:`transport_members`);
* a single file starting as XML: by its root element, CIPN/AIPN (any other root is refused by
  that reader), ``ClaimRec``, or FHIR (``Bundle``, ``Claim``);
* a single file starting with ``{``: FHIR JSON;
* anything else: the 16-file reader, which refuses it with F01.

Recognition only peeks at the first bytes of files and members; every check that refuses a
drop belongs to its reader.
"""

from __future__ import annotations

import hashlib
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from clearinghouse.errors import DropRefused
from formats.cipn import read_cipn_file, read_cipn_many
from formats.claimrec import read_claimrec
from formats.drop import Member
from formats.fhir import read_fhir
from formats.sixteen import RawDrop, read_sixteen, table_of
from formats.xmlsafe import looks_like_xml
from formats.zipsafe import (
    ZIP_ERRORS,
    base_name,
    checked_members,
    damaged,
    file_name,
    open_zip,
    read_member,
)

__all__ = [
    "FORMATS",
    "Transported",
    "drop_format",
    "member_bytes",
    "read_drop",
    "read_transport",
    "transport_members",
]

#: Every format a drop may be recorded in (``zip``: an archive too damaged to tell, refused).
FORMATS = ("16files", "cipn", "claimrec", "fhir-json", "fhir-xml", "zip")
_HEAD = 1 << 16
#: What recognition inflates of each ZIP member: enough for a declaration and the root.
_PEEK = 1 << 12
_FIRST_TAG = re.compile(rb"<([A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)[\s/>]")
_FHIR_ROOTS = frozenset({"Bundle", "Claim"})


def _root(head: bytes) -> str | None:
    """The root element's local name in the first bytes of an XML document, when it shows
    there (declarations, comments and processing instructions skipped); None otherwise."""
    pos = 0
    while True:
        found = _FIRST_TAG.search(head, pos)
        if found is None:
            return None
        before = head[: found.start()]
        # Inside a comment or a processing instruction that has not ended yet: keep looking.
        if before.count(b"<!--") > before.count(b"-->"):
            pos = found.end()
            continue
        return found.group(2).decode("ascii", "replace")


def _xml_format(head: bytes) -> str:
    root = _root(head)
    if root == "ClaimRec":
        return "claimrec"
    if root in _FHIR_ROOTS:
        return "fhir-xml"
    return "cipn"  # CIPN/AIPN, or refused by that reader (F06, F03 for another root)


def _head(path: Path) -> bytes:
    try:
        with path.open("rb") as handle:
            return handle.read(_HEAD)
    except OSError:
        return b""


def _zip_contents(path: Path, max_bytes: int) -> tuple[str, list[Member]]:
    """``16files``, ``claimrec`` or ``cipn-zip`` by the members' names and first bytes, with
    the XML members of a ``cipn-zip``; raises the archive's damage (``ZIP_ERRORS``) and its
    F01 (unsafe names, declared sizes past ``max_bytes``) before inflating anything."""
    with zipfile.ZipFile(path) as archive:
        kinds = set()
        members = []
        infos = checked_members(archive, max_bytes)
        if any(table_of(base_name(info)) is not None for info in infos):
            return "16files", []
        for info in infos:
            with archive.open(info) as member:
                head = member.read(_PEEK)
            if looks_like_xml(head):
                kinds.add(_xml_format(head))
                members.append(Member(info.filename, info.file_size))
    if "claimrec" in kinds:
        return "claimrec", []
    return ("cipn-zip", members) if kinds else ("16files", [])


def _zip_format(path: Path, max_bytes: int) -> str:
    """The ZIP's format, or ``zip`` when it is damaged or unsafe (its reading is F01)."""
    try:
        return _zip_contents(path, max_bytes)[0]
    except (*ZIP_ERRORS, DropRefused):
        return "zip"


def drop_format(path: Path, max_bytes: int = 1 << 30) -> str:
    """The format of the drop at ``path``: one of :data:`FORMATS`, or ``cipn-zip`` for a ZIP
    transporting CIPN/AIPN files (each member then its own ``cipn`` drop). A ZIP damaged so
    that its members cannot be peeked at (a member lying about its size among them) is
    ``zip``, which reading refuses F01."""
    if path.is_dir():
        return "16files"
    head = _head(path)
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _zip_format(path, max_bytes)
    if looks_like_xml(head):
        return _xml_format(head)
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{"):
        return "fhir-json"
    return "16files"


def transport_members(path: Path, max_bytes: int) -> list[Member]:
    """The XML members of a CIPN transport, in archive order, each a drop of its own (none
    when the ZIP is no transport).

    Raises:
        DropRefused: F01 for the archive as a whole: damaged, a member name with an absolute
            path or ``..`` (zip slip), declared sizes beyond ``max_bytes``, or two members of
            one name.
    """
    with open_zip(path):  # the archive's damage as F01
        kind, members = _zip_contents(path, max_bytes)
    names = [member.name for member in members]
    if len(set(names)) < len(names):
        twice = sorted({name for name in names if names.count(name) > 1})
        raise DropRefused(
            "F01", f"the ZIP archive holds two members named {twice[0]!r}; send each once"
        )
    return members if kind == "cipn-zip" else []


def member_bytes(path: Path, name: str, max_bytes: int) -> bytes:
    """One member's bytes, at most ``max_bytes`` however it lies about its size (F01)."""
    with open_zip(path) as archive:
        return read_member(archive, archive.getinfo(name), max_bytes, max_bytes)


@dataclass(frozen=True, slots=True)
class Transported:
    """One member of a CIPN transport as read: its drop (or its own refusal) and the SHA-256
    of the very bytes read (None when they could not be read: a lying or damaged member)."""

    drop: RawDrop | DropRefused
    sha256: str | None


def read_transport(
    path: Path, names: Sequence[str], *, max_bytes: int
) -> dict[str, Transported]:
    """Members of a CIPN transport read together (one set-based mapping for all), each its
    own drop or its own refusal: F01 for a member that unpacks past ``max_bytes`` or is
    damaged, else its XML checks; with each, the hash of its bytes (its drop's identity)."""
    documents: list[tuple[bytes, str]] = []
    unread: dict[str, DropRefused] = {}
    hashes: dict[str, str] = {}
    with open_zip(path) as archive:
        for name in names:
            try:
                data = read_member(archive, archive.getinfo(name), max_bytes, max_bytes)
            except DropRefused as refusal:
                unread[name] = refusal
                continue
            except ZIP_ERRORS as exc:
                unread[name] = damaged(exc)
                continue
            hashes[name] = hashlib.sha256(data).hexdigest()
            documents.append((data, file_name(name)))
    read = iter(read_cipn_many(documents))
    return {
        name: Transported(unread[name], None)
        if name in unread
        else Transported(next(read), hashes[name])
        for name in names
    }


def read_drop(
    path: Path, kind: str, *, max_bytes: int, timezone: str = "Asia/Bangkok"
) -> RawDrop:
    """The raw tables of the drop at ``path`` in format ``kind``; DropRefused for F codes.
    ``timezone``: where FHIR date-times with an offset are converted to (settings)."""
    if kind == "cipn":
        return read_cipn_file(path, max_bytes=max_bytes)
    if kind == "claimrec":
        return read_claimrec(path, max_bytes=max_bytes)
    if kind in ("fhir-json", "fhir-xml"):
        return read_fhir(path, max_bytes=max_bytes, timezone=timezone)
    if kind == "zip":
        with open_zip(path):  # raises the archive's damage or unsafety as F01
            _zip_contents(path, max_bytes)
        raise DropRefused("F01", "the ZIP archive cannot be read")
    if kind == "cipn-zip":  # reached only when the transport did not open safely
        transport_members(path, max_bytes)  # raises the archive's F01
        raise DropRefused("F03", "the ZIP archive holds no CIPN/AIPN file")
    return read_sixteen(path, max_bytes=max_bytes)
