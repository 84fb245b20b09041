"""HiGHS path: exact linearization (names kept), certified optima against brute force, time limits,
symmetry breaking."""
import json

import numpy as np
import pyomo.environ as pyo
import pytest
from pyomo.repn import generate_standard_repn

from solvers import SolutionStatus, Termination, solve
from solvers.exact.highs import HighsError, add_symmetry_breaking, linearize, symmetric_layers
from tests.exact_helpers import brute_force, small_problem, tie_problem


def solve_highs(prob, **kw):
    return solve(prob, "highs", **kw)


def test_linearize_keeps_names_and_is_linear():
    prob = small_problem(hidden=(2,), bits=(1, 1), intervals=(2, 3))
    m = prob.pyomo_model()
    before = sorted(c.name for c in m.component_data_objects(pyo.Constraint))
    linearize(m)
    after = [c.name for c in m.component_data_objects(pyo.Constraint)]
    assert set(before) <= set(after)
    assert m.interval_upper[2, 1, 0] is not None
    for con in m.component_data_objects(pyo.Constraint):
        r = generate_standard_repn(con.body, quadratic=True)
        assert not r.quadratic_vars and r.nonlinear_expr is None, con.name
    # one product per distinct (delta, w) pair in layer 2: N * d_in * K_prev * fan-in bits of output
    assert m.n_products == 3 * 2 * 2 * 1
    assert len(m.prod_le1) == len(m.prod_le2) == len(m.prod_ge) == m.n_products
    assert all(len(p) == 2 for p in m.prod_pairs)


@pytest.mark.parametrize("kw", [dict(hidden=(), bits=(1,), intervals=(3,)),
                                dict(hidden=(), bits=("t",), intervals=(2,)),
                                dict(hidden=(), bits=(2,), intervals=(3,), output_spline="linear")])
@pytest.mark.parametrize("seed", [0, 1])
def test_highs_equals_brute_force_over_the_full_qcbo(kw, seed):
    prob = small_problem(seed=seed, **kw)
    r = solve_highs(prob, time_limit=30)
    assert r.solution_status == SolutionStatus.optimal and r.termination == Termination.optimal
    assert r.objective == pytest.approx(brute_force(prob.qcbo), abs=1e-9)
    assert r.gap is not None and r.gap <= 1e-9
    assert r.x.shape == (prob.qcbo.n,)


def test_highs_uses_ties_like_the_qcbo():
    prob = tie_problem()
    r = solve_highs(prob)
    assert r.objective == pytest.approx(brute_force(prob.qcbo), abs=1e-9)


def test_exact_form_on_grid():
    prob = small_problem(hidden=(1,), bits=(1, 1), intervals=(2, 2), input_bits=1, form="exact")
    r = solve_highs(prob)
    assert r.solution_status == SolutionStatus.optimal
    # exact form has slack/aux bits; the weight bits fully determine the rest
    assert np.array_equal(prob.complete(r.x[None, :prob.n_weight_bits])[0][:prob.n_weight_bits],
                          r.x[:prob.n_weight_bits])


def test_time_limit_returns_gracefully_and_certificate_is_json():
    prob = small_problem(seed=3, N=12, d=4, hidden=(3,), bits=(2, 2), intervals=(4, 6))
    r = solve_highs(prob, time_limit=0.05)
    assert r.termination in (Termination.optimal, Termination.time_limit)
    cert = json.loads(json.dumps(r.to_dict(include_x=True)))
    assert cert["info"]["statement"] and cert["termination"] in ("optimal", "time_limit")
    if r.objective is None:
        assert "no incumbent" in cert["info"]["statement"] and cert["x"] is None
    else:
        assert r.feasible and (r.bound is None or r.bound <= r.objective + 1e-9)
        assert len(cert["x"]) == prob.qcbo.n


def test_symmetry_breaking_keeps_the_optimum():
    prob = small_problem(seed=2, N=4, hidden=(3,), bits=(1, 1), intervals=(2, 3))
    assert symmetric_layers(prob.net) == [1]
    a = solve_highs(prob)
    b = solve_highs(prob, symmetry_breaking=True)
    assert b.info["symmetry_rows"] == 2
    assert a.solution_status == b.solution_status == SolutionStatus.optimal
    assert a.objective == pytest.approx(b.objective, abs=1e-9)
    q1 = [prob.decode(b.x).codes[0][j][0] for j in range(3)]
    assert q1 == sorted(q1, reverse=True)


def test_symmetry_breaking_refused_without_symmetry():
    prob = small_problem(seed=2, N=6, hidden=(3,), bits=(1, 1), intervals=(3, 3), breakpoints="quantile")
    if symmetric_layers(prob.net):
        pytest.skip("quantile draws happened to coincide")
    with pytest.raises(HighsError, match="not interchangeable"):
        add_symmetry_breaking(prob.pyomo_model(), prob.net, layers=[1])


def test_point_outside_the_qcbo_is_repaired_and_not_called_optimal(monkeypatch):
    """If HiGHS returns a point the QCBO rejects (its tolerance), the result says so and repairs it."""
    import solvers.exact.highs as H
    prob = small_problem(seed=3, N=4, hidden=(2,), bits=(1, 1), intervals=(2, 3))
    orig = H.solve_pyomo_highs

    def corrupt(model, **kw):
        res, prim, wall = orig(model, **kw)
        for v in list(prim):          # move one output indicator to a wrong sub-interval
            if v.name.startswith("delta[2,0,0,") and prim[v] > 0.5:
                k = int(v.name.rstrip("]").split(",")[-1])
                prim[v] = 0.0
                prim[model.delta[2, 0, 0, (k + 1) % 3]] = 1.0
                break
        return res, prim, wall

    monkeypatch.setattr(H, "solve_pyomo_highs", corrupt)
    r = solve_highs(prob, time_limit=30)
    assert r.info["repaired"] and r.feasible and r.info["max_violation"] > 0
    assert r.solution_status == SolutionStatus.feasible and "not a certificate" in r.info["statement"]
    np.testing.assert_allclose(r.objective, prob.qcbo.objective(prob.complete(r.x[None, :prob.n_weight_bits]))[0])
