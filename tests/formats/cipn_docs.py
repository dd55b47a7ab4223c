"""CIPN documents for the tests, built byte by byte in Windows-874 with their checksum."""

from __future__ import annotations

import hashlib

IPADT = (
    "AN6900123|HN0042|0|3100500123456|นาง|สมศรี มีสุข|19750312|2|2|10|01|099|E|O|"
    "2026-10-03T08:15:00|2026-10-07T10:30:00|0|2|1|0|W1|MED"
)
BILLS = [
    "1|2026-10-03|01|LC001|ค่าห้อง|4|500.00|2000.00|0.00|||D|01||||D||500.00|2000.00",
    "2|2026-10-04|03|LC002|ยา|1|300.00|300.00|50.00|||D|03||||T||250.00|250.00",
]


def document(
    *,
    root: str = "CIPN",
    dx_count: str = "2",
    bill_count: str = "2",
    ipadt: list[str] | None = None,
    bills: list[str] | None = None,
    doc_sys: str = "CIPN",
    drg_charge: str = "2000.00",
    xdrg_claim: str = "250.00",
) -> bytes:
    rows = "\r\n".join([IPADT] if ipadt is None else ipadt)
    body = (
        f"<{root}>\r\n"
        f'<Header><DocClass>IPClaim</DocClass><DocSysID version="2.1">{doc_sys}</DocSysID>'
        "<authorID>10670</authorID></Header>\r\n"
        "<ClaimAuth><UPayPlan>80</UPayPlan><Hmain>10670</Hmain><Hcare>10670</Hcare>"
        "<CareAs>M</CareAs></ClaimAuth>\r\n"
        f"<IPADT>{rows}</IPADT>\r\n"
        f'<IPDx Reccount="{dx_count}">\r\n1|1|ICD-10|J189|ปอดบวม|ว12345|2026-10-03\r\n'
        "2|2|ICD-10|E119|เบาหวาน|ว12345|2026-10-03\r\n</IPDx>\r\n"
        '<IPOp Reccount="1">1|ICD-9-CM|9604|ใส่ท่อ|ว12345|2026-10-03|2026-10-03|OR</IPOp>\r\n'
        "<Invoices><InvNumber>INV1</InvNumber><InvDT>2026-10-07</InvDT>\r\n"
        f'<BillItems Reccount="{bill_count}">\r\n'
        + "\r\n".join(bills or BILLS)
        + "\r\n</BillItems>\r\n"
        f"<InvAddDiscount>0.00</InvAddDiscount><DRGCharge>{drg_charge}</DRGCharge>"
        f"<XDRGClaim>{xdrg_claim}</XDRGClaim></Invoices>\r\n"
        f"</{root}>\r\n\r\n"
    ).encode("cp874")
    digest = hashlib.md5(body, usedforsecurity=False).hexdigest().upper()
    head = b'<?xml version="1.0" encoding="windows-874"?>\r\n'
    return head + body + f'<?EndNote HMAC="{digest}"?>\r\n'.encode()


MAPPED_BILLS = [
    # room: category 01, nothing coded
    "1|2026-10-03|01|LC001|ค่าห้อง|4|500.00|2000.00|0.00|||D|01||||D||500.00|2000.00",
    # a drug (TMT), 50.00 discount, excess (X)
    "2|2026-10-04|03|LC002|ยา|2|150.00|300.00|50.00|||D|03||TMT|1234567|X||125.00|250.00",
    # a lab test with a CSMBS fee code; its TMLT code in STDCode is not the fee code
    "3|2026-10-04|07|LC003|CBC|1|90.00|90.00||||D|07|30101|TMLT|350001|T||90.00|90.00",
    # a group outside 01-17
    "4|2026-10-05|99|LC004|อื่นๆ|1|10.00|10.00|0.00|||D|88||||D||10.00|10.00",
]
