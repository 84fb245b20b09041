"""QCBO -> penalty QUBO / Ising, through pyqubo (reference) or a direct vectorized scipy path.

The penalty model (conventions in ``docs/conventions.md``)::

    E(z) = objective(x) + sum_r  lam * lam_<family_r> * penalty_r(z)        z = [x, slack, prod]

with one row penalty per kind (decided once, in :class:`TranspilePlan`):

* ``square``  -- equalities and inequalities: ``(body_r(x) - lo_r - step_r * sum_b c_b s_b)^2``.
  An inequality ``lb <= body <= ub`` is clipped to the sound range ``[L_r, U_r]`` of its body over
  binaries (``lo = max(lb, L)``, ``hi = min(ub, U)``); the slack ``step * sum_b c_b s_b`` covers
  ``[0, hi - lo]`` in a *bounded log encoding* (c = 1, 2, 4, ..., 2^(k-2), R - 2^(k-1) + 1), so it
  reaches exactly the integers ``0..R``:
    - integer rows (all coefficients integer): ``lo = ceil(lo)``, ``R = floor(hi) - lo``, step 1; a
      feasible point has penalty exactly 0 and an infeasible one >= 1;
    - other rows: ``k = ceil(log2(range/res + 1))`` bits with ``res = slack_resolution * max|coef_r|``
      and a uniform grid ``step = range / (2^k - 1) <= res``; a feasible point then has penalty at
      most ``step^2 / 4`` (not 0): this is the price of a finite slack on real coefficients.
  An equality needs no slack. An inequality whose sound range lies inside its bounds needs no
  penalty at all (kind ``none``).
* ``nonneg`` -- rows marked ``qcbo.nonneg`` (>= 0 on binaries, == 0 exactly when feasible) are added
  as they are: ``body_r - b_r`` (not squared, so they stay quadratic).
* ``linearize`` -- a ``square`` row whose body is quadratic would give a quartic penalty. Each of its
  products ``x_i x_j`` (i < j) is replaced by a new binary ``prod[x_i*x_j]`` held to the product by the
  Rosenberg penalty ``x_i x_j - 2 x_i y - 2 x_j y + 3 y`` (>= 0, == 0 iff y = x_i x_j), weight
  ``lam * lam_linearize``. (Diagonal products x_i x_i are x_i.)

Variable order of the QUBO: ``qcbo.var_names + slack names + product names`` (``plan.variables``).
Penalty weights: pyqubo ``Placeholder`` ``lam`` (global) times ``lam_<family>`` (per constraint
family, default 1), so they change without recompiling. pyqubo ``Constraint`` labels are the QCBO
constraint names (and ``linearize[a*b]``), so ``decode`` reports broken constraints by name.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Optional

import numpy as np
import scipy.sparse as sp

from qcbo_model.errors import FormulationError, QCBOError
from qcbo_model.qcbo import QCBO

from ..ising.problems import QUBO, Ising

__all__ = ["TranspileError", "TranspilePlan", "PyquboModel", "plan_transpile", "qcbo_to_pyqubo",
           "penalty_qubo_direct", "feed_dict", "check_transpile", "qubo_from_dict", "ising_from_dicts",
           "canonical_qubo"]

KIND_NONE, KIND_SQUARE, KIND_NONNEG = 0, 1, 2
_KIND_NAMES = {KIND_NONE: "none", KIND_SQUARE: "square", KIND_NONNEG: "nonneg"}
LINEARIZE = "linearize"


class TranspileError(QCBOError):
    """The QCBO cannot be turned into a penalty QUBO as asked (bad slack option, infeasible row...)."""


def _bit_length(R: np.ndarray) -> np.ndarray:
    """Number of bits of the bounded log encoding of 0..R (0 for R == 0)."""
    R = np.asarray(R, dtype=np.int64)
    k = np.zeros(R.shape, np.int64)
    pos = R > 0
    k[pos] = np.floor(np.log2(R[pos])).astype(np.int64) + 1
    # guard float log2 at exact powers of two
    k[pos] += (np.left_shift(1, k[pos]) <= R[pos]).astype(np.int64)
    k[pos] -= (np.left_shift(1, k[pos] - 1) > R[pos]).astype(np.int64)
    return k


@dataclass
class TranspilePlan:
    """Everything both paths need, decided once from the QCBO (no penalty weights in here).

    Per QCBO row r: ``kind[r]`` (0 none, 1 square, 2 nonneg), ``lo[r]`` (the target of the slack
    equation ``body - lo - step * s = 0``; ``b`` for nonneg rows), ``step[r]``, ``slack_range[r]``
    (integer R: the slack takes the integers 0..R times step), ``integer_row[r]``.
    Slack variables: ``slack_row[k]``, ``slack_coef[k]`` (integer c_b), ``slack_power[k]`` (b, or -1
    for the last, bounded, coefficient). Products: ``prod_i[p] < prod_j[p]``.
    ``lin`` (m_sq x n_total csr) and ``lin_const`` are the linearized square rows (slack and products
    included): penalty_r = (lin[r] . z + lin_const[r])^2 for the rows ``sq_rows``.
    """
    qcbo: QCBO
    slack: str
    slack_resolution: float
    kind: np.ndarray
    lo: np.ndarray
    step: np.ndarray
    slack_range: np.ndarray
    integer_row: np.ndarray
    slack_row: np.ndarray
    slack_coef: np.ndarray
    slack_power: np.ndarray
    prod_i: np.ndarray
    prod_j: np.ndarray
    sq_rows: np.ndarray
    lin: sp.csr_matrix
    lin_const: np.ndarray
    nn_rows: np.ndarray
    variables: list

    @property
    def n(self) -> int:
        return self.qcbo.n

    @property
    def n_slack(self) -> int:
        return len(self.slack_row)

    @property
    def n_prod(self) -> int:
        return len(self.prod_i)

    @property
    def n_total(self) -> int:
        return self.n + self.n_slack + self.n_prod

    @property
    def families(self) -> list:
        """Constraint families that carry a penalty (one ``lam_<family>`` placeholder each)."""
        fams = set(self.qcbo.con_family[self.kind != KIND_NONE].astype(str).tolist())
        if self.n_prod:
            fams.add(LINEARIZE)
        return sorted(fams)

    def summary(self) -> dict:
        q = self.qcbo
        nonint = (self.kind == KIND_SQUARE) & ~self.integer_row & (self.slack_range > 0)
        return {"n_qcbo": q.n, "n_slack": self.n_slack, "n_prod": self.n_prod, "n_total": self.n_total,
                "rows": {name: int((self.kind == k).sum()) for k, name in _KIND_NAMES.items()},
                "slack_bits_max": int(np.bincount(self.slack_row, minlength=q.m).max(initial=0)),
                "non_integer_slack_rows": int(nonint.sum()),
                "max_feasible_penalty": float((self.step[nonint] ** 2 / 4).max(initial=0.0)),
                "slack": self.slack, "slack_resolution": self.slack_resolution,
                "families": self.families}

    # ---- weights ----------------------------------------------------------------------------
    def row_weights(self, lambdas=None) -> tuple[np.ndarray, float]:
        """(w (m,), w_linearize): per-row weight lam * lam_<family> and the product-penalty weight."""
        fd = feed_dict(self, lambdas)
        fam = self.qcbo.con_family.astype(str)
        w = np.array([fd["lam"] * fd.get(f"lam_{f}", 1.0) for f in fam]) if len(fam) else np.zeros(0)
        return w, fd["lam"] * fd.get(f"lam_{LINEARIZE}", 1.0)

    # ---- completion and reference penalties ---------------------------------------------------
    def _slack_int(self, body: np.ndarray) -> np.ndarray:
        """(B, m) integer slack minimizing (body - lo - step*s)^2 over s in 0..R."""
        t = (body - self.lo) / np.where(self.step > 0, self.step, 1.0)
        return np.clip(np.rint(t), 0, self.slack_range).astype(np.int64)

    def complete(self, X) -> np.ndarray:
        """QCBO assignments (B, n) -> QUBO assignments (B, n_total): products exact, slack at its
        minimum-penalty value (nearest slack grid point to body - lo, clipped to the range)."""
        X = np.atleast_2d(np.asarray(X))
        if X.shape[1] != self.n:
            raise TranspileError(f"expected assignments with {self.n} columns, got shape {X.shape}")
        X = X.astype(np.uint8)
        B = X.shape[0]
        Z = np.zeros((B, self.n_total), np.uint8)
        Z[:, :self.n] = X
        if self.n_prod:
            Z[:, self.n + self.n_slack:] = X[:, self.prod_i] & X[:, self.prod_j]
        if self.n_slack:
            body = self.qcbo.constraint_values(X)
            S = self._slack_int(body)[:, self.slack_row]                     # (B, n_slack)
            k = _bit_length(self.slack_range)[self.slack_row]
            thr = np.left_shift(1, k - 1) - 1                                # 2^(k-1) - 1
            is_last = self.slack_power < 0
            # last (bounded) bit of each row first, then plain binary of the remainder
            last_on = S > thr
            c_last = self.slack_range[self.slack_row] - thr
            rem = S - last_on * c_last
            bits = np.where(is_last, last_on, (rem >> np.maximum(self.slack_power, 0)) & 1)
            Z[:, self.n:self.n + self.n_slack] = bits
        return Z

    def restrict(self, Z) -> np.ndarray:
        """QUBO assignments -> the QCBO variables (drops slack and products)."""
        return np.atleast_2d(np.asarray(Z))[:, :self.n]

    def row_penalties(self, X) -> np.ndarray:
        """(B, m) penalty of every QCBO row at its minimum-penalty completion, from the QCBO itself
        (``qcbo.constraint_values``), without the QUBO matrices."""
        X = np.atleast_2d(np.asarray(X))
        body = self.qcbo.constraint_values(X)
        pen = np.zeros_like(body)
        sq = self.kind == KIND_SQUARE
        r = body - self.lo - self.step * self._slack_int(body)
        pen[:, sq] = r[:, sq] ** 2
        nn = self.kind == KIND_NONNEG
        pen[:, nn] = body[:, nn] - self.lo[nn]
        return pen

    def reference_energy(self, X, lambdas=None) -> np.ndarray:
        """objective + sum_r w_r penalty_r evaluated from the QCBO (products exact, no Rosenberg term)."""
        w, _ = self.row_weights(lambdas)
        return self.qcbo.objective(X) + self.row_penalties(X) @ w


def plan_transpile(qcbo: QCBO, slack: str = "log", slack_resolution: float = 1.0 / 64) -> TranspilePlan:
    """Decide row kinds, slack encodings and products to linearize (vectorized over rows)."""
    if slack != "log":
        raise TranspileError(f"slack={slack!r} is not supported; use slack='log' (bounded log encoding)")
    if not (0 < slack_resolution <= 1):
        raise TranspileError(f"slack_resolution must be in (0, 1] (relative to the row's largest "
                             f"coefficient), got {slack_resolution}")
    q = qcbo
    n, m = q.n, q.m
    A = q.A.tocoo()
    coef_rows = np.concatenate([A.row, q.quad_rows]).astype(np.int64)
    coefs = np.concatenate([A.data, q.quad_vals])
    L = np.bincount(coef_rows, weights=np.minimum(coefs, 0), minlength=m)
    U = np.bincount(coef_rows, weights=np.maximum(coefs, 0), minlength=m)
    scale = np.zeros(m)
    np.maximum.at(scale, coef_rows, np.abs(coefs))
    integer_row = np.bincount(coef_rows, weights=(coefs != np.rint(coefs)), minlength=m) == 0
    eq = q.lb == q.ub

    tol_b = 1e-9 * (1.0 + np.abs(np.where(eq, q.lb, 0.0)))
    bad_eq = eq & ((q.lb < L - tol_b) | (q.lb > U + tol_b))
    if bad_eq.any():
        r = int(np.flatnonzero(bad_eq)[0])
        raise TranspileError(f"equality {q.con_names[r]!r} can never hold on binaries (body range "
                             f"[{L[r]:g}, {U[r]:g}], right-hand side {q.lb[r]:g}); {int(bad_eq.sum())} such rows")
    kind = np.full(m, KIND_SQUARE, np.int8)
    kind[q.nonneg & eq] = KIND_NONNEG
    kind[eq & (L == U)] = KIND_NONE          # constant body equal to its right-hand side
    ineq = ~eq
    never = ineq & (q.lb <= L) & (q.ub >= U)
    kind[never] = KIND_NONE
    lo = np.where(eq, q.lb, np.maximum(q.lb, L))
    hi = np.where(eq, q.ub, np.minimum(q.ub, U))
    tol = 1e-9 * (1.0 + np.abs(lo))
    sqi = (kind == KIND_SQUARE) & ineq
    lo_i = np.where(sqi & integer_row, np.ceil(lo - tol), lo)
    hi_i = np.where(sqi & integer_row, np.floor(hi + tol), hi)
    lo = np.where(sqi, lo_i, lo)
    bad = sqi & (hi_i < lo_i)
    if bad.any():
        r = int(np.flatnonzero(bad)[0])
        raise TranspileError(f"constraint {q.con_names[r]!r} can never be satisfied on binaries "
                             f"(body range [{L[r]:g}, {U[r]:g}], bounds [{q.lb[r]:g}, {q.ub[r]:g}]); "
                             f"{int(bad.sum())} such rows; fix the model")
    width = np.where(sqi, hi_i - lo_i, 0.0)
    step = np.zeros(m)
    R = np.zeros(m, np.int64)
    ir = sqi & integer_row
    R[ir] = np.rint(width[ir]).astype(np.int64)
    step[ir] = 1.0
    fr = sqi & ~integer_row & (width > 0)
    if fr.any():
        res = slack_resolution * scale[fr]
        k = np.maximum(1, np.ceil(np.log2(width[fr] / res + 1.0)).astype(np.int64))
        R[fr] = np.left_shift(1, k) - 1
        step[fr] = width[fr] / R[fr]
    step[R == 0] = 0.0
    R[~sqi] = 0

    # slack variables: row-major, bits 2^0.. then the bounded last coefficient
    k_row = _bit_length(R)
    slack_row = np.repeat(np.arange(m), k_row)
    first = np.concatenate([[0], np.cumsum(k_row)[:-1]]) if m else np.zeros(0, np.int64)
    pos = np.arange(len(slack_row)) - np.repeat(first, k_row)
    is_last = pos == k_row[slack_row] - 1
    slack_power = np.where(is_last, -1, pos).astype(np.int64)
    thr = np.left_shift(1, k_row - 1) - 1
    slack_coef = np.where(is_last, (R - thr)[slack_row], np.left_shift(1, np.maximum(pos, 0))).astype(np.int64)

    # products of quadratic square rows -> linearization variables
    sq_mask = kind == KIND_SQUARE
    qsel = sq_mask[q.quad_rows]
    qr, qi, qj, qv = q.quad_rows[qsel], q.quad_i[qsel], q.quad_j[qsel], q.quad_vals[qsel]
    diag = qi == qj
    off = ~diag
    pair_key = qi[off] * n + qj[off]
    ukeys, pidx = np.unique(pair_key, return_inverse=True)
    prod_i, prod_j = ukeys // n, ukeys % n
    n_slack, n_prod = len(slack_row), len(ukeys)
    n_total = n + n_slack + n_prod

    # linearized square rows: body - lo - step * slack (+ products as variables)
    sq_rows = np.flatnonzero(sq_mask)
    new_row = np.full(m, -1, np.int64)
    new_row[sq_rows] = np.arange(len(sq_rows))
    asel = sq_mask[A.row]
    ssel = sq_mask[slack_row]
    rows = np.concatenate([A.row[asel], qr[diag], qr[off], slack_row[ssel]])
    cols = np.concatenate([A.col[asel], qi[diag], n + n_slack + pidx, n + np.flatnonzero(ssel)])
    vals = np.concatenate([A.data[asel], qv[diag], qv[off], -step[slack_row[ssel]] * slack_coef[ssel]])
    lin = sp.csr_matrix((vals, (new_row[rows], cols)), shape=(len(sq_rows), n_total))
    lin.sum_duplicates()
    lin.sort_indices()
    lin_const = -lo[sq_rows]

    names = q.con_names
    slack_names = [f"{names[r]}.s{b}" for r, b in zip(slack_row.tolist(), pos.tolist())]
    prod_names = [f"prod[{q.var_names[i]}*{q.var_names[j]}]" for i, j in zip(prod_i.tolist(), prod_j.tolist())]
    variables = list(q.var_names) + slack_names + prod_names
    return TranspilePlan(qcbo=q, slack=slack, slack_resolution=float(slack_resolution), kind=kind, lo=lo,
                         step=step, slack_range=R, integer_row=integer_row, slack_row=slack_row,
                         slack_coef=slack_coef, slack_power=slack_power, prod_i=prod_i, prod_j=prod_j,
                         sq_rows=sq_rows, lin=lin, lin_const=lin_const,
                         nn_rows=np.flatnonzero(kind == KIND_NONNEG), variables=variables)


def feed_dict(plan_or_qcbo, lambdas=None) -> dict:
    """Normalize penalty weights to a pyqubo feed_dict: ``{'lam': ..., 'lam_<family>': ...}``.

    ``lambdas``: None (all 1), a number (the global ``lam``), or a dict with keys ``lam`` and/or
    ``lam_<family>`` (missing ones default to 1). Unknown keys raise (they are usually typos)."""
    plan = plan_or_qcbo if isinstance(plan_or_qcbo, TranspilePlan) else plan_transpile(plan_or_qcbo)
    fams = plan.families
    fd = {"lam": 1.0}
    fd.update({f"lam_{f}": 1.0 for f in fams})
    if lambdas is None:
        return fd
    if isinstance(lambdas, (int, float, np.integer, np.floating)):
        fd["lam"] = float(lambdas)
        return fd
    if not isinstance(lambdas, dict):
        raise TranspileError(f"lambdas must be None, a number or a dict, got {type(lambdas).__name__}")
    unknown = sorted(set(lambdas) - set(fd))
    if unknown:
        raise TranspileError(f"unknown penalty weights {unknown}; known: {sorted(fd)}")
    for k, v in lambdas.items():
        v = float(v)
        if not np.isfinite(v) or v < 0:
            raise TranspileError(f"penalty weight {k} must be finite and >= 0, got {v}")
        fd[k] = v
    return fd


# ---- direct vectorized path ---------------------------------------------------------------------
def canonical_qubo(Q: sp.spmatrix) -> sp.csr_matrix:
    """Upper-triangular csr with summed duplicates, sorted indices and no explicit zeros."""
    Q = sp.coo_matrix(Q)
    i, j = np.minimum(Q.row, Q.col), np.maximum(Q.row, Q.col)
    M = sp.csr_matrix((Q.data, (i, j)), shape=Q.shape)
    M.sum_duplicates()
    M.eliminate_zeros()
    M.sort_indices()
    return M


def penalty_qubo_direct(qcbo: QCBO, lambdas=None, slack: str = "log", slack_resolution: float = 1.0 / 64,
                        plan: Optional[TranspilePlan] = None) -> QUBO:
    """The penalty QUBO built with scipy only (same matrices as the pyqubo path, same variable order
    ``plan.variables``). Cost is dominated by ``lin^T W lin``, i.e. by the number of QUBO terms."""
    plan = plan or plan_transpile(qcbo, slack, slack_resolution)
    q = plan.qcbo
    N = plan.n_total
    w, w_lin = plan.row_weights(lambdas)
    parts_r, parts_c, parts_v = [], [], []

    def add(r, c, v):
        parts_r.append(np.asarray(r, np.int64))
        parts_c.append(np.asarray(c, np.int64))
        parts_v.append(np.asarray(v, float))

    Qo = q.Q.tocoo()
    add(Qo.row, Qo.col, Qo.data)
    nzc = np.flatnonzero(q.c)
    add(nzc, nzc, q.c[nzc])
    offset = q.const
    # square rows: w (a.z + c)^2 = sum_kl w a_k a_l z_k z_l + 2 w c a.z + w c^2
    if len(plan.sq_rows):
        ws = w[plan.sq_rows]
        Lw = sp.diags(ws) @ plan.lin
        M = (plan.lin.T @ Lw).tocoo()                     # symmetric, diagonal = linear terms
        up = M.row <= M.col
        add(M.row[up], M.col[up], np.where(M.row[up] == M.col[up], 1.0, 2.0) * M.data[up])
        g = 2.0 * np.asarray(Lw.T @ plan.lin_const).ravel()
        nz = np.flatnonzero(g)
        add(nz, nz, g[nz])
        offset += float(np.dot(ws, plan.lin_const ** 2))
    # nonneg rows as they are: w (body - b)
    if len(plan.nn_rows):
        nnm = np.zeros(q.m, bool)
        nnm[plan.nn_rows] = True
        qs = nnm[q.quad_rows]
        add(q.quad_i[qs], q.quad_j[qs], w[q.quad_rows[qs]] * q.quad_vals[qs])
        A = q.A.tocoo()
        s = nnm[A.row]
        add(A.col[s], A.col[s], w[A.row[s]] * A.data[s])
        offset -= float(np.dot(w[plan.nn_rows], plan.lo[plan.nn_rows]))
    # Rosenberg terms of the linearization products
    if plan.n_prod:
        y = plan.n + plan.n_slack + np.arange(plan.n_prod)
        i, j = plan.prod_i, plan.prod_j
        add(np.concatenate([i, i, j, y]), np.concatenate([j, y, y, y]),
            np.concatenate([np.full(len(i), w_lin), np.full(2 * len(i), -2.0 * w_lin), np.full(len(i), 3.0 * w_lin)]))
    Q = canonical_qubo(sp.coo_matrix((np.concatenate(parts_v), (np.concatenate(parts_r), np.concatenate(parts_c))),
                                     shape=(N, N)))
    return QUBO(Q, offset)


# ---- pyqubo path --------------------------------------------------------------------------------
def _matrix_from_dict(d: dict, index: dict, n: int):
    """pyqubo/dimod ``{(a, b): v}`` with labels -> canonical upper-triangular matrix in ``index`` order."""
    keys = list(d.keys())
    a = np.fromiter((index[k[0]] for k in keys), np.int64, len(keys))
    b = np.fromiter((index[k[1]] for k in keys), np.int64, len(keys))
    v = np.fromiter(d.values(), float, len(keys))
    return canonical_qubo(sp.coo_matrix((v, (a, b)), shape=(n, n)))


def qubo_from_dict(qdict: dict, offset: float, index: dict, n: int) -> QUBO:
    """pyqubo/dimod ``{(a, b): v}`` (labels) -> our QUBO in the order given by ``index``."""
    return QUBO(_matrix_from_dict(qdict, index, n), float(offset))


def ising_from_dicts(h: dict, J: dict, offset: float, index: dict, n: int) -> Ising:
    hv = np.zeros(n)
    for k, v in h.items():
        hv[index[k]] += v
    return Ising(hv, _matrix_from_dict(J, index, n), float(offset))


class PyquboModel:
    """A compiled pyqubo model of the penalty QUBO plus its :class:`TranspilePlan`.

    ``to_qubo(lambdas)`` / ``to_ising(lambdas)`` give our :class:`QUBO` / :class:`Ising` in the order
    ``self.variables``; ``decode(z, lambdas)`` reports energy and broken constraints by name."""

    def __init__(self, plan: TranspilePlan, model, build_s: float, compile_s: float):
        self.plan = plan
        self.model = model
        self.timings = {"expression_s": build_s, "compile_s": compile_s}
        self.index = {v: i for i, v in enumerate(plan.variables)}

    @property
    def variables(self) -> list:
        return self.plan.variables

    def feed_dict(self, lambdas=None) -> dict:
        return feed_dict(self.plan, lambdas)

    def to_qubo(self, lambdas=None) -> QUBO:
        qd, off = self.model.to_qubo(feed_dict=self.feed_dict(lambdas))
        return qubo_from_dict(qd, off, self.index, self.plan.n_total)

    def to_ising(self, lambdas=None) -> Ising:
        h, J, off = self.model.to_ising(feed_dict=self.feed_dict(lambdas))
        return ising_from_dicts(h, J, off, self.index, self.plan.n_total)

    def decode(self, z, lambdas=None) -> dict:
        """One QUBO assignment (n_total,) -> {'energy', 'broken': {constraint name: penalty}}."""
        z = np.asarray(z).ravel()
        if z.shape[0] != self.plan.n_total:
            raise TranspileError(f"expected {self.plan.n_total} values, got {z.shape[0]}")
        present = set(self.model.variables)
        sample = {v: int(z[i]) for v, i in self.index.items() if v in present}
        d = self.model.decode_sample(sample, vartype="BINARY", feed_dict=self.feed_dict(lambdas))
        broken = {k: float(e) for k, (ok, e) in d.constraints(only_broken=True).items()}
        return {"energy": float(d.energy), "broken": broken}

    def constraint_energies(self, z, lambdas=None) -> dict:
        """Unweighted penalty of every labelled constraint at one assignment."""
        z = np.asarray(z).ravel()
        present = set(self.model.variables)
        sample = {v: int(z[i]) for v, i in self.index.items() if v in present}
        d = self.model.decode_sample(sample, vartype="BINARY", feed_dict=self.feed_dict(lambdas))
        return {k: float(e) for k, (ok, e) in d.constraints().items()}


def qcbo_to_pyqubo(qcbo: QCBO, slack: str = "log", slack_resolution: float = 1.0 / 64,
                   plan: Optional[TranspilePlan] = None) -> PyquboModel:
    """The reference path: pyqubo expressions for objective + lam * lam_<family> * Constraint(...)."""
    from pyqubo import Binary, Constraint, Placeholder

    plan = plan or plan_transpile(qcbo, slack, slack_resolution)
    q = plan.qcbo
    t0 = time.perf_counter()
    z = [Binary(v) for v in plan.variables]
    lam = Placeholder("lam")
    lam_f = {f: Placeholder(f"lam_{f}") for f in plan.families}
    Qo = q.Q.tocoo()
    terms = [float(v) * z[i] * z[j] for i, j, v in zip(Qo.row.tolist(), Qo.col.tolist(), Qo.data.tolist())]
    terms += [float(q.c[i]) * z[i] for i in np.flatnonzero(q.c).tolist()]
    H = sum(terms, start=0.0) + q.const if terms else q.const
    fam = q.con_family.astype(str)
    lin = plan.lin
    for k, r in enumerate(plan.sq_rows.tolist()):
        s, e = lin.indptr[k], lin.indptr[k + 1]
        body = sum((float(v) * z[c] for c, v in zip(lin.indices[s:e].tolist(), lin.data[s:e].tolist())),
                   start=float(plan.lin_const[k]))
        H = H + lam * lam_f[fam[r]] * Constraint(body ** 2, label=q.con_names[r])
    if len(plan.nn_rows):
        order = np.argsort(q.quad_rows, kind="stable")
        qst = np.searchsorted(q.quad_rows[order], np.arange(q.m + 1))
        for r in plan.nn_rows.tolist():
            sel = order[qst[r]:qst[r + 1]]
            e = [float(v) * z[i] * z[j] for i, j, v in
                 zip(q.quad_i[sel].tolist(), q.quad_j[sel].tolist(), q.quad_vals[sel].tolist())]
            row = q.A[r]
            e += [float(v) * z[i] for i, v in zip(row.indices.tolist(), row.data.tolist())]
            body = sum(e, start=-float(plan.lo[r]))
            H = H + lam * lam_f[fam[r]] * Constraint(body, label=q.con_names[r])
    for p, (i, j) in enumerate(zip(plan.prod_i.tolist(), plan.prod_j.tolist())):
        y = z[plan.n + plan.n_slack + p]
        ros = z[i] * z[j] - 2.0 * z[i] * y - 2.0 * z[j] * y + 3.0 * y
        H = H + lam * lam_f[LINEARIZE] * Constraint(ros, label=f"{LINEARIZE}[{plan.variables[i]}*{plan.variables[j]}]")
    t1 = time.perf_counter()
    if isinstance(H, float):
        raise TranspileError("the QCBO has neither objective terms nor penalties: nothing to compile")
    model = H.compile()
    return PyquboModel(plan, model, t1 - t0, time.perf_counter() - t1)


# ---- the check ----------------------------------------------------------------------------------
def check_transpile(qcbo: QCBO, n_cases: int = 1000, seed=0, lambdas=None, slack: str = "log",
                    slack_resolution: float = 1.0 / 64, X_feasible=None, use_pyqubo: Optional[bool] = None,
                    max_pyqubo_terms: int = 200_000, rtol: float = 1e-9) -> dict:
    """Energy identity of the transpile on random assignments.

    For ``n_cases`` random x (plus ``X_feasible`` rows if given), completed by ``plan.complete``
    (products exact, slack at its minimum-penalty value), the pyqubo QUBO energy, the pyqubo Ising
    energy at s = 2z - 1 and the direct QUBO energy must all equal ``objective(x) + sum_r w_r
    penalty_r(x)`` computed from the QCBO itself (``plan.reference_energy``). Also: every satisfied
    row has penalty 0 (integer rows) or <= step^2/4 (real rows), ``X_feasible`` rows have total penalty
    within that bound, and pyqubo's per-constraint energies (by name) match on a few samples.
    pyqubo is skipped (and said so) past ``max_pyqubo_terms`` QUBO terms unless ``use_pyqubo=True``."""
    rng = np.random.default_rng(seed)
    notes = []
    plan = plan_transpile(qcbo, slack, slack_resolution)
    fd = feed_dict(plan, lambdas)
    X = rng.integers(0, 2, size=(int(n_cases), qcbo.n), dtype=np.uint8)
    if X_feasible is not None:
        Xf = np.atleast_2d(np.asarray(X_feasible)).astype(np.uint8)
        X = np.concatenate([X, Xf])
    Z = plan.complete(X)
    ref = plan.reference_energy(X, fd)
    scale = np.maximum(1.0, np.abs(ref))
    disc = {}
    t0 = time.perf_counter()
    direct = penalty_qubo_direct(qcbo, fd, plan=plan)
    t_direct = time.perf_counter() - t0
    disc["direct_qubo"] = float(np.max(np.abs(direct.energy(Z) - ref) / scale, initial=0.0))
    n_terms = int(direct.Q.nnz)
    if use_pyqubo is None:
        use_pyqubo = n_terms <= max_pyqubo_terms
    timings = {"direct_s": t_direct}
    if use_pyqubo:
        t0 = time.perf_counter()
        pm = qcbo_to_pyqubo(qcbo, plan=plan)
        qb, isg = pm.to_qubo(fd), pm.to_ising(fd)
        timings["pyqubo_s"] = time.perf_counter() - t0
        disc["pyqubo_qubo"] = float(np.max(np.abs(qb.energy(Z) - ref) / scale, initial=0.0))
        disc["pyqubo_ising"] = float(np.max(np.abs(isg.energy(2.0 * Z - 1.0) - ref) / scale, initial=0.0))
        D = (qb.Q - direct.Q)
        disc["matrix_direct_vs_pyqubo"] = float(np.abs(D.data).max(initial=0.0) / max(1.0, np.abs(direct.Q.data).max(initial=0.0)))
        disc["offset_direct_vs_pyqubo"] = abs(qb.offset - direct.offset) / max(1.0, abs(direct.offset))
        # per-constraint energies by name on a few samples
        pen = plan.row_penalties(X[:3])
        worst = 0.0
        for b in range(min(3, len(X))):
            ce = pm.constraint_energies(Z[b], fd)
            for r in np.flatnonzero(plan.kind != KIND_NONE).tolist():
                worst = max(worst, abs(ce[qcbo.con_names[r]] - pen[b, r]) / max(1.0, abs(pen[b, r])))
        disc["pyqubo_constraint_by_name"] = worst
    else:
        notes.append(f"pyqubo skipped ({n_terms} QUBO terms > max_pyqubo_terms={max_pyqubo_terms})")
    # satisfied rows carry (almost) no penalty
    viol = qcbo.violations(X)
    pen = plan.row_penalties(X)
    tol_row = np.where(plan.integer_row | (plan.step == 0), 0.0, plan.step ** 2 / 4)
    sat = viol <= 1e-9
    excess = np.where(sat, pen - tol_row[None, :], 0.0)
    feas_excess = float(max(excess.max(initial=0.0), 0.0))
    disc["satisfied_row_penalty"] = feas_excess
    n_sat = int(sat.sum())
    if X_feasible is not None:
        pf = plan.row_penalties(Xf)
        disc["feasible_point_penalty"] = float(max((pf - tol_row).max(initial=0.0), 0.0))
        if not np.all(qcbo.is_feasible(Xf)):
            notes.append("some X_feasible rows are not feasible for the QCBO")
    max_disc = max(disc.values()) if disc else 0.0
    summ = plan.summary()
    if summ["non_integer_slack_rows"]:
        notes.append(f"{summ['non_integer_slack_rows']} rows with real coefficients use a slack grid; feasible "
                     f"points may carry penalty up to {summ['max_feasible_penalty']:.3g} (step^2/4)")
    ok = max_disc <= rtol and (X_feasible is None or np.all(qcbo.is_feasible(Xf)))
    return {"status": "passed" if ok else "failed", "n_cases": int(len(X)), "max_discrepancy": float(max_disc),
            "discrepancies": disc, "n_satisfied_rows_checked": n_sat, "rtol": rtol, "lambdas": fd,
            "plan": summ, "qubo_terms": n_terms, "timings": timings, "note": "; ".join(notes) or "ok"}

