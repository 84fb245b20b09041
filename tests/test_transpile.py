"""QCBO -> penalty QUBO/Ising (pyqubo and direct paths) and the lifted matrices."""
import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qcbo_model.problem import build_problem
from qcbo_model.qcbo import QCBO
from qcbo_model.spec import NetworkSpec
from solvers.compile.lift import LiftedMatrices, LiftedRows, LiftError, lift_vectors, lmo_qubo
from solvers.compile.transpile import (KIND_NONE, TranspileError, check_transpile, feed_dict, penalty_qubo_direct,
                               plan_transpile, qcbo_to_pyqubo)


# ---- instances ------------------------------------------------------------------------------------
def fip_problem(form, input_bits=None, hidden=(2,), N=4, d=3, seed=0, intervals=(2, 2), bits=(1, 1), bias=True):
    rng = np.random.default_rng(seed)
    X = rng.uniform(0, 1, size=(N, d))
    y = np.where(np.arange(N) % 2 == 0, 1, -1)
    spec = NetworkSpec(input_dim=d, hidden=hidden, bits=bits[:len(hidden) + 1], intervals=intervals[:len(hidden) + 1],
                       input_bits=input_bits, bias=bias)
    return build_problem(X, y, spec, form)


def random_qcbo(seed: int, integer: bool, n: int = None, m: int = None) -> QCBO:
    """A small random QCBO, feasible by construction (bounds placed around a random point x0), with
    linear/quadratic equalities, one- and two-sided inequalities and nonneg Rosenberg rows."""
    rng = np.random.default_rng(seed)
    n = n or int(rng.integers(3, 7))
    m = m or int(rng.integers(1, 4))
    x0 = rng.integers(0, 2, n)

    def coef(size):
        if integer:
            v = rng.integers(-3, 4, size).astype(float)
            return np.where(v == 0, 1.0, v)
        return np.round(rng.uniform(-2, 2, size), 3)

    Qd = np.triu(coef((n, n))) * (rng.uniform(size=(n, n)) < 0.4)
    c = coef(n)
    qr, qi, qj, qv = [], [], [], []
    lb, ub, fam, nn = [0.0] * m, [0.0] * m, [""] * m, [False] * m
    Arows, Acols, Avals = [], [], []
    kinds = rng.choice(["eq", "le", "ge", "two", "qle", "qeq", "ros"], size=m)
    touched = set()
    # Rosenberg rows first (they fix x0[y] = x0[i] x0[j]; y is a variable no earlier row used)
    for r in sorted(range(m), key=lambda r: kinds[r] != "ros"):
        kind = kinds[r]
        free = [v for v in range(n) if v not in touched]
        if kind == "ros" and n >= 3 and free:
            yv = int(rng.choice(free))
            i, j = sorted(rng.choice([v for v in range(n) if v != yv], 2, replace=False))
            x0[yv] = x0[i] * x0[j]
            touched.update((int(i), int(j), yv))
            qr += [r, r, r]
            qi += [i, min(i, yv), min(j, yv)]
            qj += [j, max(i, yv), max(j, yv)]
            qv += [1.0, -2.0, -2.0]
            Arows.append(r); Acols.append(yv); Avals.append(3.0)
            fam[r], nn[r] = "ros", True
            continue
        if kind == "ros":
            kind = "eq"
        k = int(rng.integers(1, n + 1))
        cols = rng.choice(n, k, replace=False)
        a = coef(k)
        Arows += [r] * k; Acols += cols.tolist(); Avals += a.tolist()
        body0 = float(a @ x0[cols])
        if kind in ("qle", "qeq"):
            i, j = sorted(rng.choice(n, 2, replace=False))
            v = float(coef(1)[0])
            qr.append(r); qi.append(i); qj.append(j); qv.append(v)
            body0 += v * x0[i] * x0[j]
        slackw = float(rng.integers(0, 3)) if integer else float(np.round(rng.uniform(0, 1.5), 2))
        if kind in ("eq", "qeq"):
            lo, hi = body0, body0
        elif kind in ("le", "qle"):
            lo, hi = -np.inf, body0 + slackw
        elif kind == "ge":
            lo, hi = body0 - slackw, np.inf
        else:
            lo, hi = body0 - slackw, body0 + float(rng.integers(0, 3) if integer else rng.uniform(0, 1))
        lb[r], ub[r], fam[r] = lo, hi, kind
    A = sp.coo_matrix((Avals, (Arows, Acols)), shape=(m, n))
    return QCBO([f"x[{i}]" for i in range(n)], Qd, c, float(coef(1)[0]), A, qr, qi, qj, qv, lb, ub,
                [f"{f}[{r}]" for r, f in enumerate(fam)], fam, nonneg=nn, meta={"x0": x0.tolist()})


def all_bits(n):
    return np.array(list(itertools.product([0, 1], repeat=n)), dtype=np.uint8)


# ---- energy identity across the paths -----------------------------------------------------------------
@pytest.mark.parametrize("form,input_bits", [("interval", None), ("interval", 2), ("exact", 2)])
def test_fip_energy_identity(form, input_bits):
    p = fip_problem(form, input_bits)
    wb = np.random.default_rng(1).integers(0, 2, (8, p.n_weight_bits))
    Xf = p.complete(wb)
    r = check_transpile(p.qcbo, n_cases=150, seed=2, lambdas={"lam": 3.5, "lam_onehot": 2.0}, X_feasible=Xf)
    assert r["status"] == "passed", r
    d = r["discrepancies"]
    for key in ("direct_qubo", "pyqubo_qubo", "pyqubo_ising", "pyqubo_constraint_by_name"):
        assert d[key] <= 1e-9, (key, d)
    assert d["feasible_point_penalty"] == 0.0 and d["satisfied_row_penalty"] == 0.0
    # the two builders agree on the matrices up to summation order (see docs/conventions.md)
    assert d["matrix_direct_vs_pyqubo"] <= 1e-12 and d["offset_direct_vs_pyqubo"] <= 1e-12
    if form == "exact":       # all rows integer: feasible completions have zero penalty exactly
        pen = plan_transpile(p.qcbo).row_penalties(Xf)
        assert np.all(pen == 0)


def test_check_transpile_detects_a_broken_qubo(monkeypatch):
    """The check must fail when the QUBO is wrong (here: one coefficient perturbed)."""
    import solvers.compile.transpile as T
    p = fip_problem("exact", 2)
    orig = T.penalty_qubo_direct

    def broken(*a, **k):
        qb = orig(*a, **k)
        Q = qb.Q.tolil()
        Q[0, 0] += 1e-3
        return T.QUBO(Q.tocsr(), qb.offset)

    monkeypatch.setattr(T, "penalty_qubo_direct", broken)
    r = T.check_transpile(p.qcbo, n_cases=50, use_pyqubo=False)
    assert r["status"] == "failed" and r["max_discrepancy"] > 1e-6


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**31 - 1), integer=st.booleans())
def test_random_qcbo_energy_identity(seed, integer):
    q = random_qcbo(seed, integer)
    x0 = np.array(q.meta["x0"])[None, :]
    assert q.is_feasible(x0)[0]
    lam = {"lam": 2.0 if integer else 1.7}
    r = check_transpile(q, n_cases=64, seed=seed, lambdas=lam, X_feasible=x0)
    assert r["status"] == "passed", r
    plan = plan_transpile(q)
    pen = plan.row_penalties(x0)[0]
    # feasible point: zero penalty on integer rows, at most step^2/4 on real ones
    bound = np.where(plan.integer_row, 0.0, plan.step ** 2 / 4)
    assert np.all(pen <= bound + 1e-12)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**31 - 1))
def test_integer_instances_bit_identical(seed):
    """With integer data and weights every partial sum is an exact integer, so the summation order
    cannot matter: the direct and pyqubo matrices must be bitwise equal."""
    q = random_qcbo(seed, integer=True)
    fd = {"lam": 3.0}
    plan = plan_transpile(q)
    a = penalty_qubo_direct(q, fd, plan=plan)
    pm = qcbo_to_pyqubo(q, plan=plan)
    b = pm.to_qubo(fd)
    a.Q.sort_indices(); b.Q.sort_indices()
    assert np.array_equal(a.Q.indptr, b.Q.indptr) and np.array_equal(a.Q.indices, b.Q.indices)
    assert np.array_equal(a.Q.data, b.Q.data) and a.offset == b.offset
    # Ising from pyqubo equals our exact QUBO -> Ising conversion
    ia, ib = a.to_ising(), pm.to_ising(fd)
    assert np.array_equal(ia.h, ib.h) and ia.offset == ib.offset
    assert np.array_equal(sp.csr_matrix(ia.J).toarray(), ib.J.toarray())


def test_fip_matrix_relative_difference():
    """Real data: matrices agree to <= 1e-12 relative; the only differences are in entries summed
    from several constraints (summation order), never in the sparsity pattern."""
    p = fip_problem("interval")
    plan = plan_transpile(p.qcbo)
    fd = {"lam": 3.0, "lam_onehot": 2.0}
    a = penalty_qubo_direct(p.qcbo, fd, plan=plan)
    b = qcbo_to_pyqubo(p.qcbo, plan=plan).to_qubo(fd)
    assert np.array_equal(a.Q.indices, b.Q.indices) and np.array_equal(a.Q.indptr, b.Q.indptr)
    rel = np.abs(a.Q.data - b.Q.data) / np.maximum(np.abs(a.Q.data), 1e-300)
    assert rel.max() <= 1e-12
    assert abs(a.offset - b.offset) <= 1e-12 * abs(a.offset)


# ---- exhaustive: minimum of the penalty QUBO == constrained optimum ---------------------------------------
def _exhaustive_check(q: QCBO):
    plan = plan_transpile(q)
    assert plan.n_total <= 16
    Xs = all_bits(q.n)
    obj = q.objective(Xs)
    feas = q.is_feasible(Xs)
    assert feas.any()
    opt = obj[feas].min()
    lam = float(obj.max() - obj.min()) + 1.0          # integer rows: any infeasibility costs >= lam
    qb = penalty_qubo_direct(q, {"lam": lam}, plan=plan)
    Zs = all_bits(plan.n_total)
    E = qb.energy(Zs)
    k = int(np.argmin(E))
    assert abs(E[k] - opt) <= 1e-9 * max(1.0, abs(opt))
    assert q.is_feasible(Zs[k, :q.n][None])[0]
    assert abs(q.objective(Zs[k, :q.n])[0] - opt) <= 1e-9 * max(1.0, abs(opt))
    # and the pyqubo Ising agrees at the minimizer
    isg = qcbo_to_pyqubo(q, plan=plan).to_ising({"lam": lam})
    assert abs(isg.energy(2.0 * Zs[k] - 1.0)[0] - E[k]) <= 1e-9 * max(1.0, abs(E[k]))


@pytest.mark.parametrize("d,input_bits,bias", [(1, 1, True), (2, 1, False), (1, 2, False)])
def test_exhaustive_tiny_fip_exact(d, input_bits, bias):
    X = np.array([[0.1, 0.9], [0.8, 0.2]])[:, :d]
    spec = NetworkSpec(input_dim=d, hidden=(), bits=(1,), intervals=(2,), input_bits=input_bits, bias=bias)
    q = build_problem(X, np.array([1, -1]), spec, "exact").qcbo
    _exhaustive_check(q)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**31 - 1))
def test_exhaustive_random_integer(seed):
    q = random_qcbo(seed, integer=True, n=int(np.random.default_rng(seed).integers(3, 6)))
    if plan_transpile(q).n_total > 16:
        q = random_qcbo(seed, integer=True, n=3, m=1)
    if plan_transpile(q).n_total > 16:
        return
    _exhaustive_check(q)


# ---- plan details -------------------------------------------------------------------------------
def test_slack_covers_exact_integer_range():
    # 2 <= x0 + 2 x1 + 3 x2 (<= inf): body in [0, 6], slack range must be exactly 0..4
    A = sp.csr_matrix(np.array([[1.0, 2.0, 3.0]]))
    q = QCBO(["a", "b", "c"], sp.csr_matrix((3, 3)), np.zeros(3), 0.0, A, [], [], [], [], [2.0], [np.inf],
             ["row[0]"], ["row"])
    plan = plan_transpile(q)
    assert plan.slack_range[0] == 4 and plan.lo[0] == 2.0
    vals = sorted({int(s @ plan.slack_coef) for s in all_bits(plan.n_slack)})
    assert vals == list(range(5))
    # completion picks the min-penalty slack
    Xs = all_bits(3)
    Z = plan.complete(Xs)
    qb = penalty_qubo_direct(q, 1.0, plan=plan)
    full = all_bits(plan.n_total)
    Ef = qb.energy(full).reshape(8, -1).min(axis=1)      # min over slack for each x (x is the high bits)
    assert np.allclose(qb.energy(Z), Ef)


def test_never_violated_row_has_no_penalty_and_infeasible_row_raises():
    A = sp.csr_matrix(np.array([[1.0, 1.0], [1.0, 1.0]]))
    q = QCBO(["a", "b"], sp.csr_matrix((2, 2)), np.zeros(2), 0.0, A, [], [], [], [], [-1.0, 0.0], [5.0, 2.0],
             ["loose[0]", "tight[1]"], ["loose", "tight"])
    plan = plan_transpile(q)
    assert plan.kind[0] == KIND_NONE and plan.kind[1] == KIND_NONE and plan.n_total == 2
    q2 = QCBO(["a", "b"], sp.csr_matrix((2, 2)), np.zeros(2), 0.0, A[:1], [], [], [], [], [3.0], [np.inf],
              ["bad[0]"], ["bad"])
    with pytest.raises(TranspileError, match="bad"):
        plan_transpile(q2)


def test_feed_dict_and_options():
    q = random_qcbo(3, integer=True)
    fd = feed_dict(q, 5.0)
    assert fd["lam"] == 5.0 and all(v == 1.0 for k, v in fd.items() if k != "lam")
    with pytest.raises(TranspileError, match="unknown"):
        feed_dict(q, {"lam_typo": 1.0})
    with pytest.raises(TranspileError):
        plan_transpile(q, slack="unary")


def test_decode_reports_broken_constraints_by_name():
    p = fip_problem("exact", 2)
    pm = qcbo_to_pyqubo(p.qcbo)
    x = p.complete(np.zeros((1, p.n_weight_bits), np.uint8))
    z = pm.plan.complete(x)[0]
    assert pm.decode(z)["broken"] == {}
    r = p.qcbo.find("onehot", 1, 0, 0)
    z2 = z.copy()
    z2[p.qcbo.var_index("delta[1,0,0,0]")] ^= 1
    broken = pm.decode(z2)["broken"]
    assert p.qcbo.con_names[r] in broken


# ---- lifted matrices ------------------------------------------------------------------------------
@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), integer=st.booleans())
def test_lifted_consistency(seed, integer):
    q = random_qcbo(seed, integer)
    L = LiftedMatrices(q)
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 2, (40, q.n))
    body = q.constraint_values(X)
    g = L.A_of(X)
    # body_r - b_k = sign_k * v^T Phat_k v
    assert np.allclose(L.sign * g, body[:, L.row_of] - L.rhs, atol=1e-12)
    assert np.allclose(L.objective_of(X), q.objective(X), atol=1e-12)
    # each Phat_k matrix, one at a time, and <Phat_k, v v^T>
    V = lift_vectors(X)
    for k in range(L.m):
        P = L.Phat(k)
        assert abs(P - P.T).max() == 0 if P.nnz else True
        assert np.allclose(np.einsum("bi,bi->b", (P @ V.T).T, V), g[:, k])
    assert np.allclose(L.inner(np.outer(V[0], V[0])), g[0])
    # combine == Qhat + sum y Phat + sum beta Pnn, checked against an explicit loop
    y = rng.normal(size=L.m)
    beta = rng.uniform(size=L.m)
    C = L.combine(y, beta=beta)
    ref = L.Qhat.toarray() + sum(y[k] * L.Phat(k).toarray() + beta[k] * L.Pnn_matrix(k).toarray() for k in range(L.m))
    assert np.allclose(C.toarray(), ref, atol=1e-12)
    # nonnegative forms: (a^T x - b)^2 for linear equalities, the row itself for nonneg rows
    nnv = L.nn_of(X)
    k = np.flatnonzero(L.has_nn)
    src = L.row_of[k]
    expect = np.where(q.nonneg[src], body[:, src] - L.rhs[k], (body[:, src] - L.rhs[k]) ** 2)
    assert np.allclose(nnv[:, k], expect, atol=1e-10)
    assert np.all(nnv[:, k] >= -1e-12)
    # the squared forms of linear equalities are PSD
    for kk in k[~q.nonneg[src]]:
        ev = np.linalg.eigvalsh(L.Pnn_matrix(kk).toarray())
        assert ev.min() >= -1e-9


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), integer=st.booleans())
def test_lifted_rows_agree_with_lifted_matrices(seed, integer):
    """The two views of the one lift (solvers.lift): LiftedRows (QCGD) and LiftedMatrices agree."""
    q = random_qcbo(seed, integer)
    R = LiftedRows.build(q)
    L = LiftedMatrices(q)
    X = all_bits(q.n)
    assert np.allclose(R.objective(X) * R.obj_scale, L.objective_of(X), atol=1e-9)
    assert np.allclose(R.lagrangian_qubo(np.zeros(R.m)).energy(X) * R.obj_scale, q.objective(X), atol=1e-9)
    L.Pnn  # build the nonnegative forms
    k = np.flatnonzero(L.has_nn)
    r = L.row_of[k]
    assert set(R.kind[r]) <= {"squared", "nonneg"}
    assert np.allclose(R.values(X)[:, r] * R.scale[r], L.nn_of(X)[:, k], atol=1e-9)


def test_lifted_on_fip():
    for form, ib in [("interval", None), ("exact", 2)]:
        p = fip_problem(form, ib)
        L = LiftedMatrices(p.qcbo)
        X = np.random.default_rng(0).integers(0, 2, (30, p.qcbo.n))
        assert np.allclose(L.constraint_values(X), p.qcbo.constraint_values(X)[:, L.row_of], atol=1e-12)
        Xf = p.complete(np.random.default_rng(1).integers(0, 2, (5, p.n_weight_bits)))
        g = L.A_of(Xf)
        assert np.all(np.abs(g[:, L.is_eq]) <= 1e-9) and np.all(g[:, ~L.is_eq] <= 1e-9)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), sparse=st.booleans())
def test_lmo_qubo(seed, sparse):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 7))
    G = rng.normal(size=(n + 1, n + 1))          # not symmetric on purpose
    qb = lmo_qubo(sp.csr_matrix(G) if sparse else G)
    X = all_bits(n)
    V = lift_vectors(X)
    assert np.allclose(qb.energy(X), np.einsum("bi,ij,bj->b", V, G, V), atol=1e-12)
    assert qb.offset == G[0, 0]
    with pytest.raises(LiftError):
        lmo_qubo(np.zeros((2, 3)))


def test_conventions_worked_example():
    """The numbers of docs/conventions.md, recomputed."""
    A = sp.csr_matrix(np.array([[1.0, 1.0]]))
    q = QCBO(["x0", "x1"], np.array([[0.0, 2.0], [0.0, 0.0]]), np.array([0.0, -1.0]), 0.5, A, [], [], [], [],
             [1.0], [1.0], ["onehot[0]"], ["onehot"])
    qb = penalty_qubo_direct(q, 3.0)
    assert np.array_equal(qb.Q.toarray(), [[-3.0, 8.0], [0.0, -4.0]]) and qb.offset == 3.5
    X = np.array([[0, 0], [1, 0], [0, 1], [1, 1]])
    assert np.array_equal(qb.energy(X), [3.5, 0.5, -0.5, 4.5])
    isg = qcbo_to_pyqubo(q).to_ising(3.0)
    assert np.array_equal(isg.J.toarray(), [[0.0, 2.0], [0.0, 0.0]])
    assert np.array_equal(isg.h, [0.5, 0.0]) and isg.offset == 2.0
    S = 2 * X - 1
    J_ext = -(isg.J + isg.J.T).toarray()
    assert np.array_equal(J_ext, [[0.0, -2.0], [-2.0, 0.0]])
    H_cim = -0.5 * np.einsum("bi,ij,bj->b", S, J_ext, S) - S @ (-isg.h)        # cim-optimizer
    H_sb = -0.5 * np.einsum("bi,ij,bj->b", S, J_ext, S) + S @ isg.h            # simulated-bifurcation
    assert np.array_equal(H_cim + 2.0, qb.energy(X)) and np.array_equal(H_sb + 2.0, qb.energy(X))
    L = LiftedMatrices(q)
    assert np.array_equal(L.Qhat.toarray(), [[0.5, 0, -0.5], [0, 0, 1], [-0.5, 1, 0]])
    assert np.array_equal(L.Phat(0).toarray(), [[-1, .5, .5], [.5, 0, 0], [.5, 0, 0]])
    assert np.array_equal(L.Pnn_matrix(0).toarray(), [[1, -1, -1], [-1, 1, 1], [-1, 1, 1]])
    G = L.combine(np.zeros(1), beta=3.0)
    assert np.array_equal(G.toarray(), [[3.5, -3, -3.5], [-3, 3, 4], [-3.5, 4, 3]])
    lq = lmo_qubo(G)
    assert np.array_equal(lq.Q.toarray(), qb.Q.toarray()) and lq.offset == qb.offset


def test_bounded_log_encoding_reaches_exactly_0_to_R():
    from solvers.compile.transpile import _bit_length
    R = np.arange(1, 5000)
    k = _bit_length(R)
    assert np.all((2 ** (k - 1) <= R) & (R < 2 ** k))
    c_last = R - 2 ** (k - 1) + 1
    assert np.all((c_last >= 1) & (c_last <= 2 ** (k - 1)))      # no gap between the two halves
    assert _bit_length(np.array([0]))[0] == 0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_completion_minimizes_over_slack_real_rows(seed):
    """For real coefficients, the completed slack is the minimum over all slack bit settings."""
    rng = np.random.default_rng(seed)
    a = np.round(rng.uniform(-2, 2, 4), 3)
    A = sp.csr_matrix(a[None, :])
    lb = float(np.sort(a)[:2].sum() * 0.5)
    q = QCBO([f"x[{i}]" for i in range(4)], sp.csr_matrix((4, 4)), np.zeros(4), 0.0, A, [], [], [], [],
             [lb], [np.inf], ["row[0]"], ["row"])
    plan = plan_transpile(q, slack_resolution=0.25)
    assert 0 < plan.n_slack <= 10 and not plan.integer_row[0]
    qb = penalty_qubo_direct(q, 1.0, plan=plan)
    Xs = all_bits(4)
    S = all_bits(plan.n_slack)
    for x in Xs:
        Z = np.concatenate([np.repeat(x[None], len(S), 0), S], axis=1)
        assert np.isclose(qb.energy(Z).min(), qb.energy(plan.complete(x[None]))[0], rtol=0, atol=1e-12)
    # feasible points: penalty <= step^2/4; slack grid spans exactly [0, hi - lo]
    pen = plan.row_penalties(Xs)[:, 0]
    feas = q.is_feasible(Xs)
    assert np.all(pen[feas] <= plan.step[0] ** 2 / 4 + 1e-15)
    assert np.isclose(plan.step[0] * plan.slack_coef.sum(), np.maximum(a, 0).sum() - lb)


def test_objective_only_and_no_constraints():
    q = QCBO(["a", "b"], np.array([[1.0, -2.0], [0.0, 0.5]]), np.array([0.25, 0.0]), 1.0,
             sp.csr_matrix((0, 2)), [], [], [], [], [], [], [], [])
    plan = plan_transpile(q)
    assert plan.n_total == 2 and plan.families == []
    a = penalty_qubo_direct(q)
    b = qcbo_to_pyqubo(q).to_qubo()
    X = all_bits(2)
    assert np.allclose(a.energy(X), q.objective(X)) and np.allclose(b.energy(X), q.objective(X))
    L = LiftedMatrices(q)
    assert L.m == 0 and np.allclose(L.objective_of(X), q.objective(X))
    assert np.allclose(lmo_qubo(L.combine(np.zeros(0))).energy(X), q.objective(X))


def test_equality_rows_constant_or_impossible():
    A = sp.csr_matrix(np.array([[0.0, 0.0], [1.0, 1.0]]))
    q = QCBO(["a", "b"], sp.csr_matrix((2, 2)), np.array([1.0, 0.0]), 0.0, A, [], [], [], [], [0.0, 1.0],
             [0.0, 1.0], ["empty[0]", "oh[1]"], ["empty", "oh"])
    plan = plan_transpile(q)
    assert plan.kind[0] == KIND_NONE
    assert check_transpile(q, n_cases=20)["status"] == "passed"
    q2 = QCBO(["a", "b"], sp.csr_matrix((2, 2)), np.zeros(2), 0.0, A[1:], [], [], [], [], [3.0], [3.0],
              ["impossible[0]"], ["impossible"])
    with pytest.raises(TranspileError, match="impossible"):
        plan_transpile(q2)
