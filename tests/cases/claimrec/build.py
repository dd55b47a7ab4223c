"""How the drops of this case were made (``python -m tests.cases.claimrec.build`` from the
repository root writes them again). The expected acknowledgements were read and checked by
hand against rules.md and docs/formats.md §3 (see README.md), not generated."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from tests.formats.claimrec_docs import (
    BILL_ITEM_ROWS,
    BILLTRAN_ROWS,
    MEMBERS,
    clean_drop,
    envelope,
)

HERE = Path(__file__).parent
DROPS = HERE / "drops" / "10713"


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=(2026, 10, 6, 8, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return buffer.getvalue()


def _renumbered(rows: list[str], old: str, new: str) -> list[str]:
    return [row.replace(old, new) for row in rows]


def main() -> None:
    DROPS.mkdir(parents=True, exist_ok=True)
    clean = clean_drop()
    bills = MEMBERS["bills"]
    # A third visit whose bill says 150.00 where its items charge 143.50 (B04).
    third_bill = _renumbered(BILLTRAN_ROWS[:1], "INV6910001", "INV6910003")
    third_bill = [third_bill[0].replace("|143.50|", "|150.00|", 1)]
    third_items = _renumbered(BILL_ITEM_ROWS[:3], "INV6910001", "INV6910003")
    drops = {
        "10713-SSOP-20261006-1.zip": _zip(clean),
        "10713-SSOP-20261006-2.zip": _zip(
            {**clean, bills: envelope("bills", BILLTRAN_ROWS, BILL_ITEM_ROWS, reccount="3")}
        ),
        "10713-SSOP-20261006-3.zip": _zip(
            {**clean, bills: envelope("bills", BILLTRAN_ROWS, BILL_ITEM_ROWS, checksum="0" * 32)}
        ),
        "10713-SSOP-20261006-4.xml": envelope("bills", third_bill, third_items),
    }
    for name, data in drops.items():
        (DROPS / name).write_bytes(data)


if __name__ == "__main__":
    main()
