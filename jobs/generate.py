"""``clearinghouse generate``: a synthetic inbox of claim drops and its reference data.

The output is a pure function of the arguments: the same arguments give byte-identical files
(no wall clock, seeded generators only, ZIP members with fixed timestamps). Claims are generated
hospital by hospital, one drop in memory at a time, with vectorized columns, so a million claims
run in bounded memory.

Layout written under ``out``::

    reference/                 the reference set, registry.csv extended with the patients
    inbox/<HCODE>/<drop>       drops named <HCODE>_<TAG>_<YYYYMMDD>_<n>
    inbox/<HCODE>/corrections/ corrections of earlier claims (and K03 faults)

``fmt`` only changes how the drops are written, never which claims are drawn
(``jobs.synth.formatted``):

* ``16files`` (tag ``16F``): folders and ZIPs of the 16 text tables;
* ``cipn`` (``CIPN``): the inpatient claims only, one CIPN/AIPN document per admission, a
  ZIP of ``<AN>.xml`` (each member a drop of its own) or a single ``.xml`` for one admission;
* ``claimrec`` (``CLAIMREC``): the outpatient claims only, a ZIP of the three envelopes;
* ``fhir-json`` / ``fhir-xml`` (``FHIR``): every claim, one Bundle ``.json`` / ``.xml`` per drop.

What a format cannot carry is dropped when writing (each writer's docstring lists it);
``portable`` draws claims that use only what every format carries (``jobs.synth.portable``),
in every format, 16 files included.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import MappingProxyType

import polars as pl

from clearinghouse.errors import UsageError
from jobs.synth.catalog import load_catalog
from jobs.synth.formatted import FORMATS, FormatProducer
from jobs.synth.people import Population, registry_rows
from jobs.synth.plan import make_plan
from jobs.synth.portable import portable_catalog, portable_plan
from pricing.reference import sample_dir

__all__ = ["DEFAULT_AS_OF", "FORMATS", "GenerateReport", "generate"]

DEFAULT_AS_OF = date(2026, 10, 31)


@dataclass(frozen=True, slots=True)
class GenerateReport:
    """What :func:`generate` wrote.

    Attributes:
        out: the output folder (``inbox/`` and ``reference/`` under it).
        drops: drops written per hospital folder (regular, resent, refused and corrections).
        claims: claims in the regular drops (the requested number for ``16files``; the
            claims of the kinds the format carries otherwise).
        extra_claims: claims in the resent, refused and corrections drops.
        items: ADP and DRU lines (priced item lines) over every drop.
        persons: people in the synthetic population.
        registry_rows: rows added to the registry.
        faults: intended faults written, per rule code as the format says it (empty when
            ``error_rate`` is 0).
        format: the format of the drops.
        portable: whether the claims use only what every format carries.
    """

    out: Path
    drops: Mapping[str, int]
    claims: int
    extra_claims: int
    items: int
    persons: int
    registry_rows: int
    faults: Mapping[str, int]
    format: str = "16files"
    portable: bool = False

    @property
    def inbox(self) -> Path:
        return self.out / "inbox"

    @property
    def reference(self) -> Path:
        return self.out / "reference"


def generate(
    out: Path,
    *,
    claims: int = 5000,
    hospitals: int | None = None,
    seed: int = 1,
    error_rate: float = 0.05,
    as_of: date = DEFAULT_AS_OF,
    reference_dir: Path | None = None,
    progress: Callable[[int], None] | None = None,
    fmt: str = "16files",
    portable: bool = False,
) -> GenerateReport:
    """Write synthetic drops to ``out/inbox/<HCODE>/`` and reference data to ``out/reference/``.

    Args:
        out: output folder; its ``inbox`` and ``reference`` must not exist or be empty.
        claims: claims in the regular drops.
        hospitals: treating hospitals (default grows with ``claims``, at most the reference's).
        seed: the seed; the same arguments always give the same bytes.
        error_rate: fraction of claims carrying an intended fault (plus a handful of refused
            drops); 0 gives a clean inbox.
        as_of: the received date: services reach up to it.
        reference_dir: reference set to draw codes from and copy (default: the bundled sample).
        progress: called after each regular drop with the number of claims drawn so far.
        fmt: the drops' format, one of ``FORMATS``; it never changes which claims are drawn.
        portable: draw only claims whose outcome cannot depend on the format.

    Raises:
        UsageError: bad arguments, an unusable reference set, or a non-empty output folder.
    """
    if claims < 1:
        raise UsageError("--claims must be at least 1")
    if hospitals is not None and hospitals < 1:
        raise UsageError("--hospitals must be at least 1")
    if not 0 <= error_rate <= 1:
        raise UsageError("--error-rate must be between 0 and 1")
    if fmt not in FORMATS:
        raise UsageError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    source = reference_dir or sample_dir()
    inbox, reference = out / "inbox", out / "reference"
    for folder in (inbox, reference):
        if folder.exists() and any(folder.iterdir()):
            raise UsageError(f"{folder} is not empty: generate writes into a fresh folder")
    cat = load_catalog(source, as_of)
    if portable:
        cat = portable_catalog(cat)
    plan = make_plan(cat, claims=claims, hospitals=hospitals, seed=seed, error_rate=error_rate)
    if portable:
        plan = portable_plan(plan)
    added = _write_reference(source, reference, plan.population)
    producer = FormatProducer(
        cat=cat, plan=plan, seed=seed, inbox=inbox, fmt=fmt, portable=portable
    )
    done = 0

    def advance(n: int) -> None:
        nonlocal done
        done += n
        if progress is not None:
            progress(done)

    for hospital in plan.hospitals:
        producer.hospital(hospital, advance)
    for number in range(1, plan.unknown_hospital_drops + 1):
        producer.unknown_hospital(number)
    sixteen = fmt == "16files"  # the parent Producer's counts; the others count as written
    faults = producer.faults if sixteen else producer.said
    return GenerateReport(
        out=out,
        drops=MappingProxyType(dict(sorted(producer.drops.items()))),
        claims=producer.claims if sixteen else producer.written_claims,
        extra_claims=producer.extra_claims,
        items=producer.items,
        persons=plan.population.total,
        registry_rows=added,
        faults=MappingProxyType({c: n for c, n in sorted(faults.items()) if n}),
        format=fmt,
        portable=portable,
    )


def _write_reference(source: Path, target: Path, population: Population) -> int:
    """Copy the reference set; extend its registry with the population. Returns rows added."""
    target.mkdir(parents=True, exist_ok=True)
    for path in sorted(source.glob("*.csv")):
        if path.name != "registry.csv":
            shutil.copyfile(path, target / path.name)
    added = 0
    with (target / "registry.csv").open("wb") as handle:
        given = source / "registry.csv"
        if given.is_file():
            data = given.read_bytes()
            handle.write(data if data.endswith(b"\n") or not data else data + b"\n")
        else:
            handle.write(b"person_id,fund,hmain,valid_from,valid_to\n")
        for chunk in registry_rows(population):
            chunk.with_columns(pl.col("hmain").replace("", None)).write_csv(
                handle, include_header=False, date_format="%Y-%m-%d"
            )
            added += chunk.height
    return added
