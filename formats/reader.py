"""Which reader a drop goes to, from its content (intake.md: "the format is recognized from
the content, not the name").

A folder or a ZIP archive is the 16 files; a single file that starts as XML is a CIPN/AIPN
admission; anything else goes to the 16-file reader, which refuses it with F01.
"""

from __future__ import annotations

from pathlib import Path

from formats.cipn import read_cipn_file
from formats.sixteen import RawDrop, read_sixteen
from formats.xmlsafe import looks_like_xml

__all__ = ["drop_format", "read_drop"]


def drop_format(path: Path) -> str:
    """``cipn`` for a single file that starts as XML, else ``16files`` (folders, ZIPs, and
    anything the 16-file reader will refuse with F01)."""
    if path.is_file():
        try:
            with path.open("rb") as handle:
                head = handle.read(256)
        except OSError:
            return "16files"
        if looks_like_xml(head):
            return "cipn"
    return "16files"


def read_drop(path: Path, kind: str, *, max_bytes: int) -> RawDrop:
    """The raw tables of the drop at ``path`` in format ``kind``; DropRefused for F codes."""
    if kind == "cipn":
        return read_cipn_file(path, max_bytes=max_bytes)
    return read_sixteen(path, max_bytes=max_bytes)
