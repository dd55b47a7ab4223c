"""The rule table: every code, its effect and its one-line explanation.

The acknowledgement, the export, ``explain`` and the docs all read this table; nothing else
may hard-code a code's meaning or effect.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import polars as pl

__all__ = ["RULES", "Effect", "Rule", "effect_frame", "rule", "rules_markdown"]


class Effect(StrEnum):
    """What a code does to its drop, claim or item."""

    DROP = "drop"  # the whole drop is refused
    NONE = "none"  # F08: duplicate, nothing changes
    REJECT = "C"  # the claim version is rejected
    DENY = "D"  # valid, but no fund pays
    ITEM = "item"  # the item is priced at 0
    ROW = "row"  # a row that belongs to no claim, listed in the acknowledgement
    WARN = "W"  # warning only


@dataclass(frozen=True, slots=True)
class Rule:
    code: str
    effect: Effect
    text: str


RULES: tuple[Rule, ...] = (
    Rule(
        "F01",
        Effect.DROP,
        "not a readable claim drop (corrupt archive, unsafe member, too large, "
        "two files for one table)",
    ),
    Rule("F02", Effect.DROP, "text neither UTF-8 nor Windows-874"),
    Rule("F03", Effect.DROP, "a required table is missing"),
    Rule("F04", Effect.DROP, "a required column is missing, or an XML header count disagrees"),
    Rule("F05", Effect.DROP, "XML checksum trailer missing or not matching"),
    Rule("F06", Effect.DROP, "XML not well-formed, or has a DTD / entity declaration"),
    Rule("F07", Effect.DROP, "submitting hospital unknown or undeterminable"),
    Rule("F08", Effect.NONE, "the identical bytes were already ingested"),
    Rule("S01", Effect.REJECT, "a row has more or fewer fields than its header"),
    Rule("S02", Effect.REJECT, "a required field is empty, or the claim's HN has no PAT row"),
    Rule("S03", Effect.REJECT, "a date or time does not parse or is not a real calendar date"),
    Rule("S04", Effect.REJECT, "an amount or quantity does not parse, is negative or too precise"),
    Rule("S05", Effect.ROW, "a row links to no claim of the drop"),
    Rule("S06", Effect.REJECT, "the same claim key appears twice in one drop"),
    Rule("S07", Effect.REJECT, "a row's HCODE differs from the submitting hospital"),
    Rule("C01", Effect.REJECT, "PERSON_ID is not 13 digits or its check digit is wrong"),
    Rule("C02", Effect.REJECT, "not exactly one principal diagnosis"),
    Rule("C03", Effect.REJECT, "principal diagnosis not in the ICD-10 reference"),
    Rule("C04", Effect.ITEM, "fee-schedule code not valid on the pricing date"),
    Rule("C05", Effect.ITEM, "drug code not valid on the pricing date"),
    Rule("C06", Effect.REJECT, "charge category not in the reference"),
    Rule("B01", Effect.REJECT, "discharge before admission"),
    Rule("B02", Effect.REJECT, "service date after the received date"),
    Rule("B03", Effect.REJECT, "filed late: more than 365 days after the service date"),
    Rule("B04", Effect.REJECT, "charge categories do not sum to the claim total, or no CHT row"),
    Rule("B05", Effect.REJECT, "principal diagnosis restricted to the other sex"),
    Rule("B06", Effect.REJECT, "age outside the principal diagnosis' age range"),
    Rule("B07", Effect.ITEM, "item quantity is 0"),
    Rule("B08", Effect.REJECT, "inpatient claim matches no DRG grouping rule"),
    Rule("B09", Effect.REJECT, "no DRG parameters or base rate valid on the service date"),
    Rule("B10", Effect.REJECT, "CIPN/AIPN bill totals disagree"),
    Rule(
        "E01", Effect.DENY, "no fund pays: no coverage, not Thai, not an emergency, no compensation"
    ),
    Rule("E02", Effect.WARN, "claimed right differs from the coverage fund found"),
    Rule("E03", Effect.DENY, "outpatient care away from the main hospital without referral"),
    Rule("E04", Effect.WARN, "Thai citizen with no registered coverage: routed to UCS"),
    Rule("E05", Effect.WARN, "uninsured non-Thai emergency: routed to MNF"),
    Rule("K01", Effect.REJECT, "the claim already has an accepted or denied version"),
    Rule("K02", Effect.WARN, "near-duplicate of another accepted claim of the same person"),
    Rule("K03", Effect.REJECT, "a correction for a claim that has no accepted or denied version"),
)

_BY_CODE = {r.code: r for r in RULES}


def rule(code: str) -> Rule:
    """The rule of ``code``; raises KeyError for an unknown code."""
    return _BY_CODE[code]


def effect_frame() -> pl.DataFrame:
    """The rule table as a frame ``(code, effect, text)`` for joins."""
    return pl.DataFrame(
        {
            "code": [r.code for r in RULES],
            "effect": [r.effect.value for r in RULES],
            "text": [r.text for r in RULES],
        }
    )


def rules_markdown() -> str:
    """The rule table as the Markdown page ``docs/rules.md``."""
    lines = [
        "# Rule codes",
        "",
        "Generated from `clearinghouse/codes.py` by `python -m clearinghouse.codes`; a test",
        "keeps this page equal to the table the acknowledgements and exports use.",
        "",
        "| code | effect | meaning |",
        "|---|---|---|",
    ]
    lines += [f"| {r.code} | {r.effect.value} | {r.text} |" for r in RULES]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(rules_markdown(), end="")
