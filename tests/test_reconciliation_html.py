"""The auditors' page: the HTML string, then the page as a real headless Chromium builds it."""

from __future__ import annotations

import html
import re
import struct
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import lxml.html
import pytest

from formats.reconciliation_html import reconciliation_html
from tests import browser

EVIL_NAME = 'โรงพยาบาล <script>alert("x")</script> & "บริษัท"'


def settled_report() -> dict[str, Any]:
    """A closed month with two nightly runs, a close run with nothing left, and one break."""
    return {
        "period": "2026-10",
        "status": "SETTLED",
        "generated_at": "2026-11-01T02:00:00+07:00",
        "summary": {
            "claims": 1254,
            "by_status": {"A": 1036, "D": 85, "C": 133},
            "obligations": 1140,
            "runs": 3,
            "gross": "1156527.12",
            "netted": "1147880.92",
            "netting_effect": "0.0075",
            "breaks": 1,
        },
        "checks": [
            {
                "check": "drop_rows",
                "title": "Rows read = rows attached + rows listed without a claim, per drop",
                "status": "ok",
                "expected": "6703",
                "actual": "6703",
                "subjects": 4,
                "breaks": 0,
            },
            {
                "check": "claim_obligations",
                "title": "Σ CLAIM obligations = Σ payers, per A claim version",
                "status": "ok",
                "expected": "1152204.02",
                "actual": "1152204.02",
                "subjects": 1036,
                "breaks": 0,
            },
            {
                "check": "run_hashes",
                "title": "Stored file hashes = hashes of the files rebuilt now",
                "status": "break",
                "expected": "15",
                "actual": "14",
                "subjects": 3,
                "breaks": 1,
            },
        ],
        "by_status": [
            {"status": "A", "claims": 1036, "charged": "1250000.00", "allowed": "1152204.02"},
            {"status": "D", "claims": 85, "charged": "90000.50", "allowed": "0.00"},
            {"status": "C", "claims": 133, "charged": "120000.00", "allowed": "0.00"},
        ],
        "by_fund": [
            {
                "fund": "UCS",
                "name": "Universal Coverage Scheme",
                "claims": 800,
                "paid": "695911.40",
                "received": "4323.10",
                "net": "-691588.30",
            },
            {
                "fund": "SSS",
                "name": "Social Security Scheme",
                "claims": 140,
                "paid": "230000.00",
                "received": "0.00",
                "net": "-230000.00",
            },
            {
                "fund": "CSMBS",
                "name": "Civil Servant Medical Benefit Scheme",
                "claims": 90,
                "paid": "221969.52",
                "received": "0.00",
                "net": "-221969.52",
            },
            {
                "fund": "LGO",
                "name": "Local Government Officers",
                "claims": 6,
                "paid": "4323.10",
                "received": "0.00",
                "net": "-4323.10",
            },
        ],
        "by_hospital": [
            {
                "hcode": "10713",
                "name": "โรงพยาบาลนครพิงค์",
                "claims": 731,
                "A": 622,
                "D": 43,
                "C": 66,
                "allowed": "695676.90",
                "received": "695676.90",
                "paid": "4323.10",
                "net": "691353.80",
            },
            {
                "hcode": "10662",
                "name": "โรงพยาบาลสมเด็จพระยุพราชสว่างแดนดิน",
                "claims": 500,
                "A": 400,
                "D": 40,
                "C": 60,
                "allowed": "452204.02",
                "received": "452204.02",
                "paid": "0.00",
                "net": "452204.02",
            },
            {
                "hcode": "99999",
                "name": EVIL_NAME,
                "claims": 23,
                "A": 14,
                "D": 2,
                "C": 7,
                "allowed": "4323.10",
                "received": "4323.10",
                "paid": "0.00",
                "net": "4323.10",
            },
        ],
        "runs": [
            {
                "run_id": "CH-2026-10-15",
                "cutoff": "2026-10-15",
                "kind": "NIGHTLY",
                "created_at": "2026-10-16T01:00:00+07:00",
                "obligations": 600,
                "gross": "580000.00",
                "netted": "577800.00",
                "netting_effect": "0.0038",
            },
            {
                "run_id": "CH-2026-10-31",
                "cutoff": "2026-10-31",
                "kind": "NIGHTLY",
                "created_at": "2026-11-01T01:00:00+07:00",
                "obligations": 540,
                "gross": "576527.12",
                "netted": "570080.92",
                "netting_effect": "0.0112",
            },
            {
                "run_id": "CH-2026-10",
                "cutoff": "2026-10",
                "kind": "CLOSE",
                "created_at": "2026-11-01T02:00:00+07:00",
                "obligations": 0,
                "gross": "0.00",
                "netted": "0.00",
                "netting_effect": None,
            },
        ],
        "breaks": [
            {
                "check": "run_hashes",
                "subject": "CH-2026-10-31/positions.csv",
                "expected": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
                "actual": "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752",
            }
        ],
    }


def open_report() -> dict[str, Any]:
    """A month still open: one nightly run so far, the checks that need the close read n/a."""
    report = settled_report()
    run = {
        "run_id": "CH-2026-11-05",
        "cutoff": "2026-11-05",
        "kind": "NIGHTLY",
        "created_at": "2026-11-06T01:00:00+07:00",
        "obligations": 14,
        "gross": "48210.00",
        "netted": "47950.50",
        "netting_effect": "0.0054",
    }
    na = {"status": "n/a", "expected": "n/a", "actual": "n/a", "subjects": 0, "breaks": 0}
    report.update(
        period="2026-11",
        status="OPEN",
        generated_at="2026-11-06T02:00:00+07:00",
        runs=[run],
        breaks=[],
        checks=[
            {**report["checks"][0], "status": "ok"},
            {**report["checks"][2], "status": "ok", "expected": "5", "actual": "5", "breaks": 0},
            {"check": "statements", "title": "Σ obligations per fund = statements", **na},
            {"check": "closed", "title": "Nothing added after the close", **na},
        ],
    )
    report["summary"] = {
        **report["summary"],
        "runs": 1,
        "gross": "48210.00",
        "netted": "47950.50",
        "netting_effect": "0.0054",
        "breaks": 0,
    }
    return report


REPORTS = {"settled": settled_report, "open": open_report}


# --- the HTML string ----------------------------------------------------------------------------


def test_page_is_self_contained() -> None:
    page = reconciliation_html(settled_report())
    assert page.startswith("<!doctype html>")
    assert '<meta charset="utf-8">' in page
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", page, re.IGNORECASE)
    for external in ("<script", "<link", "<img", "<iframe", "@import", "@font-face", "url("):
        assert external not in page.lower()
    assert page.count('<svg id="chart-') == 3


def test_thai_fonts_come_before_the_generic_family() -> None:
    page = reconciliation_html(settled_report())
    stack = re.search(r"body \{[^}]*font-family: ([^;]+);", page)
    assert stack is not None
    families = [f.strip().strip('"') for f in stack.group(1).split(",")]
    assert {"Loma", "Garuda", "Norasi"} <= set(families)
    assert families[-1] == "sans-serif"
    assert families.index("Loma") < families.index("DejaVu Sans")


def test_every_value_is_escaped() -> None:
    page = reconciliation_html(settled_report())
    assert "<script>" not in page
    escaped = html.escape(EVIL_NAME, quote=True)
    assert escaped in page  # the table cell
    assert f"99999 {escaped}" in page  # the chart's label tooltip


def test_every_figure_appears() -> None:
    report = settled_report()
    page = reconciliation_html(report)
    summary = report["summary"]
    figures = [v for k, v in summary.items() if k != "by_status"]
    figures += list(summary["by_status"].values())
    for row in report["by_fund"] + report["by_hospital"]:
        assert html.escape(row["name"], quote=True) in page
        figures += [v for k, v in row.items() if k != "name"]
    for value in figures:
        assert f'data-value="{value}"' in page, value
    assert '<td class="num" data-field="paid" data-value="695911.40">695,911.40</td>' in page


def test_settled_page_says_settled_and_lists_breaks() -> None:
    page = reconciliation_html(settled_report())
    assert "<title>Reconciliation 2026-10 — SETTLED</title>" in page
    assert 'id="open-notice"' not in page
    assert 'id="table-breaks"' in page
    assert "No breaks" not in page
    assert '<tr data-key="run_hashes" class="break">' in page


def test_open_page_says_the_month_is_open() -> None:
    page = reconciliation_html(open_report())
    assert "<title>Reconciliation 2026-11 — OPEN</title>" in page
    notice = re.search(r'<p id="open-notice"[^>]*>(.*?)</p>', page)
    assert notice is not None
    assert "OPEN" in notice.group(1)
    assert "n/a" in notice.group(1)
    assert page.count('<tr data-key="statements" class="na">') == 1
    assert '<p id="no-breaks">No breaks.</p>' in page
    assert "No breaks: 2 check(s) passed, 2 n/a." in page
    assert 'id="table-breaks"' not in page


def test_an_empty_report_still_renders() -> None:
    page = reconciliation_html({"period": "2026-12", "status": "OPEN"})
    assert "Nothing to chart." in page
    assert "No breaks." in page


# --- the PNG helper (no browser needed) ---------------------------------------------------------


def _write_png(path: Path, rows: list[bytes], width: int) -> None:
    """An RGB PNG whose rows use the five filter types in turn, to exercise the decoder."""
    filtered = bytearray()
    previous = bytes(width * 3)
    for y, row in enumerate(rows):
        kind = y % 5
        out = bytearray([kind])
        for i, value in enumerate(row):
            a = row[i - 3] if i >= 3 else 0
            b = previous[i]
            c = previous[i - 3] if i >= 3 else 0
            p = a + b - c
            paeth = min((abs(p - a), 0, a), (abs(p - b), 1, b), (abs(p - c), 2, c))[2]
            predictor = (0, a, b, (a + b) >> 1, paeth)[kind]
            out.append((value - predictor) & 0xFF)
        filtered += out
        previous = row

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, len(rows), 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(bytes(filtered)))
        + chunk(b"IEND", b"")
    )


def test_png_reader_undoes_every_filter(tmp_path: Path) -> None:
    width = 17
    rows = [bytes((x * 37 + y * 101 + x * y) % 256 for x in range(width * 3)) for y in range(11)]
    _write_png(tmp_path / "pattern.png", rows, width)
    assert browser.png_pixels(tmp_path / "pattern.png") == (width, 11, 3, rows)
    assert not browser.png_is_blank(tmp_path / "pattern.png")


def test_a_single_colour_png_is_blank(tmp_path: Path) -> None:
    _write_png(tmp_path / "white.png", [b"\xff" * 30] * 8, 10)
    assert browser.png_is_blank(tmp_path / "white.png")


def test_missing_chromium_skips_locally_and_fails_on_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHROMIUM", "/nonexistent/chromium")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="Chromium not found"):
        browser.require_chromium()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI is set"):
        browser.require_chromium()


# --- the page in a real browser -----------------------------------------------------------------


def _browser_dom(report: Mapping[str, Any], tmp_path: Path) -> lxml.html.HtmlElement:
    browser.require_chromium()
    page = tmp_path / "reconciliation.html"
    page.write_text(reconciliation_html(report), encoding="utf-8")
    return lxml.html.fromstring(browser.dump_dom(page))


def _assert_shows(element: lxml.html.HtmlElement, value: object) -> None:
    """The element carries the report's exact value and shows it (thousands separators aside)."""
    text = element.text_content().strip()
    if value is None:
        assert element.get("data-value") is None
        assert text == "—"
    else:
        assert element.get("data-value") == str(value)
        assert text.replace(",", "") == str(value)


def _rows(doc: lxml.html.HtmlElement, table_id: str) -> dict[str, lxml.html.HtmlElement]:
    rows = doc.xpath(f'//table[@id="{table_id}"]/tbody/tr[@data-key]')
    return {row.get("data-key"): row for row in rows}


def _field(row: lxml.html.HtmlElement, field: str) -> lxml.html.HtmlElement:
    (cell,) = row.xpath(f'./*[@data-field="{field}"]')
    return cell


@pytest.mark.parametrize("variant", sorted(REPORTS))
def test_browser_dom_shows_every_figure(variant: str, tmp_path: Path) -> None:
    report = REPORTS[variant]()
    doc = _browser_dom(report, tmp_path)
    assert doc.xpath("//script") == []  # the hostile hospital name stayed text
    (main,) = doc.xpath('//main[@id="report"]')
    assert (main.get("data-period"), main.get("data-status")) == (
        report["period"],
        report["status"],
    )
    (badge,) = doc.xpath('//*[@id="period-status"]')
    assert badge.text_content() == report["status"]
    assert bool(doc.xpath('//*[@id="open-notice"]')) == (report["status"] == "OPEN")

    summary = report["summary"]
    for key, value in summary.items():
        if key == "by_status":
            for code, count in value.items():
                (cell,) = doc.xpath(f'//*[@data-field="summary.by_status.{code}"]')
                _assert_shows(cell, count)
        else:
            (cell,) = doc.xpath(f'//*[@data-field="summary.{key}"]')
            _assert_shows(cell, value)

    tables = [
        ("table-checks", "checks", "check"),
        ("table-by-status", "by_status", "status"),
        ("table-by-fund", "by_fund", "fund"),
        ("table-by-hospital", "by_hospital", "hcode"),
        ("table-runs", "runs", "run_id"),
    ]
    for table_id, section, key in tables:
        rows = _rows(doc, table_id)
        assert list(rows) == [row[key] for row in report[section]], table_id
        for row in report[section]:
            for field, value in row.items():
                cell = _field(rows[row[key]], field)
                if field in ("name", "title", "kind", "created_at"):
                    assert cell.text_content() == value
                else:
                    _assert_shows(cell, value)
    assert _field(_rows(doc, "table-by-hospital")["99999"], "name").text_content() == EVIL_NAME

    if report["breaks"]:
        breaks = doc.xpath('//table[@id="table-breaks"]/tbody/tr')
        assert len(breaks) == len(report["breaks"])
        for tr, expected in zip(breaks, report["breaks"], strict=True):
            for field, value in expected.items():
                _assert_shows(_field(tr, field), value)
    else:
        (none,) = doc.xpath('//*[@id="no-breaks"]')
        assert none.text_content() == "No breaks."


@pytest.mark.parametrize("variant", sorted(REPORTS))
def test_browser_draws_the_three_charts(variant: str, tmp_path: Path) -> None:
    report = REPORTS[variant]()
    doc = _browser_dom(report, tmp_path)

    def bars(chart_id: str) -> dict[tuple[str, str], str]:
        (svg,) = doc.xpath(f'//svg[@id="{chart_id}"]')
        found = svg.xpath('.//rect[contains(concat(" ", @class, " "), " bar ")]')
        return {(b.get("data-key"), b.get("data-series")): b.get("data-value") for b in found}

    funds = bars("chart-funds")
    assert len(funds) == 2 * len(report["by_fund"])
    for fund in report["by_fund"]:
        assert funds[fund["fund"], "paid"] == fund["paid"]
        assert funds[fund["fund"], "received"] == fund["received"]

    netting = bars("chart-netting")
    assert len(netting) == 2 * (len(report["runs"]) + 1)
    for run in [*report["runs"], {"run_id": "Month", **report["summary"]}]:
        assert netting[run["run_id"], "gross"] == run["gross"]
        assert netting[run["run_id"], "netted"] == run["netted"]

    hospitals = bars("chart-hospitals")
    assert len(hospitals) == 3 * len(report["by_hospital"])
    for hospital in report["by_hospital"]:
        for status in ("A", "D", "C"):
            assert hospitals[hospital["hcode"], status] == str(hospital[status])


def test_browser_screenshot_is_not_blank(tmp_path: Path) -> None:
    browser.require_chromium()
    page = tmp_path / "reconciliation.html"
    page.write_text(reconciliation_html(settled_report()), encoding="utf-8")
    png = tmp_path / "out.png"
    browser.screenshot(page, png, width=1280, height=2000)
    width, height, _, _ = browser.png_pixels(png)
    assert (width, height) == (1280, 2000)
    assert not browser.png_is_blank(png)
