"""Synthetic judged claims and a national-size registry for the adjudication benchmark.

Everything is generated vectorized (numpy ``Generator`` seeded, then Polars), never row by row:

* :func:`build_registry`: ``persons`` people in the ``registry`` layout, ~97 % Thai (UCS, SSS,
  OFC, LGO, STP) and ~3 % non-Thai (MIG, STP); ~6 % changed fund during the benchmark period
  (two consecutive rows) and ~4 % hold a second, concurrent coverage (precedence decides);
  valid 13-digit PERSON_IDs (with their check digit), rows shuffled.
* :func:`build_drops`: ``claims`` judged claims in the layout :func:`clearinghouse.judge.judge_drop`
  produces (claims from ``claim_facts`` + ``statuses``, items from ``item_facts``, the codes
  long frame), for the sample reference's hospitals. ~95 % OP with 5–15 items, ~5 % IP with
  5–25 items and a length of stay that reaches every AdjRW branch; diagnoses, fee and drug
  codes from the sample reference; persons mostly from the registry, some unregistered Thai
  and non-Thai, a few empty or malformed ids; accidents, emergencies, referrals and the usual
  faults (late filing, unparsable dates, unknown codes, zero quantities) at realistic rates.
  The drop-local claim and item codes come from the product's own rule functions, and the
  statuses from :func:`clearinghouse.judge.statuses`.

``python -m benchmarks.synthetic generate DIR CLAIMS PERSONS SEED`` writes the frames as Parquet
(:func:`write_frames`); ``python -m benchmarks.synthetic stage DIR MODE`` loads them and runs the
adjudication stage (:func:`run_stage`), printing its figures as JSON. The benchmark runs both in
child processes, so that the peak memory it reports is the stage's own.
"""

from __future__ import annotations

import datetime as dt
import gc
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from clearinghouse.judge import CODES_SCHEMA, Judgement, statuses
from clearinghouse.rules.claims import claim_rule_columns
from clearinghouse.rules.items import item_rule_columns
from clearinghouse.schema import CLAIM_ID, REFERENCE_SCHEMAS
from pricing.reference import read_reference_dir, sample_dir

__all__ = [
    "GENERATOR_VERSION",
    "RECEIVED",
    "build_drops",
    "build_registry",
    "load_frames",
    "run_stage",
    "sample_reference",
    "write_frames",
]

#: Part of the cache folder's name: bump it when the generated frames change.
GENERATOR_VERSION = 1

#: The drops are received on this day (B03 fires for services before 2025-11-01).
RECEIVED = dt.date(2026, 11, 1)
FIRST_SERVICE = dt.date(2025, 10, 25)
LAST_SERVICE = dt.date(2026, 10, 31)

_EPOCH = dt.date(1970, 1, 1)
_US_PER_MINUTE = 60_000_000
_US_PER_DAY = 1_440 * _US_PER_MINUTE

THAI_FUNDS = ["UCS", "SSS", "OFC", "LGO", "STP"]
THAI_FUND_SHARES = [0.72, 0.18, 0.07, 0.015, 0.015]
NON_THAI_FUNDS = ["MIG", "STP"]
NON_THAI_FUND_SHARES = [0.85, 0.15]
#: Funds whose members have a main hospital.
MAIN_HOSPITAL_FUNDS = ["UCS", "SSS", "MIG", "STP"]
ALL_FUNDS = ["UCS", "SSS", "OFC", "LGO", "STP", "MIG"]

THAI_FIRST = np.array([1, 3, 5, 8, 2, 4])
THAI_FIRST_SHARES = [0.40, 0.42, 0.06, 0.06, 0.03, 0.03]
NON_THAI_FIRST = np.array([0, 6, 7])
NON_THAI_NATIONS = ["048", "056", "104", "116", "418"]

IP_SHARE = 0.05
OP_ITEMS = (5, 15)
IP_ITEMS = (5, 25)
#: Person mix of the claims: registered, unregistered Thai, unregistered non-Thai, empty id,
#: malformed id.
PERSON_MIX = [0.935, 0.04, 0.015, 0.005, 0.005]
AT_MAIN_HOSPITAL = 0.75
#: Care away from the main hospital: the share in the main hospital's province, and the share
#: of OP visits there referred by the main hospital.
SAME_PROVINCE = 0.5
REFERRED_BY_MAIN = 0.7
#: Length of stay mix (calendar days): day case, 1–2, 3–12, 13–35, 36–90, 91–200.
STAY_MIX = [0.12, 0.15, 0.45, 0.15, 0.08, 0.05]
STAY_DAYS = [(0, 0), (1, 2), (3, 12), (13, 35), (36, 90), (91, 200)]


def _day(d: dt.date) -> int:
    return (d - _EPOCH).days


def sample_reference() -> dict[str, pl.DataFrame]:
    """The bundled sample reference set (its small registry is replaced by the benchmark's)."""
    return read_reference_dir(sample_dir())


def _dates(days: np.ndarray) -> pl.Series:
    return pl.Series(days.astype(np.int32)).cast(pl.Date)


def _pick(values: list[str], index: np.ndarray) -> pl.Series:
    """``values[index]`` as a String series (a fixed-width numpy gather, then one conversion)."""
    return pl.Series(np.asarray(values)[index], dtype=pl.String)


def person_ids(index: np.ndarray, first_digit: np.ndarray) -> pl.Series:
    """Distinct valid 13-digit PERSON_IDs: ``first_digit`` + 11 digits bijective in ``index``
    (``index`` < 10^11) + the check digit."""
    body = (index.astype(np.uint64) * np.uint64(2_654_435_761) + np.uint64(12_345)) % np.uint64(
        10**11
    )
    digits = np.empty((len(index), 13), dtype=np.int64)
    digits[:, 0] = first_digit
    rest = body.copy()
    for position in range(11, 0, -1):
        digits[:, position] = (rest % np.uint64(10)).astype(np.int64)
        rest //= np.uint64(10)
    weighted = digits[:, :12] @ np.arange(13, 1, -1)
    digits[:, 12] = (11 - weighted % 11) % 10
    text = (digits + ord("0")).astype(np.uint8).tobytes()
    return pl.Series(np.frombuffer(text, dtype="S13").astype("U13"), dtype=pl.String)


def build_registry(
    persons: int, hospitals: list[str], seed: int = 7
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A registry of ``persons`` people, and the people (``person_id, fund, hmain, hmain_index,
    thai``) the claims draw from. ``fund`` and ``hmain`` are each person's current coverage,
    ``hmain_index`` indexes ``hospitals`` (-1: none)."""
    rng = np.random.default_rng(seed)
    thai = rng.random(persons) >= 0.03
    first = np.where(
        thai,
        rng.choice(THAI_FIRST, size=persons, p=THAI_FIRST_SHARES),
        rng.choice(NON_THAI_FIRST, size=persons),
    )
    ids = person_ids(np.arange(persons), first)
    fund_index = np.where(
        thai,
        rng.choice(len(THAI_FUNDS), size=persons, p=THAI_FUND_SHARES),
        rng.choice([ALL_FUNDS.index(f) for f in NON_THAI_FUNDS], size=persons,
                   p=NON_THAI_FUND_SHARES),
    )  # fmt: skip
    # THAI_FUNDS is a prefix of ALL_FUNDS, so the index is into ALL_FUNDS either way.
    fund = _pick(ALL_FUNDS, fund_index)
    hmain_index = rng.integers(0, len(hospitals), persons)
    hmain = _pick(hospitals, hmain_index)
    has_main = fund.is_in(MAIN_HOSPITAL_FUNDS)
    valid_from = rng.integers(_day(dt.date(2005, 1, 1)), _day(dt.date(2026, 6, 30)), persons)
    people = pl.DataFrame(
        {"person_id": ids, "fund": fund, "hmain": hmain, "hmain_index": hmain_index, "thai": thai}
    ).with_columns(
        hmain=pl.when(has_main).then(pl.col("hmain")),
        hmain_index=pl.when(has_main).then(pl.col("hmain_index")).otherwise(-1),
    )

    # ~6 % changed fund during the period: the old row ends the day before the change.
    changed = rng.random(persons) < 0.06
    change = rng.integers(_day(dt.date(2025, 10, 1)), _day(dt.date(2026, 10, 31)), persons)
    current_from = np.where(changed, change, valid_from)
    old_fund = (fund_index + rng.integers(1, len(THAI_FUNDS), persons)) % len(THAI_FUNDS)
    old = pl.DataFrame(
        {
            "person_id": ids.filter(changed),
            "fund": _pick(ALL_FUNDS, old_fund[changed]),
            "hmain": _pick(hospitals, rng.integers(0, len(hospitals), int(changed.sum()))),
            "valid_from": _dates(np.minimum(valid_from, change - 365)[changed]),
            "valid_to": _dates(change[changed] - 1),
        }
    ).with_columns(hmain=pl.when(pl.col("fund").is_in(MAIN_HOSPITAL_FUNDS)).then("hmain"))
    # ~4 % hold a second, concurrent coverage (half of them open-ended).
    second = ~changed & (rng.random(persons) < 0.043)
    count = int(second.sum())
    ends = rng.integers(_day(dt.date(2025, 6, 1)), _day(dt.date(2027, 1, 1)), count)
    extra = pl.DataFrame(
        {
            "person_id": ids.filter(second),
            "fund": _pick(
                ["OFC", "SSS", "LGO", "UCS"], rng.choice(4, count, p=[0.4, 0.35, 0.1, 0.15])
            ),
            "hmain": _pick(hospitals, rng.integers(0, len(hospitals), count)),
            "valid_from": _dates(
                rng.integers(_day(dt.date(2010, 1, 1)), _day(dt.date(2026, 9, 1)), count)
            ),
            "valid_to": _dates(ends).set(pl.Series(rng.random(count) < 0.5), None),
        }
    ).with_columns(
        hmain=pl.when(pl.col("fund").is_in(MAIN_HOSPITAL_FUNDS)).then("hmain"),
        valid_to=pl.when(pl.col("valid_to") >= pl.col("valid_from")).then("valid_to"),
    )
    current = people.select(
        "person_id", "fund", "hmain", valid_from=_dates(current_from),
        valid_to=pl.lit(None, pl.Date),
    )  # fmt: skip
    registry = pl.concat([current, old, extra])
    registry = registry[rng.permutation(registry.height)]
    schema = REFERENCE_SCHEMAS["registry"]
    return registry.select(schema.names()).cast(dict(schema)), people  # type: ignore[arg-type]


def _latest_prices(reference: dict[str, pl.DataFrame]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Per fee and drug code, the unit price of its latest row."""
    fees = (
        reference["fee_schedule"].sort("valid_from").group_by("code", maintain_order=True)
        .agg(price=pl.col("unit_price").last()).sort("code")
    )  # fmt: skip
    drugs = (
        reference["drugs"].sort("valid_from").group_by("code", maintain_order=True)
        .agg(price=pl.col("ceiling_price").last()).sort("code")
    )  # fmt: skip
    return fees, drugs


def _diagnoses(reference: dict[str, pl.DataFrame]) -> tuple[list[str], list[str], list[str]]:
    """ICD-10 codes without a sex or age restriction: those under a grouping prefix of 3+
    characters, and all of them; and every code (restricted ones included)."""
    icd10 = reference["icd10"]
    free = icd10.filter(
        pl.col("sex").is_null(), pl.col("age_min").is_null(), pl.col("age_max").is_null()
    )["code"].to_list()
    specific = tuple(
        p for p in reference["drg_grouping"]["pdx_prefix"].unique().to_list() if len(p) >= 3
    )
    grouped = [c for c in free if c.startswith(specific)]
    return grouped, free, icd10["code"].to_list()


def build_drops(
    claims: int,
    people: pl.DataFrame,
    reference: dict[str, pl.DataFrame],
    seed: int = 11,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """``claims`` judged claims over the reference's hospitals: (claims, items, codes).

    The claims and items carry ``hcode`` (the submitting hospital) as an extra column, which
    the stage drops when it splits them into one judgement per hospital; the codes are in
    :data:`clearinghouse.judge.CODES_SCHEMA` plus ``hcode``.
    """
    rng = np.random.default_rng(seed)
    n = claims
    hospitals = reference["hospitals"]["hcode"].to_list()
    persons = people.height

    # --- who, where ------------------------------------------------------------------------
    kind = rng.choice(len(PERSON_MIX), size=n, p=PERSON_MIX)
    registered = kind == 0
    person_index = rng.integers(0, persons, n)
    chosen = people[person_index]
    outsider_first = np.where(
        kind == 1, rng.choice(THAI_FIRST, n, p=THAI_FIRST_SHARES), rng.choice(NON_THAI_FIRST, n)
    )
    # Bodies from ``persons`` on: distinct from every registered person's.
    who = pl.DataFrame(
        {
            "kind": kind,
            "registered_id": chosen["person_id"],
            "outsider_id": person_ids(persons + np.arange(n), outsider_first),
        }
    ).select(
        person_id=pl.when(pl.col("kind") == 0).then("registered_id")
        .when(pl.col("kind") <= 2).then("outsider_id")
        .when(pl.col("kind") == 3).then(pl.lit(""))
        .otherwise(pl.col("outsider_id").str.slice(0, 9))
    )["person_id"]  # fmt: skip
    thai = np.where(registered, chosen["thai"].to_numpy(), kind != 2)
    main_index = np.where(registered, chosen["hmain_index"].to_numpy(), -1)
    has_main = main_index >= 0
    # Most care at the main hospital; care away from it half the time in the same province.
    provinces = reference["hospitals"]["province"].to_numpy()
    order = np.argsort(provinces, kind="stable")
    sorted_provinces = provinces[order]
    start = np.searchsorted(sorted_provinces, provinces, side="left")
    width = np.searchsorted(sorted_provinces, provinces, side="right") - start
    home = np.maximum(main_index, 0)
    same_province = order[start[home] + (rng.random(n) * width[home]).astype(np.int64)]
    anywhere = rng.integers(0, len(hospitals), n)
    hospital = np.where(
        has_main & (rng.random(n) < AT_MAIN_HOSPITAL),
        main_index,
        np.where(has_main & (rng.random(n) < SAME_PROVINCE), same_province, anywhere),
    )
    hcode = _pick(hospitals, hospital)
    main = _pick(hospitals, home).set(pl.Series(~has_main), None)
    away = has_main & (hospital != main_index)

    # --- when --------------------------------------------------------------------------------
    ip = rng.random(n) < IP_SHARE
    first, last = _day(FIRST_SERVICE), _day(LAST_SERVICE)
    stay = rng.choice(len(STAY_MIX), size=n, p=STAY_MIX)
    low = np.array([d[0] for d in STAY_DAYS])[stay]
    high = np.array([d[1] for d in STAY_DAYS])[stay]
    days = np.where(ip, rng.integers(low, high + 1), 0)
    admit_day = rng.integers(first - days, last + 1 - days)
    admit_minute = rng.integers(0, 1_440, n)
    discharge_minute = np.where(
        days == 0,
        np.minimum(admit_minute + rng.integers(30, 1_200, n), 1_439),
        rng.integers(0, 1_440, n),
    )
    service_day = np.where(ip, admit_day + days, rng.integers(first, last + 1, n))
    admitted_us = admit_day.astype(np.int64) * _US_PER_DAY + admit_minute * _US_PER_MINUTE
    discharged_us = (admit_day + days).astype(np.int64) * _US_PER_DAY + (
        discharge_minute * _US_PER_MINUTE
    )
    dates_bad = rng.random(n) < 0.001  # S03: the date did not parse
    leave = np.where(ip & (days >= 5) & (rng.random(n) < 0.04), rng.integers(1, 4, n), 0)

    # --- what --------------------------------------------------------------------------------
    grouped, free, every = _diagnoses(reference)
    pdx_draw = rng.random(n)
    pdx_index = np.where(
        pdx_draw < 0.7,
        rng.integers(0, len(grouped), n),
        np.where(
            pdx_draw < 0.99,
            len(grouped) + rng.integers(0, len(free), n),
            len(grouped) + len(free) + rng.integers(0, len(every), n),
        ),
    )
    principal = rng.choice([1, 0, 2], size=n, p=[0.988, 0.008, 0.004])
    emergency_draw = rng.random(n)
    accident = rng.choice(3, size=n, p=[0.984, 0.012, 0.004])  # none, V, W
    emergency = (emergency_draw < np.where(ip, 0.30, 0.06)) | (accident > 0)
    fund_now = chosen["fund"].set(pl.Series(~registered), None)
    inscl_draw = rng.random(n)
    other_fund = _pick(ALL_FUNDS, rng.integers(0, len(ALL_FUNDS), n))
    # Referral: from the main hospital for most care away from it, sometimes from elsewhere.
    refer_main = away & (rng.random(n) < REFERRED_BY_MAIN)
    refer_other = rng.random(n) < np.where(ip, 0.15, 0.03)

    frame = pl.DataFrame(
        {
            "hcode": hcode,
            "ip": ip,
            "kind": kind,
            "thai": thai,
            "person_id": who,
            "main": main,
            "fund_now": fund_now,
            "other_fund": other_fund,
            "inscl_draw": inscl_draw,
            "service_day": service_day,
            "admitted_us": admitted_us,
            "discharged_us": discharged_us,
            "dates_bad": dates_bad,
            "leave": leave,
            "pdx": _pick(grouped + free + every, pdx_index),
            "principal": principal,
            "emergency": emergency,
            "accident": accident,
            "refer_main": refer_main,
            "refer_other": _pick(hospitals, rng.integers(0, len(hospitals), n)).set(
                pl.Series(~refer_other), None
            ),
            "procedural": rng.random(n) < np.where(ip, 0.35, 0.08),
            "dob_days": service_day - rng.integers(0, 95 * 365, n),
            "sex": _pick(["1", "2"], rng.integers(0, 2, n)),
            "nation": _pick(NON_THAI_NATIONS, rng.integers(0, len(NON_THAI_NATIONS), n)),
            "hn": pl.Series(person_index).cast(pl.String).str.zfill(9),
        }
    )
    is_ip = pl.col("ip")
    dates_ok = ~pl.col("dates_bad")
    inscl = (
        pl.when(pl.col("kind") == 0)
        .then(
            pl.when(pl.col("inscl_draw") < 0.96).then(pl.col("fund_now"))
            .when(pl.col("inscl_draw") < 0.985).then(pl.col("other_fund"))
            .otherwise(pl.lit(""))
        )
        .when(pl.col("kind") == 1)
        .then(pl.when(pl.col("inscl_draw") < 0.6).then(pl.lit("UCS")).otherwise(pl.lit("")))
        .when(pl.col("kind") == 2)
        .then(pl.when(pl.col("inscl_draw") < 0.3).then(pl.lit("MIG")).otherwise(pl.lit("")))
        .otherwise(pl.lit("UCS"))
    )  # fmt: skip
    facts = frame.select(
        "hcode",
        claim_type=pl.when(is_ip).then(pl.lit("IP")).otherwise(pl.lit("OP")),
        claim_key=pl.int_range(pl.len()).cast(pl.String).str.zfill(10),
        hn="hn",
        file=pl.when(is_ip).then(pl.lit("IPD.txt")).otherwise(pl.lit("OPD.txt")),
        line=pl.int_range(pl.len()).over("hcode", "ip").cast(pl.Int64) + 2,
        occurrences=pl.lit(1, pl.UInt32),
        service_date=pl.when(dates_ok).then(pl.col("service_day").cast(pl.Int32).cast(pl.Date)),
        coverage_date=pl.when(dates_ok).then(
            pl.when(is_ip)
            .then((pl.col("admitted_us") // _US_PER_DAY).cast(pl.Int32).cast(pl.Date))
            .otherwise(pl.col("service_day").cast(pl.Int32).cast(pl.Date))
        ),
        admitted_at=pl.when(is_ip & dates_ok).then(pl.col("admitted_us").cast(pl.Datetime("us"))),
        discharged_at=pl.when(is_ip & dates_ok).then(
            pl.col("discharged_us").cast(pl.Datetime("us"))
        ),
        times_known=is_ip,
        person_id="person_id",
        dob=pl.col("dob_days").cast(pl.Int32).cast(pl.Date),
        sex="sex",
        nation=pl.when(pl.col("thai")).then(pl.lit("099")).otherwise(pl.col("nation")),
        inscl=inscl,
        hospmain=pl.col("main").fill_null(""),
        cht_rows=pl.when(is_ip).then(pl.lit(2, pl.UInt32)).otherwise(pl.lit(1, pl.UInt32)),
        principal_count=pl.col("principal").cast(pl.UInt32),
        pdx=pl.when(pl.col("principal") > 0).then(pl.col("pdx")),
        emergency="emergency",
        aetype=pl.col("accident").replace_strict({0: "", 1: "V", 2: "W"}, return_dtype=pl.String),
        refers=pl.concat_list(
            pl.when(pl.col("refer_main")).then(pl.col("main")), pl.col("refer_other")
        )
        .list.drop_nulls()
        .list.unique()
        .list.sort(),
        leave_days=pl.col("leave").cast(pl.Int64),
        procedural="procedural",
    )

    # --- items -------------------------------------------------------------------------------
    counts = np.where(
        ip,
        rng.integers(IP_ITEMS[0], IP_ITEMS[1] + 1, n),
        rng.integers(OP_ITEMS[0], OP_ITEMS[1] + 1, n),
    )
    total = int(counts.sum())
    owner = np.repeat(np.arange(n), counts)
    fees, drugs = _latest_prices(reference)
    adp = rng.random(total) < 0.4
    unknown = rng.random(total) < 0.004
    fee_index = rng.integers(0, fees.height, total)
    drug_index = rng.integers(0, drugs.height, total)
    fee_price = fees["price"].to_numpy()[fee_index]
    drug_price = drugs["price"].to_numpy()[drug_index]
    price = np.where(adp, fee_price, drug_price)
    price = np.where(unknown, rng.integers(1_000, 50_000, total), price)
    unit_charge = np.maximum(1, (price * rng.uniform(0.9, 1.6, total)).round()).astype(np.int64)
    quantity = np.where(
        adp,
        rng.choice([1, 1, 1, 1, 2, 3, 4], size=total),
        rng.integers(1, 61, total),
    )
    quantity = np.where(rng.random(total) < 0.001, 0, quantity)  # B07
    charged = quantity * unit_charge
    code = pl.select(
        pl.when(pl.lit(pl.Series(unknown)))
        .then(pl.when(pl.lit(pl.Series(adp))).then(pl.lit("99999")).otherwise(pl.lit("999999")))
        .when(pl.lit(pl.Series(adp))).then(pl.lit(fees["code"].gather(fee_index)))
        .otherwise(pl.lit(drugs["code"].gather(drug_index)))
    ).to_series()  # fmt: skip
    kind_col = pl.Series(adp).replace_strict({True: "ADP", False: "DRU"}, return_dtype=pl.String)
    owners = facts.select("hcode", *CLAIM_ID, "service_date")[owner]
    items = pl.DataFrame(
        {
            "hcode": owners["hcode"],
            "claim_type": owners["claim_type"],
            "claim_key": owners["claim_key"],
            "kind": kind_col,
        }
    ).with_columns(
        file=pl.col("kind") + ".txt",
        line=pl.int_range(pl.len()).over("kind").cast(pl.Int64) + 2,
        code=code,
        quantity=pl.Series(quantity, dtype=pl.Int64),
        unit_charge=pl.Series(unit_charge, dtype=pl.Int64),
        charged=pl.Series(charged, dtype=pl.Int64),
        pricing_date=owners["service_date"],
    ).select(
        "hcode", *CLAIM_ID, "file", "line", "kind", "code", "quantity", "unit_charge", "charged",
        "pricing_date",
    )  # fmt: skip
    del owners

    # Claim totals: Σ item charges, plus room and board for a stay; a few unparsable totals.
    item_sum = np.bincount(owner, weights=charged, minlength=n).astype(np.int64)
    del owner
    room = np.where(ip, (days + 1) * rng.integers(50_000, 300_000, n), 0)
    cht_total = item_sum + room
    cht_ok = rng.random(n) >= 0.002
    facts = facts.with_columns(
        cht_total=pl.Series(cht_total),
        cht_ok=pl.Series(cht_ok),
        cha_total=pl.Series(cht_total),
        cha_ok=pl.lit(True),
    ).with_columns(
        charged=pl.when(pl.col("cht_ok")).then(pl.col("cht_total")).otherwise(0),
    )
    order = [
        "hcode", "claim_type", "claim_key", "hn", "file", "line", "occurrences", "service_date",
        "coverage_date", "admitted_at", "discharged_at", "times_known", "person_id", "dob",
        "sex", "nation", "inscl", "hospmain", "cht_rows", "cht_total", "cht_ok", "cha_total",
        "cha_ok", "principal_count", "pdx", "emergency", "aetype", "refers", "leave_days",
        "procedural", "charged",
    ]  # fmt: skip
    facts = facts.select(order)

    # --- the drop-local codes, by the product's own rule functions -------------------------
    claim_checks = claim_rule_columns(facts, reference["icd10"], RECEIVED)
    bad_dates = facts.filter(pl.col("service_date").is_null()).select(*CLAIM_ID, code=pl.lit("S03"))
    bad_totals = facts.filter(~pl.col("cht_ok")).select(*CLAIM_ID, code=pl.lit("S04"))
    item_checks = item_rule_columns(
        items.drop("hcode"), reference["fee_schedule"], reference["drugs"]
    )
    item_codes = _fired(item_checks, [*CLAIM_ID, "file", "line"]).rename(
        {"file": "item_file", "line": "item_line"}
    )
    parts = [_fired(claim_checks, CLAIM_ID), bad_dates, bad_totals, item_codes]
    codes = pl.concat(
        [
            p.with_columns(
                *(pl.lit(None).alias(c) for c in ("item_file", "item_line") if c not in p.columns)
            )
            .select(CODES_SCHEMA.names())
            .cast(dict(CODES_SCHEMA))  # type: ignore[arg-type]
            for p in parts
        ]
    ).unique(maintain_order=True)
    claims_frame = statuses(facts, codes)
    codes = codes.join(facts.select("hcode", *CLAIM_ID), on=CLAIM_ID, how="left")
    return claims_frame, items, codes


def _fired(frame: pl.DataFrame, ids: list[str]) -> pl.DataFrame:
    """Boolean rule columns to the long frame of the codes that fired."""
    value_cols = [c for c in frame.columns if c not in ids]
    return (
        frame.unpivot(index=ids, on=value_cols, variable_name="code", value_name="fired")
        .filter(pl.col("fired"))
        .drop("fired")
    )


# --- files and the stage ---------------------------------------------------------------------

FILES = ("registry", "claims", "items", "codes")


def write_frames(
    folder: Path,
    *,
    claims: int,
    persons: int,
    seed: int = 7,
) -> dict[str, int]:
    """Build the registry and drops and write them as Parquet files into ``folder``; return
    their row counts. Skipped (counts read back) when ``folder`` is already complete."""
    done = folder / ".complete"
    if done.exists():
        return dict(json.loads(done.read_text()))
    folder.mkdir(parents=True, exist_ok=True)
    reference = sample_reference()
    hospitals = reference["hospitals"]["hcode"].to_list()
    registry, people = build_registry(persons, hospitals, seed=seed)
    registry.write_parquet(folder / "registry.parquet")
    rows = {"registry": registry.height, "persons": people.height}
    del registry
    frames = build_drops(claims, people, reference, seed=seed + 4)
    del people
    for name, frame in zip(FILES[1:], frames, strict=True):
        # By hospital, so that the stage takes each hospital's drop as a zero-copy slice.
        frame.sort("hcode", maintain_order=True).write_parquet(folder / f"{name}.parquet")
        rows[name] = frame.height
    done.write_text(json.dumps(rows))
    return rows


def load_frames(folder: Path) -> dict[str, pl.DataFrame]:
    return {name: pl.read_parquet(folder / f"{name}.parquet") for name in FILES}


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def _reset_peak() -> bool:
    """Reset the process' peak RSS (VmHWM, and with it ru_maxrss) to the current RSS."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def run_stage(folder: Path, mode: str) -> dict[str, Any]:
    """Load the frames, then adjudicate them, and measure the adjudication alone.

    ``mode`` ``hospitals``: one :func:`jobs.adjudicate.adjudicate` call per hospital's drop,
    each against the whole registry, each result summarised and released before the next drop
    (as ingest stores and releases each drop); ``single``: every claim in one call under one
    hcode, the whole result held. Only the calls are timed. Returns load and stage seconds,
    the RSS after loading and the peak RSS while adjudicating (bytes; the inputs included), and
    a summary of the outcome.
    """
    from jobs.adjudicate import adjudicate

    started = time.perf_counter()
    reference = sample_reference()
    frames = load_frames(folder)
    reference["registry"] = frames["registry"]
    if mode == "hospitals":
        drops = _per_hospital(frames)
    elif mode == "single":
        drops = [
            (
                SINGLE_HCODE,
                Judgement(
                    claims=frames["claims"].drop("hcode"),
                    items=frames["items"].drop("hcode"),
                    codes=frames["codes"].drop("hcode"),
                    orphans=_no_orphans(),
                ),
            )
        ]
    else:
        raise ValueError(f"unknown mode {mode!r}")
    registry_rows = frames["registry"].height
    registry_persons = frames["registry"]["person_id"].n_unique()
    del frames
    gc.collect()
    load_seconds = time.perf_counter() - started
    loaded_rss = _status_kib("VmRSS") * 1024
    reset = _reset_peak()

    stage_seconds = 0.0
    slowest = 0.0
    summary: dict[str, Any] = {}
    for hcode, judgement in drops:
        started = time.perf_counter()
        result = adjudicate(judgement, hcode=hcode, reference=reference)
        seconds = time.perf_counter() - started
        stage_seconds += seconds
        slowest = max(slowest, seconds)
        _add(summary, _summarise(judgement, result))
        del result
    peak = (_status_kib("VmHWM") if reset else _peak_maxrss_kib()) * 1024
    return {
        "mode": mode,
        "calls": len(drops),
        "registry_rows": registry_rows,
        "registry_persons": registry_persons,
        "load_seconds": load_seconds,
        "stage_seconds": stage_seconds,
        "slowest_call_seconds": slowest,
        "loaded_rss": loaded_rss,
        "peak_rss": max(peak, loaded_rss),
        "peak_reset": reset,
        **summary,
    }


#: The submitting hospital of the ``single`` mode.
SINGLE_HCODE = "10670"


def _summarise(judgement: Judgement, result: Any) -> dict[str, Any]:
    """Row counts, the allowed total and value counts of one adjudication."""
    claims = result.judgement.claims
    counts = {
        name: {str(k): v for k, v in claims[name].value_counts().iter_rows()}
        for name in ("claim_type", "status", "coverage_source", "adjrw_branch", "referral")
    }
    codes = claims.select(pl.col("codes").explode()).to_series().drop_nulls().value_counts()
    counts["codes"] = {str(k): v for k, v in codes.iter_rows()}
    return {
        "claims": judgement.claims.height,
        "items": judgement.items.height,
        "claims_out": claims.height,
        "items_out": result.judgement.items.height,
        "payers": result.payers.height,
        "allowed": int(claims["allowed"].sum()),
        "counts": counts,
    }


def _add(total: dict[str, Any], part: dict[str, Any]) -> None:
    """Add ``part``'s numbers (nested dicts of them) into ``total``."""
    for key, value in part.items():
        if isinstance(value, dict):
            _add(total.setdefault(key, {}), value)
        else:
            total[key] = total.get(key, 0) + value


def _peak_maxrss_kib() -> int:
    import resource

    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def _no_orphans() -> pl.DataFrame:
    return pl.DataFrame(schema={"file": pl.String(), "line": pl.Int64(), "code": pl.String()})


def _per_hospital(frames: dict[str, pl.DataFrame]) -> list[tuple[str, Judgement]]:
    """One judgement per submitting hospital, as ingest adjudicates one drop at a time: each
    a zero-copy slice of the frames (written sorted by hospital), so no copy is resident."""
    parts: dict[str, dict[str, pl.DataFrame]] = {}
    for name in ("claims", "items", "codes"):
        frame = frames[name]
        runs = frame.select(pl.col("hcode").rle()).unnest("hcode")
        offsets = runs["len"].cum_sum() - runs["len"]
        assert runs["value"].is_unique().all(), f"{name} is not sorted by hospital"
        body = frame.drop("hcode")
        parts[name] = {
            str(hcode): body.slice(int(offset), int(length))
            for hcode, offset, length in zip(runs["value"], offsets, runs["len"], strict=True)
        }
    empty_items = frames["items"].drop("hcode").head(0)
    empty_codes = pl.DataFrame(schema=CODES_SCHEMA)
    return [
        (
            hcode,
            Judgement(
                claims=claims,
                items=parts["items"].get(hcode, empty_items),
                codes=parts["codes"].get(hcode, empty_codes),
                orphans=_no_orphans(),
            ),
        )
        for hcode, claims in sorted(parts["claims"].items())
    ]


def main(argv: list[str]) -> None:
    """``generate FOLDER CLAIMS PERSONS SEED`` or ``stage FOLDER MODE``; prints JSON."""
    command, folder, *args = argv
    if command == "generate":
        claims, persons, seed = (int(a) for a in args)
        result: dict[str, Any] = write_frames(
            Path(folder), claims=claims, persons=persons, seed=seed
        )
    elif command == "stage":
        result = run_stage(Path(folder), args[0])
    else:
        raise SystemExit(f"unknown command {command!r}")
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
