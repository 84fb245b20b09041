"""Ising-oracle trust-region descent: QUBO == quadratic model, Jacobian, monotone accepted steps, seeds."""
import itertools

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from qcbo_model.fip import quantize_inputs
from qcbo_model.forward import codes_from_bits, exact_backprop, exact_forward, exact_loss, jacobian
from qcbo_model.functions import loss_fn
from qcbo_model.problem import build_problem
from qcbo_model.spec import NetworkSpec
from solvers import ConfigError, Termination, solve
from solvers.methods.descent import (code_map, model_qubo, model_value, neuron_blocks, path_points,
                                     quadratic_model)


def ising_descent(prob, **kw):
    return solve(prob, "ising-descent", **kw)


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
    bp = exact_backprop(net.layers, net.spec.activation, codes, quantize_inputs(net.spec, net.X)[0])
    z, J = bp.z, jacobian(net.layers, net.spec.activation, codes, bp)
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


@pytest.mark.parametrize("trust,blocks,path", [("activation", "all", False), ("hamming", "all", False),
                                               ("activation", "neuron", True)])
def test_exact_oracle_accepted_steps_decrease_objective(trust, blocks, path):
    prob = _tiny(seed=4)
    assert prob.n_weight_bits <= 24
    r = ising_descent(prob, oracle="exact", iterations=15, reads=3, seed=0, trust=trust, blocks=blocks,
                      path=path, sharpness=1.0)
    objs = [e["objective"] for e in r.trace]
    assert all(b <= a for a, b in zip(objs, objs[1:]))
    for e in r.trace:
        if e["accepted"]:
            assert e["candidate"] == e["objective"]
    assert r.info["minimized"] == pytest.approx(float(exact_loss(prob.net, codes_from_bits(prob.net, r.wbits[None]))[0]))
    assert prob.qcbo.is_feasible(r.x[None])[0]
    assert r.objective == pytest.approx(float(prob.qcbo.objective(r.x[None])[0]))


def test_sharpened_objective_and_model():
    """sharpness s: the minimized value is loss(s z)/s and the model's L0, g match it (finite differences)."""
    prob = _tiny(seed=6)
    net, s = prob.net, 8.0
    r = ising_descent(prob, oracle="exact", iterations=6, reads=3, seed=0, sharpness=s)
    z = exact_forward(net, codes_from_bits(net, r.wbits[None]), net.X)[0]
    assert r.info["minimized"] == pytest.approx(float(loss_fn(net.spec.loss)(s * z, net.Y).sum(axis=1).mean() / s))
    w0 = r.wbits
    L0, g, H = quadratic_model(net, w0, sharpness=s)
    assert L0 == pytest.approx(r.info["minimized"])
    assert np.all(np.linalg.eigvalsh(H) > -1e-10)
    q0, A = code_map(net)

    def f(q):
        codes, pos = [], 0
        for ly in net.layers:
            k = ly.d_out * ly.fan_in
            codes.append(q[pos:pos + k].reshape(1, ly.d_out, ly.fan_in))
            pos += k
        zz = exact_forward(net, codes, net.X)[0]
        return loss_fn(net.spec.loss)(s * zz, net.Y).sum(axis=1).mean() / s
    q = q0 + A @ w0
    e = 1e-6
    gq = np.array([(f(q + e * u) - f(q - e * u)) / (2 * e) for u in np.eye(len(q))])
    assert np.allclose(g, A.T @ gq, atol=1e-6)


def test_neuron_blocks_cover_bits():
    prob = _tiny(bits=(1, 2))
    net, n = prob.net, prob.n_weight_bits
    blocks = neuron_blocks(net)
    n_out = net.layers[-1].d_out * net.layers[-1].fan_in * net.layers[-1].code.n_bits
    out = set(range(n - n_out, n))
    assert len(blocks) == net.layers[0].d_out
    assert set(np.concatenate(blocks).tolist()) == set(range(n))
    assert all(out <= set(b.tolist()) for b in blocks)
    hid = [set(b.tolist()) - out for b in blocks]
    assert sum(len(h) for h in hid) == n - n_out and all(len(h) == net.layers[0].fan_in for h in hid)


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 10), st.integers(0, 10_000))
def test_path_points_are_ordered_prefixes(n, seed):
    rng = np.random.default_rng(seed)
    B = rng.normal(size=(n, n))
    H, g = B @ B.T, rng.normal(size=n)
    w0, S = rng.integers(0, 2, n), rng.integers(0, 2, (3, n))
    P, src = path_points(g, H, w0, S)
    nf = (S != w0).sum(axis=1)
    assert len(P) == nf.sum()
    for b in range(3):
        Pb = P[src == b]
        F = S[b] != w0
        hd = (Pb != w0).sum(axis=1)
        assert np.array_equal(hd, np.arange(1, nf[b] + 1))                    # one more flip each
        assert np.all((Pb == w0) | (Pb == S[b]))                                  # flips of s only
        if nf[b]:
            assert np.array_equal(Pb[-1], S[b])
            d = S[b] - w0
            first = np.flatnonzero(Pb[0] != w0)[0]
            gain = d * g + 0.5 * np.diag(H)
            assert gain[first] == pytest.approx(gain[F].min())


def test_seed_reproduces_and_controls_run():
    prob = _tiny(seed=5)
    a = ising_descent(prob, oracle="sa", oracle_options={"num_sweeps": 20}, iterations=5, seed=7)
    b = ising_descent(prob, oracle="sa", oracle_options={"num_sweeps": 20}, iterations=5, seed=7)
    assert np.array_equal(a.wbits, b.wbits) and a.info["minimized"] == b.info["minimized"]
    assert a.to_dict(include_trace=False) | {"wall_time_s": 0, "oracle_time_s": 0} == \
        b.to_dict(include_trace=False) | {"wall_time_s": 0, "oracle_time_s": 0}
    for o in ("random", "random-local", "greedy"):
        r = ising_descent(prob, oracle=o, iterations=3, seed=0)
        assert r.oracle_calls == 3 * r.info["iterations"]


def test_bad_settings_raise():
    prob = _tiny()
    for bad in (dict(iterations=0), dict(reads=0), dict(objective="nope"), dict(trust="nope"), dict(blocks="nope"),
                dict(sharpness=0.0), dict(iterations=2.5), dict(iterations="5"), dict(oracle="nope"),
                dict(seed=-1), dict(time_limit=0), dict(patience=True), dict(nope=1)):
        with pytest.raises(ConfigError):
            ising_descent(prob, **bad)


def test_restart_continues_after_stall_monotone_and_reproducible():
    """restart=True: a stall resets corrections/mu/block order and goes on; the incumbent never worsens,
    the run uses the whole iteration budget, and the same seed reproduces it."""
    prob = _tiny(seed=5)
    kw = dict(oracle="sa", oracle_options={"num_sweeps": 20}, iterations=24, reads=4, seed=3, patience=2,
              restart=True, restart_mu=0.5, stop_after=None)
    a, b = ising_descent(prob, **kw), ising_descent(prob, **kw)
    assert np.array_equal(a.wbits, b.wbits) and a.info["restarts"] == b.info["restarts"]
    assert a.info["restarts"] >= 1 and a.info["iterations"] == 24 and a.termination == Termination.iteration_limit
    objs = [e["objective"] for e in a.trace]
    assert all(y <= x for x, y in zip(objs, objs[1:]))
    ref = ising_descent(prob, **{**kw, "restart": False})
    assert ref.termination in (Termination.stalled, Termination.converged) and ref.info["iterations"] < 24
    assert a.info["minimized"] <= ref.info["minimized"] + 1e-12   # same trajectory to the first stall, then more


def test_convergence_stops_after_dry_restarts():
    """stop_after=k: the run ends 'converged' once k restarts in a row brought no gain > tol."""
    prob = _tiny(seed=5)
    kw = dict(oracle="sa", oracle_options={"num_sweeps": 20}, iterations=400, reads=4, seed=3, patience=2)
    r = ising_descent(prob, stop_after=1, **kw)
    assert r.termination == Termination.converged and r.info["iterations"] < 400
    r2 = ising_descent(prob, stop_after=3, **kw)
    assert r2.info["iterations"] >= r.info["iterations"] and r2.info["minimized"] <= r.info["minimized"] + 1e-12


def test_time_limit_is_honoured():
    import time
    prob = _tiny(seed=5)
    t0 = time.perf_counter()
    r = ising_descent(prob, oracle="sa", iterations=10 ** 6, stop_after=None, time_limit=0.5)
    assert r.termination == Termination.time_limit and time.perf_counter() - t0 < 5.0 and r.feasible
