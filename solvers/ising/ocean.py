"""Bridge to D-Wave Ocean: any ``dimod`` sampler as an Oracle (``get_oracle('dimod', sampler=...)``)."""
from __future__ import annotations

import importlib

from .base import Oracle, OracleError
from .sa import spins_in_order, to_bqm

__all__ = ["DimodOracle", "to_bqm"]


def _resolve(sampler):
    if isinstance(sampler, str):               # "package.module.Class" -> an instance
        mod, _, cls = sampler.rpartition(".")
        try:
            return getattr(importlib.import_module(mod), cls)()
        except (ImportError, AttributeError, ValueError) as e:
            raise OracleError(f"cannot import dimod sampler {sampler!r}: {e}") from None
    if sampler is None or not hasattr(sampler, "sample"):
        raise OracleError("the 'dimod' oracle wraps a dimod sampler: pass sampler=<instance> or a dotted "
                          "class name, e.g. sampler='dwave.samplers.TabuSampler'")
    return sampler


class DimodOracle(Oracle):
    """Wrap a dimod sampler; ``sample_kw`` are passed to every ``sampler.sample`` call.

    A 32-bit seed drawn from the caller's Generator is passed when the sampler declares ``seed`` in
    its ``parameters``, so seeded runs reproduce."""

    name = "dimod"

    def __init__(self, sampler=None, **sample_kw):
        self.sampler, self.sample_kw = _resolve(sampler), sample_kw
        self.name = f"dimod:{type(self.sampler).__name__}"

    def _sample_spins(self, ising, num_reads, rng, **kw):
        opts = dict(self.sample_kw)
        opts.update(kw)
        params = getattr(self.sampler, "parameters", {}) or {}
        if "num_reads" in params:
            opts.setdefault("num_reads", num_reads)
        if "seed" in params:
            opts.setdefault("seed", int(rng.integers(0, 2 ** 31 - 1)))
        res = self.sampler.sample(to_bqm(ising), **opts)
        if len(res) == 0:
            raise OracleError(f"{self.name} returned no samples")
        S = spins_in_order(res.change_vartype("SPIN", inplace=False), ising.n)
        return S, {"oracle": self.name}
