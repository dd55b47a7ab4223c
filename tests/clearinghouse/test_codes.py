"""The rule table is the one source of codes: the docs page and the spec's code list agree."""

from __future__ import annotations

import re
from pathlib import Path

from clearinghouse.codes import RULES, Effect, rule, rules_markdown

ROOT = Path(__file__).parents[2]


def test_docs_page_is_generated_from_the_table() -> None:
    assert (ROOT / "docs" / "rules.md").read_text(encoding="utf-8") == rules_markdown()


def test_every_spec_code_is_in_the_table_once() -> None:
    codes = [r.code for r in RULES]
    assert len(codes) == len(set(codes))
    expected = {f"F0{i}" for i in range(1, 9)} | {f"S0{i}" for i in range(1, 8)}
    expected |= {f"C0{i}" for i in range(1, 7)} | {f"B{i:02d}" for i in range(1, 11)}
    expected |= {f"E0{i}" for i in range(1, 6)} | {"K01", "K02", "K03"}
    assert set(codes) == expected
    assert all(re.fullmatch(r"[FSCBEK]\d\d", c) for c in codes)


def test_effects_follow_the_spec_letters() -> None:
    assert rule("S05").effect is Effect.ROW
    assert {rule(c).effect for c in ("C04", "C05", "B07")} == {Effect.ITEM}
    assert {rule(c).effect for c in ("E02", "E04", "E05", "K02")} == {Effect.WARN}
    assert {rule(c).effect for c in ("E01", "E03")} == {Effect.DENY}
    assert rule("F08").effect is Effect.NONE
