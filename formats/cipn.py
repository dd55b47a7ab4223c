"""Inpatient CIPN / AIPN XML (intake.md Format 2) → section frames of raw strings.

One admission per file, after :func:`formats.xmlsafe.check_xml` (F06, F02, F05). The
pipe-separated sections become frames with one String column per field (names from the
domain notes §2), then ``line`` (the physical line of the row in the file: the element's
start line plus the row's offset inside it) and ``s01`` (the row had fewer fields than its
section; more are accepted, as newer exporter versions append fields: docs/formats.md Q1).
The header, ``ClaimAuth`` and each invoice's totals are kept as text.

Drop-level refusals: F03 when the file has no ``IPADT`` row (or more than one: one admission
per file), F04 when a section's ``Reccount`` disagrees with its rows. Nothing is judged here;
mapping onto the canonical claim tables is the next step.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from clearinghouse.errors import DropRefused
from clearinghouse.money import format_baht, parse_satang
from clearinghouse.schema import TABLES, raw_schema
from formats.sixteen import RAISED_SCHEMA, RawDrop
from formats.xmlsafe import Element, XmlDoc, check_xml, elements

__all__ = [
    "BILL_FIELDS",
    "IPADT_FIELDS",
    "IPDX_FIELDS",
    "IPOP_FIELDS",
    "Admission",
    "admission_drop",
    "bill_totals_codes",
    "raw_tables",
    "read_cipn",
    "read_cipn_bytes",
    "read_cipn_file",
]

ROOTS = ("CIPN", "AIPN")
IPADT_FIELDS = (
    "AN", "HN", "IDTYPE", "PIDPAT", "TITLE", "NAMEPAT", "DOB", "SEX", "MARRIAGE", "CHANGWAT",
    "AMPHUR", "NATION", "ADMTYPE", "ADMSOURCE", "DTADM", "DTDISCH", "LEAVEDAY", "DISCHSTAT",
    "DISCHTYPE", "ADMWT", "DISCHWARD", "DEPT",
)  # fmt: skip
IPDX_FIELDS = ("seq", "DxType", "CodeSys", "Code", "DiagTerm", "DR", "DateDiag")
#: The notes give IPOp's width (8) but not its names: these follow the IPDx pattern.
IPOP_FIELDS = ("seq", "CodeSys", "Code", "ProcTerm", "DR", "DateIn", "DateOut", "Location")
BILL_FIELDS = (
    "seq", "ServDate", "BillGr", "LCCode", "Descript", "QTY", "UnitPrice", "ChargeAmt",
    "Discount", "ProcedureSeq", "DiagnosisSeq", "ClaimSys", "BillGrCS", "CSCode", "CodeSys",
    "STDCode", "ClaimCat", "DateRev", "ClaimUP", "ClaimAmt",
)  # fmt: skip
_INVOICE_FIELDS = ("InvNumber", "InvDT", "InvAddDiscount", "DRGCharge", "XDRGClaim")
_SECTIONS = {"IPADT": IPADT_FIELDS, "IPDx": IPDX_FIELDS, "IPOp": IPOP_FIELDS}


@dataclass
class _Rows:
    """Column buffers of one pipe-separated section."""

    fields: Sequence[str]
    columns: dict[str, list[str]] = field(default_factory=dict)
    lines: list[int] = field(default_factory=list)
    s01: list[bool] = field(default_factory=list)
    invoice: list[int] = field(default_factory=list)

    def add(self, element: Element, invoice: int = 0) -> int:
        """Append the element's rows (blank lines skipped); how many."""
        added = 0
        for offset, text in enumerate(element.text.split("\n")):
            row = text.strip("\r")
            if not row.strip():
                continue
            values = row.split("|")
            for i, name in enumerate(self.fields):
                self.columns.setdefault(name, []).append(values[i] if i < len(values) else "")
            self.lines.append(element.line + offset)
            # Fewer fields than the section's list: S01; more are newer versions' additions.
            self.s01.append(len(values) < len(self.fields))
            self.invoice.append(invoice)
            added += 1
        return added

    def frame(self) -> pl.DataFrame:
        data: dict[str, list[object]] = {
            name: list(self.columns.get(name, [])) for name in self.fields
        }
        schema: dict[str, pl.DataType] = {name: pl.String() for name in self.fields}
        data |= {"invoice": list(self.invoice), "line": list(self.lines), "s01": list(self.s01)}
        schema |= {"invoice": pl.Int64(), "line": pl.Int64(), "s01": pl.Boolean()}
        return pl.DataFrame(data, schema=schema)


@dataclass(frozen=True)
class Admission:
    """One CIPN/AIPN file's sections.

    ``ipadt`` has exactly one row; ``bills`` carry the ``invoice`` (0-based) they are in, and
    ``invoices`` one row per ``Invoices`` element (its totals as text).
    """

    root: str
    file: str
    header: dict[str, str]
    claim_auth: dict[str, str]
    ipadt: pl.DataFrame
    ipdx: pl.DataFrame
    ipop: pl.DataFrame
    bills: pl.DataFrame
    invoices: pl.DataFrame


def _check_count(element: Element, rows: int) -> None:
    declared = element.attributes.get("Reccount") or element.attributes.get("RECCOUNT")
    if declared is not None and declared.strip() != str(rows):
        raise DropRefused(
            "F04", f"{element.tag} (line {element.line}) declares {declared} rows, holds {rows}"
        )


def read_cipn(doc: XmlDoc, file: str) -> Admission:
    """The sections of a checked CIPN/AIPN document named ``file`` in its drop."""
    if doc.root not in ROOTS:
        raise DropRefused("F03", f"{file}: the root is {doc.root!r}, not CIPN or AIPN")
    sections = {tag: _Rows(fields) for tag, fields in _SECTIONS.items()}
    bills = _Rows(BILL_FIELDS)
    header: dict[str, str] = {}
    auth: dict[str, str] = {}
    invoices: list[dict[str, str]] = []
    current: dict[str, str] = {}
    for element in elements(doc, None):  # Header and ClaimAuth children have many names
        tag, parent = element.tag, element.parent
        if tag in sections:
            _check_count(element, sections[tag].add(element))
        elif tag == "BillItems":
            _check_count(element, bills.add(element, invoice=len(invoices)))
        elif tag in _INVOICE_FIELDS and parent == "Invoices":
            current[tag] = element.text.strip()
        elif tag == "Invoices":
            invoices.append({name: current.get(name, "") for name in _INVOICE_FIELDS})
            current = {}
        elif parent == "Header":
            header[tag] = element.text.strip()
        elif parent == "ClaimAuth":
            auth[tag] = element.text.strip()
    ipadt = sections["IPADT"].frame()
    if ipadt.height != 1:
        raise DropRefused(
            "F03", f"{file}: {ipadt.height} IPADT rows, where a CIPN file holds one admission"
        )
    return Admission(
        root=doc.root,
        file=file,
        header=header,
        claim_auth=auth,
        ipadt=ipadt.drop("invoice"),
        ipdx=sections["IPDx"].frame().drop("invoice"),
        ipop=sections["IPOp"].frame().drop("invoice"),
        bills=bills.frame(),
        invoices=pl.DataFrame(
            invoices or None,
            schema={name: pl.String() for name in _INVOICE_FIELDS},
        ),
    )


# --- onto the canonical raw tables (docs/formats.md §2) -------------------------------------

#: CSMBS fee group (BillGrCS) → 16-file charge category (docs/formats.md Q3); others J.
_CATEGORY = {f"{n:02d}": c for n, c in enumerate("123456789ABCDEFGH", start=1)}
_ISO = r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::\d{2}(?:\.\d+)?)?)?$"


def _date(col: pl.Expr) -> pl.Expr:
    """ISO date (or date-time) → ``YYYYMMDD``; anything else as read (S03 downstream)."""
    parts = col.str.strip_chars().str.extract_groups(_ISO)
    iso = pl.concat_str(parts.struct.field(str(i)) for i in (1, 2, 3))
    return pl.when(iso.is_not_null()).then(iso).otherwise(col.str.strip_chars())


def _time(col: pl.Expr) -> pl.Expr:
    """ISO date-time → ``HHMM`` (seconds dropped); "" when it has no time."""
    parts = col.str.strip_chars().str.extract_groups(_ISO)
    return pl.concat_str(parts.struct.field("4"), parts.struct.field("5")).fill_null("")


def _icd(name: str) -> pl.Expr:
    """An ICD code as the pipeline reads it: without its dot (``J18.9`` → ``J189``)."""
    return pl.col(name).str.strip_chars().str.replace_all(".", "", literal=True)


def _net() -> tuple[pl.Expr, pl.Expr]:
    """A bill line's net (``ChargeAmt`` − ``Discount``, empty discount 0) as baht text, and
    whether it parsed; unparseable input stays as read so S04 reports it."""
    charge = parse_satang(pl.col("ChargeAmt").str.strip_chars())
    discount = parse_satang(
        pl.when(pl.col("Discount").str.strip_chars() == "")
        .then(pl.lit("0"))
        .otherwise(pl.col("Discount").str.strip_chars())
    )
    net = charge - discount
    ok = net.is_not_null() & (net >= 0)
    text = pl.when(ok).then(format_baht(net)).otherwise(pl.col("ChargeAmt").str.strip_chars())
    return text, ok


def raw_tables(admission: Admission) -> dict[str, pl.DataFrame]:
    """The admission as the 16 raw tables (``raw_schema`` each; tables it has no rows for
    empty), every row positioned at its own line, synthesised rows at the IPADT row's."""
    file = pl.lit(admission.file, pl.String)
    adt = admission.ipadt.with_columns(pl.all().exclude("line", "s01").str.strip_chars())
    an, hn = adt["AN"][0], adt["HN"][0]
    hcode = admission.claim_auth.get("Hcare") or admission.header.get("authorID", "")
    kind = admission.header.get("DocSysID", admission.root).strip().upper()
    at = ("line", "s01")
    blank = pl.lit("")
    frames: dict[str, pl.DataFrame] = {
        "IPD": adt.select(
            *at, "HN", "AN", DATEADM=_date(pl.col("DTADM")), TIMEADM=_time(pl.col("DTADM")),
            DATEDSC=_date(pl.col("DTDISCH")), TIMEDSC=_time(pl.col("DTDISCH")),
            DISCHS="DISCHSTAT", DISCHT="DISCHTYPE",
        ),
        "PAT": adt.select(
            *at, "HN", "SEX", "NATION", HCODE=pl.lit(hcode), DOB=_date(pl.col("DOB")),
            PERSON_ID="PIDPAT",
        ),
        "INS": adt.select(
            *at, "HN", "AN", INSCL=pl.lit("SSS" if kind == "AIPN" else "OFC"), CID="PIDPAT",
            HOSPMAIN=pl.lit(admission.claim_auth.get("Hmain", "").strip()), SEQ=blank,
        ),
        "AER": adt.filter(pl.col("ADMTYPE").is_in(["E", "A"])).select(
            *at, "HN", "AN", SEQ=blank, UCAE="ADMTYPE", AETYPE=blank
        ),
        "LVD": adt.filter(pl.col("LEAVEDAY") != "").select(
            *at, "AN", QTYDAY="LEAVEDAY", SEQ=blank
        ),
        "IDX": admission.ipdx.select(
            *at, AN=pl.lit(an), DIAG=_icd("Code"), DXTYPE=pl.col("DxType").str.strip_chars(),
            SEQ=blank,
        ),
        "IOP": admission.ipop.select(*at, AN=pl.lit(an), OPER=_icd("Code"), SEQ=blank),
    }  # fmt: skip
    net, parsed = _net()
    bills = admission.bills.with_columns(
        pl.all().exclude("invoice", "line", "s01").str.strip_chars()
    ).with_columns(net=net, parsed=parsed)
    drug = (pl.col("CodeSys").str.to_uppercase() == "TMT") | pl.col("BillGrCS").is_in(["03", "04"])
    category = pl.col("BillGrCS").replace_strict(_CATEGORY, default="J", return_dtype=pl.String)
    excess = pl.when(pl.col("ClaimCat") == "X").then(pl.lit("2")).otherwise(pl.lit("1"))
    frames["CHA"] = bills.select(
        *at, HN=pl.lit(hn), AN=pl.lit(an), SEQ=blank, CHRGITEM=pl.concat_str(category, excess),
        AMOUNT="net",
    )  # fmt: skip
    frames["DRU"] = bills.filter(drug & (pl.col("STDCode") != "")).select(
        *at, HCODE=pl.lit(hcode), HN=pl.lit(hn), AN=pl.lit(an), SEQ=blank, DIDSTD="STDCode",
        AMOUNT="QTY", DRUGPRIC="UnitPrice", TOTAL="net",
    )  # fmt: skip
    frames["ADP"] = bills.filter(~drug & (pl.col("CSCode") != "")).select(
        *at, "QTY", HN=pl.lit(hn), AN=pl.lit(an), SEQ=blank, TYPE=blank, CODE="CSCode",
        RATE="UnitPrice", TOTAL="net",
    )  # fmt: skip
    frames["CHT"] = _charges_total(admission, adt, bills)
    schemas = {table: raw_schema(table) for table in TABLES}
    return {
        table: frames[table]
        .with_columns(file=file)
        .select(schemas[table].names())
        .cast(schemas[table])
        if table in frames
        else pl.DataFrame(schema=schemas[table])
        for table in TABLES
    }


def _charges_total(admission: Admission, adt: pl.DataFrame, bills: pl.DataFrame) -> pl.DataFrame:
    """The CHT row: the invoice date (else the discharge date) and Σ net over the bill lines;
    the first unparseable amount as read when one does not parse (one S04, no invented total)."""
    invoice_date = next((d for d in admission.invoices["InvDT"].to_list() if d.strip()), "")
    satang = parse_satang(pl.col("net"))
    bad = bills.filter(~pl.col("parsed"))
    total = (
        bad["net"][0]
        if bad.height
        else bills.select(format_baht(satang.sum().fill_null(0))).item()
        if bills.height
        else "0.00"
    )
    return adt.select(
        "line", "s01", "HN", "AN", SEQ=pl.lit(""),
        DATE=_date(pl.lit(invoice_date)) if invoice_date else _date(pl.col("DTDISCH")),
        TOTAL=pl.lit(total),
    )  # fmt: skip


def _amount(text: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """An invoice or bill amount in satang (null when empty or unparseable), and whether it
    was given but does not parse."""
    trimmed = text.str.strip_chars()
    satang = parse_satang(trimmed)
    return satang, (trimmed != "") & satang.is_null()


def bill_totals_codes(admission: Admission) -> pl.DataFrame:
    """B10 and the S04s of the invoice totals it reads, as reader-raised codes (RAISED_SCHEMA).

    Per invoice (one in the files seen): ``DRGCharge`` ≠ Σ net over ``ClaimCat`` D lines, or
    ``XDRGClaim`` ≠ Σ min(``ClaimAmt``, net) over ``ClaimCat`` T lines (rules.md). A total that is
    absent or empty is not checked; one whose inputs do not parse is not judged (their S04 is
    raised: the totals' and a T line's ``ClaimAmt`` here, a net's through CHA).
    """
    an = admission.ipadt["AN"][0].strip()
    charge, _ = _amount(pl.col("ChargeAmt"))
    discount, bad_discount = _amount(pl.col("Discount"))
    claimed, bad_claimed = _amount(pl.col("ClaimAmt"))
    category = pl.col("ClaimCat").str.strip_chars()
    lines = admission.bills.select(
        "invoice",
        category=category,
        net=charge - discount.fill_null(0),
        net_bad=charge.is_null() | bad_discount,
        claimed=claimed,
        claimed_bad=(category == "T") & (bad_claimed | claimed.is_null()),
    )
    sums = lines.group_by("invoice").agg(
        drg_lines=pl.col("net").filter(pl.col("category") == "D").sum(),
        drg_bad=(pl.col("net_bad") & (pl.col("category") == "D")).any(),
        xdrg_lines=pl.min_horizontal("claimed", "net").filter(pl.col("category") == "T").sum(),
        xdrg_bad=((pl.col("net_bad") | pl.col("claimed_bad")) & (pl.col("category") == "T")).any(),
        claimed_bad=pl.col("claimed_bad").any(),
    )
    drg, drg_unparsed = _amount(pl.col("DRGCharge"))
    xdrg, xdrg_unparsed = _amount(pl.col("XDRGClaim"))
    checked = (
        admission.invoices.with_row_index("invoice")
        .with_columns(pl.col("invoice").cast(pl.Int64))
        .join(sums, on="invoice", how="left")
        .select(
            b10=(drg.is_not_null() & ~pl.col("drg_bad").fill_null(False)
                 & (drg != pl.col("drg_lines").fill_null(0)))
            | (xdrg.is_not_null() & ~pl.col("xdrg_bad").fill_null(False)
               & (xdrg != pl.col("xdrg_lines").fill_null(0))),
            s04=drg_unparsed | xdrg_unparsed | pl.col("claimed_bad").fill_null(False),
        )
    )  # fmt: skip
    fired = [code for code in ("b10", "s04") if checked[code].any()]
    return pl.DataFrame(
        {
            "claim_type": ["IP"] * len(fired),
            "claim_key": [an] * len(fired),
            "code": [code.upper() for code in fired],
        },
        schema=RAISED_SCHEMA,
    )


def read_cipn_file(path: Path, *, max_bytes: int) -> RawDrop:
    """A single CIPN/AIPN file as a drop of raw tables (F01 over ``max_bytes``, then the XML
    checks and the sections' refusals)."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise DropRefused("F01", f"the drop is larger than the maximum of {max_bytes} bytes")
        data = path.read_bytes()
    except OSError as exc:
        raise DropRefused("F01", f"the drop cannot be read ({exc.strerror or exc})") from exc
    return read_cipn_bytes(data, path.name)


def read_cipn_bytes(data: bytes, file: str) -> RawDrop:
    """A CIPN/AIPN document's bytes (a file's, or a transport ZIP member's) as a drop."""
    return admission_drop(read_cipn(check_xml(data), file))


def admission_drop(admission: Admission) -> RawDrop:
    """One read admission as a drop: its raw tables and its bill-total codes."""
    tables = raw_tables(admission)
    present = [table for table, frame in tables.items() if not frame.is_empty()]
    return RawDrop(
        tables=tables,
        rows_read={table: tables[table].height for table in present},
        ignored_files=[],
        files=dict.fromkeys(present, admission.file),
        raised=bill_totals_codes(admission),
    )
