"""Ablation controls with no Ising machine: uniform random samples and random local moves.

Every route that sends QUBOs to an oracle accepts these names, so that each result can be compared
with "the same route without an Ising machine" at an equal number of oracle calls and reads.
"""
from __future__ import annotations

import numpy as np

from .base import Oracle, OracleError

__all__ = ["RandomOracle", "LocalRandomOracle"]


class RandomOracle(Oracle):
    """Uniform random spins, ignoring the problem."""

    name = "random"

    def _sample_spins(self, ising, num_reads, rng, **kw):
        return rng.choice(np.array([-1, 1], dtype=np.int8), size=(num_reads, ising.n)), {"oracle": self.name}


class LocalRandomOracle(Oracle):
    """The caller's incumbent ``center`` (binary, passed to ``sample``) with k ~ U{1..max_flips}
    random bits flipped per read; without a center, a uniformly random one."""

    name = "random-local"
    parameters = ("center",)

    def __init__(self, max_flips: int = 8):
        if isinstance(max_flips, bool) or not isinstance(max_flips, (int, np.integer)) or max_flips < 1:
            raise OracleError(f"max_flips must be an integer >= 1, got {max_flips!r}")
        self.max_flips = int(max_flips)

    def _sample_spins(self, ising, num_reads, rng, center=None, **kw):
        n = ising.n
        if center is None:
            center = rng.integers(0, 2, n)
        center = np.asarray(center).reshape(-1)
        if center.shape != (n,):
            raise OracleError(f"center must have {n} entries, got {center.shape}")
        X = np.repeat(center.astype(np.int8)[None], num_reads, axis=0)
        k = rng.integers(1, min(self.max_flips, n) + 1, size=num_reads)
        order = np.argsort(rng.random((num_reads, n)), axis=1)
        flip = np.arange(n)[None, :] < k[:, None]
        rows = np.repeat(np.arange(num_reads)[:, None], n, axis=1)
        X[rows[flip], order[flip]] ^= 1
        return (2 * X - 1).astype(np.int8), {"oracle": self.name}
