"""``--portable``: claims drawn with only what every format carries, so that their outcomes
cannot depend on the format they are written in (16 files, CIPN, ClaimRec, FHIR).

A property of the draw, not of the writing: the 16 files of a portable run hold the same
claims as its CIPN, ClaimRec and FHIR drops. What it takes away (docs/formats.md, "Rules that
cannot fire, by format"):

* referrals (no REFER in CIPN or ClaimRec), road-traffic and work accidents (no AETYPE in CIPN
  or ClaimRec: an accident stays an accident, of type ``O``), leave days (no LVD in FHIR);
* charge categories other than ``1``–``H`` claimable (CIPN maps only fee groups 01–17, ClaimRec
  has no excess flag);
* claimed rights other than OFC and SSS: CIPN states the right only as its document type
  (CIPN = OFC, AIPN = SSS) and ClaimRec only as ``CS``/``SS``, else none. Inpatient claims
  of another right claim OFC (and get the E02 warning in every format, their fund being
  another), outpatient ones claim no right (INSCL empty: E02 cannot fire, as in ClaimRec);
* faults only of kinds every format says the same way (below); the plan keeps its number of
  faults, spread over these codes.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import polars as pl

from clearinghouse.errors import UsageError
from jobs.synth.catalog import Catalog
from jobs.synth.plan import Plan

__all__ = [
    "PORTABLE_CLAIM_CODES",
    "PORTABLE_DROP_CODES",
    "portable_catalog",
    "portable_plan",
    "portable_slots",
    "without_leave",
]

#: Claim faults every format expresses with the same code and the same other outcomes. Not
#: S01 (FHIR has no field counts), S02/S03/S04 (each format says them with other side effects
#: on the person, dates or totals), S05/S06 (not in CIPN), B04 (B10 in CIPN), B05/B06 (no sex
#: or birth date in ClaimRec), C06 (CIPN maps every category).
PORTABLE_CLAIM_CODES = (
    "B01", "B02", "B03", "B07", "C01", "C02", "C03", "C04", "C05", "K01", "K02", "S07", "K03",
)  # fmt: skip
#: Drop faults that refuse the drop whole in every format (F02: a JSON drop has no encoding
#: check of its own). The code each format answers may differ (a truncated FHIR XML is F06).
PORTABLE_DROP_CODES = ("F01", "F03", "F04", "F07", "F08")
_RIGHTS = ("OFC", "SSS")  # the rights CIPN and ClaimRec can state
_GROUPS = "123456789ABCDEFGH"


def portable_catalog(cat: Catalog) -> Catalog:
    """Only the claimable categories of groups 1–H to draw charges from."""
    categories = tuple(c for c in cat.categories if len(c) == 2 and c[0] in _GROUPS and c[1] == "1")
    if not categories:
        raise UsageError("--portable: the reference set has no category that every format carries")
    return replace(cat, categories=categories)


def portable_plan(plan: Plan) -> Plan:
    """The same plan with its claim faults spread over ``PORTABLE_CLAIM_CODES`` (as many per
    drop as before) and only the drop faults of ``PORTABLE_DROP_CODES``."""
    codes = PORTABLE_CLAIM_CODES
    done = 0
    hospitals = []
    for hp in plan.hospitals:
        drops = []
        for drop in hp.drops:
            wanted = sum(drop.faults.values())
            faults = Counter(codes[(done + i) % len(codes)] for i in range(wanted))
            done += wanted
            drops.append(replace(drop, faults=faults))
        hospitals.append(
            replace(
                hp,
                drops=tuple(drops),
                drop_faults=tuple(c for c in hp.drop_faults if c in PORTABLE_DROP_CODES),
            )
        )
    return replace(plan, hospitals=tuple(hospitals))


def portable_slots(slots: pl.DataFrame) -> pl.DataFrame:
    """No referral; a road-traffic or work accident becomes an accident of another kind; a
    claimed right other than OFC or SSS becomes OFC (inpatient) or none (outpatient)."""
    return slots.with_columns(
        refer=pl.lit(""),
        aetype=pl.when(pl.col("aetype").is_in(["V", "W"]))
        .then(pl.lit("O"))
        .otherwise(pl.col("aetype")),
        inscl=pl.when(pl.col("inscl").is_in(_RIGHTS))
        .then(pl.col("inscl"))
        .when(pl.col("claim_type") == "IP")
        .then(pl.lit("OFC"))
        .otherwise(pl.lit("")),
    )


def without_leave(slots: pl.DataFrame) -> pl.DataFrame:
    """Stays without leave days: the admission moves forward by them, the stay keeps its LOS."""
    return slots.with_columns(
        admit=pl.col("admit") + pl.duration(days=pl.col("leave")), leave=pl.lit(0, pl.Int64)
    )
