"""Penalty baseline: compiled once, combined per lambda; decoded vs completed results kept apart."""
import numpy as np
import pytest

from solvers import solve
from solvers.methods.penalty import DEFAULT_LAMBDAS
from tests.test_qcgd import assignment, brute, quadratic_knapsack, tiny_fip


def penalty_grid(problem, **kw):
    return solve(problem, "penalty", **kw)


def test_grid_shape_and_large_lambda_exact_oracle_is_optimal():
    q = assignment(3, 2)
    res = penalty_grid(q, oracle="exact", reads=4, seed=0)
    assert res.info["backend"] == "pyqubo"
    grid = res.info["grid"]
    assert [r["lam"] for r in grid] == list(DEFAULT_LAMBDAS) and len(grid) >= 5
    top = grid[-1]
    assert top["feasible_rate"] > 0
    assert top["best_feasible_decoded"] == pytest.approx(brute(q))
    assert res.objective == pytest.approx(brute(q)) and res.feasible
    assert res.oracle_calls == len(DEFAULT_LAMBDAS)


def test_small_lambda_can_be_infeasible_and_is_reported_as_none():
    q = quadratic_knapsack(10, 1)
    res = penalty_grid(q, lambdas=(1e-4, 1e3), oracle="exact", reads=1, seed=0)
    low, high = res.info["grid"]
    assert low["feasible_rate"] == 0.0 and low["best_feasible_decoded"] is None   # objective wins
    assert high["feasible_rate"] == 1.0
    assert "best_after_completion" not in low                                      # not a FIP problem


@pytest.mark.parametrize("form,products", [("interval", True), ("exact", False)])
def test_fip_penalty_reports_completion_separately(form, products):
    prob = tiny_fip(form)
    res = penalty_grid(prob, lambdas=(0.1, 1, 10, 100, 1000), oracle="greedy", reads=4, seed=0)
    assert (res.info["n_product_bits"] > 0) == products      # interval form: w*delta rows linearized
    for r in res.info["grid"]:
        assert np.isfinite(r["best_after_completion"])
        if r["best_feasible_decoded"] is not None:
            assert r["best_after_completion"] is not None
    assert prob.qcbo.is_feasible(res.x[None])[0]


def test_pyqubo_and_direct_backends_agree():
    q = quadratic_knapsack(8, 4)
    a = penalty_grid(q, lambdas=(0.5, 50), oracle="exact", reads=3, backend="pyqubo", seed=0)
    b = penalty_grid(q, lambdas=(0.5, 50), oracle="exact", reads=3, backend="direct", seed=0)
    assert [r["best_feasible_decoded"] for r in a.info["grid"]] == [r["best_feasible_decoded"] for r in b.info["grid"]]
