from pathlib import Path

import numpy as np
import pytest

from qcbo_model.spec import NetworkSpec
from qcbo_model.fip import FIPNetwork


def tiny_data(N=3, d=2, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((N, d))
    y = np.where(np.arange(N) % 2 == 0, 1, -1)
    return X, y


@pytest.fixture
def tiny_net():
    X, y = tiny_data()
    spec = NetworkSpec(input_dim=2, hidden=(2,), bits=(1, 1), intervals=(2, 3))
    return FIPNetwork(spec, X, y)


@pytest.fixture(scope="session")
def fashion():
    """16 balanced Fashion-MNIST T-shirt/Trouser samples, 4x4 pooled (49 features)."""
    from qcbo_model.data import DataError, load_dataset
    try:
        ds = load_dataset("fashion-mnist", classes=(0, 1), n_train=16, n_test=10, pool=4, seed=0, download=False)
    except DataError as e:  # pragma: no cover - only without the shared datasets
        pytest.skip(f"Fashion-MNIST not available ({e}); install the Debian package dataset-fashion-mnist, "
                    "or put the IDX files in shared/datasets/fashion-mnist beside the repository")
    return ds.X_train, ds.y_train


DATA = Path(__file__).resolve().parent / "data"
ISING = DATA / "ising"        # the few benchmark instances the tests use (see data/ising/README.md)
