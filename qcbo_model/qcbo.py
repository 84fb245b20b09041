"""The canonical sparse QCBO: the single hand-off between the model and every solver.

    minimize    x^T Q x + c^T x + const                 x in {0,1}^n
    subject to  lb_r <= x^T P_r x + a_r^T x <= ub_r      r = 0..m-1

Conventions (stated once, here):
- variables are binary {0,1}; Q and every P_r are upper-triangular (i <= j); a diagonal entry
  Q_ii is a linear term (x_i^2 = x_i) but is kept where the model put it;
- constraint constants are folded into lb/ub; an equality has lb == ub; -inf/+inf mark open sides;
- ``nonneg[r]`` marks a constraint whose quadratic is >= 0 on every binary point and == 0 exactly on
  the feasible ones (Rosenberg products, ternary exclusions): QCGD may lift it as it is.

All constraint quadratic parts are stored together in COO form (row, i, j, value) so that a batch of
assignments is evaluated with two sparse products, without a Python loop over constraints.
"""
from __future__ import annotations

import json
import re

import numpy as np
import scipy.sparse as sp

from .errors import FormulationError

_NAME_RE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\[([^\]]*)\]$")


def _upper(M: sp.spmatrix) -> sp.csr_matrix:
    """Fold a square sparse matrix into upper-triangular form with the same quadratic form."""
    M = sp.coo_matrix(M)
    i, j, v = M.row, M.col, M.data
    lo = i > j
    i2, j2 = np.where(lo, j, i), np.where(lo, i, j)
    n = M.shape[0]
    return sp.csr_matrix((v, (i2, j2)), shape=(n, n))


class QCBO:
    def __init__(self, var_names, Q, c, const, A, quad_rows, quad_i, quad_j, quad_vals,
                 lb, ub, con_names, con_family, nonneg=None, groups=None, meta=None):
        n = len(var_names)
        self.var_names = list(var_names)
        self.Q = _upper(sp.csr_matrix(Q, shape=(n, n)))
        self.Q.sum_duplicates()
        self.Q.sort_indices()
        self.c = np.asarray(c, dtype=float).reshape(n)
        self.const = float(const)
        m = len(con_names)
        self.A = sp.csr_matrix(A, shape=(m, n))
        self.A.sum_duplicates()
        self.A.sort_indices()
        self.A.eliminate_zeros()
        self.Q.eliminate_zeros()
        qv = np.asarray(quad_vals, dtype=float)
        keep = qv != 0.0
        quad_rows = np.asarray(quad_rows, dtype=np.int64)[keep]
        qv = qv[keep]
        qi, qj = np.asarray(quad_i, dtype=np.int64)[keep], np.asarray(quad_j, dtype=np.int64)[keep]
        # canonical COO: i <= j, duplicates summed, sorted by (row, i, j)
        lo_i, hi_j = np.minimum(qi, qj), np.maximum(qi, qj)
        key = sp.coo_matrix((qv, (quad_rows, lo_i * n + hi_j)),
                            shape=(m, n * n)).tocsr()
        key.sum_duplicates()
        key.eliminate_zeros()
        key.sort_indices()
        rows = np.repeat(np.arange(m), np.diff(key.indptr))
        self.quad_rows = rows
        self.quad_i = key.indices // n
        self.quad_j = key.indices % n
        self.quad_vals = key.data.astype(float)
        for a in (self.quad_rows, self.quad_i, self.quad_j, self.quad_vals):
            a.flags.writeable = False   # the scatter matrix of constraint_values is cached from them
        self.lb = np.asarray(lb, dtype=float).reshape(m)
        self.ub = np.asarray(ub, dtype=float).reshape(m)
        self.con_names = list(con_names)
        self.con_family = np.asarray(con_family, dtype=object).reshape(m)
        self.nonneg = np.zeros(m, bool) if nonneg is None else np.asarray(nonneg, bool).reshape(m)
        self.groups = {k: np.asarray(v, dtype=np.int64) for k, v in (groups or {}).items()}
        self.meta = dict(meta or {})
        self._var_index = None
        self._con_index = None
        self._scatter = None
        if np.any(self.lb > self.ub):
            raise FormulationError("a constraint has lb > ub")

    # ---- sizes ----------------------------------------------------------------------------
    @property
    def n(self) -> int:
        return len(self.var_names)

    @property
    def m(self) -> int:
        return len(self.con_names)

    @property
    def is_quadratic_row(self) -> np.ndarray:
        q = np.zeros(self.m, bool)
        q[self.quad_rows] = True
        return q

    @property
    def n_quadratic_constraints(self) -> int:
        return int(self.is_quadratic_row.sum())

    @property
    def is_equality(self) -> np.ndarray:
        return self.lb == self.ub

    def var_index(self, name: str) -> int:
        if self._var_index is None:
            self._var_index = {v: i for i, v in enumerate(self.var_names)}
        try:
            return self._var_index[name]
        except KeyError:
            raise KeyError(f"no variable named {name!r}") from None

    def con_index(self, name: str) -> int:
        if self._con_index is None:
            self._con_index = {v: i for i, v in enumerate(self.con_names)}
        try:
            return self._con_index[name]
        except KeyError:
            raise KeyError(f"no constraint named {name!r}; families: {sorted(set(self.con_family))}") from None

    def find(self, family: str, *index) -> int:
        """Row of constraint ``family[index...]``, e.g. ``find('interval_upper', 1, 3, 2)``."""
        return self.con_index(f"{family}[{','.join(str(int(i)) for i in index)}]")

    # ---- evaluation (vectorized over a batch of assignments) ------------------------------
    @staticmethod
    def _batch(X) -> np.ndarray:
        X = np.asarray(X, dtype=float)
        return X[None, :] if X.ndim == 1 else X

    def objective(self, X) -> np.ndarray:
        X = self._batch(X)
        return np.asarray((self.Q @ X.T).T * X).sum(axis=1) + X @ self.c + self.const

    def constraint_values(self, X, chunk: int = 256) -> np.ndarray:
        """(B, m) values of x^T P_r x + a_r^T x (constants are in lb/ub)."""
        X = self._batch(X)
        B = X.shape[0]
        out = np.asarray((self.A @ X.T).T)
        if len(self.quad_vals):
            St = self._quad_scatter()
            for s in range(0, B, chunk):
                Xb = X[s:s + chunk]
                prods = Xb[:, self.quad_i] * Xb[:, self.quad_j]
                out[s:s + chunk] += np.asarray(St @ prods.T).T
        return out

    def _quad_scatter(self) -> sp.csr_matrix:
        # (m, nnz) map from the products of the COO terms to their rows; built once, reused by every
        # batch evaluation (QCGD, verify and the baselines call constraint_values many times).
        if self._scatter is None:
            self._scatter = sp.csr_matrix((self.quad_vals, (self.quad_rows, np.arange(len(self.quad_vals)))),
                                          shape=(self.m, len(self.quad_vals)))
        return self._scatter

    def violations(self, X) -> np.ndarray:
        """(B, m) amount by which each constraint is violated (0 where satisfied)."""
        v = self.constraint_values(X)
        return np.maximum(self.lb - v, 0.0) + np.maximum(v - self.ub, 0.0)

    def is_feasible(self, X, tol: float = 1e-7) -> np.ndarray:
        return np.all(self.violations(X) <= tol * (1.0 + np.abs(np.where(np.isfinite(self.ub), self.ub, 0.0))), axis=1)

    # ---- per-constraint access ------------------------------------------------------------
    def constraint_parts(self, r: int):
        """(P_r upper-triangular csr, a_r dense, lb_r, ub_r)."""
        sel = self.quad_rows == r
        P = sp.csr_matrix((self.quad_vals[sel], (self.quad_i[sel], self.quad_j[sel])), shape=(self.n, self.n))
        a = np.asarray(self.A[r].todense()).ravel()
        return P, a, self.lb[r], self.ub[r]

    def show(self, key, digits: int = 6) -> str:
        """Algebra of one constraint, by row number or name: ``qcbo.show('interval_upper[1,3,2]')``."""
        r = self.con_index(key) if isinstance(key, str) else int(key)
        sel = self.quad_rows == r
        terms = []
        for i, j, v in zip(self.quad_i[sel], self.quad_j[sel], self.quad_vals[sel]):
            terms.append((v, f"{self.var_names[i]}*{self.var_names[j]}"))
        row = self.A[r]
        for i, v in zip(row.indices, row.data):
            terms.append((v, self.var_names[i]))
        body = " ".join(f"{'-' if v < 0 else '+'} {abs(v):.{digits}g} {t}" for v, t in terms) or "0"
        lb, ub = self.lb[r], self.ub[r]
        name = self.con_names[r]
        if lb == ub:
            return f"{name}: {body} == {lb:.{digits}g}"
        if np.isfinite(lb) and np.isfinite(ub):
            return f"{name}: {lb:.{digits}g} <= {body} <= {ub:.{digits}g}"
        if np.isfinite(lb):
            return f"{name}: {body} >= {lb:.{digits}g}"
        return f"{name}: {body} <= {ub:.{digits}g}"

    def show_objective(self, digits: int = 6) -> str:
        Q = self.Q.tocoo()
        terms = [(v, f"{self.var_names[i]}*{self.var_names[j]}") for i, j, v in zip(Q.row, Q.col, Q.data)]
        terms += [(v, self.var_names[i]) for i, v in enumerate(self.c) if v != 0]
        body = " ".join(f"{'-' if v < 0 else '+'} {abs(v):.{digits}g} {t}" for v, t in terms)
        return f"minimize {body} + {self.const:.{digits}g}"

    # ---- statistics -------------------------------------------------------------------------
    def coefficient_range(self) -> dict:
        vals = np.concatenate([np.abs(self.Q.data), np.abs(self.c), np.abs(self.A.data),
                               np.abs(self.quad_vals)])
        vals = vals[vals > 0]
        cons = np.concatenate([np.abs(self.A.data), np.abs(self.quad_vals)])
        cons = cons[cons > 0]
        return {"min_abs": float(vals.min()) if vals.size else 0.0,
                "max_abs": float(vals.max()) if vals.size else 0.0,
                "constraint_min_abs": float(cons.min()) if cons.size else 0.0,
                "constraint_max_abs": float(cons.max()) if cons.size else 0.0}

    def stats(self) -> dict:
        fam, counts = np.unique(self.con_family.astype(str), return_counts=True)
        return {"n_variables": self.n, "n_constraints": self.m,
                "n_quadratic_constraints": self.n_quadratic_constraints,
                "n_equalities": int(self.is_equality.sum()),
                "constraints_by_family": dict(zip(fam.tolist(), counts.tolist())),
                "nnz_objective": int(self.Q.nnz + np.count_nonzero(self.c)),
                "nnz_constraints": int(self.A.nnz + len(self.quad_vals)),
                "groups": {k: int(len(v)) for k, v in self.groups.items()},
                "coefficient_range": self.coefficient_range()}

    # ---- comparison -----------------------------------------------------------------------
    def compare(self, other: "QCBO") -> dict:
        """Largest absolute differences against another QCBO (names must agree)."""
        if self.var_names != other.var_names:
            raise FormulationError("variable names differ")
        if self.con_names != other.con_names:
            raise FormulationError("constraint names differ")
        def dmat(a, b):
            d = (a - b).tocoo()
            return float(np.abs(d.data).max()) if d.nnz else 0.0
        Pa = sp.csr_matrix((self.quad_vals, (self.quad_rows, self.quad_i * self.n + self.quad_j)),
                           shape=(self.m, self.n * self.n))
        Pb = sp.csr_matrix((other.quad_vals, (other.quad_rows, other.quad_i * other.n + other.quad_j)),
                           shape=(other.m, other.n * other.n))
        fin = np.isfinite(self.lb) | np.isfinite(other.lb)
        fin_u = np.isfinite(self.ub) | np.isfinite(other.ub)
        return {
            "Q": dmat(self.Q, other.Q),
            "c": float(np.abs(self.c - other.c).max(initial=0.0)),
            "const": abs(self.const - other.const),
            "A": dmat(self.A, other.A),
            "P": dmat(Pa, Pb),
            "lb": float(np.abs(self.lb[fin] - other.lb[fin]).max(initial=0.0)),
            "ub": float(np.abs(self.ub[fin_u] - other.ub[fin_u]).max(initial=0.0)),
            "lb_inf_match": bool(np.array_equal(np.isinf(self.lb), np.isinf(other.lb))),
            "ub_inf_match": bool(np.array_equal(np.isinf(self.ub), np.isinf(other.ub))),
        }

    # ---- persistence --------------------------------------------------------------------------
    def save(self, path) -> None:
        Q = self.Q.tocoo()
        A = self.A.tocoo()
        arrays = dict(var_names=np.array(self.var_names), Q_row=Q.row, Q_col=Q.col, Q_val=Q.data,
                      c=self.c, const=np.array(self.const), A_row=A.row, A_col=A.col, A_val=A.data,
                      quad_rows=self.quad_rows, quad_i=self.quad_i, quad_j=self.quad_j,
                      quad_vals=self.quad_vals, lb=self.lb, ub=self.ub,
                      con_names=np.array(self.con_names), con_family=self.con_family.astype(str),
                      nonneg=self.nonneg, meta=np.array(json.dumps(self.meta)))
        for k, v in self.groups.items():
            arrays[f"group__{k}"] = v
        # atomically: a temporary file in the same folder, renamed over ``path`` once complete
        import os
        import tempfile
        path = os.fspath(path)
        folder = os.path.dirname(os.path.abspath(path))
        fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=folder)
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez_compressed(f, **arrays)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    @classmethod
    def load(cls, path) -> "QCBO":
        z = np.load(path, allow_pickle=False)
        n, m = len(z["var_names"]), len(z["con_names"])
        Q = sp.coo_matrix((z["Q_val"], (z["Q_row"], z["Q_col"])), shape=(n, n))
        A = sp.coo_matrix((z["A_val"], (z["A_row"], z["A_col"])), shape=(m, n))
        groups = {k[len("group__"):]: z[k] for k in z.files if k.startswith("group__")}
        return cls(z["var_names"].tolist(), Q, z["c"], float(z["const"]), A, z["quad_rows"], z["quad_i"],
                   z["quad_j"], z["quad_vals"], z["lb"], z["ub"], z["con_names"].tolist(),
                   z["con_family"].tolist(), nonneg=z["nonneg"], groups=groups,
                   meta=json.loads(str(z["meta"])))

    def __repr__(self) -> str:
        return (f"QCBO(n={self.n}, m={self.m}, quadratic_constraints={self.n_quadratic_constraints}, "
                f"form={self.meta.get('form', '?')})")
