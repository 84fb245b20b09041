"""Sample sets, the oracle interface, the exhaustive oracle and a registry.

An oracle minimizes a QUBO or Ising problem (conventions in
:mod:`solvers.problems`).  Samples are always returned as binary rows
``x in {0,1}`` (``spins = 2x - 1``); energies are in the convention of the
problem passed in (QUBO energy for a QUBO, Ising energy for an Ising), offset
included.
"""
from __future__ import annotations

import time
from typing import Any, Dict, Optional, Union

import numpy as np

from .problems import QUBO, Ising, ProblemError, as_ising
from qcbo_model.errors import QCBOError

__all__ = ["OracleError", "SampleSet", "Oracle", "ExactOracle", "get_oracle",
           "available_oracles", "make_rng"]

SeedLike = Union[None, int, np.random.Generator]


class OracleError(QCBOError):
    """Bad input to an oracle (shape, NaN, size limits, unknown name...)."""


def make_rng(seed: SeedLike) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or isinstance(seed, (int, np.integer)):
        return np.random.default_rng(seed)
    raise OracleError(f"seed must be an int, None or numpy.random.Generator, got {type(seed).__name__}")


class SampleSet:
    """Samples ``(R, n)`` uint8 binary plus energies ``(R,)`` and run info."""

    def __init__(self, samples, energies, info: Optional[Dict[str, Any]] = None):
        samples = np.asarray(samples)
        if samples.ndim != 2:
            raise OracleError(f"samples must be 2-D (R, n), got shape {samples.shape}")
        self.samples = samples.astype(np.uint8, copy=False)
        self.energies = np.asarray(energies, dtype=np.float64).reshape(-1)
        if self.energies.shape[0] != self.samples.shape[0]:
            raise OracleError("one energy per sample required")
        self.info: Dict[str, Any] = dict(info or {})

    @classmethod
    def from_spins(cls, spins, problem, info=None) -> "SampleSet":
        """Build from +-1 rows, evaluating energies in ``problem``'s convention."""
        spins = np.asarray(spins)
        x = (spins > 0).astype(np.uint8)
        return cls(x, problem_energy(problem, x), info)

    @property
    def spins(self) -> np.ndarray:
        return 2 * self.samples.astype(np.int8) - 1

    @property
    def num_reads(self) -> int:
        return self.samples.shape[0]

    @property
    def n(self) -> int:
        return self.samples.shape[1]

    @property
    def best_index(self) -> int:
        return int(np.argmin(self.energies))

    @property
    def best_sample(self) -> np.ndarray:
        return self.samples[self.best_index]

    @property
    def best_energy(self) -> float:
        return float(self.energies[self.best_index])

    def success(self, target: float, atol: float = 1e-6) -> np.ndarray:
        return self.energies <= target + atol

    def to_dict(self, include_samples: bool = True) -> Dict[str, Any]:
        d = {"num_reads": self.num_reads, "n": self.n, "best_energy": self.best_energy,
             "best_sample": self.best_sample.tolist(), "energies": self.energies.tolist(),
             "info": _jsonable(self.info)}
        if include_samples:
            d["samples"] = self.samples.tolist()
        return d

    def __len__(self):
        return self.num_reads

    def __repr__(self):
        return f"SampleSet(reads={self.num_reads}, n={self.n}, best_energy={self.best_energy:g})"


def _jsonable(v):
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, np.generic):
        return v.item()
    return v


def problem_energy(problem, x: np.ndarray) -> np.ndarray:
    """Energy of binary rows in the convention of ``problem``."""
    if isinstance(problem, QUBO):
        return problem.energy(x)
    if isinstance(problem, Ising):
        return problem.energy(2 * x.astype(np.int8) - 1)
    return as_ising(problem).energy(2 * x.astype(np.int8) - 1)


def check_problem(problem) -> Ising:
    """Validate and convert to :class:`Ising` (raises OracleError)."""
    try:
        ising = as_ising(problem)
    except ProblemError as exc:
        raise OracleError(str(exc)) from exc
    if ising.n == 0:
        raise OracleError("problem has no variables")
    return ising


class Oracle:
    """Base class: subclasses implement ``_sample_spins(ising, num_reads, rng, **kw)``
    returning ``(spins (R, n), info dict)``; this class handles conversion,
    seeding, energies, targets and timing."""

    name = "oracle"
    default_reads = 16

    def sample(self, problem, num_reads: Optional[int] = None, seed: SeedLike = None,
               target_energy: Optional[float] = None, **kw) -> SampleSet:
        ising = check_problem(problem)
        num_reads = self.default_reads if num_reads is None else int(num_reads)
        if num_reads < 1:
            raise OracleError(f"num_reads must be >= 1, got {num_reads}")
        rng = make_rng(seed)
        # target is given in the caller's convention; convert to Ising units (same
        # value: QUBO->Ising conversion preserves energies exactly)
        t0 = time.perf_counter()
        spins, info = self._sample_spins(ising, num_reads, rng, target_energy=target_energy, **kw)
        wall = time.perf_counter() - t0
        ss = SampleSet.from_spins(spins, problem, info)
        ss.info.setdefault("oracle", self.name)
        ss.info["wall_time_s"] = wall
        ss.info["reads"] = ss.num_reads
        if target_energy is not None:
            succ = ss.success(target_energy)
            ss.info["target_energy"] = float(target_energy)
            ss.info["success"] = succ
            ss.info["success_probability"] = float(succ.mean())
        return ss

    def _sample_spins(self, ising: Ising, num_reads: int, rng: np.random.Generator, **kw):
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}()"


class ExactOracle(Oracle):
    """Exhaustive search for n <= 24; returns the ``num_reads`` lowest states.

    Split x = (x_hi, x_lo) with ``k`` low bits:  E = E_lo + E_hi + x_hi^T C x_lo,
    so one chunk of high configurations costs a single matmul against the fixed
    table of all 2^k low configurations (2^n * k flops in total).
    """

    name = "exact"
    default_reads = 1
    max_n = 24

    def _sample_spins(self, ising, num_reads, rng, target_energy=None, chunk_bits: int = 16):
        n = ising.n
        if n > self.max_n:
            raise OracleError(f"ExactOracle enumerates 2^n states; n={n} > {self.max_n}. "
                              "Use the 'cim' or 'sa' oracle instead.")
        num_reads = min(num_reads, 2 ** n)
        Q = ising.to_qubo().dense()
        Q = np.triu(Q)  # upper with diag
        k = min(n, 12)
        lo, hi = np.arange(k), np.arange(k, n)
        Xlo = _bit_table(k)                                  # (2^k, k)
        Qll = Q[np.ix_(lo, lo)]
        Elo = np.einsum("ij,jk,ik->i", Xlo, Qll, Xlo)        # (2^k,)
        C = Q[np.ix_(hi, lo)] + Q[np.ix_(lo, hi)].T          # coupling hi x lo
        Qhh = Q[np.ix_(hi, hi)]
        nh = n - k
        rows_per_chunk = max(1, 2 ** max(0, chunk_bits - k))
        best_e = np.empty(0)
        best_idx = np.empty(0, dtype=np.int64)
        for start in range(0, 2 ** nh, rows_per_chunk):
            ids = np.arange(start, min(start + rows_per_chunk, 2 ** nh), dtype=np.int64)
            Xhi = ((ids[:, None] >> np.arange(nh)) & 1).astype(np.float64)
            Ehi = np.einsum("ij,jk,ik->i", Xhi, Qhh, Xhi)
            E = Ehi[:, None] + Elo[None, :] + (Xhi @ C) @ Xlo.T   # (chunk, 2^k)
            flat = E.ravel()
            m = min(num_reads, flat.size)
            part = np.argpartition(flat, m - 1)[:m] if m < flat.size else np.arange(flat.size)
            idx = ids[part // Xlo.shape[0]] << k | (part % Xlo.shape[0])
            best_e = np.concatenate([best_e, flat[part]])
            best_idx = np.concatenate([best_idx, idx])
            if best_e.size > num_reads:
                keep = np.lexsort((best_idx, best_e))[:num_reads]
                best_e, best_idx = best_e[keep], best_idx[keep]
        order = np.lexsort((best_idx, best_e))
        best_idx = best_idx[order]
        x = ((best_idx[:, None] >> np.arange(n)) & 1).astype(np.uint8)
        return 2 * x.astype(np.int8) - 1, {"oracle": self.name, "exhaustive": True}


def _bit_table(k: int) -> np.ndarray:
    ids = np.arange(2 ** k, dtype=np.int64)
    return ((ids[:, None] >> np.arange(k)) & 1).astype(np.float64)


def available_oracles():
    return ["cim", "sa", "exact", "greedy", "dimod"]


def get_oracle(name: str, **kw) -> Oracle:
    """Oracle by name: 'cim', 'sa', 'exact', 'greedy', 'dimod' (kwargs go to the class)."""
    key = str(name).lower()
    if key == "cim":
        from .cim import CIMOracle
        return CIMOracle(**kw)
    if key == "sa":
        from .sa import SAOracle
        return SAOracle(**kw)
    if key == "greedy":
        from .sa import GreedyOracle
        return GreedyOracle(**kw)
    if key == "exact":
        return ExactOracle(**kw)
    if key == "dimod":
        from .dimod_adapter import DimodOracle
        return DimodOracle(**kw)
    raise OracleError(f"unknown oracle {name!r}; choose one of {available_oracles()}")
