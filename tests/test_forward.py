"""Decoding and prediction: the decoded real weights reproduce the exact forward pass, and the FIP
network converges to the exact one as the sub-intervals shrink."""
import numpy as np
import pytest

from qcbo_model.fip import FIPNetwork
from qcbo_model.forward import (bits_from_codes, codes_from_bits, decode, exact_forward, exact_loss,
                                fip_forward, forward_completion)
from qcbo_model.problem import build_problem
from qcbo_model.spec import NetworkSpec
from tests.conftest import tiny_data


@pytest.mark.parametrize("input_bits", [None, 2])
def test_decoded_weights_reproduce_exact_forward(input_bits):
    X, y = tiny_data(N=6, d=3, seed=4)
    net = FIPNetwork(NetworkSpec(input_dim=3, hidden=(2, 2), bits=(1, 2, "t"), intervals=(3, 3, 4),
                                 input_bits=input_bits), X, y)
    rng = np.random.default_rng(0)
    wb = rng.integers(0, 2, (1, net.spec.n_weight_bits()))
    qw = decode(net, wb[0])
    h = X if input_bits is None else np.rint(X * 3) / 3
    for l, (W, b) in enumerate(zip(qw.weights, qw.biases)):
        z = h @ W.T + b
        h = np.tanh(z) if l < 2 else z
    np.testing.assert_allclose(exact_forward(net, codes_from_bits(net, wb), X)[0], h, atol=1e-12)
    assert np.array_equal(bits_from_codes(net, qw.codes)[0], bits_from_codes(net, codes_from_bits(net, wb))[0])


def test_fip_converges_to_exact_with_more_intervals():
    X, y = tiny_data(N=20, d=4, seed=1)
    rng = np.random.default_rng(2)
    devs = []
    for K in (2, 8, 64):
        net = FIPNetwork(NetworkSpec(input_dim=4, hidden=(3,), bits=(1, 2), intervals=(K, K)), X, y)
        wb = rng.integers(0, 2, (50, net.spec.n_weight_bits()))
        codes = codes_from_bits(net, wb)
        devs.append(np.abs(fip_forward(net, codes).z_out - exact_forward(net, codes, X)).max())
    assert devs[2] < devs[1] < devs[0]


def test_problem_accuracy_and_prediction(fashion):
    X, y = fashion
    spec = NetworkSpec(input_dim=49, hidden=(2,), bits=(1, 2), intervals=(4, 8))
    p = build_problem(X, y, spec)
    x = p.complete(np.zeros((1, p.n_weight_bits), dtype=np.uint8))[0]
    acc = p.accuracy(x, X, y)
    assert 0.0 <= acc <= 1.0
    assert p.predict(x, X, exact=False).shape == (len(X),)
    assert np.isfinite(exact_loss(p.net, codes_from_bits(p.net, x[None, :p.n_weight_bits]))).all()
