"""QCGD: lifted rows, restricted penalty QUBOs, and the solver against exhaustive search (n <= 16)."""
import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings, strategies as st

from qcbo_model.problem import build_problem
from qcbo_model.qcbo import QCBO
from qcbo_model.spec import NetworkSpec
from solvers.compile.lift import LiftedRows, restricted_penalty
from solvers import ConfigError, Termination, solve


def qcgd(problem, **kw):
    return solve(problem, "qcgd-monolithic", **kw)


def all_bits(n):
    return ((np.arange(2 ** n)[:, None] >> np.arange(n)) & 1).astype(np.uint8)


def brute(q):
    X = all_bits(q.n)
    obj = np.where(q.is_feasible(X), q.objective(X), np.inf)
    return float(obj.min())


def make_qcbo(n, Q, c, rows, const=0.0):
    """rows: list of (lin dict, quad dict, lb, ub, nonneg)."""
    A_r, A_c, A_v, qr, qi, qj, qv, lb, ub, nn = [], [], [], [], [], [], [], [], [], []
    for r, (lin, quad, lo, hi, nonneg) in enumerate(rows):
        for i, v in lin.items():
            A_r.append(r); A_c.append(i); A_v.append(v)
        for (i, j), v in quad.items():
            qr.append(r); qi.append(i); qj.append(j); qv.append(v)
        lb.append(lo); ub.append(hi); nn.append(nonneg)
    m = len(rows)
    A = sp.csr_matrix((A_v, (A_r, A_c)), shape=(m, n))
    return QCBO([f"x[{i}]" for i in range(n)], Q, c, const, A, qr, qi, qj, qv, lb, ub,
                [f"con[{r}]" for r in range(m)], ["test"] * m, nonneg=nn)


def assignment(k=3, seed=0):
    rng = np.random.default_rng(seed)
    n = k * k
    C = rng.random((k, k))
    Qm = np.triu(rng.normal(0, 0.3, (n, n)), 1)
    rows = [({i * k + j: 1.0 for j in range(k)}, {}, 1.0, 1.0, False) for i in range(k)]
    rows += [({i * k + j: 1.0 for i in range(k)}, {}, 1.0, 1.0, False) for j in range(k)]
    return make_qcbo(n, Qm, C.ravel(), rows)


def quadratic_knapsack(n=10, seed=1):
    rng = np.random.default_rng(seed)
    P = np.triu(rng.integers(0, 10, (n, n)).astype(float))
    w = rng.integers(1, 10, n).astype(float)
    return make_qcbo(n, -P, np.zeros(n), [({i: w[i] for i in range(n)}, {}, -np.inf, w.sum() / 2, False)])


def quadratic_equality(n=8, seed=2):
    rng = np.random.default_rng(seed)
    c = rng.normal(size=n)
    quad = {(i, i + 1): 1.0 for i in range(n - 1)}            # sum of adjacent products == 2
    rows = [({}, quad, 2.0, 2.0, False), ({i: 1.0 for i in range(n)}, {}, 3.0, 5.0, False)]
    return make_qcbo(n, np.zeros((n, n)), c, rows)


def tiny_fip(form="interval", seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((6, 3))
    y = np.where(X[:, 0] + 0.3 * rng.normal(size=6) > 0.5, 1, -1)
    y[:2] = [1, -1]
    spec = NetworkSpec(input_dim=3, hidden=(2,), bits=(1, 1), intervals=(2, 4), seed=seed,
                       input_bits=2 if form == "exact" else None)
    return build_problem(X, y, spec, form)


# ---- lifted rows --------------------------------------------------------------------------------
@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.booleans())
def test_lagrangian_qubo_energy_matches_values(seed, square):
    q = [assignment(3, seed), quadratic_knapsack(8, seed), quadratic_equality(7, seed)][seed % 3]
    L = LiftedRows.build(q, square_equalities=square)
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 2, (6, q.n))
    w = rng.normal(size=q.m)
    np.testing.assert_allclose(L.lagrangian_qubo(w).energy(X), L.objective(X) + L.values(X) @ w, atol=1e-9)


def test_exact_lift_rows_vanish_exactly_on_feasible_points():
    for q in (assignment(3), quadratic_equality(8)):
        L = LiftedRows.build(q)
        X = all_bits(q.n)
        v = L.values(X)[:, L.is_target_zero]
        assert np.all(v >= -1e-12)
        feas = q.is_feasible(X)
        # squared equalities vanish iff they hold (the interval rows are checked elsewhere)
        sq_ok = np.all(v <= 1e-12, axis=1)
        assert np.all(sq_ok[feas])


@pytest.mark.parametrize("form", ["interval", "exact"])
def test_restricted_penalty_zero_on_completed_points(form):
    prob = tiny_fip(form)
    q = prob.qcbo
    rng = np.random.default_rng(0)
    X = prob.complete(rng.integers(0, 2, (4, prob.n_weight_bits)))
    free = np.r_[0:3, prob.n_weight_bits:q.n]
    parts = restricted_penalty(q, free, X[0])
    assert len(parts.dropped_rows) == 0       # block within one layer: every row linear or nonneg
    if form == "exact":                        # no slack added: feasible x has zero penalty
        assert parts.n_slack == 0
        E = parts.qubo(5.0).energy(X[:1, free])
        np.testing.assert_allclose(E, q.objective(X[:1]) / np.abs(q.c).max(), atol=1e-9)
    else:                                      # best slack leaves residuals below one step
        r = parts.H[:, :len(free)] @ X[0, free] + parts.h0
        assert np.all(r >= -1e-9)


def test_restricted_penalty_exact_minimum_is_feasible_optimum():
    q = assignment(3, 5)
    parts = restricted_penalty(q)
    Z = all_bits(parts.nz)
    E = parts.qubo(50.0).energy(Z)
    x = parts.expand(Z[[int(np.argmin(E))]], np.zeros(q.n))
    assert q.is_feasible(x)[0]
    assert np.isclose(q.objective(x)[0], brute(q))


# ---- the solver -------------------------------------------------------------------------------------
@pytest.mark.parametrize("make", [assignment, quadratic_knapsack, quadratic_equality])
def test_qcgd_generic_matches_exhaustive(make):
    q = make()
    res = qcgd(q, oracle="exact", iterations=20, reads=4, lns_steps=10, lns_block=6, seed=0)
    assert res.feasible
    assert q.is_feasible(res.x[None])[0]
    assert res.objective == pytest.approx(brute(q), abs=1e-9)
    assert res.info["best_from"] in {"oracle", "rounding", "randomized_rounding", "lns", "local_search"}


def test_qcgd_bound_with_exact_oracle_is_valid():
    q = assignment(3, 3)
    res = qcgd(q, oracle="exact", iterations=15, reads=2, lns_steps=0, bound=True, seed=1)
    assert res.bound is not None and res.bound <= brute(q) + 1e-9
    with pytest.raises(ConfigError):
        qcgd(q, oracle="greedy", iterations=2, bound=True)


@pytest.mark.parametrize("form", ["interval", "exact"])
def test_qcgd_fip_feasible_and_optimal(form):
    prob = tiny_fip(form)
    q = prob.qcbo
    X = prob.complete(all_bits(prob.n_weight_bits))
    opt = q.objective(X).min()
    res = qcgd(prob, oracle="greedy", iterations=20, reads=4, lns_steps=10, seed=0)
    assert q.is_feasible(res.x[None])[0]
    assert res.objective == pytest.approx(opt, abs=1e-9)
    assert res.trace[0]["oracle_calls"] == 1 and res.oracle_calls == 30
    assert {"relaxation", "infeasibility", "dual_norm", "max_abs_G", "oracle_energy",
            "best_feasible", "time_s"} <= set(res.trace[0])


def test_qcgd_deterministic_for_a_seed():
    prob = tiny_fip("interval", 3)
    a = qcgd(prob, oracle="greedy", iterations=8, reads=3, lns_steps=4, seed=11)
    b = qcgd(prob, oracle="greedy", iterations=8, reads=3, lns_steps=4, seed=11)
    assert a.objective == b.objective and np.array_equal(a.x, b.x)
    assert [t["best_feasible"] for t in a.trace] == [t["best_feasible"] for t in b.trace]
    d = a.to_dict(include_trace=False)
    assert d["feasible"] and "trace" not in d and d["termination"] == "iteration_limit"


def test_bad_settings_raise():
    with pytest.raises(ConfigError):
        qcgd(assignment(), iterations=0)
    with pytest.raises(ConfigError):
        qcgd(assignment(), beta0=-1)
    with pytest.raises(ConfigError, match="needs a FIPProblem"):
        solve(assignment(), "qcgd")


def test_forced_losses_and_target_qubo_consistent_with_forward():
    from qcbo_model.forward import codes_from_bits, fip_forward
    from solvers.methods.qcgd_monolithic import _forced_losses, _neuron_blocks, target_qubo
    prob = tiny_fip("interval", 2)
    rng = np.random.default_rng(1)
    wb0 = rng.integers(0, 2, prob.n_weight_bits).astype(np.uint8)
    codes = codes_from_bits(prob.net, wb0[None])
    fp = fip_forward(prob.net, codes)
    for l, j, wb, _ in _neuron_blocks(prob):
        L, u = _forced_losses(prob.net, codes, l, j)
        kc = fp.k[l - 1][0, :, j]
        assert np.allclose(u, fp.u[l - 1][0, :, j])
        assert np.isclose(L[np.arange(len(kc)), kc].mean(), fp.loss[0])   # forcing the current k = no change
        Qs = target_qubo(prob, wb0.copy(), l, j, wb)
        assert Qs.n == len(wb) and np.all(Qs.energy(all_bits(len(wb))) >= -1e-9)   # a sum of squares


def test_no_feasible_point_is_reported_as_infeasible():
    q = make_qcbo(2, np.zeros((2, 2)), np.zeros(2), [({0: 1.0, 1: 1.0}, {}, 3.0, 3.0, False)])   # x0 + x1 == 3
    res = qcgd(q, oracle="exact", iterations=3, reads=2, lns_steps=2, lns_block=2)
    assert res.termination == Termination.infeasible and res.x is None and not res.feasible
