"""Safe, bounded XML for the civil-servant formats (intake.md, Format 2; rules F02, F05, F06).

Every XML drop passes :func:`check_xml` before a reader looks at its elements, in the spec's
order after F01 (size, checked by the caller before reading):

* F06: a document type declaration (where DTDs and entities are declared) before the root,
  or XML that is not well-formed. The parser never resolves entities, never loads a DTD and
  never touches the network, so a billion-laughs or external-entity file is refused on sight.
* F02: the declared encoding must be one hospitals export in (UTF-8, Windows-874/TIS-620) and
  the bytes must decode in it.
* F05: the ``<?EndNote HMAC="…"?>`` (or ``Checksum="…"``) trailer must be there and equal the
  uppercase MD5 of the signed bytes: from the root start tag up to the trailer for CIPN/AIPN
  (the closing tag and the line ends after it included), every byte before ``<?EndNote`` for
  a ClaimRec envelope.

:func:`elements` then walks the document once more, incrementally, handing the reader the
elements it asks for and clearing each one after use, so memory stays bounded whatever the
size of the file.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass

from lxml import etree

from clearinghouse.errors import DropRefused

__all__ = [
    "CODECS",
    "SIGNED_FROM_ROOT",
    "Element",
    "XmlDoc",
    "check_xml",
    "elements",
    "looks_like_xml",
]

#: Declared encodings we read, to their Python codec.
CODECS = {
    "utf-8": "utf-8",
    "utf8": "utf-8",
    "windows-874": "cp874",
    "cp874": "cp874",
    "tis-620": "cp874",
    "tis620": "cp874",
    "iso-8859-11": "cp874",
}

_DECLARATION = re.compile(rb"\A(?:\xef\xbb\xbf)?<\?xml\s[^>]*?\?>")
_ENCODING = re.compile(rb"""encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_TRAILER = re.compile(rb"""<\?EndNote\s+(?:HMAC|Checksum)\s*=\s*["']([^"']*)["']\s*\?>\s*\Z""")
_DECODE_BYTES = 1 << 20
_MARKUP = re.compile(rb"<(\?|!--|!|[^?!])")


@dataclass(frozen=True, slots=True)
class XmlDoc:
    """An XML drop that passed F06, F02 and F05: its bytes, codec and root element name."""

    data: bytes
    codec: str
    root: str


def looks_like_xml(head: bytes) -> bool:
    """Whether a file starting with ``head`` is XML (a declaration or an element first)."""
    return head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<")


def _root_start(data: bytes) -> int:
    """Where the root start tag begins; F06 for a document type declaration before it (or
    anything else that is not a comment, processing instruction or white space; a UTF-8 byte
    order mark may open the file)."""
    pos = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    while True:
        found = _MARKUP.search(data, pos)
        if found is None:
            raise DropRefused("F06", "the XML has no root element")
        if data[pos : found.start()].strip():
            raise DropRefused("F06", "the XML is not well-formed: text before the root element")
        kind = found.group(1)
        if kind == b"?":
            end = data.find(b"?>", found.end())
        elif kind == b"!--":
            end = data.find(b"-->", found.end())
        elif kind == b"!":
            raise DropRefused(
                "F06",
                "the XML declares a document type (DTD or entities): refused unread, "
                "as the format has none",
            )
        else:
            return found.start()
        if end < 0:
            raise DropRefused("F06", "the XML is not well-formed: an unterminated declaration")
        pos = end + 2 if kind == b"?" else end + 3


def _declared(data: bytes) -> str | None:
    declaration = _DECLARATION.match(data)
    if declaration is None:
        return None
    encoding = _ENCODING.search(declaration.group(0))
    return encoding.group(1).decode("ascii").lower() if encoding else None


def _parser_events(data: bytes, tags: tuple[str, ...] | None) -> Iterator[etree._Element]:
    """Incremental parse with everything dangerous off."""
    return iter(
        etree.iterparse(
            io.BytesIO(data),
            events=("end",),
            tag=tags,
            resolve_entities=False,
            load_dtd=False,
            dtd_validation=False,
            no_network=True,
            # libxml2's default limits (10 MB of text in one element) would refuse a big
            # envelope's section; entities being refused before any parse, the drop size
            # bounds what a long text can cost.
            huge_tree=True,
            remove_comments=True,
        )
    )


def _release(element: etree._Element) -> None:
    """Free a finished element and the siblings before it (the root stays, emptied)."""
    parent = element.getparent()
    if parent is None:
        return
    element.clear(keep_tail=True)
    while element.getprevious() is not None:
        del parent[0]


def _well_formed(data: bytes, declared: str | None) -> str:
    """Parse the whole document once (clearing as it goes); the root's name. F02 when libxml2
    cannot read the declared encoding, F06 for anything else it refuses."""
    root = ""
    try:
        for _, element in _parser_events(data, None):
            root = element.tag if isinstance(element.tag, str) else ""
            _release(element)
    except etree.XMLSyntaxError as exc:
        # Bytes that are not in the declared encoding are an encoding problem (F02), not a
        # structural one, though libxml2 stops on them too.
        _decoded_in(data, declared)
        raise DropRefused("F06", f"the XML is not well-formed: {exc.msg}") from exc
    return root


def _decoded_in(data: bytes, declared: str | None) -> str:
    """The codec of the declared encoding (UTF-8 when none); F02 unless it is one read here
    and ``data`` decodes in it."""
    codec = CODECS.get(declared or "utf-8")
    if codec is None:
        raise DropRefused("F02", f"the XML declares encoding {declared!r}, not read here")
    # Decoded a piece at a time: a drop's text is never held whole beside its bytes.
    decoder = codecs.getincrementaldecoder(codec)()
    for offset in range(0, len(data) + 1, _DECODE_BYTES):
        piece = data[offset : offset + _DECODE_BYTES]
        pending = len(decoder.getstate()[0])  # bytes of a character cut by the last piece
        try:
            decoder.decode(piece, final=offset + _DECODE_BYTES >= len(data))
        except UnicodeDecodeError as exc:
            where = offset - pending + exc.start
            raise DropRefused(
                "F02", f"the XML is not {declared or 'UTF-8'} as it declares (byte {where})"
            ) from exc
    return codec


#: Roots whose checksum covers the bytes from the root start tag (the others: from byte 0).
SIGNED_FROM_ROOT = ("CIPN", "AIPN")


def check_xml(
    data: bytes, *, signed_from_root: bool | None = None, checksum: bool = True
) -> XmlDoc:
    """The drop-level checks of an XML drop, in order F06, F02, F05; raise DropRefused.

    Args:
        data: the file's bytes (its size already checked against the maximum).
        signed_from_root: the checksum covers the bytes from the root start tag (CIPN/AIPN);
            else every byte before ``<?EndNote`` (ClaimRec). None: as the root says.
        checksum: whether the format has the F05 trailer (FHIR XML has none).
    """
    start = _root_start(data)
    declared = _declared(data)
    root = _well_formed(data, declared)
    codec = _decoded_in(data, declared)
    if not checksum:
        return XmlDoc(data=data, codec=codec, root=root)
    trailer = _TRAILER.search(data)
    if trailer is None:
        raise DropRefused("F05", 'the XML has no <?EndNote HMAC="…"?> checksum trailer at its end')
    if signed_from_root is None:
        signed_from_root = root in SIGNED_FROM_ROOT
    signed = data[start if signed_from_root else 0 : trailer.start()]
    expected = hashlib.md5(signed, usedforsecurity=False).hexdigest().upper()
    given = trailer.group(1).decode("ascii", "replace")
    if given.upper() != expected:
        raise DropRefused(
            "F05", f"the XML checksum {given!r} does not match its contents ({expected})"
        )
    return XmlDoc(data=data, codec=codec, root=root)


@dataclass(frozen=True, slots=True)
class Element:
    """One element handed to a reader: its name, its parent's, attributes, own text, line."""

    tag: str
    parent: str
    attributes: dict[str, str]
    text: str
    line: int


def elements(doc: XmlDoc, tags: tuple[str, ...] | None) -> Iterator[Element]:
    """Every element named in ``tags`` (None: every element), in document order of their
    ends, each freed after it is handed over (``text``: its own text, "" for none)."""
    for _, element in _parser_events(doc.data, tags):
        if not isinstance(element.tag, str):  # a processing instruction (the trailer)
            continue
        parent = element.getparent()
        yield Element(
            tag=str(element.tag),
            parent=str(parent.tag) if parent is not None else "",
            attributes={str(k): str(v) for k, v in element.attrib.items()},
            text=element.text or "",
            line=int(element.sourceline or 0),
        )
        _release(element)
