"""Drops in any claim format: the generator's :class:`Producer` with its writing step swapped.

The draw is untouched: the same seed and arguments draw the same claims, tables and faults
whatever the format (``--portable`` changes the draw, in ``jobs.synth.portable``). Each drop's
16 tables then go to the format's writer instead of the text files: ``cipn_writer`` (inpatient
claims only), ``claimrec_writer`` (outpatient only) or ``fhir_writer`` (both). Drop names
keep ``<HCODE>_<TAG>_<YYYYMMDD>_<n>`` with the tag ``16F``, ``CIPN``, ``CLAIMREC`` or ``FHIR``;
a drop with no claim of the format's kinds is not written.

Faults are counted as written: those on claims the format leaves out are not, those it cannot
say are not (``_SAID``), those it says with another code are counted under that code (B04 as
B10 in CIPN, a truncated FHIR XML as F06, an undecodable FHIR JSON as F01).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from jobs.synth.cipn_writer import encode_cipn
from jobs.synth.claimrec_writer import encode_claimrec
from jobs.synth.claims import diagnoses, procedures, stays
from jobs.synth.exchange import CATEGORY_CARRIER, DropMeta, Encoded
from jobs.synth.fhir_writer import encode_fhir
from jobs.synth.items import charges
from jobs.synth.names import changwat_codes
from jobs.synth.plan import DropPlan, HospitalPlan
from jobs.synth.pools import drop_rng
from jobs.synth.portable import portable_slots, without_leave
from jobs.synth.produce import Producer
from jobs.synth.slots import HospitalState
from jobs.synth.tables import Content, build_tables
from jobs.synth.writer import DropStyle, choose_style, copy_drop, zip_bytes

__all__ = ["FORMATS", "FormatProducer"]

Tables = dict[str, pl.DataFrame]

FORMATS = ("16files", "cipn", "claimrec", "fhir-json", "fhir-xml")
_TAGS = {"cipn": "CIPN", "claimrec": "CLAIMREC", "fhir-json": "FHIR", "fhir-xml": "FHIR"}
_KINDS = {
    "cipn": ("IPD",),
    "claimrec": ("OPD",),
    "fhir-json": ("OPD", "IPD"),
    "fhir-xml": ("OPD", "IPD"),
}
#: Claim faults a format says with another code, or cannot say (None).
_SAID: dict[str, dict[str, str | None]] = {
    "cipn": {"B04": "B10", "C06": None, "S06": None},
    "claimrec": {"B05": None, "B06": None},
    "fhir-json": {"S01": None},
    "fhir-xml": {"S01": None},
}
#: Drop faults a format answers with another code.
_DROP_SAID = {"fhir-json": {"F02": "F01"}, "fhir-xml": {"F01": "F06"}}
_ARCHIVED = ("cipn", "claimrec")


def encode(fmt: str, tables: Tables, meta: DropMeta) -> Encoded:
    """A drop's tables in format ``fmt`` (not ``16files``)."""
    if fmt == "cipn":
        return encode_cipn(tables, meta)
    if fmt == "claimrec":
        return encode_claimrec(tables, meta)
    return encode_fhir(tables, meta, xml=fmt == "fhir-xml")


def _with_categories(tables: Tables, items: pl.DataFrame) -> Tables:
    """ADP and DRU with each item's charge category (build_tables keeps their row order)."""
    out = dict(tables)
    for kind in ("ADP", "DRU"):
        category = items.filter(pl.col("kind") == kind)["category"]
        if category.len() != out[kind].height:
            raise AssertionError(f"{kind}: {out[kind].height} rows, {category.len()} categories")
        out[kind] = out[kind].with_columns(category.alias(CATEGORY_CARRIER))
    return out


def _store(folder: Path, name: str, encoded: Encoded, day: date, *, cut: bool = False) -> Path:
    """Write a ZIP or the single file; ``cut``: only the first half of its bytes (F01)."""
    folder.mkdir(parents=True, exist_ok=True)
    if encoded.archive or (cut and len(encoded.files) > 1):
        target, data = folder / f"{name}.zip", zip_bytes(encoded.files, day)
    else:
        target, data = folder / f"{name}{encoded.suffix}", next(iter(encoded.files.values()))
    target.write_bytes(data[: len(data) // 2] if cut else data)
    return target


@dataclass(slots=True)
class FormatProducer(Producer):
    """A :class:`Producer` that writes every drop in ``fmt``, the draw ``portable`` or not.

    ``said`` counts the faults as written (used for every format but ``16files``, whose
    counts are the parent's ``faults``); ``written_claims`` the claims of the regular drops.
    """

    fmt: str = "16files"
    portable: bool = False
    said: Counter[str] = field(default_factory=Counter)
    written_claims: int = 0
    drawn: pl.DataFrame | None = None  # key, fault of the drop being made
    retained: frozenset[str] = frozenset()  # keys whose correction is legitimate

    def _name(self, hcode: str, number: int, day: object = None) -> str:
        name = Producer._name(self, hcode, number, day)
        return name if self.fmt == "16files" else name.replace("_16F_", f"_{_TAGS[self.fmt]}_", 1)

    def _tables(
        self,
        state: HospitalState,
        slots: pl.DataFrame,
        rng: np.random.Generator,
        *,
        hcode: str | None = None,
        be: bool = False,
    ) -> Tables:
        # The parent's steps in the parent's order (the generator's draws must not move).
        self.retained = frozenset(k for frame in state.retained for k in frame["key"].to_list())
        if self.portable:
            slots = portable_slots(slots)
        slots, dx = diagnoses(self.cat, slots, rng)
        slots = stays(slots, rng)
        if self.portable:
            slots = without_leave(slots)
        proc = procedures(slots, rng)
        drawn = charges(self.cat, slots, rng)
        tables = build_tables(
            Content(slots, dx, proc, drawn),
            hcode or state.hcode,
            # Buddhist-era dates are a 16-file habit; the XML and FHIR exporters write ISO.
            be=be and self.fmt == "16files",
            rng=rng,
            provinces=changwat_codes(self.cat.hospitals),
        )
        if self.fmt == "16files":
            return tables
        self.drawn = slots.select("key", "fault")
        return _with_categories(tables, drawn.items)

    def _meta(self, hcode: str, day: date, name: str, style: DropStyle) -> DropMeta:
        return DropMeta(
            hcode=hcode,
            day=day,
            session=int(name.rsplit("_", 1)[1]),
            codec="utf-8" if style.encoding == "utf-8" else "cp874",
            eol=style.eol,
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
        if self.fmt == "16files":
            return Producer._write(self, folder, name, tables, style, drop, extra=extra)
        drawn, self.drawn = self.drawn, None
        hcode = folder.parent.name if folder.name == "corrections" else folder.name
        day = drop.day if drop else self.cat.as_of
        encoded = encode(self.fmt, tables, self._meta(hcode, day, name, style))
        if not encoded.files:
            return folder / name
        target = _store(folder, name, encoded, day)
        self.drops[hcode] += 1
        self.items += encoded.items
        if extra:
            self.extra_claims += encoded.claims
        else:
            self.written_claims += encoded.claims
        self._count(tables, drawn, corrections=folder.name == "corrections", regular=not extra)
        self.said["S05"] += encoded.orphans
        if hcode == self.cat.unknown["hcode"]:
            self.said["F07"] += 1
        return target

    def _count(
        self, tables: Tables, drawn: pl.DataFrame | None, *, corrections: bool, regular: bool
    ) -> None:
        """Faults of the claims written, as the format says them; K01 and K03 by key."""
        kinds = _KINDS[self.fmt]
        keys = {k for kind in kinds for k in tables[kind]["AN" if kind == "IPD" else "SEQ"]}
        if drawn is None:  # a drop of resent claims
            self.said["K01"] += len(keys)
            return
        placed = drawn.filter(pl.col("fault").is_not_null() & pl.col("key").is_in(list(keys)))
        for code, count in placed["fault"].value_counts().iter_rows():
            said = _SAID[self.fmt].get(code, code)
            if said is not None:
                self.said[said] += count
        if corrections:
            self.said["K03"] += len(keys - self.retained)
        elif regular:
            self.said["K01"] += len(keys - set(drawn["key"]))

    def _broken(
        self, state: HospitalState, hp: HospitalPlan, code: str, number: int, first: Path | None
    ) -> None:
        """A whole drop refused with ``code``, said the format's way (F01 a truncated file)."""
        if self.fmt == "16files":
            Producer._broken(self, state, hp, code, number, first)
            return
        folder = self.inbox / hp.hcode
        name = self._name(hp.hcode, number)
        if code == "F08":
            # The hospital's first drop written (its first regular one may hold no claim of
            # the format's kinds, and then was not written).
            written = sorted(p for p in folder.glob(f"{hp.hcode}_*") if p.is_file())
            source = first if first is not None and first.exists() else next(iter(written), None)
            if source is not None:
                copy_drop(source, folder, name)
                self.drops[hp.hcode] += 1
                self.said["F08"] += 1
            return
        rng = drop_rng(self.seed, 4, hp.index, number)
        style = choose_style(rng, self.cat.as_of)
        tables = self._tables(state, self._small(state, hp, rng), rng, be=style.be)
        self.drawn = None
        meta = self._meta(hp.hcode, self.cat.as_of, name, style)
        encoded = encode(self.fmt, tables, replace(meta, fault=None if code == "F01" else code))
        if not encoded.files:
            return
        if code == "F01" and self.fmt in _ARCHIVED:
            encoded = replace(encoded, archive=True)
        _store(folder, name, encoded, self.cat.as_of, cut=code == "F01")
        self.drops[hp.hcode] += 1
        self.extra_claims += encoded.claims
        self.said[_DROP_SAID.get(self.fmt, {}).get(code, code)] += 1
