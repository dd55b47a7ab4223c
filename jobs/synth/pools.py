"""Seeded randomness without state: counter-based hashing and keyed pools of codes.

A person's attributes are a pure function of the seed and the person's index (so any hospital's
drop can name any person without a table of them in memory); everything else draws from a
:class:`numpy.random.Generator` seeded per drop. Pools group reference rows under small integer
keys (an age band, a validity interval) so that one vectorized pick serves a whole drop.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt
import polars as pl

__all__ = [
    "EPOCH",
    "KeyedPool",
    "day_number",
    "drop_rng",
    "hash_uniform",
    "mix64",
    "pick_weighted",
]

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]

EPOCH = date(1970, 1, 1)

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def day_number(day: date) -> int:
    """Days since 1970-01-01 (the integer behind a Polars ``Date``)."""
    return (day - EPOCH).days


def mix64(values: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """The splitmix64 finalizer, element-wise (uint64 arithmetic wraps by design)."""
    z = values + _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def _stream_key(seed: int, stream: int) -> np.uint64:
    base = np.array([(seed % (1 << 32)) * 1_000_003 + stream], dtype=np.uint64)
    return np.uint64(mix64(mix64(base))[0])


def hash_uniform(seed: int, stream: int, index: Ints) -> Floats:
    """Uniform [0, 1) numbers that depend only on (seed, stream, index)."""
    key = _stream_key(seed, stream)
    hashed = mix64(index.astype(np.uint64) ^ key)
    return (hashed >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)


def drop_rng(seed: int, *path: int) -> np.random.Generator:
    """A generator for one unit of work (a hospital's drop), independent of every other."""
    return np.random.default_rng(np.random.SeedSequence([seed % (1 << 63), *path]))


def pick_weighted(u: Floats, weights: npt.ArrayLike) -> Ints:
    """Index of the category each uniform falls into, given (unnormalized) weights."""
    w = np.asarray(weights, dtype=np.float64)
    cumulative = np.cumsum(w) / w.sum()
    return np.minimum(np.searchsorted(cumulative, u, side="right"), len(w) - 1).astype(np.int64)


@dataclass(frozen=True, slots=True)
class KeyedPool:
    """Reference rows grouped under integer keys ``0 .. n_keys-1``; pick one row per request."""

    rows: pl.DataFrame
    offsets: Ints
    sizes: Ints

    @classmethod
    def build(cls, frame: pl.DataFrame, n_keys: int, order: list[str]) -> KeyedPool:
        """Group ``frame`` (a ``key`` column plus values) by key, rows sorted by ``order``."""
        ordered = frame.sort(["key", *order])
        keys = ordered["key"].to_numpy().astype(np.int64)
        sizes = np.bincount(keys, minlength=n_keys).astype(np.int64)
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        return cls(ordered.drop("key"), offsets, sizes)

    def has(self, keys: Ints) -> npt.NDArray[np.bool_]:
        """Whether each key has at least one row."""
        return np.asarray(self.sizes[keys] > 0)

    def pick(self, keys: Ints, u: Floats) -> pl.DataFrame:
        """One row per request (null values where the key has no row)."""
        size = self.sizes[keys]
        within = np.minimum((u * size).astype(np.int64), np.maximum(size - 1, 0))
        index = self.offsets[keys] + within
        found = size > 0
        if self.rows.height == 0:
            return pl.DataFrame(
                {c: pl.Series(c, [None] * len(keys), dtype=t) for c, t in self.rows.schema.items()}
            )
        picked = self.rows[np.where(found, index, 0)]
        if found.all():
            return picked
        mask = pl.Series("found", found)
        return picked.select(pl.when(mask).then(pl.col(c)).alias(c) for c in picked.columns)
