"""The generated 16 tables regrouped for the other claim formats: per claim, per bill line, per
diagnosis, per procedure, plus the text conversions the XML and FHIR writers share.

The writers (``cipn_writer``, ``claimrec_writer``, ``fhir_writer``) are the inverse of the
readers' mappings in docs/formats.md §2–§4, so these frames keep the 16-file values as text
(a broken value stays broken, so its fault reads back) and only change their shape:

* **Bill lines.** The 16 files hold charges twice: CHA rows per category, ADP/DRU rows per
  item. The other formats hold one charge per line, with its category. Every ADP/DRU item is
  a line of its own category, and each CHA row adds one charge-only line for what its items
  do not cover (room and board, mostly), so Σ lines per category = CHA and Σ lines = CHT.
  An item's category comes from the generator (the ``CATEGORY_CARRIER`` column, which only
  the non-16-file runs add); an item whose category lost its CHA row (C06 renamed it) joins
  the claim's CHA row that no item explains.
* **Person missing.** A claim whose HN has no PAT row, whose CHT date is empty or that has an
  ADP row without a code carries S02 in the 16 files; ``person_missing`` marks it so that a
  format without such a field says it its own way (an empty person id).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import polars as pl

from clearinghouse.money import format_baht
from clearinghouse.parse import parse_amount, parse_quantity
from jobs.synth.tables import key_of

__all__ = [
    "CATEGORY_CARRIER",
    "CATEGORY_NAMES",
    "DropMeta",
    "Encoded",
    "Tables",
    "bill_lines",
    "claim_rows",
    "diagnoses",
    "dotted_icd9",
    "dotted_icd10",
    "grouped_rows",
    "iso_date",
    "iso_datetime",
    "procedures",
    "xml_escaped",
]

Tables = dict[str, pl.DataFrame]

#: The ADP/DRU column naming each item's charge category in non-16-file runs. Not prefixed
#: with ``_``: resent claims are copied from tables whose ``_`` columns were stripped.
CATEGORY_CARRIER = "SYNTH_CHRGITEM"

#: What a charge-only line of each category (the CHRGITEM's first character) is called.
CATEGORY_NAMES = {
    "1": "ค่าห้องและค่าอาหาร",
    "2": "อวัยวะเทียมและอุปกรณ์ในการบำบัดรักษา",
    "3": "ยาและสารอาหารทางเส้นเลือดที่ใช้ในโรงพยาบาล",
    "4": "ยาที่นำไปใช้ต่อที่บ้าน",
    "5": "เวชภัณฑ์ที่ไม่ใช่ยา",
    "6": "บริการโลหิตและส่วนประกอบของโลหิต",
    "7": "ตรวจวินิจฉัยทางเทคนิคการแพทย์และพยาธิวิทยา",
    "8": "ตรวจวินิจฉัยและรักษาทางรังสีวิทยา",
    "9": "ตรวจวินิจฉัยโดยวิธีพิเศษอื่นๆ",
    "A": "อุปกรณ์ของใช้และเครื่องมือทางการแพทย์",
    "B": "ทำหัตถการและวิสัญญี",
    "C": "ค่าบริการทางการพยาบาล",
    "D": "ค่าบริการทันตกรรม",
    "E": "ค่าบริการทางกายภาพบำบัดและเวชกรรมฟื้นฟู",
    "F": "ค่าบริการฝังเข็ม",
    "G": "ค่าห้องผ่าตัดและห้องคลอด",
    "H": "ค่าธรรมเนียมบุคลากรทางการแพทย์",
    "I": "ค่าบริการอื่นๆ",
    "J": "ค่าใช้จ่ายที่ไม่จัดหมวด",
}


@dataclass(frozen=True, slots=True)
class DropMeta:
    """What a writer needs to know about the drop besides its tables."""

    hcode: str  # the submitting hospital
    day: date  # the export day
    session: int  # the drop's number at its hospital: every drop's bytes are its own
    codec: str = "cp874"  # "cp874" or "utf-8" (the XML formats; FHIR is always UTF-8)
    eol: str = "\r\n"
    fault: str | None = None  # a drop-level fault to express: F02, F03 or F04

    @property
    def stamp(self) -> str:
        """The export's date-time (the day, at a time that differs per session)."""
        seconds = (6 * 3600 + self.session * 61) % 86_400
        hours, rest = divmod(seconds, 3600)
        return f"{self.day:%Y-%m-%d}T{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"

    @property
    def declared(self) -> str:
        """The XML encoding name of ``codec``."""
        return "windows-874" if self.codec == "cp874" else "UTF-8"


@dataclass(frozen=True, slots=True)
class Encoded:
    """A drop in a format: file name -> bytes, written as a ZIP (``archive``) or, when it is a
    single file, as ``<drop name><suffix>``. Counts are of what the files hold."""

    files: dict[str, bytes] = field(default_factory=dict)
    archive: bool = False
    suffix: str = ""
    claims: int = 0
    items: int = 0
    orphans: int = 0  # rows that link to no claim (S05), as the format expresses them


# --- text conversions ------------------------------------------------------------------------


def iso_date(day: pl.Expr) -> pl.Expr:
    """``YYYYMMDD`` → ``YYYY-MM-DD``; anything else as it is (an S03 date stays impossible)."""
    return (
        pl.when(day.str.contains(r"^\d{8}$"))
        .then(
            pl.concat_str(
                day.str.slice(0, 4), day.str.slice(4, 2), day.str.slice(6, 2), separator="-"
            )
        )
        .otherwise(day)
    )


def iso_datetime(day: pl.Expr, time: pl.Expr, offset: str = "") -> pl.Expr:
    """A date and an ``HHMM`` time as ``YYYY-MM-DDThh:mm:00<offset>``; the date alone when the
    time is not four digits (a ``2561`` time stays ``25:61``: S03 reads back)."""
    clock = pl.concat_str(
        pl.lit("T"), time.str.slice(0, 2), pl.lit(":"), time.str.slice(2, 2), pl.lit(":00" + offset)
    )
    return pl.concat_str(
        iso_date(day), pl.when(time.str.contains(r"^\d{4}$")).then(clock).otherwise(pl.lit(""))
    )


def dotted_icd10(code: pl.Expr) -> pl.Expr:
    """``J189`` → ``J18.9`` (the XML and FHIR readers remove the dot again)."""
    return (
        pl.when(code.str.len_chars() > 3)
        .then(pl.concat_str(code.str.slice(0, 3), pl.lit("."), code.str.slice(3)))
        .otherwise(code)
    )


def dotted_icd9(code: pl.Expr) -> pl.Expr:
    """``4709`` → ``47.09`` (ICD-9-CM procedures)."""
    return (
        pl.when(code.str.len_chars() > 2)
        .then(pl.concat_str(code.str.slice(0, 2), pl.lit("."), code.str.slice(2)))
        .otherwise(code)
    )


def xml_escaped(text: pl.Expr) -> pl.Expr:
    """Text safe inside an XML element."""
    return (
        text.str.replace_all("&", "&amp;", literal=True)
        .str.replace_all("<", "&lt;", literal=True)
        .str.replace_all(">", "&gt;", literal=True)
    )


def grouped_rows(frame: pl.DataFrame, row: pl.Expr, eol: str) -> pl.DataFrame:
    """``key, rows, count``: the rows' texts of each claim joined by ``eol``, in frame order."""
    return (
        frame.select("key", row=row)
        .group_by("key", maintain_order=True)
        .agg(rows=pl.col("row").str.join(eol), count=pl.len())
    )


# --- frames per claim, line, diagnosis and procedure ----------------------------------------


def _column(frame: pl.DataFrame, name: str) -> pl.Expr:
    return pl.col(name) if name in frame.columns else pl.lit("")


def _first_by_key(frame: pl.DataFrame, **columns: pl.Expr) -> pl.DataFrame:
    return (
        frame.select(key=key_of(frame), **columns)
        .group_by("key", maintain_order=True)
        .agg(pl.all().first())
    )


def claim_rows(t: Tables, claim_type: str, hcode: str) -> pl.DataFrame:
    """One row per OPD (``OP``) or IPD (``IP``) row, a repeated row (S06) repeated, with
    everything the formats write about the claim. Text columns are ``""`` when absent.

    Columns: ``key hn date_in time_in date_out time_out clinic dischs discht adm_w ward dept
    s01 has_pat pat_hcode pid dob sex nation title namepat idtype marriage changwat amphur
    inscl hospmain permit cht_date invoice claim_total ucae aetype refer leave hcare
    person_missing``. ``claim_total`` is CHT's TOTAL, or Σ CHA + 1.00 when the claim has no
    CHT row (B04 said as a total that disagrees); ``hcare`` the foreign HCODE of its PAT or
    DRU rows (S07), else ``hcode``.
    """
    ip = claim_type == "IP"
    table = t["IPD" if ip else "OPD"]
    s01 = pl.col("_s01").fill_null(False) if "_s01" in table.columns else pl.lit(False)
    base = table.select(
        key=pl.col("AN" if ip else "SEQ"),
        hn=pl.col("HN"),
        date_in=pl.col("DATEADM" if ip else "DATEOPD"),
        time_in=pl.col("TIMEADM" if ip else "TIMEOPD"),
        date_out=_column(table, "DATEDSC"),
        time_out=_column(table, "TIMEDSC"),
        clinic=_column(table, "CLINIC"),
        dischs=_column(table, "DISCHS"),
        discht=_column(table, "DISCHT"),
        adm_w=_column(table, "ADM_W"),
        ward=_column(table, "WARDDSC"),
        dept=_column(table, "DEPT"),
        s01=s01,
    )
    pat = t["PAT"].unique("HN", keep="first", maintain_order=True).select(
        hn="HN", has_pat=pl.lit(True), pat_hcode="HCODE", pid="PERSON_ID", dob="DOB",
        sex="SEX", nation="NATION", title="TITLE", namepat="NAMEPAT", idtype="IDTYPE",
        marriage="MARRIAGE", changwat="CHANGWAT", amphur="AMPHUR",
    )  # fmt: skip
    ins = _first_by_key(t["INS"], inscl=pl.col("INSCL"), hospmain=pl.col("HOSPMAIN"),
                        permit=pl.col("PERMITNO"))  # fmt: skip
    cht = _first_by_key(t["CHT"], cht_date=pl.col("DATE"), cht_total=pl.col("TOTAL"),
                        invoice=pl.col("INVOICE_NO"))  # fmt: skip
    cha = (
        t["CHA"]
        .select(key=key_of(t["CHA"]), amount=parse_amount(pl.col("AMOUNT")))
        .group_by("key")
        .agg(cha_total=pl.col("amount").sum())
    )
    aer = t["AER"].select(
        key=key_of(t["AER"]),
        ucae=pl.col("UCAE").replace("", None),
        aetype=pl.col("AETYPE").replace("", None),
    )
    aer = aer.group_by("key", maintain_order=True).agg(
        pl.col("ucae").drop_nulls().first(), pl.col("aetype").drop_nulls().first()
    )
    refer = t["IRF" if ip else "ORF"]
    refers = _first_by_key(refer.filter(pl.col("REFER") != ""), refer=pl.col("REFER"))
    lvd = t["LVD"]
    leave = (
        lvd.select(key=pl.col("AN"), days=parse_quantity(pl.col("QTYDAY")))
        .group_by("key", maintain_order=True)
        .agg(leave=pl.col("days").sum().cast(pl.String))
    )
    dru = t["DRU"]
    foreign = _first_by_key(
        dru.filter((pl.col("HCODE") != "") & (pl.col("HCODE") != hcode)), dru_hcode=pl.col("HCODE")
    )
    blank = t["ADP"].filter(pl.col("CODE") == "").select(key=key_of(t["ADP"])).unique()
    frame = (
        base.join(pat, on="hn", how="left")
        .join(ins, on="key", how="left")
        .join(cht, on="key", how="left")
        .join(cha, on="key", how="left")
        .join(aer, on="key", how="left")
        .join(refers, on="key", how="left")
        .join(leave, on="key", how="left")
        .join(foreign, on="key", how="left")
        .join(blank.with_columns(blank_code=pl.lit(True)), on="key", how="left")
    )
    own = pl.col("pat_hcode").fill_null("")
    return frame.with_columns(
        claim_total=pl.coalesce(
            pl.col("cht_total"), format_baht(pl.col("cha_total").fill_null(0) + 100)
        ),
        hcare=pl.when((own != "") & (own != hcode))
        .then(own)
        .otherwise(pl.col("dru_hcode").fill_null(hcode)),
        person_missing=pl.col("has_pat").is_null()
        | (pl.col("cht_date").fill_null("x") == "")
        | pl.col("blank_code").fill_null(False),
        has_pat=pl.col("has_pat").fill_null(False),
    ).with_columns(pl.col(pl.String).fill_null(""))


def _carrier(frame: pl.DataFrame) -> pl.Expr:
    if CATEGORY_CARRIER in frame.columns:
        return pl.col(CATEGORY_CARRIER)
    return pl.lit(None, pl.String)


def bill_lines(t: Tables) -> pl.DataFrame:
    """Every charge as one line: the ADP/DRU items, then per CHA row the remainder no item
    explains (a charge-only line, ``kind`` ""). Orphan rows' lines are included.

    Columns: ``key n category kind code qty rate total satang date local name unit sig_code
    sig_text adp_type use_status``; ``total`` is the line's amount as text (an item's TOTAL,
    or QTY × RATE when TOTAL is empty; a CHA amount that does not parse as read), ``satang``
    its value (null when it does not parse), ``n`` the 1-based line number in the claim.
    """
    adp, dru = t["ADP"], t["DRU"]
    blank = pl.lit("")
    items = pl.concat(
        [
            adp.select(
                key=key_of(adp), kind=pl.lit("ADP"), category=_carrier(adp), code="CODE",
                qty="QTY", rate="RATE", total="TOTAL", date="DATEOPD", local="CODE", name=blank,
                unit=blank, sig_code=blank, sig_text=blank, adp_type="TYPE",
                use_status="USE_STATUS",
            ),
            dru.select(
                key=key_of(dru), kind=pl.lit("DRU"), category=_carrier(dru), code="DIDSTD",
                qty="AMOUNT", rate="DRUGPRIC", total="TOTAL", date="DATE_SERV", local="DID",
                name="DIDNAME", unit="UNIT", sig_code="SIGCODE", sig_text="SIGTEXT",
                adp_type=blank, use_status="USE_STATUS",
            ),
        ]
    ).with_row_index("order")  # fmt: skip
    computed = parse_quantity(pl.col("qty")) * parse_amount(pl.col("rate"))
    items = items.with_columns(
        satang=pl.coalesce(parse_amount(pl.col("total")), computed),
        total=pl.when(pl.col("total") == "")
        .then(format_baht(computed).fill_null(""))
        .otherwise(pl.col("total")),
    )
    cha = t["CHA"].select(
        key=key_of(t["CHA"]), category="CHRGITEM", amount_text="AMOUNT", date="DATE"
    )
    known = cha.select("key", "category").unique().with_columns(matched=pl.lit(True))
    items = items.join(known, on=["key", "category"], how="left")
    explained = items.filter(pl.col("matched")).select("key", "category").unique()
    spare = (
        cha.join(explained, on=["key", "category"], how="anti")
        .group_by("key", maintain_order=True)
        .agg(spare=pl.col("category").first())
    )
    items = items.join(spare, on="key", how="left").with_columns(
        category=pl.when(pl.col("matched").fill_null(False))
        .then(pl.col("category"))
        .otherwise(pl.coalesce("spare", "category", pl.lit("J1")))
    )
    used = items.group_by("key", "category").agg(used=pl.col("satang").fill_null(0).sum())
    rest = pl.col("amount") - pl.col("used").fill_null(0)
    charges = (
        cha.join(used, on=["key", "category"], how="left")
        .with_columns(amount=parse_amount(pl.col("amount_text")))
        .filter(pl.col("amount").is_null() | (rest != 0))
        .select(
            "key", "category", "date",
            kind=blank, code=blank, qty=pl.lit("1"),
            total=pl.when(pl.col("amount").is_null())
            .then(pl.col("amount_text"))
            .otherwise(format_baht(rest)),
            satang=rest,
            local=blank,
            name=pl.col("category").str.slice(0, 1).replace_strict(
                CATEGORY_NAMES, default=CATEGORY_NAMES["J"]
            ),
            unit=blank, sig_code=blank, sig_text=blank, adp_type=blank, use_status=blank,
        )
        .with_columns(rate=pl.col("total"))
    )  # fmt: skip
    columns = [
        *("key", "category", "kind", "code", "qty", "rate", "total", "satang", "date"),
        *("local", "name", "unit", "sig_code", "sig_text", "adp_type", "use_status"),
    ]
    lines = pl.concat(
        [
            items.select(*columns, rank=pl.lit(0), order="order"),
            charges.select(*columns, rank=pl.lit(1), order=pl.int_range(pl.len(), dtype=pl.UInt32)),
        ]
    )
    return (
        lines.sort("key", "category", "rank", "order")
        .with_columns(n=pl.int_range(1, pl.len() + 1).over("key"))
        .select("key", "n", *columns[1:])
        .with_columns(pl.col(pl.String).fill_null(""))
    )


def diagnoses(t: Tables, claim_type: str) -> pl.DataFrame:
    """``key n diag dxtype dr`` of the claims' ODX (``OP``) or IDX (``IP``) rows, in order."""
    table = t["IDX" if claim_type == "IP" else "ODX"]
    return table.select(
        key=pl.col("AN" if claim_type == "IP" else "SEQ"),
        diag="DIAG",
        dxtype="DXTYPE",
        dr="DRDX",
    ).with_columns(n=pl.int_range(1, pl.len() + 1).over("key"))


def procedures(t: Tables, claim_type: str) -> pl.DataFrame:
    """``key n oper dr date_in time_in date_out time_out`` of the OOP or IOP rows, in order."""
    if claim_type == "IP":
        frame = t["IOP"].select(
            key="AN", oper="OPER", dr="DROPID", date_in="DATEIN", time_in="TIMEIN",
            date_out="DATEOUT", time_out="TIMEOUT",
        )  # fmt: skip
    else:
        frame = t["OOP"].select(
            key="SEQ", oper="OPER", dr="DROPID", date_in="DATEOPD", time_in=pl.lit(""),
            date_out="DATEOPD", time_out=pl.lit(""),
        )  # fmt: skip
    return frame.with_columns(n=pl.int_range(1, pl.len() + 1).over("key"))
