"""The settlement writers' fast paths give exactly the bytes of the plain ones.

Baht written as decimals equal the formatted strings; a frame written once and cut into one
file per key equals each part written on its own (values holding commas, quotes and line
ends included, which make the cut fall back to per-part writing); version ids looked up
through the dense array or the join give the same rows.
"""

from __future__ import annotations

import hashlib

import polars as pl
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from clearinghouse.money import baht_decimal, format_baht
from clearinghouse.settlement import _lookup
from formats.csv import csv_bytes
from formats.settlement_files import write_parts

EXAMPLES = settings(max_examples=200, deadline=None)
satang = st.one_of(st.integers(-(10**15), 10**15), st.sampled_from([0, 1, -1, 5, -5, 99, -100]))


@EXAMPLES
@given(st.lists(st.one_of(satang, st.none()), max_size=40))
def test_baht_decimals_write_as_formatted_baht(values: list[int | None]) -> None:
    frame = pl.DataFrame({"amount": values}, schema={"amount": pl.Int64})
    assert csv_bytes(frame.select(baht_decimal(pl.col("amount")))) == csv_bytes(
        frame.select(format_baht(pl.col("amount")))
    )


texts = st.one_of(
    st.sampled_from(["", "C01", "B02;C01", "a,b", 'say "x"', "ก ข"]),
    st.text(alphabet="ab\n,", max_size=4),  # a line end inside a value
)
keys = st.sampled_from(["10670", "9", "10713"])


@EXAMPLES
@given(rows=st.lists(st.tuples(keys, texts, satang), max_size=30), as_enum=st.booleans())
@example(rows=[("9", "a\nb", 1), ("9", "x", 2), ("10670", "y", 3)], as_enum=False)
def test_write_parts_equals_each_part_written_alone(
    rows: list[tuple[str, str, int]], as_enum: bool, tmp_path_factory: pytest.TempPathFactory
) -> None:
    folder = tmp_path_factory.mktemp("parts")
    frame = pl.DataFrame(
        rows, schema={"key": pl.String, "text": pl.String, "amount": pl.Int64}, orient="row"
    ).sort("key", maintain_order=True)
    if as_enum:
        frame = frame.with_columns(pl.col("key").cast(pl.Enum(["10670", "10713", "9"])))
    written = write_parts(frame, "key", lambda key: f"sub/K_{key}.csv", folder)
    expected = {}
    for (key,), part in frame.partition_by("key", as_dict=True, maintain_order=True).items():
        expected[f"sub/K_{key}.csv"] = csv_bytes(part.drop("key"))
    assert set(written) == set(expected)
    for name, data in expected.items():
        assert (folder / name).read_bytes() == data
        assert written[name] == hashlib.sha256(data).hexdigest()


@EXAMPLES
@given(
    st.lists(st.integers(0, 10**12), unique=True, max_size=30),
    st.lists(st.integers(0, 10**12), max_size=30),
    st.integers(0, 3),
)
def test_lookup_by_dense_array_or_join(table: list[int], extra: list[int], spread: int) -> None:
    # spread 0 packs the keys densely (the array path); larger spreads make them sparse.
    keys = sorted(table) if spread else list(range(len(table)))
    stretched = [k * 10**spread for k in keys]
    values = pl.Series("v", [k * 3 + 1 for k in stretched], dtype=pl.Int64)
    asked = pl.Series([*stretched[::2], *extra], dtype=pl.Int64)
    found = _lookup(asked, pl.Series(stretched, dtype=pl.Int64), values)
    by_key = dict(zip(stretched, values.to_list(), strict=True))
    assert found.to_list() == [by_key.get(k) for k in asked.to_list()]
    assert found.name == "v"
