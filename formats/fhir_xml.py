"""FHIR XML (namespace ``http://hl7.org/fhir``) as the same entries the JSON reader yields.

The document first passes :func:`formats.xmlsafe.check_xml` without a checksum (F06 for a
DTD, entities or XML that is not well-formed, F02 for the declared encoding); then a Bundle's
``entry`` elements are converted one at a time and freed. An element becomes the list of its
children by name, a primitive the text of its ``value`` attribute, a ``resource`` or
``contained`` element the resource inside it with its ``resourceType``; the narrative (XHTML)
and extensions' structure are left out. F01 for another root or a Bundle type other than
``batch`` or ``collection``.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

from lxml import etree

from clearinghouse.errors import DropRefused
from formats.fhir_json import BUNDLE_TYPES
from formats.xmlsafe import check_xml

__all__ = ["FHIR_NS", "xml_entries"]

FHIR_NS = "http://hl7.org/fhir"
_PREFIX = f"{{{FHIR_NS}}}"
_ENTRY, _TYPE = f"{_PREFIX}entry", f"{_PREFIX}type"
#: Everything dangerous off, as in formats/xmlsafe.py (DTDs are refused before any parse).
_SAFE = {
    "resolve_entities": False,
    "load_dtd": False,
    "dtd_validation": False,
    "no_network": True,
    "huge_tree": True,
    "remove_comments": True,
    "remove_pis": True,
}


def _local(element: etree._Element) -> str | None:
    """The element's name in the FHIR namespace; None for any other node."""
    tag = element.tag
    if isinstance(tag, str) and tag.startswith(_PREFIX):
        return tag[len(_PREFIX) :]
    return None


def _resource(holder: etree._Element, depth: int = 0) -> dict[str, object] | None:
    """The resource inside a ``resource`` / ``contained`` element (None when empty)."""
    for child in holder:
        name = _local(child)
        if name is not None:
            return {"resourceType": name, **_complex(child, depth + 1)}
    return None


#: How deep a resource's elements may nest (R4 resources need a handful of levels).
MAX_DEPTH = 64


def _complex(element: etree._Element, depth: int = 0) -> dict[str, object]:
    if depth > MAX_DEPTH:
        raise DropRefused(
            "F01", f"the XML nests elements deeper than {MAX_DEPTH} levels inside a resource"
        )
    values: dict[str, list[object]] = {}
    for child in element:
        name = _local(child)
        if name is None:
            continue
        value: object
        if name in ("resource", "contained"):
            value = _resource(child, depth + 1)
        elif "value" in child.attrib:
            value = str(child.attrib["value"])
        else:
            value = _complex(child, depth + 1)
        values.setdefault(name, []).append(value)
    return dict(values)


def _free(element: etree._Element) -> None:
    """Clear a finished child of the root and drop the siblings before it."""
    parent = element.getparent()
    element.clear(keep_tail=True)
    while parent is not None and element.getprevious() is not None:
        del parent[0]


def xml_entries(data: bytes) -> Iterator[object]:
    """The entries of a FHIR XML Bundle (a lone Claim as ``{"resource": <the Claim>}``).

    Raises:
        DropRefused: F06, F02 (check_xml), F01 (another root, a wrong or missing Bundle
            type), when reached.
    """
    # A UTF-8 byte order mark is legal XML; the checks expect the declaration first.
    data = data.removeprefix(b"\xef\xbb\xbf")
    root = check_xml(data, checksum=False).root
    if root == f"{_PREFIX}Claim":
        claim = etree.fromstring(data, etree.XMLParser(**_SAFE))
        yield {"resource": {"resourceType": "Claim", **_complex(claim)}}
        return
    if root != f"{_PREFIX}Bundle":
        raise DropRefused(
            "F01", f"the XML root is {root!r}, neither a FHIR Bundle nor a FHIR Claim"
        )
    kind: str | None = None
    events = etree.iterparse(io.BytesIO(data), events=("end",), tag=(_ENTRY, _TYPE), **_SAFE)
    for _, element in events:
        parent = element.getparent()
        if parent is None or parent.getparent() is not None:
            continue  # a nested ``type`` or ``entry``: part of a root-level element
        if element.tag == _TYPE:
            kind = element.get("value")
            if kind not in BUNDLE_TYPES:
                raise DropRefused(
                    "F01", f"the Bundle type is {kind!r}; a drop is a batch or collection bundle"
                )
        elif kind is None:
            raise DropRefused("F01", "the Bundle has no type before its first entry")
        else:
            yield _complex(element)
        _free(element)
    if kind is None:
        raise DropRefused("F01", "the Bundle has no type")
