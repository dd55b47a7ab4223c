"""Writing the drops of a plan, one drop in memory at a time."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from jobs.synth.assign import assign_faults
from jobs.synth.catalog import Catalog
from jobs.synth.claims import diagnoses, procedures, stays
from jobs.synth.faults import append_copies, break_rows, orphan_rows
from jobs.synth.items import charges
from jobs.synth.names import changwat_codes
from jobs.synth.plan import DropPlan, HospitalPlan, Plan
from jobs.synth.pools import drop_rng
from jobs.synth.slots import HospitalState, assign_keys, draw_slots, fresh_keys
from jobs.synth.tables import HEADERS, Content, build_tables
from jobs.synth.writer import (
    DropStyle,
    choose_style,
    copy_drop,
    encode_tables,
    write_drop,
    zip_bytes,
)

__all__ = ["Producer"]

Tables = dict[str, pl.DataFrame]
_SMALL_DROP = 25


@dataclass(slots=True)
class _Previous:
    """The last regular drop of a hospital: its tables and its clean claims (for K01)."""

    tables: Tables
    clean: pl.DataFrame  # key, hn
    path: Path


@dataclass(slots=True)
class Producer:
    """Generates and writes every drop of a plan, counting what it wrote."""

    cat: Catalog
    plan: Plan
    seed: int
    inbox: Path
    faults: Counter[str] = field(default_factory=Counter)
    drops: Counter[str] = field(default_factory=Counter)
    claims: int = 0
    extra_claims: int = 0
    items: int = 0
    pending: Counter[str] = field(default_factory=Counter)

    def _name(self, hcode: str, number: int, day: object = None) -> str:
        when = day or self.cat.as_of
        return f"{hcode}_16F_{when:%Y%m%d}_{number:0{self.plan.name_width}d}"

    def _tables(
        self,
        state: HospitalState,
        slots: pl.DataFrame,
        rng: np.random.Generator,
        *,
        hcode: str | None = None,
        be: bool = False,
    ) -> Tables:
        slots, dx = diagnoses(self.cat, slots, rng)
        slots = stays(slots, rng)
        content = Content(slots, dx, procedures(slots, rng), charges(self.cat, slots, rng))
        return build_tables(
            content,
            hcode or state.hcode,
            be=be,
            rng=rng,
            provinces=changwat_codes(self.cat.hospitals),
        )

    def _write(
        self,
        folder: Path,
        name: str,
        tables: Tables,
        style: DropStyle,
        drop: DropPlan | None = None,
        *,
        extra: bool = True,
    ) -> Path:
        claims = tables["OPD"]["SEQ"].n_unique() + tables["IPD"]["AN"].n_unique()
        if extra:
            self.extra_claims += claims
        self.items += tables["ADP"].height + tables["DRU"].height
        self.drops[folder.name if folder.name != "corrections" else folder.parent.name] += 1
        return write_drop(
            folder,
            name,
            encode_tables(tables, style),
            as_zip=style.as_zip,
            day=drop.day if drop else self.cat.as_of,
        )

    def _other_hcode(self, state: HospitalState) -> str:
        return str(self.cat.hospitals["hcode"][int(state.others[0])])

    def hospital(self, hp: HospitalPlan, progress: Callable[[int], None]) -> None:
        """Every drop of one hospital: regular ones, then resent, broken and corrections."""
        state = HospitalState.of(self.cat, hp.index)
        previous: _Previous | None = None
        first: Path | None = None
        k03 = 0
        for drop in hp.drops:
            wanted = drop.faults + self.pending
            previous, left = self._regular(state, hp, drop, wanted, previous)
            k03 += left.pop("K03", 0)
            self.pending = left
            first = first or previous.path
            progress(drop.size)
        number = len(hp.drops)
        if self.pending.get("K01") and previous is not None:
            number += 1
            self._resend(hp, previous, self.pending.pop("K01"), number)
        for code in hp.drop_faults:
            number += 1
            self._broken(state, hp, code, number, first)
        self._corrections(state, hp, k03, number + 1)

    def _regular(
        self,
        state: HospitalState,
        hp: HospitalPlan,
        drop: DropPlan,
        wanted: Counter[str],
        previous: _Previous | None,
    ) -> tuple[_Previous, Counter[str]]:
        rng = drop_rng(self.seed, 1, hp.index, drop.number)
        style = choose_style(rng, drop.day)
        slots = draw_slots(self.cat, self.plan.population, state, drop.size, drop.window, rng)
        usable = (
            previous.clean.filter(~pl.col("hn").is_in(slots["hn"].to_list()))
            if previous
            else pl.DataFrame(schema={"key": pl.String, "hn": pl.String})
        )
        slots, left = assign_faults(self.cat, slots, wanted, rng, usable.height)
        resent = int((slots["fault"] == "K01").sum())
        slots = assign_keys(slots.filter(pl.col("fault").fill_null("") != "K01"), state)
        if drop.number == 1:
            clean = slots.filter(pl.col("fault").is_null() & ~pl.col("k02_source"))
            state.retained = [
                clean.sample(min(hp.corrections, clean.height), seed=int(rng.integers(1 << 31)))
            ]
        tables = self._tables(state, slots, rng, be=style.be)
        tables = break_rows(tables, slots, rng, self._other_hcode(state))
        orphans = left.pop("S05", 0)
        if orphans:
            year = f"{(self.cat.as_of.year + 543) % 100:02d}"
            tables = orphan_rows(tables, fresh_keys(state, orphans, year), rng)
        if resent and previous is not None:
            copies = usable.sample(resent, seed=int(rng.integers(1 << 31)))
            tables = append_copies(
                tables, previous.tables, copies["key"].to_list(), copies["hn"].to_list()
            )
        placed = slots["fault"].drop_nulls().value_counts()
        self.faults.update(dict(zip(placed["fault"], placed["count"], strict=True)))
        self.faults.update({"S05": orphans, "K01": resent})
        self.claims += slots.height + resent
        path = self._write(
            self.inbox / hp.hcode,
            self._name(hp.hcode, drop.number, drop.day),
            tables,
            style,
            drop,
            extra=False,
        )
        clean = slots.filter(pl.col("fault").is_null()).select("key", "hn")
        return _Previous(_strip(tables), clean, path), left

    def _small(
        self, state: HospitalState, hp: HospitalPlan, rng: np.random.Generator, n: int = _SMALL_DROP
    ) -> pl.DataFrame:
        window = hp.drops[-1].window
        slots = draw_slots(self.cat, self.plan.population, state, n, window, rng)
        slots, _ = assign_faults(self.cat, slots, Counter(), rng, 0)
        return assign_keys(slots, state)

    def _resend(self, hp: HospitalPlan, previous: _Previous, count: int, number: int) -> None:
        rng = drop_rng(self.seed, 2, hp.index, number)
        copies = previous.clean.sample(
            min(count, previous.clean.height), seed=int(rng.integers(1 << 31))
        )
        empty = {t: pl.DataFrame(schema=dict.fromkeys(h, pl.String)) for t, h in HEADERS.items()}
        tables = append_copies(
            empty, previous.tables, copies["key"].to_list(), copies["hn"].to_list()
        )
        self._write(
            self.inbox / hp.hcode,
            self._name(hp.hcode, number),
            tables,
            choose_style(rng, self.cat.as_of),
        )
        self.faults["K01"] += copies.height

    def _broken(
        self, state: HospitalState, hp: HospitalPlan, code: str, number: int, first: Path | None
    ) -> None:
        """A whole drop refused with ``code`` (F01-F04, F08)."""
        folder = self.inbox / hp.hcode
        name = self._name(hp.hcode, number)
        self.faults[code] += 1
        if code == "F08":
            assert first is not None
            copy_drop(first, folder, name)
            self.drops[hp.hcode] += 1
            return
        rng = drop_rng(self.seed, 4, hp.index, number)
        style = choose_style(rng, self.cat.as_of)
        tables = self._tables(state, self._small(state, hp, rng), rng, be=style.be)
        if code == "F03":
            del tables["CHA"]
        if code == "F04":
            tables["PAT"] = tables["PAT"].drop("PERSON_ID")
        if code not in ("F01", "F02"):
            self._write(folder, name, tables, style)
            return
        files = encode_tables(tables, style)
        self.drops[hp.hcode] += 1
        self.extra_claims += _SMALL_DROP
        if code == "F02":
            pat = next(f for f in files if f.upper().startswith("PAT"))
            cut = files[pat].index(b"\n") + 6
            files[pat] = files[pat][:cut] + b"\xfe\xff" + files[pat][cut:]
            write_drop(folder, name, files, as_zip=style.as_zip, day=self.cat.as_of)
            return
        archive = zip_bytes(files, self.cat.as_of)
        (folder / f"{name}.zip").write_bytes(archive[: len(archive) // 2])

    def unknown_hospital(self, number: int) -> None:
        """F07: a drop in the folder of a hospital code that the reference does not know."""
        hp = self.plan.hospitals[0]
        state = HospitalState.of(self.cat, hp.index)
        rng = drop_rng(self.seed, 5, number)
        hcode = self.cat.unknown["hcode"]
        style = choose_style(rng, self.cat.as_of)
        tables = self._tables(state, self._small(state, hp, rng), rng, hcode=hcode, be=style.be)
        self._write(self.inbox / hcode, self._name(hcode, number), tables, style)
        self.faults["F07"] += 1

    def _corrections(self, state: HospitalState, hp: HospitalPlan, k03: int, number: int) -> None:
        """Corrections of earlier claims, plus (K03) corrections of claims never sent."""
        rng = drop_rng(self.seed, 3, hp.index)
        parts = [*state.retained]
        if k03:
            parts.append(self._small(state, hp, rng, k03))
        slots = pl.concat(parts, how="vertical_relaxed") if parts else None
        if slots is None or slots.height == 0:
            return
        style = choose_style(rng, self.cat.as_of)
        tables = self._tables(state, slots, rng, be=style.be)
        self._write(
            self.inbox / hp.hcode / "corrections", self._name(hp.hcode, number), tables, style
        )
        self.faults["K03"] += k03


def _strip(tables: Tables) -> Tables:
    return {
        name: t.select(c for c in t.columns if not c.startswith("_")) for name, t in tables.items()
    }
