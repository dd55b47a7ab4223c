"""The synthetic population: every person is a pure function of (seed, person index).

Each reference hospital owns a contiguous block of person indices: the people registered there
(their main hospital, for the funds that have one). A drop names people by index and gets their
attributes here, so no table of persons is ever held; the registry is written block by block.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt
import polars as pl

from jobs.synth.pools import Floats, Ints, day_number, hash_uniform, pick_weighted

__all__ = ["Population", "check_digit", "person_frame", "registry_rows"]

#: Share of registered Thai people per fund (the real mix); the rest of the registered funds
#: share a small slice, and a few Thai people are in no registry at all (E04).
_THAI_SHARES = {"UCS": 0.70, "SSS": 0.17, "OFC": 0.07, "LGO": 0.02}
_OTHER_FUND_SHARE = 0.004
_THAI_UNREGISTERED = 0.02
#: Non-Thai people: migrant insurance, the status-problem fund, or nothing.
_FOREIGN_SHARES = {"MIG": 0.45, "STP": 0.20}
_FOREIGN = 0.06
#: Funds without a main hospital (civil-servant style): the others register people at one.
_NO_HMAIN = frozenset({"OFC", "LGO"})
_NATIONS = ("048", "056", "057")  # exporters' nationality codes of the three neighbours
_ID_SPAN = 10**11  # digits 2..12 of a person id
_ID_MULTIPLIER = 7_340_033_217  # odd, not a multiple of 5: a bijection modulo 10^11
_HN_MULTIPLIER = 387_420_489  # the same for 9-digit hospital numbers
_MIN_AGE_DAYS = 400  # nobody is born within this many days before the as-of date


@dataclass(frozen=True, slots=True)
class Population:
    """Blocks of person indices per reference hospital (``hcodes`` sorted)."""

    seed: int
    as_of: date
    hcodes: tuple[str, ...]
    starts: Ints
    sizes: Ints
    registry_funds: tuple[str, ...]

    @property
    def total(self) -> int:
        return int(self.sizes.sum())

    def owner(self, person: Ints) -> Ints:
        """Index of the hospital whose block holds each person."""
        return (np.searchsorted(self.starts, person, side="right") - 1).astype(np.int64)

    def hn(self, hospital: int, person: Ints) -> pl.Series:
        """The hospital's 9-digit patient number of each person (unique per hospital)."""
        offset = int(hash_uniform(self.seed, 90 + hospital, np.array([0]))[0] * 10**9)
        value = (person.astype(np.int64) * _HN_MULTIPLIER + offset) % 10**9
        return pl.Series("hn", value).cast(pl.String).str.zfill(9)


def _u(pop: Population, stream: int, person: Ints) -> Floats:
    return hash_uniform(pop.seed, stream, person)


def check_digit(first: Ints, rest: Ints) -> Ints:
    """The 13th digit for ids ``first`` (1 digit) + ``rest`` (11 digits)."""
    total = first * 13
    for position in range(2, 13):
        digit = (rest // 10 ** (12 - position)) % 10
        total = total + digit * (14 - position)
    return (11 - total % 11) % 10


def _fund_shares(
    funds: tuple[str, ...], shares: dict[str, float], other: float
) -> tuple[list[str | None], list[float]]:
    names: list[str | None] = []
    weights: list[float] = []
    for fund in funds:
        share = shares.get(fund, other)
        if share > 0:
            names.append(fund)
            weights.append(share)
    return names, weights


def _thai_funds(pop: Population, u: Floats, working: npt.NDArray[np.bool_]) -> pl.Series:
    """Registered fund of Thai people (null: in no registry); social security is for workers."""
    picked = []
    for is_working in (False, True):
        shares = dict(_THAI_SHARES)
        # The national share of SSS, all of it among the working-age (about 60 %).
        shares["SSS"] = shares["SSS"] / 0.6 if is_working else 0.0
        names, weights = _fund_shares(pop.registry_funds, shares, _OTHER_FUND_SHARE)
        names.append(None)
        weights.append(_THAI_UNREGISTERED * sum(weights) / (1 - _THAI_UNREGISTERED))
        picked.append(pl.Series(names, dtype=pl.String).gather(pick_weighted(u, weights)))
    return pl.select(pl.when(pl.Series(working)).then(picked[1]).otherwise(picked[0])).to_series()


def person_frame(pop: Population, person: Ints) -> pl.DataFrame:
    """Attributes of each person: id, sex, birth date, nationality, fund and main hospital."""
    foreign = _u(pop, 1, person) < _FOREIGN
    sex = np.where(_u(pop, 2, person) < 0.5, 1, 2).astype(np.int64)
    band = pick_weighted(_u(pop, 3, person), [0.17, 0.60, 0.23])
    lo = np.array([0, 15, 60])[band]
    hi = np.array([15, 60, 92])[band]
    age_years = lo + (hi - lo) * _u(pop, 4, person)
    dob_day = (day_number(pop.as_of) - _MIN_AGE_DAYS - (age_years * 365.25)).astype(np.int64)
    birth_year = 1970 + dob_day // 365
    # Born since 1984: 1 (registered at birth), a few 2 (late) and 8; earlier: mostly 3.
    u_first = _u(pop, 5, person)
    thai_first = np.where(
        birth_year >= 1984,
        np.array([1, 2, 8])[pick_weighted(u_first, [0.93, 0.05, 0.02])],
        np.array([3, 4, 5, 8])[pick_weighted(u_first, [0.85, 0.04, 0.08, 0.03])],
    )
    foreign_first = np.array([0, 6, 6, 7])[(_u(pop, 6, person) * 4).astype(np.int64)]
    first = np.where(foreign, foreign_first, thai_first).astype(np.int64)
    offset = int(_u(pop, 7, np.array([0]))[0] * _ID_SPAN)
    rest = (person.astype(np.int64) * _ID_MULTIPLIER + offset) % _ID_SPAN
    digit13 = check_digit(first, rest)

    working = (age_years >= 16) & (age_years < 60)
    thai_fund = _thai_funds(pop, _u(pop, 8, person), working)
    foreign_names, foreign_w = _fund_shares(pop.registry_funds, _FOREIGN_SHARES, 0.0)
    foreign_names.append(None)
    foreign_w.append(max(0.0, 1.0 - sum(foreign_w)))
    foreign_fund = pl.Series(foreign_names, dtype=pl.String).gather(
        pick_weighted(_u(pop, 8, person), foreign_w)
    )
    owner = pop.owner(person)
    frame = pl.DataFrame(
        {
            "person": person.astype(np.int64),
            "pid": pl.Series(first).cast(pl.String)
            + pl.Series(rest).cast(pl.String).str.zfill(11)
            + pl.Series(digit13).cast(pl.String),
            "sex": sex,
            "dob": pl.Series(dob_day).cast(pl.Int32).cast(pl.Date),
            "thai": ~foreign,
            "nation": np.where(
                foreign, np.array(_NATIONS)[(_u(pop, 9, person) * 3).astype(np.int64)], "099"
            ),
            "fund": pl.select(
                pl.when(pl.Series(foreign)).then(foreign_fund).otherwise(thai_fund)
            ).to_series(),
            "home": pl.Series(np.array(pop.hcodes)[owner], dtype=pl.String),
            "name_u": _u(pop, 10, person),
        }
    )
    return frame.with_columns(
        hmain=pl.when(pl.col("fund").is_null() | pl.col("fund").is_in(list(_NO_HMAIN)))
        .then(pl.lit(""))
        .otherwise(pl.col("home")),
    )


def registry_rows(pop: Population, chunk: int = 200_000) -> Iterator[pl.DataFrame]:
    """Registry rows (``person_id, fund, hmain, valid_from, valid_to``) of every insured person.

    A few people also carry an older, ended registration with another fund.
    """
    anchor = day_number(pop.as_of) - 730
    for start in range(0, pop.total, chunk):
        person = np.arange(start, min(start + chunk, pop.total), dtype=np.int64)
        people = person_frame(pop, person).filter(pl.col("fund").is_not_null())
        index = people["person"].to_numpy()
        since = anchor - (_u(pop, 11, index) * 4000).astype(np.int64)
        current = people.select(
            person_id="pid",
            fund="fund",
            hmain="hmain",
            valid_from=pl.Series(since).cast(pl.Int32).cast(pl.Date),
            valid_to=pl.lit(None, pl.Date),
        )
        moved = _u(pop, 12, index) < 0.04
        earlier = pl.Series(list(pop.registry_funds), dtype=pl.String)
        older = (
            current.filter(pl.Series(moved))
            .with_columns(
                fund=earlier.gather((_u(pop, 13, index[moved]) * len(earlier)).astype(np.int64)),
                valid_to=pl.col("valid_from") - pl.duration(days=1),
                valid_from=pl.col("valid_from") - pl.duration(days=1500),
            )
            .with_columns(
                hmain=pl.when(pl.col("fund").is_in(list(_NO_HMAIN)))
                .then(pl.lit(""))
                .otherwise(pl.col("hmain")),
            )
        )
        yield pl.concat([older, current]).sort("person_id")
