"""Shared helpers of the exact-solver tests: brute force over the full QCBO and small problems."""
import itertools

import numpy as np
import pytest

from qcbo_model.problem import build_problem
from qcbo_model.spec import NetworkSpec


def brute_force(qcbo, max_n=18):
    """Minimum of the QCBO over all 2^n binary points (feasible ones only), independently of FIP."""
    assert qcbo.n <= max_n, qcbo.n
    X = np.array(list(itertools.product((0, 1), repeat=qcbo.n)), dtype=np.uint8)
    feas = qcbo.is_feasible(X)
    assert feas.any()
    return float(qcbo.objective(X[feas]).min())


def small_problem(seed=0, N=3, d=2, form="interval", **kw):
    rng = np.random.default_rng(seed)
    X = rng.random((N, d))
    y = np.where(np.arange(N) % 2 == 0, 1, -1)
    spec = NetworkSpec(input_dim=d, **kw)
    return build_problem(X, y, spec, form)


def tie_problem(hidden=()):
    """Inputs 0 and 1 with binary weights put pre-activations exactly on uniform breakpoints."""
    X = np.array([[0.0], [1.0], [1.0]])
    y = np.array([1, -1, 1])
    spec = NetworkSpec(input_dim=1, hidden=hidden, bits=(1,) * (len(hidden) + 1),
                       intervals=(2,) * len(hidden) + (4,), scales=(1.0,) * (len(hidden) + 1))
    return build_problem(X, y, spec, "interval")


def fashion14(n_train=8):
    from qcbo_model.data import DataError, load_dataset
    try:
        return load_dataset("fashion-mnist", classes=(0, 1), n_train=n_train, n_test=50, pool=14, seed=0,
                            download=False)
    except DataError as e:  # pragma: no cover - only without the shared datasets
        pytest.skip(f"Fashion-MNIST not available ({e}); install the Debian package dataset-fashion-mnist, "
                    "or put the IDX files in shared/datasets/fashion-mnist beside the repository")
