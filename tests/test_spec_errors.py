"""Bad input gives a clear, typed error."""
import json
import subprocess
import sys

import numpy as np
import pytest

from qcbo_model.errors import FormulationError, InputDataError, QCBOError, SpecError
from qcbo_model.fip import FIPNetwork
from qcbo_model.layout import Layout, encode_slack, slack_coefs
from qcbo_model.spec import NetworkSpec, WeightCode
from tests.conftest import tiny_data


def test_nan_in_data():
    X, y = tiny_data()
    X[1, 0] = np.nan
    with pytest.raises(InputDataError, match="NaN"):
        FIPNetwork(NetworkSpec(input_dim=2), X, y)


def test_wrong_shape():
    X, y = tiny_data()
    with pytest.raises(InputDataError, match="features"):
        FIPNetwork(NetworkSpec(input_dim=3), X, y)
    with pytest.raises(InputDataError, match="2-D"):
        FIPNetwork(NetworkSpec(input_dim=2), X.ravel(), y)
    with pytest.raises(InputDataError, match="one row per sample"):
        FIPNetwork(NetworkSpec(input_dim=2), X, y[:2])


def test_single_class_labels():
    X, _ = tiny_data()
    with pytest.raises(InputDataError, match="single class"):
        FIPNetwork(NetworkSpec(input_dim=2), X, np.ones(3))
    with pytest.raises(InputDataError, match=r"\{-1, \+1\}"):
        FIPNetwork(NetworkSpec(input_dim=2), X, np.array([0, 1, 1]))


@pytest.mark.parametrize("kw,match", [
    (dict(intervals=(0,)), "K >= 1"),
    (dict(bits=(0,)), "bits must be >= 1"),
    (dict(bits=("x",)), "bits must be an integer"),
    (dict(hidden=(2,), activation="swish"), "unknown activation"),
    (dict(loss="hinge3"), "unknown loss"),
    (dict(hidden=(2,), intervals=(2, 3, 4)), "expected 1 or 2 values"),
    (dict(hidden=(2,), output_spline="linear"), "cubic"),
    (dict(input_bits=0), "input_bits"),
    (dict(breakpoints="random"), "breakpoints"),
])
def test_spec_errors(kw, match):
    with pytest.raises(SpecError, match=match):
        NetworkSpec(input_dim=2, **kw)


def test_exact_form_needs_grid(tiny_net):
    with pytest.raises(FormulationError, match="input_bits"):
        Layout(tiny_net, "exact")


def test_n_larger_than_available():
    from qcbo_model.data import DataError, load_dataset
    with pytest.raises(DataError, match="available"):
        load_dataset("digits", classes=(0, 1), n_train=100000)
    assert issubclass(DataError, QCBOError)


def test_weight_codes_roundtrip():
    for tok, vals in (("1", [-1, 1]), ("2", [-3, -1, 1, 3]), ("3", [-7, -5, -3, -1, 1, 3, 5, 7]), ("t", [-1, 0, 1])):
        code = WeightCode.parse(tok)
        assert code.values.tolist() == vals
        assert np.array_equal(code.decode(code.encode(code.values)), code.values)
        bits = np.array(np.meshgrid(*[[0, 1]] * code.n_bits)).reshape(code.n_bits, -1).T
        assert set(code.decode(bits).tolist()) == set(vals)


@pytest.mark.parametrize("W", [1, 2, 3, 4, 5, 7, 8, 9, 13, 16, 100])
def test_slack_encoding_covers_exactly(W):
    c = slack_coefs(W)
    if W == 1:
        assert len(c) == 0
        return
    bits = np.array(np.meshgrid(*[[0, 1]] * len(c))).reshape(len(c), -1).T
    reach = set((bits @ c).astype(int).tolist())
    assert reach == set(range(W))                      # every value 0..W-1, nothing beyond
    S = np.arange(W)
    assert np.array_equal(encode_slack(S, c) @ c, S)


def test_avg_bits_per_weight():
    spec = NetworkSpec(input_dim=49, hidden=(4,), bits=(1, 2), intervals=(4, 8))
    assert spec.avg_bits_per_weight == pytest.approx((49 * 4 + 4 * 2) / (49 * 4 + 4))
    assert spec.n_weight_bits() == 50 * 4 + 5 * 2


def test_cli_bad_input_exit_code(tmp_path):
    r = subprocess.run([sys.executable, "-m", "qcbo_qnn.cli", "build", "--dataset", "digits", "--intervals", "0,4",
                        "--n-train", "8"], capture_output=True, text=True)
    assert r.returncode == 2 and "K >= 1" in r.stderr
