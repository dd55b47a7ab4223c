"""Thai patient names, titles and province codes for the PAT table (all encodable in cp874)."""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

__all__ = ["changwat_codes", "person_names"]

_MALE = (
    "สมชาย",
    "สมศักดิ์",
    "ประเสริฐ",
    "วิชัย",
    "สุรชัย",
    "ชัยวัฒน์",
    "อนุชา",
    "ธนากร",
    "กิตติ",
    "ณัฐพล",
    "พงศกร",
    "วีระ",
    "บุญมี",
    "อำนาจ",
    "ทองใบ",
    "สุริยา",
)
_FEMALE = (
    "สมหญิง",
    "มาลี",
    "สุดา",
    "วันเพ็ญ",
    "กาญจนา",
    "ปราณี",
    "นภา",
    "อรุณี",
    "จันทร์เพ็ญ",
    "ศิริพร",
    "พิมพ์ชนก",
    "ณัฐธิดา",
    "บัวผัน",
    "ลำดวน",
    "สายสุนีย์",
    "อัมพร",
)
_FAMILY = (
    "ใจดี",
    "บุญมา",
    "ศรีสุข",
    "แก้วมณี",
    "ทองดี",
    "สุขสวัสดิ์",
    "วงศ์ใหญ่",
    "จันทร์แก้ว",
    "พรหมมา",
    "ศรีวงศ์",
    "อินทร์แก้ว",
    "บุญเรือง",
    "สมบูรณ์",
    "รักไทย",
    "มีสุข",
    "คำแสน",
)
_FOREIGN_GIVEN = ("หม่อง", "มิน", "ซอ", "ทูน", "อ่อง", "จ่อ", "ซาน", "คำ", "สุก", "โสภา")
_FOREIGN_FAMILY = ("ทุน", "วิน", "อู", "ลวิน", "พันธ์", "เนียง", "สาย", "หล้า")

#: Ministry of Interior province codes of the provinces that appear in reference sets.
_CHANGWAT = {
    "Bangkok": "10",
    "Samut Prakan": "11",
    "Nonthaburi": "12",
    "Pathum Thani": "13",
    "Phra Nakhon Si Ayutthaya": "14",
    "Lop Buri": "16",
    "Saraburi": "19",
    "Chon Buri": "20",
    "Rayong": "21",
    "Chanthaburi": "22",
    "Prachin Buri": "25",
    "Nakhon Ratchasima": "30",
    "Buri Ram": "31",
    "Surin": "32",
    "Si Sa Ket": "33",
    "Ubon Ratchathani": "34",
    "Chaiyaphum": "36",
    "Khon Kaen": "40",
    "Udon Thani": "41",
    "Loei": "42",
    "Nong Khai": "43",
    "Maha Sarakham": "44",
    "Roi Et": "45",
    "Sakon Nakhon": "47",
    "Nakhon Phanom": "48",
    "Chiang Mai": "50",
    "Lamphun": "51",
    "Lampang": "52",
    "Phrae": "54",
    "Nan": "55",
    "Phayao": "56",
    "Chiang Rai": "57",
    "Mae Hong Son": "58",
    "Nakhon Sawan": "60",
    "Tak": "63",
    "Sukhothai": "64",
    "Phitsanulok": "65",
    "Phetchabun": "67",
    "Ratchaburi": "70",
    "Kanchanaburi": "71",
    "Nakhon Pathom": "73",
    "Phetchaburi": "76",
    "Prachuap Khiri Khan": "77",
    "Nakhon Si Thammarat": "80",
    "Krabi": "81",
    "Phangnga": "82",
    "Phuket": "83",
    "Surat Thani": "84",
    "Ranong": "85",
    "Chumphon": "86",
    "Songkhla": "90",
    "Satun": "91",
    "Trang": "92",
    "Phatthalung": "93",
    "Pattani": "94",
    "Yala": "95",
    "Narathiwat": "96",
}


def changwat_codes(hospitals: pl.DataFrame) -> dict[str, str]:
    """Province code of each hospital (``hcode`` -> 2 digits); unknown provinces get a stand-in."""
    codes: dict[str, str] = {}
    for hcode, province in zip(hospitals["hcode"], hospitals["province"], strict=True):
        stand_in = f"{10 + sum(province.encode()) % 87:02d}"
        codes[hcode] = _CHANGWAT.get(province, stand_in)
    return codes


def _from(values: tuple[str, ...], u: pl.Expr) -> pl.Expr:
    index = (u * len(values)).floor().cast(pl.Int64).clip(0, len(values) - 1)
    return pl.lit(pl.Series(values, dtype=pl.String)).gather(index)


def person_names(people: pl.DataFrame, changwat: Mapping[str, str]) -> pl.DataFrame:
    """Add ``CHANGWAT, AMPHUR, TITLE, FNAME, LNAME, NAMEPAT, IDTYPE, MARRIAGE`` to PAT rows.

    ``people`` has ``thai, sex, age, name_u, home``.
    """
    u = pl.col("name_u")
    v = (u * 997.0) % 1.0
    male = pl.col("sex") == 1
    adult = pl.col("age") >= 15
    given = (
        pl.when(~pl.col("thai"))
        .then(_from(_FOREIGN_GIVEN, u))
        .when(male)
        .then(_from(_MALE, u))
        .otherwise(_from(_FEMALE, u))
    )
    family = pl.when(pl.col("thai")).then(_from(_FAMILY, v)).otherwise(_from(_FOREIGN_FAMILY, v))
    married = adult & (v < 0.6)
    title = (
        pl.when(male & adult)
        .then(pl.lit("นาย"))
        .when(male)
        .then(pl.lit("ด.ช."))
        .when(married)
        .then(pl.lit("นาง"))
        .when(adult)
        .then(pl.lit("นางสาว"))
        .otherwise(pl.lit("ด.ญ."))
    )
    return people.with_columns(
        CHANGWAT=pl.col("home").replace_strict(dict(changwat), default="10"),
        AMPHUR=pl.concat_str(pl.lit("0"), ((u * 9).floor().cast(pl.Int64) + 1).cast(pl.String)),
        TITLE=title,
        FNAME=given,
        LNAME=family,
        IDTYPE=pl.when(pl.col("thai")).then(pl.lit("1")).otherwise(pl.lit("4")),
        MARRIAGE=pl.when(married).then(pl.lit("2")).otherwise(pl.lit("1")),
    ).with_columns(
        NAMEPAT=pl.concat_str(pl.col("TITLE"), pl.col("FNAME"), pl.lit(" "), pl.col("LNAME"))
    )
