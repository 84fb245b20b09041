"""qcbo-qnn: quantized neural networks trained as Quadratic Constrained Binary Optimization (QCBO).

    from qcbo_qnn import QNNClassifier, load_dataset
    ds = load_dataset("fashion-mnist", classes=(0, 1), n_train=32)
    clf = QNNClassifier().fit(ds.X_train, ds.y_train)
    clf.score(ds.X_test, ds.y_test)

The layers below: ``qcbo_model`` (what the problem is), ``solvers`` (how to solve it: ``solve``,
``get_oracle``), ``validation`` (how we know it is right).
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

# The names are imported on first use (PEP 562): `import qcbo_qnn.cli` then costs no scikit-learn or
# dimod import, and a Ctrl-C during the command line's start-up reaches its handler (exit 130).
_EXPORTS = {
    "QNNClassifier": "qcbo_qnn.estimator",
    "CIMSampler": "qcbo_qnn.sampler",
    "load_dataset": "qcbo_model.data",
    "QuantizedNetwork": "qcbo_model.network",
    "build_problem": "qcbo_model.problem",
    "NetworkSpec": "qcbo_model.spec",
    "SolveResult": "solvers",
    "Termination": "solvers",
    "get_oracle": "solvers",
    "solve": "solvers",
}

__all__ = ["QNNClassifier", "load_dataset", "NetworkSpec", "build_problem", "solve", "get_oracle", "SolveResult",
           "Termination", "QuantizedNetwork", "CIMSampler", "__version__"]

if TYPE_CHECKING:                                    # for type checkers and API-reference tools
    from qcbo_model.data import load_dataset
    from qcbo_model.network import QuantizedNetwork
    from qcbo_model.problem import build_problem
    from qcbo_model.spec import NetworkSpec
    from solvers import SolveResult, Termination, get_oracle, solve

    from .estimator import QNNClassifier
    from .sampler import CIMSampler


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value                      # later lookups skip __getattr__
        return value
    raise AttributeError(f"module 'qcbo_qnn' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
