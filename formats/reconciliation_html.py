"""The auditors' page ``reconciliation.html``, rendered from the reconciliation report.

The page is one self-contained file: inline CSS, charts drawn here as inline SVG, no script and no
external resource of any kind, so it opens the same from an archive years later. Every value taken
from the report is HTML-escaped (hospital and fund names come from reference data).

Amounts are shown with thousands separators; each figure's element carries ``data-field`` (its place
in the report, e.g. ``summary.gross`` or, in a table row keyed by ``data-key``, the column ``paid``)
and ``data-value``, the exact string or integer of ``reconciliation.json``.
"""

from __future__ import annotations

import html
import math
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

__all__ = ["reconciliation_html"]

Kind = Literal["text", "code", "count", "amount", "ratio", "state"]

# Thai first so Thai names get a Thai face (fonts-thai-tlwg); Latin text and digits fall through.
_FONTS = (
    '"Loma", "Garuda", "Norasi", "Tlwg Typo", "TlwgTypo", "Noto Sans Thai", '
    '"DejaVu Sans", "Liberation Sans", Arial, sans-serif'
)
_STATUS_MEANING = {"A": "accepted", "D": "denied: valid, no fund pays", "C": "rejected"}
_STATUS_COLOUR = {"A": "#2da44e", "D": "#d4a72c", "C": "#cf222e"}
_EMPTY = "—"
_ROW_CLASS = {"break": "break", "n/a": "na"}  # a check's status

_CSS = f"""
:root {{ color-scheme: light; }}
* {{ box-sizing: border-box; }}
body {{ margin: 0; background: #f3f5f7; color: #1f2328; font-family: {_FONTS};
  font-size: 14px; line-height: 1.45; }}
main {{ max-width: 1200px; margin: 0 auto; padding: 20px 24px 40px; }}
header h1 {{ font-size: 24px; margin: 0 0 4px; font-weight: 700; }}
h2 {{ font-size: 17px; margin: 0 0 10px; }} p {{ margin: 4px 0; }}
.muted {{ color: #59636e; }}
section {{ background: #fff; border: 1px solid #d1d9e0; border-radius: 8px;
  padding: 14px 18px 16px; margin: 14px 0; }}
.badge {{ display: inline-block; padding: 1px 9px; border-radius: 999px; font-size: 13px;
  font-weight: 700; letter-spacing: .03em; vertical-align: middle; color: #fff; }}
.badge.SETTLED, .badge.ok {{ background: #1a7f37; }}
.badge.OPEN {{ background: #bf8700; }}
.badge.break {{ background: #cf222e; }}
.badge.n\\/a {{ background: #818b98; }}
.notice {{ border-left: 4px solid #bf8700; background: #fff8c5; padding: 8px 12px;
  margin: 10px 0 0; }}
.verdict {{ font-weight: 700; margin-top: 8px; }} .verdict.ok {{ color: #1a7f37; }}
.verdict.break, .figure.break .value, td.neg {{ color: #cf222e; }}
.figures {{ display: grid; grid-template-columns: repeat(auto-fill, minmax(160px, 1fr));
  gap: 10px; }}
.figure {{ border: 1px solid #d1d9e0; border-radius: 6px; padding: 8px 12px; }}
.figure .label {{ color: #59636e; font-size: 12px; }}
.figure .value {{ font-size: 20px; font-weight: 700; text-align: right;
  font-variant-numeric: tabular-nums; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ padding: 4px 8px; border-bottom: 1px solid #e6eaef; text-align: left;
  vertical-align: top; }}
thead th {{ background: #f6f8fa; font-weight: 600; border-bottom: 1px solid #d1d9e0;
  white-space: nowrap; }}
.num {{ text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }}
.code {{ font-family: "DejaVu Sans Mono", "Tlwg Mono", monospace; font-size: 12.5px;
  white-space: nowrap; }}
.code.long {{ white-space: normal; overflow-wrap: anywhere; }}
tr.break td {{ background: #ffebe9; }}
tr.na td {{ color: #59636e; font-style: italic; }}
.caption {{ color: #59636e; font-size: 12.5px; margin: 6px 0 0; }}
.charts {{ display: grid; gap: 14px; }}
figure {{ margin: 0; }} figcaption {{ font-weight: 700; margin-bottom: 6px; }}
svg {{ width: 100%; height: auto; display: block; }}
svg text {{ font-family: {_FONTS}; fill: #1f2328; }}
svg .axis {{ stroke: #8c959f; }} svg .grid {{ stroke: #e6eaef; }}
svg .tick {{ font-size: 11px; fill: #59636e; }}
footer {{ color: #59636e; font-size: 12px; margin-top: 18px; }}
@media print {{ body {{ background: #fff; }} section {{ break-inside: avoid; }} }}
"""


@dataclass(frozen=True)
class _Column:
    key: str
    header: str
    kind: Kind


@dataclass(frozen=True)
class _Series:
    key: str
    label: str
    colour: str


def reconciliation_html(report: Mapping[str, Any]) -> str:
    """The self-contained HTML page for one period's reconciliation report.

    Args:
        report: the dict written as ``reconciliation.json`` (amounts as baht strings, counts as
            ints, ratios as strings or ``None``).

    Returns:
        The whole page as a string (UTF-8 when written).
    """
    period = str(report.get("period", ""))
    status = str(report.get("status", ""))
    summary: Mapping[str, Any] = report.get("summary") or {}
    checks: list[Mapping[str, Any]] = list(report.get("checks") or [])
    funds: list[Mapping[str, Any]] = list(report.get("by_fund") or [])
    hospitals: list[Mapping[str, Any]] = list(report.get("by_hospital") or [])
    runs: list[Mapping[str, Any]] = list(report.get("runs") or [])
    breaks: list[Mapping[str, Any]] = list(report.get("breaks") or [])
    title = f"Reconciliation {period} — {status}"
    body = [
        _header(period, status, str(report.get("generated_at", "")), checks, breaks),
        _summary(summary),
        _checks(checks),
        _breaks(breaks),
        _section("status", "Claims by status", _by_status(report.get("by_status") or [])),
        _section("funds", "Money by fund", _by_fund(funds)),
        _section("hospitals", "Claims and money by hospital", _by_hospital(hospitals)),
        _section("runs", "Settlement runs", _runs(runs)),
        _section("charts", "Charts", _charts(summary, funds, runs, hospitals)),
        '<footer>Rendered from <span class="code">reconciliation.json</span>; amounts in baht. '
        "This page is self-contained: it loads nothing else.</footer>",
    ]
    return (
        "<!doctype html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(title)}</title>\n<style>{_CSS}</style>\n</head>\n"
        f'<body>\n<main id="report" data-period="{_e(period)}" data-status="{_e(status)}">\n'
        + "\n".join(body)
        + "\n</main>\n</body>\n</html>\n"
    )


# --- values -------------------------------------------------------------------------------------


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _grouped(text: str) -> str:
    """``"-156527.12"`` → ``"-156,527.12"`` without arithmetic; anything else is returned as is."""
    sign, digits = ("-", text[1:]) if text.startswith("-") else ("", text)
    whole, dot, fraction = digits.partition(".")
    plain = whole.isascii() and whole.isdigit() and (not dot or fraction.isdigit())
    return f"{sign}{int(whole):,}{dot}{fraction}" if plain else text


def _shown(value: object, kind: Kind) -> str:
    if value is None:
        return _EMPTY
    if kind == "count" and isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    if kind == "amount":
        return _grouped(str(value))
    return str(value)


def _magnitude(value: object) -> float:
    """A non-negative float for drawing only; figures themselves are never computed here."""
    try:
        number = float(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        return 0.0
    return number if number > 0 and math.isfinite(number) else 0.0


def _percent(ratio: object) -> str:
    if ratio is None:
        return _EMPTY
    try:
        return f"{Decimal(str(ratio)) * 100:.2f} %"
    except InvalidOperation:
        return str(ratio)


def _cell(column: _Column, value: object) -> str:
    if column.kind == "state":
        return (
            f'<td data-field="{_e(column.key)}" data-value="{_e(value)}">'
            f'<span class="badge {_e(value)}">{_e(value)}</span></td>'
        )
    classes = {"count": "num", "amount": "num", "ratio": "num", "code": "code"}.get(column.kind, "")
    if column.kind == "amount" and str(value).startswith("-"):
        classes += " neg"
    if column.kind == "code" and len(str(value)) > 24:
        classes += " long"
    data = f' data-value="{_e(value)}"' if value is not None and column.kind != "text" else ""
    css = f' class="{classes.strip()}"' if classes else ""
    return f'<td{css} data-field="{_e(column.key)}"{data}>{_e(_shown(value, column.kind))}</td>'


# --- tables -------------------------------------------------------------------------------------


def _section(key: str, heading: str, content: str) -> str:
    return f'<section id="{key}">\n<h2>{_e(heading)}</h2>\n{content}\n</section>'


def _table(
    table_id: str,
    columns: Sequence[_Column],
    rows: Iterable[Mapping[str, Any]],
    key: str,
) -> str:
    head = "".join(
        f"<th{' class=num' if c.kind in ('count', 'amount', 'ratio') else ''}>{_e(c.header)}</th>"
        for c in columns
    )
    lines = []
    for row in rows:
        css = _ROW_CLASS.get(str(row.get("status")), "")
        attr = f' class="{css}"' if css else ""
        cells = "".join(_cell(c, row.get(c.key)) for c in columns)
        lines.append(f'<tr data-key="{_e(row.get(key, ""))}"{attr}>{cells}</tr>')
    if not lines:
        lines.append(f'<tr class="empty"><td colspan="{len(columns)}">None</td></tr>')
    body = "\n".join(lines)
    return (
        f'<table id="{table_id}">\n<thead><tr>{head}</tr></thead>\n'
        f"<tbody>\n{body}\n</tbody>\n</table>"
    )


def _header(
    period: str,
    status: str,
    generated_at: str,
    checks: Sequence[Mapping[str, Any]],
    breaks: Sequence[Mapping[str, Any]],
) -> str:
    parts = [
        f'<header>\n<h1 id="title">Reconciliation of period <span data-field="period">{_e(period)}'
        f'</span> <span id="period-status" class="badge {_e(status)}" data-field="status">'
        f"{_e(status)}</span></h1>",
        f'<p class="muted">Generated at <span data-field="generated_at">{_e(generated_at)}</span>'
        "</p>",
    ]
    if status == "OPEN":
        parts.append(
            f'<p id="open-notice" class="notice">The month {_e(period)} is <strong>OPEN</strong>: '
            "this report covers the settlement runs so far, and the checks that need the month's "
            "close read <strong>n/a</strong>.</p>"
        )
    failed = sum(1 for check in checks if check.get("status") == "break")
    if breaks or failed:
        parts.append(
            f'<p id="verdict" class="verdict break">{len(breaks)} break(s) in {failed} check(s): '
            "reconciliation FAILED.</p>"
        )
    else:
        passed = sum(1 for check in checks if check.get("status") == "ok")
        na = len(checks) - passed
        rest = f", {na} n/a" if na else ""
        parts.append(
            f'<p id="verdict" class="verdict ok">No breaks: {passed} check(s) passed{rest}.</p>'
        )
    return "\n".join(parts) + "\n</header>"


def _summary(summary: Mapping[str, Any]) -> str:
    by_status: Mapping[str, Any] = summary.get("by_status") or {}
    figures: list[tuple[str, str, object, Kind]] = [
        ("summary.claims", "Claims", summary.get("claims"), "count")
    ]
    figures += [
        (
            f"summary.by_status.{code}",
            f"Claims {code} ({_STATUS_MEANING.get(code, code)})",
            n,
            "count",
        )
        for code, n in _status_order(by_status)
    ]
    figures += [
        ("summary.obligations", "Obligations", summary.get("obligations"), "count"),
        ("summary.runs", "Settlement runs", summary.get("runs"), "count"),
        ("summary.gross", "Gross (Σ obligations)", summary.get("gross"), "amount"),
        ("summary.netted", "Netted (Σ|net| ÷ 2)", summary.get("netted"), "amount"),
        ("summary.netting_effect", "Netting effect", summary.get("netting_effect"), "ratio"),
        ("summary.breaks", "Breaks", summary.get("breaks"), "count"),
    ]
    cards = []
    for field, label, value, kind in figures:
        alarm = " break" if field == "summary.breaks" and value not in (0, None) else ""
        data = f' data-value="{_e(value)}"' if value is not None else ""
        cards.append(
            f'<div class="figure{alarm}"><div class="label">{_e(label)}</div>'
            f'<div class="value" data-field="{_e(field)}"{data}>'
            f"{_e(_shown(value, kind))}</div></div>"
        )
    return _section("summary", "Summary", '<div class="figures">\n' + "\n".join(cards) + "\n</div>")


def _status_order(by_status: Mapping[str, Any]) -> list[tuple[str, Any]]:
    known = [(code, by_status[code]) for code in _STATUS_MEANING if code in by_status]
    return known + [(str(c), n) for c, n in by_status.items() if c not in _STATUS_MEANING]


def _checks(checks: Sequence[Mapping[str, Any]]) -> str:
    columns = [
        _Column("check", "Check", "code"),
        _Column("title", "What is compared", "text"),
        _Column("subjects", "Subjects", "count"),
        _Column("expected", "Expected", "code"),
        _Column("actual", "Actual", "code"),
        _Column("breaks", "Breaks", "count"),
        _Column("status", "Status", "state"),
    ]
    return _section("checks", "Checks", _table("table-checks", columns, checks, "check"))


def _by_status(rows: Sequence[Mapping[str, Any]]) -> str:
    described = [
        {**row, "meaning": _STATUS_MEANING.get(str(row.get("status")), "")} for row in rows
    ]
    columns = [
        _Column("status", "Status", "code"),
        _Column("meaning", "Meaning", "text"),
        _Column("claims", "Claims", "count"),
        _Column("charged", "Charged", "amount"),
        _Column("allowed", "Allowed", "amount"),
    ]
    return _table("table-by-status", columns, described, "status")


def _by_fund(rows: Sequence[Mapping[str, Any]]) -> str:
    columns = [
        _Column("fund", "Fund", "code"),
        _Column("name", "Name", "text"),
        _Column("claims", "Claims", "count"),
        _Column("paid", "Paid", "amount"),
        _Column("received", "Received", "amount"),
        _Column("net", "Net", "amount"),
    ]
    return _table("table-by-fund", columns, rows, "fund")


def _by_hospital(rows: Sequence[Mapping[str, Any]]) -> str:
    columns = [
        _Column("hcode", "Hcode", "code"),
        _Column("name", "Name", "text"),
        _Column("claims", "Claims", "count"),
        _Column("A", "A", "count"),
        _Column("D", "D", "count"),
        _Column("C", "C", "count"),
        _Column("allowed", "Allowed", "amount"),
        _Column("received", "Received", "amount"),
        _Column("paid", "Paid", "amount"),
        _Column("net", "Net", "amount"),
    ]
    return _table("table-by-hospital", columns, rows, "hcode")


def _runs(rows: Sequence[Mapping[str, Any]]) -> str:
    columns = [
        _Column("run_id", "Run", "code"),
        _Column("cutoff", "Cut-off", "code"),
        _Column("kind", "Kind", "text"),
        _Column("created_at", "Created at", "text"),
        _Column("obligations", "Obligations", "count"),
        _Column("gross", "Gross", "amount"),
        _Column("netted", "Netted", "amount"),
        _Column("netting_effect", "Netting effect", "ratio"),
    ]
    caption = (
        '<p class="caption">Netting effect = 1 − (Σ|net| ÷ 2) ÷ Σ obligation amounts: the share '
        "of the gross that netting kept from moving.</p>"
    )
    return _table("table-runs", columns, rows, "run_id") + "\n" + caption


def _breaks(breaks: Sequence[Mapping[str, Any]]) -> str:
    if not breaks:
        return _section("breaks", "Breaks", '<p id="no-breaks">No breaks.</p>')
    columns = [
        _Column("check", "Check", "code"),
        _Column("subject", "Subject", "code"),
        _Column("expected", "Expected", "code"),
        _Column("actual", "Actual", "code"),
    ]
    return _section("breaks", "Breaks", _table("table-breaks", columns, breaks, "check"))


# --- charts -------------------------------------------------------------------------------------

_WIDTH = 1100
_FUND_SERIES = (_Series("paid", "Paid", "#0969da"), _Series("received", "Received", "#e16f24"))
_RUN_SERIES = (_Series("gross", "Gross", "#9aa7b4"), _Series("netted", "Netted", "#1a7f37"))
_STATUS_SERIES = tuple(
    _Series(code, f"{code} {meaning}", _STATUS_COLOUR[code])
    for code, meaning in _STATUS_MEANING.items()
)


@dataclass(frozen=True)
class _Group:
    key: str
    note: str
    values: Mapping[str, object]


def _charts(
    summary: Mapping[str, Any],
    funds: Sequence[Mapping[str, Any]],
    runs: Sequence[Mapping[str, Any]],
    hospitals: Sequence[Mapping[str, Any]],
) -> str:
    fund_groups = [_Group(str(f.get("fund", "")), "", f) for f in funds]
    effect = "effect {}".format
    run_groups = [
        _Group(str(r.get("run_id", "")), effect(_percent(r.get("netting_effect"))), r) for r in runs
    ]
    run_groups.append(_Group("Month", effect(_percent(summary.get("netting_effect"))), summary))
    return "\n".join(
        [
            '<div class="charts">',
            _figure(
                "Money by fund (baht): paid and received",
                _bar_chart("chart-funds", fund_groups, _FUND_SERIES),
            ),
            _figure(
                "Netting effect: gross vs netted per run and for the month (baht)",
                _bar_chart("chart-netting", run_groups, _RUN_SERIES),
            ),
            _figure("Claims by status per hospital", _hospital_chart(hospitals)),
            "</div>",
        ]
    )


def _figure(caption: str, svg: str) -> str:
    return f"<figure>\n<figcaption>{_e(caption)}</figcaption>\n{svg}\n</figure>"


def _ticks(top: float, *, integer: bool = False, count: int = 5) -> list[float]:
    """Round axis ticks from 0 to at least ``top``."""
    if top <= 0:
        return [0.0, 1.0]
    magnitude = 10 ** math.floor(math.log10(top / count))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude * count >= top)
    if integer:
        step = float(max(1, math.ceil(step)))
    return [round(i * step, 6) for i in range(math.ceil(top / step - 1e-9) + 1)]


def _tick_text(value: float) -> str:
    return f"{value:,.0f}" if value == int(value) else f"{value:,.2f}"


def _legend(series: Sequence[_Series], x: float, y: float) -> list[str]:
    out = []
    for s in series:
        out.append(
            f'<rect class="legend" x="{x:.1f}" y="{y - 10:.1f}" width="12" height="12" '
            f'fill="{s.colour}"/><text x="{x + 17:.1f}" y="{y:.1f}" font-size="12">'
            f"{_e(s.label)}</text>"
        )
        x += 34 + 6.5 * len(s.label)
    return out


def _svg(chart_id: str, height: float, parts: Sequence[str], count: int) -> str:
    return (
        f'<svg id="{chart_id}" data-groups="{count}" xmlns="http://www.w3.org/2000/svg" '
        f'viewBox="0 0 {_WIDTH} {height:.0f}" role="img">\n' + "\n".join(parts) + "\n</svg>"
    )


def _empty_chart(chart_id: str) -> str:
    return _svg(chart_id, 40, ['<text x="8" y="24" font-size="13">Nothing to chart.</text>'], 0)


def _bar_chart(chart_id: str, groups: Sequence[_Group], series: Sequence[_Series]) -> str:
    """Vertical bars, one per series side by side in each group, on a shared amount axis."""
    if not groups:
        return _empty_chart(chart_id)
    left, right, top, height = 96.0, 16.0, 40.0, 320.0
    crowded = (_WIDTH - left - right) / len(groups) < 110
    bottom = 96.0 if crowded else 52.0
    plot_w, plot_h = _WIDTH - left - right, height - top - bottom
    ticks = _ticks(max(_magnitude(g.values.get(s.key)) for g in groups for s in series))
    scale = plot_h / ticks[-1]
    base = top + plot_h
    parts = _legend(series, left, 18)
    for tick in ticks:
        y = base - tick * scale
        parts.append(
            f'<line class="grid" x1="{left}" x2="{_WIDTH - right}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="tick" x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{_tick_text(tick)}</text>"
        )
    group_w = plot_w / len(groups)
    inner = min(group_w * 0.72, 64.0 * len(series))
    bar_w = inner / len(series)
    for i, group in enumerate(groups):
        x = left + i * group_w + (group_w - inner) / 2
        for s in series:
            raw = group.values.get(s.key)
            h = _magnitude(raw) * scale
            shown = _shown(raw, "amount")
            parts.append(
                f'<rect class="bar" data-series="{s.key}" data-key="{_e(group.key)}" '
                f'data-value="{_e(raw)}" x="{x:.1f}" y="{base - h:.1f}" width="{bar_w - 2:.1f}" '
                f'height="{h:.1f}" fill="{s.colour}"><title>{_e(group.key)} {_e(s.label)}: '
                f"{_e(shown)} {_e(group.note)}</title></rect>"
            )
            if bar_w >= 56:
                parts.append(
                    f'<text class="tick" x="{x + bar_w / 2 - 1:.1f}" y="{base - h - 4:.1f}" '
                    f'text-anchor="middle" font-size="10">{_e(shown)}</text>'
                )
            x += bar_w
        centre = left + (i + 0.5) * group_w
        if crowded:
            parts.append(
                f'<text x="{centre:.1f}" y="{base + 14:.1f}" font-size="11" text-anchor="end" '
                f'transform="rotate(-40 {centre:.1f} {base + 14:.1f})">{_e(group.key)}</text>'
            )
        else:
            parts.append(
                f'<text x="{centre:.1f}" y="{base + 18:.1f}" font-size="12" '
                f'text-anchor="middle">{_e(group.key)}</text>'
            )
            if group.note:
                parts.append(
                    f'<text class="tick" x="{centre:.1f}" y="{base + 34:.1f}" '
                    f'text-anchor="middle">{_e(group.note)}</text>'
                )
    parts.append(f'<line class="axis" x1="{left}" x2="{_WIDTH - right}" y1="{base}" y2="{base}"/>')
    return _svg(chart_id, height, parts, len(groups))


def _clip(text: str, limit: int) -> str:
    """At most ``limit`` base characters, never splitting a Thai vowel or tone mark off its base."""
    count = 0
    for i, char in enumerate(text):
        if unicodedata.category(char) not in ("Mn", "Me"):
            count += 1
            if count > limit:
                return text[:i].rstrip() + "…"
    return text


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _hospital_chart(hospitals: Sequence[Mapping[str, Any]]) -> str:
    """Horizontal bars per hospital, stacked A, D, C, on a shared claim-count axis."""
    chart_id = "chart-hospitals"
    if not hospitals:
        return _empty_chart(chart_id)
    label_w, right, top, row_h, bar_h = 330.0, 56.0, 40.0, 26.0, 17.0
    left = label_w + 10
    height = top + row_h * len(hospitals) + 30
    plot_w = _WIDTH - left - right
    totals = [sum(_count(h.get(s.key)) for s in _STATUS_SERIES) for h in hospitals]
    ticks = _ticks(float(max(totals)), integer=True)
    scale = plot_w / ticks[-1]
    base = top + row_h * len(hospitals)
    parts = _legend(_STATUS_SERIES, left, 18)
    for tick in ticks:
        x = left + tick * scale
        parts.append(
            f'<line class="grid" x1="{x:.1f}" x2="{x:.1f}" y1="{top - 4}" y2="{base:.1f}"/>'
            f'<text class="tick" x="{x:.1f}" y="{base + 16:.1f}" text-anchor="middle">'
            f"{_tick_text(tick)}</text>"
        )
    for i, (hospital, total) in enumerate(zip(hospitals, totals, strict=True)):
        hcode, name = str(hospital.get("hcode", "")), str(hospital.get("name") or "")
        y = top + i * row_h + (row_h - bar_h) / 2
        label = _clip(f"{hcode} {name}".strip(), 44)
        parts.append(
            f'<text x="{label_w:.1f}" y="{y + bar_h - 4:.1f}" font-size="12" text-anchor="end">'
            f"<title>{_e(hcode)} {_e(name)}</title>{_e(label)}</text>"
        )
        x = left
        for s in _STATUS_SERIES:
            n = _count(hospital.get(s.key))
            w = n * scale
            parts.append(
                f'<rect class="bar" data-series="{s.key}" data-key="{_e(hcode)}" '
                f'data-value="{_e(hospital.get(s.key, 0))}" x="{x:.1f}" y="{y:.1f}" '
                f'width="{w:.1f}" height="{bar_h}" fill="{s.colour}"><title>{_e(hcode)} '
                f"{_e(name)}: {s.key} {n:,}</title></rect>"
            )
            if w >= 22:
                parts.append(
                    f'<text x="{x + w / 2:.1f}" y="{y + bar_h - 4:.1f}" font-size="11" '
                    f'text-anchor="middle" style="fill:#fff">{n:,}</text>'
                )
            x += w
        parts.append(f'<text class="tick" x="{x + 5:.1f}" y="{y + bar_h - 4:.1f}">{total:,}</text>')
    parts.append(f'<line class="axis" x1="{left}" x2="{left}" y1="{top - 4}" y2="{base:.1f}"/>')
    return _svg(chart_id, height, parts, len(hospitals))
