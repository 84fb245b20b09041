"""Problem types for the Ising side of qcbo-qnn.

Conventions (the single place in code where they are defined)
-------------------------------------------------------------
* Binary variables ``x in {0,1}``; spins ``s = 2x - 1 in {-1,+1}``.
* QUBO energy ``E(x) = x^T Q x + offset``.  ``Q`` is stored upper-triangular;
  the diagonal holds the linear terms (``x_i^2 = x_i``).  Constructors accept
  any square matrix (dense ndarray or scipy.sparse) and fold it as
  ``triu(Q + Q^T - diag(Q))``, which leaves the energy unchanged.
* Ising energy ``E(s) = s^T J s + h^T s + offset`` with ``J`` strictly
  upper-triangular, i.e. ``E = sum_{i<j} J_ij s_i s_j + sum_i h_i s_i + offset``
  (the pyqubo/dimod convention).  A diagonal given to the constructor is
  folded into ``offset`` (``s_i^2 = 1``); a lower triangle is folded onto the
  upper one.
* Benchmark files (``shared/benchmarks/ising``) use
  ``H(s) = -1/2 s^T J_file s`` with symmetric ``J_file`` and zero diagonal, so
  ``J_ours = -triu(J_file, 1)``.  MaxCut files store an adjacency/weight
  matrix ``A`` with ``J_file = -A`` and ``cut = (total_edge_weight - H) / 2``.

QUBO <-> Ising conversions are exact (offsets included).
"""
from __future__ import annotations

import os
from typing import Optional, Union

import numpy as np
import scipy.sparse as sp

from qcbo_model.errors import QCBOError

__all__ = ["ProblemError", "QUBO", "Ising", "as_ising", "load_coupling_matrix"]

Matrix = Union[np.ndarray, sp.spmatrix, sp.sparray]


class ProblemError(QCBOError):
    """Invalid problem data (shape, NaN, unreadable file...)."""


def _check_square(M, what: str):
    if M.ndim != 2 or M.shape[0] != M.shape[1]:
        raise ProblemError(f"{what} must be a square 2-D matrix, got shape {M.shape}")


def _finite(M, what: str):
    data = M.data if sp.issparse(M) else M
    if not np.all(np.isfinite(data)):
        raise ProblemError(f"{what} contains NaN or inf; clean the coefficients first")


def _to_float(M):
    if sp.issparse(M):
        return sp.csr_matrix(M, dtype=np.float64)
    try:
        A = np.asarray(M, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ProblemError(f"cannot convert matrix to float64: {exc}") from exc
    return A


def _fold_upper(M, keep_diag: bool):
    """triu(M + M^T - diag) (keep_diag) or triu(M + M^T, 1) plus trace."""
    if sp.issparse(M):
        d = M.diagonal()
        U = sp.triu(M, 1) + sp.triu(M.T, 1)
        if keep_diag:
            U = U + sp.diags(d)
        U = sp.csr_matrix(U)
        U.eliminate_zeros()
        return U, d
    d = np.diag(M).copy()
    U = np.triu(M, 1) + np.triu(M.T, 1)
    if keep_diag:
        U[np.diag_indices_from(U)] = d
    return U, d


def _rows(X, n: int, what: str) -> np.ndarray:
    X = np.asarray(X)
    single = X.ndim == 1
    X2 = X.reshape(1, -1) if single else X
    if X2.ndim != 2 or X2.shape[1] != n:
        raise ProblemError(f"{what} must have shape (R, {n}) or ({n},), got {X.shape}")
    return X2


class QUBO:
    """QUBO ``E(x) = x^T Q x + offset`` with upper-triangular ``Q``."""

    def __init__(self, Q: Matrix, offset: float = 0.0):
        Q = _to_float(Q)
        _check_square(Q, "Q")
        _finite(Q, "Q")
        if not np.isfinite(offset):
            raise ProblemError("offset must be finite")
        self.Q, _ = _fold_upper(Q, keep_diag=True)
        self.offset = float(offset)

    @property
    def n(self) -> int:
        return self.Q.shape[0]

    @property
    def is_sparse(self) -> bool:
        return sp.issparse(self.Q)

    def dense(self) -> np.ndarray:
        return self.Q.toarray() if self.is_sparse else self.Q

    def energy(self, X) -> np.ndarray:
        """Energies of binary rows ``X`` (shape (R, n) or (n,)) -> (R,)."""
        X2 = _rows(X, self.n, "X").astype(np.float64, copy=False)
        QX = (self.Q.T @ X2.T).T if self.is_sparse else X2 @ self.Q
        return np.einsum("ij,ij->i", np.asarray(QX), X2) + self.offset

    def to_ising(self) -> "Ising":
        # x = (s+1)/2:  U_ij x_i x_j = U_ij/4 (s_i s_j + s_i + s_j + 1)
        Q = self.Q
        if self.is_sparse:
            d = Q.diagonal()
            U = sp.triu(Q, 1).tocsr()
            row = np.asarray(U.sum(axis=1)).ravel()
            col = np.asarray(U.sum(axis=0)).ravel()
            usum = U.sum()
        else:
            d = np.diag(Q).copy()
            U = np.triu(Q, 1)
            row, col, usum = U.sum(1), U.sum(0), U.sum()
        h = d / 2 + (row + col) / 4
        offset = self.offset + d.sum() / 2 + usum / 4
        return Ising(h, U / 4, offset)

    def __repr__(self):
        return f"QUBO(n={self.n}, sparse={self.is_sparse}, offset={self.offset:g})"


class Ising:
    """Ising ``E(s) = sum_{i<j} J_ij s_i s_j + h.s + offset``, J strictly upper."""

    def __init__(self, h, J: Matrix, offset: float = 0.0, info: Optional[dict] = None):
        J = _to_float(J)
        _check_square(J, "J")
        _finite(J, "J")
        n = J.shape[0]
        h = np.zeros(n) if h is None else np.asarray(h, dtype=np.float64).ravel()
        if h.shape != (n,):
            raise ProblemError(f"h must have length {n} (J is {n}x{n}), got {h.shape}")
        _finite(h, "h")
        if not np.isfinite(offset):
            raise ProblemError("offset must be finite")
        self.J, d = _fold_upper(J, keep_diag=False)
        self.h = h
        self.offset = float(offset) + float(np.sum(d))
        self.info = dict(info or {})

    @property
    def n(self) -> int:
        return self.J.shape[0]

    @property
    def is_sparse(self) -> bool:
        return sp.issparse(self.J)

    def dense_J(self) -> np.ndarray:
        return self.J.toarray() if self.is_sparse else self.J

    def symmetric_coupling(self):
        """W = -(J + J^T): E(s) = -1/2 s^T W s + h.s + offset; local field = W s - h."""
        W = -(self.J + self.J.T)
        return sp.csr_matrix(W) if self.is_sparse else W

    def energy(self, S) -> np.ndarray:
        """Energies of spin rows ``S`` (shape (R, n) or (n,), entries +-1) -> (R,)."""
        S2 = _rows(S, self.n, "S").astype(np.float64, copy=False)
        JS = (self.J.T @ S2.T).T if self.is_sparse else S2 @ self.J
        return np.einsum("ij,ij->i", np.asarray(JS), S2) + S2 @ self.h + self.offset

    def to_qubo(self) -> QUBO:
        # s = 2x-1:  J_ij s_i s_j = J_ij (4 x_i x_j - 2 x_i - 2 x_j + 1)
        J = self.J
        if self.is_sparse:
            row = np.asarray(J.sum(axis=1)).ravel()
            col = np.asarray(J.sum(axis=0)).ravel()
            Q = 4 * J + sp.diags(2 * self.h - 2 * (row + col))
        else:
            row, col = J.sum(1), J.sum(0)
            Q = 4 * J + np.diag(2 * self.h - 2 * (row + col))
        offset = self.offset - self.h.sum() + J.sum()
        return QUBO(Q, offset)

    def to_ising(self) -> "Ising":
        return self

    # --- benchmark-file helpers -------------------------------------------------
    @classmethod
    def from_coupling_file(cls, path: str, fmt: Optional[str] = None, maxcut: bool = False) -> "Ising":
        """Load a benchmark instance (file convention H = -1/2 s^T J_file s).

        ``fmt``: 'npy', 'npz' (key ``arr_0`` or the single array) or 'rudy'
        (``N M`` then ``i j w`` lines, 1-based); inferred from the suffix when
        None.  With ``maxcut=True`` the file holds weights ``A`` and
        ``J_file = -A``; ``info['total_weight']`` then gives
        ``cut = (total_weight - H) / 2`` (see :meth:`cut`).
        """
        J_file = load_coupling_matrix(path, fmt)
        info = {"source": os.path.basename(str(path)), "maxcut": bool(maxcut)}
        if maxcut:
            info["total_weight"] = float(J_file.sum() / 2)
            J_file = -J_file
        return cls.from_file_matrix(J_file, info=info)

    @classmethod
    def from_file_matrix(cls, J_file: Matrix, info: Optional[dict] = None) -> "Ising":
        """Ising with E(s) = -1/2 s^T J_file s for symmetric J_file (diagonal ignored)."""
        if sp.issparse(J_file):
            U = -sp.triu(J_file, 1)
        else:
            U = -np.triu(np.asarray(J_file, dtype=np.float64), 1)
        return cls(None, U, 0.0, info=info)

    def cut(self, energy):
        """MaxCut value for an energy of a problem built with ``maxcut=True``."""
        if "total_weight" not in self.info:
            raise ProblemError("cut() needs an instance loaded with maxcut=True")
        return (self.info["total_weight"] - np.asarray(energy)) / 2

    def __repr__(self):
        return f"Ising(n={self.n}, sparse={self.is_sparse}, offset={self.offset:g})"


def as_ising(problem) -> Ising:
    if isinstance(problem, Ising):
        return problem
    if hasattr(problem, "to_ising"):
        return problem.to_ising()
    raise ProblemError(f"expected QUBO, Ising or an object with .to_ising(), got {type(problem).__name__}")


def load_coupling_matrix(path: str, fmt: Optional[str] = None) -> Matrix:
    """Read a symmetric coupling/weight matrix from .npy, .npz or rudy text."""
    path = str(path)
    if not os.path.exists(path):
        raise ProblemError(f"instance file not found: {path}")
    if fmt is None:
        ext = os.path.splitext(path)[1].lower()
        fmt = {".npy": "npy", ".npz": "npz"}.get(ext, "rudy")
    fmt = fmt.lower()
    if fmt == "npy":
        M = np.load(path, allow_pickle=False)
    elif fmt == "npz":
        with np.load(path, allow_pickle=False) as z:
            keys = list(z.files)
            if "arr_0" in keys:
                M = z["arr_0"]
            elif len(keys) == 1:
                M = z[keys[0]]
            else:
                raise ProblemError(f"{path}: npz holds {keys}; expected 'arr_0' or a single array")
    elif fmt == "rudy":
        M = _read_rudy(path)
    else:
        raise ProblemError(f"unknown format {fmt!r}; use npy, npz or rudy")
    if not sp.issparse(M):
        M = np.asarray(M, dtype=np.float64)
    _check_square(M, f"matrix in {path}")
    _finite(M, f"matrix in {path}")
    asym = abs(M - M.T)
    if (asym.max() if not sp.issparse(M) else (asym.max() if asym.nnz else 0)) > 1e-12:
        # accept a one-triangle storage, reject anything else
        L = sp.tril(M, -1) if sp.issparse(M) else np.tril(M, -1)
        U = sp.triu(M, 1) if sp.issparse(M) else np.triu(M, 1)
        if abs(L).sum() == 0 or abs(U).sum() == 0:
            M = M + M.T
        else:
            raise ProblemError(f"{path}: coupling matrix is neither symmetric nor triangular")
    return M


def _read_rudy(path: str):
    with open(path) as f:
        head = f.readline().split()
        try:
            n, m = int(head[0]), int(head[1])
        except (IndexError, ValueError) as exc:
            raise ProblemError(f"{path}: first line must be 'N M' (rudy format)") from exc
        data = np.loadtxt(f, ndmin=2)
    if data.shape[0] != m or data.shape[1] < 2:
        raise ProblemError(f"{path}: expected {m} edge lines 'i j w', got {data.shape[0]}")
    i = data[:, 0].astype(np.int64) - 1
    j = data[:, 1].astype(np.int64) - 1
    w = data[:, 2] if data.shape[1] > 2 else np.ones(m)
    if i.min(initial=0) < 0 or j.min(initial=0) < 0 or max(i.max(initial=0), j.max(initial=0)) >= n:
        raise ProblemError(f"{path}: node index out of range 1..{n}")
    W = sp.coo_matrix((w, (i, j)), shape=(n, n)).tocsr()
    return (W + W.T).tocsr()
