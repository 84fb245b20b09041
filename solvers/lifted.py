"""The QCBO in lifted form on v = [1; x], compiled once and reused numerically (for QCGD).

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

import numpy as np
import scipy.sparse as sp

from qcbo_model.qcbo import QCBO

from .problems import QUBO
from .transpile import TranspileError

__all__ = ["LiftedMatrices", "lmo_qubo", "lift_vectors"]


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
            raise TranspileError(f"y must have length m_lifted={self.m}, got {y.shape[0]}")
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
        raise TranspileError(f"G must be a square (n+1)x(n+1) matrix, got shape {G.shape}")
    if sp.issparse(G):
        lin = np.asarray(G[0, 1:].todense()).ravel() + np.asarray(G[1:, 0].todense()).ravel()
        Q = sp.csr_matrix(G[1:, 1:]) + sp.diags(lin)
        g00 = float(G[0, 0])
    else:
        Q = G[1:, 1:] + np.diag(G[0, 1:] + G[1:, 0])
        g00 = float(G[0, 0])
    return QUBO(Q, g00)
