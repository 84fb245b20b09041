"""``CIMSampler``: the simulated coherent Ising machine as a dimod Sampler.

    import dimod
    from qcbo_qnn import CIMSampler
    bqm = dimod.generators.ran_r(1, 50, seed=0)
    ss = CIMSampler().sample(bqm, num_reads=16, seed=0)          # a dimod.SampleSet
    ss.first.energy

It takes any ``dimod.BinaryQuadraticModel`` (SPIN or BINARY, any hashable labels, offsets) and
returns a ``dimod.SampleSet`` in the BQM's vartype and labels, energies from ``bqm.energies``, so it
drops in wherever Ocean code uses ``SimulatedAnnealingSampler``.  Sampling parameters:
``num_reads`` (replicas), ``seed`` (int; equal seeds give identical samples), ``time_limit``
(seconds), ``target_energy`` (stop once a replica reaches it, in the BQM's energy) and every
``CIMOracle`` option (``num_steps``, ``scheme``, ``precision_bits``, ``backend`` ...).  Constructor
keywords set the defaults of those options.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

import dimod

from solvers.ising.base import OracleError
from solvers.ising.cim import BACKENDS, PRECISION_PRESETS, CIMOracle
from solvers.ising.problems import Ising

__all__ = ["CIMSampler"]


class CIMSampler(dimod.Sampler):
    """The simulated coherent Ising machine as a ``dimod.Sampler`` (around ``solvers.ising.cim.CIMOracle``).

    Parameters
    ----------
    **cim_options
        Defaults of the ``CIMOracle`` options for every ``sample`` call (``num_steps``, ``scheme``,
        ``precision_bits``, ``backend``, ...); validated here (``OracleError``).

    Notes
    -----
    Conventions are dimod's: any ``BinaryQuadraticModel``, ``SPIN`` or ``BINARY``, with any hashable
    labels and its offset; the returned ``SampleSet`` has the BQM's vartype and labels and energies
    from ``bqm.energies`` (offset included, minimized), so it replaces ``SimulatedAnnealingSampler``
    in Ocean code. ``seed`` (an int) makes a call reproducible: equal seeds give identical samples.
    """

    default_num_reads = 10

    def __init__(self, **cim_options):
        self._oracle = CIMOracle(**cim_options)     # validates the options (OracleError)
        self._defaults = dict(cim_options)
        self._parameters = {"num_reads": [], "seed": [], "time_limit": [], "target_energy": []}
        self._parameters.update({k: [] for k in self._oracle.params if k != "time_limit"})
        self._properties = {"oracle": "cim", "defaults": dict(self._oracle.params, dtype=str(self._oracle.params["dtype"])),
                            "default_num_reads": self.default_num_reads, "backends": list(BACKENDS),
                            "precision_presets": dict(PRECISION_PRESETS),
                            "description": "simulated measurement-feedback coherent Ising machine "
                                           "(chaotic amplitude control; AHC with scheme='ahc')"}

    @property
    def parameters(self) -> dict:
        return self._parameters

    @property
    def properties(self) -> dict:
        return self._properties

    def __repr__(self):
        return f"CIMSampler({', '.join(f'{k}={v!r}' for k, v in self._defaults.items())})"

    def sample(self, bqm, num_reads=None, seed=None, time_limit=None, target_energy=None, **parameters):
        """Sample ``bqm`` with the simulated CIM.

        Parameters
        ----------
        bqm : dimod.BinaryQuadraticModel
            The model, ``SPIN`` or ``BINARY``; its energy (offset included) is minimized.
        num_reads : int or None
            Replicas (independent samples); None: ``default_num_reads`` (10).
        seed : int or None
            Seed of the run; equal seeds give identical samples.
        time_limit : float or None
            Seconds; the run stops at the limit with what it has.
        target_energy : float or None
            Stop once a replica reaches this energy (in the BQM's energy, offset included).
        **parameters
            Any ``CIMOracle`` option, overriding the constructor's default for this call.

        Returns
        -------
        dimod.SampleSet
            One row per replica, in the BQM's vartype and labels, with energies.
        """
        unknown = set(parameters) - set(self._parameters)
        if unknown:
            raise OracleError(f"CIMSampler: unknown parameter(s) {sorted(unknown)}; accepted: {sorted(self._parameters)}")
        num_reads = self.default_num_reads if num_reads is None else num_reads
        if isinstance(num_reads, bool) or not isinstance(num_reads, (int, np.integer)) or num_reads < 1:
            raise OracleError(f"num_reads must be an integer >= 1, got {num_reads!r}")
        variables = list(bqm.variables)
        n = len(variables)
        vartype = bqm.vartype
        info = {"oracle": "cim"}
        if n == 0:
            samples = np.empty((int(num_reads), 0), dtype=np.int8)
            energies = np.full(int(num_reads), float(bqm.offset))
            return dimod.SampleSet.from_samples((samples, variables), vartype=vartype, energy=energies, info=info)
        spin = bqm.change_vartype(dimod.SPIN, inplace=False)
        lin, (row, col, quad), offset = spin.to_numpy_vectors(variable_order=variables)
        J = sp.coo_matrix((quad, (row, col)), shape=(n, n)).tocsr()
        dense = len(quad) > 0.1 * n * n or n <= 200
        ising = Ising(np.asarray(lin, dtype=float), J.toarray() if dense else J, float(offset))
        target = None
        if target_energy is not None:
            # the BQM's energy of a spin state equals the SPIN model's energy (change_vartype is exact)
            target = float(target_energy)
        ss = self._oracle.sample(ising, num_reads=int(num_reads), seed=seed, target_energy=target,
                                 time_limit=time_limit, **parameters)
        spins = ss.spins
        samples = spins if vartype is dimod.SPIN else ((spins + 1) // 2).astype(np.int8)
        energies = bqm.energies((samples, variables))
        for key in ("steps", "stop_reason", "wall_time_s", "dynamics_time_s", "backend", "scheme", "sparse",
                    "split_mode", "success_probability"):
            if key in ss.info:
                info[key] = ss.info[key]
        return dimod.SampleSet.from_samples((samples, variables), vartype=vartype, energy=energies, info=info)
