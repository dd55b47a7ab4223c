"""How the drops of this case were made (run from the repository root to write them again:
``python -m tests.cases.cipn.build``). The expected acknowledgements were not generated: they
were read and checked by hand against rules.md and docs/formats.md §2 (see README.md)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from tests.formats.cipn_docs import document

HERE = Path(__file__).parent
DROPS = HERE / "drops" / "10670"

# AN, HN, IDTYPE, PIDPAT (OFC in the sample registry), TITLE, NAME, DOB, SEX, MARRIAGE,
# CHANGWAT, AMPHUR, NATION, ADMTYPE, ADMSOURCE, DTADM, DTDISCH, LEAVEDAY, DISCHSTAT,
# DISCHTYPE, ADMWT, DISCHWARD, DEPT
ADT = (
    "{an}|HN7001|0|4349092158712|นาง|สมศรี มีสุข|1975-03-12|2|2|40|01|099|U|O|"
    "2026-09-{day:02d}T08:15:00|2026-09-{out:02d}T10:30:00|0|2|1|0|W1|MED"
)
# seq|ServDate|BillGr|LCCode|Descript|QTY|UnitPrice|ChargeAmt|Discount|ProcedureSeq|
# DiagnosisSeq|ClaimSys|BillGrCS|CSCode|CodeSys|STDCode|ClaimCat|DateRev|ClaimUP|ClaimAmt
BILLS = [
    "1|2026-10-03|01|LC001|ค่าห้องและอาหาร|4|500.00|2000.00|0.00|||CS|01||||D||500.00|2000.00",
    "2|2026-10-04|03|LC002|ยาพาราเซตามอล|20|0.35|7.00|0.00|||CS|03||TMT|100011|T||0.35|7.00",
    "3|2026-10-04|07|LC003|ตรวจเลือด|1|280.00|280.00|30.00|||CS|07|23601|TMLT|350001|T||280.00|280.00",
]
DRG_CHARGE = "2000.00"  # the D line
XDRG_CLAIM = "257.00"  # min(7.00, 7.00) + min(280.00, 250.00)


def admission(an: str, **changes: str) -> bytes:
    """The admission ``an`` of the same patient, three days after the one before (no K02)."""
    day = 3 * (int(an[-1]) - 1) + 1
    return document(
        ipadt=[ADT.format(an=an, day=day, out=day + 2)],
        bills=BILLS,
        bill_count=changes.pop("bill_count", "3"),
        drg_charge=changes.pop("drg_charge", DRG_CHARGE),
        xdrg_claim=changes.pop("xdrg_claim", XDRG_CLAIM),
    )


def main() -> None:
    DROPS.mkdir(parents=True, exist_ok=True)
    files = {
        "AN6910001.xml": admission("AN6910001"),
        # Tampered after signing: the ward changed, the trailer not.
        "AN6910002.xml": admission("AN6910002").replace(b"|W1|", b"|W2|"),
        # The exporter stopped before its trailer.
        "AN6910003.xml": admission("AN6910003").split(b"<?EndNote")[0],
        "AN6910004.xml": admission("AN6910004", bill_count="4"),
        "AN6910005.xml": admission("AN6910005", drg_charge="2100.00"),
    }
    for name, data in files.items():
        (DROPS / name).write_bytes(data)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for an in ("AN6910006", "AN6910007"):
            info = zipfile.ZipInfo(f"{an}.xml", date_time=(2026, 10, 8, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, admission(an))
    (DROPS / "10670-CIPN-20261008.zip").write_bytes(buffer.getvalue())


if __name__ == "__main__":
    main()
