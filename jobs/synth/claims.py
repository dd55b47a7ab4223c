"""Clinical content of claim slots: diagnoses, procedures and inpatient stays.

Stays are drawn against the DRG of the principal diagnosis so that every AdjRW branch happens:
day cases (< 24 h), short stays (< wtlos/3), normal stays, and long stays beyond ot, 2·ot and
3·ot, some with leave days.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from jobs.synth.catalog import Catalog
from jobs.synth.pools import pick_weighted

__all__ = ["diagnoses", "procedures", "stays"]

#: ICD-9-CM procedure codes (no reference table holds them; they are never validated).
_IP_PROCEDURES = (
    "4709",
    "5123",
    "1341",
    "741",
    "0066",
    "8151",
    "7935",
    "6829",
    "4523",
    "3722",
    "8622",
    "5491",
    "8659",
    "0331",
    "7936",
    "8841",
)
_OP_PROCEDURES = ("8659", "8622", "9604", "8628", "2301", "9904", "8604", "9671")
_DX_TYPES = ("2", "2", "2", "4", "4", "3")


def _choice(values: tuple[str, ...], u: np.ndarray) -> pl.Series:
    return pl.Series(np.array(values)[(u * len(values)).astype(np.int64)])


def diagnoses(
    cat: Catalog, slots: pl.DataFrame, rng: np.random.Generator
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Principal diagnosis (and procedural flag) per slot, and the long frame of all diagnoses.

    Returns:
        ``slots`` with ``pdx``, ``procedural``, ``wtlos``, ``ot``; and ``(key, diag, dxtype)``.
    """
    n = slots.height
    key = slots["age_key"].to_numpy()
    ip = (slots["claim_type"] == "IP").to_numpy()
    wants_proc = rng.random(n) < 0.35
    proc = np.where(cat.ip_dx.has(key * 2 + 1) & (wants_proc | ~cat.ip_dx.has(key * 2)), 1, 0)
    u = rng.random(n)
    general = cat.dx.pick(key, u)["code"]
    inpatient = cat.ip_dx.pick(key * 2 + proc, u)
    fault = slots["fault"]
    pdx = pl.select(
        pl.when(fault == "B05")
        .then(cat.wrong_sex.pick(key, u)["code"])
        .when(fault == "B06")
        .then(cat.wrong_age.pick(key, u)["code"])
        .when(fault == "C03")
        .then(pl.lit(cat.unknown["icd"]))
        .when(pl.Series(ip))
        .then(inpatient["code"])
        .otherwise(general)
    ).to_series()
    slots = slots.with_columns(
        pdx=pdx,
        procedural=pl.Series(ip & (proc == 1)),
        wtlos=inpatient["wtlos"].fill_null(3.0),
        ot=inpatient["ot"].fill_null(0),
    )
    n_secondary = pick_weighted(rng.random(n), [0.40, 0.35, 0.20, 0.05])
    owner = np.repeat(np.arange(n), n_secondary)
    secondary = pl.DataFrame(
        {
            "key": slots["key"].gather(owner),
            "diag": cat.dx.pick(key[owner], rng.random(len(owner)))["code"],
            "dxtype": _choice(_DX_TYPES, rng.random(len(owner))),
        }
    )
    principal = slots.select("key", diag="pdx", dxtype=pl.lit("1"))
    frames = [principal, secondary]
    accident = (slots["ucae"] == "A").to_numpy() & (cat.external.rows.height > 0)
    if accident.any():
        n_acc = int(accident.sum())
        frames.append(
            pl.DataFrame(
                {
                    "key": slots["key"].filter(pl.Series(accident)),
                    "diag": cat.external.pick(np.zeros(n_acc, dtype=np.int64), rng.random(n_acc))[
                        "code"
                    ],
                    "dxtype": pl.Series(["5"] * n_acc, dtype=pl.String),
                }
            )
        )
    c02 = slots.filter(pl.col("fault") == "C02")
    if c02.height:
        # Half lose their principal, half get a second one.
        lose = pl.Series(rng.random(c02.height) < 0.5)
        frames[0] = principal.with_columns(
            dxtype=pl.when(pl.col("key").is_in(c02["key"].filter(lose).to_list()))
            .then(pl.lit("2"))
            .otherwise(pl.col("dxtype"))
        )
        extra = c02.filter(~lose)
        frames.append(
            extra.select("key", diag=pl.col("pdx").str.slice(0, 3) + "9", dxtype=pl.lit("1"))
        )
    return slots, pl.concat(frames, how="vertical").sort("key", maintain_order=True)


def procedures(slots: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """``(key, oper)``: one or two for surgical admissions, one for a few outpatient visits."""
    n = slots.height
    ip_count = np.where(slots["procedural"].to_numpy(), 1 + (rng.random(n) < 0.3), 0)
    op_count = np.where((slots["claim_type"] == "OP").to_numpy() & (rng.random(n) < 0.08), 1, 0)
    count = ip_count + op_count
    owner = np.repeat(np.arange(n), count)
    u = rng.random(len(owner))
    is_ip = (slots["claim_type"] == "IP").to_numpy()[owner]
    oper = np.where(
        is_ip,
        np.array(_IP_PROCEDURES)[(u * len(_IP_PROCEDURES)).astype(np.int64)],
        np.array(_OP_PROCEDURES)[(u * len(_OP_PROCEDURES)).astype(np.int64)],
    )
    return pl.DataFrame(
        {"key": slots["key"].gather(owner), "oper": pl.Series(oper, dtype=pl.String)}
    )


def stays(slots: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """Admission date and times, discharge time, leave days for every slot.

    Outpatients get ``time_in`` (TIMEOPD); inpatients ``admit``, ``time_in``, ``time_out``,
    ``leave`` and ``los`` with ``service`` as the discharge date.
    """
    n = slots.height
    wtlos = slots["wtlos"].to_numpy()
    ot = slots["ot"].to_numpy().astype(np.int64)
    short_top = np.ceil(wtlos / 3).astype(np.int64) - 1
    kind = pick_weighted(rng.random(n), [0.15, 0.15, 0.50, 0.10, 0.06, 0.04])
    kind = np.where((kind == 1) & ~((wtlos > 3) & (short_top >= 1)), 2, kind)
    kind = np.where((kind >= 3) & (ot <= 0), 2, kind)
    u = rng.random(n)
    normal_lo = np.maximum(1, short_top + 1)
    normal_hi = np.where(ot >= normal_lo, ot, normal_lo + 3)
    los = np.select(
        [kind == 0, kind == 1, kind == 2, kind == 3, kind == 4],
        [
            (u < 0.5).astype(np.int64),
            1 + (u * np.maximum(short_top, 1)).astype(np.int64),
            normal_lo + (u * (normal_hi - normal_lo + 1)).astype(np.int64),
            ot + 1 + (u * ot).astype(np.int64),
            2 * ot + 1 + (u * ot).astype(np.int64),
        ],
        3 * ot + 1 + (u * 10).astype(np.int64),
    )
    leave = np.where(
        (kind != 0) & (los >= 3) & (rng.random(n) < 0.08), 1 + (rng.random(n) < 0.4), 0
    )
    span = los + leave
    day_case = kind == 0
    t_in = np.where(
        day_case & (los == 0),
        360 + (rng.random(n) * 360),
        np.where(day_case, 720 + rng.random(n) * 660, rng.random(n) * 720),
    )
    t_in = t_in.astype(np.int64)
    t_out = np.where(
        day_case & (los == 0),
        t_in + 60 + rng.random(n) * 420,
        np.where(day_case, rng.random(n) * (t_in - 60), 720 + rng.random(n) * 720),
    )
    emergency = slots["emergency"].to_numpy()
    t_opd = np.where(emergency, rng.random(n) * 1440, 420 + rng.random(n) * 780)
    ip = (slots["claim_type"] == "IP").to_numpy()
    b01 = (slots["fault"] == "B01").to_numpy()
    return slots.with_columns(
        los=pl.Series(np.where(ip, los, 0)),
        leave=pl.Series(np.where(ip, leave, 0)),
        admit=pl.col("service")
        - pl.duration(days=pl.lit(pl.Series(np.where(b01, -1, np.where(ip, span, 0))))),
        time_in=pl.Series(np.where(ip, t_in, t_opd.astype(np.int64))),
        time_out=pl.Series(np.where(ip, t_out.astype(np.int64), 0)),
        dischs=_choice(("2", "2", "2", "2", "1", "1", "3"), rng.random(n)),
    )
