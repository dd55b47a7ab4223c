"""``clearinghouse reconcile``: the auditors' reconciliation report of one period.

Everything is read in one snapshot (REPEATABLE READ on PostgreSQL, a deferred read
transaction on SQLite), so an ingest or a run committing meanwhile cannot split the figures.
Rows attached to claims are not stored (only claim headers, items and orphan rows are), so each
drop is re-read from the raw store and linked again to count them; every stored run's files are
rebuilt into a temporary folder to compare their hashes, and the close run's rebuilt statements
are compared with SQL sums of the obligations. Writes ``breaks.csv``, ``reconciliation.html``,
then ``reconciliation.json`` (last: its presence means the report is complete).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl
from sqlalchemy import Connection, Engine, select

from clearinghouse import reconciliation as rc
from clearinghouse.errors import DropRefused, UsageError
from clearinghouse.linking import link
from clearinghouse.money import baht, parse_satang
from clearinghouse.persistence.bulk import read_frame
from clearinghouse.persistence.db import require_schema
from clearinghouse.persistence.models import Period
from clearinghouse.persistence.reference_store import load_reference
from clearinghouse.persistence.settlement_store import (
    RunRecord,
    find_run,
    read_positions,
    run_members,
    run_spans,
)
from clearinghouse.schema import TABLES
from clearinghouse.settings import Settings
from clearinghouse.settlement import attach_runs
from formats.csv import csv_bytes
from formats.reader import read_drop
from formats.reconciliation_html import reconciliation_html
from jobs.settle import rebuild_run

__all__ = ["ReconcileResult", "describe", "reconcile"]

_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_NEVER, _SECOND = dt.datetime(9999, 12, 31), dt.timedelta(seconds=1)
_TYPES = {"i": pl.Int64(), "s": pl.String(), "d": pl.Date(), "t": pl.Datetime("us")}


def _schema(columns: str) -> pl.Schema:
    """``"id:i name:s"``: a schema (``i`` Int64, ``s`` String, ``d`` Date, ``t`` Datetime)."""
    return pl.Schema({c: _TYPES[k] for c, _, k in (p.partition(":") for p in columns.split())})


# The period's drops: those holding its claim versions, and those without any version (refused
# F, or without claims) received in its month before its close.
_DROPS_OF = (
    "(SELECT cv.drop_id FROM claim_version cv WHERE cv.period = :p UNION "
    "SELECT d.id FROM claim_drop d WHERE d.received >= :first AND d.received <= :last "
    "AND d.ingested_at < :until AND NOT EXISTS "
    "(SELECT 1 FROM claim_version c WHERE c.drop_id = d.id))"
)
_COUNT = "(SELECT COUNT(*) FROM {} x WHERE x.drop_id = d.id{}) AS {}"
_DROPS_SQL = (
    "SELECT d.id, d.sha256, d.hcode, d.received, d.status, d.format, d.name, d.rows_read, "
    "d.ignored_files, d.claims, d.accepted, d.denied, d.rejected, d.ingested_at, "
    f"{_COUNT.format('orphan_row', '', 'orphan_rows')}, "
    f"{_COUNT.format('claim_version', '', 'versions')}, "
    + ", ".join(_COUNT.format("claim_version", f" AND x.status = '{s}'", f"versions_{s.lower()}")
                for s in "ADC")
    + f" FROM claim_drop d WHERE d.id IN {_DROPS_OF}"
)  # fmt: skip
_DROPS_SCHEMA = _schema(
    "id:i sha256:s hcode:s received:d status:s format:s name:s rows_read:s ignored_files:s "
    "claims:i accepted:i denied:i rejected:i ingested_at:t orphan_rows:i versions:i "
    "versions_a:i versions_d:i versions_c:i"
)
_VERSIONS_SQL = (
    "SELECT id, hcode, claim_type, claim_key, version, status, charged, allowed, "
    "coverage_fund, refer_charge_to, refer_charge FROM claim_version WHERE period = :p"
)
_VERSIONS_SCHEMA = _schema(
    "id:i hcode:s claim_type:s claim_key:s version:i status:s charged:i allowed:i "
    "coverage_fund:s refer_charge_to:s refer_charge:i"
)
_PAYERS_SQL = (
    "SELECT cp.claim_version_id, cp.fund, cp.amount FROM claim_payer cp "
    "JOIN claim_version cv ON cv.id = cp.claim_version_id WHERE cv.period = :p"
)
_PAYERS_SCHEMA = _schema("claim_version_id:i fund:s amount:i")
# The period's obligations, each with its drop's received date, the claim version it names and,
# for a reversal, the obligation it reverses and how many obligations reverse that one.
_OBLIGATIONS_SQL = (
    "SELECT o.id, o.payer, o.payee, o.amount, o.kind, o.claim_version_id, o.hcode, "
    "o.claim_type, o.claim_key, o.version, o.reverses_id, d.received, cv.id AS cv_id, "
    "cv.hcode AS cv_hcode, cv.claim_type AS cv_type, cv.claim_key AS cv_key, "
    "cv.version AS cv_version, cv.period AS cv_period, t.id AS t_id, t.payer AS t_payer, "
    "t.payee AS t_payee, t.amount AS t_amount, t.kind AS t_kind, t.claim_version_id AS t_cv, "
    "(SELECT COUNT(*) FROM obligation r WHERE r.reverses_id = o.reverses_id) AS times "
    "FROM obligation o LEFT JOIN claim_drop d ON d.id = o.drop_id "
    "LEFT JOIN claim_version cv ON cv.id = o.claim_version_id "
    "LEFT JOIN obligation t ON t.id = o.reverses_id WHERE o.period = :p"
)
_OBLIGATIONS_SCHEMA = _schema(
    "id:i payer:s payee:s amount:i kind:s claim_version_id:i hcode:s claim_type:s claim_key:s "
    "version:i reverses_id:i received:d cv_id:i cv_hcode:s cv_type:s cv_key:s cv_version:i "
    "cv_period:s t_id:i t_payer:s t_payee:s t_amount:i t_kind:s t_cv:i times:i"
)
# What the statements must show, summed in SQL: per participant and kind, and NOPAY rows.
_SIDE = (
    "SELECT o.{0} AS participant, o.kind, {1} AS received, {2} AS paid, COUNT(*) AS n "
    "FROM obligation o WHERE o.period = :p GROUP BY o.{0}, o.kind"
)
_SUMS_SQL = " UNION ALL ".join(
    [
        _SIDE.format("payee", "SUM(o.amount)", "0"),
        _SIDE.format("payer", "0", "SUM(o.amount)"),
        "SELECT 'H:' || cv.hcode, 'NOPAY', 0, 0, COUNT(*) FROM claim_version cv "
        "WHERE cv.period = :p AND cv.status IN ('C', 'D') GROUP BY cv.hcode",
    ]
)
_SUMS_SCHEMA = _schema("participant:s kind:s received:i paid:i n:i")
_RUNS_SQL = "SELECT run_id AS run, kind, cutoff, period FROM settlement_run"
_RUNS_SCHEMA = _schema("run:s kind:s cutoff:s period:s")
_NO_STATEMENTS = pl.DataFrame(schema=_schema("participant:s kind:s received:i paid:i rows:i net:i"))


@dataclass(frozen=True)
class ReconcileResult:
    period: str
    breaks: int
    out: Path


def _month(period: str) -> tuple[dt.date, dt.date]:
    match = _PERIOD.match(period)
    if match is None:
        raise UsageError(f"--period {period!r} is not a month YYYY-MM")
    year, month = int(match.group(1)), int(match.group(2))
    following = dt.date(year + month // 12, month % 12 + 1, 1)
    return dt.date(year, month, 1), following - dt.timedelta(days=1)


@contextmanager
def _snapshot(engine: Engine) -> Iterator[Connection]:
    """One read-only transaction that sees a single committed state throughout."""
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            yield conn


def _raw_index(store: Path) -> dict[str, Path]:
    """The raw store's files by the drop hash that names them (one listing, not one per drop)."""
    if not store.is_dir():
        return {}
    return {
        entry.name[:64]: entry
        for entry in store.iterdir()
        if entry.is_file() and len(entry.name) >= 64 and not entry.name.endswith(".part")
    }


#: Formats whose kept bytes are read again by the recount.
READABLE = ("16files", "cipn", "claimrec", "fhir-json", "fhir-xml")


def _recount(drops: pl.DataFrame, settings: Settings) -> pl.DataFrame:
    """``id, attached, problem``: the rows of each drop linked to a claim, from its raw bytes.

    One file per drop is read and linked again (a loop over drops, not rows); a refused drop
    kept no rows, so nothing is attached.
    """
    raw = _raw_index(settings.raw_store)
    found: list[tuple[int, int | None, str | None]] = []
    for drop_id, sha256, status, kind in drops.select("id", "sha256", "status", "format").rows():
        path = raw.get(sha256)
        if status == "F":
            found.append((drop_id, 0, None))
        elif kind not in READABLE:
            found.append((drop_id, None, f"no recount for the {kind} format"))
        elif path is None:
            found.append((drop_id, None, f"raw bytes missing from {settings.raw_store}"))
        else:
            try:
                drop = read_drop(
                    path, kind, max_bytes=settings.max_drop_bytes, timezone=settings.timezone
                )
                linked = link(drop.tables)
            except DropRefused as refusal:
                found.append((drop_id, None, f"raw bytes unreadable now ({refusal.code})"))
                continue
            details = sum(frame.height for frame in linked.details.values())
            found.append((drop_id, details + linked.patients.height, None))
    schema = _schema("id:i attached:i problem:s")
    return pl.DataFrame(found, schema=schema, orient="row")


def _drops(raw: pl.DataFrame, settings: Settings) -> pl.DataFrame:
    """The drops with their subject (the acknowledgement's name), row totals and recount."""
    tables = pl.Struct({name: pl.Int64() for name in TABLES})
    read = pl.col("rows_read").str.json_decode(tables)
    return (
        raw.with_columns(
            subject=pl.format(
                "{}_{}_{}",
                pl.col("hcode").fill_null("unknown"),
                pl.col("received").dt.to_string("%Y-%m-%d"),
                pl.col("sha256").str.slice(0, 12),
            ),
            rows_read=pl.sum_horizontal(read.struct.field(*TABLES)).cast(pl.Int64),
            ignored=pl.col("ignored_files").str.json_decode(pl.List(pl.String())),
            ingested=pl.col("ingested_at")
            .dt.replace_time_zone("UTC")
            .dt.convert_time_zone(settings.timezone),
        )
        .rename({f"versions_{s.lower()}": f"versions_{s}" for s in "ADC"})
        .join(_recount(raw, settings), on="id", how="left")
        .sort("received", "subject")
    )


def _statements(folder: Path) -> pl.DataFrame:
    """``participant, kind, received, paid, rows, net`` of rebuilt statement files."""
    frames = []
    money = [parse_satang(pl.col(c), allow_negative=True) for c in ("received", "paid", "net")]
    for path in sorted(folder.glob("statements/*.csv")):
        rows = pl.read_csv(path, infer_schema=False).with_columns(money)
        who = f"{path.stem[0]}:{path.stem[2:]}"
        if path.stem.startswith("F_"):  # fund files: the TOTAL row says so in hcode
            rows = rows.with_columns(
                kind=pl.when(pl.col("hcode") == "TOTAL")
                .then(pl.lit("TOTAL"))
                .otherwise(pl.col("kind"))
            )
        hospital = pl.lit(path.stem.startswith("H_"))
        frames.append(
            rows.group_by("kind")
            .agg(
                pl.col("received", "paid").sum(),
                rows=pl.when(hospital & (pl.col("kind").first() != "TOTAL")).then(pl.len()),
                net=pl.when(pl.col("kind").first() == "TOTAL").then(pl.col("net").first()),
            )
            .with_columns(participant=pl.lit(who))
        )
    return pl.concat([_NO_STATEMENTS, *frames], how="diagonal_relaxed").select(
        _NO_STATEMENTS.columns
    )


def _run_checks(
    conn: Connection, records: list[RunRecord], spans: pl.DataFrame, period: str
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, list[dict[str, Any]]]:
    """Rebuild every run; the run_balance and run_hashes subjects, the close run's statements
    (none without one) and the report's rows per run."""
    balance, hashes, rows = [], [], []
    statements = _NO_STATEMENTS
    with tempfile.TemporaryDirectory(prefix="reconcile-") as tmp:
        for record in records:
            folder = Path(tmp) / record.run_id
            folder.mkdir()
            rebuilt = rebuild_run(conn, record, folder)
            stored = read_positions(conn, record.id)
            mine = spans.filter(pl.col("run") == record.run_id)
            width = int((mine["last_id"] - mine["first_id"] + 1).sum())
            recorded = (record.obligations, record.gross, record.control_sum)
            members = run_members(conn, record.id)
            balance.append(rc.run_balance(record.run_id, recorded, stored, members, width))
            names = sorted(set(record.files) | set(rebuilt))
            hashes.append(pl.DataFrame({
                "subject": [f"{record.run_id}/{name}" for name in names],
                "expected": [record.files.get(name) or "absent" for name in names],
                "actual": [rebuilt.get(name) or "absent" for name in names],
            }, schema=_schema("subject:s expected:s actual:s")))  # fmt: skip
            if record.kind == "CLOSE" and record.period == period:
                statements = _statements(folder)
            moved = int(stored.filter(pl.col("net") > 0)["net"].sum())
            rows.append({
                "run_id": record.run_id, "cutoff": record.cutoff, "kind": record.kind,
                "created_at": record.created_at, "obligations": record.obligations,
                "gross": baht(record.gross), "netted": baht(moved),
                "netting_effect": rc.ratio(record.gross, moved),
            })  # fmt: skip
    empty = pl.DataFrame(schema=_schema("subject:s expected:s actual:s"))
    return pl.concat([empty, *balance]), pl.concat([empty, *hashes]), statements, rows


@dataclass(frozen=True)
class _Reads:
    """Everything read from the snapshot."""

    drops: pl.DataFrame
    versions: pl.DataFrame
    payers: pl.DataFrame
    refs: pl.DataFrame  # the period's obligations with what they reference, and their run
    spans: pl.DataFrame
    runs: pl.DataFrame
    close: RunRecord | None
    sums: pl.DataFrame
    names: dict[str, pl.DataFrame]


def _read(
    conn: Connection, period: str, first: dt.date, last: dt.date, until: dt.datetime
) -> tuple[_Reads, list[RunRecord]]:
    """The snapshot's frames, and the stored runs touching the period (oldest first)."""
    params: dict[str, Any] = {"p": period}
    spans = run_spans(conn)
    refs = attach_runs(
        read_frame(conn, _OBLIGATIONS_SQL, _OBLIGATIONS_SCHEMA, params=params), spans
    )
    runs = read_frame(conn, _RUNS_SQL, _RUNS_SCHEMA)
    close = find_run(conn, period)
    touching = set(refs["run"].drop_nulls()) | ({close.run_id} if close else set())
    cutoffs = runs.filter(pl.col("run").is_in(sorted(touching)))["cutoff"].to_list()
    records = sorted((r for c in cutoffs if (r := find_run(conn, c))), key=lambda r: r.created_at)
    _, frames = load_reference(conn, tables=["funds", "hospitals"])
    dates = {**params, "first": first, "last": last, "until": until}
    reads = _Reads(
        drops=read_frame(conn, _DROPS_SQL, _DROPS_SCHEMA, params=dates),
        versions=read_frame(conn, _VERSIONS_SQL, _VERSIONS_SCHEMA, params=params),
        payers=read_frame(conn, _PAYERS_SQL, _PAYERS_SCHEMA, params=params),
        refs=refs, spans=spans, runs=runs, close=close,
        sums=read_frame(conn, _SUMS_SQL, _SUMS_SCHEMA, params=params),
        names={"F": frames["funds"].select("code", "name"),
               "H": frames["hospitals"].select(code="hcode", name="name")},
    )  # fmt: skip
    return reads, records


def _checks(r: _Reads, drops: pl.DataFrame, runs: tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame],
            period: str, status: str, closed_at: dt.datetime | None, records: int
            ) -> list[rc.Check]:  # fmt: skip
    """Every check, in the report's order (those that need the close n/a on an open month)."""
    balance, hashes, statements = runs
    checks = [*rc.drop_checks(drops), *rc.money_checks(r.versions, r.payers, r.refs, period)]
    if status != "SETTLED":
        checks.append(rc.not_applicable("statements"))
    else:
        sums = r.sums.with_columns(
            rows=pl.when(pl.col("participant").str.starts_with("H:")).then(pl.col("n"))
        )
        hospitals = r.versions.select(pl.format("H:{}", "hcode"))[:, 0].unique()
        listed = statements.filter(pl.col("kind") != "TOTAL")
        checks.append(rc.compare("statements", rc.statement_sums(sums, hospitals, statements),
                                 baht(int(r.refs["amount"].sum())),
                                 baht(int(listed["received"].sum()))))  # fmt: skip
    settled = r.refs.filter(pl.col("run").is_not_null()).height
    matching = hashes.filter(pl.col("expected") == pl.col("actual")).height
    broken = balance.filter(pl.col("expected") != pl.col("actual"))["subject"]
    whole = records - broken.str.split(" ").list.first().n_unique()
    checks += [
        rc.compare("run_balance", balance, f"{records} runs balanced", f"{whole} balanced"),
        rc.compare("run_hashes", hashes, f"{hashes.height} files", f"{matching} match"),
        rc.compare("membership", rc.membership(r.refs, r.spans, r.runs, period),
                   f"{r.refs.height} obligations",
                   f"{settled} settled, {r.refs.height - settled} unsettled"),
    ]  # fmt: skip
    if status == "SETTLED" and closed_at is not None:
        high = r.close.high_water if r.close else None
        checks.append(rc.closed(r.refs, high, drops, closed_at))
    else:
        checks.append(rc.not_applicable("closed"))
    return checks


def _write(out: Path, name: str, body: bytes) -> None:
    """Write through a temporary name, so a reader never sees half a file."""
    partial = out / f".{name}.part"
    partial.write_bytes(body)
    partial.replace(out / name)


def reconcile(engine: Engine, settings: Settings, period: str, out: Path) -> ReconcileResult:
    """Check the period and write its reconciliation report into ``out``; the number of breaks.

    Raises:
        UsageError: a malformed period, or one nothing was ever ingested or settled in.
    """
    first, last = _month(period)
    require_schema(engine)
    zone = ZoneInfo(settings.timezone)
    with _snapshot(engine) as conn:
        row = conn.execute(select(Period.status, Period.closed_at).where(Period.period == period))
        found = row.first()
        if found is None:
            raise UsageError(f"unknown period {period}: nothing was ingested or settled in it")
        status, closed = str(found[0]), found[1]
        # closed_at is stored in the configured zone; ingested_at in UTC (both naive).
        closed_at = closed.replace(tzinfo=zone) if closed and status == "SETTLED" else None
        # closed_at is kept to the second: a drop of that second was ingested before it.
        until = closed_at.astimezone(dt.UTC).replace(tzinfo=None) + _SECOND if closed_at else _NEVER
        reads, records = _read(conn, period, first, last, until)
        balance, hashes, statements, run_rows = _run_checks(conn, records, reads.spans, period)
    drops = _drops(reads.drops, settings)
    runs = (balance, hashes, statements)
    checks = _checks(reads, drops, runs, period, status, closed_at, len(records))
    now = dt.datetime.now(zone).replace(microsecond=0).isoformat()
    head = {"period": period, "status": status, "generated_at": now}
    report, breaks = rc.report(head, checks, reads.versions, reads.refs, run_rows, reads.names)
    report |= rc.intake(drops)
    out.mkdir(parents=True, exist_ok=True)
    _write(out, "breaks.csv", csv_bytes(breaks))
    _write(out, "reconciliation.html", reconciliation_html(report).encode("utf-8"))
    body = json.dumps(report, indent=2, ensure_ascii=False) + "\n"
    _write(out, "reconciliation.json", body.encode("utf-8"))
    return ReconcileResult(period=period, breaks=breaks.height, out=out)


def describe(result: ReconcileResult) -> str:
    """The line ``reconcile`` prints."""
    many = "s" if result.breaks > 1 else ""
    verdict = f"{result.breaks} break{many} (breaks.csv)" if result.breaks else "no breaks"
    return f"reconciliation of {result.period}: {verdict} -> {result.out}"
