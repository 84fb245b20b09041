"""Pyomo solver plugins for our QCBO methods (``pyomo.environ.SolverFactory('qcgd')`` and the others).

Each plugin is a Pyomo "direct" solver (``pyomo.solvers.plugins.solvers.direct_solver.DirectSolver``,
the base of Pyomo's gurobi_direct / cplex_direct / xpress_direct), so the conventions are Pyomo's own:
``available()``, ``solve(model, tee=, timelimit=, options=, load_solutions=, warmstart=)``, a legacy
``SolverResults`` with ``solver.status``, ``solver.termination_condition``, ``problem.lower_bound`` /
``upper_bound``, one solution in the results' symbol map, loaded into the model unless
``load_solutions=False`` (then ``model.solutions.load_from(results)`` loads it, as mpi-sppy does).

The model goes through ``solvers.pyomo_plugin.extract`` into the canonical QCBO; the method that runs
depends on the name and on whether the model is one of ours (``FIP`` below: a model built by
``FIPProblem.pyomo_model()`` whose extracted QCBO is the assembled one; ``batch``: a scenario model of
the sample-wise decomposition, ``solvers.methods.qph``):

=================  ==========================================  ==============================================
name               FIP model                                   any other binary quadratic model
=================  ==========================================  ==============================================
qcgd               ``qcgd`` (weight-space CGAL)                 ``qcgd-monolithic`` (CGAL over the lift)
qcgd-monolithic    ``qcgd-monolithic``                         ``qcgd-monolithic``
cim-penalty        ``penalty`` with the CIM oracle             ``penalty`` with the CIM oracle
ising-descent      ``ising-descent``                           refused (its QUBOs model a network's loss)
qcbo-milp          exact MILP (HiGHS, highspy), with bound      exact MILP (HiGHS, highspy), with bound
qph                batch: Ising descent or MILP (``qph``)       exact MILP up to ``milp_max_vars`` binaries,
                                                               else ``qcgd-monolithic``
=================  ==========================================  ==============================================

Heuristics never return a point that violates a constraint: when the method's best point is infeasible
the results carry no solution (termination ``noSolution``).  Solver options (``opt.options[k] = v`` or
``solve(..., options={...})``) are the options of the method that runs (``solvers.method_config``),
``timelimit`` its ``time_limit``.
"""
from __future__ import annotations

import time

import numpy as np
from pyomo.common.collections import Bunch
from pyomo.core.base.PyomoModel import Model  # noqa: F401
from pyomo.core.base.block import BlockData
from pyomo.opt import SolverFactory  # noqa: F401
from pyomo.opt.results.problem import ProblemSense
from pyomo.opt.results.solution import Solution, SolutionStatus
from pyomo.opt.results.solver import SolverStatus, TerminationCondition
from pyomo.opt.results import SolverResults
from pyomo.solvers.plugins.solvers.direct_solver import DirectSolver

from qcbo_model.errors import FormulationError

__all__ = ["QCBOPlugin", "PLUGIN_CLASSES", "MILP_NAME"]

MILP_NAME = "qcbo-milp"
SAFETY = 1e-9          # relative margin on HiGHS bounds (as the decomposed bound)
# qcgd-monolithic's defaults for generic models: the restricted-penalty LNS (the default 'target' LNS
# propagates targets through a network's layers, which a generic model does not have) and more LNS steps;
# measured on the textbook models of tests/pyomo_textbook.py (docs/pyomo.md).  Options given override them.
GENERIC_LIFT = {"lns_mode": "penalty", "lns_steps": 80}


def _milp_result(q, cfg_time_limit=None, extra=None):
    """The exact MILP of q as a SolveResult (bound with a safety margin)."""
    from ..exact.milp import MILP
    from ..result import Termination, finish
    t0 = time.perf_counter()
    milp = MILP(q)
    if extra is not None:
        milp.set_linear(extra)
    r = milp.solve(time_limit=cfg_time_limit)
    bound = None if not np.isfinite(r.bound) else r.bound - SAFETY * (1 + abs(r.bound))
    if r.optimal:
        term = Termination.optimal
    elif r.status in ("Infeasible", "kInfeasible") or "nfeasible" in r.status:
        term = Termination.infeasible
    elif "ime" in r.status:
        term = Termination.time_limit
    else:
        term = Termination.error if r.x is None else Termination.iteration_limit
    res = finish(MILP_NAME, q, r.x, term, bound=bound, wall_time_s=time.perf_counter() - t0,
                 info={"highs_status": r.status, "n_products": milp.n_products})
    if extra is not None and res.objective is not None:      # objective incl. the extra linear terms
        res.objective += float(np.asarray(extra) @ res.x)
    return res


class QCBOPlugin(DirectSolver):
    """Base of the registered plugins; subclasses set ``_pyomo_name`` and ``_doc``."""

    _pyomo_name = None
    _doc = ""

    def __init__(self, **kwds):
        kwds.setdefault("type", self._pyomo_name)
        super().__init__(**kwds)
        self._python_api_exists = True
        import qcbo_model
        self._version = tuple(int(p) for p in getattr(qcbo_model, "__version__", "0.1.0").split(".")[:3]) \
            if hasattr(qcbo_model, "__version__") else (0, 1, 0)
        self._capabilities.linear = True
        self._capabilities.quadratic_objective = True
        self._capabilities.quadratic_constraint = True
        self._capabilities.integer = True
        self._capabilities.sos1 = False
        self._capabilities.sos2 = False
        self._ex = None
        self._res = None
        self._timing = {}

    # ---- Pyomo's solver interface ---------------------------------------------------------
    def available(self, exception_flag=True):
        return True

    def license_is_valid(self):
        return True

    def warm_start_capable(self):
        return True

    def _warm_start(self):
        self._use_warm_start = True

    def _set_instance(self, model, kwds={}):
        if not isinstance(model, BlockData):
            raise ValueError(f"the {self._pyomo_name} plugin solves Pyomo blocks/models, got {type(model).__name__}")
        self._use_warm_start = False
        super()._set_instance(model, kwds)
        from .extract import extract
        t0 = time.perf_counter()
        self._ex = extract(model)
        for v in self._ex.variables:
            self._symbol_map.getSymbol(v, self._labeler)
        self._obj_label = self._symbol_map.getSymbol(self._ex.objective, self._labeler)
        self._timing = {"extract_s": time.perf_counter() - t0}

    def _presolve(self, *args, **kwds):
        super()._presolve(*args, **kwds)

    def _method_options(self, cfg_fields):
        opts = {k: v for k, v in self.options.items() if v is not None}
        if self._timelimit is not None and "time_limit" in cfg_fields and "time_limit" not in opts:
            opts["time_limit"] = float(self._timelimit)
        return opts

    def _apply_solver(self):
        t0 = time.perf_counter()
        self._res, self._route = self._run(self._pyomo_model, self._ex)
        self._timing["method_s"] = time.perf_counter() - t0
        if self._tee:
            r = self._res
            print(f"{self._pyomo_name}: ran {self._route} on {self._ex.qcbo.n} binaries, {self._ex.qcbo.m} "
                  f"constraints: {r.termination}, {r.solution_status}, objective {r.objective}, bound {r.bound}, "
                  f"{self._timing['method_s']:.3f} s (extraction {self._timing['extract_s']:.3f} s)")
            for note in self._ex.notes:
                print(f"{self._pyomo_name}: note: {note}")
        return Bunch(rc=None, log=None)

    # ---- what runs --------------------------------------------------------------------------
    def _run(self, model, ex):
        """(SolveResult over ex.qcbo's columns, route description)."""
        raise NotImplementedError

    def _solve_generic(self, method, q, **fixed):
        from .. import method_config, solve
        from ..config import ConfigError
        fields = {n for n, _, _ in method_config(method).options()}
        opts = {**fixed, **self._method_options(fields)}
        try:
            return solve(q, method, **opts)
        except ConfigError as e:
            raise ValueError(f"solver {self._pyomo_name!r} ({method}): {e}") from None

    def _fip(self, model, ex):
        """The FIPProblem of a model built by ``build_pyomo`` if its extracted QCBO is the assembled one
        (same variables, objective and constraint values at random points), with the column map."""
        net = getattr(model, "fip_net", None)
        if net is None or ex.n_fixed or ex.notes:
            return None, None
        from qcbo_model.assemble import assemble
        from qcbo_model.layout import Layout
        from qcbo_model.problem import FIPProblem
        form = model.fip_form
        layout = Layout(net, form)
        qa = assemble(net, form, layout)
        q = ex.qcbo
        if qa.n != q.n or qa.m != q.m or set(qa.var_names) != set(q.var_names):
            return None, None
        perm = np.array([qa.var_index(nm) for nm in q.var_names])      # ex column -> assembled column
        prob = FIPProblem(spec=net.spec, net=net, form=form, qcbo=qa, layout=layout)
        rng = np.random.default_rng(0)
        Xa = prob.complete((rng.random((3, prob.n_weight_bits)) < 0.5).astype(np.uint8))
        Xe = Xa[:, perm]
        if not np.allclose(qa.objective(Xa), q.objective(Xe), rtol=1e-9, atol=1e-9):
            return None, None
        if not np.allclose(np.sort(qa.constraint_values(Xa), axis=1), np.sort(q.constraint_values(Xe), axis=1),
                           rtol=1e-9, atol=1e-9):
            return None, None
        return prob, perm

    def _solve_fip(self, method, prob, perm, **fixed):
        """Run ``method`` on the FIPProblem; the result re-expressed over the extracted columns."""
        from .. import method_config, solve
        from ..config import ConfigError
        from ..result import finish
        fields = {n for n, _, _ in method_config(method).options()}
        opts = {**fixed, **self._method_options(fields)}
        kw = {}
        if self._use_warm_start and method in ("ising-descent", "qcgd"):
            vals = np.array([0 if v.value is None else v.value for v in self._ex.variables], float)
            xa = np.zeros(prob.qcbo.n)
            xa[perm] = np.round(vals)
            kw["warm_start"] = xa[:prob.n_weight_bits].astype(np.uint8)
        try:
            r = solve(prob, method, **opts, **kw)
        except ConfigError as e:
            raise ValueError(f"solver {self._pyomo_name!r} ({method}): {e}") from None
        x = None if r.x is None else np.asarray(r.x)[perm]
        out = finish(r.method, self._ex.qcbo, x, r.termination, bound=r.bound, config=r.config, trace=r.trace,
                     wall_time_s=r.wall_time_s, oracle_time_s=r.oracle_time_s, oracle=r.oracle,
                     oracle_calls=r.oracle_calls, info=dict(r.info))
        return out

    # ---- results ----------------------------------------------------------------------------
    def _postsolve(self):
        from ..result import SolutionStatus as SS, Termination as T
        r, ex = self._res, self._ex
        q = ex.qcbo
        results = SolverResults()
        self.results = results
        soln = Solution()
        results.solver.name = f"qcbo-qnn {self._pyomo_name}"
        results.solver.wallclock_time = self._timing.get("method_s", 0.0) + self._timing.get("extract_s", 0.0)
        feasible = r.solution_status in (SS.optimal, SS.feasible)
        tc_of = {T.optimal: TerminationCondition.optimal, T.iteration_limit: TerminationCondition.maxIterations,
                 T.time_limit: TerminationCondition.maxTimeLimit, T.converged: TerminationCondition.feasible,
                 T.stalled: TerminationCondition.feasible, T.interrupted: TerminationCondition.userInterrupt,
                 T.infeasible: TerminationCondition.infeasible, T.error: TerminationCondition.error}
        tc = tc_of[r.termination]
        if r.solution_status == SS.optimal:
            status, tc, sstat = SolverStatus.ok, TerminationCondition.optimal, SolutionStatus.optimal
            msg = "optimal (proved by the bound)"
        elif feasible:
            # a heuristic's iteration budget is its normal end (status ok); a time limit or Ctrl-C aborts it
            limit = r.termination in (T.iteration_limit, T.time_limit, T.interrupted)
            status = SolverStatus.aborted if r.termination in (T.time_limit, T.interrupted) else SolverStatus.ok
            if tc == TerminationCondition.optimal:     # "optimal" termination of a heuristic without a proof
                tc = TerminationCondition.feasible
            sstat = SolutionStatus.stoppedByLimit if limit else SolutionStatus.feasible
            msg = f"feasible point ({r.termination})"
        else:
            status = SolverStatus.warning
            proved = r.termination == T.infeasible and r.method == MILP_NAME     # heuristics prove nothing
            tc = TerminationCondition.infeasible if proved else TerminationCondition.noSolution
            sstat = SolutionStatus.infeasible
            msg = ("proved infeasible" if proved else
                   f"no feasible point found ({r.termination}); none is returned")
        results.solver.status = status
        results.solver.termination_condition = tc
        notes = "; ".join(ex.notes)
        results.solver.termination_message = msg + (f"; {notes}" if notes else "")
        results.solver.qcbo_method = getattr(self, "_route", r.method)
        results.solver.oracle = r.oracle
        results.solver.oracle_calls = r.oracle_calls
        results.solver.extraction_time = self._timing.get("extract_s", 0.0)
        results.solver.method_time = self._timing.get("method_s", 0.0)
        if notes:
            results.solver.notes = notes

        pr = results.problem
        pr.name = self._pyomo_model.name
        pr.sense = ProblemSense.minimize if ex.sense == 1 else ProblemSense.maximize
        obj = None if not feasible else ex.sense * float(r.objective)
        bnd = None if r.bound is None or not np.isfinite(r.bound) else ex.sense * float(r.bound)
        if ex.sense == 1:
            pr.upper_bound = obj if obj is not None else float("inf")
            pr.lower_bound = bnd if bnd is not None else float("-inf")
        else:
            pr.lower_bound = obj if obj is not None else float("-inf")
            pr.upper_bound = bnd if bnd is not None else float("inf")
        pr.number_of_variables = q.n
        pr.number_of_binary_variables = q.n
        pr.number_of_integer_variables = sum(1 for v in ex.variables if v.is_integer() and not v.is_binary())
        pr.number_of_continuous_variables = 0
        pr.number_of_constraints = q.m
        pr.number_of_nonzeros = int(q.A.nnz + len(q.quad_vals))
        pr.number_of_objectives = 1
        pr.number_of_solutions = 1 if feasible else 0
        if feasible:
            soln.status = sstat
            soln.gap = None if bnd is None else abs(obj - bnd)
            soln.objective[self._obj_label] = {"Value": obj}
            self._values = ex.values(r.x)
            if self._save_results:
                for v, val in zip(ex.variables, self._values):
                    soln.variable[self._symbol_map.getSymbol(v)] = {"Value": val}
            elif self._load_solutions:
                self._load_vars()
            results.solution.insert(soln)
        else:
            self._values = None
        from pyomo.common.tempfiles import TempfileManager
        TempfileManager.pop(remove=not self._keepfiles)
        return DirectSolver._postsolve(self)

    def _load_vars(self, vars_to_load=None):
        if self._values is None:
            raise RuntimeError(f"{self._pyomo_name}: no feasible solution to load")
        want = None if vars_to_load is None else {id(v) for v in vars_to_load}
        for v, val in zip(self._ex.variables, self._values):
            if want is None or id(v) in want:
                v.set_value(val, skip_validation=True)


# ---------------------------------------------------------------------------------------------
class QCGDPlugin(QCBOPlugin):
    _pyomo_name = "qcgd"
    _doc = "qcbo-qnn QCGD: weight-space CGAL on FIP models, the monolithic lift on any binary quadratic model"

    def _run(self, model, ex):
        prob, perm = self._fip(model, ex)
        if prob is not None:
            return self._solve_fip("qcgd", prob, perm), "qcgd (FIP model)"
        return self._solve_generic("qcgd-monolithic", ex.qcbo, **GENERIC_LIFT), "qcgd-monolithic (generic model)"


class MonolithicPlugin(QCBOPlugin):
    _pyomo_name = "qcgd-monolithic"
    _doc = "qcbo-qnn QCGD over the lift of the whole QCBO (any binary quadratic model)"

    def _run(self, model, ex):
        prob, perm = self._fip(model, ex)
        if prob is not None:
            return self._solve_fip("qcgd-monolithic", prob, perm), "qcgd-monolithic (FIP model)"
        return self._solve_generic("qcgd-monolithic", ex.qcbo, **GENERIC_LIFT), "qcgd-monolithic (generic model)"


class CIMPenaltyPlugin(QCBOPlugin):
    _pyomo_name = "cim-penalty"
    _doc = "qcbo-qnn penalty QUBOs over a grid of weights, sampled by the simulated CIM"

    def _run(self, model, ex):
        prob, perm = self._fip(model, ex)
        if prob is not None:
            return self._solve_fip("penalty", prob, perm, oracle="cim"), "penalty, oracle cim (FIP model)"
        return self._solve_generic("penalty", ex.qcbo, oracle="cim"), "penalty, oracle cim (generic model)"


class DescentPlugin(QCBOPlugin):
    _pyomo_name = "ising-descent"
    _doc = "qcbo-qnn Ising-oracle trust-region descent over the weight bits (FIP models only)"

    def _run(self, model, ex):
        prob, perm = self._fip(model, ex)
        if prob is None:
            raise FormulationError(
                f"ising-descent needs a FIP model built by qcbo_model (FIPProblem.pyomo_model()); model "
                f"{model.name!r} is not one (its QUBOs are Gauss-Newton models of a network's loss). For any "
                "binary quadratic model use SolverFactory('qcgd'), 'cim-penalty' or 'qcbo-milp'")
        return self._solve_fip("ising-descent", prob, perm), "ising-descent (FIP model)"


class MILPPlugin(QCBOPlugin):
    _pyomo_name = MILP_NAME
    _doc = "qcbo-qnn exact MILP of the QCBO (McCormick products, HiGHS through highspy), with a bound"

    def _run(self, model, ex):
        opts = dict(self.options)
        tl = opts.pop("time_limit", self._timelimit)
        for k in ("mipgap", "threads"):      # mpi-sppy's canonical options: taken, not used
            opts.pop(k, None)
        if opts:
            raise ValueError(f"solver {MILP_NAME!r} takes the option time_limit (or timelimit) only, got {sorted(opts)}")
        return _milp_result(ex.qcbo, tl), "exact MILP (HiGHS)"


class QPHPlugin(QCBOPlugin):
    _pyomo_name = "qph"
    _doc = "qcbo-qnn subproblem solver of the sample-wise decomposition (mpi-sppy scenarios)"

    def _set_instance(self, model, kwds={}):
        batch = getattr(model, "_qcbo_batch", None)
        if batch is None:
            return super()._set_instance(model, kwds)
        # a scenario model of solve(prob, 'qph', engine='mpi-sppy'): its constraints are the batch's
        # QCBO (the model was built from it); only the objective is read, for the PH terms mpi-sppy added
        DirectSolver._set_instance(self, model, kwds)
        self._use_warm_start = False
        t0 = time.perf_counter()
        self._ex = _scenario_extract(model, batch)
        for v in self._ex.variables:
            self._symbol_map.getSymbol(v, self._labeler)
        self._obj_label = self._symbol_map.getSymbol(self._ex.objective, self._labeler)
        self._timing = {"extract_s": time.perf_counter() - t0}

    def _run(self, model, ex):
        batch = getattr(model, "_qcbo_batch", None)
        if batch is not None:
            from ..methods.qph import solve_scenario
            sub = self.options.get("sub_solver") or batch.solver
            return solve_scenario(batch, model, ex, dict(self.options), self._timelimit), f"qph batch ({sub})"
        if ex.qcbo.n <= int(self.options.get("milp_max_vars", 200)):
            return _milp_result(ex.qcbo, self._timelimit), "exact MILP (HiGHS, small generic model)"
        opts = {k: v for k, v in self.options.items() if k != "milp_max_vars"}
        self.options = Bunch(**opts)
        return self._solve_generic("qcgd-monolithic", ex.qcbo, **GENERIC_LIFT), "qcgd-monolithic (generic model)"


def _scenario_extract(model, batch):
    """The Extracted of a QPH scenario model: the batch's QCBO, plus ``extra`` (linear coefficients the
    objective has beyond the QCBO's: mpi-sppy's W and linearized proximal terms) and ``offset``."""
    import pyomo.environ as pyo
    from pyomo.repn import generate_standard_repn
    from .extract import Extracted
    q = batch.q
    xs = model._qcbo_vars
    obj = next(model.component_data_objects(pyo.Objective, active=True, descend_into=True))
    if obj.sense != pyo.minimize:
        raise FormulationError(f"scenario {model.name}: the objective must stay a minimization")
    r = generate_standard_repn(obj.expr, compute_values=True, quadratic=True)
    if r.nonlinear_expr is not None:
        raise FormulationError(f"scenario {model.name}: objective {obj.name} is not quadratic")
    col = batch.__dict__.setdefault("_col", {id(v): j for j, v in enumerate(xs)})
    e = np.zeros(q.n)
    try:
        np.add.at(e, np.fromiter((col[id(v)] for v in r.linear_vars), np.int64, len(r.linear_vars)),
                  np.asarray(r.linear_coefs, float))
        nq = len(r.quadratic_vars)
    except KeyError:
        raise FormulationError(f"scenario {model.name}: its objective uses variables outside the batch") from None
    # fixed variables are constants in the repn: their QCBO terms moved into r.constant
    fixed = np.array([v.fixed for v in xs])
    xf = np.array([v.value if v.fixed else 0.0 for v in xs], float)
    qobj_fixed = float(q.objective(xf[None])[0]) - q.const if fixed.any() else 0.0
    if nq != q.Q.nnz - int((q.Q.diagonal() != 0).sum()) and not fixed.any():
        raise FormulationError(f"scenario {model.name}: the objective's quadratic part is not the batch QCBO's")
    base_c = np.where(fixed, 0.0, q.c + q.Q.diagonal())
    extra = np.where(fixed, 0.0, e - base_c)
    # the QCBO's own terms in fixed variables are in r.constant and again in q.objective(x): counted once
    offset = float(r.constant) - q.const - qobj_fixed
    ex = Extracted(qcbo=q, sense=1, variables=list(xs), var_cols=[(0.0, np.array([j]), np.array([1.0]))
                                                                  for j in range(q.n)],
                   objective=obj, notes=[], n_fixed=int(fixed.sum()))
    ex.extra, ex.offset = extra, offset
    return ex


PLUGIN_CLASSES = {c._pyomo_name: c for c in (QCGDPlugin, MonolithicPlugin, CIMPenaltyPlugin, DescentPlugin,
                                             MILPPlugin, QPHPlugin)}
