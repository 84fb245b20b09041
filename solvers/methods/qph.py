"""QPH: the sample-wise decomposition of the FIP-QCBO as progressive hedging, in process or on mpi-sppy.

    solve(prob, "qph", engine="local")       # numpy PH loop in this process
    solve(prob, "qph", engine="mpi-sppy")    # mpi-sppy's PH over Pyomo scenario models; serial without MPI,
                                             # across ranks under ``mpiexec -n K``

Scenarios are sample batches (``solvers.exact.decomposed.make_batches``; one scenario per batch, weight
p_s = N_s / N).  Each batch's QCBO is sliced from the canonical one with the full set's FIP constants
(``piece_problem``: ``subnetwork`` + ``assemble``), so sum_s p_s f_s(w) is the full objective at every
weight assignment w.  The nonanticipative variables are the weight bits; every other variable (the
batch's indicators) is the scenario's own.  PH gives batch s the subproblem

    min  f_s(x_s) + W_s . w_s + rho/2 ||w_s - xbar||^2      (x_s feasible for batch s)

whose proximal term is linear because the weights are binary (mpi-sppy's
``linearize_binary_proximal_terms``).  Both engines solve it with the same code (``Batch.solve``):
simulated annealing on the weight bits with the PH terms as a linear field, forward-completed to a
feasible point (``sub_solver='sa'``, the in-process ``progressive-hedging`` method's subproblem solver),
or the batch's exact MILP through HiGHS (``sub_solver='milp'``, small batches).  On mpi-sppy the
subproblem solver is our Pyomo plugin ``SolverFactory('qph')`` (``solvers.pyomo_plugin``), which
recognises a scenario model (it carries its ``Batch``) and reads the PH terms mpi-sppy put into the
objective; on any other Pyomo model ``'qph'`` is a general binary quadratic solver (exact MILP when
small, else the monolithic QCGD).

Coordination (identical in both engines): iteration 0 solves without PH terms; then xbar = sum_s p_s
w_s, W_s += rho (w_s - xbar), rho *= ``rho_growth``, solve; stop after ``max_iter`` iterations, when
every copy agrees, or at ``time_limit``.  Each subproblem solve is seeded by (seed, batch, iteration).

Bounds, every iteration:
* upper: the rounded consensus and every batch's weights, forward-completed and scored on the full
  objective (an x-hat in mpi-sppy's terms); the best is the returned point;
* lower: the Lagrangian bound sum_s p_s V_s(W_s) with each V_s bounded below by what is proved for it:
  HiGHS's dual bound of the batch (``sub_solver='milp'``) or, for a heuristic solve, the batch's
  smallest loss levels plus sum_j min(W_sj, 0).  The best bound over the iterations is kept (every one is
  valid).  With the heuristic it is the per-sample bound of iteration 0 (W = 0), weak but valid.

On mpi-sppy with K ranks, K a multiple of 3 and ``spokes=True``: a hub (PH, our bookkeeping) and two
spokes of K/3 ranks each, mpi-sppy's ``LagrangianOuterBound`` (W-only solves with the spoke's
``bound_solver``) and ``XhatShuffleInnerBound`` (weights fixed at a scenario's solution, every batch
forward-completed); their bounds are merged with the hub's own.  Other K: the hub alone, its scenarios
spread over the K ranks.  Only the bookkeeping of world rank 0 is returned (broadcast to every rank).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from qcbo_model.errors import FormulationError, QCBOError
from qcbo_model.forward import codes_from_bits, fip_forward, forward_completion
from qcbo_model.layout import Layout

from ..config import MethodConfig, option
from ..result import Termination, finish

__all__ = ["QPHConfig", "run", "Batch", "scenario_model", "solve_scenario", "EngineError", "ENGINES"]

ENGINES = ("local", "mpi-sppy")
SAFETY = 1e-9


class EngineError(QCBOError):
    """The requested engine cannot run here (mpi-sppy missing, a rank count it cannot use)."""


@dataclass(frozen=True)
class QPHConfig(MethodConfig):
    """Settings of QPH (``solve(prob, 'qph', ...)``)."""

    engine: str = option("local", "'local' (numpy PH loop in this process) or 'mpi-sppy' (PH over Pyomo "
                         "scenario models; across ranks under mpiexec)", kind="str", choices=ENGINES)
    batch_size: int = option(64, "samples per scenario (one PH subproblem each)", kind="int", min=1)
    max_iter: int = option(10, "PH iterations after iteration 0", kind="int", min=0)
    rho: Any = option(None, "proximal weight at iteration 1 (None: 1 / batch_size)", kind="float", min=0,
                      exclusive_min=True, allow_none=True)
    rho_growth: float = option(1.5, "rho multiplier per iteration", kind="float", min=1.0)
    sub_solver: str = option("sa", "subproblem solver: 'sa' (annealing on the weight bits with the PH field, "
                             "forward completion) or 'milp' (HiGHS on the batch, small batches)", kind="str",
                             choices=("sa", "milp"))
    sweeps: int = option(60, "SA sweeps per subproblem solve", kind="int", min=1)
    reads: int = option(8, "SA reads per subproblem solve", kind="int", min=1)
    piece_time_limit: float = option(10.0, "seconds per MILP subproblem solve (its HiGHS bound counts if it "
                                     "stops early)", kind="float", min=0, exclusive_min=True)
    spokes: bool = option(True, "mpi-sppy on K = 3k ranks: a Lagrangian and an x-hat spoke beside the hub",
                          kind="bool")
    bound_solver: str = option("milp", "subproblem solver of the Lagrangian spoke ('milp' gives HiGHS's "
                               "bound; 'sa' only the per-sample bound)", kind="str", choices=("sa", "milp"))
    time_limit: Any = option(None, "seconds (None: no limit; checked between iterations)", kind="float", min=0,
                             exclusive_min=True, allow_none=True)
    seed: int = option(0, "seed of the batch split and of every subproblem solve", kind="int", min=0)


# ---------------------------------------------------------------------------------------------
class _NetView:
    """The problem interface ``anneal_weights`` needs (net, layout, n_weight_bits), without a QCBO."""

    def __init__(self, net, layout):
        self.net, self.layout, self.n_weight_bits = net, layout, layout.n_weight_bits


class Batch:
    """One scenario: samples ``idx`` of ``prob`` as a sliced QCBO, and its subproblem solver.

    ``solve(extra, offset, init, fixed_w, k, ...)`` minimizes q.objective(x) + extra @ x + offset over
    the batch's feasible points (extra: PH terms on the columns; fixed_w: weight bits held fixed) and
    returns (x, objective incl. extra and offset, valid lower bound, Termination)."""

    def __init__(self, prob, idx, index: int, cfg: QPHConfig):
        from ..exact.decomposed import piece_problem, trivial_bound
        self.prob, self.idx, self.index = prob, np.asarray(idx), int(index)
        self.p = len(self.idx) / prob.net.N
        self.sub, self.q = piece_problem(prob, self.idx)
        self.form = prob.form
        self.layout = Layout(self.sub, self.form)
        self.n_w = prob.n_weight_bits
        self.trivial = trivial_bound(prob, self.idx) / self.p     # in the batch objective's units
        self.cfg = cfg
        self.solver = cfg.sub_solver
        self.n_solves = 0
        self._milp = None

    def lower_bound(self, extra, offset) -> float:
        """Valid for any feasible point: the batch's smallest loss levels + the most the linear terms save."""
        return self.trivial + float(np.minimum(extra, 0.0).sum()) + offset

    def objective(self, x, extra, offset) -> float:
        return float(self.q.objective(x[None])[0]) + float(extra @ x) + offset

    def loss(self, W) -> np.ndarray:
        """Batch-mean loss f_s of each weight-bit row of W (forward pass, no QCBO)."""
        return fip_forward(self.sub, codes_from_bits(self.sub, np.asarray(W, np.uint8))).loss

    def complete(self, w):
        return forward_completion(self.sub, np.asarray(w, np.uint8)[None], self.form, self.layout)[0]

    def solve(self, extra, offset=0.0, init=None, fixed_w=None, k=None, solver=None, time_limit=None):
        solver = solver or self.solver
        k = self.n_solves if k is None else k
        self.n_solves += 1
        if fixed_w is not None:                        # x-hat evaluation: the weights' unique completion
            x = self.complete(fixed_w)
            return x, self.objective(x, extra, offset), self.lower_bound(extra, offset), Termination.converged
        if solver == "milp" or np.any(extra[self.n_w:] != 0):
            from ..exact.milp import MILP
            if self._milp is None:
                self._milp = MILP(self.q)
            self._milp.set_linear(extra)
            tl = self.cfg.piece_time_limit if time_limit is None else min(time_limit, self.cfg.piece_time_limit)
            r = self._milp.solve(time_limit=tl)
            lb = self.lower_bound(extra, offset)
            if np.isfinite(r.bound):
                lb = max(lb, r.bound + offset - SAFETY * (1 + abs(r.bound)))
            if r.x is None:
                return None, None, lb, Termination.time_limit
            x = r.x
            term = Termination.optimal if r.optimal else Termination.time_limit
            return x, self.objective(x, extra, offset), lb, term
        from ..baselines.sa_weights import anneal_weights
        seed = int(np.random.SeedSequence([self.cfg.seed, self.index, int(k)]).generate_state(1)[0])
        wb, _, _, _, _ = anneal_weights(_NetView(self.sub, self.layout), n_sweeps=self.cfg.sweeps,
                                        n_reads=self.cfg.reads, seed=seed, linear=np.asarray(extra[:self.n_w]),
                                        init_bits=init, time_limit=time_limit)
        x = self.complete(wb)
        return x, self.objective(x, extra, offset), self.lower_bound(extra, offset), Termination.iteration_limit


def ph_linear(W, xbar, rho):
    """PH terms W . w + rho/2 ||w - xbar||^2 on binary w as (linear coefficients, constant)."""
    return W + 0.5 * rho * (1.0 - 2.0 * xbar), float(0.5 * rho * (xbar * xbar).sum())


class _Book:
    """Bookkeeping shared by both engines: candidates, bounds, trace."""

    def __init__(self, prob, t0):
        self.prob, self.t0 = prob, t0
        self.best_ub, self.best_w, self.best_lb = np.inf, None, -np.inf
        self.trace = []

    def record(self, k, cand, cand_obj, lb, disagreement, spoke_lb=None, spoke_ub=None):
        i = int(np.argmin(cand_obj))
        if cand_obj[i] < self.best_ub:
            self.best_ub, self.best_w = float(cand_obj[i]), np.asarray(cand[i], np.uint8).copy()
        self.best_lb = max(self.best_lb, lb)
        if spoke_lb is not None and np.isfinite(spoke_lb):
            self.best_lb = max(self.best_lb, float(spoke_lb))
        upper = self.best_ub if spoke_ub is None or not np.isfinite(spoke_ub) else min(self.best_ub, float(spoke_ub))
        gap = None if not np.isfinite(self.best_lb) else float(max(upper - self.best_lb, 0) / max(abs(upper), 1e-10))
        self.trace.append({"iteration": k, "consensus_objective": float(cand_obj[0]), "upper_bound": upper,
                           "lower_bound": self.best_lb, "iteration_lower_bound": float(lb), "gap": gap,
                           "disagreement": float(disagreement), "time_s": time.perf_counter() - self.t0})


def _disagreement(Wb) -> float:
    Wb = np.asarray(Wb)
    return float(np.mean((Wb != Wb[0]).any(axis=0))) if len(Wb) else 0.0


# ---------------------------------------------------------------------------------------------
def _run_local(prob, cfg, batches, book, deadline):
    S = len(batches)
    p = np.array([b.p for b in batches])
    n_w = prob.n_weight_bits
    rho = (1.0 / cfg.batch_size) if cfg.rho is None else cfg.rho
    Wd = np.zeros((S, n_w))
    X = [None] * S
    termination, k = Termination.iteration_limit, 0
    xbar = None
    for k in range(cfg.max_iter + 1):
        if k and deadline is not None and time.perf_counter() > deadline:
            termination = Termination.time_limit
            break
        if k:
            xbar = p @ Wb
            Wd += rho * (Wb - xbar)
            rho *= cfg.rho_growth
        lb = 0.0
        for s, b in enumerate(batches):
            n = b.q.n
            extra = np.zeros(n)
            off = 0.0
            init = None
            if k:
                extra[:n_w], off = ph_linear(Wd[s], xbar, rho)
                init = X[s][:n_w]
            X[s], _, _, _ = b.solve(extra, off, init=init, k=k)
            # the Lagrangian bound's term: V_s(W_s) without the proximal part
            lin = np.zeros(n)
            lin[:n_w] = Wd[s]
            lb += b.p * b.lower_bound(lin, 0.0)
        Wb = np.array([x[:n_w] for x in X], np.uint8)
        cons = (p @ Wb >= 0.5).astype(np.uint8)
        cand = np.concatenate([cons[None], Wb])
        obj = sum(b.p * b.loss(cand) for b in batches)
        d = _disagreement(Wb)
        book.record(k, cand, obj, lb, d)
        if d == 0.0:
            termination = Termination.converged
            break
    return termination, k, {"ranks": 1, "rho_final": rho, "cylinders": ["local"]}


# ---------------------------------------------------------------------------------------------
def scenario_model(batch: Batch):
    """The batch's Pyomo model built from its canonical QCBO: x[j] binary (names = the QCBO's), one
    constraint per row, the objective; the ``Batch`` is attached as ``_qcbo_batch`` (our plugin solves
    it with ``Batch.solve``; any other Pyomo solver sees an ordinary binary quadratic model)."""
    import pyomo.environ as pyo
    import scipy.sparse as sp
    from pyomo.core.expr.numeric_expr import LinearExpression
    q = batch.q
    m = pyo.ConcreteModel(name=f"batch{batch.index}")
    m.x = pyo.Var(range(q.n), domain=pyo.Binary)
    xs = [m.x[j] for j in range(q.n)]
    Q = sp.coo_matrix(q.Q)
    off = Q.row != Q.col
    c = q.c + q.Q.diagonal()                          # x_i^2 = x_i: the diagonal is linear
    lin = LinearExpression([float(c[j]) * xs[j] for j in np.flatnonzero(c)])
    quad = sum(float(v) * xs[i] * xs[j] for i, j, v in zip(Q.row[off], Q.col[off], Q.data[off]))
    m.obj = pyo.Objective(expr=lin + quad + q.const)
    A = q.A.tocsr()
    qrow = {}
    for r, i, j, v in zip(q.quad_rows, q.quad_i, q.quad_j, q.quad_vals):
        qrow.setdefault(int(r), []).append((int(i), int(j), float(v)))
    m.rows = pyo.ConstraintList()
    for r in range(q.m):
        sl = slice(A.indptr[r], A.indptr[r + 1])
        body = LinearExpression([float(v) * xs[j] for j, v in zip(A.indices[sl], A.data[sl])])
        if r in qrow:
            body = body + sum(v * xs[i] * xs[j] for i, j, v in qrow[r])
        lo = None if not np.isfinite(q.lb[r]) else float(q.lb[r])
        hi = None if not np.isfinite(q.ub[r]) else float(q.ub[r])
        m.rows.add((lo, body, hi) if lo != hi else body == lo)
    m._qcbo_batch = batch
    m._qcbo_vars = xs
    return m


def solve_scenario(batch, model, ex, options, timelimit):
    """Our plugin on a scenario model (``QPHPlugin``): the PH terms are read off the model's objective
    (``ex.extra`` and ``ex.offset``), fixed weight vars are an x-hat evaluation; a SolveResult over
    the batch QCBO's columns whose objective and bound include the PH terms."""
    opts = dict(options or {})
    solver = opts.pop("sub_solver", None)
    tl = opts.pop("time_limit", timelimit)
    for k in ("mipgap", "threads"):        # mpi-sppy's canonical options: taken, not used
        opts.pop(k, None)
    if opts:
        raise FormulationError(f"solver 'qph' on a scenario model takes sub_solver and time_limit, got {sorted(opts)}")
    xs = model._qcbo_vars
    n_w = batch.n_w
    fixed = [v.fixed for v in xs[:n_w]]
    fixed_w = None
    if all(fixed):
        fixed_w = np.array([int(round(v.value)) for v in xs[:n_w]], np.uint8)
    elif any(fixed):
        raise FormulationError(f"scenario {model.name}: some weight bits fixed, some free; QPH fixes all or none")
    init = None
    vals = [v.value for v in xs[:n_w]]
    if fixed_w is None and batch.n_solves and all(v is not None for v in vals):
        init = np.array([int(round(v)) for v in vals], np.uint8)
    x, obj, lb, term = batch.solve(ex.extra, ex.offset, init=init, fixed_w=fixed_w, solver=solver,
                                   time_limit=None if tl is None else float(tl))
    res = finish("qph", batch.q, x, term, info={"sub_solver": solver or batch.solver})
    if x is not None:
        res.objective = obj
    res.bound = lb
    return res


def _import_mpisppy_quietly():
    """Import the mpi-sppy modules we use with the working directory in a temporary folder: three of
    them open a log file in the working directory when imported (hub.log, xhatclp.log, xhateval.log,
    empty at their CRITICAL level), which would litter the user's folder."""
    import os
    import sys
    import tempfile
    mods = ("mpisppy.cylinders.hub", "mpisppy.cylinders.xhatshufflelooper_bounder", "mpisppy.utils.xhat_eval",
            "mpisppy.cylinders.lagrangian_bounder", "mpisppy.spin_the_wheel", "mpisppy.opt.ph")
    if all(m in sys.modules for m in mods):
        return
    import importlib
    cwd = os.getcwd()
    with tempfile.TemporaryDirectory(prefix="qcbo-mpisppy-") as tmp:
        os.chdir(tmp)
        try:
            for m in mods:
                importlib.import_module(m)
        finally:
            os.chdir(cwd)


def _mpisppy_engine(prob, cfg, batches_idx, book, deadline, t0):
    try:
        _import_mpisppy_quietly()
        from mpisppy import MPI
        from mpisppy.extensions.extension import Extension
        from mpisppy.opt.ph import PH
        from mpisppy.utils.sputils import attach_root_node
    except ImportError as e:
        raise EngineError(f"engine 'mpi-sppy' needs mpi-sppy (pip install 'qcbo-qnn[sppy]', and "
                          f"'qcbo-qnn[mpi]' for ranks): {e}") from None
    import pyomo.environ as pyo  # noqa: F401
    from .. import pyomo_plugin  # noqa: F401  (registers SolverFactory('qph'))
    world = MPI.COMM_WORLD
    size = world.Get_size()
    S = len(batches_idx)
    names = [f"batch{s}" for s in range(S)]
    rho0 = (1.0 / cfg.batch_size) if cfg.rho is None else cfg.rho
    n_w = prob.n_weight_bits
    use_spokes = cfg.spokes and size >= 3 and size % 3 == 0
    per_cyl = size // 3 if use_spokes else size
    if S < per_cyl:
        raise EngineError(f"{S} scenarios (batches) cannot be spread over {per_cyl} ranks per cylinder; use a "
                          f"smaller batch_size or fewer ranks")

    def creator(name, sub_solver=None):
        s = int(name[5:])
        b = Batch(prob, batches_idx[s], s, cfg if sub_solver is None else cfg.replace(sub_solver=sub_solver))
        m = scenario_model(b)
        attach_root_node(m, m.obj, [m.x[j] for j in range(n_w)])
        m._mpisppy_probability = b.p
        return m

    class Tracker(Extension):
        """rho growth and the bookkeeping (candidates, bounds) of the hub."""

        def __init__(self, opt):
            super().__init__(opt)
            self.comm = opt.comms["ROOT"]

        def _local(self):
            return list(self.opt.local_scenarios.values())

        def _record(self, k):
            sc = self._local()
            Wb = np.array([[int(round(v._value)) for v in s._mpisppy_data.nonant_indices.values()] for s in sc],
                          np.uint8)
            p = np.array([s._mpisppy_probability for s in sc])
            num = self.comm.allreduce(p @ Wb if len(sc) else np.zeros(n_w), op=MPI.SUM)
            allW = np.concatenate(self.comm.allgather(Wb))
            cons = (num >= 0.5).astype(np.uint8)
            cand = np.concatenate([cons[None], allW])
            loc = sum((s._qcbo_batch.p * s._qcbo_batch.loss(cand) for s in sc), np.zeros(len(cand)))
            obj = self.comm.allreduce(loc, op=MPI.SUM)
            lb_loc = 0.0
            for s in sc:
                b = s._qcbo_batch
                lin = np.zeros(b.q.n)
                if k:
                    lin[:n_w] = [s._mpisppy_model.W[i]._value for i in s._mpisppy_data.nonant_indices]
                    lb_loc += b.p * b.lower_bound(lin, 0.0)
                else:
                    ob = s._mpisppy_data.outer_bound
                    lb_loc += b.p * (b.lower_bound(lin, 0.0) if ob is None or not np.isfinite(ob) else float(ob))
            lb = self.comm.allreduce(lb_loc, op=MPI.SUM)
            sp_lb = sp_ub = None
            spc = getattr(self.opt, "spcomm", None)
            if spc is not None:
                sp_lb, sp_ub = getattr(spc, "BestOuterBound", None), getattr(spc, "BestInnerBound", None)
            book.record(k, cand, obj, lb, _disagreement(allW), sp_lb, sp_ub)

        def post_iter0(self):
            self._record(0)

        def miditer(self):
            for s in self._local():
                for i in s._mpisppy_model.rho:
                    s._mpisppy_model.rho[i]._value *= cfg.rho_growth

        def enditer(self):
            self._record(self.opt._PHIter)

    def options(sub_solver):
        so = {"sub_solver": sub_solver}
        return {"solver_name": "qph", "PHIterLimit": cfg.max_iter, "defaultPHrho": rho0, "convthresh": 1e-12,
                "verbose": False, "display_progress": False, "display_timing": False,
                "display_convergence_detail": False, "iter0_solver_options": dict(so),
                "iterk_solver_options": dict(so), "linearize_proximal_terms": True,
                "linearize_binary_proximal_terms": True, "proximal_linearization_tolerance": 1e-1,
                "time_limit": None if deadline is None else max(1e-3, deadline - time.perf_counter()),
                "warmstart_subproblems": False, "tee-rank0-solves": False, "smoothed": 0,
                "trace_prefix": None, "presolve": False, "rounding_bias": 0.0, "user_warmstart": False,
                "turn_off_names_check": False}

    info = {"ranks": int(size)}
    import contextlib
    import io
    import logging
    quiet = io.StringIO()
    # mpi-sppy prints its progress to stdout; Pyomo warns on loading every time-limited MILP solution
    # (status 'aborted', as its own direct solvers report a time limit): both kept off the user's output
    log = logging.getLogger("pyomo.core")
    level = log.level
    log.setLevel(logging.ERROR)
    import warnings
    with contextlib.redirect_stdout(quiet), _restore_level(log, level), warnings.catch_warnings():
        # mpi-sppy 0.14 deprecates the iter0/iterk option dicts it still honours (we set both forms' meaning)
        warnings.filterwarnings("ignore", category=DeprecationWarning, module="mpisppy")
        if not use_spokes:
            ph = PH(options(cfg.sub_solver), names, creator, mpicomm=world, extensions=Tracker)
            conv, _, _ = ph.ph_main()
            iters = ph._PHIter
            info["cylinders"] = ["hub (PH)"]
        else:
            from mpisppy.cylinders.hub import PHHub
            from mpisppy.cylinders.lagrangian_bounder import LagrangianOuterBound
            from mpisppy.cylinders.xhatshufflelooper_bounder import XhatShuffleInnerBound
            from mpisppy.phbase import PHBase
            from mpisppy.spin_the_wheel import WheelSpinner
            from mpisppy.utils.xhat_eval import Xhat_Eval
            hub = {"hub_class": PHHub, "hub_kwargs": {"options": {"rel_gap": 0.0, "abs_gap": 0.0,
                                                                   "max_stalled_iters": 10 ** 9}},
                   "opt_class": PH, "opt_kwargs": {"options": options(cfg.sub_solver), "all_scenario_names": names,
                                                   "scenario_creator": creator, "extensions": Tracker}}
            lag_opts = options(cfg.bound_solver)
            lag = {"spoke_class": LagrangianOuterBound, "opt_class": PHBase,
                   "opt_kwargs": {"options": lag_opts, "all_scenario_names": names, "scenario_creator": creator,
                                  "scenario_creator_kwargs": {"sub_solver": cfg.bound_solver}}}
            xo = options(cfg.sub_solver)
            xo["xhat_looper_options"] = {"xhat_solver_options": {"sub_solver": cfg.sub_solver},
                                         "dump_prefix": "delme", "csvname": "looper.csv"}
            xhat = {"spoke_class": XhatShuffleInnerBound, "opt_class": Xhat_Eval,
                    "opt_kwargs": {"options": xo, "all_scenario_names": names, "scenario_creator": creator}}
            ws = WheelSpinner(hub, [lag, xhat])
            ws.spin()
            iters = getattr(ws.spcomm.opt, "_PHIter", None) if ws.on_hub else None
            info["cylinders"] = ["hub (PH)", "LagrangianOuterBound", "XhatShuffleInnerBound"]
            info["spoke_bounds"] = {"outer": _finite(ws.BestOuterBound), "inner": _finite(ws.BestInnerBound)}
    out = {"trace": book.trace, "best_ub": book.best_ub, "best_lb": book.best_lb,
           "best_w": None if book.best_w is None else book.best_w.tolist(), "iters": iters}
    out = world.bcast(out if world.Get_rank() == 0 else None, root=0)
    book.trace, book.best_ub, book.best_lb = out["trace"], out["best_ub"], out["best_lb"]
    book.best_w = None if out["best_w"] is None else np.asarray(out["best_w"], np.uint8)
    if "spoke_bounds" in info:
        info["spoke_bounds"] = world.bcast(info["spoke_bounds"], root=0)
    k = out["iters"] if out["iters"] is not None else (book.trace[-1]["iteration"] if book.trace else 0)
    info["rho_final"] = rho0 * cfg.rho_growth ** int(k)
    last = book.trace[-1] if book.trace else {}
    term = Termination.converged if last.get("disagreement") == 0.0 else Termination.iteration_limit
    if deadline is not None and time.perf_counter() > deadline and term != Termination.converged:
        term = Termination.time_limit
    return term, k, info


class _restore_level:
    def __init__(self, log, level):
        self.log, self.level = log, level

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.log.setLevel(self.level)
        return False


def _finite(v):
    return None if v is None or not np.isfinite(v) else float(v)


# ---------------------------------------------------------------------------------------------
def run(prob, cfg: QPHConfig, progress: bool = False):
    """QPH on ``prob`` (a FIPProblem) with ``cfg.engine``; the best candidate found and the best bound."""
    from ..exact.decomposed import make_batches
    t0 = time.perf_counter()
    deadline = None if cfg.time_limit is None else t0 + cfg.time_limit
    N = prob.net.N
    idx = make_batches(N, min(cfg.batch_size, N), cfg.seed)
    book = _Book(prob, t0)
    if cfg.engine == "local":
        batches = [Batch(prob, b, s, cfg) for s, b in enumerate(idx)]
        termination, k, info = _run_local(prob, cfg, batches, book, deadline)
    else:
        termination, k, info = _mpisppy_engine(prob, cfg, idx, book, deadline, t0)
    x = None if book.best_w is None else prob.complete(book.best_w[None])[0]
    bound = book.best_lb if np.isfinite(book.best_lb) else None
    res = finish("qph", prob, x, termination, bound=bound, config=cfg, trace=book.trace,
                 wall_time_s=time.perf_counter() - t0,
                 info={"engine": cfg.engine, "iterations": int(k), "n_batches": len(idx), "batch_size": cfg.batch_size,
                       "sub_solver": cfg.sub_solver, "lower_bound": bound,
                       "upper_bound": None if not np.isfinite(book.best_ub) else book.best_ub, **info})
    res.info["gap"] = res.gap
    return res
