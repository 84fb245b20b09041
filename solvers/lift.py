"""Numeric lifts of a canonical QCBO: the lifted constraint rows of QCGD and restricted penalty QUBOs.

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
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from qcbo_model.errors import QCBOError
from qcbo_model.layout import slack_coefs

from .problems import QUBO


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
