"""``solve(problem, method, config=None, **overrides) -> SolveResult``: every method behind one call.

    >>> from solvers import solve
    >>> res = solve(prob, "ising-descent", iterations=50, oracle="cim")    # doctest: +SKIP
    >>> res.termination, res.objective, res.feasible                       # doctest: +SKIP

``config`` is the method's frozen config (``method_config(name)``), a mapping of its options, or None
(the defaults); keyword ``overrides`` replace single options and are validated like the config.
Methods marked ``accepts='qcbo'`` also run on a bare canonical ``QCBO``; the others need the
``FIPProblem`` (they use the network: forward completion, decoding).
"""
from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass

from .config import ConfigError, MethodConfig
from .result import SolveResult

__all__ = ["METHODS", "MethodEntry", "solve", "method_config", "available_methods"]


@dataclass(frozen=True)
class MethodEntry:
    """A registered method: ``module`` holds ``run(problem, cfg, progress, ...)`` and the config class."""

    name: str
    module: str
    config: str
    kind: str               # 'exact' | 'qcbo' (a QCBO method with an Ising oracle) | 'baseline'
    accepts: tuple          # ('fip',) or ('fip', 'qcbo')
    warm_start: bool
    description: str

    def load(self):
        return importlib.import_module(self.module)

    def config_class(self) -> type:
        return getattr(self.load(), self.config)


METHODS = {e.name: e for e in (
    MethodEntry("highs", "solvers.exact.highs", "HighsConfig", "exact", ("fip",), False,
                "exact MILP (HiGHS on the linearized Pyomo model), with bound and gap"),
    MethodEntry("exhaustive", "solvers.exact.exhaustive", "ExhaustiveConfig", "exact", ("fip",), False,
                "enumeration of every weight assignment (tiny instances)"),
    MethodEntry("decomposed-bound", "solvers.exact.decomposed", "BoundConfig", "exact", ("fip",), True,
                "certified lower bound: sample batches solved exactly by HiGHS, Lagrangian multipliers"),
    MethodEntry("ising-descent", "solvers.methods.descent", "DescentConfig", "qcbo", ("fip",), True,
                "Gauss-Newton trust-region QUBOs over the weight bits, one oracle call per step"),
    MethodEntry("qcgd", "solvers.methods.qcgd", "QCGDConfig", "qcbo", ("fip",), True,
                "conditional-gradient augmented Lagrangian over weight-space models of sample batches"),
    MethodEntry("qcgd-monolithic", "solvers.methods.qcgd_monolithic", "MonolithicQCGDConfig", "qcbo",
                ("fip", "qcbo"), False, "conditional-gradient augmented Lagrangian over the lift of the whole QCBO"),
    MethodEntry("penalty", "solvers.methods.penalty", "PenaltyConfig", "qcbo", ("fip", "qcbo"), False,
                "penalty QUBO over a grid of weights (pyqubo)"),
    MethodEntry("progressive-hedging", "solvers.methods.decomposition", "PHConfig", "qcbo", ("fip",), False,
                "sample-wise decomposition with progressive hedging (SA subproblems)"),
    MethodEntry("qph", "solvers.methods.qph", "QPHConfig", "qcbo", ("fip",), False,
                "sample-wise decomposition as PH with bounds, in process or on mpi-sppy (engine), MPI ranks"),
    MethodEntry("sa-weights", "solvers.baselines.sa_weights", "SAWeightsConfig", "baseline", ("fip",), True,
                "simulated annealing on the weight bits, forward objective"),
    MethodEntry("random-search", "solvers.baselines.random_search", "RandomSearchConfig", "baseline", ("fip",),
                False, "random weight codes with repair (forward completion)"),
    MethodEntry("ste", "solvers.baselines.ste", "STEConfig", "baseline", ("fip",), False,
                "straight-through quantization-aware training"),
)}


def available_methods(kind: str | None = None) -> list:
    return [k for k, e in METHODS.items() if kind is None or e.kind == kind]


def _entry(method) -> MethodEntry:
    if method not in METHODS:
        raise ConfigError(f"unknown method {method!r}; choose one of {available_methods()}")
    return METHODS[method]


def method_config(method: str, config=None, **overrides) -> MethodConfig:
    """The validated, frozen config of ``method``: every option with its default, declared once.

    Parameters
    ----------
    method : str
        A registered method (``METHODS``).
    config : MethodConfig, mapping or None
        A config instance of this method, a mapping of option names to values, or None (defaults).
    **overrides
        Single options replacing the config's.

    Returns
    -------
    MethodConfig
        A frozen dataclass; ``options()`` lists ``(name, default, metadata)``, ``replace(**kw)`` gives
        a changed copy. The command line builds its flags from these fields.

    Raises
    ------
    ConfigError
        An unknown option name or an invalid value (checked here, never replaced by a default).
    """
    cls = _entry(method).config_class()
    if config is None:
        config = {}
    if isinstance(config, Mapping):
        names = {n for n, _, _ in cls.options()}
        given = {**config, **overrides}
        bad = sorted(set(given) - names)
        if bad:
            raise ConfigError(f"method {method!r} has no option(s) {bad}; options: {sorted(names)}")
        return cls(**given)
    if not isinstance(config, cls):
        raise ConfigError(f"config for {method!r} must be a {cls.__name__} or a mapping, got {type(config).__name__}")
    return config.replace(**overrides) if overrides else config


def solve(problem, method: str, config=None, *, progress: bool = False, warm_start=None,
          **overrides) -> SolveResult:
    """Run ``method`` on ``problem`` and return its ``SolveResult``: the one entry point of every method.

    Parameters
    ----------
    problem : FIPProblem or QCBO
        A built problem (``build_problem``); a bare ``QCBO`` for the methods whose ``accepts``
        includes ``"qcbo"`` (``METHODS[name].accepts``).
    method : str
        A registered method (``METHODS``, ``available_methods()``): exact (``highs``, ``exhaustive``,
        ``decomposed-bound``), QUBO-based (``ising-descent``, ``qcgd``, ``qcgd-monolithic``,
        ``penalty``, ``progressive-hedging``) or a baseline (``sa-weights``, ``random-search``, ``ste``).
    config : MethodConfig, mapping or None
        The method's frozen config (``method_config(method)``), a mapping of its options, or None for
        the defaults.
    progress : bool, default False
        Show a progress bar.
    warm_start : array of weight bits or None
        Start point of the methods that take one (``ising-descent``, ``qcgd``, ``sa-weights``; the
        reference upper bound of ``decomposed-bound``).
    **overrides
        Single options that replace the config's (validated; a wrong name or value raises
        ``ConfigError``). ``seed`` (every method except the deterministic ``highs`` and
        ``exhaustive``) seeds every random choice of the method and its oracle: the same seed gives the
        same result.

    Returns
    -------
    SolveResult
        ``objective`` is the canonical QCBO objective of ``x`` (**minimized**, ``qcbo.const``
        included), recomputed on the QCBO for every method; ``bound`` and ``gap`` where the method
        proves a lower bound. Ctrl-C ends a run early with termination ``interrupted`` and the best
        point found so far."""
    entry = _entry(method)
    cfg = method_config(method, config, **overrides)
    is_fip = hasattr(problem, "complete") and hasattr(problem, "qcbo")
    from qcbo_model.qcbo import QCBO
    if not is_fip:
        if not isinstance(problem, QCBO):
            raise ConfigError(f"solve() takes a FIPProblem (qcbo_model.build_problem) or a QCBO, "
                              f"got {type(problem).__name__}")
        if "qcbo" not in entry.accepts:
            raise ConfigError(f"method {method!r} needs a FIPProblem (it uses the network's forward pass); "
                              "methods that take a bare QCBO: "
                              f"{[k for k, e in METHODS.items() if 'qcbo' in e.accepts]}")
    kw = {}
    if warm_start is not None:
        if not entry.warm_start:
            raise ConfigError(f"method {method!r} does not take a warm start")
        kw["warm_start"] = warm_start
    return entry.load().run(problem, cfg, progress=progress, **kw)
