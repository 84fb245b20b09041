"""qcbo-qnn: quantized neural networks trained as Quadratic Constrained Binary Optimization (QCBO).

    from qcbo_qnn import QNNClassifier, load_dataset
    ds = load_dataset("fashion-mnist", classes=(0, 1), n_train=32)
    clf = QNNClassifier().fit(ds.X_train, ds.y_train)
    clf.score(ds.X_test, ds.y_test)

The layers below: ``qcbo_model`` (what the problem is), ``solvers`` (how to solve it: ``solve``,
``get_oracle``), ``validation`` (how we know it is right).
"""
__version__ = "0.1.0"

from qcbo_model.data import load_dataset
from qcbo_model.network import QuantizedNetwork
from qcbo_model.problem import build_problem
from qcbo_model.spec import NetworkSpec
from solvers import SolveResult, Termination, get_oracle, solve

from .estimator import QNNClassifier
from .sampler import CIMSampler

__all__ = ["QNNClassifier", "load_dataset", "NetworkSpec", "build_problem", "solve", "get_oracle", "SolveResult",
           "Termination", "QuantizedNetwork", "CIMSampler", "__version__"]
