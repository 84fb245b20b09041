"""Exact MILP certification with HiGHS (through Pyomo's new solver interface).

HiGHS does not take binary quadratic problems, so the explicit Pyomo model is linearized exactly:
every product x_i x_j (i != j) of binaries becomes a continuous y in [0, 1] with

    y <= x_i,   y <= x_j,   y >= x_i + x_j - 1         (exact at binary x_i, x_j)

and x_i^2 becomes x_i.  The transformation rewrites each constraint *in place*, so every name stays:
``m.interval_upper[1, 3, 2]`` is still there, now linear.  The products live in ``m.prod[k]`` with the
families ``m.prod_le1``, ``m.prod_le2``, ``m.prod_ge``; ``m.prod_pairs[k]`` names the two factors.

    >>> res = solvers.solve(prob, "highs", time_limit=60)       # doctest: +SKIP
    >>> res.termination, res.objective, res.bound, res.gap      # doctest: +SKIP
    >>> res.info["statement"]                                   # what was proved, in one sentence
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyomo.environ as pyo  # noqa: F401  (registers the Pyomo environment before the solver factory)
from pyomo.repn import generate_standard_repn

from qcbo_model.errors import QCBOError

from ..config import MethodConfig, option
from ..result import SolutionStatus, Termination, finish


class HighsError(QCBOError):
    """HiGHS cannot be used as asked (not installed, non-quadratic model, broken symmetry premise)."""


# ---------------------------------------------------------------------------------------------
# linearization
def linearize(model, inplace: bool = True):
    """Replace every product of two binaries by a McCormick-linked product variable (exact on binaries).

    Works on any model whose objective and constraints are at most quadratic in binary variables.
    Returns the model (a clone when ``inplace=False``) with ``m.n_products`` set.
    """
    m = model if inplace else model.clone()
    if hasattr(m, "prod"):
        raise HighsError("model already has a component 'prod' (already linearized?)")
    order = {id(v): k for k, v in enumerate(m.component_data_objects(pyo.Var, descend_into=True))}
    pairs: dict = {}
    pair_vars: list = []

    def repn(expr, what):
        r = generate_standard_repn(expr, compute_values=True, quadratic=True)
        if r.nonlinear_expr is not None:
            raise HighsError(f"{what} is not quadratic; cannot linearize")
        for a, b in r.quadratic_vars:
            if a is b:
                continue
            if not (a.is_binary() and b.is_binary()):
                raise HighsError(f"{what}: product {a.name}*{b.name} of non-binary variables")
            key = (order[id(a)], order[id(b)]) if order[id(a)] < order[id(b)] else (order[id(b)], order[id(a)])
            if key not in pairs:
                pairs[key] = len(pair_vars)
                pair_vars.append((a, b) if order[id(a)] < order[id(b)] else (b, a))
        return r

    cons = list(m.component_data_objects(pyo.Constraint, active=True, descend_into=True))
    objs = list(m.component_data_objects(pyo.Objective, active=True, descend_into=True))
    con_repns = [repn(c.body, f"constraint {c.name}") for c in cons]
    obj_repns = [repn(o.expr, f"objective {o.name}") for o in objs]

    P = len(pair_vars)
    m.prod = pyo.Var(range(P), domain=pyo.UnitInterval, doc="x_i * x_j of two binaries (McCormick, exact)")
    m.prod_pairs = [(a.name, b.name) for a, b in pair_vars]
    m.prod_le1 = pyo.Constraint(range(P), rule=lambda m, k: m.prod[k] <= pair_vars[k][0])
    m.prod_le2 = pyo.Constraint(range(P), rule=lambda m, k: m.prod[k] <= pair_vars[k][1])
    m.prod_ge = pyo.Constraint(range(P), rule=lambda m, k: m.prod[k] >= pair_vars[k][0] + pair_vars[k][1] - 1)
    m.n_products = P

    def linear_expr(r):
        terms = [float(c) * v for v, c in zip(r.linear_vars, r.linear_coefs) if c != 0]
        for (a, b), c in zip(r.quadratic_vars, r.quadratic_coefs):
            if c == 0:
                continue
            if a is b:
                terms.append(float(c) * a)                  # x^2 = x on binaries
            else:
                ia, ib = order[id(a)], order[id(b)]
                terms.append(float(c) * m.prod[pairs[(min(ia, ib), max(ia, ib))]])
        return pyo.quicksum(terms, start=float(r.constant))

    for con, r in zip(cons, con_repns):
        if not r.quadratic_vars:
            continue
        body = linear_expr(r)
        lo, up = con.lower, con.upper
        if con.equality:
            con.set_value(body == pyo.value(up))
        else:
            con.set_value((None if lo is None else pyo.value(lo), body, None if up is None else pyo.value(up)))
    for obj, r in zip(objs, obj_repns):
        if r.quadratic_vars:
            obj.set_value(linear_expr(r))
    return m


# ---------------------------------------------------------------------------------------------
# symmetry breaking
def symmetric_layers(net) -> list[int]:
    """Hidden layers whose neurons are interchangeable (same breakpoints, levels and bounds)."""
    out = []
    for ly in net.layers[:-1]:
        if ly.d_out < 2:
            continue
        same = (np.allclose(ly.t, ly.t[:1]) and np.allclose(ly.v_levels, ly.v_levels[:1])
                and np.allclose(ly.u_lo_sample, ly.u_lo_sample[:, :1])
                and np.allclose(ly.u_hi_sample, ly.u_hi_sample[:, :1]))
        if ly.lo is not None:
            same = same and np.array_equal(ly.lo, ly.lo[:1]) and np.array_equal(ly.hi, ly.hi[:1])
        if same:
            out.append(ly.l)
    return out


def add_symmetry_breaking(model, net, layers=None) -> int:
    """Add q[l,j,0] >= q[l,j+1,0] for interchangeable hidden neurons; returns the number of rows added.

    Valid because permuting the neurons of a hidden layer (their incoming weights, indicators,
    slack/aux and outgoing weights together) maps solutions to solutions of equal loss, and some
    permutation sorts the neurons by their first weight code.  Refuses layers where the
    permutation symmetry does not hold (e.g. per-neuron quantile breakpoints).
    """
    sym = symmetric_layers(net)
    layers = sym if layers is None else list(layers)
    bad = [l for l in layers if l not in sym]
    if bad:
        raise HighsError(f"neurons of layer(s) {bad} are not interchangeable (different breakpoints or "
                         "levels per neuron, or a single neuron): symmetry breaking would cut optima")
    idx = [(l, j) for l in layers for j in range(net.layers[l - 1].d_out - 1)]

    def q(l, j):
        code = net.layers[l - 1].code
        return code.q0 + sum(float(a) * model.w[l, j, 0, b] for b, a in enumerate(code.coefs))

    model.symmetry = pyo.Constraint(idx, rule=lambda m, l, j: q(l, j) >= q(l, j + 1),
                                    doc="hidden neurons sorted by their first weight code")
    return len(idx)


# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class HighsConfig(MethodConfig):
    """Settings of the exact MILP certification (``solve(prob, 'highs', ...)``)."""

    time_limit: Any = option(60.0, "seconds (None: no limit)", kind="float", min=0, exclusive_min=True,
                             allow_none=True)
    rel_gap: float = option(0.0, "relative MIP gap at which HiGHS stops", kind="float", min=0)
    threads: Any = option(1, "HiGHS threads (None: HiGHS's default)", kind="int", min=1, allow_none=True)
    symmetry_breaking: bool = option(False, "order interchangeable hidden neurons by their first weight code",
                                     kind="bool")
    tee: bool = option(False, "print HiGHS's log", kind="bool")


def solve_pyomo_highs(model, time_limit=None, rel_gap=0.0, threads=None, tee=False, options=None):
    """Solve an already-linear Pyomo model with the ``highs`` interface of ``pyomo.contrib.solver``.

    Returns (pyomo results, primals ComponentMap or None, wall seconds); never raises on a time limit.
    """
    from pyomo.contrib.solver.common.factory import SolverFactory
    opt = SolverFactory("highs")
    if not opt.available():
        raise HighsError("HiGHS is not available to Pyomo: pip install highspy")
    kw = dict(load_solutions=False, raise_exception_on_nonoptimal_result=False, tee=tee)
    if time_limit is not None:
        kw["time_limit"] = float(time_limit)
    if rel_gap is not None:
        kw["rel_gap"] = float(rel_gap)
        kw["abs_gap"] = 1e-9 if rel_gap == 0 else None
        if kw["abs_gap"] is None:
            del kw["abs_gap"]
    if threads is not None:
        kw["threads"] = int(threads)
    # Tight feasibility tolerances: with HiGHS's default 1e-6 a pre-activation a hair below a
    # breakpoint can be put in the next sub-interval, which the QCBO then rejects.
    kw["solver_options"] = {"mip_feasibility_tolerance": 1e-9, "primal_feasibility_tolerance": 1e-9,
                            **(options or {})}
    t0 = time.perf_counter()
    res = opt.solve(model, **kw)
    wall = time.perf_counter() - t0
    prim = None
    if res.incumbent_objective is not None:
        prim = res.solution_loader.get_vars()
    return res, prim, wall


_TERMINATION = {"convergenceCriteriaSatisfied": Termination.optimal, "maxTimeLimit": Termination.time_limit,
                "provenInfeasible": Termination.infeasible, "infeasibleOrUnbounded": Termination.infeasible,
                "error": Termination.error}


def _statement(res, repaired: bool, max_viol: float, time_limit) -> str:
    if res.objective is None:
        return f"no incumbent ({res.info['highs_termination']})"
    g = "n/a" if res.gap is None else f"{res.gap:.3g}"
    if repaired:
        return (f"HiGHS's point violated the QCBO by {max_viol:.3g} (within the MILP feasibility tolerance); "
                f"its weights were repaired by forward completion: feasible objective {res.objective:.10g}, "
                f"bound {res.bound} holds for the tolerance-relaxed MILP only, gap {g}; "
                "not a certificate of optimality")
    if res.solution_status == SolutionStatus.optimal:
        return f"optimal within gap {g} (objective {res.objective:.10g}, bound {res.bound:.10g})"
    if res.termination == Termination.time_limit:
        return f"feasible, gap {g} after time limit {time_limit:g} s"
    return f"feasible incumbent, gap {g}, termination {res.info['highs_termination']}"


def run(prob, cfg: HighsConfig, progress: bool = False, model=None):
    """Certify a FIP problem (``qcbo_model.problem.FIPProblem``) with HiGHS; a SolveResult.

    The explicit Pyomo model is built (or ``model`` is used), linearized, optionally given symmetry
    breaking rows, and solved.  The incumbent is rounded to 0/1, mapped by variable name onto the
    canonical QCBO order, and re-evaluated on the QCBO (objective and feasibility); a point that
    violates the QCBO (within HiGHS's tolerance) is repaired by forward completion and reported as
    such (``info['repaired']``, solution status ``feasible``, no certificate of optimality).
    ``info['statement']`` says in one sentence what was proved."""
    qcbo = prob.qcbo
    m = model if model is not None else prob.pyomo_model()
    n_sym = add_symmetry_breaking(m, prob.net) if cfg.symmetry_breaking else 0
    linearize(m)
    n_vars = sum(1 for _ in m.component_data_objects(pyo.Var, descend_into=True))
    n_cons = sum(1 for _ in m.component_data_objects(pyo.Constraint, active=True, descend_into=True))
    res, prim, wall = solve_pyomo_highs(m, time_limit=cfg.time_limit, rel_gap=cfg.rel_gap, threads=cfg.threads,
                                        tee=cfg.tee)
    term = res.termination_condition.name
    termination = _TERMINATION.get(term, Termination.error)
    x = None
    repaired = False
    max_viol = 0.0
    if prim is not None:
        x = np.zeros(qcbo.n, dtype=np.uint8)
        for v, val in prim.items():
            name = v.name
            if name.startswith("prod["):
                continue
            x[qcbo.var_index(name)] = 1 if val is not None and val > 0.5 else 0
        max_viol = float(qcbo.violations(x[None]).max(initial=0.0))
        if not bool(qcbo.is_feasible(x)[0]):
            # keep the weights, recompute every indicator/slack bit by forward completion
            x = prob.complete(x[None, :prob.n_weight_bits])[0]
            repaired = True
    bound = res.objective_bound
    bound = None if bound is None or not np.isfinite(bound) else float(bound)
    nodes = getattr(res.extra_info, "mip_node_count", None)
    out = finish("highs", prob, x, termination, bound=bound, config=cfg, wall_time_s=wall,
                 info={"highs_termination": term, "solver_objective": res.incumbent_objective,
                       "node_count": None if nodes is None else int(nodes), "n_products": m.n_products,
                       "n_milp_variables": n_vars, "n_milp_constraints": n_cons, "symmetry_rows": n_sym,
                       "max_violation": max_viol, "repaired": repaired})
    if repaired and out.solution_status == SolutionStatus.optimal:
        out.solution_status = SolutionStatus.feasible
    out.info["statement"] = _statement(out, repaired, max_viol, cfg.time_limit)
    return out
