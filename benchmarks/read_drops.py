"""Read every drop of a generated inbox with the format readers only (no judging, no
database): ``python -m benchmarks.read_drops INBOX`` prints ``claims seconds drops``.

Run as a child process by ``test_read_bench.py`` so that its peak memory is the readers' own.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from pathlib import Path

from clearinghouse.errors import DropRefused
from formats.reader import drop_format, read_drop, read_transport
from formats.sixteen import RawDrop
from jobs.ingest import TRANSPORT_BATCH, IngestRequest, plan

MAX_BYTES = 1 << 30


def read_all(inbox: Path) -> tuple[int, float, int]:
    """Claims read (OPD + IPD rows), seconds, drops read (refused ones not counted)."""
    started = time.perf_counter()
    claims = drops = 0
    request = IngestRequest(paths=[inbox], received=dt.date.today())
    sources = plan(request, MAX_BYTES)
    at = 0
    while at < len(sources):
        source = sources[at]
        if source.member is not None:  # a CIPN transport: its members in batches, as ingest
            batch = [s for s in sources[at : at + TRANSPORT_BATCH] if s.path == source.path]
            names = [s.member.name for s in batch if s.member is not None]
            found = read_transport(source.path, names, max_bytes=MAX_BYTES)
            read = [transported.drop for transported in found.values()]
            at += len(batch)
        else:
            try:
                kind = drop_format(source.path, MAX_BYTES)
                read = [read_drop(source.path, kind, max_bytes=MAX_BYTES)]
            except DropRefused as refusal:
                read = [refusal]
            at += 1
        for raw in read:
            if isinstance(raw, RawDrop):
                claims += raw.tables["OPD"].height + raw.tables["IPD"].height
                drops += 1
    return claims, time.perf_counter() - started, drops


if __name__ == "__main__":
    found, seconds, read = read_all(Path(sys.argv[1]))
    print(found, f"{seconds:.3f}", read)
