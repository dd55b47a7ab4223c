"""Drops on disk: finding them in an inbox, their identity (hash) and their size.

A drop is a ZIP archive, a single XML or JSON file, or a folder holding the 16 table files
(intake.md, "Drops and the submitting hospital"). This module only looks at names, ``stat``
results and bytes; what a drop contains is the business of the format readers.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from clearinghouse.errors import DropRefused, UsageError
from formats.zipsafe import file_name, too_large

__all__ = [
    "RESERVED_NAMES",
    "DropSource",
    "Member",
    "checked_size",
    "discover",
    "drop_hash",
    "drop_size",
    "folder_files",
    "is_zip",
]

#: Entries of an inbox (or of a hospital folder) that are never drops nor hospitals.
RESERVED_NAMES = frozenset({"ack", "archive", "corrections"})

_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class Member:
    """An XML member of a CIPN transport ZIP: its name in the archive and declared size."""

    name: str
    size: int


@dataclass(frozen=True)
class DropSource:
    """One drop to ingest: where it is, the hospital folder it sits in, whether a correction.

    ``member``: for a CIPN/AIPN file carried in a transport ZIP at ``path``, its name in the
    archive (the member is the drop: its own hash, checks and acknowledgement).
    """

    path: Path
    hcode: str | None
    corrections: bool
    member: Member | None = None

    @property
    def name(self) -> str:
        """The drop's name as submitted: the file or folder's, or the member's (no folders)."""
        if self.member is None:
            return self.path.name
        return file_name(self.member.name)


def is_zip(path: Path) -> bool:
    """Whether ``path`` is a file starting with a ZIP signature (a member or an empty archive)."""
    try:
        with path.open("rb") as handle:
            return handle.read(4) in _ZIP_MAGICS
    except OSError:
        return False


def folder_files(folder: Path) -> list[Path]:
    """The folder's own regular files, dot-files left out, sorted by the UTF-8 bytes of the name.

    Sub-folders are not part of a folder drop. Raises ``OSError`` when the folder cannot be listed.
    """
    files = [
        entry for entry in folder.iterdir() if not entry.name.startswith(".") and entry.is_file()
    ]
    return sorted(files, key=lambda entry: os.fsencode(entry.name))


def drop_size(path: Path) -> int:
    """The size in bytes of a drop, from ``stat`` only: a file's size, or a folder's files' sum."""
    if path.is_dir():
        return sum(entry.stat().st_size for entry in folder_files(path))
    return path.stat().st_size


def checked_size(path: Path, max_bytes: int) -> int:
    """The drop's size from ``stat``, before any reader opens it: F01 when it cannot be read
    or is larger than ``max_bytes``."""
    try:
        size = drop_size(path)
    except OSError as exc:
        raise DropRefused("F01", f"the drop cannot be read ({exc.strerror or exc})") from exc
    if size > max_bytes:
        raise too_large("the drop is", size, max_bytes)
    return size


def _stream(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            yield chunk


def drop_hash(path: Path) -> str:
    """The SHA-256 (hex) identifying a drop.

    A file: the hash of its bytes. A folder: the hash over its own regular files (dot-files left
    out) sorted by the UTF-8 bytes of their names, each contributing its name's length (8 bytes,
    big-endian), its name (UTF-8), its length (8 bytes, big-endian) and its bytes.
    """
    digest = hashlib.sha256()
    if not path.is_dir():
        for chunk in _stream(path):
            digest.update(chunk)
        return digest.hexdigest()
    for entry in folder_files(path):
        name = os.fsencode(entry.name)
        digest.update(len(name).to_bytes(8, "big"))
        digest.update(name)
        digest.update(entry.stat().st_size.to_bytes(8, "big"))
        for chunk in _stream(entry):
            digest.update(chunk)
    return digest.hexdigest()


def _visible(folder: Path) -> list[Path]:
    """Entries of ``folder`` that may be drops or hospitals, sorted by name."""
    return sorted(
        (
            entry
            for entry in folder.iterdir()
            if not entry.name.startswith(".") and entry.name not in RESERVED_NAMES
        ),
        key=lambda entry: entry.name,
    )


def _has_text_file(folder: Path) -> bool:
    try:
        return any(
            entry.suffix.lower() == ".txt" and not entry.name.startswith(".") and entry.is_file()
            for entry in folder.iterdir()
        )
    except OSError:
        return False


def _is_drop_folder(folder: Path) -> bool:
    """A folder drop holds ``*.txt`` table files itself and no sub-folder that does."""
    if not _has_text_file(folder):
        return False
    return not any(entry.is_dir() and _has_text_file(entry) for entry in _visible(folder))


def _is_hospital_folder(folder: Path) -> bool:
    """A hospital folder holds drops itself (files, drop folders) or a ``corrections`` folder."""
    if (folder / "corrections").is_dir():
        return True
    return any(entry.is_file() or _is_drop_folder(entry) for entry in _visible(folder))


def _drops_in(folder: Path, hcode: str | None, corrections: bool) -> list[DropSource]:
    """The drops sitting directly in a hospital (or corrections) folder, in name order.

    Every visible file is a drop (its format is judged from its content later); every visible
    sub-folder holding at least one regular file is a folder drop; empty folders are skipped
    (an upload still being made).
    """
    found = []
    for entry in _visible(folder):
        if entry.is_file() or (entry.is_dir() and folder_files(entry)):
            found.append(DropSource(entry, hcode, corrections))
    return found


def _hospital_drops(folder: Path, corrections: bool) -> list[DropSource]:
    """A hospital's drops in name order, then those of its ``corrections`` folder."""
    drops = _drops_in(folder, folder.name, corrections)
    fixes = folder / "corrections"
    if fixes.is_dir():
        drops += _drops_in(fixes, folder.name, True)
    return drops


def _discover_one(path: Path, corrections: bool) -> list[DropSource]:
    if path.is_file():
        return [DropSource(path, None, corrections)]
    if _is_drop_folder(path):
        return [DropSource(path, None, corrections)]
    if path.name == "corrections":
        return _drops_in(path, path.resolve().parent.name, True)
    if _is_hospital_folder(path):
        return _hospital_drops(path, corrections)
    drops: list[DropSource] = []
    for hospital in _visible(path):
        if hospital.is_dir():
            drops += _hospital_drops(hospital, corrections)
    return drops


def discover(paths: Sequence[Path], *, corrections: bool = False) -> list[DropSource]:
    """The drops named by ``paths``, in the order to ingest them.

    Each path is classified by looking at most two levels down:

    * a file is one drop (ZIP, XML or JSON, judged from its content later), ``hcode`` None;
    * a folder that directly holds a regular ``*.txt`` file (not a dot-file) and no sub-folder
      that does is a 16-file folder drop, ``hcode`` None (the caller passes ``--hcode``);
    * a folder named ``corrections`` is a hospital's corrections folder: its drops, with
      ``hcode`` = the parent folder's name and ``corrections`` True;
    * a folder that directly holds files, folder drops, or a ``corrections`` folder is a
      hospital folder ``<inbox>/<HCODE>``: its drops with ``hcode`` = its name;
    * any other folder is an inbox: each sub-folder is a hospital folder, hospitals sorted by
      name.

    Within a hospital folder the drops come in name order, then those of its ``corrections``
    folder (``corrections`` True). Names ``ack``, ``archive``, ``corrections`` and names
    starting with ``.`` are never drops or hospitals. ``corrections=True`` marks every drop
    found as a correction.

    Raises:
        UsageError: a path does not exist, is not a file or folder, or cannot be listed.
    """
    found: list[DropSource] = []
    for path in paths:
        if not path.exists():
            raise UsageError(f"{path}: no such file or folder")
        if not (path.is_file() or path.is_dir()):
            raise UsageError(f"{path}: neither a file nor a folder")
        try:
            found += _discover_one(path, corrections)
        except OSError as exc:
            raise UsageError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    return found
