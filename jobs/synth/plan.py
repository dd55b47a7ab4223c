"""The shape of a generated inbox, fixed up front: hospitals, drops, dates, faults, population."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from jobs.synth.assign import CLAIM_CODES, DROP_CODES
from jobs.synth.catalog import Catalog
from jobs.synth.people import Population
from jobs.synth.pools import day_number, drop_rng

__all__ = ["DropPlan", "HospitalPlan", "Plan", "make_plan"]

_HOME_SHARE = 0.85
_VISITS_PER_PERSON = 2.2


@dataclass(frozen=True, slots=True)
class DropPlan:
    """One regular drop: its number in the hospital, size, service window and export day."""

    number: int
    size: int
    window: tuple[int, int]  # day numbers: services in (lo, hi]
    day: date
    faults: Counter[str]


@dataclass(frozen=True, slots=True)
class HospitalPlan:
    index: int  # position in the catalog's hospitals
    hcode: str
    claims: int
    drops: tuple[DropPlan, ...]
    drop_faults: tuple[str, ...]  # F codes whose whole drop goes to this hospital
    corrections: int  # legitimate corrections of earlier claims


@dataclass(frozen=True, slots=True)
class Plan:
    hospitals: tuple[HospitalPlan, ...]
    population: Population
    unknown_hospital_drops: int  # F07
    name_width: int


def _apportion(total: int, weights: np.ndarray, minimum: int = 1) -> list[int]:
    """Split ``total`` by weights (largest remainder), at least ``minimum`` each."""
    spare = total - minimum * len(weights)
    exact = spare * weights / weights.sum()
    share = np.floor(exact).astype(np.int64)
    order = np.argsort(-(exact - share), kind="stable")
    share[order[: spare - int(share.sum())]] += 1
    return [int(v) + minimum for v in share]


def default_hospitals(claims: int, available: int) -> int:
    return max(1, min(available, claims, max(2, round(math.sqrt(claims) / 8))))


def make_plan(
    cat: Catalog, *, claims: int, hospitals: int | None, seed: int, error_rate: float
) -> Plan:
    rng = drop_rng(seed, 0)
    n_ref = cat.hospitals.height
    count = min(hospitals or default_hospitals(claims, n_ref), n_ref, claims)
    chosen = sorted(int(i) for i in rng.choice(n_ref, count, replace=False))
    per_hospital = _apportion(claims, rng.lognormal(0.0, 0.5, count))
    target = int(np.clip(round(4 * math.sqrt(claims)), 150, 5000))

    as_of = cat.as_of
    start = (as_of.replace(day=1) - timedelta(days=1)).replace(day=1)
    span = (as_of - start).days
    total_faults = 0 if error_rate <= 0 else max(round(claims * error_rate), len(CLAIM_CODES))
    codes = [str(c) for c in rng.permutation(np.array(CLAIM_CODES))]
    drop_faults: dict[int, list[str]] = {i: [] for i in range(count)}
    unknown = 0
    if error_rate > 0:
        for copy in range(1 + claims // 250_000):
            for j, code in enumerate(DROP_CODES):
                if code == "F07":
                    unknown += 1
                else:
                    drop_faults[(copy * len(DROP_CODES) + j) % count].append(code)

    plans: list[HospitalPlan] = []
    done = 0
    for slot, (index, n) in enumerate(zip(chosen, per_hospital, strict=True)):
        k = max(2 if n >= 60 else 1, round(n / target))
        sizes = _apportion(n, 0.75 + 0.5 * rng.random(k))
        drops: list[DropPlan] = []
        prev_hi = day_number(start) - 1
        for number, size in enumerate(sizes, start=1):
            hi = day_number(start) + round(number * span / k)
            lo = min(prev_hi, hi - 1)
            first = total_faults * done // claims
            done += size
            last = total_faults * done // claims
            drops.append(
                DropPlan(
                    number=number,
                    size=size,
                    window=(lo, hi),
                    day=start + timedelta(days=hi - day_number(start)),
                    faults=Counter(codes[i % len(codes)] for i in range(first, last)),
                )
            )
            prev_hi = hi
        plans.append(
            HospitalPlan(
                index=index,
                hcode=cat.hospitals["hcode"][index],
                claims=n,
                drops=tuple(drops),
                drop_faults=tuple(drop_faults[slot]),
                corrections=max(1, round(n * 0.002)),
            )
        )
    return Plan(
        hospitals=tuple(plans),
        population=_population(cat, seed, plans, claims),
        unknown_hospital_drops=unknown,
        name_width=len(str(max(len(p.drops) + len(p.drop_faults) + 2 for p in plans))),
    )


def _population(cat: Catalog, seed: int, plans: list[HospitalPlan], claims: int) -> Population:
    """Person blocks: a hospital's own patients come back, but never within one drop."""
    n_ref = cat.hospitals.height
    sizes = np.full(n_ref, max(64, math.ceil(0.3 * claims / n_ref)), dtype=np.int64)
    for hp in plans:
        largest = max(d.size for d in hp.drops)
        sizes[hp.index] = max(
            64,
            math.ceil(hp.claims * _HOME_SHARE / _VISITS_PER_PERSON),
            math.ceil(largest * _HOME_SHARE * 1.2),
        )
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    return Population(
        seed=seed,
        as_of=cat.as_of,
        hcodes=tuple(cat.hospitals["hcode"]),
        starts=starts,
        sizes=sizes,
        registry_funds=cat.registry_funds,
    )
