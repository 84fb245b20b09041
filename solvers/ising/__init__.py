"""Ising samplers: problem types, the Oracle interface, the simulated CIM, SA, controls and the registry."""
from .base import Oracle, OracleError, SampleSet, make_rng
from .exact import ExactOracle
from .problems import QUBO, Ising, ProblemError, as_ising
from .registry import ORACLES, available_oracles, get_oracle, oracle_defaults

__all__ = ["QUBO", "Ising", "ProblemError", "as_ising", "Oracle", "OracleError", "SampleSet", "make_rng", "ExactOracle",
           "ORACLES", "available_oracles", "get_oracle", "oracle_defaults"]
