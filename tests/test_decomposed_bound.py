"""The decomposed lower bound: pieces add up to the full QCBO, the bound never exceeds the optimum,
and the direct MILP path agrees with the Pyomo HiGHS path."""
import itertools
import re

import numpy as np
import pytest

from solvers import solve
from solvers.exact.decomposed import make_batches, piece_model, piece_problem, trivial_bound
from solvers.exact.milp import MILP
from tests.exact_helpers import brute_force, small_problem

SPECS = [dict(hidden=(), bits=(1,), intervals=(2,), N=4, d=1),
         dict(hidden=(), bits=(2,), intervals=(3,), N=3, d=1),
         dict(hidden=(1,), bits=(1, 1), intervals=(2, 2), N=3, d=1)]


def _full_index(prob, piece_q, idx):
    """For each piece variable, the full QCBO's column (sample index mapped back)."""
    cols = []
    for name in piece_q.var_names:
        m = re.match(r"^(\w+)\[(.*)\]$", name)
        fam, parts = m.group(1), m.group(2).split(",")
        if fam != "w":
            parts[1] = str(int(idx[int(parts[1])]))
        cols.append(prob.qcbo.var_index(f"{fam}[{','.join(parts)}]"))
    return np.array(cols)


@pytest.mark.parametrize("kw", SPECS)
def test_pieces_add_up_to_the_full_qcbo_for_every_assignment(kw):
    prob = small_problem(**kw)
    q = prob.qcbo
    assert q.n <= 16
    X = np.array(list(itertools.product((0, 1), repeat=q.n)), dtype=np.uint8)
    batches = make_batches(prob.net.N, 2, seed=1)
    tot = np.zeros(len(X))
    feas = np.ones(len(X), bool)
    for idx in batches:
        _, pq = piece_problem(prob, idx)
        cols = _full_index(prob, pq, idx)
        tot += len(idx) / prob.net.N * pq.objective(X[:, cols])
        feas &= pq.is_feasible(X[:, cols])
    np.testing.assert_allclose(tot, q.objective(X), atol=1e-12)
    assert np.array_equal(feas, q.is_feasible(X))


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("size", [1, 2, 3])
def test_bound_never_exceeds_the_exhaustive_optimum(seed, size):
    prob = small_problem(seed=seed, N=6, d=3, hidden=(2,), bits=(1, 1), intervals=(2, 3))
    opt = solve(prob, "exhaustive").objective
    r = solve(prob, "decomposed-bound", batch_size=size, dual_iterations=6)
    assert r.info["certified"] and r.bound <= opt + 1e-12
    assert r.bound >= trivial_bound(prob, np.arange(prob.net.N)) - 1e-9
    assert r.feasible and r.objective >= opt - 1e-12
    assert [t["best_bound"] for t in r.trace] == sorted(t["best_bound"] for t in r.trace)


def test_one_piece_is_the_optimum():
    prob = small_problem(seed=2, N=5, d=2, hidden=(2,), bits=(1, 1), intervals=(2, 3))
    opt = solve(prob, "exhaustive").objective
    r = solve(prob, "decomposed-bound", batch_size=5)
    assert r.bound == pytest.approx(opt, abs=1e-8) and r.objective == pytest.approx(opt, abs=1e-12)


def test_milp_direct_matches_pyomo_highs_and_brute_force():
    for kw in SPECS:
        prob = small_problem(**kw)
        r = MILP(prob.qcbo).solve()
        assert r.optimal and r.objective == pytest.approx(brute_force(prob.qcbo), abs=1e-9)
        assert prob.qcbo.is_feasible(r.x[None])[0]
    prob = small_problem(seed=1, N=4, d=3, hidden=(2,), bits=(1, 2), intervals=(2, 3))
    assert MILP(prob.qcbo).solve().objective == pytest.approx(solve(prob, "highs").objective, abs=1e-9)


def test_auto_batch_size_and_time_limit_stay_certified():
    prob = small_problem(seed=0, N=12, d=3, hidden=(2,), bits=(1, 1), intervals=(2, 3))
    opt = solve(prob, "highs").objective
    r = solve(prob, "decomposed-bound", time_limit=10.0, batch_sizes=(1, 2, 3, 4))
    assert r.info["batch_size"] in (1, 2, 3, 4) and r.info["probes"]
    t = solve(prob, "decomposed-bound", time_limit=1e-3)            # no time for any piece: the trivial bound
    assert t.info["certified"] and t.bound <= opt + 1e-12
    assert r.info["certified"] and r.bound <= opt + 1e-12


def test_piece_model_prints_like_the_full_one():
    prob = small_problem(seed=0, N=4, d=2, hidden=(1,), bits=(1, 1), intervals=(2, 2))
    m = piece_model(prob, np.array([1, 3]))
    assert len(list(m.delta)) == 2 * (1 * 2 + 1 * 2)       # two samples, one hidden + one output neuron


def test_train_report_and_certify_command(tmp_path):
    import json
    from qcbo_qnn.cli import main
    model, rep, crt = tmp_path / "m.json", tmp_path / "r.json", tmp_path / "c.json"
    args = ["--dataset", "digits", "--classes", "0,1", "--pool", "4", "--n-train", "12", "--hidden", "2",
            "--descent-iterations", "5", "--no-progress"]
    assert main(["train", *args, "--model", str(model), "--report", str(rep), "--plots", str(tmp_path / "p")]) == 0
    r = json.loads(rep.read_text())
    assert r["lower_bound_certified"] and r["lower_bound"] <= r["objective"] and r["gap"] >= 0
    assert (tmp_path / "p" / "bounds.png").exists()
    assert main(["certify", "--model", str(model), "--time-limit", "5", "--report", str(crt)]) == 0
    c = json.loads(crt.read_text())
    assert c["upper_bound"] == pytest.approx(r["objective"]) and c["lower_bound"] <= c["upper_bound"]
    assert c["constants_match_the_model"] and c["lower_bound_certified"]
