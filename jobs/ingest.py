"""The ingest job: drops in, judged claims stored, one acknowledgement per drop out.

Per drop: size check (F01), hash, duplicate check (F08), read (F01–F04), submitting hospital
(F07), judge, then one locked transaction that adds the history rules (K01–K03), versions,
periods and stores everything; the acknowledgement is built from the database after commit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl
from sqlalchemy import Engine

from clearinghouse.errors import DropRefused, UsageError
from clearinghouse.failpoints import failpoint
from clearinghouse.judge import Judgement, add_codes, judge_drop
from clearinghouse.money import format_baht
from clearinghouse.obligations import claim_obligations, reversals
from clearinghouse.persistence.claims_store import (
    DropRecord,
    ack_items,
    ack_rows,
    assign_period,
    find_drop,
    history,
    insert_drop,
    replaced_obligations,
    store_claims,
    store_obligations,
)
from clearinghouse.persistence.db import locked_transaction, next_id
from clearinghouse.persistence.reference_store import load_reference, registry_for
from clearinghouse.rules.keys import key_codes, near_duplicates, versions
from clearinghouse.settings import Settings
from formats.ack import ack_stem, refusal_rows, write_ack
from formats.drop import DropSource, discover, drop_hash, drop_size, is_zip
from formats.fhir_ack import claim_responses, write_fhir_ack
from formats.reader import (
    Transported,
    drop_format,
    member_bytes,
    read_drop,
    read_transport,
    transport_members,
)
from formats.sixteen import RawDrop
from jobs.adjudicate import ADJUDICATION_TABLES, adjudicate

__all__ = ["DropResult", "IngestRequest", "ingest", "plan"]

#: Members of a CIPN transport read and mapped together (bounds the memory they hold).
TRANSPORT_BATCH = 256
#: Reference frames loaded once per run; the registry is looked up per drop by person id.
JUDGING_TABLES = tuple({"icd10", "charge_categories", *ADJUDICATION_TABLES} - {"registry"})


@dataclass(frozen=True, slots=True)
class IngestRequest:
    paths: Sequence[Path]
    received: dt.date
    hcode: str | None = None
    corrections: bool = False
    ack_dir: Path = Path("ack")


@dataclass(frozen=True, slots=True)
class DropResult:
    """One printed line: what happened to one drop."""

    name: str
    hcode: str | None
    outcome: str  # OK, F, DUP, ACK (acknowledgement rewritten)
    code: str | None
    claims: int
    accepted: int
    denied: int
    rejected: int
    ack: Path


def _money(satang: int) -> str:
    frame = pl.DataFrame({"satang": [satang]}, schema={"satang": pl.Int64})
    return str(frame.select(format_baht(pl.col("satang"))).item())


def _summary(rec: DropRecord, orphans: int) -> dict[str, Any]:
    return {
        "hcode": rec.hcode,
        "received": rec.received.isoformat(),
        "sha256": rec.sha256,
        "drop": rec.name,
        "format": rec.format,
        "status": rec.status,
        "code": rec.code,
        "message": rec.message,
        "corrections": rec.corrections,
        "reference_version": rec.reference_version_id,
        "rows_read": rec.rows_read,
        "rows_total": sum(rec.rows_read.values()),
        "claims": {"total": rec.claims, "A": rec.accepted, "D": rec.denied, "C": rec.rejected},
        "orphan_rows": orphans,
        "charged": _money(rec.charged),
        "allowed": _money(rec.allowed),
        "ignored_files": rec.ignored_files,
    }


#: Formats whose submitters also get the acknowledgement as a FHIR Bundle of ClaimResponse,
#: in the syntax they sent.
FHIR_ACK_SYNTAX = {"fhir-json": "json", "fhir-xml": "xml"}


def _write_fhir_ack(
    rec: DropRecord,
    ack_dir: Path,
    stem: str,
    *,
    received: dt.date,
    rows: pl.DataFrame | None = None,
    items: pl.DataFrame | None = None,
    refusal: tuple[str, str] | None = None,
) -> None:
    """The FHIR twin of a FHIR drop's acknowledgement (docs/ack-fhir.md), written before the
    CSV so that a CSV on disk means the whole acknowledgement is there."""
    syntax = FHIR_ACK_SYNTAX.get(rec.format)
    if syntax is None:
        return
    empty = pl.DataFrame()
    bundle = claim_responses(
        rows if rows is not None else empty,
        items if items is not None else empty,
        hcode=rec.hcode or "",
        received=received,
        sha256=rec.sha256,
        drop=rec.name,
        refusal=refusal,
        message=rec.message,
    )
    write_fhir_ack(ack_dir, stem, bundle, syntax=syntax)


def _write_stored_ack(engine: Engine, rec: DropRecord, ack_dir: Path) -> Path:
    """Build the acknowledgement of a stored drop from the database and write it."""
    stem = ack_stem(rec.hcode, rec.received, rec.sha256)
    if rec.status == "F":
        refusal = ("F", rec.code or "")
        _write_fhir_ack(rec, ack_dir, stem, received=rec.received, refusal=refusal)
        return write_ack(ack_dir, stem, rec.hcode, refusal_rows(*refusal), _summary(rec, 0))
    with engine.connect() as conn:
        rows = ack_rows(conn, rec.id)
        items = ack_items(conn, rec.id) if rec.format in FHIR_ACK_SYNTAX else None
    _write_fhir_ack(rec, ack_dir, stem, received=rec.received, rows=rows, items=items)
    orphans = rows.filter(pl.col("claim_key").is_null()).height
    return write_ack(ack_dir, stem, rec.hcode, rows, _summary(rec, orphans))


def _result(rec: DropRecord, outcome: str, ack: Path, name: str | None = None) -> DropResult:
    """The printed outcome; ``name`` is the drop as submitted (a duplicate's own path)."""
    return DropResult(
        name or rec.name,
        rec.hcode,
        outcome,
        rec.code,
        rec.claims,
        rec.accepted,
        rec.denied,
        rec.rejected,
        ack,
    )


def _keep_raw(settings: Settings, source: DropSource, sha256: str) -> None:
    """Keep the drop's original bytes in the raw store, named by hash (before the commit)."""
    store = settings.raw_store
    store.mkdir(parents=True, exist_ok=True)
    path = source.path
    if source.member is not None:  # a transported CIPN file: its own bytes, as an .xml
        target = store / f"{sha256}{Path(source.name).suffix.lower() or '.xml'}"
        if not target.exists():
            part = target.with_suffix(".part")
            part.write_bytes(member_bytes(path, source.member.name, settings.max_drop_bytes))
            part.replace(target)
        return
    if path.is_file():
        target = store / f"{sha256}{path.suffix.lower()}"
        if not target.exists():
            shutil.copyfile(path, target.with_suffix(".part"))
            target.with_suffix(".part").replace(target)
        return
    target = store / f"{sha256}.zip"
    if target.exists():
        return
    part = target.with_suffix(".part")
    with zipfile.ZipFile(part, "w", zipfile.ZIP_DEFLATED) as archive:
        for member in sorted(
            p for p in path.iterdir() if p.is_file() and not p.name.startswith(".")
        ):
            info = zipfile.ZipInfo(member.name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, member.read_bytes())
    part.replace(target)


def _submitter(source: DropSource, request: IngestRequest, raw: RawDrop) -> str | None:
    """The inbox folder, else ``--hcode``, else the single HCODE found in the drop's rows."""
    if source.hcode:
        return source.hcode
    if request.hcode:
        return request.hcode
    found = (
        pl.concat([raw.tables["PAT"].select("HCODE"), raw.tables["DRU"].select("HCODE")])
        .select(pl.col("HCODE").str.strip_chars())
        .filter(pl.col("HCODE") != "")
        .unique()
    )
    return found.item() if found.height == 1 else None


def _refuse(
    engine: Engine,
    source: DropSource,
    request: IngestRequest,
    sha256: str,
    size: int,
    hcode: str | None,
    refusal: DropRefused,
    kind: str,
) -> DropResult:
    with locked_transaction(engine) as conn:
        if (existing := find_drop(conn, sha256)) is not None:
            return _result(existing, "DUP", _duplicate_ack(existing, request), source.name)
        rec = _record(
            next_id(conn, "claim_drop"),
            source,
            request,
            sha256,
            hcode,
            None,
            kind=kind,
            status="F",
            code=refusal.code,
            message=refusal.message,
        )
        insert_drop(conn, rec, size=size)
    return _result(rec, "F", _write_stored_ack(engine, rec, request.ack_dir))


def _record(
    drop_id: int,
    source: DropSource,
    request: IngestRequest,
    sha256: str,
    hcode: str | None,
    raw: RawDrop | None,
    *,
    kind: str,
    status: str = "OK",
    code: str | None = None,
    message: str | None = None,
    reference_version: int | None = None,
    claims: pl.DataFrame | None = None,
) -> DropRecord:
    counts = {"A": 0, "D": 0, "C": 0}
    charged = allowed = 0
    if claims is not None:
        counts.update(dict(claims.group_by("status").len().iter_rows()))
        charged = int(claims["charged"].sum())
        allowed = int(claims.filter(pl.col("status").is_in(["A", "D"]))["allowed"].sum())
    return DropRecord(
        id=drop_id,
        sha256=sha256,
        hcode=hcode,
        received=request.received,
        status=status,
        code=code,
        message=message,
        name=source.name,
        format=kind,
        rows_read=dict(raw.rows_read) if raw else {},
        ignored_files=list(raw.ignored_files) if raw else [],
        claims=0 if claims is None else claims.height,
        accepted=counts["A"],
        denied=counts["D"],
        rejected=counts["C"],
        charged=charged,
        allowed=allowed,
        reference_version_id=reference_version,
        corrections=source.corrections or request.corrections,
    )


def _duplicate_ack(existing: DropRecord, request: IngestRequest) -> Path:
    stem = ack_stem(existing.hcode, request.received, existing.sha256, duplicate=True)
    _write_fhir_ack(
        existing, request.ack_dir, stem, received=request.received, refusal=("DUP", "F08")
    )
    return write_ack(
        request.ack_dir,
        stem,
        existing.hcode,
        refusal_rows("DUP", "F08"),
        {
            **_summary(existing, 0),
            "status": "DUP",
            "code": "F08",
            "received": request.received.isoformat(),
        },
    )


def _apply_history(judgement: Judgement, past: pl.DataFrame, corrections: bool) -> Judgement:
    judged = add_codes(judgement, key_codes(judgement.claims, past, corrections=corrections))
    return add_codes(judged, near_duplicates(judged.claims, past))


def _claim_rows(
    judged: Judgement,
    numbered: pl.DataFrame,
    *,
    hcode: str,
    period: str,
    request: IngestRequest,
    corrections: bool,
    reference_version: int,
) -> pl.DataFrame:
    accepted = pl.col("status") == "A"
    replaces = (
        pl.when(pl.lit(corrections) & (pl.col("status") != "C"))
        .then(pl.col("replaceable"))
        .otherwise(None)
    )
    return judged.claims.join(numbered, on=["claim_type", "claim_key"]).select(
        hcode=pl.lit(hcode),
        claim_type="claim_type",
        claim_key="claim_key",
        version="version",
        person_id="person_id",
        hn="hn",
        status="status",
        period=pl.lit(period),
        received=pl.lit(request.received),
        correction=pl.lit(corrections),
        replaces_version=replaces,
        file="file",
        line="line",
        service_date="service_date",
        coverage_date="coverage_date",
        admitted_at="admitted_at",
        discharged_at="discharged_at",
        charged="charged",
        allowed="allowed",
        reference_version_id=pl.lit(reference_version, pl.Int64),
        drg="drg",
        adjrw_e4="adjrw_e4",
        coverage_fund="coverage_fund",
        hmain="hmain",
        # Money moves for accepted versions only: a referral charge of a C or D version is none.
        refer_charge_to=pl.when(accepted).then(pl.col("refer_charge_to")),
        refer_charge=pl.when(accepted).then(pl.col("refer_charge")),
        derivation="derivation",
    )


def _ingest_one(
    engine: Engine,
    settings: Settings,
    source: DropSource,
    request: IngestRequest,
    reference: tuple[int, dict[str, pl.DataFrame]],
    transported: Transported | None = None,
) -> DropResult:
    """One drop, all or nothing. ``transported``: a CIPN transport member as its batch read
    it (its drop and the hash of its bytes); every member source comes with one."""
    member = source.member
    size = drop_size(source.path) if member is None else member.size
    name_hash = hashlib.sha256(f"oversize:{source.name}:{size}".encode()).hexdigest()
    hcode = source.hcode or request.hcode
    if size > settings.max_drop_bytes:
        # Refused after a stat: a ZIP is not opened, a file's first bytes say its format.
        kind = "cipn" if member else "zip" if is_zip(source.path) else drop_format(source.path)
        refusal = DropRefused("F01", f"larger than the maximum of {settings.max_drop_bytes} bytes")
        return _refuse(engine, source, request, name_hash, size, hcode, refusal, kind)
    kind = "cipn" if member is not None else drop_format(source.path, settings.max_drop_bytes)
    if member is None:
        sha256 = drop_hash(source.path)
    elif transported is None:
        raise ValueError(f"{source.name}: a transport member is ingested from its batch's read")
    elif transported.sha256 is not None:
        sha256 = transported.sha256
    else:  # a member whose bytes could not be read (unpacking beyond the maximum, damaged)
        unread = transported.drop
        assert isinstance(unread, DropRefused)  # no bytes, so no drop was made of them
        return _refuse(engine, source, request, name_hash, size, hcode, unread, kind)
    with engine.connect() as conn:
        existing = find_drop(conn, sha256)
    if existing is not None:
        stem = ack_stem(existing.hcode, existing.received, existing.sha256)
        if not (request.ack_dir / f"{stem}.csv").exists():
            # Committed, but the process died before its acknowledgement was written.
            return _result(existing, "ACK", _write_stored_ack(engine, existing, request.ack_dir))
        return _result(existing, "DUP", _duplicate_ack(existing, request), source.name)
    try:
        if transported is not None:
            member_drop = transported.drop
            if isinstance(member_drop, DropRefused):
                raise member_drop
            raw = member_drop
        else:
            raw = read_drop(
                source.path, kind, max_bytes=settings.max_drop_bytes, timezone=settings.timezone
            )
    except DropRefused as refusal:
        return _refuse(engine, source, request, sha256, size, hcode, refusal, kind)
    hcode = _submitter(source, request, raw)
    version_id, frames = reference
    if hcode is None or hcode not in set(frames["hospitals"]["hcode"].to_list()):
        why = "cannot be determined" if hcode is None else f"{hcode} is not a known hospital"
        return _refuse(
            engine,
            source,
            request,
            sha256,
            size,
            hcode,
            DropRefused("F07", f"submitting hospital {why}"),
            kind,
        )
    corrections = source.corrections or request.corrections
    judgement = judge_drop(
        raw.tables,
        hcode=hcode,
        received=request.received,
        reference=frames,
        raised=raw.raised,
        absent=raw.absent,
    )
    with engine.connect() as conn:
        registry = registry_for(
            conn, version_id, judgement.claims.filter(pl.col("person_id") != "")
        )
    adjudication = adjudicate(judgement, hcode=hcode, reference={**frames, "registry": registry})
    with locked_transaction(engine) as conn:
        if (again := find_drop(conn, sha256)) is not None:
            return _result(again, "DUP", _duplicate_ack(again, request), source.name)
        past = history(conn, hcode, judgement.claims)
        judged = _apply_history(adjudication.judgement, past, corrections)
        period = assign_period(conn, request.received)
        numbered = versions(judged.claims, past)
        drop_id = next_id(conn, "claim_drop")
        claims = _claim_rows(
            judged,
            numbered,
            hcode=hcode,
            period=period,
            request=request,
            corrections=corrections,
            reference_version=version_id,
        )
        rec = _record(
            drop_id,
            source,
            request,
            sha256,
            hcode,
            raw,
            kind=kind,
            reference_version=version_id,
            claims=claims,
        )
        insert_drop(conn, rec, size=size)
        stored, shares = store_claims(
            conn,
            drop_id=drop_id,
            claims=claims,
            items=judged.items,
            codes=judged.codes,
            orphans=judged.orphans,
            payers=adjudication.payers.join(
                claims.filter(pl.col("status") == "A").select("claim_type", "claim_key"),
                on=["claim_type", "claim_key"],
                how="semi",
            ),
            chunk_rows=settings.sqlite_chunk_rows,
        )
        replaced = stored.filter(
            pl.col("correction")
            & (pl.col("status") != "C")
            & pl.col("replaces_version").is_not_null()
        ).select("claim_type", "claim_key", version="replaces_version")
        owed = [claim_obligations(stored, shares)]
        if replaced.height:
            owed.append(reversals(replaced_obligations(conn, hcode, replaced), period))
        store_obligations(
            conn,
            pl.concat(owed),
            drop_id=drop_id,
            chunk_rows=settings.sqlite_chunk_rows,
        )
        _keep_raw(settings, source, sha256)
        failpoint("ingest:before-commit")
    failpoint("ingest:after-commit")
    return _result(rec, "OK", _write_stored_ack(engine, rec, request.ack_dir))


def expand(sources: Sequence[DropSource], max_bytes: int) -> list[DropSource]:
    """Each CIPN transport ZIP replaced by its XML members, each a drop of its own (in archive
    order); a transport that cannot be opened safely stays one drop, which its reading
    refuses (F01)."""
    expanded: list[DropSource] = []
    for source in sources:
        if source.member is None and is_zip(source.path) and drop_size(source.path) <= max_bytes:
            try:
                members = transport_members(source.path, max_bytes)
            except DropRefused:
                members = []
            if members:
                expanded += [replace(source, member=member) for member in members]
                continue
        expanded.append(source)
    return expanded


def plan(request: IngestRequest, max_bytes: int) -> list[DropSource]:
    """The drops of a request, in the order they will be ingested."""
    return expand(discover(request.paths, corrections=request.corrections), max_bytes)


def ingest(
    engine: Engine,
    settings: Settings,
    request: IngestRequest,
    sources: list[DropSource] | None = None,
) -> Iterator[DropResult]:
    """Ingest every drop of the request (or the planned ``sources``) in order, one result each."""
    today = dt.datetime.now(ZoneInfo(settings.timezone)).date()
    if request.received > today:
        raise UsageError(f"--received {request.received} is in the future (today is {today})")
    sources = expand(
        plan(request, settings.max_drop_bytes) if sources is None else sources,
        settings.max_drop_bytes,
    )
    with engine.connect() as conn:
        reference = load_reference(conn, tables=JUDGING_TABLES)
    preread: dict[tuple[Path, str], Transported] = {}
    for at, source in enumerate(sources):
        member = source.member
        if member is not None and (source.path, member.name) not in preread:
            # The next members of this transport are read and mapped together.
            batch = [
                s.member.name
                for s in sources[at : at + TRANSPORT_BATCH]
                if s.member is not None and s.path == source.path
            ]
            found = read_transport(source.path, batch, max_bytes=settings.max_drop_bytes)
            preread.update({(source.path, name): drop for name, drop in found.items()})
        own = preread.pop((source.path, member.name), None) if member is not None else None
        yield _ingest_one(engine, settings, source, request, reference, own)
