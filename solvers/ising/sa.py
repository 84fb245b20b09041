"""Simulated annealing (dwave-samplers, compiled) and a greedy single-flip descent (a weak control).

SA is the one simulated-annealing path of the package: dwave-samplers' ``SimulatedAnnealingSampler``
(C++), seeded from the caller's Generator so that runs reproduce bitwise.  The greedy oracle keeps the
local field matrix ``F = s W - h`` (``W = -(J + J^T)``), so a flip of spin i changes the energy by
``dE = 2 s_i F_i``; it stops in the first local minimum of every read.
"""
from __future__ import annotations

import contextlib
import signal
import threading
from typing import Optional

import numpy as np
import scipy.sparse as sp

from .base import Oracle, OracleError
from .problems import Ising

__all__ = ["SAOracle", "GreedyOracle", "to_bqm", "default_beta_range"]


def to_bqm(problem):
    """``dimod.BinaryQuadraticModel`` over variables 0..n-1 with the same energies as ``problem``
    (a QUBO stays BINARY, anything else is converted to SPIN); offsets included."""
    import dimod
    from .problems import QUBO, as_ising
    if isinstance(problem, QUBO):
        Q = sp.coo_matrix(problem.Q)
        lin = np.zeros(problem.n)
        diag = Q.row == Q.col
        np.add.at(lin, Q.row[diag], Q.data[diag])
        off = ~diag
        return dimod.BQM.from_numpy_vectors(lin, (Q.row[off], Q.col[off], Q.data[off]), problem.offset,
                                            dimod.BINARY, variable_order=range(problem.n))
    ising = as_ising(problem)
    if not ising.is_sparse:
        return dimod.BQM(np.asarray(ising.h, float), np.triu(ising.J, 1), float(ising.offset), dimod.SPIN)
    J = sp.coo_matrix(ising.J)
    return dimod.BQM.from_numpy_vectors(ising.h, (J.row, J.col, J.data), ising.offset, dimod.SPIN,
                                        variable_order=range(ising.n))


def spins_in_order(sampleset, n: int) -> np.ndarray:
    """(R, n) int8 spins of a dimod SampleSet in variable order 0..n-1."""
    rec = sampleset.record.sample
    cols = [sampleset.variables.index(v) for v in range(n)]
    return np.asarray(rec[:, cols], dtype=np.int8)


def default_beta_range(ising: Ising) -> list:
    """dwave-samplers' default (hot, cold) inverse temperatures, vectorized.

    The same rule as ``dwave.samplers.sa.sampler._default_ising_beta_range`` (hot: the largest flip
    accepted with p = 1/2; cold: the smallest bias per spin excited with total rate 0.01), which is a
    Python loop over couplings there and took most of the time of a call on the dense 60-variable
    QUBOs of the Ising descent."""
    h = np.abs(np.asarray(ising.h, float))
    J = sp.coo_matrix(ising.J) if ising.is_sparse else sp.coo_matrix(np.triu(ising.J, 1))
    a = np.abs(J.data)
    n = ising.n
    sum_abs = h.copy()
    np.add.at(sum_abs, J.row, a)
    np.add.at(sum_abs, J.col, a)
    min_abs = np.where(h != 0, h, np.inf)
    nz = a != 0
    np.minimum.at(min_abs, J.row[nz], a[nz])
    np.minimum.at(min_abs, J.col[nz], a[nz])
    vals = min_abs[np.isfinite(min_abs)] if n else min_abs
    mx = float(sum_abs.max(initial=0.0))
    hot = 1.0 if mx == 0 else float(np.log(2) / (2 * mx))
    if vals.size == 0:
        return [0.1, 1.0] if mx == 0 else [hot, hot]
    mn = float(vals.min())
    cold = float(np.log(np.sum(vals == mn) / 0.01) / (2 * mn))
    return [hot, cold]


class SAOracle(Oracle):
    """Simulated annealing (dwave-samplers): ``num_sweeps`` sweeps per read, geometric beta schedule.

    Parameters
    ----------
    num_sweeps : int, default 300
        300 rather than dwave-samplers' 1000: as the Ising descent's oracle (dense QUBOs of 50-60
        variables) 300 sweeps gave a lower training objective than 1000 on Fashion-MNIST (0,1) at
        N = 32 and N = 2000, 3 seeds each, in about a third of the oracle time (docs/results.md,
        "Convergence and the default oracle"); benchmarks that reproduce 1000-sweep results say so.
    beta_range : (hot, cold) inverse temperatures or None (dwave-samplers' default rule, computed by
        ``default_beta_range``)
    """

    name = "sa"
    default_reads = 16

    def __init__(self, num_sweeps: int = 300, beta_range=None):
        if isinstance(num_sweeps, bool) or not isinstance(num_sweeps, (int, np.integer)) or num_sweeps < 1:
            raise OracleError(f"num_sweeps must be an integer >= 1, got {num_sweeps!r}")
        if beta_range is not None:
            if isinstance(beta_range, (str, bytes)) or not all(
                    isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))
                    for v in np.asarray(beta_range, dtype=object).ravel()):
                raise OracleError(f"beta_range must be two numbers (hot, cold), got {beta_range!r}")
            b = tuple(float(v) for v in np.asarray(beta_range, dtype=object).ravel())
            if len(b) != 2 or not (0 < b[0] <= b[1]) or not np.all(np.isfinite(b)):
                raise OracleError(f"beta_range must be (hot, cold) with 0 < hot <= cold, got {beta_range!r}")
            beta_range = b
        from dwave.samplers import SimulatedAnnealingSampler
        self._sampler = SimulatedAnnealingSampler()
        self.num_sweeps, self.beta_range = int(num_sweeps), beta_range

    def __repr__(self):
        return f"SAOracle(num_sweeps={self.num_sweeps}, beta_range={self.beta_range})"

    def _sample_spins(self, ising: Ising, num_reads, rng, **kw):
        opts = dict(num_reads=num_reads, num_sweeps=self.num_sweeps, seed=int(rng.integers(0, 2 ** 31 - 1)),
                    beta_range=self.beta_range if self.beta_range is not None else default_beta_range(ising))
        with _sigint_flag() as hit:
            # the C++ loop checks interrupt_function between reads, so Ctrl-C ends a long call promptly
            res = self._sampler.sample(to_bqm(ising), interrupt_function=(lambda: hit[0]) if hit is not None
                                       else None, **opts)
        if hit is not None and hit[0]:
            raise KeyboardInterrupt
        return spins_in_order(res, ising.n), {"oracle": self.name, "sweeps": self.num_sweeps}


@contextlib.contextmanager
def _sigint_flag():
    """A SIGINT handler that only records the signal (``hit[0] = True``) while compiled code runs;
    yields None off the main thread (handlers cannot be installed there) and when the caller has its
    own SIGINT handler (it stays in charge)."""
    if threading.current_thread() is not threading.main_thread() \
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield None
        return
    hit = [False]

    def handler(signum, frame):
        hit[0] = True
    old = signal.signal(signal.SIGINT, handler)
    try:
        yield hit
    finally:
        signal.signal(signal.SIGINT, old)


class GreedyOracle(Oracle):
    """Steepest single-flip descent from uniformly random starts (a deliberately weak oracle: it
    stops in the first local minimum). ``max_iter`` flips at most (None: 10 n + 10)."""

    name = "greedy"
    default_reads = 16

    def __init__(self, max_iter: Optional[int] = None):
        if max_iter is not None and (isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer))
                                     or max_iter < 0):
            raise OracleError(f"max_iter must be an integer >= 0 or None, got {max_iter!r}")
        self.max_iter = max_iter

    def _sample_spins(self, ising, num_reads, rng, **kw):
        W = ising.symmetric_coupling()
        W = np.ascontiguousarray(W.toarray() if sp.issparse(W) else W, dtype=np.float64)
        h = ising.h
        n, R = ising.n, num_reads
        S = rng.choice(np.array([-1.0, 1.0]), size=(R, n))
        F = S @ W - h
        rows = np.arange(R)
        it = 0
        max_iter = 10 * n + 10 if self.max_iter is None else self.max_iter
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
