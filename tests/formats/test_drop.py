"""Drops on disk: discovery in an inbox, the drop hash, the drop size."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from clearinghouse.errors import UsageError
from formats.drop import DropSource, discover, drop_hash, drop_size, folder_files, is_zip

# The spec's worked example (shared/spec/examples/two-drops), copied byte for byte.
EXAMPLES = Path(__file__).parents[1] / "cases" / "two-drops" / "drops"


def _folder_drop(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "OPD.txt").write_text("HN|SEQ\n1|2\n", encoding="utf-8")
    (folder / "INS.txt").write_text("HN\n1\n", encoding="utf-8")
    return folder


def _zip_drop(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("OPD.txt", "HN|SEQ\n1|2\n")
    return path


def _file(path: Path, data: bytes = b"<x/>") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    """An inbox with reserved, hidden and correction entries around real drops."""
    root = tmp_path / "inbox"
    _zip_drop(root / ".hidden" / "h.zip")
    _file(root / "ack" / "10670_x.csv")
    _file(root / "archive" / "old.zip")
    _zip_drop(root / "10670" / "b.zip")
    _folder_drop(root / "10670" / "a_folder")
    _file(root / "10670" / "ack" / "10670_x.csv")
    _zip_drop(root / "10670" / "archive" / "old.zip")
    _zip_drop(root / "10670" / ".partial.zip")
    (root / "10670" / "uploading").mkdir()
    _zip_drop(root / "10670" / "corrections" / "c.zip")
    _folder_drop(root / "10670" / "corrections" / "d_folder")
    _file(root / "10670" / "corrections" / "ack" / "x.csv")
    _file(root / "10713" / "x.json", b"{}")
    return root


def test_inbox_hospitals_sorted_drops_in_name_order_then_corrections(inbox: Path) -> None:
    assert discover([inbox]) == [
        DropSource(inbox / "10670" / "a_folder", "10670", False),
        DropSource(inbox / "10670" / "b.zip", "10670", False),
        DropSource(inbox / "10670" / "corrections" / "c.zip", "10670", True),
        DropSource(inbox / "10670" / "corrections" / "d_folder", "10670", True),
        DropSource(inbox / "10713" / "x.json", "10713", False),
    ]


def test_corrections_flag_marks_every_drop(inbox: Path) -> None:
    assert all(source.corrections for source in discover([inbox], corrections=True))


def test_hospital_folder_given_directly(inbox: Path) -> None:
    found = discover([inbox / "10713"])
    assert found == [DropSource(inbox / "10713" / "x.json", "10713", False)]
    assert [s.path.name for s in discover([inbox / "10670"])] == [
        "a_folder",
        "b.zip",
        "c.zip",
        "d_folder",
    ]


def test_hospital_folder_with_only_corrections(tmp_path: Path) -> None:
    _zip_drop(tmp_path / "10670" / "corrections" / "c.zip")
    assert discover([tmp_path / "10670"]) == [
        DropSource(tmp_path / "10670" / "corrections" / "c.zip", "10670", True)
    ]


def test_corrections_folder_given_directly(inbox: Path) -> None:
    found = discover([inbox / "10670" / "corrections"])
    assert [(s.path.name, s.hcode, s.corrections) for s in found] == [
        ("c.zip", "10670", True),
        ("d_folder", "10670", True),
    ]


def test_drop_given_directly_does_not_infer_hcode(inbox: Path) -> None:
    paths = [inbox / "10670" / "b.zip", inbox / "10670" / "a_folder"]
    assert discover(paths) == [DropSource(p, None, False) for p in paths]


def test_folder_drop_with_stray_subfolder_is_still_a_drop(tmp_path: Path) -> None:
    drop = _folder_drop(tmp_path / "drop")
    (drop / "notes").mkdir()
    _file(drop / "notes" / "readme.pdf")
    assert discover([drop]) == [DropSource(drop, None, False)]


def test_folder_of_folder_drops_is_a_hospital(tmp_path: Path) -> None:
    _folder_drop(tmp_path / "10713" / "d2")
    _folder_drop(tmp_path / "10713" / "d1")
    found = discover([tmp_path / "10713"])
    assert [(s.path.name, s.hcode) for s in found] == [("d1", "10713"), ("d2", "10713")]


def test_worked_example_inbox() -> None:
    found = discover([EXAMPLES])
    assert [(s.path.name, s.hcode, s.corrections) for s in found] == [
        ("10670_16F_20261003_KK1.zip", "10670", False),
        ("10713_16F_20261002_CM1", "10713", False),
    ]


def test_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such file or folder"):
        discover([tmp_path / "nope"])


def test_folder_hash_follows_the_spec_formula(tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    contents = {"b.txt": b"second", "A.txt": b"first\r\n", "\u0e01.txt": b"", "OPD.txt": b"x|y"}
    for name, data in contents.items():
        (drop / name).write_bytes(data)
    (drop / ".DS_Store").write_bytes(b"junk")
    (drop / "sub").mkdir()
    (drop / "sub" / "INS.txt").write_bytes(b"nested")
    expected = hashlib.sha256()
    for name in sorted(contents, key=lambda n: n.encode("utf-8")):
        raw = name.encode("utf-8")
        expected.update(len(raw).to_bytes(8, "big") + raw)
        expected.update(len(contents[name]).to_bytes(8, "big") + contents[name])
    assert drop_hash(drop) == expected.hexdigest()
    assert drop_size(drop) == sum(len(d) for d in contents.values())
    assert [p.name for p in folder_files(drop)] == ["A.txt", "OPD.txt", "b.txt", "\u0e01.txt"]


def test_folder_hash_depends_on_names(tmp_path: Path) -> None:
    one = _folder_drop(tmp_path / "one")
    two = _folder_drop(tmp_path / "two")
    assert drop_hash(one) == drop_hash(two)
    (two / "INS.txt").rename(two / "INS6910.txt")
    assert drop_hash(one) != drop_hash(two)


def test_file_hash_is_sha256_of_bytes(tmp_path: Path) -> None:
    path = _zip_drop(tmp_path / "d.zip")
    data = path.read_bytes()
    assert drop_hash(path) == hashlib.sha256(data).hexdigest()
    assert drop_size(path) == len(data)
    big = _file(tmp_path / "big.bin", bytes(range(256)) * 10_000)
    assert drop_hash(big) == hashlib.sha256(big.read_bytes()).hexdigest()


def test_zip_recognized_by_content(tmp_path: Path) -> None:
    renamed = _zip_drop(tmp_path / "drop.dat")
    empty = tmp_path / "empty.zip"
    zipfile.ZipFile(empty, "w").close()
    assert is_zip(renamed)
    assert is_zip(empty)
    assert not is_zip(_file(tmp_path / "fake.zip", b"not a zip"))
    assert not is_zip(tmp_path)
