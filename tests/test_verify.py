"""Verification suite: every check passes on sound models, and a corrupted coefficient is caught."""
import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from qcbo_model.forward import codes_from_bits, fip_forward
from validation.checks import FAILED, PASSED, SKIPPED, all_passed, format_table, run_checks
from validation.reference import reference_pass
from tests.exact_helpers import fashion14, small_problem


def test_all_checks_pass_on_a_small_model():
    prob = small_problem(N=4, hidden=(2,), bits=(1, 1), intervals=(2, 3))
    res = run_checks(prob, n_cases=200, seed=1)
    assert [r.name for r in res] == ["pyomo_vs_assemble", "forward_completion", "transpile", "exact_solvers",
                                     "fip_bounds", "forms_agree", "decomposed_bound"]
    assert all(r.status == PASSED for r in res), format_table(res)
    assert all_passed(res)


def test_corrupted_objective_coefficient_is_caught():
    prob = small_problem(N=4, hidden=(2,), bits=(1, 1), intervals=(2, 3))
    out = prob.layout.delta[2][1, 0, 2]          # one output indicator's objective weight
    prob.qcbo.c[out] += 1e-3
    res = {r.name: r for r in run_checks(prob, n_cases=200, seed=0,
                                         only=["pyomo_vs_assemble", "forward_completion", "fip_bounds"])}
    assert res["pyomo_vs_assemble"].status == FAILED
    assert res["pyomo_vs_assemble"].max_discrepancy == pytest.approx(1e-3, rel=1e-6)
    assert res["forward_completion"].status == FAILED      # the sampled completions use that indicator
    assert res["fip_bounds"].status == PASSED             # untouched by the corruption
    assert not all_passed(res.values())


def test_corrupted_constraint_coefficient_is_caught():
    prob = small_problem(N=4, hidden=(2,), bits=(1, 1), intervals=(2, 3))
    prob.qcbo.A.data[5] *= 1.5
    res = run_checks(prob, n_cases=100, seed=0, only=["pyomo_vs_assemble"])
    assert res[0].status == FAILED and res[0].max_discrepancy > 1e-6


def test_crash_in_a_check_is_a_failure(monkeypatch):
    import validation.checks as chk
    monkeypatch.setattr(chk, "reference_pass", lambda *a: (_ for _ in ()).throw(RuntimeError("boom")))
    prob = small_problem(N=3, hidden=(), bits=(1,), intervals=(2,))
    res = run_checks(prob, n_cases=5, only=["fip_bounds"])
    assert res[0].status == FAILED and "boom" in res[0].note


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 1000), hidden=st.sampled_from([(), (2,), (2, 3)]),
       bits=st.sampled_from(["1", "2", "t"]), input_bits=st.sampled_from([None, 2]),
       linear=st.booleans())
def test_reference_pass_matches_fip_forward(seed, hidden, bits, input_bits, linear):
    kw = dict(hidden=hidden, bits=(bits,) * (len(hidden) + 1), intervals=(3,) * (len(hidden) + 1),
              input_bits=input_bits)
    if linear and not hidden:
        kw["output_spline"] = "linear"
    prob = small_problem(seed=seed, N=5, d=3, **kw)
    W = np.random.default_rng(seed).integers(0, 2, (64, prob.n_weight_bits))
    loss, us, ks = reference_pass(prob.net, W)
    fp = fip_forward(prob.net, codes_from_bits(prob.net, W))
    # Off the grid, two independent float computations may put a pre-activation that sits on a
    # breakpoint (a tie: both intervals are feasible) on different sides; compare the rest exactly.
    tie = np.zeros(len(W), bool)
    for ly, u in zip(prob.net.layers, fp.u):
        t = ly.t[None, None, :, 1:-1]                         # inner breakpoints only
        tie |= np.any(np.abs(u[..., None] - t) <= 1e-9 * (1 + np.abs(t)), axis=(1, 2, 3))
    assert tie.mean() < 0.5
    np.testing.assert_allclose(loss[~tie], fp.loss[~tie], rtol=1e-12, atol=1e-12)
    for a, b in zip(ks, fp.k):
        np.testing.assert_array_equal(a[~tie], b[~tie])


def test_verify_cli_fashion(tmp_path):
    fashion14()  # skip without data
    from qcbo_qnn.cli import main
    out = tmp_path / "v.json"
    rc = main(["verify", "--dataset", "fashion-mnist", "--classes", "0,1", "--n-train", "8", "--n-test", "20",
               "--hidden", "2", "--intervals", "2,4", "--bits", "1,1", "--cases", "200", "--json", str(out)])
    d = json.loads(out.read_text())
    assert rc == 0 and d["passed"]
    assert {c["name"] for c in d["checks"]} == {"pyomo_vs_assemble", "forward_completion", "transpile",
                                                "exact_solvers", "fip_bounds", "forms_agree", "decomposed_bound"}
    for c in d["checks"]:
        assert c["status"] in ("passed", "skipped")
        if c["status"] == "skipped":
            assert c["note"].startswith("skipped:")
