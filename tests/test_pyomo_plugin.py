"""The Pyomo solver plugins (``solvers.pyomo_plugin``) on textbook binary quadratic models written as a
Pyomo user writes them (``tests/pyomo_textbook.py``), checked against HiGHS (our ``qcbo-milp``: the
McCormick MILP through highspy) and against enumeration on the model itself (``brute_force``, which
does not go through our extraction), and against the results Pyomo's own ``appsi_highs`` gives."""
import subprocess
import sys

import numpy as np
import pyomo.environ as pyo
import pytest
from pyomo.opt import SolverStatus, TerminationCondition, check_optimal_termination

from qcbo_model.errors import FormulationError
from solvers.pyomo_plugin import NAMES
from tests.pyomo_textbook import MODELS, brute_force

TEXTBOOK = ["qap4", "qap5", "maxcut10", "maxcut14", "qkp12", "qkp16", "partition10", "partition16"]
SMALL = ["maxcut10", "qkp12", "partition10"]          # <= 12 binaries: enumeration over the Pyomo model
HEURISTIC_TC = {TerminationCondition.optimal, TerminationCondition.feasible, TerminationCondition.maxIterations}


def objective(m):
    return next(m.component_data_objects(pyo.Objective, active=True))


def is_feasible(m, tol=1e-6):
    """Every active constraint of the model holds at the loaded values (evaluated by Pyomo)."""
    for c in m.component_data_objects(pyo.Constraint, active=True):
        body = pyo.value(c.body)
        if (c.has_lb() and body < pyo.value(c.lower) - tol) or (c.has_ub() and body > pyo.value(c.upper) + tol):
            return False
    return all(v.value is not None and abs(v.value - round(v.value)) < 1e-9
               for v in m.component_data_objects(pyo.Var))


_OPT = {}


def optimum(name):
    """HiGHS's certified optimum of the model (qcbo-milp); the results must say optimal."""
    if name not in _OPT:
        m = MODELS[name]()
        r = pyo.SolverFactory("qcbo-milp").solve(m)
        assert check_optimal_termination(r), r.solver.termination_condition
        _OPT[name] = pyo.value(objective(m))
    return _OPT[name]


def test_every_name_is_registered_and_available():
    for name in NAMES:
        opt = pyo.SolverFactory(name)
        assert opt is not None and opt.available(), name


def test_registered_on_install_without_importing_our_packages():
    code = ("import sys, pyomo.environ as pyo; opt = pyo.SolverFactory('qcgd'); "
            "print(type(opt).__name__, opt.available())")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["QCGDPlugin", "True"]


@pytest.mark.parametrize("name", SMALL)
def test_milp_matches_enumeration_of_the_pyomo_model(name):
    assert optimum(name) == pytest.approx(brute_force(MODELS[name]()), abs=1e-9)


@pytest.mark.parametrize("name", TEXTBOOK)
def test_milp_results_fields(name):
    m = MODELS[name]()
    r = pyo.SolverFactory("qcbo-milp").solve(m)
    assert r.solver.status == SolverStatus.ok
    assert r.solver.termination_condition == TerminationCondition.optimal
    val = pyo.value(objective(m))
    assert is_feasible(m)
    # Pyomo's convention: lower_bound <= optimum <= upper_bound in the model's own sense
    assert r.problem.lower_bound <= val + 1e-6 and r.problem.upper_bound >= val - 1e-6
    assert abs(r.problem.upper_bound - r.problem.lower_bound) <= 1e-6 * (1 + abs(val))
    assert r.problem.sense == objective(m).sense
    assert len(r.solution) == 0          # loaded into the model, then cleared from the results (Pyomo does so)


@pytest.mark.parametrize("name", TEXTBOOK)
def test_qcgd_feasible_and_optimal_on_the_textbook_models(name):
    m = MODELS[name]()
    r = pyo.SolverFactory("qcgd").solve(m)
    assert r.solver.status == SolverStatus.ok
    assert r.solver.termination_condition in HEURISTIC_TC
    assert is_feasible(m), f"{name}: qcgd loaded a point that violates a constraint"
    val = pyo.value(objective(m))
    maximize = objective(m).sense == pyo.maximize
    # the heuristic's point is the primal side of the bounds; no dual bound is claimed
    assert (r.problem.lower_bound if maximize else r.problem.upper_bound) == pytest.approx(val)
    assert (r.problem.upper_bound if maximize else r.problem.lower_bound) in (np.inf, -np.inf)
    # measured: qcgd (the monolithic lift on a generic model) reaches HiGHS's optimum on all eight
    assert val == pytest.approx(optimum(name), abs=1e-6), f"{name}: {val} vs HiGHS {optimum(name)}"


def test_results_fields_as_pyomo_appsi_highs_gives_them():
    """On a linear binary model both HiGHS routes are exact: same status, termination, bounds, point."""
    def model():
        m = pyo.ConcreteModel()
        m.x = pyo.Var(range(6), domain=pyo.Binary)
        m.c = pyo.Constraint(expr=sum((i + 1) * m.x[i] for i in range(6)) <= 9)
        m.o = pyo.Objective(expr=sum((i + 2) * m.x[i] for i in range(6)) - m.x[0] * m.x[1], sense=pyo.maximize)
        return m
    lin = model()
    lin.o.deactivate()
    lin.o2 = pyo.Objective(expr=sum((i + 2) * lin.x[i] for i in range(6)), sense=pyo.maximize)
    ref = pyo.SolverFactory("appsi_highs")
    if not ref.available(exception_flag=False):
        pytest.skip("appsi_highs is not available")
    ra = ref.solve(lin)
    xa = [lin.x[i].value for i in range(6)]
    ours = model()
    ours.o.deactivate()
    ours.o2 = pyo.Objective(expr=sum((i + 2) * ours.x[i] for i in range(6)), sense=pyo.maximize)
    rq = pyo.SolverFactory("qcbo-milp").solve(ours)      # after appsi_highs in the same process (shared scheduler)
    assert rq.solver.status == ra.solver.status
    assert rq.solver.termination_condition == ra.solver.termination_condition
    assert rq.problem.sense == ra.problem.sense
    assert rq.problem.lower_bound == pytest.approx(ra.problem.lower_bound, abs=1e-6)
    assert rq.problem.upper_bound == pytest.approx(ra.problem.upper_bound, abs=1e-6)
    assert pyo.value(ours.o2) == pytest.approx(pyo.value(lin.o2))
    assert sum(xa) == sum(ours.x[i].value for i in range(6)) or pyo.value(ours.o2) == pytest.approx(pyo.value(lin.o2))


@pytest.mark.parametrize("solver", ["qcbo-milp", "qcgd"])
def test_load_solutions_false_leaves_the_model_alone(solver):
    m = MODELS["partition10"]()
    r = pyo.SolverFactory(solver).solve(m, load_solutions=False)
    assert all(v.value is None for v in m.component_data_objects(pyo.Var))
    assert len(r.solution) == 1 and r.solver.termination_condition in HEURISTIC_TC
    m.solutions.load_from(r)
    assert is_feasible(m)
    assert pyo.value(objective(m)) == pytest.approx(optimum("partition10"))


def test_integers_are_binary_expanded_with_a_note():
    m = MODELS["intquad"]()
    r = pyo.SolverFactory("qcbo-milp").solve(m)
    assert check_optimal_termination(r)
    assert "binary-expanded" in r.solver.termination_message
    assert is_feasible(m)
    assert all(isinstance(m.y[i].value, int) and 0 <= m.y[i].value <= 5 for i in range(2))
    # enumeration over the integers themselves
    best = min((a - 2) ** 2 + (b - 3) ** 2 + 3 * z + a * z for a in range(6) for b in range(6) for z in (0, 1)
               if a * b + 2 * z >= 6)
    assert pyo.value(m.o) == pytest.approx(best)


def test_infeasible_model():
    m = pyo.ConcreteModel()
    m.x = pyo.Var(range(3), domain=pyo.Binary)
    m.c = pyo.Constraint(expr=sum(m.x[i] for i in range(3)) >= 4)
    m.o = pyo.Objective(expr=m.x[0] * m.x[1])
    r = pyo.SolverFactory("qcbo-milp").solve(m, load_solutions=False)
    assert r.solver.termination_condition == TerminationCondition.infeasible
    assert len(r.solution) == 0
    r = pyo.SolverFactory("qcgd").solve(m, load_solutions=False, options={"iterations": 5})
    # a heuristic proves nothing: no solution, never an infeasible point
    assert r.solver.termination_condition == TerminationCondition.noSolution and len(r.solution) == 0


def test_fixed_variables_are_constants():
    m = MODELS["maxcut10"]()
    m.x[0].fix(1)
    m.x[1].fix(0)
    r = pyo.SolverFactory("qcbo-milp").solve(m)
    assert check_optimal_termination(r)
    assert m.x[0].value == 1 and m.x[1].value == 0 and is_feasible(m)


def test_refuses_continuous_variables_naming_them():
    m = MODELS["qkp12"]()
    m.slack = pyo.Var(bounds=(0, 3))
    m.extra = pyo.Constraint(expr=m.x[0] + m.slack <= 2)
    with pytest.raises(FormulationError, match=r"slack is continuous.*used in constraint extra"):
        pyo.SolverFactory("qcgd").solve(m)


def test_refuses_nonlinear_terms_naming_the_component():
    m = MODELS["maxcut10"]()
    m.bad = pyo.Constraint(expr=m.x[0] * m.x[1] * m.x[2] <= 0)
    with pytest.raises(FormulationError, match=r"constraint bad is not quadratic"):
        pyo.SolverFactory("qcbo-milp").solve(m)
    m = MODELS["maxcut10"]()
    m.cut.deactivate()
    m.o = pyo.Objective(expr=pyo.exp(m.x[0]) + m.x[1])
    with pytest.raises(FormulationError, match=r"objective o is not quadratic"):
        pyo.SolverFactory("qcgd").solve(m)


def test_ising_descent_refuses_a_generic_model():
    with pytest.raises(FormulationError, match="needs a FIP model"):
        pyo.SolverFactory("ising-descent").solve(MODELS["maxcut10"]())


def test_cim_penalty_never_loads_an_infeasible_point():
    m = MODELS["qkp12"]()
    r = pyo.SolverFactory("cim-penalty").solve(m, load_solutions=False)
    if len(r.solution):
        m.solutions.load_from(r)
        assert is_feasible(m)
        assert pyo.value(objective(m)) <= optimum("qkp12") + 1e-9
    else:
        assert r.solver.termination_condition == TerminationCondition.noSolution


def test_options_timelimit_and_tee(capsys):
    m = MODELS["maxcut10"]()
    opt = pyo.SolverFactory("qcgd")
    opt.options["iterations"] = 30
    r = opt.solve(m, tee=True, timelimit=20)
    assert "qcgd: ran qcgd-monolithic (generic model) on 10 binaries" in capsys.readouterr().out
    assert is_feasible(m) and r.solver.termination_condition in HEURISTIC_TC
    with pytest.raises(ValueError, match="no option"):
        pyo.SolverFactory("qcgd").solve(MODELS["maxcut10"](), options={"no_such_option": 1})
