"""``clearinghouse settle``: the nightly run (``--through``) and the month close (``--period``).

Under the global write lock (so ingests and runs never interleave): if the run exists, its
files are rebuilt from the stored run and must hash as recorded; else the run's obligations are
chosen, netted through ``CH``, checked to sum to zero, written to a staging folder and hashed,
and the run is recorded (spans, positions, creditors, hashes; the period SETTLED at a close) in
the same transaction. After the commit the staged files take their place in ``--out``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import shutil
import tempfile
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl
from sqlalchemy import Connection, Engine, select

from clearinghouse.errors import Problem, UsageError
from clearinghouse.money import format_baht
from clearinghouse.netting import positions, transfers
from clearinghouse.persistence.db import locked_transaction, require_schema
from clearinghouse.persistence.models import ReferenceVersion
from clearinghouse.persistence.reference_store import latest_version, load_reference
from clearinghouse.persistence.settlement_store import (
    RunRecord,
    find_run,
    mark_settled,
    obligations_of,
    open_before,
    period_status,
    period_versions,
    read_creditors,
    read_positions,
    run_members,
    run_spans,
    store_run,
    versions_named,
)
from clearinghouse.settings import Settings
from clearinghouse.settlement import (
    VERSION_SCHEMA,
    Coded,
    attach_runs,
    check_balanced,
    code,
    encode,
    fund_statements,
    hospital_statements,
    listing,
    order_versions,
    spans,
)
from formats.pain001 import Creditor, PaymentRun, pain001_bytes
from formats.settlement_files import (
    MANIFEST,
    PAIN,
    fund_statement_rows,
    hospital_statement_rows,
    listing_rows,
    manifest_bytes,
    position_rows,
    transfer_rows,
    write_frame,
    write_parts,
)

__all__ = [
    "RunResult",
    "SettleRequest",
    "describe",
    "months_to_close",
    "rebuild_run",
    "settle",
    "today_in",
]

LISTING = "obligations.csv"
_PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_CREDITOR_SCHEMA = pl.Schema(
    {"participant": pl.String(), "name": pl.String(), "account": pl.String(),
     "bank": pl.String()}
)  # fmt: skip


@dataclass(frozen=True)
class SettleRequest:
    out: Path
    through: dt.date | None = None  # exactly one of through / period
    period: str | None = None  # "YYYY-MM"


@dataclass(frozen=True)
class RunResult:
    run_id: str
    cutoff: str
    kind: str  # NIGHTLY or CLOSE
    created: bool  # False when answered from the stored run
    obligations: int
    transfers: int
    out: Path
    gross: int = 0
    moved: int = 0


def today_in(settings: Settings) -> dt.date:
    return dt.datetime.now(ZoneInfo(settings.timezone)).date()


def _month_end(period: str) -> dt.date:
    year, month = int(period[:4]), int(period[5:])
    first_next = dt.date(year + month // 12, month % 12 + 1, 1)
    return first_next - dt.timedelta(days=1)


def _cutoff(request: SettleRequest, today: dt.date) -> tuple[str, str]:
    """``(cutoff, kind)``, or UsageError for the refusals that need no database."""
    if (request.through is None) == (request.period is None):
        raise UsageError("settle needs exactly one of --through YYYY-MM-DD or --period YYYY-MM")
    if request.through is not None:
        if request.through >= today:
            raise UsageError(
                f"--through {request.through} is not before today ({today}): a nightly run "
                "settles days that have ended"
            )
        return request.through.isoformat(), "NIGHTLY"
    assert request.period is not None
    if not _PERIOD.match(request.period):
        raise UsageError(f"--period {request.period!r} is not a month YYYY-MM")
    if _month_end(request.period) >= today:
        raise UsageError(
            f"month {request.period} has not ended (today is {today}): it can be closed from "
            f"{_month_end(request.period) + dt.timedelta(days=1)}"
        )
    return request.period, "CLOSE"


def months_to_close(
    engine: Engine, settings: Settings, *, today: dt.date | None = None
) -> list[str]:
    """The ended months still OPEN, oldest first."""
    today = today or today_in(settings)
    with engine.connect() as conn:
        rows = conn.execute(select_open_periods()).scalars().all()
    return sorted(p for p in rows if _month_end(p) < today)


def select_open_periods() -> Any:
    from clearinghouse.persistence.models import Period

    return select(Period.period).where(Period.status == "OPEN")


# --- composing a run ------------------------------------------------------------------------


def _directory(conn: Connection) -> tuple[int | None, pl.DataFrame]:
    """Payment details of every participant in the newest reference version."""
    version = latest_version(conn)
    if version is None:
        return None, pl.DataFrame(schema=_CREDITOR_SCHEMA)
    _, frames = load_reference(conn, version, tables=["hospitals", "funds"])
    hospitals = frames["hospitals"].select(
        participant=pl.format("H:{}", "hcode"), name="name", account="account", bank="bank"
    )
    funds = frames["funds"].select(
        participant=pl.format("F:{}", "code"), name="name", account="account", bank="bank"
    )
    return version, pl.concat([hospitals, funds]).cast(_CREDITOR_SCHEMA)


def _creditors(position: pl.DataFrame, directory: pl.DataFrame, run_id: str) -> pl.DataFrame:
    wanted = position.filter(pl.col("net") > 0).select("participant")
    found = wanted.join(directory, on="participant", how="left")
    missing = found.filter(pl.col("account").fill_null("") == "")["participant"].to_list()
    if missing:
        raise Problem(
            f"run {run_id}: no bank account in the reference data for "
            f"{', '.join(missing[:5])}{' …' if len(missing) > 5 else ''}: nothing was settled"
        )
    return found.with_columns(pl.col("bank").replace("", None)).sort("participant")


def _reference_versions(conn: Connection, members: Coded) -> list[dict[str, Any]]:
    """The reference versions that priced the claim versions the run's obligations name."""
    named = members.versions["reference_version_id"].gather(members.obligations["vrow"].unique())
    ids = sorted(int(i) for i in named.drop_nulls().unique().to_list())
    if not ids:
        return []
    labels = conn.execute(
        select(ReferenceVersion.id, ReferenceVersion.label).where(ReferenceVersion.id.in_(ids))
    ).all()
    return [{"id": int(i), "label": str(label)} for i, label in sorted(labels)]


def _read_month(conn: Connection, period: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A month's obligations, and the claim versions they name with the month's own,
    through :func:`order_versions`.

    On PostgreSQL the versions are read (and ordered) on a second connection while this one
    reads the obligations: each read keeps one server process busy, and the two together
    take little longer than the obligations alone. (Nothing changes meanwhile: every writer
    waits for the write lock the caller holds.)
    """
    if conn.dialect.name != "postgresql":
        owed = obligations_of(conn, period=period)
        ordered = _ordered_versions(conn, period)
    else:
        with ThreadPoolExecutor(max_workers=1) as pool:
            beside = pool.submit(_beside, conn.engine, period)
            owed = encode(obligations_of(conn, period=period))  # while the versions come
            ordered = beside.result()
    reversed_ = owed.filter(pl.col("kind") == "REVERSAL")["claim_version_id"]
    earlier = reversed_.filter(~reversed_.is_in(ordered["id"].implode()))
    if not earlier.is_empty():
        versions = ordered.drop("vrow").cast(VERSION_SCHEMA)
        ordered = order_versions(pl.concat([versions, versions_named(conn, earlier)]))
    return owed, ordered


def _ordered_versions(conn: Connection, period: str) -> pl.DataFrame:
    return order_versions(period_versions(conn, period))


def _beside(engine: Engine, period: str) -> pl.DataFrame:
    with engine.connect() as side:
        return _ordered_versions(side, period)


def _with_runs(owed: pl.DataFrame, every_span: pl.DataFrame, new_run: str | None) -> pl.DataFrame:
    """``owed`` with the ``run`` that settled each (an Enum of the run ids); those in no run
    get ``new_run``."""
    runs = pl.Enum(sorted({*every_span["run"].to_list(), *([new_run] if new_run else [])}))
    run = pl.col("run").cast(runs)
    return attach_runs(owed, every_span).with_columns(
        run.fill_null(pl.lit(new_run, runs)) if new_run else run
    )


def _month(conn: Connection, period: str) -> Coded:
    """A month's obligations (each with its run) and claim versions, coded."""
    owed, ordered = _read_month(conn, period)
    return code(_with_runs(owed, run_spans(conn), None), ordered)


def _members(month: Coded, run_id: str) -> Coded:
    """The obligations of run ``run_id`` among ``month``'s."""
    owed = month.obligations
    mine = owed["run"] == run_id
    if not mine.all():  # (a month settled in one run keeps every row, without a copy)
        owed = owed.filter(mine)
    return Coded(obligations=owed, versions=month.versions)


# --- files ------------------------------------------------------------------------------------


def _manifest(record: RunRecord, rows: Mapping[str, int], position: pl.DataFrame) -> bytes:
    money = pl.DataFrame(
        {
            "gross": [record.gross],
            "moved": [record.control_sum],
            "into": [int(position.filter(pl.col("net") < 0)["net"].sum()) * -1],
            "net": [int(position["net"].sum())],
        },
        schema={"gross": pl.Int64, "moved": pl.Int64, "into": pl.Int64, "net": pl.Int64},
    ).select(format_baht(pl.col(c)) for c in ("gross", "moved", "into", "net"))
    gross, moved, into, net = money.row(0)
    return manifest_bytes(
        {
            "run_id": record.run_id,
            "kind": record.kind,
            "cutoff": record.cutoff,
            "period": record.period,
            "created_at": record.created_at,
            "run_date": record.run_date.isoformat(),
            "reference_versions": record.reference_versions,
            "clearing_account": {
                "name": record.clearing_name,
                "account": record.clearing_account,
                "bank": record.clearing_bank,
            },
            "rows": dict(rows),
            "control_totals": {
                "obligations_gross": gross,
                "netted": moved,
                "into_ch": into,
                "out_of_ch": moved,
                "net_sum": net,
            },
            "files": record.files,
        }
    )


def _write_files(
    staging: Path,
    record: RunRecord,
    members: Coded,
    position: pl.DataFrame,
    creditors: pl.DataFrame,
    month: Coded | None,
) -> dict[str, str | None]:
    """Write every file of the run into ``staging``; their SHA-256 (manifest excluded).

    ``month``: at a close, the month's obligations (each with its run) for the statements.
    """
    files: dict[str, str | None] = {
        "positions.csv": write_frame(position_rows(position), staging / "positions.csv"),
        "transfers.csv": write_frame(transfer_rows(transfers(position)), staging / "transfers.csv"),
    }
    # The big files are built side by side: each has long stretches that keep one core busy.
    builds = [partial(_listing_file, members, staging)]
    if month is not None:
        builds += [partial(_hospital_files, month, staging), partial(_fund_files, month, staging)]
    with ThreadPoolExecutor(max_workers=len(builds)) as pool:
        built = list(pool.map(lambda build: build(), builds))
    files.update(built[0])
    if creditors.is_empty():
        files[PAIN] = None
    else:
        body = pain001_bytes(_payment(record, position, creditors))
        (staging / PAIN).write_bytes(body)
        files[PAIN] = hashlib.sha256(body).hexdigest()
    for more in built[1:]:
        files.update(more)
    return files


def _payment(record: RunRecord, position: pl.DataFrame, creditors: pl.DataFrame) -> PaymentRun:
    return PaymentRun(
        run_id=record.run_id,
        created_at=record.created_at,
        execution_date=record.run_date,
        debtor_name=record.clearing_name,
        debtor_account=record.clearing_account,
        debtor_bank=record.clearing_bank,
        creditors=tuple(
            Creditor(
                participant=row["participant"],
                amount=int(row["net"]),
                name=row["name"],
                account=row["account"],
                bank=row["bank"],
            )
            for row in creditors.join(
                position.select("participant", "net"), on="participant"
            ).iter_rows(named=True)
        ),
    )


def _listing_file(members: Coded, staging: Path) -> dict[str, str | None]:
    return {LISTING: write_frame(listing_rows(listing(members)), staging / LISTING)}


def _hospital_files(month: Coded, staging: Path) -> dict[str, str | None]:
    rows = hospital_statement_rows(hospital_statements(month))
    return dict(write_parts(rows, "hospital", lambda hcode: f"statements/H_{hcode}.csv", staging))


def _fund_files(month: Coded, staging: Path) -> dict[str, str | None]:
    files: dict[str, str | None] = {}
    fund = fund_statements(month)
    for (code_,), part in fund.partition_by("fund", as_dict=True, maintain_order=True).items():
        name = f"statements/F_{code_}.csv"
        files[name] = write_frame(fund_statement_rows(part), staging / name)
    return files


def _place(staging: Path, out: Path, record: RunRecord, rows: Mapping[str, int],
           position: pl.DataFrame) -> None:  # fmt: skip
    """Move the staged files into ``out`` (replacing), then write the manifest."""
    for name, digest in record.files.items():
        target = out / name
        if digest is None:
            target.unlink(missing_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        (staging / name).replace(target)
    pending = staging / MANIFEST
    pending.write_bytes(_manifest(record, rows, position))
    pending.replace(out / MANIFEST)


def _rows(record: RunRecord) -> dict[str, int]:
    return {
        "obligations": record.obligations,
        "positions": record.participants,
        "transfers": record.transfers,
        "statements": sum(1 for name in record.files if name.startswith("statements/")),
    }


# --- the job --------------------------------------------------------------------------------


def _new_run(
    conn: Connection,
    settings: Settings,
    staging: Path,
    cutoff: str,
    kind: str,
    clock: dt.datetime,
) -> tuple[RunRecord, pl.DataFrame]:
    run_id = f"CH-{cutoff}"
    every_span = run_spans(conn)
    if kind == "CLOSE":
        earlier = attach_runs(open_before(conn, cutoff), every_span)
        loose = sorted(earlier.filter(pl.col("run").is_null())["period"].unique().to_list())
        if loose:
            raise UsageError(
                f"month {loose[0]} still holds unsettled obligations: close it first "
                f"(settle --period {loose[0]})"
            )
        if period_status(conn, cutoff) == "SETTLED":  # closed by a run with another cut-off
            raise UsageError(f"month {cutoff} is already settled")
        candidates, versions = _read_month(conn, cutoff)
    else:
        candidates = obligations_of(conn, through=dt.date.fromisoformat(cutoff))
        versions = order_versions(versions_named(conn, candidates["claim_version_id"]))
    # This run takes every candidate not yet settled; at a close, with the earlier runs'
    # obligations they are the month the statements cover.
    month = code(_with_runs(candidates, every_span, run_id), versions)
    member_set = _members(month, run_id)
    members = member_set.obligations
    position = positions(members)
    check_balanced(position, run_id)
    version, directory = _directory(conn)
    creditors = _creditors(position, directory, run_id)
    moved = int(position.filter(pl.col("net") > 0)["net"].sum())
    high = conn.execute(select_max_obligation()).scalar()
    record = RunRecord(
        id=0,
        run_id=run_id,
        kind=kind,
        cutoff=cutoff,
        period=cutoff if kind == "CLOSE" else None,
        created_at=clock.isoformat(),
        run_date=clock.date(),
        reference_versions=_reference_versions(conn, member_set),
        directory_version_id=version,
        clearing_name=settings.clearing_name,
        clearing_account=settings.clearing_account,
        clearing_bank=settings.clearing_bank,
        high_water=int(high or 0),
        obligations=members.height,
        gross=int(members["amount"].sum()),
        participants=position.height,
        transfers=int((position["net"] != 0).sum()),
        control_sum=moved,
        files={},
    )
    statements = month if kind == "CLOSE" else None
    files = _write_files(staging, record, member_set, position, creditors, statements)
    record = replace(record, files=files)
    store_run(
        conn,
        record,
        spans=spans(members["id"]),
        positions=position,
        creditors=creditors.select("participant", "name", "account", "bank"),
        chunk_rows=settings.sqlite_chunk_rows,
    )
    if kind == "CLOSE":
        mark_settled(conn, cutoff, clock.replace(tzinfo=None))
    return record, position


def select_max_obligation() -> Any:
    from sqlalchemy import func

    from clearinghouse.persistence.models import Obligation

    return select(func.max(Obligation.id))


def rebuild_run(conn: Connection, record: RunRecord, folder: Path) -> dict[str, str | None]:
    """Rebuild a stored run's files into ``folder`` from the database; their SHA-256."""
    position = read_positions(conn, record.id)
    creditors = read_creditors(conn, record.id)
    if record.period is not None:
        month = _month(conn, record.period)
        return _write_files(folder, record, _members(month, record.run_id), position, creditors,
                            month)  # fmt: skip
    owed = run_members(conn, record.id)
    members = code(owed, order_versions(versions_named(conn, owed["claim_version_id"])))
    return _write_files(folder, record, members, position, creditors, None)


def _stored_run(conn: Connection, staging: Path, record: RunRecord) -> pl.DataFrame:
    """Rebuild a stored run's files into ``staging``; Problem if a hash differs."""
    rebuilt = rebuild_run(conn, record, staging)
    differ = sorted(
        name for name in set(rebuilt) | set(record.files)
        if rebuilt.get(name) != record.files.get(name)
    )  # fmt: skip
    if differ:
        raise Problem(
            f"run {record.run_id}: rebuilt {', '.join(differ[:5])} no longer match the hashes "
            "the run recorded; the stored files were not replaced"
        )
    return read_positions(conn, record.id)


def settle(
    engine: Engine, settings: Settings, request: SettleRequest, *, today: dt.date | None = None
) -> RunResult:
    """Run (or answer from the stored run) one settlement; the files land in ``request.out``."""
    zone = ZoneInfo(settings.timezone)
    today = today or today_in(settings)
    cutoff, kind = _cutoff(request, today)
    require_schema(engine)
    out = request.out
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--out {out} cannot be a folder: {exc.strerror or exc}") from exc
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=out))
    try:
        with locked_transaction(engine) as conn:
            stored = find_run(conn, cutoff)
            if stored is not None:
                position = _stored_run(conn, staging, stored)
                record, created = stored, False
            else:
                clock = dt.datetime.now(zone).replace(microsecond=0)
                record, position = _new_run(conn, settings, staging, cutoff, kind, clock)
                created = True
        _place(staging, out, record, _rows(record), position)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return RunResult(
        run_id=record.run_id,
        cutoff=record.cutoff,
        kind=record.kind,
        created=created,
        obligations=record.obligations,
        transfers=record.transfers,
        out=out,
        gross=record.gross,
        moved=record.control_sum,
    )


def describe(result: RunResult) -> str:
    """The line ``settle`` prints."""
    amounts = pl.DataFrame({"gross": [result.gross], "moved": [result.moved]}).select(
        format_baht(pl.col("gross")), format_baht(pl.col("moved"))
    )
    gross, moved = amounts.row(0)
    how = "settled" if result.created else "stored run, files rewritten"
    return (
        f"{result.run_id} ({result.kind}, {how}): {result.obligations} obligations, "
        f"gross {gross} THB, moved {moved} THB in {result.transfers} transfers -> {result.out}"
    )
