"""Properties of the pure settlement functions (netting.py, settlement.py), no database.

Random obligation sets among a few hospitals and funds (payer ≠ payee, 1 to 10^9 satang), checked
against plain-Python recomputations: zero-sum netting and hub-and-spoke transfers, run spans as
islands of ids, spans attached back to ids, the obligations.csv order, and the statements' TOTALs.
"""

from __future__ import annotations

from collections import defaultdict
from itertools import pairwise
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clearinghouse.errors import Problem
from clearinghouse.netting import positions, transfers
from clearinghouse.settlement import (
    VERSION_SCHEMA,
    attach_runs,
    check_balanced,
    code,
    fund_statements,
    hospital_statements,
    listing,
    order_of,
    order_versions,
    spans,
)

HOSPITALS = ["10670", "10713", "9", "10"]  # "9" > "10670" as text: participant order is text order
FUNDS = ["UCS", "SSS", "OFC"]
PARTICIPANTS = [f"H:{h}" for h in HOSPITALS] + [f"F:{f}" for f in FUNDS]
KINDS = ["CLAIM", "REFER", "REVERSAL"]
RUNS = ["CH-2026-10-02", "CH-2026-10-03", "CH-2026-10"]
EXAMPLES = settings(max_examples=150, deadline=None)

amounts = st.integers(1, 10**9)
pairs = st.tuples(st.sampled_from(PARTICIPANTS), st.sampled_from(PARTICIPANTS)).filter(
    lambda p: p[0] != p[1]
)
owed = st.tuples(pairs, amounts).map(lambda r: (*r[0], r[1]))
#: Claim identities whose text order differs from their number order ("10" < "9", 10 > 9).
claim_ids = st.tuples(
    st.sampled_from(HOSPITALS),
    st.sampled_from(["OP", "IP"]),
    st.sampled_from(["1", "10", "2", "690000001", "6900000010"]),
    st.integers(1, 12),
)


def owed_frame(rows: list[tuple[str, str, int]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows, schema={"payer": pl.String, "payee": pl.String, "amount": pl.Int64}, orient="row"
    )


def by_hand(rows: list[tuple[str, str, int]]) -> dict[str, tuple[int, int, int]]:
    """``participant -> (gross_in, gross_out, net)``."""
    gross: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for payer, payee, amount in rows:
        gross[payee][0] += amount
        gross[payer][1] += amount
    return {who: (i, o, i - o) for who, (i, o) in gross.items()}


# --- netting ----------------------------------------------------------------------------------


@EXAMPLES
@given(st.lists(owed, max_size=60))
def test_positions_and_transfers(rows: list[tuple[str, str, int]]) -> None:
    position = positions(owed_frame(rows))
    expected = by_hand(rows)
    assert position.rows() == [(who, *expected[who]) for who in sorted(expected)]
    assert int(position["net"].sum()) == 0
    assert (position["gross_in"] - position["gross_out"] == position["net"]).all()
    check_balanced(position, "CH-test")  # balanced: no exception

    moves = transfers(position)
    into = moves.filter(pl.col("payee") == "CH")["amount"].sum()
    out_of = moves.filter(pl.col("payer") == "CH")["amount"].sum()
    assert into == out_of == sum(net for _, _, net in expected.values() if net > 0)
    hand = [("CH", who, net) if net > 0 else (who, "CH", -net)
            for who, (_, _, net) in expected.items() if net != 0]  # fmt: skip
    assert moves.rows() == sorted(hand)  # one per non-zero net, sorted by payer then payee


@EXAMPLES
@given(st.lists(owed, min_size=1, max_size=30), st.data())
def test_check_balanced_refuses_an_unbalanced_position(
    rows: list[tuple[str, str, int]], data: st.DataObject
) -> None:
    position = positions(owed_frame(rows))
    row = data.draw(st.integers(0, position.height - 1))
    delta = data.draw(st.integers(-(10**9), 10**9).filter(lambda d: d != 0))
    bump = pl.when(pl.int_range(pl.len()) == row).then(delta).otherwise(0)
    for broken in (
        position.with_columns(net=pl.col("net") + bump),  # Σ net ≠ 0 and in − out ≠ net
        position.with_columns(pl.col("gross_in", "net") + bump),  # consistent rows, Σ net ≠ 0
        position.with_columns(gross_in=pl.col("gross_in") + bump),  # Σ net = 0, in − out ≠ net
    ):
        with pytest.raises(Problem, match="CH-test"):
            check_balanced(broken, "CH-test")


# --- spans and runs ---------------------------------------------------------------------------


def islands(ids: set[int]) -> list[tuple[int, int]]:
    found: list[list[int]] = []
    for i in sorted(ids):
        if found and found[-1][1] == i - 1:
            found[-1][1] = i
        else:
            found.append([i, i])
    return [(first, last) for first, last in found]


@EXAMPLES
@given(st.lists(st.integers(1, 300), max_size=120), st.integers(0, 10**12))
def test_spans_are_the_islands_of_the_ids(ids: list[int], offset: int) -> None:
    shifted = [i + offset for i in ids]  # duplicates included: a set of members
    found = spans(pl.Series(shifted, dtype=pl.Int64)).rows()
    assert found == islands(set(shifted))
    covered = {i for first, last in found for i in range(first, last + 1)}
    assert covered == set(shifted)  # exactly the ids given, no others
    assert all(b[0] - a[1] >= 2 for a, b in pairwise(found))  # maximal islands


@st.composite
def spans_and_ids(draw: st.DrawFn) -> tuple[list[tuple[int, int, str]], list[int]]:
    bounds = sorted(draw(st.sets(st.integers(1, 400), max_size=20)))
    # Consecutive pairs of distinct bounds are disjoint spans; some are left out.
    run_spans = [
        (first, last, draw(st.sampled_from(RUNS)))
        for first, last in zip(bounds[::2], bounds[1::2], strict=False)
        if draw(st.booleans())
    ]
    single = draw(st.sets(st.integers(401, 420), max_size=3))  # one-id spans
    run_spans += [(i, i, draw(st.sampled_from(RUNS))) for i in sorted(single)]
    ids = draw(st.lists(st.integers(0, 425), unique=True, max_size=80))
    return run_spans, ids


@EXAMPLES
@given(spans_and_ids())
def test_attach_runs_names_the_covering_span(
    drawn: tuple[list[tuple[int, int, str]], list[int]],
) -> None:
    run_spans, ids = drawn
    frame = pl.DataFrame(
        {"id": ids, "amount": [i * 7 for i in ids]}, schema={"id": pl.Int64, "amount": pl.Int64}
    )
    stored = pl.DataFrame(
        run_spans,
        schema={"first_id": pl.Int64, "last_id": pl.Int64, "run": pl.String},
        orient="row",
    )
    attached = attach_runs(frame, stored)
    assert attached.columns == ["id", "amount", "run"]
    expected = {
        i: next((run for first, last, run in run_spans if first <= i <= last), None) for i in ids
    }
    assert {i: run for i, _, run in attached.rows()} == expected
    assert sorted(attached.select("id", "amount").rows()) == sorted(frame.rows())


# --- obligations.csv order --------------------------------------------------------------------


obligation_rows = st.lists(
    st.tuples(pairs, amounts, st.sampled_from(KINDS), claim_ids).map(
        lambda r: (*r[0], r[1], r[2], *r[3])
    ),
    max_size=50,
)


@EXAMPLES
@given(obligation_rows)
def test_listing_is_sorted_by_every_column_amount_and_version_as_numbers(
    rows: list[tuple[Any, ...]],
) -> None:
    # The listing takes each obligation's claim identity from the version it names.
    identities = sorted({row[4:] for row in rows})
    versions = pl.DataFrame(
        [(n, *identity, "A", "", 0, True, 1) for n, identity in enumerate(identities)],
        schema=VERSION_SCHEMA,
        orient="row",
    ).sample(fraction=1.0, shuffle=True, seed=2)
    obligations = pl.DataFrame(
        [(*row[:4], identities.index(row[4:])) for row in rows],
        schema={"payer": pl.String, "payee": pl.String, "amount": pl.Int64, "kind": pl.String,
                "claim_version_id": pl.Int64},
        orient="row",
    ).sample(fraction=1.0, shuffle=True, seed=1)  # fmt: skip
    assert listing(code(obligations, order_versions(versions))).rows() == sorted(rows)


# --- statements -------------------------------------------------------------------------------


@st.composite
def month(draw: st.DrawFn) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A month's obligations (each naming one of the claim versions) and its claim versions."""
    identities = draw(st.lists(claim_ids, min_size=1, max_size=12, unique=True))
    described = st.tuples(
        st.sampled_from("ADC"), st.sampled_from(["", "E03", "B02;C01"]), st.integers(0, 10**8),
        st.booleans(), st.sampled_from([1, 2]),
    )  # fmt: skip
    versions = pl.DataFrame(
        [(n, *identity, *draw(described)) for n, identity in enumerate(identities, start=1)],
        schema={"id": pl.Int64, "hcode": pl.String, "claim_type": pl.String,
                "claim_key": pl.String, "version": pl.Int64, "status": pl.String,
                "codes": pl.String, "allowed": pl.Int64, "in_period": pl.Boolean,
                "reference_version_id": pl.Int64},
        orient="row",
    )  # fmt: skip
    owed = []
    for _ in range(draw(st.integers(0, 40))):
        payer, payee = draw(pairs)
        n = draw(st.integers(1, versions.height))
        _, hcode, claim_type, claim_key, version, *_ = versions.row(n - 1)
        owed.append((payer, payee, draw(amounts), draw(st.sampled_from(KINDS)), n, hcode,
                     claim_type, claim_key, version, draw(st.sampled_from(RUNS))))  # fmt: skip
    obligations = pl.DataFrame(
        owed,
        schema={"payer": pl.String, "payee": pl.String, "amount": pl.Int64, "kind": pl.String,
                "claim_version_id": pl.Int64, "hcode": pl.String, "claim_type": pl.String,
                "claim_key": pl.String, "version": pl.Int64, "run": pl.String},
        orient="row",
    )  # fmt: skip
    return obligations, versions


@settings(max_examples=100, deadline=None)
@given(month())
def test_hospital_statements(drawn: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    obligations, versions = drawn
    nets = by_hand(obligations.select("payer", "payee", "amount").rows())
    statement = hospital_statements(code(obligations, order_versions(versions)))
    in_period = versions.filter("in_period")
    expected_hospitals = {p[2:] for p in nets if p.startswith("H:")} | set(in_period["hcode"])
    assert set(statement["hospital"]) == expected_hospitals

    for hospital in expected_hospitals:
        rows = statement.filter(pl.col("hospital") == hospital).rows(named=True)
        *lines, total = rows
        assert total["kind"] == "TOTAL"
        received, paid, net = nets.get(f"H:{hospital}", (0, 0, 0))
        assert (total["received"], total["paid"], total["net"]) == (received, paid, net)
        # One line per obligation side of this hospital, with its run; one NOPAY per C/D version.
        sides = sorted(
            (o["kind"], o["claim_key"], o["amount"] if side == "payee" else 0,
             o["amount"] if side == "payer" else 0, o["run"])
            for o in obligations.rows(named=True)
            for side in ("payee", "payer")
            if o[side] == f"H:{hospital}"
        )  # fmt: skip
        shown = [r for r in lines if r["kind"] != "NOPAY"]
        assert sorted((r["kind"], r["claim_key"], r["received"], r["paid"], r["run"])
                      for r in shown) == sides  # fmt: skip
        assert all(r["net"] is None for r in lines)
        nopay = sorted((r["claim_type"], r["claim_key"], r["version"], r["status"])
                       for r in lines if r["kind"] == "NOPAY")  # fmt: skip
        assert nopay == sorted(
            (v["claim_type"], v["claim_key"], v["version"], v["status"])
            for v in in_period.rows(named=True)
            if v["hcode"] == hospital and v["status"] in ("C", "D")
        )
        keys = [(r["claim_hcode"], r["claim_type"], r["claim_key"], r["version"], r["kind"])
                for r in lines]  # fmt: skip
        assert keys == sorted(keys)


@settings(max_examples=100, deadline=None)
@given(month())
def test_fund_statements(drawn: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    obligations, versions = drawn
    nets = by_hand(obligations.select("payer", "payee", "amount").rows())
    statement = fund_statements(code(obligations, order_versions(versions)))
    funds = {p[2:] for p in nets if p.startswith("F:")}
    assert set(statement["fund"]) == funds

    for fund in funds:
        *lines, total = statement.filter(pl.col("fund") == fund).rows(named=True)
        received, paid, net = nets[f"F:{fund}"]
        assert (total["hcode"], total["paid"], total["received"], total["net"]) == (
            "TOTAL", paid, received, net
        )  # fmt: skip
        groups: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
        claims: dict[tuple[str, str], set[int]] = defaultdict(set)
        for o in obligations.rows(named=True):
            for side, other, column in (("payer", "payee", 0), ("payee", "payer", 1)):
                if o[side] == f"F:{fund}":
                    key = (o[other].removeprefix("H:"), o["kind"])
                    groups[key][column] += o["amount"]
                    claims[key].add(o["claim_version_id"])
        assert [(r["hcode"], r["kind"], r["claims"], r["paid"], r["received"], r["net"])
                for r in lines] == [
            (*key, len(claims[key]), paid_, received_, None)
            for key, (paid_, received_) in sorted(groups.items())
        ]  # fmt: skip
        assert total["claims"] == len(set().union(*claims.values()))


# --- the sort behind every file -----------------------------------------------------------


@EXAMPLES
@given(
    st.lists(
        st.tuples(
            st.one_of(st.none(), st.integers(-(10**12), 10**12)),
            st.one_of(st.none(), st.sampled_from(["", "9", "10", "A", "a", "ก"])),
            st.one_of(st.none(), st.text(alphabet="019a", max_size=3)),
            st.none(),
        ),
        max_size=40,
    ),
    st.permutations(["n", "few", "many", "nothing"]),
)
def test_order_of_sorts_like_python_nulls_first(rows: list[tuple[Any, ...]], by: list[str]) -> None:
    frame = pl.DataFrame(
        rows,
        schema={"n": pl.Int64, "few": pl.String, "many": pl.String, "nothing": pl.Int64},
        orient="row",
    )
    index = {"n": 0, "few": 1, "many": 2, "nothing": 3}

    def key(row: tuple[Any, ...]) -> tuple[Any, ...]:
        # None first, strings by their UTF-8 bytes (Polars' order).
        return tuple(
            (0, b"") if row[index[c]] is None
            else (1, row[index[c]].encode() if isinstance(row[index[c]], str) else row[index[c]])
            for c in by
        )  # fmt: skip

    ordered = frame[order_of(frame, by)].rows()
    assert [key(r) for r in ordered] == sorted(key(r) for r in rows)
    assert sorted(ordered, key=repr) == sorted(rows, key=repr)


def test_order_of_ranks_text_with_many_values() -> None:
    # More distinct values than the Enum path takes: the ranked path, nulls first.
    keys = [f"{(i * 7919) % 10007:x}" for i in range(6000)] + [None, None]
    frame = pl.DataFrame({"key": keys, "n": [i % 3 for i in range(len(keys))]})
    ordered = frame[order_of(frame, ["key", "n"])].rows()
    assert ordered == sorted(
        frame.rows(), key=lambda r: (r[0] is not None, (r[0] or "").encode(), r[1])
    )
