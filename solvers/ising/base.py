"""The base types of every Ising sampler: ``SampleSet`` and ``Oracle``.

An oracle minimizes a QUBO or Ising problem (conventions in :mod:`solvers.ising.problems`).
Samples are always returned as binary rows ``x in {0,1}`` (``spins = 2x - 1``); energies are in the
convention of the problem passed in (QUBO energy for a QUBO, Ising energy for an Ising), offset
included.  Every oracle is reached by name through :mod:`solvers.ising.registry`.

``Oracle.sample(problem, num_reads, seed, target_energy, time_limit)``:

* the same ``seed`` gives bitwise-identical samples (a Generator is consumed, an int seeds a new one);
* ``num_reads`` rows are returned (fewer only when a ``time_limit`` or ``target_energy`` stopped the
  run early; ``info['stop_reason']`` says which);
* ``time_limit`` (seconds) returns the best-so-far reads; ``target_energy`` stops once a read reaches
  it.  Oracles that cannot stop inside a read (``native_stop = False``) run their reads in chunks
  and stop between chunks.
"""
from __future__ import annotations

import time
from typing import Any, Dict, Optional, Union

import numpy as np

from qcbo_model.errors import QCBOError

from .problems import QUBO, Ising, ProblemError, as_ising

__all__ = ["OracleError", "SampleSet", "Oracle", "make_rng", "problem_energy", "check_problem"]

SeedLike = Union[None, int, np.random.Generator]


class OracleError(QCBOError):
    """Bad input to an oracle (shape, NaN, size limits, unknown name...)."""


def make_rng(seed: SeedLike) -> np.random.Generator:
    """A Generator from an int >= 0, None (fresh entropy) or a Generator (used as it is)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        return np.random.default_rng()
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, (bool, np.bool_)):
        if seed < 0:
            raise OracleError(f"seed must be >= 0, got {seed}")
        return np.random.default_rng(int(seed))
    raise OracleError(f"seed must be an int >= 0, None or numpy.random.Generator, got {type(seed).__name__}")


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
    """Base class: subclasses implement ``_sample_spins(ising, num_reads, rng, **kw)`` returning
    ``(spins (R, n) int8, info dict)``; this class validates, seeds, evaluates energies in the
    caller's convention, stops on a time limit or a target and times the call.

    Class attributes: ``name`` (registry name), ``default_reads``, ``native_stop`` (the subclass
    honours ``time_limit`` / ``target_energy`` itself), ``chunk_reads`` (reads per chunk otherwise),
    ``parameters`` (extra keyword arguments ``sample`` accepts).
    """

    name = "oracle"
    default_reads = 16
    native_stop = False
    chunk_reads = 4
    parameters: tuple = ()

    def __init_subclass__(cls, **kw):
        """A subclass that replaces ``sample`` itself (instead of implementing ``_sample_spins``) still
        has its result checked: a SampleSet of the problem's width with finite energies, or an
        OracleError; exceptions of its own become OracleErrors naming the oracle."""
        super().__init_subclass__(**kw)
        own = cls.__dict__.get("sample")
        if own is not None and not getattr(own, "_checked", False):
            def sample(self, problem, *a, __own=own, **k):
                try:
                    out = __own(self, problem, *a, **k)
                except (QCBOError, KeyboardInterrupt, MemoryError):
                    raise
                except Exception as e:   # noqa: BLE001 - a foreign sampler's failure, typed here
                    raise OracleError(f"oracle {self.name!r} failed: {type(e).__name__}: {e}") from e
                return _checked_sampleset(self.name, problem, out)
            sample._checked = True
            sample.__doc__ = own.__doc__
            sample.__wrapped__ = own
            cls.sample = sample

    def memory_estimate(self, n: int, num_reads: int) -> int:
        """Bytes one ``sample`` call needs for ``num_reads`` reads of ``n`` spins (an upper-side
        estimate; checked against the memory budget before sampling).  The default: a dense coupling
        matrix and its working copy (``2 * 8 n^2``) plus a few float64 replica arrays and the returned
        samples (``num_reads * n * (4 * 8 + 2)``).  Oracles with other needs override it."""
        n, R = int(n), int(num_reads)
        return 16 * n * n + R * n * 34 + 64 * R

    def sample(self, problem, num_reads: Optional[int] = None, seed: SeedLike = None,
               target_energy: Optional[float] = None, time_limit: Optional[float] = None, **kw) -> SampleSet:
        ising = check_problem(problem)
        if num_reads is None:
            num_reads = self.default_reads
        if isinstance(num_reads, (bool, np.bool_)) or not isinstance(num_reads, (int, np.integer)):
            raise OracleError(f"num_reads must be an integer >= 1, got {num_reads!r}")
        num_reads = int(num_reads)
        if num_reads < 1:
            raise OracleError(f"num_reads must be >= 1, got {num_reads}")
        if time_limit is not None and not (isinstance(time_limit, (int, float, np.integer, np.floating))
                                           and not isinstance(time_limit, (bool, np.bool_))
                                           and np.isfinite(time_limit) and time_limit > 0):
            raise OracleError(f"time_limit must be a positive number of seconds or None, got {time_limit!r}")
        if target_energy is not None and (
                isinstance(target_energy, (bool, np.bool_, str, bytes))
                or not isinstance(target_energy, (int, float, np.integer, np.floating))
                or not np.isfinite(target_energy)):
            raise OracleError(f"target_energy must be a finite number, got {target_energy!r}")
        unknown = set(kw) - set(self.parameters)
        if unknown:
            raise OracleError(f"{self.name}: unknown sample() options {sorted(unknown)}; "
                              f"accepted: {sorted(self.parameters) or 'none'}")
        from qcbo_model.memory import check_memory
        check_memory(self.memory_estimate(ising.n, num_reads),
                     f"the {self.name} oracle with {num_reads} reads of {ising.n} spins",
                     "use fewer reads (--reads, --descent-reads, num_reads) or a smaller problem")
        rng = make_rng(seed)
        t0 = time.perf_counter()
        try:
            if self.native_stop or (time_limit is None and target_energy is None):
                if self.native_stop and time_limit is not None:
                    kw["time_limit"] = time_limit
                if self.native_stop and target_energy is not None:
                    kw["target_energy"] = target_energy
                spins, info = self._sample_spins(ising, num_reads, rng, **kw)
            else:
                spins, info = self._chunked(ising, num_reads, rng, target_energy, time_limit, t0, kw)
        except (QCBOError, KeyboardInterrupt, MemoryError):
            raise
        except Exception as e:   # noqa: BLE001 - a sampler's own failure, typed here
            raise OracleError(f"oracle {self.name!r} failed: {type(e).__name__}: {e}") from e
        wall = time.perf_counter() - t0
        spins = np.asarray(spins)
        if spins.ndim != 2 or spins.shape[1] != ising.n or len(spins) < 1:
            raise OracleError(f"{self.name} returned samples of shape {spins.shape}; expected (R, {ising.n})")
        ss = SampleSet.from_spins(spins, problem, info)
        if not np.all(np.isfinite(ss.energies)):
            raise OracleError(f"{self.name} returned samples with non-finite energies")
        ss.info.setdefault("oracle", self.name)
        ss.info.setdefault("stop_reason", "num_reads")
        ss.info["wall_time_s"] = wall
        ss.info["reads"] = ss.num_reads
        if target_energy is not None:
            succ = ss.success(target_energy)
            ss.info["target_energy"] = float(target_energy)
            ss.info["success"] = succ
            ss.info["success_probability"] = float(succ.mean())
        return ss

    def _chunked(self, ising, num_reads, rng, target_energy, time_limit, t0, kw):
        """Reads in chunks of ``chunk_reads``; stop between chunks on the time limit or the target, and
        on Ctrl-C once a chunk is done (``stop_reason`` 'interrupted': the reads so far are returned)."""
        parts, info, done, reason = [], {}, 0, "num_reads"
        while done < num_reads:
            k = min(self.chunk_reads, num_reads - done)
            try:
                S, info = self._sample_spins(ising, k, rng, **kw)
            except KeyboardInterrupt:
                if not parts:
                    raise
                reason = "interrupted"
                break
            S = np.asarray(S)
            if S.ndim != 2 or S.shape[1] != ising.n:
                raise OracleError(f"{self.name} returned samples of shape {S.shape}; expected (R, {ising.n})")
            parts.append(S)
            done += k
            if target_energy is not None:
                E = ising.energy(parts[-1])
                if np.any(E <= float(target_energy) + 1e-6):
                    reason = "target"
                    break
            if time_limit is not None and time.perf_counter() - t0 > time_limit:
                reason = "time_limit"
                break
        info = dict(info)
        info["stop_reason"] = reason
        return np.concatenate(parts), info

    def _sample_spins(self, ising: Ising, num_reads: int, rng: np.random.Generator, **kw):
        raise NotImplementedError


def _checked_sampleset(name: str, problem, out) -> SampleSet:
    """The result of an oracle's own ``sample``: a SampleSet of the problem's width, binary samples,
    finite energies (else OracleError)."""
    if not isinstance(out, SampleSet):
        raise OracleError(f"oracle {name!r} returned {type(out).__name__}, not a SampleSet")
    n = getattr(problem, "n", None)
    if out.num_reads < 1 or (n is not None and out.n != n):
        raise OracleError(f"oracle {name!r} returned samples of shape {out.samples.shape}; expected (R, {n})")
    if out.samples.size and out.samples.max() > 1:
        raise OracleError(f"oracle {name!r} returned non-binary samples (values up to {int(out.samples.max())})")
    if not np.all(np.isfinite(out.energies)):
        raise OracleError(f"oracle {name!r} returned non-finite energies")
    return out

    def __repr__(self):
        return f"{type(self).__name__}()"
