"""Compiled simulated annealing (dwave-samplers) as an Oracle, for the QCGD experiments.

solvers.dimod_adapter.to_bqm (branch cim) passes a (row, col, data) tuple that dimod rejects
("quadratic must be a square matrix"); until that is fixed the experiments use this wrapper.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from solvers.oracle import Oracle


class FastSA(Oracle):
    """dwave-samplers SimulatedAnnealingSampler with ``num_sweeps`` sweeps (C++, fast)."""

    default_reads = 16

    def __init__(self, num_sweeps: int = 1000):
        import dimod
        from dwave.samplers import SimulatedAnnealingSampler
        self._dimod, self._sampler, self.num_sweeps = dimod, SimulatedAnnealingSampler(), int(num_sweeps)
        self.name = f"sa{self.num_sweeps}"

    def _sample_spins(self, ising, num_reads, rng, target_energy=None, **kw):
        J = sp.coo_matrix(ising.J)
        bqm = self._dimod.BinaryQuadraticModel(np.asarray(ising.h, float), {}, float(ising.offset), "SPIN")
        bqm.add_quadratic_from(zip(J.row.tolist(), J.col.tolist(), J.data.tolist()))
        res = self._sampler.sample(bqm, num_reads=num_reads, num_sweeps=self.num_sweeps,
                                   seed=int(rng.integers(0, 2 ** 31 - 1)))
        S = res.record.sample[:, [res.variables.index(v) for v in range(ising.n)]]
        return np.asarray(S, dtype=np.int8), {"oracle": self.name}


class RandomOracle(Oracle):
    """Uniform random spins: the 'no Ising machine' control of the ablations."""

    name = "random"
    default_reads = 16

    def _sample_spins(self, ising, num_reads, rng, target_energy=None, **kw):
        return rng.choice(np.array([-1, 1], dtype=np.int8), size=(num_reads, ising.n)), {"oracle": self.name}
