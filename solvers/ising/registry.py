"""The one oracle registry: every Ising sampler by name, with the one set of defaults.

    get_oracle("cim")                       # CIMOracle() with its defaults
    get_oracle("sa", num_sweeps=200)        # options override the defaults
    get_oracle(my_oracle)                   # an Oracle instance is returned as it is

Methods and the command line reach samplers only through this module, so a name means the same
oracle, with the same defaults, everywhere.  The defaults are each class's own constructor defaults
(listed by ``oracle_defaults``); the CIM's step count, for instance, is ``max(8000, 100 n)`` unless
``num_steps`` is given.
"""
from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass

from .base import Oracle, OracleError

__all__ = ["OracleEntry", "ORACLES", "get_oracle", "available_oracles", "oracle_defaults", "register_oracle"]


@dataclass(frozen=True)
class OracleEntry:
    """A registered oracle: ``target`` is 'module:Class'; ``effort`` names the option that sets the
    work per read (steps, sweeps), used by ``--steps`` on the command line; ``control`` marks the
    ablation controls that contain no Ising machine."""

    name: str
    target: str
    description: str
    effort: str | None = None
    control: bool = False

    def load(self):
        mod, cls = self.target.split(":")
        return getattr(importlib.import_module(mod), cls)


ORACLES: dict = {}


def register_oracle(entry: OracleEntry) -> None:
    ORACLES[entry.name] = entry


for _e in (
    OracleEntry("cim", "solvers.ising.cim:CIMOracle", "simulated coherent Ising machine (CAC; AHC with scheme='ahc')",
                effort="num_steps"),
    OracleEntry("sa", "solvers.ising.sa:SAOracle", "simulated annealing (dwave-samplers, compiled)",
                effort="num_sweeps"),
    OracleEntry("exact", "solvers.ising.exact:ExactOracle", "exhaustive enumeration (n <= 24)"),
    OracleEntry("dimod", "solvers.ising.ocean:DimodOracle", "any dimod sampler (option sampler=...)"),
    OracleEntry("greedy", "solvers.ising.sa:GreedyOracle", "control: steepest single-flip descent from random starts",
                effort="max_iter", control=True),
    OracleEntry("random", "solvers.ising.controls:RandomOracle", "control: uniform random samples", control=True),
    OracleEntry("random-local", "solvers.ising.controls:LocalRandomOracle",
                "control: the incumbent with a few random flips", control=True),
):
    register_oracle(_e)


def available_oracles() -> list:
    return list(ORACLES)


def _entry(name) -> OracleEntry:
    key = str(name).lower()
    if key not in ORACLES:
        raise OracleError(f"unknown oracle {name!r}; choose one of {available_oracles()}")
    return ORACLES[key]


def oracle_defaults(name) -> dict:
    """Constructor defaults of a registered oracle (the registry's one set of defaults)."""
    cls = _entry(name).load()
    sig = inspect.signature(cls.__init__)
    return {k: p.default for k, p in sig.parameters.items()
            if k != "self" and p.kind is p.POSITIONAL_OR_KEYWORD and p.default is not p.empty}


def get_oracle(name, **options) -> Oracle:
    """An Oracle by registered name (options go to its constructor) or an Oracle instance as it is."""
    if isinstance(name, Oracle):
        if options:
            raise OracleError("options cannot be applied to an Oracle instance; configure it when you create it")
        return name
    entry = _entry(name)
    cls = entry.load()
    try:
        inspect.signature(cls).bind(**options)
    except TypeError:
        raise OracleError(f"oracle {entry.name!r}: unknown option(s) {sorted(options)}; "
                          f"accepted: {sorted(oracle_defaults(entry.name))}") from None
    return cls(**options)
