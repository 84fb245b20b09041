"""Our own vectorized simulated annealing and a greedy descent baseline.

Both work on the Ising form (see :mod:`solvers.problems`) and keep a local
field matrix ``F = s W - h`` (``W = -(J + J^T)``), so a flip of spin i changes
the energy by ``dE = 2 s_i F_i``.  Replicas are vectorized; a sweep visits the
spins in order (single-spin Metropolis needs sequential updates for detailed
balance), each visit touching all replicas at once with a rank-R update of F.
"""
from __future__ import annotations

import time
from typing import Optional

import numpy as np
import scipy.sparse as sp

from .oracle import Oracle, OracleError
from .problems import Ising

__all__ = ["SAOracle", "GreedyOracle", "default_beta_range"]


def _fields(ising: Ising):
    W = ising.symmetric_coupling()
    W = W.toarray() if sp.issparse(W) else np.asarray(W)
    return np.ascontiguousarray(W, dtype=np.float64), ising.h


def default_beta_range(W: np.ndarray, h: np.ndarray):
    """dwave-neal style: hot end accepts the largest flip with p~0.5, cold end the
    smallest nonzero flip with p~0.01."""
    absW = np.abs(W)
    max_de = 2 * (absW.sum(1) + np.abs(h)).max()
    nz = absW[absW > 0]
    min_de = 2 * min(nz.min() if nz.size else np.inf, np.abs(h[h != 0]).min(initial=np.inf))
    if not np.isfinite(min_de) or max_de == 0:
        return 0.1, 1.0
    return np.log(2) / max_de, np.log(100) / min_de


class SAOracle(Oracle):
    """Simulated annealing, geometric beta schedule, ``num_sweeps`` sweeps."""

    name = "sa"
    default_reads = 16

    def __init__(self, num_sweeps: int = 1000, beta_range=None, time_limit: Optional[float] = None):
        if num_sweeps < 1:
            raise OracleError("num_sweeps must be >= 1")
        self.num_sweeps, self.beta_range, self.time_limit = int(num_sweeps), beta_range, time_limit

    def _sample_spins(self, ising, num_reads, rng, target_energy=None, num_sweeps=None, **kw):
        if kw:
            raise OracleError(f"unknown SA options {sorted(kw)}")
        W, h = _fields(ising)
        n, R = ising.n, num_reads
        sweeps = int(num_sweeps or self.num_sweeps)
        b0, b1 = self.beta_range or default_beta_range(W, h)
        betas = np.geomspace(b0, b1, sweeps)
        S = rng.choice(np.array([-1.0, 1.0]), size=(R, n))
        F = S @ W - h                        # (R, n) local fields
        U = rng.random((sweeps, n, R))       # all random numbers up front: reproducible + fast
        t0 = time.perf_counter()
        done = sweeps
        for k in range(sweeps):
            thr = -np.log(U[k]) / betas[k]   # accept if dE < thr  <=> exp(-b dE) > u
            for i in range(n):
                flip = 2 * S[:, i] * F[:, i] < thr[i]
                if flip.any():
                    d = np.where(flip, -2 * S[:, i], 0.0)   # change of s_i
                    S[:, i] += d
                    F += d[:, None] * W[i][None, :]
            if self.time_limit is not None and time.perf_counter() - t0 > self.time_limit:
                done = k + 1
                break
        return S.astype(np.int8), {"oracle": self.name, "sweeps": done, "beta_range": [b0, b1]}


class GreedyOracle(Oracle):
    """Steepest single-flip descent from uniformly random starts (a deliberately
    weak oracle: it stops in the first local minimum)."""

    name = "greedy"
    default_reads = 16

    def __init__(self, max_iter: Optional[int] = None):
        self.max_iter = max_iter

    def _sample_spins(self, ising, num_reads, rng, target_energy=None, **kw):
        if kw:
            raise OracleError(f"unknown greedy options {sorted(kw)}")
        W, h = _fields(ising)
        n, R = ising.n, num_reads
        S = rng.choice(np.array([-1.0, 1.0]), size=(R, n))
        F = S @ W - h
        rows = np.arange(R)
        it = 0
        max_iter = self.max_iter or 10 * n + 10
        while it < max_iter:
            dE = 2 * S * F                       # energy change of each single flip
            i = np.argmin(dE, axis=1)
            active = dE[rows, i] < -1e-12
            if not active.any():
                break
            r, c = rows[active], i[active]
            d = -2 * S[r, c]
            S[r, c] += d
            F[r] += d[:, None] * W[c]
            it += 1
        return S.astype(np.int8), {"oracle": self.name, "iterations": it}
