"""Baselines every QCBO solver is compared with at an equal budget.

- ``random-search``: uniform random weight codes, each completed by a forward pass (the FIP spline loss
  of the completed point *is* its QCBO objective), keep the best;
- ``sa-weights``: simulated annealing on the weight bits with the same forward objective;
- ``ste``: straight-through-estimator quantization-aware training of the same architecture and codes;
- :func:`logistic_regression`: the full-precision linear reference (not a QCBO method: no point).

The first three are methods of ``solvers.solve`` and return a ``SolveResult``; ``evaluate`` fills
the accuracy metrics every comparison table reports.  All take a seed; the same seed reproduces the
result exactly.
"""
from ._common import BaselineError, evaluate
from .logreg import logistic_regression

__all__ = ["BaselineError", "evaluate", "logistic_regression"]
