"""``clearinghouse explain``: how one claim version's outcome and amount were reached.

Reads the stored claim version, its codes, items, payers and the derivation recorded at
ingest (coverage row, LOS, DRG and weights, formula branch, base-rate row, compensation cap,
referral decision) and renders it as text, or as JSON with ``--json``. Display arithmetic
uses ``Decimal``; the amounts shown are the stored ones.
"""

from __future__ import annotations

import json
import math
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, text

from clearinghouse.codes import rule
from clearinghouse.errors import UsageError
from clearinghouse.persistence.db import make_engine, require_schema
from clearinghouse.settings import Settings

__all__ = ["explain", "load_explanation", "render"]

_E4 = Decimal(10_000)


def _baht(satang: int | None) -> str:
    return "-" if satang is None else f"{Decimal(satang) / 100:,.2f}"


def _w(e4: int | None) -> str:
    return "-" if e4 is None else f"{Decimal(e4) / _E4:.4f}"


def load_explanation(
    conn: Connection, hcode: str, claim_type: str, claim_key: str, version: int | None
) -> dict[str, Any]:
    """Everything stored about one claim version (the latest when ``version`` is None)."""
    query = (
        "SELECT cv.*, d.name AS drop_name FROM claim_version cv"
        " JOIN claim_drop d ON d.id = cv.drop_id"
        " WHERE cv.hcode = :h AND cv.claim_type = :t AND cv.claim_key = :k"
    )
    params: dict[str, Any] = {"h": hcode, "t": claim_type.upper(), "k": claim_key}
    if version is not None:
        query += " AND cv.version = :v"
        params["v"] = version
    row = conn.execute(text(query + " ORDER BY cv.version DESC"), params).mappings().first()
    if row is None:
        which = f"version {version} of " if version is not None else ""
        raise UsageError(f"no {which}claim {hcode} {claim_type} {claim_key} has been received")
    claim = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()}
    cid = claim["id"]
    codes = conn.execute(
        text("SELECT code, item_id FROM claim_code WHERE claim_version_id = :c ORDER BY code"),
        {"c": cid},
    ).all()
    items = (
        conn.execute(
            text(
                "SELECT id, kind, file, line, code, quantity, charged, allowed FROM item"
                " WHERE claim_version_id = :c ORDER BY file, line"
            ),
            {"c": cid},
        )
        .mappings()
        .all()
    )
    payers = conn.execute(
        text("SELECT fund, amount FROM claim_payer WHERE claim_version_id = :c ORDER BY fund"),
        {"c": cid},
    ).all()
    item_codes: dict[int, list[str]] = {}
    for code, item_id in codes:
        if item_id is not None:
            item_codes.setdefault(item_id, []).append(code)
    derivation = json.loads(claim.pop("derivation") or "{}")
    return {
        "claim": claim,
        "codes": [
            {"code": c, "effect": rule(c).effect.value, "meaning": rule(c).text}
            for c in sorted({code for code, _ in codes})
        ],
        "items": [{**dict(i), "codes": item_codes.get(i["id"], [])} for i in items],
        "payers": [{"fund": f, "amount": a} for f, a in payers],
        "derivation": derivation,
    }


def _adjrw_arithmetic(d: dict[str, Any]) -> str:
    """The formula branch with its numbers, as the spec writes it."""
    rw, rw0d = Decimal(d["rw_e4"]) / _E4, Decimal(d["rw0d_e4"]) / _E4
    wtlos, ot, of = (Decimal(d[k]) / _E4 for k in ("wtlos_e4", "ot_e4", "of_e4"))
    los, branch = d["los"], d["adjrw_branch"]
    if branch == "day_case":
        return f"day case: {'rw0d' if rw0d > 0 else 'rw'} = {rw0d if rw0d > 0 else rw:.4f}"
    if branch == "short_stay":
        if rw0d <= 0:
            return f"short stay, rw0d = 0: rw = {rw:.4f}"
        third = math.ceil(wtlos / 3)
        exact = rw0d + los * (rw - rw0d) / third
        return (
            f"short stay: rw0d + los x (rw - rw0d) / ceil(wtlos/3) = {rw0d} + {los} x "
            f"({rw} - {rw0d}) / {third} = {exact:.8f}"
        )
    if branch and branch.startswith("long_stay"):
        b12, b23 = Decimal(d["b12_e4"]) / _E4, Decimal(d["b23_e4"]) / _E4
        head = f"long stay ({d['weight_set']}: b12 {b12}, b23 {b23}, ot {ot}, of {of}): "
        if branch == "long_stay_1":
            return head + f"rw + of x b12 x (los - ot) = {rw + of * b12 * (los - ot):.8f}"
        if branch == "long_stay_2":
            value = rw + of * b12 * ot + of * b23 * (los - 2 * ot)
            return head + f"rw + of x b12 x ot + of x b23 x (los - 2 x ot) = {value:.8f}"
        return head + f"rw + of x ot x (b12 + b23) = {rw + of * ot * (b12 + b23):.8f}"
    return f"normal stay: rw = {rw:.4f}"


def render(info: dict[str, Any]) -> str:
    """The explanation as text for a hospital officer."""
    c, d = info["claim"], info["derivation"]
    for moment in ("admitted_at", "discharged_at"):
        if d.get(moment):
            d[moment] = str(d[moment]).removesuffix(".000000")[:16]
    lines = [
        f"{c['hcode']} {c['claim_type']} {c['claim_key']} version {c['version']}: status "
        f"{c['status']}, received {c['received']} in drop {c['drop_name']} ({c['file']} line "
        f"{c['line']}), period {c['period']}, reference version {c['reference_version_id']}",
    ]
    if c.get("replaces_version"):
        lines.append(f"  correction: replaces version {c['replaces_version']}")
    lines.append("Codes:" if info["codes"] else "Codes: none")
    lines += [f"  {x['code']} ({x['effect']}): {x['meaning']}" for x in info["codes"]]
    source = {
        "registry": "registry",
        "thai_default": "Thai citizen without coverage (E04)",
        "mnf": "uninsured non-Thai emergency (E05)",
    }.get(d.get("coverage_source") or "")
    if d.get("coverage_fund"):
        row = ""
        if d.get("coverage_source") == "registry":
            row = (
                f", registry row valid {d['registry_valid_from']}.."
                f"{d.get('registry_valid_to') or 'open'}, precedence {d['registry_precedence']}"
            )
        lines.append(
            f"Coverage: {d['coverage_fund']} from {source}{row}; main hospital "
            f"{d.get('hmain') or 'none'}; claimed right {d.get('inscl') or 'none'}"
        )
    else:
        lines.append("Coverage: none found on the coverage date")
    if c["claim_type"] == "IP" and d.get("los") is not None:
        lines.append(
            f"Stay: admitted {d.get('admitted_at')}, discharged {d.get('discharged_at')}, leave "
            f"days {d.get('leave_days')}, LOS {d['los']}, "
            f"day case {'yes' if d.get('day_case') else 'no'}"
        )
        lines.append(
            f"DRG: PDx {d.get('pdx')}, procedural {'yes' if d.get('procedural') else 'no'}"
            f" -> {d.get('drg') or 'no grouping row (B08)'}"
        )
        if d.get("rw_e4") is not None:
            lines.append(
                f"  weights rw {_w(d['rw_e4'])}, rw0d {_w(d['rw0d_e4'])}, wtlos "
                f"{_w(d['wtlos_e4'])}, ot {_w(d['ot_e4'])}, of {_w(d['of_e4'])} (valid "
                f"{d['drg_valid_from']}..{d.get('drg_valid_to') or 'open'})"
            )
            lines.append(f"  AdjRW: {_adjrw_arithmetic(d)} -> {_w(d['adjrw_e4'])}")
        if d.get("rate") is not None:
            lines.append(
                f"  base rate {d['rate_fund']} {d['rate_hospital_type']} {d['care']}: "
                f"{_baht(d['rate'])} per AdjRW (valid {d['rate_valid_from']}.."
                f"{d.get('rate_valid_to') or 'open'})"
            )
            lines.append(
                f"  DRG amount = {_w(d['adjrw_e4'])} x {_baht(d['rate'])} = "
                f"{_baht(d['drg_amount'])}; DRG-exempt items {_baht(d.get('exempt_allowed') or 0)}"
            )
        elif d.get("drg"):
            lines.append("  no DRG parameters or base rate valid on the service date (B09)")
    lines.append(f"Amounts: charged {_baht(c['charged'])}, allowed {_baht(c['allowed'])}")
    if info["items"]:
        lines.append("Items (file line kind code qty charged allowed codes):")
        lines += [
            f"  {i['file']} {i['line']} {i['kind']} {i['code']} {i['quantity']} "
            f"{_baht(i['charged'])} {_baht(i['allowed'])} {';'.join(i['codes'])}"
            for i in info["items"]
        ]
    if d.get("comp_fund"):
        capped = " (cap applied)" if d.get("cap_applied") else ""
        lines.append(
            f"Compensation: {d['comp_fund']} pays min(charged, cap) = "
            f"{_baht(d.get('comp'))}{capped}"
        )
    if d.get("coverage_fund"):
        lines.append(
            f"Primary share: {d['coverage_fund']} pays max(0, allowed - compensation)"
            f" = {_baht(d.get('primary'))}"
        )
    lines.append(
        f"Referral: {d.get('referral') or 'not applicable'}"
        + (
            f"; {c['refer_charge_to']} charged {_baht(c['refer_charge'])}"
            if c.get("refer_charge")
            else ""
        )
    )
    paid = "; ".join(f"{p['fund']} {_baht(p['amount'])}" for p in info["payers"])
    lines.append(f"Payers: {paid or 'none'}")
    return "\n".join(lines)


def explain(
    settings: Settings,
    hcode: str,
    claim_type: str,
    claim_key: str,
    version: int | None,
    *,
    as_json: bool,
) -> str:
    """The explanation of one claim version, as text or JSON."""
    engine = make_engine(settings.db)
    try:
        require_schema(engine)
        with engine.connect() as conn:
            info = load_explanation(conn, hcode, claim_type, claim_key, version)
    finally:
        engine.dispose()
    if as_json:
        return json.dumps(info, ensure_ascii=False, indent=1, default=str)
    return render(info)
