"""Reading 100,000 generated claims in each format, next to the 16-file reader.

The same seed is written in every format (``generate --format``); CIPN carries the inpatient
claims only and ClaimRec the outpatient ones, so each format's figure is its own claims per
second over the claims it carries. Each read runs in a child process (``wait4``'s
``ru_maxrss``): the peak printed is the readers', drop after drop.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmarks.conftest import CACHE

CLAIMS = int(os.environ.get("BENCH_READ_CLAIMS", "100000"))
FORMATS = ("16files", "cipn", "claimrec", "fhir-json", "fhir-xml")
_FIGURES: dict[str, tuple[int, float, int]] = {}


def _generated(fmt: str) -> Path:
    from jobs.generate import generate

    out = CACHE / f"gen-{CLAIMS}-7-0.0-{fmt}"
    if not (out / ".complete").exists():
        generate(out, claims=CLAIMS, seed=7, error_rate=0.0, fmt=fmt)
        (out / ".complete").write_text("ok\n")
    return out / "inbox"


def _read(inbox: Path) -> tuple[int, float, int]:
    """(claims read, seconds, peak RSS in bytes) of a child reading every drop of ``inbox``."""
    child = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.read_drops", str(inbox)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    out = child.stdout.read().decode() if child.stdout else ""
    err = child.stderr.read().decode() if child.stderr else ""
    for stream in (child.stdout, child.stderr):
        if stream:
            stream.close()
    assert child.returncode == 0, err
    claims, seconds, _ = out.split()
    return int(claims), float(seconds), usage.ru_maxrss * 1024


@pytest.mark.parametrize("fmt", FORMATS)
def test_read_100k(benchmark, fmt: str) -> None:  # type: ignore[no-untyped-def]
    inbox = _generated(fmt)
    figures: dict[str, tuple[int, float, int]] = {}
    started = time.perf_counter()
    benchmark.pedantic(lambda: figures.update(run=_read(inbox)), rounds=1, iterations=1)
    claims, seconds, peak = figures["run"]
    _FIGURES[fmt] = (claims, seconds, peak)
    wall = time.perf_counter() - started
    line = (
        f"\n[read {fmt}] {claims:,} claims in {seconds:.1f} s: {claims / seconds:,.0f} claims/s, "
        f"peak memory {peak / 2**20:,.0f} MiB (child wall {wall:.1f} s)"
    )
    if fmt != "16files" and "16files" in _FIGURES:
        base_claims, base_seconds, _ = _FIGURES["16files"]
        ratio = (claims / seconds) / (base_claims / base_seconds)
        line += f"; {ratio:.2f}x the 16-file reader's {base_claims / base_seconds:,.0f} claims/s"
    print(line)
    assert claims > 0
