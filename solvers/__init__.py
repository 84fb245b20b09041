"""solvers: how to solve the QCBO.  One call, one result type, one oracle registry.

    solve(problem, method, config=None, **overrides) -> SolveResult
    get_oracle(name, **options) -> Oracle

Subpackages: ``ising`` (problem types, samplers, registry), ``compile`` (QCBO -> QUBO/Ising: pyqubo,
direct penalty path, lift), ``exact`` (HiGHS, exhaustive), ``methods`` (QCGD, penalty, Ising descent,
progressive hedging), ``baselines`` (random search, SA on the weights, STE, logistic regression).
"""
from .api import METHODS, available_methods, method_config, solve
from .config import ConfigError, MethodConfig
from .ising import ORACLES, QUBO, Ising, Oracle, OracleError, SampleSet, available_oracles, get_oracle
from .result import SolutionStatus, SolveResult, Termination

__all__ = ["solve", "method_config", "available_methods", "METHODS", "SolveResult", "Termination",
           "SolutionStatus", "ConfigError", "MethodConfig", "get_oracle", "available_oracles", "ORACLES",
           "Oracle", "OracleError", "SampleSet", "QUBO", "Ising"]
