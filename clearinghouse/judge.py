"""The judging stage: linked drop + reference frames in, codes and statuses out.

All rules are evaluated on every claim (no stopping at the first failure) into one long frame
of ``(claim_type, claim_key, item_file, item_line, code)``; the status follows from the codes'
effects in the rule table: any C-effect code → ``C``, else any D-effect → ``D``, else ``A``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

import polars as pl

from clearinghouse.codes import Effect, effect_frame
from clearinghouse.facts import claim_facts, item_facts
from clearinghouse.linking import Linked, link
from clearinghouse.rules.claims import claim_rule_columns
from clearinghouse.rules.items import item_rule_columns, unknown_categories
from clearinghouse.rules.rows import row_rules
from clearinghouse.schema import CLAIM_ID

__all__ = ["CODES_SCHEMA", "Judgement", "add_codes", "judge_drop"]

CODES_SCHEMA = pl.Schema(
    {
        "claim_type": pl.String(),
        "claim_key": pl.String(),
        "item_file": pl.String(),
        "item_line": pl.Int64(),
        "code": pl.String(),
    }
)


@dataclass(frozen=True, slots=True)
class Judgement:
    """A judged drop: claims with status and codes, items with codes, orphan rows."""

    claims: pl.DataFrame
    items: pl.DataFrame
    codes: pl.DataFrame
    orphans: pl.DataFrame


def _long(frame: pl.DataFrame, id_cols: list[str]) -> pl.DataFrame:
    """Boolean rule columns to a long frame of the codes that fired."""
    value_cols = [c for c in frame.columns if c not in id_cols]
    if not value_cols:
        return frame.select(id_cols).with_columns(code=pl.lit(None, pl.String)).head(0)
    return (
        frame.unpivot(index=id_cols, on=value_cols, variable_name="code", value_name="fired")
        .filter(pl.col("fired"))
        .drop("fired")
    )


def _as_codes(frame: pl.DataFrame) -> pl.DataFrame:
    """Bring any (claim, [item], code) frame to CODES_SCHEMA."""
    for name in ("item_file", "item_line"):
        if name not in frame.columns:
            frame = frame.with_columns(pl.lit(None).alias(name))
    return frame.select(CODES_SCHEMA.names()).cast(dict(CODES_SCHEMA))  # type: ignore[arg-type]


def _row_codes(
    linked: Linked, hcode: str, absent: frozenset[tuple[str, str]]
) -> list[pl.DataFrame]:
    def rules(table: str) -> dict[str, pl.Expr]:
        lacking = frozenset(column for t, column in absent if t == table)
        return dict(row_rules(table, hcode, lacking))

    out: list[pl.DataFrame] = []
    for table, frame in linked.details.items():
        if table == "HEADER":
            for header in ("OPD", "IPD"):
                rows = frame.filter(pl.col("table") == header)
                checks = rows.select(*CLAIM_ID, **rules(header))
                out.append(_long(checks, CLAIM_ID))
            continue
        checks = frame.select(*CLAIM_ID, **rules(table))
        out.append(_long(checks, CLAIM_ID))
    pat = linked.patients.select("hn", **rules("PAT"))
    pat_codes = _long(pat, ["hn"]).join(linked.claims.select(*CLAIM_ID, "hn"), on="hn")
    out.append(pat_codes.select(*CLAIM_ID, "code"))
    out.append(linked.unmatched_hn.with_columns(code=pl.lit("S02")))
    return out


def statuses(claims: pl.DataFrame, codes: pl.DataFrame) -> pl.DataFrame:
    """Status and the sorted unique code list per claim, from the codes' effects."""
    effects = codes.join(effect_frame().select("code", "effect"), on="code", how="left")
    per_claim = effects.group_by(CLAIM_ID).agg(
        codes=pl.col("code").unique().sort(),
        rejected=(pl.col("effect") == Effect.REJECT.value).any(),
        denied=(pl.col("effect") == Effect.DENY.value).any(),
    )
    return (
        claims.drop("codes", "status", strict=False)
        .join(per_claim, on=CLAIM_ID, how="left")
        .with_columns(
            codes=pl.col("codes").fill_null(pl.lit([], pl.List(pl.String))),
            status=pl.when(pl.col("rejected"))
            .then(pl.lit("C"))
            .when(pl.col("denied"))
            .then(pl.lit("D"))
            .otherwise(pl.lit("A")),
        )
        .drop("rejected", "denied")
    )


def judge_drop(
    tables: dict[str, pl.DataFrame],
    *,
    hcode: str,
    received: dt.date,
    reference: dict[str, pl.DataFrame],
    raised: pl.DataFrame | None = None,
    absent: frozenset[tuple[str, str]] = frozenset(),
) -> Judgement:
    """Link, evaluate every drop-local rule (all but K), and derive statuses.

    ``raised``: claim codes the reader found (``claim_type, claim_key, code``), judged with
    the rest; ``absent``: ``(table, column)`` pairs the drop's format does not carry.
    """
    linked = link(tables)
    facts = claim_facts(linked)
    items = item_facts(linked, facts)
    claim_checks = claim_rule_columns(facts, reference["icd10"], received)
    item_checks = item_rule_columns(items, reference["fee_schedule"], reference["drugs"])
    item_id = [*CLAIM_ID, "file", "line"]
    item_codes = _long(item_checks, item_id).rename({"file": "item_file", "line": "item_line"})
    parts = [
        *_row_codes(linked, hcode, absent),
        _long(claim_checks, CLAIM_ID),
        unknown_categories(linked.details["CHA"], reference["charge_categories"]),
        item_codes,
    ]
    if raised is not None:
        parts.append(raised.join(facts.select(CLAIM_ID), on=CLAIM_ID, how="semi"))
    codes = pl.concat([_as_codes(p) for p in parts]).unique(maintain_order=True)
    return Judgement(
        claims=statuses(facts, codes),
        items=items,
        codes=codes,
        orphans=linked.orphans,
    )


def add_codes(judgement: Judgement, extra: pl.DataFrame) -> Judgement:
    """Add claim-level codes (e.g. the K rules, routing) and derive the statuses again."""
    codes = pl.concat([judgement.codes, _as_codes(extra)]).unique(maintain_order=True)
    return replace(judgement, codes=codes, claims=statuses(judgement.claims, codes))
