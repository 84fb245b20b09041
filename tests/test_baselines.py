import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from qcbo_model.forward import codes_from_bits, fip_forward
from qcbo_model.problem import build_problem
from qcbo_model.spec import NetworkSpec
from solvers import ConfigError, solve
from solvers.baselines import logistic_regression
from solvers.baselines.sa_weights import anneal_weights


def random_search(prob, n, seed=0, batch=1024):
    return solve(prob, "random-search", candidates=n, seed=seed, batch=batch)


def sa_weights(prob, n_sweeps=200, n_reads=16, seed=0):
    return solve(prob, "sa-weights", sweeps=n_sweeps, reads=n_reads, seed=seed)


def toy(n=24, d=5, seed=0, margin=0.0):
    rng = np.random.default_rng(seed)
    X = rng.random((n, d))
    w = rng.normal(size=d)
    s = (X - 0.5) @ w
    if margin:
        X = X + margin * np.sign(s)[:, None] * w / np.linalg.norm(w)
        X = np.clip(X, 0, 1)
        s = (X - 0.5) @ w
    y = np.where(s > 0, 1, -1)
    y[:2] = [-1, 1]
    return X, y


def small_problem(bits=(1, 2), hidden=(3,), intervals=(3, 4), n=24, d=5, seed=0, form="interval", input_bits=None):
    X, y = toy(n, d, seed)
    spec = NetworkSpec(input_dim=d, hidden=hidden, bits=bits, intervals=intervals, seed=seed, input_bits=input_bits)
    return build_problem(X, y, spec, form)


def test_random_search_feasible_and_objective_is_qcbo_objective():
    prob = small_problem()
    r = random_search(prob, 700, seed=3, batch=256)
    assert prob.qcbo.is_feasible(r.x[None])[0]
    assert np.isclose(r.objective, prob.qcbo.objective(r.x[None])[0])
    fl = fip_forward(prob.net, codes_from_bits(prob.net, r.wbits[None])).loss[0]
    assert np.isclose(r.objective, fl)
    assert r.info["candidates"] == 700
    assert len(r.trace) >= 1 and np.all(np.diff(r.trace) <= 0)


def test_random_search_nested_budgets_and_batch_invariance():
    prob = small_problem()
    objs = [random_search(prob, n, seed=5).objective for n in (10, 100, 300, 1000)]
    assert all(a >= b for a, b in zip(objs, objs[1:]))
    a = random_search(prob, 600, seed=5, batch=256)
    b = random_search(prob, 600, seed=5, batch=2048)
    assert a.objective == b.objective and np.array_equal(a.wbits, b.wbits)


def test_random_search_ternary_uses_valid_code_words():
    prob = small_problem(bits=("t", "t"))
    r = random_search(prob, 300, seed=0)
    w = r.wbits.reshape(-1, 2)
    assert not np.any(w[:, 0] & w[:, 1])
    assert prob.qcbo.is_feasible(r.x[None])[0]


@given(seed=st.integers(0, 10_000), bits=st.sampled_from([(1, 1), (1, 2), ("t", 2), (2, "t")]))
@settings(max_examples=8, deadline=None)
def test_random_search_objective_matches_qcbo_property(seed, bits):
    prob = small_problem(bits=bits, n=10, d=3, hidden=(2,), intervals=(2, 3), seed=seed % 7)
    r = random_search(prob, 50, seed=seed)
    assert prob.qcbo.is_feasible(r.x[None])[0]
    assert np.isclose(r.objective, prob.qcbo.objective(r.x[None])[0])


def test_random_search_exact_form_feasible():
    prob = small_problem(form="exact", input_bits=2, n=10, d=3, hidden=(2,), intervals=(2, 3))
    r = random_search(prob, 64, seed=1)
    assert prob.qcbo.is_feasible(r.x[None])[0]
    assert np.isclose(r.objective, prob.qcbo.objective(r.x[None])[0])


def test_sa_weights_finds_exhaustive_optimum_on_tiny_instance():
    # an instance where 64 random candidates miss the optimum (so the test can fail)
    prob = small_problem(bits=(1, 1), hidden=(3,), intervals=(3, 4), n=16, d=3, seed=0)
    n_w = prob.n_weight_bits
    assert n_w == 16
    allbits = ((np.arange(2 ** n_w)[:, None] >> np.arange(n_w)) & 1).astype(np.uint8)
    opt = fip_forward(prob.net, codes_from_bits(prob.net, allbits)).loss.min()
    assert random_search(prob, 64, seed=0).objective > opt + 1e-9
    r = sa_weights(prob, n_sweeps=60, n_reads=8, seed=0)
    assert np.isclose(r.objective, opt)
    assert prob.qcbo.is_feasible(r.x[None])[0]
    ex = solve(prob, "exhaustive")
    assert np.isclose(ex.objective, opt)


def test_sa_weights_ternary_and_grid_stay_valid_and_reproducible():
    prob = small_problem(bits=("t", 2), hidden=(2,), intervals=(2, 3), n=10, d=3)
    a = sa_weights(prob, n_sweeps=10, n_reads=4, seed=7)
    b = sa_weights(prob, n_sweeps=10, n_reads=4, seed=7)
    assert a.objective == b.objective and np.array_equal(a.wbits, b.wbits)
    w1 = a.wbits[:prob.layout.w[1].size].reshape(-1, 2)
    assert not np.any(w1[:, 0] & w1[:, 1])
    assert np.isclose(a.objective, prob.qcbo.objective(a.x[None])[0])
    # SA with 10 sweeps x 4 reads never loses to one random point of the same seed family
    assert a.objective <= random_search(prob, 1, seed=7).objective + 1e-12


def test_ste_qat_separable_toy_high_accuracy():
    X, y = toy(n=80, d=6, seed=1, margin=0.15)
    spec = NetworkSpec(input_dim=6, hidden=(4,), bits=(1, 2), intervals=(4, 8))
    prob = build_problem(X, y, spec)
    r = solve(prob, "ste", epochs=150, lr=0.05, seed=0)
    acc = prob.accuracy(r.x, X, y)
    assert acc >= 0.95
    assert prob.qcbo.is_feasible(r.x[None])[0]
    r2 = solve(prob, "ste", epochs=150, lr=0.05, seed=0)
    assert np.array_equal(r.wbits, r2.wbits)


def test_logistic_regression_and_errors():
    X, y = toy(n=80, d=6, seed=1, margin=0.15)
    r = logistic_regression(X, y, X, y, C=100.0)
    assert r["metrics"]["test_accuracy"] >= 0.95
    prob = small_problem()
    with pytest.raises(ConfigError):
        random_search(prob, 0)
    from solvers.exact.exhaustive import ExhaustiveError
    with pytest.raises(ExhaustiveError):
        solve(prob, "exhaustive", max_bits=5)
    d = random_search(prob, 10).to_dict()
    assert set(d) >= {"method", "objective", "termination", "wall_time_s", "config", "info"}


def test_sa_weights_linear_terms_exhaustive():
    prob = small_problem(bits=(1, 1), hidden=(2,), intervals=(2, 3), n=10, d=3, seed=2)
    n_w = prob.n_weight_bits
    lin = np.random.default_rng(0).normal(scale=0.05, size=n_w)
    allbits = ((np.arange(2 ** n_w)[:, None] >> np.arange(n_w)) & 1).astype(np.uint8)
    tot = fip_forward(prob.net, codes_from_bits(prob.net, allbits)).loss + allbits @ lin
    wb, fl, _, info, _ = anneal_weights(prob, n_sweeps=60, n_reads=8, seed=0, linear=lin)
    assert np.isclose(info["annealed_objective"], tot.min())
    assert np.isclose(fl, fip_forward(prob.net, codes_from_bits(prob.net, wb[None])).loss[0])
    # warm start at the optimum with a cold schedule stays there
    best = allbits[np.argmin(tot)]
    _, _, _, info2, _ = anneal_weights(prob, n_sweeps=2, n_reads=2, seed=1, linear=lin, init_bits=best,
                                       T0=1e-9, T1=1e-9)
    assert np.isclose(info2["annealed_objective"], tot.min())
    r3 = solve(prob, "sa-weights", sweeps=2, reads=2, seed=1, T0=1e-9, T1=1e-9, warm_start=best)
    assert np.isclose(r3.objective, fip_forward(prob.net, codes_from_bits(prob.net, best[None])).loss[0])
