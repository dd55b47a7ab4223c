"""Claim slots of one drop: who was treated, when, as outpatient or inpatient, and why it pays.

A slot is a claim before its content (diagnoses, items, charges): the patient, the type, the
service date, the emergency and referral facts that routing reads, the claim key, and the fault
the claim is meant to carry. Everything is drawn column-wise for the whole drop.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl

from jobs.synth.catalog import Catalog
from jobs.synth.people import Population, person_frame
from jobs.synth.pools import Ints, day_number, pick_weighted

__all__ = ["HospitalState", "age_at", "assign_keys", "draw_slots", "fresh_keys"]

_VISITOR_SHARE = 0.15
_SAME_PROVINCE = 0.7
_IP_SHARE = 0.05
_OLDER_SHARE = 0.03
_REFERRED = 0.85  # visitors bound to their main hospital who bring its referral


@dataclass(slots=True)
class HospitalState:
    """The running counters of one treating hospital across its drops."""

    index: int
    hcode: str
    province: str
    htype: str
    same_province: Ints
    others: Ints
    visitor_next: Ints
    home_next: int = 0
    seq_next: int = 1
    an_next: int = 1
    retained: list[pl.DataFrame] = field(default_factory=list)

    @classmethod
    def of(cls, cat: Catalog, index: int) -> HospitalState:
        hospitals = cat.hospitals
        province = hospitals["province"][index]
        positions = np.arange(hospitals.height)
        same = (hospitals["province"] == province).to_numpy() & (positions != index)
        return cls(
            index=index,
            hcode=hospitals["hcode"][index],
            province=province,
            htype=hospitals["type"][index],
            same_province=positions[same].astype(np.int64),
            others=positions[positions != index].astype(np.int64),
            visitor_next=np.zeros(hospitals.height, dtype=np.int64),
        )


def age_at(day: pl.Expr, dob: pl.Expr) -> pl.Expr:
    """Age in whole years on ``day``."""
    before_birthday = (day.dt.month() * 100 + day.dt.day()) < (dob.dt.month() * 100 + dob.dt.day())
    return (day.dt.year() - dob.dt.year() - before_birthday.cast(pl.Int32)).cast(pl.Int64)


def _patients(pop: Population, state: HospitalState, n: int, rng: np.random.Generator) -> Ints:
    visitor = (rng.random(n) < _VISITOR_SHARE) & (len(state.others) > 0)
    person = np.empty(n, dtype=np.int64)
    n_home = int((~visitor).sum())
    home_seq = state.home_next + np.arange(n_home)
    block = state.index
    person[~visitor] = pop.starts[block] + home_seq % pop.sizes[block]
    state.home_next += n_home
    n_vis = n - n_home
    if n_vis:
        use_same = (rng.random(n_vis) < _SAME_PROVINCE) & (len(state.same_province) > 0)
        pool_same = state.same_province if len(state.same_province) else state.others
        origin = np.where(
            use_same,
            pool_same[(rng.random(n_vis) * len(pool_same)).astype(np.int64)],
            state.others[(rng.random(n_vis) * len(state.others)).astype(np.int64)],
        )
        counts = np.bincount(origin, minlength=len(state.visitor_next))
        order = np.argsort(origin, kind="stable")
        group_start = np.concatenate([[0], np.cumsum(counts)[:-1]])
        rank = np.empty(n_vis, dtype=np.int64)
        rank[order] = np.arange(n_vis) - group_start[origin[order]]
        seen = state.visitor_next[origin] + rank
        state.visitor_next += counts
        shift = (state.index * 7919) % pop.sizes[origin]
        person[visitor] = pop.starts[origin] + (seen + shift) % pop.sizes[origin]
    return person


def draw_slots(
    cat: Catalog,
    pop: Population,
    state: HospitalState,
    n: int,
    window: tuple[int, int],
    rng: np.random.Generator,
) -> pl.DataFrame:
    """``n`` claim slots served in the day-number window ``(lo, hi]`` (a few older ones)."""
    lo, hi = window
    people = person_frame(pop, _patients(pop, state, n, rng))
    as_of = day_number(cat.as_of)
    older = rng.random(n) < _OLDER_SHARE
    day = np.where(
        older,
        as_of - 61 - (rng.random(n) * 270).astype(np.int64),
        lo + 1 + (rng.random(n) * (hi - lo)).astype(np.int64),
    )
    day = np.maximum(day, day_number(cat.first_day))
    slots = people.with_columns(
        slot=pl.int_range(n, dtype=pl.Int64),
        hn=pop.hn(state.index, people["person"].to_numpy()),
        service=pl.Series(day).cast(pl.Int32).cast(pl.Date),
        visitor=pl.col("home") != state.hcode,
    ).with_columns(age=age_at(pl.col("service"), pl.col("dob")))
    age_key = cat.age_key(slots["sex"].to_numpy(), slots["age"].to_numpy())
    rate_fund = slots.select(
        pl.when(pl.col("fund").is_null()).then(pl.lit("UCS")).otherwise(pl.col("fund"))
    ).to_series()
    # One list of funds for both steps: two unique() calls need not agree on their order.
    funds = rate_fund.unique(maintain_order=True)
    priced = funds.filter(pl.Series([(f, state.htype) in cat.ip_rates for f in funds]))
    rate_ok = rate_fund.is_in(priced.implode()).to_numpy()
    ip_able = rate_ok & (cat.ip_dx.has(age_key * 2) | cat.ip_dx.has(age_key * 2 + 1))
    inpatient = ip_able & (rng.random(n) < _IP_SHARE)
    if n >= 20 and not inpatient.any() and ip_able.any():
        inpatient[int(np.flatnonzero(ip_able)[0])] = True
    return _routing(
        cat,
        state,
        slots.with_columns(
            claim_type=pl.Series(np.where(inpatient, "IP", "OP")),
            age_key=age_key,
        ),
        rng,
    )


def _routing(
    cat: Catalog, state: HospitalState, slots: pl.DataFrame, rng: np.random.Generator
) -> pl.DataFrame:
    """Emergencies, accidents, referrals and the claimed right."""
    n = slots.height
    ip = (slots["claim_type"] == "IP").to_numpy()
    uninsured_foreign = (slots["fund"].is_null() & ~slots["thai"]).to_numpy()
    p_emergency = np.where(ip, 0.35, np.where(uninsured_foreign, 0.40, 0.09))
    emergency = rng.random(n) < p_emergency
    accident = emergency & (rng.random(n) < 0.35)
    cause = pick_weighted(rng.random(n), [0.6, 0.25, 0.15])
    u_refer = rng.random(n)
    slots = slots.with_columns(
        ucae=pl.Series(np.where(accident, "A", np.where(emergency, "E", ""))),
        aetype=pl.Series(np.where(accident, np.array(["V", "W", "O"])[cause], "")),
        emergency=pl.Series(emergency),
    )
    away = pl.col("visitor") & (pl.col("hmain") != "")
    bound = away & pl.col("fund").is_in(list(cat.op_refer_funds)) & ~pl.col("emergency")
    refer_p = pl.when(bound).then(_REFERRED).when(away).then(0.3).otherwise(0.0)
    return slots.with_columns(
        refer=pl.when(pl.Series(u_refer) < refer_p).then(pl.col("hmain")).otherwise(pl.lit("")),
        inscl=pl.col("fund").fill_null(
            pl.when(pl.col("thai")).then(pl.lit("UCS")).otherwise(pl.lit(""))
        ),
        clinic=pl.Series(
            np.array(["01", "02", "03", "04", "05", "06", "08", "10", "11", "99"])[
                (rng.random(n) * 10).astype(np.int64)
            ]
        ),
    ).with_columns(
        # Accepted for sure when clean: registered at this hospital (or with no main hospital).
        sure_pay=pl.col("fund").is_not_null() & ~pl.col("visitor"),
        fault=pl.lit(None, pl.String),
    )


def assign_keys(slots: pl.DataFrame, state: HospitalState) -> pl.DataFrame:
    """SEQ for outpatient, AN for inpatient slots, unique in the hospital for good."""
    ip = (slots["claim_type"] == "IP").to_numpy()
    n_ip = int(ip.sum())
    counter = np.empty(slots.height, dtype=np.int64)
    counter[ip] = state.an_next + np.arange(n_ip)
    counter[~ip] = state.seq_next + np.arange(slots.height - n_ip)
    state.an_next += n_ip
    state.seq_next += slots.height - n_ip
    year = ((pl.col("service").dt.year() + 543) % 100).cast(pl.String).str.zfill(2)
    number = pl.Series(counter).cast(pl.String)
    return slots.with_columns(
        seq=pl.when(pl.col("claim_type") == "OP")
        .then(pl.concat_str(year, number.str.zfill(8)))
        .otherwise(pl.lit("")),
        an=pl.when(pl.col("claim_type") == "IP")
        .then(pl.concat_str(year, number.str.zfill(7)))
        .otherwise(pl.lit("")),
    ).with_columns(key=pl.concat_str(pl.col("seq"), pl.col("an")))


def fresh_keys(state: HospitalState, n: int, year: str) -> list[str]:
    """Outpatient keys that no claim of the hospital will ever use (orphan rows, K03)."""
    keys = [f"{year}{state.seq_next + i:08d}" for i in range(n)]
    state.seq_next += n
    return keys
