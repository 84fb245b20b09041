"""Exhaustive enumeration: an independent exact method that must agree with HiGHS and brute force."""
import subprocess
import sys
import json
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from solvers import SolutionStatus, solve
from solvers.exact.exhaustive import ExhaustiveError, n_patterns
from tests.exact_helpers import brute_force, fashion14, small_problem, tie_problem


def solve_exhaustive(prob, **kw):
    return solve(prob, "exhaustive", **kw)


def solve_highs(prob, **kw):
    return solve(prob, "highs", **kw)


def test_ties_on_breakpoints_are_resolved_like_the_qcbo():
    prob = tie_problem()
    r = solve_exhaustive(prob)
    assert r.info["n_tie_patterns"] > 0
    assert r.objective == pytest.approx(brute_force(prob.qcbo), abs=1e-12)
    assert r.feasible


def test_hidden_ties_enumerated():
    prob = tie_problem(hidden=(1,))
    r = solve_exhaustive(prob)
    h = solve_highs(prob)
    assert r.objective == pytest.approx(h.objective, abs=1e-9)
    assert r.feasible and prob.qcbo.objective(r.x)[0] == pytest.approx(r.objective)


def test_ternary_counts_valid_codes_only():
    prob = small_problem(hidden=(), bits=("t",), intervals=(2,))
    assert n_patterns(prob.net) == 3 ** 3
    r = solve_exhaustive(prob)
    assert r.info["n_patterns"] == 27
    assert r.objective == pytest.approx(brute_force(prob.qcbo), abs=1e-12)


def test_too_large_is_refused():
    prob = small_problem(d=6, hidden=(4,), bits=(2, 2), intervals=(2, 2))
    with pytest.raises(ExhaustiveError, match="too many"):
        solve_exhaustive(prob, max_bits=20)


@st.composite
def cases(draw):
    hidden = draw(st.sampled_from([(), (1,), (2,)]))
    L = len(hidden) + 1
    bits = tuple(draw(st.sampled_from(["1", "t"] if hidden else ["1", "2", "t"])) for _ in range(L))
    intervals = tuple(draw(st.integers(1, 3)) for _ in range(L))
    input_bits = draw(st.sampled_from([None, 1, 2]))
    form = draw(st.sampled_from(["interval", "exact"])) if input_bits else "interval"
    return dict(seed=draw(st.integers(0, 100)), N=draw(st.integers(2, 4)), hidden=hidden, bits=bits,
                intervals=intervals, input_bits=input_bits, form=form,
                breakpoints=draw(st.sampled_from(["uniform", "quantile"])),
                activation=draw(st.sampled_from(["tanh", "relu", "sign"])))


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_exhaustive_equals_highs(kw):
    prob = small_problem(**kw)
    if n_patterns(prob.net) > 4096:
        return
    e = solve_exhaustive(prob)
    h = solve_highs(prob, time_limit=30)
    assert h.solution_status == SolutionStatus.optimal == e.solution_status
    assert e.objective == pytest.approx(h.objective, rel=1e-9, abs=1e-9)
    assert e.info["n_optimal"] >= 1


def test_solve_cli_highs_and_exhaustive_agree(tmp_path):
    fashion14()  # skip without data
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=root)
    objs = {}
    for s in ("highs", "exhaustive"):
        rep = tmp_path / f"{s}.json"
        p = subprocess.run([sys.executable, "-m", "qcbo_qnn.cli", "solve", "--solver", s, "--pool", "14",
                            "--n-train", "8", "--n-test", "50", "--hidden", "2", "--intervals", "2,4", "--bits", "1,1",
                            "--report", str(rep)], capture_output=True, text=True, env=env, cwd=root)
        assert p.returncode == 0, p.stderr
        d = json.loads(rep.read_text())
        assert d["termination"] == "optimal" and d["solution_status"] == "optimal"
        assert d["gap"] <= 1e-9 and d["feasible"]
        for k in ("solver", "objective", "bound", "n_variables", "n_constraints", "wall_time_s", "weights",
                  "train_accuracy", "test_accuracy"):
            assert k in d
        objs[s] = d["objective"]
    assert objs["highs"] == pytest.approx(objs["exhaustive"], abs=1e-9)


def test_solve_cli_every_method_runs_and_ising_descent_exits_0(tmp_path):
    """Every registered method through `qcbo-qnn solve`; a normal descent run exits 0 with a termination."""
    fashion14()
    from qcbo_qnn.cli import main
    base = ["solve", "--pool", "14", "--n-train", "8", "--n-test", "20", "--hidden", "2", "--intervals", "2,4",
            "--bits", "1,1", "--no-progress"]
    rep = tmp_path / "d.json"
    assert main([*base, "--solver", "ising-descent", "--descent-iterations", "6", "--oracle-option",
                 "num_sweeps=50", "--report", str(rep)]) == 0
    d = json.loads(rep.read_text())
    assert d["termination"] in ("iteration_limit", "converged", "stalled") and d["feasible"]
    assert d["config"]["iterations"] == 6
    assert main([*base, "--solver", "ising-descent", "--descent-iterations", "0"]) == 2        # 0 is not a default
    assert main([*base, "--solver", "highs", "--descent-iterations", "5"]) == 2                # flag of another method
    assert main([*base, "--solver", "highs", "--oracle", "sa"]) == 2                           # highs has no oracle
    for m, extra in (("qcgd", ["--qcgd-iterations", "3", "--qcgd-cgal-steps", "2", "--oracle-option", "num_sweeps=50"]),
                     ("qcgd-monolithic", ["--qcgd-monolithic-iterations", "3", "--qcgd-monolithic-lns-steps", "2"]),
                     ("decomposed-bound", ["--decomposed-bound-batch-size", "4", "--decomposed-bound-dual-iterations",
                                           "2"]),
                     ("penalty", ["--penalty-lambdas", "1,10", "--oracle", "greedy"]),
                     ("sa-weights", ["--sa-weights-sweeps", "2"]), ("random-search", ["--random-candidates", "50"]),
                     ("ste", ["--ste-epochs", "5"]),
                     ("progressive-hedging", ["--ph-max-iter", "2", "--ph-sweeps", "3", "--ph-workers", "1"])):
        assert main([*base, "--solver", m, *extra, "--report", str(rep)]) == 0, m
        assert json.loads(rep.read_text())["solver"] == m
