"""The long-running job: ingest drops as they land, settle nightly, close and reconcile months.

One scheduler per database (:func:`instance_lock`). Two APScheduler jobs, the inbox poll and the
nightly settlement, share a single worker thread, so they never overlap. The nightly work is due
at start (catch-up from the database's state) and every day at ``settle_at``; a transient failure
leaves it due for the next poll. SIGTERM or SIGINT lets the drop or run in hand finish, starts
nothing new, and returns (exit 0).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import logging
import os
import re
import shutil
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TextIO
from zoneinfo import ZoneInfo

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import DBAPIError, OperationalError

from clearinghouse.errors import ClearinghouseError, TransientError, UsageError
from clearinghouse.persistence.db import is_postgresql, make_engine, masked_url, require_schema
from clearinghouse.settings import Settings
from formats.drop import RESERVED_NAMES, DropSource, drop_hash, folder_files
from jobs.ingest import DropResult, IngestRequest, ingest
from jobs.reconcile import reconcile
from jobs.settle import RunResult, SettleRequest, months_to_close, settle

__all__ = [
    "SCHEDULER_LOCK_KEY",
    "Clock",
    "InboxWatch",
    "ScheduleOptions",
    "Worker",
    "configure_logging",
    "inbox_drops",
    "instance_lock",
    "run_schedule",
]

log = logging.getLogger("clearinghouse.schedule")

#: The advisory-lock key held by the running scheduler on PostgreSQL ("CHSCHED" in ASCII),
#: distinct from the global write lock so that ingests and runs are never blocked by it.
SCHEDULER_LOCK_KEY = 0x43_4853_4348_4544

_PERIOD = re.compile(r"\d{4}-\d{2}")
_TRANSIENT = (TransientError, OperationalError)

#: What identifies a drop's state on disk: (name, size, mtime) of the file or of each folder file.
Signature = tuple[tuple[str, int, int], ...]


@dataclass(frozen=True, slots=True)
class ScheduleOptions:
    """What ``clearinghouse schedule`` was told."""

    inbox: Path
    out_root: Path
    settle_at: dt.time
    poll: float
    quiet: float
    today: dt.date | None = None  # a fixed date for the clock (CLEARINGHOUSE_TODAY)


@dataclass(frozen=True, slots=True)
class Clock:
    """The scheduler's clock in the settings' time zone; ``fixed_today`` pins the date."""

    zone: ZoneInfo
    fixed_today: dt.date | None = None

    def now(self) -> dt.datetime:
        return dt.datetime.now(self.zone)

    def today(self, now: dt.datetime | None = None) -> dt.date:
        """The fixed date, else the date of ``now`` (default: the current time)."""
        return self.fixed_today or (now or self.now()).date()


# --- one scheduler per database -------------------------------------------------------------


@contextmanager
def instance_lock(engine: Engine) -> Iterator[None]:
    """Hold the one-scheduler-per-database lock for the block.

    PostgreSQL: ``pg_try_advisory_lock`` on a connection kept for the block. SQLite: an
    exclusive ``flock`` on ``<database file>.schedule.lock``.

    Raises:
        UsageError: another scheduler holds the lock.
    """
    if is_postgresql(engine):
        with _advisory_lock(engine):
            yield
        return
    with _lock_file(Path(f"{engine.url.database}.schedule.lock")):
        yield


@contextmanager
def _advisory_lock(engine: Engine) -> Iterator[None]:
    try:
        conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    except DBAPIError as exc:
        raise TransientError(f"database unreachable at {masked_url(engine.url)}") from exc
    with conn:
        taken = conn.execute(select(func.pg_try_advisory_lock(SCHEDULER_LOCK_KEY))).scalar_one()
        if not taken:
            raise UsageError(
                f"another scheduler holds the scheduler lock of {masked_url(engine.url)} "
                f"(advisory lock {SCHEDULER_LOCK_KEY})"
            )
        try:
            yield
        finally:
            try:
                conn.execute(select(func.pg_advisory_unlock(SCHEDULER_LOCK_KEY)))
            except DBAPIError:  # the connection is gone, and the lock with it
                log.warning("the scheduler lock's connection was lost before its release")


@contextmanager
def _lock_file(path: Path) -> Iterator[None]:
    # The file stays after the release: removing it would let two processes lock two inodes.
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip()
            who = f" (pid {holder})" if holder else ""
            raise UsageError(f"another scheduler holds {path}{who}") from exc
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)


# --- the inbox --------------------------------------------------------------------------------


@dataclass(slots=True)
class Sighting:
    """A drop seen in the inbox: since when, in what state, and since when in that state."""

    source: DropSource
    first_seen: dt.datetime
    received: dt.date
    signature: Signature
    changed_at: float  # time.monotonic() of the last change
    steady_polls: int = 0
    held: Signature | None = None  # not retried while it stays in this state

    @property
    def label(self) -> str:
        fix = "corrections/" if self.source.corrections else ""
        return f"{self.source.hcode}/{fix}{self.source.path.name}"


def _entries(folder: Path) -> list[Path]:
    """Visible entries of a folder that may be hospitals or drops, sorted by name."""
    try:
        found = [
            entry
            for entry in folder.iterdir()
            if not entry.name.startswith(".") and entry.name not in RESERVED_NAMES
        ]
    except OSError:
        return []
    return sorted(found, key=lambda entry: entry.name)


def _signature(path: Path) -> Signature | None:
    """The drop's state on disk; None for an empty folder (upload not begun) or a gone one."""
    try:
        if path.is_dir():
            return (
                tuple(
                    (entry.name, (st := entry.stat()).st_size, st.st_mtime_ns)
                    for entry in folder_files(path)
                )
                or None
            )
        st = path.stat()
    except OSError:
        return None
    return ((path.name, st.st_size, st.st_mtime_ns),)


def inbox_drops(inbox: Path) -> list[DropSource]:
    """Every drop in ``inbox/<HCODE>/`` and ``inbox/<HCODE>/corrections/``.

    The same reading as :func:`formats.drop.discover` gives a hospital folder (every visible
    file, every visible folder holding a file; ``ack``, ``archive``, ``corrections`` and
    dot-names never), but never takes a hospital folder itself for a drop.
    """
    found: list[DropSource] = []
    for hospital in _entries(inbox):
        if not hospital.is_dir():
            continue
        for folder, corrections in ((hospital, False), (hospital / "corrections", True)):
            found += [
                DropSource(entry, hospital.name, corrections)
                for entry in _entries(folder)
                if entry.is_file() or entry.is_dir()
            ]
    return found


class InboxWatch:
    """The drops of an inbox and how long each has stayed unchanged (in memory only)."""

    def __init__(self, inbox: Path, quiet: float) -> None:
        self._inbox = inbox
        self._quiet = quiet
        self._seen: dict[DropSource, Sighting] = {}

    def poll(self, now: dt.datetime, today: dt.date) -> list[Sighting]:
        """Look once; the drops unchanged since the last look and for ``quiet`` seconds, in order.

        Order: first sight, then corrections after the other drops, then name. A drop first
        seen now is received ``today``.
        """
        tick = time.monotonic()
        current: dict[DropSource, Sighting] = {}
        for source in inbox_drops(self._inbox):
            state = _signature(source.path)
            if state is None:
                continue
            seen = self._seen.get(source)
            if seen is None:
                seen = Sighting(source, now, today, state, tick)
            elif seen.signature != state:
                seen.signature, seen.changed_at, seen.steady_polls = state, tick, 0
            else:
                seen.steady_polls += 1
            current[source] = seen
        self._seen = current
        ready = [
            seen
            for seen in current.values()
            if seen.steady_polls >= 1
            and tick - seen.changed_at >= self._quiet
            and seen.held != seen.signature
        ]
        # Seen together, a hospital's corrections come after its other drops (as in discover).
        return sorted(
            ready,
            key=lambda s: (s.first_seen, s.source.corrections, s.source.path.name, s.label),
        )

    def forget(self, sighting: Sighting) -> None:
        self._seen.pop(sighting.source, None)

    def hold(self, sighting: Sighting) -> None:
        """Do not offer this drop again until it changes."""
        sighting.held = sighting.signature


# --- the work ---------------------------------------------------------------------------------


def _one_line(error: BaseException) -> str:
    text = str(getattr(error, "orig", None) or error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _outcome(label: str, result: DropResult) -> str:
    if result.outcome == "F":
        return f"ingested {label}: F {result.code} (refused) -> {result.ack}"
    if result.outcome == "DUP":
        return f"ingested {label}: DUP F08 (duplicate) -> {result.ack}"
    what = "OK" if result.outcome == "OK" else "acknowledgement rewritten,"
    return (
        f"ingested {label}: {what} {result.claims} claims "
        f"(A {result.accepted}, D {result.denied}, C {result.rejected}) -> {result.ack}"
    )


class Worker:
    """The scheduler's two jobs; APScheduler runs them one at a time on one thread."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        options: ScheduleOptions,
        clock: Clock,
        stopping: threading.Event,
    ) -> None:
        self._engine = engine
        self._settings = settings
        self._options = options
        self._clock = clock
        self._stopping = stopping
        self._watch = InboxWatch(options.inbox, options.quiet)
        self._nightly_due = True  # at start: catch up from the database's state

    # The jobs.

    def poll(self) -> None:
        """Catch up the nightly work if it is due, then ingest the drops that have gone quiet."""
        if self._stopping.is_set():
            return
        if self._nightly_due:
            self._nightly()
        now = self._clock.now()
        for sighting in self._watch.poll(now, self._clock.today(now)):
            if self._stopping.is_set():
                return
            try:
                self._ingest(sighting)
            except _TRANSIENT as exc:
                log.warning(
                    "database unavailable, %s retried at the next poll: %s",
                    sighting.label,
                    _one_line(exc),
                )
                return
            except (ClearinghouseError, OSError) as exc:
                log.error("%s left in the inbox until it changes: %s", sighting.label, exc)
                self._watch.hold(sighting)
            except Exception:
                log.exception("%s left in the inbox until it changes", sighting.label)
                self._watch.hold(sighting)

    def nightly(self) -> None:
        """The daily settlement time: settle yesterday, close and reconcile ended months."""
        self._nightly_due = True
        if not self._stopping.is_set():
            self._nightly()

    # Ingest.

    def _ingest(self, sighting: Sighting) -> None:
        source = sighting.source
        hcode = source.hcode or "unknown"
        sha256 = drop_hash(source.path)
        request = IngestRequest(
            paths=[source.path],
            received=sighting.received,
            hcode=source.hcode,
            corrections=source.corrections,
            ack_dir=self._options.inbox / hcode / "ack",
        )
        # A CIPN transport ZIP gives one result per member; any other drop one.
        for result in ingest(self._engine, self._settings, request, [source]):
            label = sighting.label
            if result.name != source.path.name:
                label = f"{label}/{result.name}"
            log.info(_outcome(label, result))
        target = self._archive(source.path, hcode, sighting.received, sha256)
        self._watch.forget(sighting)
        log.info("archived %s -> %s", sighting.label, target)

    def _archive(self, path: Path, hcode: str, received: dt.date, sha256: str) -> Path:
        folder = self._options.out_root / "archive" / hcode / received.isoformat()
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{sha256[:12]}_{path.name}"
        target, again = folder / name, 2
        while target.exists():  # the same drop submitted again the same day
            target, again = folder / f"{name}.{again}", again + 1
        shutil.move(path, target)
        return target

    # Settlement.

    def _nightly(self) -> None:
        try:
            done = self._settle_and_close()
        except _TRANSIENT as exc:
            log.warning(
                "database unavailable, nightly work retried at the next poll: %s", _one_line(exc)
            )
            return
        except Exception:
            log.exception("nightly work failed; it runs again at the next settlement time")
            done = True
        self._nightly_due = not done

    def _settle_and_close(self) -> bool:
        """Yesterday's run, then every ended open month closed and reconciled, oldest first.

        Returns False when a stop interrupted it between runs.
        """
        today = self._clock.today()
        through = today - dt.timedelta(days=1)
        runs = self._options.out_root / "settle"
        self._settle(SettleRequest(out=runs / through.isoformat(), through=through), today)
        for period in months_to_close(self._engine, self._settings, today=today):
            if self._stopping.is_set():
                return False
            if self._settle(SettleRequest(out=runs / period, period=period), today) is None:
                break  # a later month cannot close while this one is open
            log.info("closed %s", period)
            self._reconcile(period)
        for period in self._unreconciled():
            if self._stopping.is_set():
                return False
            self._reconcile(period)
        log.info("nightly work done for %s (today %s)", through, today)
        return True

    def _settle(self, request: SettleRequest, today: dt.date) -> RunResult | None:
        what = request.period or f"through {request.through}"
        try:
            run = settle(self._engine, self._settings, request, today=today)
        except UsageError as refusal:
            log.warning("settlement %s refused: %s", what, refusal)
            return None
        except _TRANSIENT:
            raise
        except ClearinghouseError as error:
            log.error("settlement %s failed: %s", what, error)
            return None
        if run.created:
            log.info(
                "settled %s (%s, cut-off %s): %d obligations, %d transfers -> %s",
                run.run_id,
                run.kind,
                run.cutoff,
                run.obligations,
                run.transfers,
                run.out,
            )
        else:
            log.info(
                "%s already settled (cut-off %s): stored run -> %s", run.run_id, run.cutoff, run.out
            )
        return run

    def _unreconciled(self) -> list[str]:
        """Closed months (a close run's manifest) whose reconciliation report is missing."""
        runs = self._options.out_root / "settle"
        reports = self._options.out_root / "reconcile"
        if not runs.is_dir():
            return []
        return sorted(
            folder.name
            for folder in runs.iterdir()
            if _PERIOD.fullmatch(folder.name)
            and (folder / "manifest.json").is_file()
            and not (reports / folder.name / "reconciliation.json").is_file()
        )

    def _reconcile(self, period: str) -> None:
        out = self._options.out_root / "reconcile" / period
        try:
            report = reconcile(self._engine, self._settings, period, out)
        except _TRANSIENT:
            raise
        except ClearinghouseError as error:
            log.error("reconciliation of %s failed: %s", period, error)
            return
        if report.breaks:
            log.warning("reconciled %s: %d breaks -> %s", report.period, report.breaks, report.out)
        else:
            log.info("reconciled %s: 0 breaks -> %s", report.period, report.out)


# --- the process ------------------------------------------------------------------------------


class _NotSkippedRuns(logging.Filter):
    """Drop APScheduler's note that a poll was skipped while the worker was busy (by design)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "maximum number of running instances reached" not in record.getMessage()


def configure_logging(stream: TextIO | None = None) -> None:
    """Plain timestamped lines on stderr: ours from INFO, the libraries' from WARNING up."""
    logging.basicConfig(
        level=logging.WARNING,
        stream=stream or sys.stderr,
        format="%(asctime)s %(levelname)s %(message)s",
    )
    logging.getLogger("clearinghouse").setLevel(logging.INFO)
    noisy = logging.getLogger("apscheduler.scheduler")
    if not any(isinstance(f, _NotSkippedRuns) for f in noisy.filters):
        noisy.addFilter(_NotSkippedRuns())


def _serve(engine: Engine, settings: Settings, options: ScheduleOptions) -> None:
    zone = ZoneInfo(settings.timezone)
    clock = Clock(zone, options.today)
    stopping = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        if not stopping.is_set():
            log.info("%s: finishing the work in hand, then stopping", signal.Signals(signum).name)
        stopping.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        worker = Worker(engine, settings, options, clock, stopping)
        scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(max_workers=1)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            timezone=zone,
        )
        scheduler.add_job(
            worker.poll,
            IntervalTrigger(seconds=options.poll, timezone=zone),
            id="poll",
            name="inbox poll",
            next_run_time=clock.now(),
        )
        at = options.settle_at
        scheduler.add_job(
            worker.nightly,
            CronTrigger(hour=at.hour, minute=at.minute, timezone=zone),
            id="nightly",
            name="nightly settlement",
        )
        scheduler.start()
        log.info(
            "scheduler started: inbox %s, out-root %s, settle at %s %s, poll %gs, quiet %gs%s",
            options.inbox,
            options.out_root,
            at.strftime("%H:%M"),
            settings.timezone,
            options.poll,
            options.quiet,
            f", today fixed at {options.today}" if options.today else "",
        )
        while not stopping.wait(1.0):
            pass
        scheduler.shutdown(wait=True)
        log.info("scheduler stopped")
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run_schedule(settings: Settings, options: ScheduleOptions) -> None:
    """Run until SIGTERM or SIGINT, then return once the work in hand is finished.

    Raises:
        UsageError: no inbox folder, a database without the schema, or another scheduler
            holds the lock.
        TransientError: the database cannot be reached at start.
    """
    if not options.inbox.is_dir():
        raise UsageError(f"--inbox {options.inbox}: no such folder")
    engine = make_engine(settings.db)
    try:
        with instance_lock(engine):
            require_schema(engine)
            options.out_root.mkdir(parents=True, exist_ok=True)
            _serve(engine, settings, options)
    finally:
        engine.dispose()
