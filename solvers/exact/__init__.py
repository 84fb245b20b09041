"""Exact solvers: HiGHS on the linearized Pyomo model, and exhaustive enumeration of the weights."""
