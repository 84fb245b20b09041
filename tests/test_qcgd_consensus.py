"""QCGD over weight-space models: the LMO QUBO is the lifted model, an exact oracle finds the optimum on
tiny instances, seeds reproduce, the controls run."""
import itertools

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from solvers import solve
from solvers.methods.qcgd import _rows, consensus_qubo
from tests.exact_helpers import small_problem


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 3), st.integers(1, 4), st.integers(0, 10_000))
def test_consensus_qubo_is_model_plus_weighted_rows(S, m, seed):
    rng = np.random.default_rng(seed)
    Qs = [np.triu(rng.normal(size=(m, m))) for _ in range(S)]
    offs = rng.normal(size=S)
    wts = rng.random((S, m))
    scale = 0.7
    q = consensus_qubo(Qs, offs, wts, scale)
    Z = rng.integers(0, 2, (20, (S + 1) * m))
    model = sum(np.einsum("bi,ij,bj->b", Z[:, (s + 1) * m:(s + 2) * m], Qs[s], Z[:, (s + 1) * m:(s + 2) * m])
                for s in range(S)) + offs.sum()
    rows = _rows(Z, S, m)
    np.testing.assert_allclose(q.energy(Z), model + scale * (rows * wts[None]).sum(axis=(1, 2)), atol=1e-9)
    cons = np.all(rows.reshape(len(Z), -1) == 0, axis=1)
    assert np.array_equal(cons, np.all(Z.reshape(len(Z), S + 1, m) == Z.reshape(len(Z), S + 1, m)[:, :1], axis=(1, 2)))


@pytest.mark.parametrize("seed", range(3))
def test_exact_oracle_reaches_the_exhaustive_optimum(seed):
    prob = small_problem(seed=seed, N=6, d=2, hidden=(1,), bits=(1, 1), intervals=(2, 3))
    opt = solve(prob, "exhaustive").objective
    r = solve(prob, "qcgd", oracle="exact", objective="spline", batches=2, iterations=60, reads=4, seed=seed,
              stop_after=None)
    assert r.feasible and r.objective == pytest.approx(opt, abs=1e-12)


def test_seed_reproduces_and_controls_run():
    prob = small_problem(seed=1, N=10, d=3, hidden=(2,), bits=(1, 1), intervals=(2, 3))
    kw = dict(oracle="sa", oracle_options={"num_sweeps": 30}, iterations=6, reads=4, seed=3)
    a, b = solve(prob, "qcgd", **kw), solve(prob, "qcgd", **kw)
    assert np.array_equal(a.x, b.x) and [e["objective"] for e in a.trace] == [e["objective"] for e in b.trace]
    objs = [e["objective"] for e in a.trace]
    assert all(y <= x for x, y in zip(objs, objs[1:]))
    for o in ("random", "random-local", "greedy"):
        r = solve(prob, "qcgd", oracle=o, iterations=3, cgal_steps=2, seed=0)
        assert r.feasible and r.oracle_calls == 2 * r.info["iterations"]


def test_training_routes_give_the_cim_its_training_preset():
    from solvers.ising.cim import PRESETS
    from solvers.methods.descent import training_oracle
    tuned = training_oracle("cim", {})
    assert tuned.preset == "training"
    assert {k: tuned.params[k] for k in PRESETS["training"]} == PRESETS["training"]
    generic = training_oracle("cim", {"num_steps": 50})          # any explicit option: generic defaults
    assert generic.preset is None and generic.params["num_steps"] == 50
    assert generic.params["beta"] != PRESETS["training"]["beta"]
    assert training_oracle("sa", {}).name == "sa"
