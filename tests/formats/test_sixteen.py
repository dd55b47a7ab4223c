"""The 16-file reader: drop-level checks F01..F04, decoding, and the raw table frames."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

from clearinghouse.errors import DropRefused
from clearinghouse.schema import TABLES, raw_schema
from formats.sixteen import RawDrop, read_sixteen, table_of
from formats.zipsafe import read_member

# The spec's worked example (shared/spec/examples/two-drops), copied byte for byte.
EXAMPLES = Path(__file__).parents[1] / "cases" / "two-drops" / "drops"
MAX = 1 << 20

MINIMAL = {
    "INS.txt": "HN|INSCL|CID|HOSPMAIN|AN|SEQ\n100|UCS|1|10670||69001\n",
    "PAT.txt": "HCODE|HN|DOB|SEX|NATION|PERSON_ID\n10670|100|19800101|1|099|1\n",
    "OPD.txt": "HN|CLINIC|DATEOPD|TIMEOPD|SEQ\n100|01|20260901|0930|69001\n",
    "CHT.txt": "HN|AN|SEQ|DATE|TOTAL\n100||69001|20260901|10.00\n",
    "CHA.txt": "HN|AN|SEQ|CHRGITEM|AMOUNT\n100||69001|41|10.00\n",
}

Files = dict[str, str | bytes]
Writer = Callable[[Path, Files], Path]


def _bytes(data: str | bytes) -> bytes:
    return data.encode("utf-8") if isinstance(data, str) else data


def write_folder(tmp_path: Path, files: Files) -> Path:
    folder = tmp_path / "drop"
    folder.mkdir()
    for name, data in files.items():
        (folder / name).write_bytes(_bytes(data))
    return folder


def write_zip(tmp_path: Path, files: Files) -> Path:
    path = tmp_path / "drop.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, _bytes(data))
    return path


@pytest.fixture(params=[write_folder, write_zip], ids=["folder", "zip"])
def write(request: pytest.FixtureRequest) -> Writer:
    writer: Writer = request.param
    return writer


def refusal(path: Path, max_bytes: int = MAX) -> DropRefused:
    with pytest.raises(DropRefused) as caught:
        read_sixteen(path, max_bytes=max_bytes)
    return caught.value


def test_minimal_drop_has_every_table_with_its_schema(tmp_path: Path, write: Writer) -> None:
    raw = read_sixteen(write(tmp_path, dict(MINIMAL)), max_bytes=MAX)
    assert isinstance(raw, RawDrop)
    assert set(raw.tables) == set(TABLES)
    for table, frame in raw.tables.items():
        assert frame.schema == raw_schema(table), table
    assert raw.rows_read == {"INS": 1, "PAT": 1, "OPD": 1, "CHT": 1, "CHA": 1}
    assert raw.files == {t: f"{t}.txt" for t in raw.rows_read}
    assert raw.tables["IPD"].height == 0
    opd = raw.tables["OPD"].row(0)
    assert opd == ("100", "01", "20260901", "0930", "69001", "OPD.txt", 2, False)


def test_table_names() -> None:
    assert table_of("ADP6911.txt") == "ADP"
    assert table_of("opd.TXT") == "OPD"
    assert table_of("Odx_2026.txt") == "ODX"
    assert table_of("IDX.txt") == "IDX"
    assert table_of("OP.txt") is None
    assert table_of("readme.txt") is None
    assert table_of("OPD.csv") is None


# F01 ---------------------------------------------------------------------------------------


def test_f01_larger_than_maximum(tmp_path: Path, write: Writer) -> None:
    path = write(tmp_path, dict(MINIMAL))
    error = refusal(path, max_bytes=50)
    assert error.code == "F01"
    assert "50 bytes accepted" in error.message


def test_f01_neither_zip_nor_folder(tmp_path: Path) -> None:
    path = tmp_path / "drop.zip"
    path.write_bytes(b"this is not an archive")
    assert refusal(path).code == "F01"


@pytest.mark.parametrize("cut", [10, 60, -30])
def test_f01_damaged_zip(tmp_path: Path, cut: int) -> None:
    data = write_zip(tmp_path, dict(MINIMAL)).read_bytes()
    path = tmp_path / "damaged.zip"
    path.write_bytes(data[:cut])
    error = refusal(path)
    assert error.code == "F01"
    assert "damaged" in error.message


def test_f01_corrupt_member_data(tmp_path: Path) -> None:
    path = write_zip(tmp_path, {"OPD.txt": "HN|SEQ\n" + "1|2\n" * 500})
    data = bytearray(path.read_bytes())
    data[40:60] = bytes(20)
    path.write_bytes(bytes(data))
    assert refusal(path).code == "F01"


@pytest.mark.parametrize("name", ["/etc/OPD.txt", "../OPD.txt", "a/../../OPD.txt", "C:\\OPD.txt"])
def test_f01_member_escaping_the_archive(tmp_path: Path, name: str) -> None:
    error = refusal(write_zip(tmp_path, {**MINIMAL, name: "x"}))
    assert error.code == "F01"
    assert "absolute path or '..'" in error.message


def test_f01_zip_bomb_by_declared_size(tmp_path: Path) -> None:
    path = write_zip(tmp_path, {**MINIMAL, "IPD.txt": "HN|AN\n" + " " * 200_000})
    assert path.stat().st_size < 10_000
    error = refusal(path, max_bytes=10_000)
    assert error.code == "F01"
    assert "unpacks to" in error.message


def test_f01_stops_reading_past_the_limit(tmp_path: Path) -> None:
    path = write_zip(tmp_path, {"OPD.txt": "x" * 5000})
    with zipfile.ZipFile(path) as archive, pytest.raises(DropRefused) as caught:
        read_member(archive, archive.getinfo("OPD.txt"), 1000, 1000)
    assert caught.value.code == "F01"


def _patch_headers(data: bytes, local: int, central: int, value: int) -> bytes:
    """Overwrite a 2-byte field of the (single) local header and central directory entry."""
    out = bytearray(data)
    for signature, offset in ((b"PK\x03\x04", local), (b"PK\x01\x02", central)):
        at = out.find(signature) + offset
        out[at : at + 2] = value.to_bytes(2, "little")
    return bytes(out)


def test_f01_encrypted_member(tmp_path: Path) -> None:
    data = write_zip(tmp_path, {"OPD.txt": MINIMAL["OPD.txt"]}).read_bytes()
    path = tmp_path / "locked.zip"
    path.write_bytes(_patch_headers(data, 6, 8, 0x1))
    error = refusal(path)
    assert error.code == "F01"
    assert "password" in error.message


def test_f01_unsupported_compression(tmp_path: Path) -> None:
    data = write_zip(tmp_path, {"OPD.txt": MINIMAL["OPD.txt"]}).read_bytes()
    path = tmp_path / "aes.zip"
    path.write_bytes(_patch_headers(data, 8, 10, 99))
    assert refusal(path).code == "F01"


def test_f01_two_files_for_one_table(tmp_path: Path, write: Writer) -> None:
    error = refusal(write(tmp_path, {**MINIMAL, "opd6910.TXT": MINIMAL["OPD.txt"]}))
    assert error.code == "F01"
    assert "two files for table OPD: OPD.txt and opd6910.TXT" in error.message


def test_f01_same_base_name_in_two_zip_folders(tmp_path: Path) -> None:
    files: Files = {f"a/{k}": v for k, v in MINIMAL.items()}
    path = write_zip(tmp_path, {**files, "b/OPD.txt": MINIMAL["OPD.txt"]})
    assert refusal(path).code == "F01"


def test_f01_before_f02(tmp_path: Path, write: Writer) -> None:
    files: Files = {"OPD.txt": b"\xff\xfe", "OPD2.txt": b"\xff"}
    assert refusal(write(tmp_path, files)).code == "F01"


# F02, F03, F04 -----------------------------------------------------------------------------


def test_f02_neither_utf8_nor_cp874(tmp_path: Path, write: Writer) -> None:
    error = refusal(write(tmp_path, {**MINIMAL, "DRU.txt": b"HN|AN\n1|\xff\xdb\n"}))
    assert error.code == "F02"
    assert "DRU.txt" in error.message


def test_f02_before_f03(tmp_path: Path, write: Writer) -> None:
    assert refusal(write(tmp_path, {"OPD.txt": b"HN\xff"})).code == "F02"


def test_f02_ignores_unrecognized_files(tmp_path: Path, write: Writer) -> None:
    raw = read_sixteen(write(tmp_path, {**MINIMAL, "notes.bin": b"\xff\xff"}), max_bytes=MAX)
    assert raw.ignored_files == ["notes.bin"]


@pytest.mark.parametrize(
    ("dropped", "named"),
    [(["CHA.txt"], "CHA"), (["INS.txt", "PAT.txt"], "INS, PAT"), (["OPD.txt"], "OPD or IPD")],
)
def test_f03_required_table_missing(
    tmp_path: Path, write: Writer, dropped: list[str], named: str
) -> None:
    files: Files = {k: v for k, v in MINIMAL.items() if k not in dropped}
    error = refusal(write(tmp_path, files))
    assert error.code == "F03"
    assert f"missing: {named};" in error.message


def test_f03_inpatient_only_drop_is_complete(tmp_path: Path, write: Writer) -> None:
    files: Files = {k: v for k, v in MINIMAL.items() if k != "OPD.txt"}
    files["IPD.txt"] = "HN|AN|DATEADM|TIMEADM|DATEDSC|TIMEDSC|DISCHS|DISCHT\n1|2|3|4|5|6|7|8\n"
    assert read_sixteen(write(tmp_path, files), max_bytes=MAX).rows_read["IPD"] == 1


def test_f03_before_f04(tmp_path: Path, write: Writer) -> None:
    files: Files = {k: v for k, v in MINIMAL.items() if k != "CHA.txt"}
    files["OPD.txt"] = "HN\n1\n"
    assert refusal(write(tmp_path, files)).code == "F03"


def test_f04_required_column_missing(tmp_path: Path, write: Writer) -> None:
    files: Files = {**MINIMAL, "OPD.txt": "HN|CLINIC|DATEOPD|TIMEOPD\n1|2|3|4\n"}
    error = refusal(write(tmp_path, files))
    assert error.code == "F04"
    assert "OPD.txt lacks column(s) SEQ" in error.message


def test_f04_file_without_header(tmp_path: Path, write: Writer) -> None:
    error = refusal(write(tmp_path, {**MINIMAL, "LVD.txt": "\r\n  \n"}))
    assert error.code == "F04"
    assert "LVD.txt has no header line" in error.message


def test_optional_column_absent_is_empty(tmp_path: Path, write: Writer) -> None:
    files: Files = {**MINIMAL, "ODX.txt": "SEQ|DIAG|DXTYPE\n69001|J459|1\n"}
    odx = read_sixteen(write(tmp_path, files), max_bytes=MAX).tables["ODX"]
    assert odx.schema == raw_schema("ODX")
    assert odx["AN"].to_list() == [""]


# Text and rows -----------------------------------------------------------------------------


def test_bom_crlf_and_cp874(tmp_path: Path, write: Writer) -> None:
    files: Files = {
        **MINIMAL,
        "INS.txt": b"\xef\xbb\xbf" + MINIMAL["INS.txt"].replace("\n", "\r\n").encode(),
        "OPD.txt": "HN|CLINIC|DATEOPD|TIMEOPD|SEQ\r\n100|คลินิกเด็ก|20260901|0930|69001\r\n".encode(
            "cp874"
        ),
    }
    raw = read_sixteen(write(tmp_path, files), max_bytes=MAX)
    assert raw.tables["INS"]["HN"].to_list() == ["100"]
    assert raw.tables["INS"]["SEQ"].to_list() == ["69001"]
    assert raw.tables["OPD"]["CLINIC"].to_list() == ["คลินิกเด็ก"]
    assert raw.tables["OPD"]["SEQ"].to_list() == ["69001"]


def test_utf8_thai_is_not_read_as_cp874(tmp_path: Path, write: Writer) -> None:
    files: Files = {**MINIMAL, "OPD.txt": "HN|CLINIC|DATEOPD|TIMEOPD|SEQ\n1|อายุรกรรม|2|3|4\n"}
    opd = read_sixteen(write(tmp_path, files), max_bytes=MAX).tables["OPD"]
    assert opd["CLINIC"].to_list() == ["อายุรกรรม"]


def test_quotes_white_space_blank_lines_and_line_numbers(tmp_path: Path, write: Writer) -> None:
    opd = (
        "\n"
        '  "hn" | Clinic |dateopd|"TIMEOPD"|seq\r\n'
        '" 100 "|  02 |"20260901"|""|69001\r\n'
        "   \t\r\n"
        "\n"
        '"|"a""|"|x|69002\n'
        "101|03|20260902|1000|69003"
    )
    raw = read_sixteen(write(tmp_path, {**MINIMAL, "OPD.txt": opd}), max_bytes=MAX)
    frame = raw.tables["OPD"]
    assert frame["line"].to_list() == [3, 6, 7]
    assert frame["HN"].to_list() == [" 100 ", '"', "101"]
    assert frame["CLINIC"].to_list() == ["02", 'a"', "03"]
    assert frame["DATEOPD"].to_list() == ["20260901", '"', "20260902"]
    assert frame["TIMEOPD"].to_list() == ["", "x", "1000"]
    assert frame["SEQ"].to_list() == ["69001", "69002", "69003"]
    assert raw.rows_read["OPD"] == 3


def test_s01_rows_read_by_position(tmp_path: Path, write: Writer) -> None:
    opd = (
        "HN|CLINIC|DATEOPD|TIMEOPD|SEQ|UUC\n"
        "1|01|20260901|0930|69001|1\n"
        "2|01|20260901\n"
        "3|01|20260901|0930|69003|1|extra|more\n"
        "4|01|20260901|0930|69004|\n"
    )
    frame = read_sixteen(write(tmp_path, {**MINIMAL, "OPD.txt": opd}), max_bytes=MAX).tables["OPD"]
    assert frame["s01"].to_list() == [False, True, True, False]
    assert frame["TIMEOPD"].to_list() == ["0930", "", "0930", "0930"]
    assert frame["SEQ"].to_list() == ["69001", "", "69003", "69004"]


def test_suffixes_case_column_order_and_ignored_files(tmp_path: Path, write: Writer) -> None:
    files: Files = {f"{name[:3].lower()}6911.Txt": data for name, data in MINIMAL.items()}
    files["opd6911.Txt"] = "seq|TimeOpd|EXTRA|dateopd|clinic|hn\n69001|0930|x|20260901|01|100\n"
    files["readme.txt"] = "hello"
    files["OP.txt"] = "hello"
    files[".DS_Store"] = b"\x00\xff"
    raw = read_sixteen(write(tmp_path, files), max_bytes=MAX)
    assert raw.files["OPD"] == "opd6911.Txt"
    assert raw.ignored_files == ["OP.txt", "readme.txt"]
    opd = raw.tables["OPD"]
    assert opd.row(0) == ("100", "01", "20260901", "0930", "69001", "opd6911.Txt", 2, False)


def test_zip_members_in_folders_use_base_names(tmp_path: Path) -> None:
    files: Files = {f"export/{k}": v for k, v in MINIMAL.items()}
    files["__MACOSX/export/._OPD.txt"] = b"\x00\x05\x16\x07"
    files["export/docs/manual.pdf"] = b"%PDF"
    raw = read_sixteen(write_zip(tmp_path, files), max_bytes=MAX)
    assert raw.files["OPD"] == "OPD.txt"
    assert raw.tables["OPD"]["file"].to_list() == ["OPD.txt"]
    assert raw.ignored_files == ["export/docs/manual.pdf"]


def test_empty_zip_is_f03(tmp_path: Path) -> None:
    path = tmp_path / "empty.zip"
    zipfile.ZipFile(path, "w").close()
    assert refusal(path).code == "F03"


def test_header_only_tables_are_empty_frames(tmp_path: Path, write: Writer) -> None:
    files: Files = {**MINIMAL, "OOP.txt": "HN|DATEOPD|CLINIC|OPER|SEQ\r\n"}
    raw = read_sixteen(write(tmp_path, files), max_bytes=MAX)
    assert raw.rows_read["OOP"] == 0
    assert raw.tables["OOP"].schema == raw_schema("OOP")


# Worked examples ---------------------------------------------------------------------------


def test_worked_example_folder_drop() -> None:
    raw = read_sixteen(EXAMPLES / "10713" / "10713_16F_20261002_CM1", max_bytes=1 << 30)
    opd = raw.tables["OPD"]
    assert raw.rows_read["OPD"] == opd.height == 27
    assert opd.filter(pl.col("SEQ") == "6900000039")["line"].to_list() == [20, 21]
    assert opd.filter(pl.col("SEQ") == "6900000227")["line"].to_list() == [28]
    assert raw.files["OPD"] == "OPD.txt"
    assert raw.ignored_files == []
    assert not opd["s01"].any()
    assert raw.tables["IPD"]["AN"].to_list()[:2] == ["690000001", "690000003"]
    assert raw.rows_read["LVD"] == 0


def test_worked_example_zip_drop() -> None:
    raw = read_sixteen(EXAMPLES / "10670" / "10670_16F_20261003_KK1.zip", max_bytes=1 << 30)
    assert raw.files == {table: f"{table}6910.txt" for table in TABLES}
    opd = raw.tables["OPD"]
    assert opd.height == 19
    assert opd.filter("s01")[["SEQ", "line"]].rows() == [("6900000080", 17)]
    assert opd["file"].unique().to_list() == ["OPD6910.txt"]
    adp = raw.tables["ADP"]
    assert adp.row(0, named=True)["CODE"] == "55020"
    assert adp.row(0, named=True)["SEQ"] == "6900000050"
    assert raw.tables["PAT"]["HN"].to_list()[0] == "867169148"
    for table, frame in raw.tables.items():
        assert frame.schema == raw_schema(table)


def test_zip_bytes_equal_folder_reading(tmp_path: Path) -> None:
    folder = EXAMPLES / "10713" / "10713_16F_20261002_CM1"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(folder.iterdir()):
            archive.writestr(file.name, file.read_bytes())
    (tmp_path / "same.zip").write_bytes(buffer.getvalue())
    from_zip = read_sixteen(tmp_path / "same.zip", max_bytes=1 << 30)
    from_folder = read_sixteen(folder, max_bytes=1 << 30)
    for table in TABLES:
        assert from_zip.tables[table].equals(from_folder.tables[table]), table
