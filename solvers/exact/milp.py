"""The canonical QCBO as an exact MILP, passed to HiGHS directly (highspy), without Pyomo.

Every product x_i x_j (i < j) of the objective or of a constraint becomes a continuous y in [0, 1]
held to the product by the McCormick rows (exact at binary x, the same linearization as
``solvers.exact.highs.linearize`` does on the Pyomo model):

    y - x_i <= 0,   y - x_j <= 0,   x_i + x_j - y <= 1

and x_i^2 = x_i.  Columns: the n binaries of the QCBO in its variable order, then the products.
Building the arrays is vectorized (scipy.sparse), so a small QCBO (a sample batch of the decomposed
bound) costs milliseconds instead of the Pyomo model's build and extraction.  ``MILP.solve`` returns
the incumbent, HiGHS's dual bound and its status; the bound is valid whatever the status (the
objective bound of a MILP never exceeds its optimum), which is what the decomposed lower bound uses.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from qcbo_model.errors import QCBOError

__all__ = ["MILP", "MILPResult", "MILPError"]


class MILPError(QCBOError):
    """HiGHS cannot be used as asked (not installed, bad input)."""


@dataclass
class MILPResult:
    status: str                 # HiGHS model status name ('kOptimal', 'kTimeLimit', ...)
    optimal: bool
    objective: float | None     # objective of the incumbent (constant included), None without one
    bound: float                # HiGHS's dual bound (constant included); -inf when HiGHS gives none
    x: np.ndarray | None        # (n,) uint8 incumbent in the QCBO's variable order
    wall_time_s: float


def _quiet_highs(highspy):
    """A Highs instance, constructed with the C-level stdout silenced (HiGHS prints a banner there)."""
    import os
    import sys
    try:
        sys.stdout.flush()
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):      # no real stdout (captured): nothing to silence
        return highspy.Highs()
    saved = os.dup(fd)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), fd)
            h = highspy.Highs()
    finally:
        os.dup2(saved, fd)
        os.close(saved)
    return h


def _products(q):
    """Upper-triangular (i, j), i < j, of every product in the objective or a constraint."""
    Q = sp.coo_matrix(q.Q)
    off = Q.row != Q.col
    i = np.concatenate([Q.row[off], q.quad_i[q.quad_i != q.quad_j]])
    j = np.concatenate([Q.col[off], q.quad_j[q.quad_i != q.quad_j]])
    key = np.unique(np.minimum(i, j).astype(np.int64) * q.n + np.maximum(i, j))
    return key // q.n, key % q.n


class MILP:
    """The exact MILP of a QCBO, ready for repeated solves with changed linear costs."""

    def __init__(self, q):
        try:
            import highspy
        except ImportError as e:  # pragma: no cover - highspy is a core dependency
            raise MILPError("highspy is not installed: pip install highspy") from e
        self.q = q
        n = q.n
        pi, pj = _products(q)
        P = len(pi)
        self.n, self.n_products = n, P
        col_of = {int(a) * n + int(b): n + k for k, (a, b) in enumerate(zip(pi, pj))}

        def prod_cols(i, j):
            lo, hi = np.minimum(i, j), np.maximum(i, j)
            return np.fromiter((col_of[int(a) * n + int(b)] for a, b in zip(lo, hi)), dtype=np.int64, count=len(lo))

        # objective: c + diag(Q) on x, off-diagonal Q on products
        Q = sp.coo_matrix(q.Q)
        cost = np.zeros(n + P)
        cost[:n] = q.c
        d = Q.row == Q.col
        np.add.at(cost, Q.row[d], Q.data[d])
        if (~d).any():
            np.add.at(cost, prod_cols(Q.row[~d], Q.col[~d]), Q.data[~d])
        self.base_cost = cost
        self.offset = float(q.const)
        # original rows: A x + sum P terms (diagonal terms on x)
        A = sp.coo_matrix(q.A)
        r_rows, r_cols, r_vals = [A.row], [A.col], [A.data]
        dq = q.quad_i == q.quad_j
        r_rows.append(q.quad_rows[dq]); r_cols.append(q.quad_i[dq]); r_vals.append(q.quad_vals[dq])
        if (~dq).any():
            r_rows.append(q.quad_rows[~dq]); r_cols.append(prod_cols(q.quad_i[~dq], q.quad_j[~dq]))
            r_vals.append(q.quad_vals[~dq])
        m = q.m
        # McCormick rows
        k = np.arange(P)
        # y - x_i <= 0 ; y - x_j <= 0 ; x_i + x_j - y <= 1
        mc_rows = np.concatenate([m + k, m + k, m + P + k, m + P + k, m + 2 * P + k, m + 2 * P + k, m + 2 * P + k])
        mc_cols = np.concatenate([n + k, pi, n + k, pj, pi, pj, n + k])
        mc_vals = np.concatenate([np.ones(P), -np.ones(P), np.ones(P), -np.ones(P), np.ones(P), np.ones(P), -np.ones(P)])
        rows = np.concatenate(r_rows + [mc_rows]).astype(np.int64)
        cols = np.concatenate(r_cols + [mc_cols]).astype(np.int64)
        vals = np.concatenate(r_vals + [mc_vals]).astype(float)
        n_rows = m + 3 * P
        M = sp.csc_matrix((vals, (rows, cols)), shape=(n_rows, n + P))
        M.sum_duplicates()
        row_lo = np.concatenate([np.where(np.isfinite(q.lb), q.lb, -np.inf), np.full(3 * P, -np.inf)])
        row_hi = np.concatenate([np.where(np.isfinite(q.ub), q.ub, np.inf), np.zeros(2 * P), np.ones(P)])
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = n + P, n_rows
        lp.col_cost_ = cost
        lp.col_lower_ = np.zeros(n + P)
        lp.col_upper_ = np.ones(n + P)
        lp.row_lower_ = row_lo
        lp.row_upper_ = row_hi
        lp.offset_ = self.offset
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = M.indptr.astype(np.int32)
        lp.a_matrix_.index_ = M.indices.astype(np.int32)
        lp.a_matrix_.value_ = M.data
        lp.integrality_ = [highspy.HighsVarType.kInteger] * n + [highspy.HighsVarType.kContinuous] * P
        self._highspy = highspy
        self._h = _quiet_highs(highspy)
        self._h.setOptionValue("output_flag", False)
        # tight tolerances: a pre-activation a hair below a breakpoint must not change interval
        for k_, v_ in (("mip_feasibility_tolerance", 1e-9), ("primal_feasibility_tolerance", 1e-9),
                       ("mip_rel_gap", 0.0), ("mip_abs_gap", 1e-9)):
            self._h.setOptionValue(k_, v_)
        self._h.passModel(lp)
        self._cost = cost.copy()

    def set_linear(self, extra) -> None:
        """Objective = the QCBO's objective + extra @ x (extra: (n,) on the binaries, or None)."""
        cost = self.base_cost.copy()
        if extra is not None:
            cost[:self.n] += np.asarray(extra, float)
        idx = np.flatnonzero(cost != self._cost)
        if len(idx):
            self._h.changeColsCost(len(idx), idx.astype(np.int32), cost[idx])
        self._cost = cost

    def solve(self, time_limit: float | None = None, threads: int = 1) -> MILPResult:
        h = self._h
        h.setOptionValue("time_limit", float(time_limit) if time_limit is not None else float("inf"))
        h.setOptionValue("threads", int(threads))
        t0 = time.perf_counter()
        if h.run() == self._highspy.HighsStatus.kError and \
                h.getModelStatus() == self._highspy.HighsModelStatus.kNotset:
            # HiGHS keeps one thread scheduler per process: when another HiGHS user in this process (Pyomo's
            # appsi_highs, mpi-sppy) started it with a different thread count, run() refuses at once with
            # "the scheduler has already been initialized"; reset it (nothing else runs HiGHS here) and retry
            reset = getattr(self._highspy.Highs, "resetGlobalScheduler", None)
            if reset is not None:
                reset(True)
                h.run()
        wall = time.perf_counter() - t0
        status = h.getModelStatus()
        name = h.modelStatusToString(status)
        info = h.getInfo()
        optimal = status == self._highspy.HighsModelStatus.kOptimal
        x = obj = None
        if info.primal_solution_status >= 2 or optimal:        # a feasible incumbent
            col = np.asarray(h.getSolution().col_value)
            x = (col[:self.n] > 0.5).astype(np.uint8)
            obj = float(info.objective_function_value)
        bound = float(info.mip_dual_bound)
        if optimal and obj is not None:
            bound = min(bound, obj) if np.isfinite(bound) else obj
        if not np.isfinite(bound):
            bound = -np.inf
        return MILPResult(status=name, optimal=bool(optimal), objective=obj, bound=bound, x=x, wall_time_s=wall)
