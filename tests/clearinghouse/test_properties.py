"""Invariants over randomly built drops (hypothesis).

1. Every non-blank, non-header row of a recognized table belongs to exactly one claim or is
   listed as an orphan row: nothing silently dropped, nothing counted twice.
2. Ingesting the same drop twice changes nothing the second time (both databases).
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from clearinghouse.linking import link
from clearinghouse.persistence.db import make_engine
from clearinghouse.settings import Settings
from formats.sixteen import read_sixteen
from jobs.runner import run_ingest
from jobs.setup import load_reference_dir

CASE = Path(__file__).parents[1] / "cases" / "two-drops"

HEADERS = {
    "INS": "HN|INSCL|CID|HOSPMAIN|AN|SEQ",
    "PAT": "HCODE|HN|DOB|SEX|NATION|PERSON_ID",
    "OPD": "HN|CLINIC|DATEOPD|TIMEOPD|SEQ",
    "IPD": "HN|AN|DATEADM|TIMEADM|DATEDSC|TIMEDSC|DISCHS|DISCHT",
    "ODX": "SEQ|DIAG|DXTYPE",
    "CHT": "HN|AN|SEQ|DATE|TOTAL",
    "CHA": "HN|AN|SEQ|CHRGITEM|AMOUNT",
    "ADP": "HN|AN|SEQ|TYPE|CODE|QTY|RATE|TOTAL",
}

keys = st.sampled_from(["", "S1", "S2", "S3", "S4"])
hns = st.sampled_from(["", "H1", "H2", "H3"])
amounts = st.sampled_from(["10.00", "5", "1.234", "-1", "x", ""])


@st.composite
def drops(draw: st.DrawFn) -> dict[str, list[str]]:
    """A small 16-file drop whose keys collide, dangle and go missing at random."""
    tables: dict[str, list[str]] = {name: [] for name in HEADERS}
    for _ in range(draw(st.integers(0, 6))):
        seq, hn = draw(keys), draw(hns)
        tables["OPD"].append(f"{hn}|01|2026100{draw(st.integers(1, 9))}|0900|{seq}")
    for _ in range(draw(st.integers(0, 3))):
        an, hn = draw(st.sampled_from(["", "A1", "A2"])), draw(hns)
        tables["IPD"].append(f"{hn}|{an}|20261001|0800|20261003|1000|2|1")
    for _ in range(draw(st.integers(0, 5))):
        tables["PAT"].append(f"10713|{draw(hns)}|19800101|1|099|3053318123425")
    for name in ("INS", "ODX", "CHT", "CHA", "ADP"):
        for _ in range(draw(st.integers(0, 6))):
            seq = draw(keys)
            an = draw(st.sampled_from(["", "", "A1", "A9"]))
            row = {
                "INS": f"H1|UCS|3053318123425|10713|{an}|{seq}",
                "ODX": f"{seq}|J069|{draw(st.sampled_from(['1', '2']))}",
                "CHT": f"H1|{an}|{seq}|20261001|{draw(amounts)}",
                "CHA": f"H1|{an}|{seq}|11|{draw(amounts)}",
                "ADP": f"H1|{an}|{seq}|8|55020|1|50.00|{draw(amounts)}",
            }[name]
            if draw(st.booleans()) and draw(st.booleans()):
                row += "|extra"  # S01: more fields than the header
            tables[name].append(row)
    if not tables["OPD"] and not tables["IPD"]:
        tables["OPD"].append("H1|01|20261001|0900|S1")
    return tables


def write(folder: Path, tables: dict[str, list[str]], blank_every: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in tables.items():
        lines = [HEADERS[name]]
        for i, row in enumerate(rows):
            if blank_every and i % blank_every == 0:
                lines.append("   ")
            lines.append(row)
        (folder / f"{name}.txt").write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    return folder


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables=drops(), blank_every=st.integers(0, 3))
def test_every_row_belongs_to_one_claim_or_is_listed(
    tables: dict[str, list[str]], blank_every: int
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        raw = read_sixteen(write(Path(tmp) / "d", tables, blank_every), max_bytes=1 << 20)
    linked = link(raw.tables)
    attached = [linked.details[t].select("file", "line") for t in linked.details]
    attached.append(linked.patients.select("file", "line"))
    placed = pl.concat([*attached, linked.orphans.select("file", "line")])
    assert placed.height == placed.unique().height, "a row was counted twice"
    read = pl.concat([frame.select("file", "line") for frame in raw.tables.values()])
    assert read.height == sum(raw.rows_read.values())
    assert placed.sort("file", "line").equals(read.sort("file", "line")), "a row went missing"


def _snapshot(db: str) -> dict[str, int]:
    engine = make_engine(db)
    try:
        with engine.connect() as conn:
            return {
                table: conn.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one()
                for table in ("claim_drop", "claim_version", "item", "claim_code", "orphan_row")
            }
    finally:
        engine.dispose()


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(tables=drops())
def test_ingesting_twice_equals_once(db: str, tmp_path: Path, tables: dict[str, list[str]]) -> None:
    config = Settings(db=db, raw_store=tmp_path / "raw")
    if _snapshot(db)["claim_drop"] == 0:
        load_reference_dir(config, CASE / "reference", "example")
    with tempfile.TemporaryDirectory() as tmp:
        folder = write(Path(tmp) / "drop", tables, 0)
        ack = Path(tmp) / "ack"
        received = dt.date(2026, 10, 10)
        [first] = run_ingest(
            config, [folder], received=received, hcode="10713", corrections=False, ack_dir=ack
        )
        once = _snapshot(db)
        acks = {p.name: p.read_bytes() for p in ack.iterdir()}
        [second] = run_ingest(
            config, [folder], received=received, hcode="10713", corrections=False, ack_dir=ack
        )
        assert first.outcome in ("OK", "F")
        assert second.outcome == "DUP"
        assert _snapshot(db) == once
        for name, content in acks.items():
            assert (ack / name).read_bytes() == content, "the original acknowledgement changed"
