"""Reading ZIP drops safely: hostile names, lying sizes, bombs and damage end in F01.

Shared by every format that arrives zipped (the 16 files, ClaimRec envelopes, CIPN/AIPN files
in transport). Nothing here knows what the members mean.
"""

from __future__ import annotations

import lzma
import re
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from clearinghouse.errors import DropRefused

__all__ = [
    "ZIP_ERRORS",
    "base_name",
    "checked_members",
    "damaged",
    "file_name",
    "human",
    "open_zip",
    "read_member",
    "too_large",
    "unsafe",
]

_CHUNK = 1 << 20
#: Everything zipfile and its decompressors raise on damaged, encrypted or exotic archives.
ZIP_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    lzma.LZMAError,
    OSError,
    EOFError,
    RuntimeError,
    NotImplementedError,
    ValueError,
)


def human(size: int) -> str:
    """A byte count as people read it (``1.5 GiB``)."""
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} bytes"


def too_large(what: str, size: int, max_bytes: int) -> DropRefused:
    """F01 for a drop (or its unpacked contents) over the maximum."""
    return DropRefused(
        "F01",
        f"{what} {human(size)}, more than the {human(max_bytes)} accepted; "
        "split it into smaller drops",
    )


def unsafe(name: str) -> bool:
    """A member name with an absolute path, a drive letter or a ``..`` step (zip slip)."""
    posix = name.replace("\\", "/")
    return (
        posix.startswith("/")
        or re.match(r"^[A-Za-z]:", posix) is not None
        or ".." in posix.split("/")
    )


def file_name(member: str) -> str:
    """A member name's file name, without its folders (either slash)."""
    return PurePosixPath(member.replace("\\", "/")).name


def base_name(info: zipfile.ZipInfo) -> str:
    """The member's file name without its folders ("" for a folder entry)."""
    return "" if info.is_dir() else file_name(info.filename)


def damaged(exc: BaseException) -> DropRefused:
    """F01 for an archive (or member) that zipfile or a decompressor could not read."""
    return DropRefused(
        "F01",
        f"the ZIP archive is damaged or cannot be unpacked ({exc}); create it again and resend",
    )


def checked_members(archive: zipfile.ZipFile, max_bytes: int) -> list[zipfile.ZipInfo]:
    """The archive's regular, visible members, after refusing (F01) an unsafe name anywhere
    or declared sizes that unpack to more than ``max_bytes``."""
    infos = archive.infolist()
    for info in infos:
        if unsafe(info.filename):
            raise DropRefused(
                "F01",
                f"the ZIP archive holds {info.filename!r}, a name with an "
                "absolute path or '..'; put the files at the top of the archive",
            )
    declared = sum(info.file_size for info in infos)
    if declared > max_bytes:
        raise too_large("the ZIP archive unpacks to", declared, max_bytes)
    return [info for info in infos if base_name(info) and not base_name(info).startswith(".")]


def read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, room: int, limit: int) -> bytes:
    """The member's bytes, refusing once more than ``room`` bytes come out (a lying archive:
    a bomb whose declared sizes are small). F01 for a password-protected member."""
    if info.flag_bits & 0x1:
        raise DropRefused(
            "F01", f"{info.filename} is password-protected; send the ZIP without a password"
        )
    parts: list[bytes] = []
    taken = 0
    with archive.open(info) as member:
        while chunk := member.read(_CHUNK):
            taken += len(chunk)
            if taken > room:
                raise DropRefused(
                    "F01",
                    f"the ZIP archive unpacks to more than the {human(limit)} accepted; "
                    "split it into smaller drops",
                )
            parts.append(chunk)
    return b"".join(parts)


@contextmanager
def open_zip(path: Path) -> Iterator[zipfile.ZipFile]:
    """The archive at ``path``; any damage while it is open (here or in the caller's reads)
    becomes F01 with a message for the officer."""
    try:
        with zipfile.ZipFile(path) as archive:
            yield archive
    except ZIP_ERRORS as exc:
        raise damaged(exc) from exc
