"""The lifted form of a canonical QCBO (v = [1; x], V = v v^T): the one module for everything lifted.

Everything here is built once from the :class:`~qcbo_model.qcbo.QCBO` arrays and then combined
numerically (sparse products with a weight vector); nothing is recompiled per iteration.

Lifted rows (``LiftedRows``), with v = [1; x] and W in conv{v v^T}: every row value is linear in W,
so it is tracked through its values on the atoms.  Row kinds:

* ``nonneg`` rows (Rosenberg products, exclusions): s_r(x) = g_r(x) - lb_r >= 0, target 0;
* ``squared`` rows (exact lift of a linear equality a^T x = b): s_r(x) = (a^T x - b)^2 >= 0, target 0,
  so a mixture with s(W) = 0 has only feasible atoms;
* ``interval`` rows (everything else): s_r(x) = g_r(x), target [lb_r, ub_r] (holds on average only).

Rows are divided by their largest coefficient (squared rows by its square) so that one beta fits all.

``restricted_penalty`` builds the QUBO  f(x) + sum_r w_r h_r(x_F, s)^2 (+ w_r * nonneg rows) over a
set F of free variables with the rest fixed, adding bounded slack bits for inequalities.  It serves
the penalty baseline (F = all) and QCGD's large-neighbourhood steps (F = a block of weight bits and
the bits they drive).

``LiftedMatrices`` / ``lmo_qubo`` (below) are the general matrix view of the
same lift, used by the transpile checks and docs/conventions.md; QCGD itself uses ``LiftedRows``.
The two row normalizations differ on purpose: ``LiftedRows`` scales rows and squares linear equalities
in place; ``LiftedMatrices`` keeps one lifted row per side (``g_k == 0`` or ``<= 0``) and puts the
squared equalities into the separate ``Pnn`` stack.

--- LiftedMatrices ---

For binary x let v = [1; x] in R^(n+1) and V = v v^T (an *atom*). Every quadratic of x is a linear
function of V:  x^T Q x + c^T x + k = v^T Qhat v = <Qhat, V>  with the symmetric

    Qhat = [[k,      c^T/2          ],
            [c/2,    (Q + Q^T)/2    ]]          (the diagonal of Q stays on the diagonal).

:class:`LiftedMatrices` holds

* ``Qhat``: the objective, symmetric (n+1)x(n+1) csr, ``v^T Qhat v = qcbo.objective(x)``;
* one lifted matrix ``Phat_k`` per *normalized* constraint k, stacked as the sparse ``P`` of shape
  (m_lifted, n_keys) over a shared list of matrix positions (``keys_i``, ``keys_j``). Constraints are
  normalized to ``g_k(x) = v^T Phat_k v`` with ``g_k == 0`` (``sense[k] == 'eq'``) or ``g_k <= 0``
  (``'le'``). A QCBO row r gives:  equality -> ``body_r - b``;  ``body_r <= ub`` -> ``body_r - ub``;
  ``body_r >= lb`` -> ``lb - body_r``;  a two-sided row gives both (two lifted rows). So
  ``body_r - b_k = sign[k] * v^T Phat_k v`` with ``row_of[k] = r`` and ``rhs[k] = b_k``;
* ``Pnn`` (built on first use): for each equality k a nonnegative quadratic that is zero exactly on
  its feasible points -- the PSD ``w w^T`` with ``w = [-b; a]`` for a linear row (``(a^T x - b)^2``),
  the row itself for ``qcbo.nonneg`` rows; ``has_nn[k]`` says where it exists (not for quadratic
  rows that are not marked nonneg: their square is quartic).

Vectorized use, no Python loop over constraints:

    L = lifted.combine(y)                # Qhat + sum_k y_k Phat_k           (one sparse mat-vec)
    L = lifted.combine(y, beta=rho)      # ... + sum_k beta_k Pnn_k           (augmented term)
    g = lifted.A_of(x)                   # (m_lifted,) or (B, m_lifted): g_k(x) on atoms
    g = lifted.inner(G)                  # <Phat_k, G> for any (n+1)x(n+1) matrix G
    qubo = lmo_qubo(L)                   # min_x v^T L v is this QUBO in x (offset L00)

``combine`` returns a csr with a fixed sparsity pattern (the union of all positions; entries may be
explicit zeros), so repeated calls cost one ``P^T y`` product plus an array copy.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from qcbo_model.errors import QCBOError
from qcbo_model.layout import slack_coefs
from qcbo_model.qcbo import QCBO

from ..ising.problems import QUBO

__all__ = ["LiftError", "LiftedRows", "PenaltyParts", "restricted_penalty", "objective_scale",
           "LiftedMatrices", "lmo_qubo", "lift_vectors"]


class LiftError(QCBOError):
    """The QCBO cannot be lifted or penalized as asked."""


def _row_scales(q) -> np.ndarray:
    s = np.zeros(q.m)
    if q.A.nnz:
        s = np.maximum(s, np.asarray(abs(q.A).max(axis=1).todense()).ravel())
    if len(q.quad_vals):
        np.maximum.at(s, q.quad_rows, np.abs(q.quad_vals))
    s[s == 0] = 1.0
    return s


def objective_scale(q) -> float:
    vals = np.concatenate([np.abs(q.Q.data), np.abs(q.c)])
    return float(vals.max()) if vals.size and vals.max() > 0 else 1.0


@dataclass
class LiftedRows:
    """Lifted constraint rows of a QCBO (see module docstring)."""

    qcbo: object
    kind: np.ndarray        # (m,) 'nonneg' | 'squared' | 'interval'
    scale: np.ndarray       # (m,) row divisor (already squared for squared rows)
    lo: np.ndarray          # (m,) lifted target interval (scaled)
    hi: np.ndarray
    obj_scale: float

    @classmethod
    def build(cls, q, square_equalities: bool = True) -> "LiftedRows":
        from qcbo_model.memory import check_memory
        # the squared equalities become A^T W A in every Lagrangian QUBO: up to nnz_r^2 entries per row
        row_nnz = np.diff(q.A.indptr) if sp.issparse(q.A) else np.count_nonzero(q.A, axis=1)
        sq_rows = q.is_equality & ~q.is_quadratic_row & ~q.nonneg if square_equalities else np.zeros(q.m, bool)
        pairs = float(np.sum(np.asarray(row_nnz, float)[sq_rows] ** 2))
        check_memory(3 * 24 * (pairs + q.A.nnz + len(q.quad_vals)),
                     f"the lifted rows of a QCBO with {q.n} binaries and {q.m} constraints",
                     "use a smaller model (--hidden, --intervals, --n-train)")
        rs = _row_scales(q)
        quad = q.is_quadratic_row
        kind = np.full(q.m, "interval", dtype=object)
        kind[q.nonneg] = "nonneg"
        if square_equalities:
            kind[q.is_equality & ~quad & ~q.nonneg] = "squared"
        scale = np.where(kind == "squared", rs ** 2, rs)
        lo = np.where(kind == "interval", q.lb / rs, 0.0)
        hi = np.where(kind == "interval", q.ub / rs, 0.0)
        return cls(q, kind, scale, lo, hi, objective_scale(q))

    @property
    def m(self) -> int:
        return len(self.kind)

    @property
    def is_target_zero(self) -> np.ndarray:
        return self.kind != "interval"

    def values(self, X) -> np.ndarray:
        """(B, m) scaled lifted row values s_r(x) of binary rows X."""
        q = self.qcbo
        g = q.constraint_values(X)
        out = g.copy()
        sq = self.kind == "squared"
        out[:, sq] = (g[:, sq] - q.lb[sq]) ** 2
        nn = self.kind == "nonneg"
        out[:, nn] = g[:, nn] - q.lb[nn]
        return out / self.scale

    def objective(self, X) -> np.ndarray:
        """(B,) scaled objective."""
        return self.qcbo.objective(X) / self.obj_scale

    def lagrangian_qubo(self, w) -> QUBO:
        """QUBO of  f(x)/obj_scale + sum_r w_r s_r(x)  (the LMO of v^T G v)."""
        q = self.qcbo
        w = np.asarray(w, float)
        ws = w / self.scale
        sq = self.kind == "squared"
        lin = ~sq
        # plain rows: linear part -> diagonal, quadratic parts summed with their weights
        diag = q.c / self.obj_scale + q.A.T @ np.where(lin, ws, 0.0)
        nn = self.kind == "nonneg"
        const = q.const / self.obj_scale - float(np.sum(ws[nn] * q.lb[nn]))
        M = q.Q / self.obj_scale
        if len(q.quad_vals):
            wq = np.where(lin, ws, 0.0)[q.quad_rows] * q.quad_vals
            M = M + sp.csr_matrix((wq, (q.quad_i, q.quad_j)), shape=(q.n, q.n))
        if sq.any():
            A = q.A[sq]
            b = q.lb[sq]
            d = sp.diags(ws[sq])
            M = M + A.T @ d @ A                                   # x^T A^T W A x
            diag = diag - 2.0 * (A.T @ (ws[sq] * b))
            const += float(np.sum(ws[sq] * b * b))
        M = sp.csr_matrix(M) + sp.diags(np.asarray(diag).ravel())
        return QUBO(M, const)


# ---------------------------------------------------------------------------------------------
# restricted penalty QUBOs (penalty baseline, large-neighbourhood steps)
@dataclass
class PenaltyParts:
    """QUBO parts over z = [x_F, slack]: energy = obj + lam-weighted penalty (see ``qubo``)."""

    free: np.ndarray          # (nf,) indices of the free x variables
    n_slack: int
    obj: sp.csr_matrix        # (nz, nz) objective restricted (diag = linear), plus obj_const
    obj_const: float
    rows: np.ndarray          # (mr,) constraint rows kept in the penalty
    H: sp.csr_matrix          # (mr, nz) linear residual h = H z + h0 (squared rows)
    h0: np.ndarray
    NN: sp.csr_matrix         # (nz, nz) nonneg rows' quadratic part (already summed with weights 1)
    nn_lin: np.ndarray        # (nz,)
    nn_const: float
    nn_rows: np.ndarray
    dropped_rows: np.ndarray  # rows left out (quadratic after restriction and not nonneg)
    slack_step: np.ndarray    # (mr,) slack resolution per kept row (0 for equalities)

    @property
    def nz(self) -> int:
        return len(self.free) + self.n_slack

    def qubo(self, lam, nn_weight=None) -> QUBO:
        """QUBO of obj + sum_r lam_r h_r^2 + nn_weight * nonneg rows (lam scalar or per kept row)."""
        lam = np.broadcast_to(np.asarray(lam, float), (len(self.rows),))
        nnw = float(np.mean(lam)) if nn_weight is None else float(nn_weight)
        D = sp.diags(lam)
        M = self.obj + self.H.T @ D @ self.H + nnw * self.NN
        lin = 2.0 * (self.H.T @ (lam * self.h0)) + nnw * self.nn_lin
        const = self.obj_const + float(np.sum(lam * self.h0 ** 2)) + nnw * self.nn_const
        return QUBO(sp.csr_matrix(M) + sp.diags(np.asarray(lin).ravel()), const)

    def expand(self, Z, x_fixed) -> np.ndarray:
        """Samples over z -> full x (B, n) with the fixed part from x_fixed."""
        Z = np.asarray(Z)
        X = np.repeat(np.asarray(x_fixed, np.uint8)[None], Z.shape[0], axis=0)
        X[:, self.free] = Z[:, :len(self.free)]
        return X


def restricted_penalty(q, free=None, x_fixed=None, slack_bits: int = 4, normalize: bool = True) -> PenaltyParts:
    """Penalty QUBO parts of QCBO ``q`` over the free variables (the others fixed to ``x_fixed``).

    After substituting the fixed values every row is linear or quadratic in x_F.  Linear rows become
    residuals h = a^T x_F + c0 - b (equalities) or h = a^T x_F + c0 - lo - s (inequalities; bounded
    slack s with resolution step = range / (2^slack_bits - 1); exact (step 1, log2(range) bits) for
    integer rows of range <= 255).  Quadratic rows flagged nonneg enter as they are; other quadratic rows cannot be
    penalized without a degree reduction and are reported in ``dropped_rows``.
    Rows are scaled by their largest coefficient and the objective by its largest one (normalize).
    """
    n = q.n
    free = np.arange(n) if free is None else np.asarray(free, np.int64)
    x_fixed = np.zeros(n) if x_fixed is None else np.asarray(x_fixed, float)
    is_free = np.zeros(n, bool)
    is_free[free] = True
    pos = -np.ones(n, np.int64)
    pos[free] = np.arange(len(free))
    nf = len(free)
    xf = np.where(is_free, 0.0, x_fixed)            # fixed values, free ones zeroed
    osc = objective_scale(q) if normalize else 1.0
    rs = _row_scales(q) if normalize else np.ones(q.m)

    # objective restricted
    Qc = q.Q.tocoo()
    fi, fj = is_free[Qc.row], is_free[Qc.col]
    both = fi & fj
    lin_o = np.zeros(nf)
    np.add.at(lin_o, pos[Qc.row[fi & ~fj]], Qc.data[fi & ~fj] * xf[Qc.col[fi & ~fj]])
    np.add.at(lin_o, pos[Qc.col[fj & ~fi]], Qc.data[fj & ~fi] * xf[Qc.row[fj & ~fi]])
    lin_o += q.c[free]
    oconst = q.const + float(xf @ q.c) + float(np.sum(Qc.data[~fi & ~fj] * xf[Qc.row[~fi & ~fj]] * xf[Qc.col[~fi & ~fj]]))
    Oq = sp.csr_matrix((Qc.data[both], (pos[Qc.row[both]], pos[Qc.col[both]])), shape=(nf, nf))
    Oq = Oq + sp.diags(lin_o)

    # constraint rows restricted: linear part L (m, nf), constant c0 (m), remaining quad (COO)
    A = q.A.tocsc()
    L = A[:, free].tocsr()
    c0 = A @ xf
    qi, qj, qr, qv = q.quad_i, q.quad_j, q.quad_rows, q.quad_vals
    fi, fj = is_free[qi], is_free[qj]
    c0 = c0 + np.bincount(qr[~fi & ~fj], qv[~fi & ~fj] * xf[qi[~fi & ~fj]] * xf[qj[~fi & ~fj]], minlength=q.m)
    one_i = fi & ~fj
    one_j = fj & ~fi
    L = L + sp.csr_matrix((np.concatenate([qv[one_i] * xf[qj[one_i]], qv[one_j] * xf[qi[one_j]]]),
                           (np.concatenate([qr[one_i], qr[one_j]]), np.concatenate([pos[qi[one_i]], pos[qj[one_j]]]))),
                          shape=(q.m, nf))
    qdiag = both_q = fi & fj
    same = both_q & (qi == qj)                       # x_i^2 = x_i: a linear term
    L = L + sp.csr_matrix((qv[same], (qr[same], pos[qi[same]])), shape=(q.m, nf))
    pair = both_q & (qi != qj)
    has_quad = np.zeros(q.m, bool)
    has_quad[qr[pair]] = True
    L = sp.csr_matrix(L)
    L.eliminate_zeros()
    touches = (np.diff(L.indptr) > 0) | has_quad

    nn = q.nonneg & touches
    lin_rows = touches & ~has_quad & ~q.nonneg
    dropped = np.where(touches & has_quad & ~q.nonneg)[0]

    # nonneg rows: sum_r (g_r - lb_r)/rs_r with quadratic pairs kept
    nn_rows = np.where(nn)[0]
    wn = np.where(nn, 1.0 / rs, 0.0)
    sel = pair & nn[qr]
    NN = sp.csr_matrix((qv[sel] * wn[qr[sel]], (pos[qi[sel]], pos[qj[sel]])), shape=(nf, nf))
    nn_lin = np.asarray(L.T @ wn).ravel()
    nn_const = float(np.sum(wn[nn] * (c0[nn] - q.lb[nn])))

    # linear rows: residual with slack for inequalities
    rows = np.where(lin_rows)[0]
    Lr = L[rows]
    a_pos = np.asarray(Lr.maximum(0).sum(axis=1)).ravel()
    a_neg = np.asarray(Lr.minimum(0).sum(axis=1)).ravel()
    gmin, gmax = c0[rows] + a_neg, c0[rows] + a_pos
    lb, ub = q.lb[rows], q.ub[rows]
    lo, hi = np.maximum(lb, gmin), np.minimum(ub, gmax)
    eq = (lb == ub) | (hi - lo <= 1e-12)
    target = np.where(lb == ub, lb, lo)
    width = np.where(eq, 0.0, np.maximum(hi - lo, 0.0))
    integer = np.all(np.isclose(Lr.data, np.round(Lr.data))) and np.allclose(c0[rows], np.round(c0[rows])) \
        and np.allclose(np.where(np.isfinite(lo), lo, 0), np.round(np.where(np.isfinite(lo), lo, 0)))
    steps = np.zeros(len(rows))
    s_rows, s_cols, s_vals = [], [], []
    ns = 0
    for_k = np.where(~eq)[0]
    if for_k.size:
        if integer:
            Ms = np.floor(width[for_k] + 1e-9).astype(np.int64)
            st = np.ones(for_k.size)
            cap = max(2 ** slack_bits - 1, 255)          # integer rows: exact up to a range of 255
            coarse = Ms > cap
            st[coarse] = width[for_k][coarse] / cap
            Ms[coarse] = cap
        else:
            Ms = np.full(for_k.size, 2 ** slack_bits - 1)
            st = width[for_k] / Ms
        steps[for_k] = st
        # group rows by M so each group gets one coefficient vector (vectorized per distinct M)
        for M in np.unique(Ms):
            g = for_k[Ms == M]
            coefs = slack_coefs(int(M) + 1)
            k = len(coefs)
            if k == 0:
                continue
            cols = nf + ns + np.arange(g.size * k).reshape(g.size, k)
            s_rows.append(np.repeat(g, k))
            s_cols.append(cols.ravel())
            s_vals.append((-coefs[None, :] * steps[g][:, None]).ravel())
            ns += g.size * k
    nz = nf + ns
    Hs = sp.csr_matrix((np.concatenate(s_vals) if s_vals else np.zeros(0),
                        (np.concatenate(s_rows) if s_rows else np.zeros(0, int),
                         np.concatenate(s_cols) if s_cols else np.zeros(0, int))), shape=(len(rows), nz))
    Lr_ext = sp.csr_matrix((Lr.data, Lr.indices, Lr.indptr), shape=(len(rows), nz))
    scale = rs[rows]
    Dinv = sp.diags(1.0 / scale)
    H = sp.csr_matrix(Dinv @ (Lr_ext + Hs))
    h0 = (c0[rows] - target) / scale
    def pad(M_):
        M_ = sp.csr_matrix(M_)
        return M_ if ns == 0 else sp.block_diag([M_, sp.csr_matrix((ns, ns))], format="csr")
    return PenaltyParts(free=free, n_slack=ns, obj=pad(sp.csr_matrix(Oq)) / osc, obj_const=oconst / osc, rows=rows,
                        H=H, h0=h0, NN=pad(NN), nn_lin=np.concatenate([nn_lin, np.zeros(ns)]), nn_const=nn_const,
                        nn_rows=nn_rows, dropped_rows=dropped, slack_step=steps)


# ---------------------------------------------------------------------------------------------
# lifted matrices (general (n+1)x(n+1) view; the transpile checks and the conventions example)
def lift_vectors(X) -> np.ndarray:
    """(B, n) or (n,) binary -> (B, n+1) rows v = [1; x]."""
    X = np.atleast_2d(np.asarray(X, dtype=float))
    return np.concatenate([np.ones((X.shape[0], 1)), X], axis=1)


def _pairs_within_rows(indptr: np.ndarray):
    """All (a, b) entry-index pairs with a, b in the same csr row (for outer products)."""
    cnt = np.diff(indptr)
    reps = np.repeat(cnt, cnt)                       # for each entry a, the size of its row
    a = np.repeat(np.arange(indptr[-1]), reps)
    starts = np.repeat(np.repeat(indptr[:-1], cnt), reps)
    offs = np.arange(len(a)) - np.repeat(np.cumsum(reps) - reps, reps)
    return a, starts + offs


class _Stack:
    """Rows of lifted matrices over a shared sorted key list; csr output with a fixed pattern."""

    def __init__(self, rows, i, j, v, m, n1, base=None):
        keys = i.astype(np.int64) * n1 + j.astype(np.int64)
        if base is not None:
            bkeys = base[0].astype(np.int64) * n1 + base[1].astype(np.int64)
            allk = np.concatenate([keys, bkeys])
        else:
            allk = keys
        self.keys, inv = np.unique(allk, return_inverse=True)
        kidx = inv[:len(keys)]
        self.n1 = n1
        self.ki, self.kj = self.keys // n1, self.keys % n1
        self.M = sp.csr_matrix((v, (rows, kidx)), shape=(m, len(self.keys)))
        self.M.sum_duplicates()
        self.MT = self.M.T.tocsr()
        self.base = np.zeros(len(self.keys))
        if base is not None:
            np.add.at(self.base, inv[len(keys):], base[2])
        self.indptr = np.searchsorted(self.ki, np.arange(n1 + 1)).astype(np.int64)

    def matrix(self, vals) -> sp.csr_matrix:
        return sp.csr_matrix((vals, self.kj.copy(), self.indptr.copy()), shape=(self.n1, self.n1))

    def row_matrix(self, k: int) -> sp.csr_matrix:
        row = self.M[k]
        out = sp.csr_matrix((row.data, (self.ki[row.indices], self.kj[row.indices])), shape=(self.n1, self.n1))
        return out

    def on_atoms(self, V) -> np.ndarray:
        """(B, n1) lifted vectors -> (B, m) values v^T M_k v."""
        return np.asarray(self.M @ (V[:, self.ki] * V[:, self.kj]).T).T

    def inner(self, G) -> np.ndarray:
        if sp.issparse(G):
            g = np.asarray(sp.csr_matrix(G)[self.ki, self.kj]).ravel()
        else:
            g = np.asarray(G)[self.ki, self.kj]
        return np.asarray(self.M @ g).ravel()


class LiftedMatrices:
    """Objective and constraints of a QCBO as lifted (n+1)x(n+1) matrices; see the module doc."""

    def __init__(self, qcbo: QCBO, chunk: int = 512):
        q = qcbo
        self.qcbo = q
        n, m = q.n, q.m
        n1 = n + 1
        self.n = n
        self.chunk = int(chunk)
        # normalized rows: (source row, sign, rhs, sense); at most two per QCBO row, in row order
        eq = q.lb == q.ub
        up = ~eq & np.isfinite(q.ub)
        low = ~eq & np.isfinite(q.lb)
        src = np.concatenate([np.flatnonzero(eq), np.flatnonzero(up), np.flatnonzero(low)])
        side = np.concatenate([np.zeros(eq.sum(), np.int8), np.ones(up.sum(), np.int8), np.full(low.sum(), 2, np.int8)])
        order = np.lexsort((side, src))
        self.row_of, side = src[order], side[order]
        self.sign = np.where(side == 2, -1.0, 1.0)
        self.rhs = np.where(side == 2, q.lb[self.row_of], np.where(side == 1, q.ub[self.row_of], q.lb[self.row_of]))
        self.sense = np.where(side == 0, "eq", "le")
        self.is_eq = side == 0
        self.names = [q.con_names[r] + ("" if s == 0 else ("<=" if s == 1 else ">=")) for r, s in
                      zip(self.row_of.tolist(), side.tolist())]
        ml = len(self.row_of)
        self.m = ml

        # lifted entries of every normalized row, from the QCBO rows (vectorized via a row map)
        first = np.full(m, -1, np.int64)
        second = np.full(m, -1, np.int64)
        ks = np.arange(ml)
        is_first = np.ones(ml, bool)
        is_first[1:] = self.row_of[1:] != self.row_of[:-1]
        first[self.row_of[is_first]] = ks[is_first]
        second[self.row_of[~is_first]] = ks[~is_first]
        A = q.A.tocoo()
        R, I, J, Vv = [], [], [], []
        for rowmap in (first, second):
            # quadratic part: diagonal as is, off-diagonal split in halves
            k = rowmap[q.quad_rows]
            s = k >= 0
            kk, qi, qj, qv = k[s], q.quad_i[s], q.quad_j[s], q.quad_vals[s] * self.sign[k[s]]
            d = qi == qj
            R += [kk[d], kk[~d], kk[~d]]
            I += [qi[d] + 1, qi[~d] + 1, qj[~d] + 1]
            J += [qj[d] + 1, qj[~d] + 1, qi[~d] + 1]
            Vv += [qv[d], qv[~d] / 2, qv[~d] / 2]
            k = rowmap[A.row]
            s = k >= 0
            kk, ai, av = k[s], A.col[s], A.data[s] * self.sign[k[s]]
            R += [kk, kk]
            I += [np.zeros_like(ai), ai + 1]
            J += [ai + 1, np.zeros_like(ai)]
            Vv += [av / 2, av / 2]
        R.append(ks)
        I.append(np.zeros(ml, np.int64))
        J.append(np.zeros(ml, np.int64))
        Vv.append(-self.sign * self.rhs)
        # objective
        Qc = q.Q.tocoo()
        d = Qc.row == Qc.col
        nz = np.flatnonzero(q.c)
        oi = np.concatenate([Qc.row[d] + 1, Qc.row[~d] + 1, Qc.col[~d] + 1, np.zeros(len(nz), np.int64), nz + 1, [0]])
        oj = np.concatenate([Qc.col[d] + 1, Qc.col[~d] + 1, Qc.row[~d] + 1, nz + 1, np.zeros(len(nz), np.int64), [0]])
        ov = np.concatenate([Qc.data[d], Qc.data[~d] / 2, Qc.data[~d] / 2, q.c[nz] / 2, q.c[nz] / 2, [q.const]])
        self._main = _Stack(np.concatenate(R), np.concatenate(I), np.concatenate(J), np.concatenate(Vv), ml, n1,
                            base=(oi, oj, ov))
        self._nn = None

    # ---- the stacked data ------------------------------------------------------------------------
    @property
    def n_lifted(self) -> int:
        return self.n + 1

    @property
    def P(self) -> sp.csr_matrix:
        """(m_lifted, n_keys) stacked Phat_k over positions (keys_i, keys_j)."""
        return self._main.M

    @property
    def keys_i(self) -> np.ndarray:
        return self._main.ki

    @property
    def keys_j(self) -> np.ndarray:
        return self._main.kj

    @property
    def Qhat(self) -> sp.csr_matrix:
        return self._main.matrix(self._main.base.copy())

    def Phat(self, k: int) -> sp.csr_matrix:
        """The lifted matrix of normalized row k (symmetric (n+1)x(n+1) csr)."""
        return self._main.row_matrix(int(k))

    @property
    def y_lower(self) -> np.ndarray:
        """Multiplier lower bounds: 0 for '<= 0' rows, -inf for equalities."""
        return np.where(self.is_eq, -np.inf, 0.0)

    def _build_nn(self):
        q = self.qcbo
        n1 = self.n + 1
        eqk = np.flatnonzero(self.is_eq)
        src = self.row_of[eqk]
        quadrow = q.is_quadratic_row[src]
        nn_src = q.nonneg[src]
        lin_k = eqk[~quadrow & ~nn_src]
        nnq_k = eqk[nn_src]
        self.has_nn = np.zeros(self.m, bool)
        self.has_nn[lin_k] = True
        self.has_nn[nnq_k] = True
        # linear rows: w = [-b; a] over positions [0; 1+i], outer product
        Asub = q.A[self.row_of[lin_k]].tocsr()
        Asub.sort_indices()
        cnt = np.diff(Asub.indptr) + 1
        indptr = np.concatenate([[0], np.cumsum(cnt)])
        pos = np.empty(indptr[-1], np.int64)
        val = np.empty(indptr[-1])
        heads = indptr[:-1]
        pos[heads] = 0
        val[heads] = -self.rhs[lin_k]
        body = np.ones(indptr[-1], bool)
        body[heads] = False
        pos[body] = Asub.indices + 1
        val[body] = Asub.data
        a, b = _pairs_within_rows(indptr)
        rowk = np.repeat(lin_k, cnt)
        R = [rowk[a]]
        I = [pos[a]]
        J = [pos[b]]
        V = [val[a] * val[b]]
        # nonneg rows: the row's own lifted matrix
        if len(nnq_k):
            M = self._main.M[nnq_k].tocoo()
            R.append(nnq_k[M.row])
            I.append(self._main.ki[M.col])
            J.append(self._main.kj[M.col])
            V.append(M.data)
        self._nn = _Stack(np.concatenate(R), np.concatenate(I), np.concatenate(J), np.concatenate(V), self.m, n1)

    @property
    def Pnn(self) -> sp.csr_matrix:
        """(m_lifted, n_keys_nn) stacked nonnegative forms (zero rows where ``has_nn`` is False)."""
        if self._nn is None:
            self._build_nn()
        return self._nn.M

    def Pnn_matrix(self, k: int) -> sp.csr_matrix:
        if self._nn is None:
            self._build_nn()
        return self._nn.row_matrix(int(k))

    # ---- numerics ----------------------------------------------------------------------------------
    def combine(self, y, beta=None, objective_weight: float = 1.0) -> sp.csr_matrix:
        """``objective_weight * Qhat + sum_k y_k Phat_k (+ sum_k beta_k Pnn_k)`` as symmetric csr.

        ``y``: (m_lifted,) multipliers; ``beta``: None, a number or (m_lifted,) weights of the
        nonnegative forms (ignored where ``has_nn`` is False)."""
        y = np.asarray(y, dtype=float).ravel()
        if y.shape[0] != self.m:
            raise LiftError(f"y must have length m_lifted={self.m}, got {y.shape[0]}")
        vals = objective_weight * self._main.base + self._main.MT @ y
        out = self._main.matrix(vals)
        if beta is not None:
            if self._nn is None:
                self._build_nn()
            bvec = np.broadcast_to(np.asarray(beta, dtype=float), (self.m,))
            out = out + self._nn.matrix(self._nn.MT @ bvec)
        return out

    def A_of(self, x) -> np.ndarray:
        """g_k(x) = v^T Phat_k v for binary x (n,) -> (m_lifted,), or (B, n) -> (B, m_lifted)."""
        single = np.asarray(x).ndim == 1
        V = lift_vectors(x)
        out = np.concatenate([self._main.on_atoms(V[s:s + self.chunk]) for s in range(0, len(V), self.chunk)]) \
            if len(V) else np.zeros((0, self.m))
        return out[0] if single else out

    def nn_of(self, x) -> np.ndarray:
        """v^T Pnn_k v on atoms (same shapes as ``A_of``)."""
        if self._nn is None:
            self._build_nn()
        single = np.asarray(x).ndim == 1
        V = lift_vectors(x)
        out = np.concatenate([self._nn.on_atoms(V[s:s + self.chunk]) for s in range(0, len(V), self.chunk)])
        return out[0] if single else out

    def objective_of(self, x) -> np.ndarray:
        V = lift_vectors(x)
        Qh = self.Qhat
        out = np.einsum("bi,bi->b", np.asarray((Qh @ V.T).T), V)
        return out[0] if np.asarray(x).ndim == 1 else out

    def inner(self, G) -> np.ndarray:
        """<Phat_k, G> for every k, for any (n+1)x(n+1) matrix G (dense or sparse)."""
        return self._main.inner(G)

    def constraint_values(self, x) -> np.ndarray:
        """QCBO body values recovered from the lifted rows: body = sign * g + rhs (per lifted row)."""
        return self.sign * self.A_of(x) + self.rhs

    def __repr__(self):
        return (f"LiftedMatrices(n={self.n}, m_lifted={self.m}, equalities={int(self.is_eq.sum())}, "
                f"positions={len(self._main.keys)}, nnz(P)={self.P.nnz})")


def lmo_qubo(G) -> QUBO:
    """A lifted (n+1)x(n+1) matrix G -> the QUBO in x with v^T G v = x^T Q x + offset (v = [1; x]).

    v^T G v = G00 + (G0x + Gx0)^T x + x^T Gxx x  (= G00 + 2 G0x^T x + x^T Gxx x for symmetric G),
    so Q = Gxx + diag(G0x + Gx0), offset = G00. Minimizing the QUBO is the linear minimization oracle
    min over atoms V = v v^T of <G, V>."""
    if sp.issparse(G):
        G = sp.csr_matrix(G)
    else:
        G = np.asarray(G, dtype=float)
    if G.ndim != 2 or G.shape[0] != G.shape[1] or G.shape[0] < 1:
        raise LiftError(f"G must be a square (n+1)x(n+1) matrix, got shape {G.shape}")
    if sp.issparse(G):
        lin = np.asarray(G[0, 1:].todense()).ravel() + np.asarray(G[1:, 0].todense()).ravel()
        Q = sp.csr_matrix(G[1:, 1:]) + sp.diags(lin)
        g00 = float(G[0, 0])
    else:
        Q = G[1:, 1:] + np.diag(G[0, 1:] + G[1:, 0])
        g00 = float(G[0, 0])
    return QUBO(Q, g00)
