"""QPH (``solve(prob, 'qph', engine=...)``): the sample-wise decomposition as PH, in process and on
mpi-sppy (serial, and on 2 and 3 ranks under mpiexec when mpi4py and mpiexec are here)."""
import json
import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pyomo.environ as pyo
import pytest

from qcbo_model.fip import FIPNetwork
from qcbo_model.problem import build_problem
from qcbo_model.spec import NetworkSpec
from solvers import solve
from solvers.config import ConfigError
from solvers.methods.qph import Batch, QPHConfig, scenario_model

TINY = dict(batch_size=4, max_iter=2, sweeps=4, reads=2)


def tiny_problem(N=12, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((N, 4))
    y = np.where(X[:, 0] + 0.3 * rng.standard_normal(N) > 0.5, 1, -1)
    spec = NetworkSpec(input_dim=4, hidden=(2,), seed=seed)
    return build_problem(X, y, spec, "interval")


@pytest.fixture(scope="module")
def prob():
    return tiny_problem()


def test_batches_add_up_to_the_full_objective(prob):
    """The scenarios' weighted batch losses are the full QCBO objective at any weights."""
    from solvers.exact.decomposed import make_batches
    cfg = QPHConfig(batch_size=5)
    batches = [Batch(prob, b, s, cfg) for s, b in enumerate(make_batches(prob.net.N, 5, 0))]
    W = (np.random.default_rng(1).random((3, prob.n_weight_bits)) < 0.5).astype(np.uint8)
    full = prob.qcbo.objective(prob.complete(W))
    assert np.allclose(sum(b.p * b.loss(W) for b in batches), full, rtol=1e-12, atol=1e-12)


def test_scenario_model_is_the_batch_qcbo(prob):
    """The Pyomo model the scenario creator builds extracts back to the batch's QCBO."""
    from solvers.pyomo_plugin.extract import extract
    b = Batch(prob, np.arange(3), 0, QPHConfig())
    m = scenario_model(b)
    ex = extract(m)
    assert ex.qcbo.n == b.q.n and ex.qcbo.m == b.q.m
    perm = np.array([int(v.index()) for v in ex.variables])
    X = b.q.n and prob.complete((np.random.default_rng(2).random((2, prob.n_weight_bits)) < .5).astype(np.uint8))
    Xb = np.array([b.complete(x[:prob.n_weight_bits]) for x in X])
    assert np.allclose(b.q.objective(Xb), ex.qcbo.objective(Xb[:, perm]))
    assert b.q.is_feasible(Xb).all() and ex.qcbo.is_feasible(Xb[:, perm]).all()
    # any Pyomo binary quadratic solver can take it: our exact MILP plugin agrees with the batch MILP
    r = pyo.SolverFactory("qcbo-milp").solve(m, load_solutions=False)
    x, obj, lb, _ = b.solve(np.zeros(b.q.n), solver="milp")
    assert r.problem.upper_bound == pytest.approx(obj, abs=1e-7)


def test_local_engine_bounds_and_point(prob):
    r = solve(prob, "qph", engine="local", **TINY)
    assert r.feasible and r.info["engine"] == "local" and r.info["ranks"] == 1
    assert r.objective == pytest.approx(min(e["upper_bound"] for e in r.trace))
    assert r.bound is not None and r.bound <= r.objective
    for e in r.trace:
        assert e["lower_bound"] <= e["upper_bound"] + 1e-12
    assert [e["iteration"] for e in r.trace] == list(range(len(r.trace)))


def test_mpisppy_serial_equals_local(prob):
    """Same scenarios, same subproblem solver and seeds, same coordination: the same trajectory."""
    pytest.importorskip("mpisppy")
    a = solve(prob, "qph", engine="local", **TINY)
    b = solve(prob, "qph", engine="mpi-sppy", **TINY)
    assert b.info["cylinders"] == ["hub (PH)"] and b.info["ranks"] == 1
    assert b.objective == pytest.approx(a.objective, abs=1e-12)
    assert b.bound == pytest.approx(a.bound, abs=1e-12)
    assert [e["consensus_objective"] for e in b.trace] == pytest.approx([e["consensus_objective"] for e in a.trace])
    assert [e["disagreement"] for e in b.trace] == [e["disagreement"] for e in a.trace]


def test_milp_subproblems_give_a_real_bound(prob):
    r = solve(prob, "qph", engine="local", batch_size=4, max_iter=1, sub_solver="milp")
    triv = solve(prob, "qph", engine="local", **TINY)
    assert r.feasible and triv.bound <= r.bound <= r.objective + 1e-9
    # enumeration of all 2^16 weight assignments: the bound never exceeds the optimum
    ex = solve(prob, "exhaustive")
    assert ex.termination.value == "optimal" and r.bound <= ex.objective + 1e-9 <= r.objective + 2e-9


def test_options_are_validated():
    with pytest.raises(ConfigError, match="engine"):
        QPHConfig(engine="spark")
    with pytest.raises(ConfigError, match="sub_solver"):
        QPHConfig(sub_solver="cim")


MPI_SCRIPT = textwrap.dedent("""
    import json, sys
    from mpi4py import MPI
    from tests.test_qph import tiny_problem, TINY
    from solvers import solve
    r = solve(tiny_problem(), "qph", engine="mpi-sppy", bound_solver="sa", **TINY)
    if MPI.COMM_WORLD.rank == 0:
        print(json.dumps({"objective": r.objective, "bound": r.bound, "info": r.info, "trace": r.trace}))
""")


def _mpiexec():
    try:
        import mpi4py  # noqa: F401
        import mpisppy  # noqa: F401
    except ImportError:
        return None
    return shutil.which("mpiexec")


@pytest.mark.parametrize("ranks", [2, 3])
def test_mpisppy_on_ranks(prob, ranks, tmp_path):
    mpiexec = _mpiexec()
    if mpiexec is None:
        pytest.skip("mpi4py, mpi-sppy or mpiexec not installed (pip install 'qcbo-qnn[mpi]')")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    script = tmp_path / "run.py"
    script.write_text(MPI_SCRIPT)
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
    r = subprocess.run([mpiexec, "-n", str(ranks), sys.executable, str(script)], capture_output=True, text=True,
                       timeout=240, cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.py"]      # mpi-sppy's import-time log files: not here
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["info"]["ranks"] == ranks
    local = solve(prob, "qph", engine="local", **TINY)
    if ranks == 2:           # the hub alone, its scenarios on two ranks: the serial trajectory
        assert out["info"]["cylinders"] == ["hub (PH)"]
        assert out["objective"] == pytest.approx(local.objective, abs=1e-12)
    else:                    # hub + Lagrangian + x-hat spokes
        assert out["info"]["cylinders"] == ["hub (PH)", "LagrangianOuterBound", "XhatShuffleInnerBound"]
        assert out["objective"] <= local.objective + 1e-12
    assert out["bound"] <= out["objective"] + 1e-12
    for e in out["trace"]:
        assert e["lower_bound"] <= e["upper_bound"] + 1e-12
