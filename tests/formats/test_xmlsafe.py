"""The XML drop checks: hostile and broken files end in their F code, good ones pass.

The documents are built here byte by byte (Windows-874 Thai text, CRLF line ends) and their
checksums computed independently with hashlib, as a hospital exporter does.
"""

from __future__ import annotations

import hashlib

import pytest

from clearinghouse.errors import DropRefused
from formats.xmlsafe import check_xml, elements

THAI_NAME = "นายสมชาย ใจดี"


def cipn(
    *,
    body: str = "",
    encoding: str = "windows-874",
    checksum: str | None = None,
    trailer: bool = True,
    prolog: str = "",
) -> bytes:
    """A CIPN file: declaration, root, CRLF CRLF, then the EndNote trailer over the root."""
    declaration = f'<?xml version="1.0" encoding="{encoding}"?>\r\n{prolog}'.encode("ascii")
    codec = {"utf-8": "utf-8"}.get(encoding, "cp874")
    root = (
        "<CIPN>\r\n<Header><DocClass>IPClaim</DocClass></Header>\r\n"
        f"<IPADT>AN6900001|HN0001|0|1234567890123|นาย|{THAI_NAME}|19800101|1</IPADT>\r\n"
        f"{body}</CIPN>\r\n\r\n"
    ).encode(codec)
    digest = checksum or hashlib.md5(root, usedforsecurity=False).hexdigest().upper()
    end = f'<?EndNote HMAC="{digest}"?>\r\n'.encode("ascii") if trailer else b""
    return declaration + root + end


def refused(data: bytes, code: str, *, signed_from_root: bool = True) -> str:
    with pytest.raises(DropRefused) as caught:
        check_xml(data, signed_from_root=signed_from_root)
    assert caught.value.code == code, caught.value.message
    return caught.value.message


def test_a_windows_874_cipn_with_thai_text_passes_and_reads_incrementally() -> None:
    data = cipn(body='<IPDx Reccount="1">1|1|ICD-10|J189|ปอดบวม|ว12345|2026-10-01</IPDx>\r\n')
    doc = check_xml(data, signed_from_root=True)
    assert (doc.root, doc.codec) == ("CIPN", "cp874")
    found = list(elements(doc, ("IPADT", "IPDx")))
    assert [(e.tag, e.parent, e.line) for e in found] == [("IPADT", "CIPN", 4), ("IPDx", "CIPN", 5)]
    assert found[1].attributes == {"Reccount": "1"}
    assert THAI_NAME in found[0].text and "ปอดบวม" in found[1].text


def test_a_lowercase_but_equal_checksum_passes() -> None:
    root = cipn().split(b"\r\n", 1)[1].rsplit(b"<?EndNote", 1)[0]
    lower = hashlib.md5(root, usedforsecurity=False).hexdigest().lower()
    assert check_xml(cipn(checksum=lower), signed_from_root=True).root == "CIPN"


def test_checksum_trailer_wrong_or_missing_is_f05() -> None:
    assert "does not match" in refused(cipn(checksum="0" * 32), "F05")
    assert "no <?EndNote" in refused(cipn(trailer=False), "F05")


def test_a_claimrec_checksum_covers_every_byte_before_the_trailer() -> None:
    head = b'<?xml version="1.0" encoding="windows-874"?>\r\n<ClaimRec System="OP" PayPlan="CS">'
    signed = head + b"<Header><HCODE>10670</HCODE></Header></ClaimRec>\r\n"
    digest = hashlib.md5(signed, usedforsecurity=False).hexdigest().upper()
    data = signed + f'<?EndNote Checksum="{digest}"?>'.encode()
    assert check_xml(data, signed_from_root=False).root == "ClaimRec"
    refused(data, "F05", signed_from_root=True)  # the root-only span does not match


BILLION_LAUGHS = """<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
"""


@pytest.mark.parametrize(
    "prolog",
    [
        BILLION_LAUGHS,
        '<!DOCTYPE CIPN [<!ENTITY secret SYSTEM "file:///etc/passwd">]>\r\n',
        '<!DOCTYPE CIPN SYSTEM "http://127.0.0.1:9/cipn.dtd">\r\n',
    ],
    ids=["billion-laughs", "external-entity", "external-dtd"],
)
def test_a_document_type_declaration_is_refused_unread(prolog: str) -> None:
    assert "document type" in refused(cipn(prolog=prolog, body="<X>&lol9;</X>"), "F06")


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "no root"),
        (b"IPADT|1|2", "no root"),
        (cipn(body="<Open>").replace(b"</CIPN>", b"</Closed>"), "not well-formed"),
        (b"junk<CIPN/>", "text before the root"),
        (cipn(body="<IPOp>&undefined;</IPOp>"), "not well-formed"),
    ],
    ids=["empty", "not-xml", "mismatched-tags", "text-first", "undeclared-entity"],
)
def test_xml_that_is_not_well_formed_is_f06(data: bytes, words: str) -> None:
    assert words in refused(data, "F06")


def test_an_encoding_not_read_here_or_bytes_not_in_it_is_f02() -> None:
    assert "not read here" in refused(cipn(encoding="ebcdic-cp-us"), "F02")
    # Declared UTF-8, written in Windows-874: the Thai bytes do not decode.
    lying = cipn().replace(b'encoding="windows-874"', b'encoding="utf-8"')
    assert "not utf-8 as it declares" in refused(lying, "F02")


def test_a_utf8_byte_order_mark_may_open_the_file() -> None:
    doc = check_xml(b"\xef\xbb\xbf" + cipn(encoding="utf-8"), signed_from_root=True)
    assert (doc.root, doc.codec) == ("CIPN", "utf-8")
