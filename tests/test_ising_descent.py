"""Ising-oracle trust-region descent: QUBO == quadratic model, Jacobian, monotone accepted steps, seeds."""
import itertools

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from qcbo_model.forward import codes_from_bits, exact_forward, exact_loss
from qcbo_model.problem import build_problem
from qcbo_model.spec import NetworkSpec
from solvers.ising_descent import (IsingDescentError, code_map, ising_descent, jacobian, model_qubo,
                                   model_value, quadratic_model)


def _tiny(seed=0, n=12, bits=(1, 1), d=4):
    rng = np.random.default_rng(seed)
    X = rng.random((n, d))
    y = np.where(rng.random(n) < 0.5, -1, 1)
    spec = NetworkSpec(d, hidden=(2,), bits=bits, intervals=(2, 4), seed=seed)
    return build_problem(X, y, spec, "interval")


def test_code_map_and_jacobian_match_forward():
    prob = _tiny(bits=(1, 2))
    net = prob.net
    w = np.random.default_rng(1).integers(0, 2, prob.n_weight_bits).astype(np.uint8)
    codes = [q[0] for q in codes_from_bits(net, w[None])]
    q0, A = code_map(net)
    qv = np.concatenate([c.ravel() for c in codes])
    assert np.array_equal(q0 + A @ w, qv)
    z, J = jacobian(net, codes, net.X)
    assert np.allclose(z, exact_forward(net, [c[None] for c in codes], net.X)[0], atol=1e-12)

    def zq(v):
        out, pos = [], 0
        for ly in net.layers:
            k = ly.d_out * ly.fan_in
            out.append(v[pos:pos + k].reshape(1, ly.d_out, ly.fan_in))
            pos += k
        return exact_forward(net, out, net.X)[0]
    e = 1e-6
    Jn = np.stack([(zq(qv + e * np.eye(len(qv))[k]) - zq(qv - e * np.eye(len(qv))[k])) / (2 * e)
                   for k in range(len(qv))], axis=-1)
    assert np.allclose(Jn, J, atol=1e-7)


def test_qubo_equals_model_on_all_bit_vectors():
    prob = _tiny(bits=(1, 1))
    n = prob.n_weight_bits
    assert n <= 16
    w0 = np.random.default_rng(2).integers(0, 2, n).astype(np.uint8)
    L0, g, H = quadratic_model(prob.net, w0)
    assert np.isclose(L0, exact_loss(prob.net, codes_from_bits(prob.net, w0[None]))[0])
    mu = np.random.default_rng(3).random(n) * 0.1
    W = np.array(list(itertools.product([0, 1], repeat=n)), dtype=np.uint8)
    q = model_qubo(L0, g, H, w0, mu)
    assert np.allclose(q.energy(W), model_value(L0, g, H, w0, W, mu), atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 12), st.integers(0, 10_000), st.floats(0, 2))
def test_qubo_equals_model_random(n, seed, mu):
    rng = np.random.default_rng(seed)
    B = rng.normal(size=(n, n))
    H = B @ B.T
    g, w0 = rng.normal(size=n), rng.integers(0, 2, n)
    W = rng.integers(0, 2, (20, n))
    q = model_qubo(0.7, g, H, w0, mu)
    assert np.allclose(q.energy(W), model_value(0.7, g, H, w0, W, mu), atol=1e-9)


@pytest.mark.parametrize("trust", ["activation", "hamming"])
def test_exact_oracle_accepted_steps_decrease_objective(trust):
    prob = _tiny(seed=4)
    assert prob.n_weight_bits <= 24
    r = ising_descent(prob, oracle="exact", iterations=15, reads=3, seed=0, trust=trust)
    objs = [e["objective"] for e in r.trace]
    assert all(b <= a for a, b in zip(objs, objs[1:]))
    for e in r.trace:
        if e["accepted"]:
            assert e["candidate"] == e["objective"]
    assert r.minimized == pytest.approx(float(exact_loss(prob.net, codes_from_bits(prob.net, r.wbits[None]))[0]))
    assert prob.qcbo.is_feasible(r.x[None])[0]
    assert r.objective == pytest.approx(float(prob.qcbo.objective(r.x[None])[0]))


def test_seed_reproduces_and_controls_run():
    prob = _tiny(seed=5)
    a = ising_descent(prob, oracle="sa", oracle_kw={"num_sweeps": 20}, iterations=5, seed=7)
    b = ising_descent(prob, oracle="sa", oracle_kw={"num_sweeps": 20}, iterations=5, seed=7)
    assert np.array_equal(a.wbits, b.wbits) and a.minimized == b.minimized
    for o in ("random", "random-local", "greedy"):
        r = ising_descent(prob, oracle=o, iterations=3, seed=0)
        assert r.oracle_calls == 3 * r.iterations


def test_bad_settings_raise():
    prob = _tiny()
    with pytest.raises(IsingDescentError):
        ising_descent(prob, iterations=0)
    with pytest.raises(IsingDescentError):
        ising_descent(prob, objective="nope", iterations=1)
    with pytest.raises(IsingDescentError):
        ising_descent(prob, trust="nope", iterations=1)
