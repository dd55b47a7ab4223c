"""Faults written into the text tables: bad fields, missing rows, duplicates and resent claims.

Content faults (wrong codes, sums, dates) are drawn with the claim; what remains here is what a
broken exporter does to the rows themselves: a row with an extra field (S01), an empty required
field or a patient without PAT row (S02), an impossible date or time (S03), an unparseable
amount (S04), a row that links to no claim (S05), a claim row twice (S06), another hospital's
code (S07), a mistyped person id (C01), and claims resent from the previous drop (K01).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from jobs.synth.tables import key_of

__all__ = ["append_copies", "break_rows", "orphan_rows"]

Tables = dict[str, pl.DataFrame]

_BAD_AMOUNTS = ("12.345", "abc", "-15.00", "1,250.00")


def _targets(slots: pl.DataFrame, code: str) -> pl.DataFrame:
    return slots.filter(pl.col("fault") == code).select("key", "claim_type", "hn")


def _set_first(table: pl.DataFrame, keys: list[str], column: str, value: pl.Expr) -> pl.DataFrame:
    """Overwrite ``column`` on the first row of each listed claim."""
    hit = key_of(table).is_in(keys) & key_of(table).is_first_distinct()
    return table.with_columns(pl.when(hit).then(value).otherwise(pl.col(column)).alias(column))


def _split(rng: np.random.Generator, keys: list[str], parts: int) -> list[list[str]]:
    choice = rng.integers(0, parts, len(keys))
    return [[k for k, c in zip(keys, choice, strict=True) if c == p] for p in range(parts)]


def break_rows(
    t: Tables, slots: pl.DataFrame, rng: np.random.Generator, other_hcode: str
) -> Tables:
    """Apply every row-level fault of the slots (S01-S04, S06, S07, C01) to the tables."""
    t = dict(t)
    single_hn = slots.filter(pl.col("hn").is_unique())["hn"]
    claim_table = {"OP": ("OPD", "SEQ"), "IP": ("IPD", "AN")}

    # S01: one more field than the header on the claim's own row.
    s01 = _targets(slots, "S01")
    for kind, (name, column) in claim_table.items():
        keys = s01.filter(pl.col("claim_type") == kind)["key"].to_list()
        t[name] = t[name].with_columns(_s01=pl.col(column).is_in(keys))

    # S02: the patient's PAT row is missing, or a required field is empty.
    s02 = _targets(slots, "S02")
    no_pat = s02.filter(pl.col("hn").is_in(single_hn.to_list()))
    no_pat = no_pat.filter(pl.Series(rng.random(no_pat.height) < 0.5))
    t["PAT"] = t["PAT"].filter(~pl.col("HN").is_in(no_pat["hn"].to_list()))
    empty_date, empty_code = _split(
        rng, s02.filter(~pl.col("key").is_in(no_pat["key"].to_list()))["key"].to_list(), 2
    )
    t["CHT"] = _set_first(t["CHT"], empty_date, "DATE", pl.lit(""))
    t["ADP"] = _set_first(t["ADP"], empty_code, "CODE", pl.lit(""))

    # S03: 30 February, or a time of 25:61.
    for kind, (name, column) in claim_table.items():
        keys = _targets(slots, "S03").filter(pl.col("claim_type") == kind)["key"].to_list()
        bad_date, bad_time = _split(rng, keys, 2)
        date_col, time_col = ("DATEOPD", "TIMEOPD") if kind == "OP" else ("DATEADM", "TIMEDSC")
        t[name] = t[name].with_columns(
            pl.when(pl.col(column).is_in(bad_date))
            .then(pl.col(date_col).str.slice(0, 4) + "0230")
            .otherwise(pl.col(date_col))
            .alias(date_col),
            pl.when(pl.col(column).is_in(bad_time))
            .then(pl.lit("2561"))
            .otherwise(pl.col(time_col))
            .alias(time_col),
        )

    # S04: an amount or quantity that does not parse, is negative or has three decimals.
    groups = _split(rng, _targets(slots, "S04")["key"].to_list(), 4)
    bad = [pl.lit(v) for v in _BAD_AMOUNTS]
    t["ADP"] = _set_first(t["ADP"], groups[0], "TOTAL", bad[0])
    t["DRU"] = _set_first(t["DRU"], groups[1], "AMOUNT", pl.lit("abc"))
    t["CHA"] = _set_first(t["CHA"], groups[2], "AMOUNT", bad[2])
    t["ADP"] = _set_first(t["ADP"], groups[3], "RATE", bad[3])

    # S06: the claim's own row twice.
    for kind, (name, column) in claim_table.items():
        keys = _targets(slots, "S06").filter(pl.col("claim_type") == kind)["key"].to_list()
        again = t[name].filter(pl.col(column).is_in(keys))
        t[name] = pl.concat([t[name], again], how="diagonal_relaxed")

    # S07: another hospital's code on a DRU row, or on the patient's PAT row.
    s07 = _targets(slots, "S07")
    on_pat = s07.filter(pl.col("hn").is_in(single_hn.to_list()))
    on_pat = on_pat.filter(pl.Series(rng.random(on_pat.height) < 0.3))
    t["PAT"] = t["PAT"].with_columns(
        HCODE=pl.when(pl.col("HN").is_in(on_pat["hn"].to_list()))
        .then(pl.lit(other_hcode))
        .otherwise(pl.col("HCODE"))
    )
    on_dru = s07.filter(~pl.col("key").is_in(on_pat["key"].to_list()))["key"].to_list()
    t["DRU"] = _set_first(t["DRU"], on_dru, "HCODE", pl.lit(other_hcode))

    # C01: a mistyped person id (the check digit no longer matches).
    c01 = _targets(slots, "C01")["hn"].to_list()
    last = pl.col("PERSON_ID").str.slice(12, 1).cast(pl.Int64)
    t["PAT"] = t["PAT"].with_columns(
        PERSON_ID=pl.when(pl.col("HN").is_in(c01))
        .then(pl.col("PERSON_ID").str.slice(0, 12) + ((last + 3) % 10).cast(pl.String))
        .otherwise(pl.col("PERSON_ID"))
    )
    return t


def orphan_rows(t: Tables, fresh: list[str], rng: np.random.Generator) -> Tables:
    """S05: detail rows (or a PAT row) that belong to no claim of the drop, one per key."""
    t = dict(t)
    for i, key in enumerate(fresh):
        if i % 4 == 3 and t["PAT"].height:
            row = t["PAT"].sample(1, seed=int(rng.integers(1 << 31)))
            t["PAT"] = pl.concat(
                [t["PAT"], row.with_columns(HN=pl.lit("9" + key[-8:]))], how="diagonal_relaxed"
            )
            continue
        name = ("ADP", "CHA", "ODX")[i % 3]
        outpatient = t[name].filter(pl.col("SEQ") != "")
        if outpatient.height == 0:
            continue
        row = outpatient.sample(1, seed=int(rng.integers(1 << 31))).with_columns(SEQ=pl.lit(key))
        t[name] = pl.concat([t[name], row], how="diagonal_relaxed")
    return t


def append_copies(t: Tables, previous: Tables, keys: list[str], hns: list[str]) -> Tables:
    """K01: the listed claims of the previous drop, sent again exactly as they were."""
    t = dict(t)
    for name, table in previous.items():
        if name == "PAT":
            rows = table.filter(pl.col("HN").is_in(hns))
        else:
            rows = table.filter(key_of(table).is_in(keys))
        if rows.height:
            t[name] = pl.concat([t[name], rows], how="diagonal_relaxed")
    return t
