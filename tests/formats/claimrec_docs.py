"""ClaimRec envelopes for the tests, built byte by byte with their checksum, and their ZIPs.

``envelope("bills", BILLTRAN_ROWS, BILL_ITEM_ROWS)`` is a checked-in-shape bills envelope
(Windows-874, CRLF, Header with RECCOUNT = its first section's rows, trailer = uppercase MD5
of every byte before ``<?EndNote``); keywords break one thing at a time. Line numbers are
fixed by the layout: the first section's rows start at line :data:`FIRST_ROW` (when the
Header has its RECCOUNT), the second section's at ``FIRST_ROW + len(first) + 2``.

The rows describe two outpatient visits of hospital 10713 on 2026-10-05 that pass every
drop-local rule against the worked example's reference set (``tests/cases/two-drops``):
``INV6910001`` (a registered UCS person at 10713: a consultation, a lab test and a drug) and
``INV6910002`` (an emergency with a procedure).
"""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

__all__ = [
    "BILLTRAN_ROWS",
    "BILL_ITEM_ROWS",
    "DISPENSED_ROWS",
    "DISPENSING_ROWS",
    "FIRST_ROW",
    "HCODE",
    "MEMBERS",
    "OPDX_ROWS",
    "SECTIONS",
    "SERVICE_ROWS",
    "clean_drop",
    "envelope",
    "row",
    "write_zip",
]

HCODE = "10713"
#: The envelope kinds and their two sections.
SECTIONS = {
    "bills": ("BILLTRAN", "BillItems"),
    "dispensing": ("Dispensing", "DispensedItems"),
    "services": ("OPServices", "OPDx"),
}
#: Member names as hospitals' exporters write them.
MEMBERS = {
    "bills": "BILLTRAN20261006.txt",
    "dispensing": "BILLDISP20261006.txt",
    "services": "OPServices20261006.txt",
}
FIRST_ROW = 11


def row(*fields: str) -> str:
    """One ``|`` row."""
    return "|".join(fields)


PERSON_1, PERSON_2 = "3053318123425", "5669725102733"
BILLTRAN_ROWS = [
    # Station|AuthCode|DTTran|Hcode|InvNo|BillNo|HN|MemberNo|Amount|Paid|VerCode|Tflag|Pid|Name|
    # HMain|PayPlan|ClaimAmt|OtherPayplan|OtherPay
    row("01", "", "2026-10-05T09:30:00", HCODE, "INV6910001", "B0001", "500001", "", "143.50",
        "0.00", "", "A", PERSON_1, "นายสมชาย ใจดี", HCODE, "CS", "143.50", "", "0.00"),
    row("01", "", "2026-10-05T22:10:00", "", "INV6910002", "B0002", "500002", "", "1200.00",
        "0.00", "", "A", PERSON_2, "นางสาวมาลี ศรีสุข", HCODE, "", "1200.00", "", "0.00"),
]  # fmt: skip
BILL_ITEM_ROWS = [
    # InvNo|SvDate|BillMuad|LCCode|STDCode|Desc|QTY|UnitPrice|ChargeAmt|ClaimUP|ClaimAmount|
    # SvRefID|ClaimCat
    row("INV6910001", "2026-10-05", "C", "OPD01", "55020", "ค่าบริการผู้ป่วยนอก", "1", "50.00",
        "50.00", "50.00", "50.00", "SV001", "OP1"),
    row("INV6910001", "2026-10-05", "7", "LAB01", "30201", "ตรวจเลือด", "1", "90.00", "90.00",
        "90.00", "90.00", "SV001", "OP1"),
    # a drug: a charge only, priced from DispensedItems (Q12)
    row("INV6910001", "2026-10-05", "3", "D0011", "100011", "พาราเซตามอล 500 มก.", "10", "0.35",
        "3.50", "0.35", "3.50", "SV001", "OP1"),
    row("INV6910002", "2026-10-05", "B", "PRC01", "42501", "หัตถการ", "2", "600.00", "1200.00",
        "600.00", "1200.00", "SV002", "OP1"),
]  # fmt: skip
DISPENSING_ROWS = [
    # ProviderID|DispID|Invno|HN|PID|Prescdt|Dispdt|Prescb|Itemcnt|ChargeAmt|ClaimAmt|Paid|
    # OtherPay|Reimburser|BenefitPlan|DispeStat|SvID|DayCover
    row(HCODE, "DSP001", "INV6910001", "500001", PERSON_1, "2026-10-05T09:40:00",
        "2026-10-05T09:50:00", "ว12345", "2", "8.50", "3.50", "0.00", "0.00", "HP", "", "1",
        "SV001", "7D"),
]  # fmt: skip
DISPENSED_ROWS = [
    # DispID|PrdCat|HospDrgID|DrgID|dfsCode|dfsText|Packsize|sigCode|sigText|Quantity|UnitPrice|
    # ChargeAmt|ReimbPrice|ReimbAmt|PrdSeCode|Claimcont|ClaimCat|MultiDisp|SupplyFor
    row("DSP001", "1", "D0011", "100011", "TAB", "เม็ด", "500 mg", "1x3pc",
        "ครั้งละ 1 เม็ด วันละ 3 ครั้ง หลังอาหาร", "10", "0.35", "3.50", "0.35", "3.50", "0", "OD",
        "OP1", "", ""),
    # a supply: no DRU row (Q12)
    row("DSP001", "6", "S0001", "", "", "", "1 ชิ้น", "", "", "1", "5.00", "5.00", "0.00",
        "0.00", "0", "NR", "OP1", "", ""),
]  # fmt: skip
SERVICE_ROWS = [
    # Invno|SvID|Class|Hcode|HN|PID|CareAccount|TypeServ|TypeIn|TypeOut|DTAppoint|SvPID|Clinic|
    # BegDT|EndDT|LcCode|CodeSet|STDCode|SvCharge|Completion|SvTxCode|ClaimCat
    row("INV6910001", "SV001", "EC", HCODE, "500001", PERSON_1, "1", "01", "1", "1", "",
        "ว12345", "01", "2026-10-05T09:30:00", "2026-10-05T09:45:00", "", "", "", "50.00", "Y",
        "", "OP1"),
    row("INV6910002", "SV002", "OP", HCODE, "500002", PERSON_2, "1", "01", "4", "1", "",
        "ว12345", "99", "2026-10-05T22:10:00", "2026-10-05T22:40:00", "PRC01", "IN", "86.59",
        "1200.00", "Y", "", "OP1"),
]  # fmt: skip
OPDX_ROWS = [
    # Class|SvID|SL|CodeSet|Code|Desc
    row("EC", "SV001", "1", "IT", "J06.9", "การติดเชื้อทางเดินหายใจส่วนบนเฉียบพลัน"),
    row("EC", "SV001", "4", "IT", "I10", "ความดันโลหิตสูง"),
    row("OP", "SV002", "1", "TT", "S06.00", "สมองกระทบกระเทือน"),
]


def envelope(
    kind: str,
    first: Sequence[str],
    second: Sequence[str] = (),
    *,
    encoding: str = "windows-874",
    eol: str = "\r\n",
    payplan: str = "CS",
    system: str = "OP",
    root: str = "ClaimRec",
    hcode: str = HCODE,
    reccount: str | None = None,
    no_reccount: bool = False,
    doctype: str = "",
    checksum: str | None = None,
    trailer: bool = True,
) -> bytes:
    """One envelope of ``kind`` (bills, dispensing, services) with these section rows.

    Args:
        encoding: declared; the bytes are UTF-8 for ``UTF-8``, else Windows-874.
        eol: the line end, CRLF or LF.
        reccount: Header/RECCOUNT as written (default: the first section's rows);
            ``no_reccount`` leaves the element out.
        doctype: text put between the declaration and the root (a DTD, say).
        checksum: the trailer's value (default: the right one); ``trailer`` False: none.
    """
    codec = "utf-8" if encoding.lower() == "utf-8" else "cp874"
    first_tag, second_tag = SECTIONS[kind]
    count = "" if no_reccount else f"<RECCOUNT>{len(first) if reccount is None else reccount}"
    lines = [
        f'<?xml version="1.0" encoding="{encoding}"?>',
        *([doctype] if doctype else []),
        f'<{root} System="{system}" PayPlan="{payplan}" Version="0.93">',
        "<Header>",
        f"<HCODE>{hcode}</HCODE>",
        "<HNAME>โรงพยาบาลนครพิงค์</HNAME>",
        "<DATETIME>2026-10-06T08:00:00</DATETIME>",
        "<SESSNO>0001</SESSNO>",
        *([f"{count}</RECCOUNT>"] if count else []),
        "</Header>",
        f"<{first_tag}>",
        *first,
        f"</{first_tag}>",
        f"<{second_tag}>",
        *second,
        f"</{second_tag}>",
        f"</{root}>",
        "",
    ]
    body = eol.join(lines).encode(codec)
    digest = hashlib.md5(body, usedforsecurity=False).hexdigest().upper()
    if not trailer:
        return body
    return body + f'<?EndNote Checksum="{checksum or digest}"?>{eol}'.encode("ascii")


def clean_drop() -> dict[str, bytes]:
    """The three envelopes of the two clean visits, by member name."""
    return {
        MEMBERS["bills"]: envelope("bills", BILLTRAN_ROWS, BILL_ITEM_ROWS),
        MEMBERS["dispensing"]: envelope("dispensing", DISPENSING_ROWS, DISPENSED_ROWS),
        MEMBERS["services"]: envelope("services", SERVICE_ROWS, OPDX_ROWS),
    }


def write_zip(path: Path, members: Mapping[str, bytes | str]) -> Path:
    """A ZIP (deflated) holding ``members`` in this order; str members as UTF-8."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data.encode() if isinstance(data, str) else data)
    return path
