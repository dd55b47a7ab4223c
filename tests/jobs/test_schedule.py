"""``clearinghouse schedule`` as a real process: drops in, acknowledgements and archive out,
nightly catch-up, one instance per database, a clean stop on SIGTERM (both databases)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from clearinghouse.persistence.db import make_engine
from clearinghouse.settings import Settings
from jobs.generate import generate
from jobs.ingest import IngestRequest, ingest
from jobs.schedule import Clock, ScheduleOptions, Worker, inbox_drops
from jobs.setup import initialise, load_reference_dir

#: Tests of the scheduler's own behaviour, the same on both databases, run on SQLite only.
SQLITE_ONLY = pytest.mark.parametrize("db", ["sqlite"], indirect=True)

CASE = Path(__file__).parent.parent / "cases" / "two-drops"
FOLDER_DROP = CASE / "drops/10713/10713_16F_20261002_CM1"
ZIP_DROP = CASE / "drops/10670/10670_16F_20261003_KK1.zip"
CIPN_TRANSPORT = CASE.parent / "cipn" / "drops" / "10670" / "10670-CIPN-20261008.zip"
EXPECTED_ACKS = CASE / "expected/acks"

#: Generous bounds for a loaded CI machine; the waits end as soon as the condition holds.
DEADLINE_S = 60.0
STOP_DEADLINE_S = 15.0

T = TypeVar("T")


def eventually(check: Callable[[], T], what: str, timeout: float = DEADLINE_S) -> T:
    """Poll ``check`` until it returns something true; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.05)


def clearinghouse(db: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jobs", "--db", db, *args],
        cwd=cwd,
        env=_env(None),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _env(today: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "CLEARINGHOUSE_TODAY"}
    if today is not None:
        env["CLEARINGHOUSE_TODAY"] = today
    return env


class Scheduler:
    """One ``clearinghouse schedule`` process; its log (stderr) goes to a file."""

    def __init__(self, db: str, root: Path, *, today: str | None = None, quiet: float = 1.0):
        self.root = root
        self.log = root / f"schedule-{time.monotonic_ns()}.log"
        with self.log.open("wb") as sink:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "jobs",
                    "--db",
                    db,
                    "schedule",
                    "--inbox",
                    "inbox",
                    "--out-root",
                    "out",
                    "--poll",
                    "0.5",
                    "--quiet",
                    str(quiet),
                ],
                cwd=root,
                env=_env(today),
                stdout=subprocess.DEVNULL,
                stderr=sink,
            )

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8")

    def wait_for(self, words: str) -> str:
        def seen() -> str:
            if self.process.poll() is not None and words not in self.text():
                pytest.fail(f"scheduler exited {self.process.returncode}:\n{self.text()}")
            return self.text() if words in self.text() else ""

        return eventually(seen, f"{words!r} in the scheduler's log")

    def started(self) -> Scheduler:
        self.wait_for("scheduler started")
        return self

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> int:
        """Signal the process; its exit status, which must come promptly."""
        sent = time.monotonic()
        self.process.send_signal(sig)
        try:
            code = self.process.wait(timeout=STOP_DEADLINE_S)
        except subprocess.TimeoutExpired:
            pytest.fail(f"no exit {STOP_DEADLINE_S}s after {sig.name}:\n{self.text()}")
        assert time.monotonic() - sent < STOP_DEADLINE_S
        return code

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def load(db: str, reference: Path) -> None:
    """What ``init`` and ``reference load`` do, in this process (quicker than two commands)."""
    settings = Settings(db=db)
    initialise(settings)
    load_reference_dir(settings, reference, None)


@pytest.fixture
def root(db: str, tmp_path: Path) -> Path:
    """A working folder with an empty inbox and a database holding the example's reference data."""
    load(db, CASE / "reference")
    for hcode in ("10670", "10713"):
        (tmp_path / "inbox" / hcode).mkdir(parents=True)
    return tmp_path


@pytest.fixture
def start(db: str, tmp_path: Path) -> Iterator[Callable[..., Scheduler]]:
    """Start schedulers in ``tmp_path`` on the test's database; leftovers are killed afterwards."""
    running: list[Scheduler] = []

    def starter(*, today: str | None = None, quiet: float = 1.0) -> Scheduler:
        scheduler = Scheduler(db, tmp_path, today=today, quiet=quiet)
        running.append(scheduler)
        return scheduler.started()

    yield starter
    for scheduler in running:
        scheduler.kill()


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated inbox (one hospital, its corrections, an unknown hospital) and its reference."""
    out = tmp_path_factory.mktemp("generated")
    generate(out, claims=1200, hospitals=1, seed=3, as_of=dt.date(2026, 10, 31))
    return out


def acks(root: Path, hcode: str) -> list[Path]:
    """The acknowledgement CSVs of a hospital (a complete pair: the JSON twin is written last)."""
    folder = root / "inbox" / hcode / "ack"
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.csv") if p.with_suffix(".json").is_file())


def summary(ack: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(ack.with_suffix(".json").read_text(encoding="utf-8"))
    return loaded


def claim_rows(ack: Path) -> pl.DataFrame:
    """The claims of an acknowledgement, without what depends on the received date."""
    return pl.read_csv(ack, infer_schema=False).drop("status", "codes")


def archived(root: Path, hcode: str, received: str) -> list[str]:
    folder = root / "out" / "archive" / hcode / received
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


# --- ingest ---------------------------------------------------------------------------------


def test_drops_are_acknowledged_and_archived(start: Callable[..., Scheduler], root: Path) -> None:
    scheduler = start()
    shutil.copytree(FOLDER_DROP, root / "inbox/10713" / FOLDER_DROP.name)
    shutil.copy(ZIP_DROP, root / "inbox/10670" / ZIP_DROP.name)

    for hcode, name, expected in (
        ("10713", FOLDER_DROP.name, "01_10713_10713_16F_20261002_CM1.csv"),
        ("10670", ZIP_DROP.name, "02_10670_10670_16F_20261003_KK1.zip.csv"),
    ):
        (ack,) = eventually(lambda h=hcode: acks(root, h), f"the acknowledgement of {hcode}")
        facts = summary(ack)
        assert facts["status"] == "OK"
        assert facts["drop"] == name
        # The received date is the first sight (today), so date rules may judge differently from
        # the worked example; the claims, their versions and their rows are the same.
        assert claim_rows(ack).equals(claim_rows(EXPECTED_ACKS / expected))
        received = str(facts["received"])
        sha12 = str(facts["sha256"])[:12]
        eventually(lambda h=hcode, r=received: archived(root, h, r), f"{name} archived")
        assert archived(root, hcode, received) == [f"{sha12}_{name}"]
        assert sorted(p.name for p in (root / "inbox" / hcode).iterdir()) == ["ack"]

    log = scheduler.text()
    assert "ingested 10713/10713_16F_20261002_CM1: OK 31 claims" in log
    assert "ingested 10670/10670_16F_20261003_KK1.zip: OK 23 claims" in log
    assert scheduler.stop() == 0
    assert "Traceback" not in scheduler.text()


@SQLITE_ONLY
def test_garbage_drop_gets_f_and_is_archived(start: Callable[..., Scheduler], root: Path) -> None:
    scheduler = start()
    (root / "inbox/10670/junk.zip").write_bytes(b"PK\x03\x04 this is not a zip archive")

    (ack,) = eventually(lambda: acks(root, "10670"), "the F acknowledgement")
    assert summary(ack)["status"] == "F"
    row = pl.read_csv(ack, infer_schema=False).row(0, named=True)
    assert (row["status"], row["codes"]) == ("F", "F01")
    received = str(summary(ack)["received"])
    eventually(lambda: archived(root, "10670", received), "junk.zip archived")
    assert archived(root, "10670", received) == [f"{str(summary(ack)['sha256'])[:12]}_junk.zip"]
    assert "ingested 10670/junk.zip: F F01" in scheduler.text()
    assert scheduler.stop() == 0


@SQLITE_ONLY
def test_a_cipn_transport_zip_gives_one_drop_per_member(
    start: Callable[..., Scheduler], root: Path
) -> None:
    scheduler = start()
    shutil.copy(CIPN_TRANSPORT, root / "inbox/10670" / CIPN_TRANSPORT.name)

    found = eventually(lambda: a if len(a := acks(root, "10670")) == 2 else [], "two acks")
    assert sorted(summary(ack)["drop"] for ack in found) == ["AN6910006.xml", "AN6910007.xml"]
    assert {summary(ack)["format"] for ack in found} == {"cipn"}
    received = str(summary(found[0])["received"])
    eventually(lambda: archived(root, "10670", received), "the ZIP archived")
    sha12 = hashlib.sha256(CIPN_TRANSPORT.read_bytes()).hexdigest()[:12]
    assert archived(root, "10670", received) == [f"{sha12}_{CIPN_TRANSPORT.name}"]
    log = scheduler.text()
    for member in ("AN6910006.xml", "AN6910007.xml"):
        assert f"ingested 10670/{CIPN_TRANSPORT.name}/{member}: OK 1 claims" in log
    assert scheduler.stop() == 0
    assert "Traceback" not in scheduler.text()


@SQLITE_ONLY
def test_growing_drop_waits_until_quiet(start: Callable[..., Scheduler], root: Path) -> None:
    scheduler = start(quiet=2.0)
    body = ZIP_DROP.read_bytes()
    target = root / "inbox/10670" / ZIP_DROP.name
    step = len(body) // 10 + 1
    # Write the drop slowly: a piece every 0.3 s, 3 s in all. Each pause is shorter than the
    # quiet period, so the scheduler sees it change and must leave it alone until the end.
    with target.open("wb") as handle:
        for offset in range(0, len(body), step):
            handle.write(body[offset : offset + step])
            handle.flush()
            time.sleep(0.3)
            assert acks(root, "10670") == [], "a drop still being written was ingested"
            assert target.exists()
    (ack,) = eventually(lambda: acks(root, "10670"), "the acknowledgement once quiet")
    assert summary(ack)["status"] == "OK"
    assert summary(ack)["claims"]["total"] == 23
    assert scheduler.stop() == 0


@SQLITE_ONLY
def test_correction_drops_are_ingested_as_corrections(
    start: Callable[..., Scheduler], root: Path
) -> None:
    scheduler = start()
    fixes = root / "inbox/10670/corrections"
    fixes.mkdir()
    shutil.copy(ZIP_DROP, fixes / ZIP_DROP.name)
    (ack,) = eventually(lambda: acks(root, "10670"), "the acknowledgement of the correction")
    assert summary(ack)["corrections"] is True
    assert "ingested 10670/corrections/10670_16F_20261003_KK1.zip" in scheduler.text()
    received = str(summary(ack)["received"])
    eventually(lambda: archived(root, "10670", received), "the correction archived")
    assert not any(fixes.iterdir())
    assert scheduler.stop() == 0


def archive_entries(root: Path) -> Counter[tuple[str, str]]:
    """(hcode, drop name) of every archived drop (``archive/<HCODE>/<date>/<sha12>_<name>``)."""
    return Counter(
        (p.parts[-3], p.name.split("_", 1)[1]) for p in (root / "out/archive").glob("*/*/*")
    )


def inbox_entries(root: Path) -> Counter[tuple[str, str]]:
    return Counter((d.hcode or "", d.path.name) for d in inbox_drops(root / "inbox"))


def ack_files(*folders: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for folder in folders for p in folder.glob("*.*")}


@SQLITE_ONLY
def test_stop_restart_and_the_acknowledgements_ingest_gives(
    db: str, start: Callable[..., Scheduler], tmp_path: Path, generated: Path
) -> None:
    load(db, generated / "reference")
    shutil.copytree(generated / "inbox", tmp_path / "inbox")
    every = inbox_entries(tmp_path)
    assert len(every) > 10

    first = start()
    first.wait_for("ingested ")
    assert first.stop() == 0
    # Stopped between drops: each is either acknowledged and archived, or untouched.
    done = archive_entries(tmp_path)
    assert done + inbox_entries(tmp_path) == every
    assert len(ack_files(*(tmp_path / "inbox").glob("*/ack"))) == 2 * sum(done.values())

    again = start()
    eventually(lambda: not inbox_entries(tmp_path), "every drop ingested after the restart")
    assert again.stop() == 0
    assert archive_entries(tmp_path) == every

    # The same inbox through `ingest` (same received date) gives the same acknowledgements.
    acks_by_scheduler = ack_files(*(tmp_path / "inbox").glob("*/ack"))
    received = json.loads(next(v for k, v in acks_by_scheduler.items() if k.endswith(".json")))
    other = f"sqlite:///{tmp_path / 'other.db'}"
    load(other, generated / "reference")
    request = IngestRequest(
        paths=[generated / "inbox"],
        received=dt.date.fromisoformat(received["received"]),
        ack_dir=tmp_path / "other-acks",
    )
    engine = make_engine(other)
    try:
        settings = Settings(db=other, raw_store=tmp_path / "other-raw")
        assert len(list(ingest(engine, settings, request))) == sum(every.values())
    finally:
        engine.dispose()
    assert acks_by_scheduler == ack_files(tmp_path / "other-acks")


# --- one instance, stopping -------------------------------------------------------------------


def test_second_instance_exits_2(db: str, start: Callable[..., Scheduler], root: Path) -> None:
    first = start()
    second = subprocess.run(
        [sys.executable, "-m", "jobs", "--db", db, "schedule", "--inbox", "inbox", "--poll", "0.5"],
        cwd=root,
        env=_env(None),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert second.returncode == 2, second.stderr
    lines = second.stderr.strip().splitlines()
    assert len(lines) == 1, second.stderr
    assert "another scheduler holds" in lines[0]
    assert first.stop() == 0
    # Released with the process: a new scheduler may start.
    assert start().stop() == 0


@SQLITE_ONLY
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_stops_cleanly_and_starts_nothing_new(
    start: Callable[..., Scheduler], root: Path, sig: signal.Signals
) -> None:
    scheduler = start(quiet=30.0)
    scheduler.wait_for("nightly work")  # the start-up catch-up has run (or failed) by now
    drop = root / "inbox/10670" / ZIP_DROP.name
    shutil.copy(ZIP_DROP, drop)
    assert scheduler.stop(sig) == 0
    log = scheduler.text()
    assert "finishing the work in hand" in log
    assert "scheduler stopped" in log
    assert drop.exists()  # not quiet yet when the signal came: left for the next start
    assert acks(root, "10670") == []


@SQLITE_ONLY
def test_missing_inbox_is_bad_usage(db: str, root: Path) -> None:
    done = clearinghouse(db, "schedule", "--inbox", "nowhere", cwd=root)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == ["clearinghouse: --inbox nowhere: no such folder"]


def test_unreachable_database_is_retried_at_the_next_poll(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "inbox/10670").mkdir(parents=True)
    drop = tmp_path / "inbox/10670" / ZIP_DROP.name
    shutil.copy(ZIP_DROP, drop)
    url = "postgresql://nobody@127.0.0.1:1/none"
    engine = make_engine(url, check=False)
    options = ScheduleOptions(
        inbox=tmp_path / "inbox",
        out_root=tmp_path / "out",
        settle_at=dt.time(1, 0),
        poll=0.5,
        quiet=0.0,
    )
    clock = Clock(ZoneInfo("Asia/Bangkok"))
    worker = Worker(engine, Settings(db=url), options, clock, threading.Event())
    try:
        with caplog.at_level(logging.INFO, logger="clearinghouse.schedule"):
            for _ in range(3):  # first sight; then ready, twice: each poll tries again
                worker.poll()
    finally:
        engine.dispose()
    retried = [r.getMessage() for r in caplog.records if "retried at the next poll" in r.message]
    assert sum("nightly work" in m for m in retried) == 3
    assert sum("10670/10670_16F_20261003_KK1.zip" in m for m in retried) == 2
    assert drop.exists()
    assert not (tmp_path / "out/archive").exists()
    assert not (tmp_path / "inbox/10670/ack").exists()


# --- the nightly work -------------------------------------------------------------------------


def test_start_catches_up_nightly_close_and_reconcile(
    db: str, start: Callable[..., Scheduler], root: Path
) -> None:
    ingest = clearinghouse(
        db,
        "ingest",
        str(FOLDER_DROP),
        "--hcode",
        "10713",
        "--received",
        "2026-10-02",
        "--ack-dir",
        "acks",
        cwd=root,
    )
    assert ingest.returncode == 0, ingest.stderr
    out = root / "out"

    first = start(today="2026-11-02")
    first.wait_for("reconciled 2026-10")
    first.wait_for("nightly work done for 2026-11-01")
    for folder in ("settle/2026-11-01", "settle/2026-10"):
        assert (out / folder / "manifest.json").is_file(), folder
    assert (out / "reconcile/2026-10/reconciliation.json").is_file()
    log = first.text()
    assert "settled CH-2026-11-01" in log
    assert "closed 2026-10" in log
    assert "reconciled 2026-10: 0 breaks" in log
    assert first.stop() == 0
    files = {p: p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}

    # A restart finds everything done: the stored runs answer, nothing new is settled.
    again = start(today="2026-11-02")
    again.wait_for("nightly work done for 2026-11-01")
    assert again.stop() == 0
    log = again.text()
    assert "settled CH-" not in log
    assert "closed " not in log
    assert "CH-2026-11-01 already settled" in log
    after = {p: p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    assert after == files
