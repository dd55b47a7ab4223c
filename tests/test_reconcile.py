"""``clearinghouse reconcile`` on the spec's worked example, on SQLite and PostgreSQL.

A settled month reconciles with no break and the spec's figures; an open month reads n/a where
the close is needed; corrupted stored rows (tables without an immutability trigger) are found
and named in breaks.csv; the written page shows the report's figures in a real browser.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import lxml.html
import polars as pl
import pytest
from click.testing import CliRunner, Result
from sqlalchemy import text

from clearinghouse.persistence.db import make_engine
from clearinghouse.reconciliation import ratio
from clearinghouse.settings import Settings
from jobs.cli import cli
from jobs.reconcile import ReconcileResult, reconcile
from tests import browser

CASE = Path(__file__).parent / "cases" / "two-drops"
DROP_10713 = CASE / "drops/10713/10713_16F_20261002_CM1"
DROP_10670 = CASE / "drops/10670/10670_16F_20261003_KK1.zip"
EXPECTED = json.loads((CASE / "expected" / "summary.json").read_text())
CHECKS = ["drop_rows", "drop_claims", "payer_sums", "refer_charges", "obligation_refs",
          "statements", "run_balance", "run_hashes", "membership", "closed"]  # fmt: skip
NEED_THE_CLOSE = {"statements", "closed"}


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), obj={}, catch_exceptions=False)


def run(*args: str) -> str:
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    return result.output


def ingest(db: str, drop: Path, hcode: str, received: str, *extra: str) -> None:
    run("--db", db, "ingest", str(drop), "--hcode", hcode, "--received", received, *extra)


def reconciled(db: str, out: Path, period: str = "2026-10") -> tuple[Result, dict[str, Any]]:
    result = invoke("--db", db, "reconcile", "--period", period, "--out", str(out))
    report = json.loads((out / "reconciliation.json").read_text(encoding="utf-8"))
    return result, report


def breaks(out: Path) -> pl.DataFrame:
    return pl.read_csv(out / "breaks.csv", infer_schema=False)


def statuses(report: dict[str, Any]) -> dict[str, str]:
    return {check["check"]: check["status"] for check in report["checks"]}


def execute(db: str, statement: str) -> list[Any]:
    engine = make_engine(db)
    try:
        with engine.begin() as conn:
            result = conn.execute(text(statement))
            return list(result.all()) if result.returns_rows else []
    finally:
        engine.dispose()


@pytest.fixture
def ingested(db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The worked example's two drops ingested (the raw store is ./raw)."""
    monkeypatch.chdir(tmp_path)
    run("--db", db, "init")
    run("--db", db, "reference", "load", str(CASE / "reference"))
    ingest(db, DROP_10713, "10713", "2026-10-02")
    ingest(db, DROP_10670, "10670", "2026-10-03")
    return db


@pytest.fixture
def settled(ingested: str, tmp_path: Path) -> str:
    """…and the month 2026-10 closed."""
    run("--db", ingested, "settle", "--period", "2026-10", "--out", str(tmp_path / "close"))
    return ingested


def test_settled_month_has_the_spec_figures_and_no_break(settled: str, tmp_path: Path) -> None:
    out = tmp_path / "report"
    result, report = reconciled(settled, out)
    assert result.exit_code == 0, result.output
    assert result.stdout == f"reconciliation of 2026-10: no breaks -> {out}\n"
    assert (report["period"], report["status"]) == ("2026-10", "SETTLED")
    assert statuses(report) == dict.fromkeys(CHECKS, "ok")
    assert (out / "breaks.csv").read_text() == "check,subject,expected,actual\n"
    assert report["breaks"] == []

    month = EXPECTED["periods"]["2026-10"]
    summary = report["summary"]
    assert summary["claims"] == month["claims"] == 54
    assert summary["by_status"] == month["by_status"] == {"A": 36, "D": 5, "C": 13}
    assert summary["obligations"] == month["obligations"] == 40
    assert (summary["gross"], summary["netted"]) == (month["gross"], month["netted"])
    assert (summary["gross"], summary["netted"]) == ("156527.12", "156204.02")
    assert summary["netting_effect"] == "0.0021"  # 1 − 156204.02 / 156527.12 = 0.00206…
    assert (summary["runs"], summary["breaks"]) == (1, 0)
    [close] = report["runs"]
    assert close == {
        "run_id": "CH-2026-10", "cutoff": "2026-10", "kind": "CLOSE",
        "created_at": close["created_at"], "obligations": 40, "gross": "156527.12",
        "netted": "156204.02", "netting_effect": "0.0021",
    }  # fmt: skip

    drops = report["drops"]
    assert [d["rows_read"] for d in drops] == [d["rows"] for d in EXPECTED["drops"]] == [373, 297]
    for found, spec in zip(drops, EXPECTED["drops"], strict=True):
        assert (found["claims"], found["A"], found["D"], found["C"]) == (
            spec["claims"], spec["A"], spec["D"], spec["C"],
        )  # fmt: skip
        assert found["rows_attached"] + found["orphan_rows"] == found["rows_read"]
        assert found["orphan_rows"] == spec["orphan_rows"]
    assert report["intake"] == {"drops": 2, "rows_read": 670, "rows_attached": 668,
                                "orphan_rows": 2, "ignored_files": 0}  # fmt: skip
    assert report["unsettled"] == {"obligations": 0, "amount": "0.00"}

    by_status = {row["status"]: row for row in report["by_status"]}
    assert {s: row["claims"] for s, row in by_status.items()} == month["by_status"]
    assert by_status["C"]["allowed"] == "0.00"
    # Zero sum: what the funds pay net is what the hospitals receive net.
    nets = [row["net"] for row in report["by_fund"] + report["by_hospital"]]
    assert sum(round(float(n) * 100) for n in nets) == 0
    assert {row["hcode"] for row in report["by_hospital"]} >= {"10670", "10713"}
    assert all(row["name"] for row in report["by_fund"] + report["by_hospital"])

    written = (out / "reconciliation.json").read_text(encoding="utf-8")
    assert written.endswith("}\n") and '\n  "period": "2026-10",' in written
    assert "โรงพยาบาล" in written  # Thai names as they are, not \u escapes


def test_reconcile_is_callable_as_the_scheduler_does(settled: str, tmp_path: Path) -> None:
    engine = make_engine(settled)
    try:
        settings = Settings(db=settled, raw_store=tmp_path / "raw")
        result = reconcile(engine, settings, "2026-10", tmp_path / "sched")
    finally:
        engine.dispose()
    assert result == ReconcileResult(period="2026-10", breaks=0, out=tmp_path / "sched")
    names = sorted(p.name for p in (tmp_path / "sched").iterdir())
    assert names == ["breaks.csv", "reconciliation.html", "reconciliation.json"]


def test_open_month_reports_the_runs_so_far(ingested: str, tmp_path: Path) -> None:
    result, report = reconciled(ingested, tmp_path / "open")
    assert result.exit_code == 0, result.output
    assert report["status"] == "OPEN"
    assert statuses(report) == {c: "n/a" if c in NEED_THE_CLOSE else "ok" for c in CHECKS}
    assert report["runs"] == []
    assert report["unsettled"] == {"obligations": 40, "amount": "156527.12"}
    assert report["summary"]["netted"] == "0.00"
    assert report["summary"]["netting_effect"] is None

    run("--db", ingested, "settle", "--through", "2026-10-02", "--out", str(tmp_path / "n1"))
    result, report = reconciled(ingested, tmp_path / "open")
    assert result.exit_code == 0, result.output
    assert statuses(report) == {c: "n/a" if c in NEED_THE_CLOSE else "ok" for c in CHECKS}
    [nightly] = report["runs"]
    assert (nightly["run_id"], nightly["kind"], nightly["obligations"]) == (
        "CH-2026-10-02", "NIGHTLY", 24,
    )  # fmt: skip
    assert report["unsettled"]["obligations"] == 16
    assert report["summary"]["runs"] == 1
    assert report["summary"]["gross"] == "156527.12"  # the month's, settled or not


def test_corrections_over_two_runs_reconcile(ingested: str, tmp_path: Path) -> None:
    run("--db", ingested, "settle", "--through", "2026-10-03", "--out", str(tmp_path / "n1"))
    again = tmp_path / "again"
    shutil.copytree(DROP_10713, again)
    (again / "README.txt").write_text("not a table\n")  # other bytes, and an ignored file
    ingest(ingested, again, "10713", "2026-10-02", "--corrections")
    run("--db", ingested, "settle", "--period", "2026-10", "--out", str(tmp_path / "close"))
    result, report = reconciled(ingested, tmp_path / "report")
    assert result.exit_code == 0, result.output
    assert statuses(report) == dict.fromkeys(CHECKS, "ok")
    assert [r["run_id"] for r in report["runs"]] == ["CH-2026-10-03", "CH-2026-10"]
    assert report["intake"]["drops"] == 3
    assert report["intake"]["ignored_files"] == 1
    assert sorted(d["ignored_files"] for d in report["drops"]) == [[], [], ["README.txt"]]
    kinds = execute(ingested, "SELECT COUNT(*) FROM obligation WHERE kind = 'REVERSAL'")
    assert kinds[0][0] > 0
    assert report["summary"]["obligations"] == 40 + 24 + kinds[0][0]


def test_a_corrupted_payer_share_is_a_break(settled: str, tmp_path: Path) -> None:
    [(share, hcode, kind, key, version, fund, amount)] = execute(
        settled,
        "SELECT cp.id, cv.hcode, cv.claim_type, cv.claim_key, cv.version, cp.fund, cp.amount "
        "FROM claim_payer cp JOIN claim_version cv ON cv.id = cp.claim_version_id "
        "WHERE cp.amount > 0 ORDER BY cp.id LIMIT 1",
    )
    execute(settled, f"UPDATE claim_payer SET amount = amount + 100 WHERE id = {share}")
    out = tmp_path / "report"
    result, report = reconciled(settled, out)
    assert result.exit_code == 1
    assert result.stdout == f"reconciliation of 2026-10: 1 break (breaks.csv) -> {out}\n"
    assert statuses(report)["payer_sums"] == "break"
    assert [c for c, s in statuses(report).items() if s != "ok"] == ["payer_sums"]
    [row] = breaks(out).rows(named=True)
    assert row["check"] == "payer_sums"
    assert row["subject"] == f"{hcode} {kind} {key} v{version}"
    paid = f"F:{fund}→H:{hcode} "
    assert f"{paid}{(amount + 100) // 100}.{(amount + 100) % 100:02d}" in row["expected"]
    assert f"{paid}{amount // 100}.{amount % 100:02d}" in row["actual"]
    assert report["breaks"] == [row]
    assert report["summary"]["breaks"] == 1
    assert (out / "reconciliation.html").is_file()


def test_a_changed_status_breaks_the_drop_counts_and_the_statement(
    settled: str, tmp_path: Path
) -> None:
    [(version, hcode)] = execute(
        settled, "SELECT id, hcode FROM claim_version WHERE status = 'C' ORDER BY id LIMIT 1"
    )
    execute(settled, f"UPDATE claim_version SET status = 'D' WHERE id = {version}")
    out = tmp_path / "report"
    result, report = reconciled(settled, out)
    assert result.exit_code == 1
    found = breaks(out)
    assert found["check"].to_list() == ["drop_claims", "run_hashes"]  # sorted by check
    drop, statement = found.rows(named=True)
    assert drop["subject"].startswith(f"{hcode}_")
    assert drop["expected"] != drop["actual"]
    assert statement["subject"] == f"CH-2026-10/statements/H_{hcode}.csv"
    assert report["summary"]["by_status"]["D"] == 6


def test_a_drop_missing_from_the_raw_store_cannot_be_recounted(
    settled: str, tmp_path: Path
) -> None:
    [kept] = sorted(Path("raw").glob("*.zip"))[:1]
    kept.unlink()
    result, _ = reconciled(settled, tmp_path / "report")
    assert result.exit_code == 1
    [row] = breaks(tmp_path / "report").rows(named=True)
    assert row["check"] == "drop_rows"
    assert row["actual"] == "raw bytes missing from raw"


def test_unknown_or_malformed_period_is_bad_usage(
    db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    run("--db", db, "init")
    for period, says in (("2026-09", "unknown period 2026-09"), ("2026-13", "not a month")):
        result = invoke("--db", db, "reconcile", "--period", period, "--out", "report")
        assert result.exit_code == 2
        [line] = result.stderr.splitlines()
        assert line.startswith("clearinghouse: ") and says in line
    assert not Path("report").exists()


def test_ratio_rounds_half_up_in_integers() -> None:
    assert ratio(15652712, 15620402) == "0.0021"
    assert ratio(20000, 19999) == "0.0001"  # 0.00005 rounds up
    assert ratio(20001, 20000) == "0.0000"
    assert ratio(100, 0) == "1.0000"
    assert ratio(0, 0) is None


def test_browser_shows_the_reports_figures(settled: str, tmp_path: Path) -> None:
    browser.require_chromium()
    out = tmp_path / "report"
    result, report = reconciled(settled, out)
    assert result.exit_code == 0, result.output
    page = out / "reconciliation.html"
    doc = lxml.html.fromstring(browser.dump_dom(page))
    assert doc.xpath("//script") == []
    (main,) = doc.xpath('//main[@id="report"]')
    assert (main.get("data-period"), main.get("data-status")) == ("2026-10", "SETTLED")
    for key, value in report["summary"].items():
        pairs = value.items() if key == "by_status" else [(None, value)]
        for code, figure in pairs:
            field = f"summary.{key}" + (f".{code}" if code else "")
            (cell,) = doc.xpath(f'//*[@data-field="{field}"]')
            assert cell.get("data-value") == str(figure), field
            assert cell.text_content().strip().replace(",", "") == str(figure), field
    rows = doc.xpath('//table[@id="table-checks"]/tbody/tr')
    assert [r.get("data-key") for r in rows] == CHECKS
    assert {r.xpath('./*[@data-field="status"]')[0].get("data-value") for r in rows} == {"ok"}
    for fund in report["by_fund"]:
        (row,) = doc.xpath(f'//table[@id="table-by-fund"]/tbody/tr[@data-key="{fund["fund"]}"]')
        for field in ("paid", "received", "net"):
            assert row.xpath(f'./*[@data-field="{field}"]')[0].get("data-value") == fund[field]
    (none,) = doc.xpath('//*[@id="no-breaks"]')
    assert none.text_content() == "No breaks."
    png = tmp_path / "page.png"
    browser.screenshot(page, png)
    assert not browser.png_is_blank(png)
