"""FHIR JSON read as a stream: a Bundle's entries one at a time, in bounded memory.

ijson's C backend finds the root's ``resourceType`` and ``type`` (each pass stops at the
first root-level match), then yields ``entry`` items one by one; numbers come as ``Decimal``
(or ``int``), never as floats. A lone Claim is read whole, as the bundle's only entry.
F01 for anything that does not parse, a root that is neither a Bundle nor a Claim, a
Bundle type other than ``batch`` or ``collection``, and a run of more than
:data:`MAX_DIGITS` digits (checked before parsing: the C backend crashes the process on an
integer longer than Python converts, 4,300 digits).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import ijson

from clearinghouse.errors import DropRefused

__all__ = ["BUNDLE_TYPES", "json_entries"]

#: Bundle types read as a drop of claims (a transaction or a message is refused).
BUNDLE_TYPES = ("batch", "collection")
#: The longest run of digits a FHIR JSON drop may hold (no amount, code or identifier is
#: near it; a longer integer would crash ijson's C backend).
MAX_DIGITS = 1000
_LONG_DIGITS = re.compile(rb"[0-9]{%d}" % (MAX_DIGITS + 1))
_CHUNK = 1 << 20


def _refuse_long_digit_runs(path: Path) -> None:
    """F01 when the file holds more than MAX_DIGITS digits in a row (read a chunk at a time,
    each chunk searched with the tail of the one before)."""
    tail = b""
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            if _LONG_DIGITS.search(tail + chunk):
                raise DropRefused(
                    "F01", f"the JSON holds a number of more than {MAX_DIGITS} digits"
                )
            tail = chunk[-MAX_DIGITS:]


def _not_json(exc: Exception) -> DropRefused:
    return DropRefused("F01", f"the file is not valid JSON ({exc})")


def _root_value(path: Path, skip: int, key: str) -> object:
    """The value of the root object's ``key`` (None when absent or the root is no object)."""
    with path.open("rb") as handle:
        handle.seek(skip)
        try:
            return next(iter(ijson.items(handle, key)), None)
        except (ijson.JSONError, UnicodeDecodeError, ValueError, ArithmeticError) as exc:
            raise _not_json(exc) from exc


def json_entries(path: Path, skip: int = 0) -> Iterator[object]:
    """The entries of the FHIR JSON file at ``path`` (``skip``: bytes of a byte order mark
    to pass over), each as parsed; a lone Claim as ``{"resource": <the Claim>}``.

    Raises:
        DropRefused: F01 (not parseable, wrong root, wrong Bundle type), when reached.
    """
    _refuse_long_digit_runs(path)
    root = _root_value(path, skip, "resourceType")
    if root not in ("Bundle", "Claim"):
        raise DropRefused(
            "F01", f"the JSON root is {root!r}, neither a Bundle nor a Claim resource"
            if isinstance(root, str)
            else "the JSON root is not a FHIR resource (no resourceType)",
        )  # fmt: skip
    if root == "Bundle":
        kind = _root_value(path, skip, "type")
        if kind not in BUNDLE_TYPES:
            raise DropRefused(
                "F01", f"the Bundle type is {kind!r}; a drop is a batch or collection bundle"
            )
    with path.open("rb") as handle:
        handle.seek(skip)
        try:
            if root == "Claim":
                # Read to the end, so that anything after the Claim is refused too.
                (claim,) = ijson.items(handle, "")
                yield {"resource": claim}
                return
            yield from ijson.items(handle, "entry.item")
        except (ijson.JSONError, UnicodeDecodeError, ValueError, ArithmeticError) as exc:
            raise _not_json(exc) from exc
