"""Netting: hand-computed positions for the worked example, and zero-sum properties."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from clearinghouse.money import format_baht, parse_satang
from clearinghouse.netting import CLEARING_ACCOUNT, netting_effect, positions, transfers

EXPECTED = Path(__file__).parents[1] / "cases" / "two-drops" / "expected"


def _satang(frame: pl.DataFrame, *names: str) -> pl.DataFrame:
    return frame.with_columns(parse_satang(pl.col(n), allow_negative=True) for n in names)


def test_worked_example_positions_and_transfers() -> None:
    owed = _satang(pl.read_csv(EXPECTED / "obligations.csv", infer_schema=False), "amount")
    position = positions(owed)
    shown = position.with_columns(format_baht(pl.col(c)) for c in ("gross_in", "gross_out", "net"))
    assert shown.rows() == pl.read_csv(EXPECTED / "positions.csv", infer_schema=False).rows()
    moves = transfers(position).with_columns(format_baht(pl.col("amount")))
    assert moves.rows() == pl.read_csv(EXPECTED / "transfers.csv", infer_schema=False).rows()
    # summary.json: gross 156527.12 owed, netted 156204.02 = Σ|net| / 2 actually moving.
    assert int(owed["amount"].sum()) == 15_652_712
    assert int(position["net"].abs().sum()) == 2 * 15_620_402
    assert netting_effect(owed, position) == 1 - 15_620_402 / 15_652_712


participants = st.sampled_from(["F:UCS", "F:SSS", "F:RTA", "H:10670", "H:10713", "H:10714"])
obligation = st.tuples(participants, participants, st.integers(1, 10**12)).filter(
    lambda o: o[0] != o[1]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(obligation, max_size=60))
def test_nets_sum_to_zero_and_ch_balances(rows: list[tuple[str, str, int]]) -> None:
    owed = pl.DataFrame(rows, schema=["payer", "payee", "amount"], orient="row").cast(
        {"amount": pl.Int64}
    )
    position = positions(owed)
    assert int(position["net"].sum()) == 0
    assert (position["gross_in"] - position["gross_out"] == position["net"]).all()
    assert set(position["participant"]) == set(owed["payer"]) | set(owed["payee"])
    moves = transfers(position)
    into = moves.filter(pl.col("payee") == CLEARING_ACCOUNT)["amount"].sum()
    out_of = moves.filter(pl.col("payer") == CLEARING_ACCOUNT)["amount"].sum()
    assert into == out_of
    assert moves.height == position.filter(pl.col("net") != 0).height
    assert (moves["amount"] > 0).all()
