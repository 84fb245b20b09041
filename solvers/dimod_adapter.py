"""Optional bridge to dimod samplers (``pip install qcbo-qnn[dimod]``)."""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .oracle import Oracle, OracleError
from .problems import QUBO, Ising, as_ising

__all__ = ["DimodOracle", "to_bqm"]


def _dimod():
    try:
        import dimod
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("dimod is not installed; pip install qcbo-qnn[dimod]") from exc
    return dimod


def to_bqm(problem):
    """dimod.BinaryQuadraticModel with variables 0..n-1 and the same energies."""
    dimod = _dimod()
    if isinstance(problem, QUBO):
        Q = sp.coo_matrix(problem.Q)
        lin = np.zeros(problem.n)
        diag = Q.row == Q.col
        np.add.at(lin, Q.row[diag], Q.data[diag])
        off = ~diag
        return dimod.BQM.from_numpy_vectors(lin, (Q.row[off], Q.col[off], Q.data[off]),
                                            problem.offset, dimod.BINARY, variable_order=range(problem.n))
    ising = as_ising(problem)
    J = sp.coo_matrix(ising.J)
    return dimod.BQM.from_numpy_vectors(ising.h, (J.row, J.col, J.data), ising.offset, dimod.SPIN,
                                        variable_order=range(ising.n))


class DimodOracle(Oracle):
    """Wrap any dimod sampler; ``sampler=None`` uses dwave-samplers' SA."""

    name = "dimod"

    def __init__(self, sampler=None, **sample_kw):
        if sampler is None:
            try:
                from dwave.samplers import SimulatedAnnealingSampler
            except ImportError as exc:  # pragma: no cover
                raise ImportError("dwave-samplers is not installed; pip install qcbo-qnn[dimod]") from exc
            sampler = SimulatedAnnealingSampler()
        self.sampler, self.sample_kw = sampler, sample_kw
        self.name = f"dimod:{type(sampler).__name__}"

    def _sample_spins(self, ising, num_reads, rng, target_energy=None, **kw):
        bqm = to_bqm(ising)
        opts = dict(self.sample_kw)
        opts.update(kw)
        opts.setdefault("num_reads", num_reads)
        # derive a 32-bit seed from rng so seeding stays reproducible
        params = getattr(self.sampler, "parameters", {}) or {}
        if "seed" in params:
            opts.setdefault("seed", int(rng.integers(0, 2 ** 31 - 1)))
        res = self.sampler.sample(bqm, **opts)
        order = list(range(ising.n))
        S = res.record.sample[:, [res.variables.index(v) for v in order]]
        if S.shape[0] == 0:
            raise OracleError("dimod sampler returned no samples")
        return np.asarray(S, dtype=np.int8), {"oracle": self.name}
