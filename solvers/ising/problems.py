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
  ``H(s) = -1/2 s^T J_file s`` with symmetric ``J_file``, so
  ``J_ours = -triu(J_file, 1)``.  A non-zero diagonal (a self-loop) is kept
  as what the formula makes of it, the constant ``-1/2 tr J_file``
  (``s_i^2 = 1``), in ``offset``.  MaxCut files store an adjacency/weight
  matrix ``A`` with ``J_file = -A`` and
  ``cut = (total_edge_weight - (H - 1/2 tr A)) / 2``, ``total_edge_weight`` the
  sum of the off-diagonal weights ``sum_{i<j} A_ij``: a self-loop is never cut.
* Instance files are read by :func:`load_coupling_matrix` (``.npy``, ``.npz``
  incl. scipy.sparse ``save_npz`` files, rudy text): every malformed file is a
  :class:`ProblemError` naming the file (and the line, for text), never a
  partial or silently altered matrix.  Rudy: first non-comment line ``N M``,
  then ``M`` lines ``i j [w]`` (1-based integer nodes, ``w`` default 1, the
  same number of columns on every line); blank lines and lines starting with
  ``#`` are skipped; ``i i w`` is the diagonal entry ``J_ii = w``; repeated
  edges add up.  A matrix stored as one triangle is mirrored.

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


def _real(M, what: str = "matrix"):
    """A real copy of a complex array whose imaginary parts are all zero (else ProblemError)."""
    data = M.data if sp.issparse(M) else M
    if np.iscomplexobj(data):
        if np.any(np.imag(data) != 0):
            raise ProblemError(f"{what} has complex entries with non-zero imaginary parts; Ising couplings "
                               "are real")
        return M.real if sp.issparse(M) else np.real(M)
    return M


def _to_float(M, what: str = "matrix"):
    if sp.issparse(M):
        if M.dtype.kind not in "biufc":
            raise ProblemError(f"{what} must be numeric, got dtype {M.dtype}")
        return sp.csr_matrix(_real(M, what), dtype=np.float64)
    if isinstance(M, (str, bytes)):
        raise ProblemError(f"{what} must be a numeric matrix, got a string")
    try:
        A = np.asarray(M)
    except (TypeError, ValueError) as exc:
        raise ProblemError(f"cannot read {what} as a numeric array: {exc}") from exc
    if A.dtype.kind not in "biufc":
        raise ProblemError(f"{what} must be numeric, got dtype {A.dtype} ({A.dtype.kind!r} kind)")
    return np.asarray(_real(A, what), dtype=np.float64)


def _offset(offset) -> float:
    if isinstance(offset, (bool, np.bool_)) or not isinstance(offset, (int, float, np.integer, np.floating)):
        raise ProblemError(f"offset must be a real number, got {offset!r}")
    if not np.isfinite(offset):
        raise ProblemError("offset must be finite")
    return float(offset)


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
        Q = _to_float(Q, "Q")
        _check_square(Q, "Q")
        _finite(Q, "Q")
        offset = _offset(offset)
        self.Q, _ = _fold_upper(Q, keep_diag=True)
        self.offset = offset

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
        J = _to_float(J, "J")
        _check_square(J, "J")
        _finite(J, "J")
        n = J.shape[0]
        h = np.zeros(n) if h is None else _to_float(h, "h").ravel()
        if h.shape != (n,):
            raise ProblemError(f"h must have length {n} (J is {n}x{n}), got {h.shape}")
        _finite(h, "h")
        offset = _offset(offset)
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
        """Load a benchmark instance (file convention H = -1/2 s^T J_file s, diagonal included).

        ``fmt``: 'npy', 'npz' (key ``arr_0``, the single array, or a scipy.sparse ``save_npz`` file)
        or 'rudy' (``N M`` then ``i j w`` lines, 1-based); inferred from the suffix when None (other
        suffixes are read as rudy).  With ``maxcut=True`` the file holds weights ``A`` and
        ``J_file = -A``; ``info['total_weight']`` (off-diagonal weights) and
        ``info['diagonal_offset']`` give ``cut = (total_weight - (H - diagonal_offset)) / 2``
        (see :meth:`cut`).  Malformed files raise :class:`ProblemError` (see :func:`load_coupling_matrix`).
        """
        J_file = load_coupling_matrix(path, fmt)
        info = {"source": os.path.basename(str(path)), "maxcut": bool(maxcut)}
        diag = J_file.diagonal() if sp.issparse(J_file) else np.diag(J_file)
        if maxcut:
            info["total_weight"] = float((J_file.sum() - diag.sum()) / 2)
            J_file = -J_file
            diag = -diag
        return cls.from_file_matrix(J_file, info=info)

    @classmethod
    def from_file_matrix(cls, J_file: Matrix, info: Optional[dict] = None) -> "Ising":
        """Ising with E(s) = -1/2 s^T J_file s for symmetric J_file: the off-diagonal part as couplings,
        the diagonal as the constant -1/2 tr J_file (``info['diagonal_offset']``)."""
        if sp.issparse(J_file):
            U = -sp.triu(J_file, 1)
            tr = float(J_file.diagonal().sum())
        else:
            J_file = _to_float(J_file, "J_file")
            U = -np.triu(J_file, 1)
            tr = float(np.trace(J_file)) if J_file.ndim == 2 else 0.0
        info = dict(info or {})
        info["diagonal_offset"] = -0.5 * tr
        return cls(None, U, -0.5 * tr, info=info)

    def cut(self, energy):
        """MaxCut value for an energy of a problem built with ``maxcut=True``."""
        if "total_weight" not in self.info:
            raise ProblemError("cut() needs an instance loaded with maxcut=True")
        c = self.info.get("diagonal_offset", 0.0)
        return (self.info["total_weight"] - (np.asarray(energy) - c)) / 2

    def __repr__(self):
        return f"Ising(n={self.n}, sparse={self.is_sparse}, offset={self.offset:g})"


def as_ising(problem) -> Ising:
    if isinstance(problem, Ising):
        return problem
    if hasattr(problem, "to_ising"):
        return problem.to_ising()
    raise ProblemError(f"expected QUBO, Ising or an object with .to_ising(), got {type(problem).__name__}")


NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGIC = b"PK\x03\x04"


def _matrix_bytes_check(n_entries: int, itemsize: int, what: str) -> None:
    from qcbo_model.memory import check_memory
    # the array itself, its float64 copy and the symmetry test's temporaries
    check_memory(float(n_entries) * (itemsize + 3 * 8), what, "use a smaller instance")


def _check_array_meta(path: str, shape, dtype) -> None:
    """Shape and dtype of a stored array, before it is read."""
    if dtype.hasobject or dtype.kind not in "biufc":
        raise ProblemError(f"{path}: the array has dtype {dtype} ({'object' if dtype.hasobject else dtype.kind!r}); "
                           "a coupling matrix must be numeric (bool, int, float, or complex with zero imaginary "
                           "parts)")
    if len(shape) != 2 or shape[0] != shape[1]:
        raise ProblemError(f"{path}: the array has shape {tuple(shape)}; a coupling matrix must be square 2-D")


def _load_npy(path: str):
    with open(path, "rb") as f:
        head = f.read(6)
        if head != NPY_MAGIC:
            hint = " (it is a zip/.npz file: pass --format npz)" if head[:4] == ZIP_MAGIC else \
                " (text? pass --format rudy)" if head[:1].isascii() and head[:1].strip() else ""
            raise ProblemError(f"{path}: not a .npy file: it does not start with the NumPy magic bytes{hint}")
        f.seek(0)
        try:
            version = np.lib.format.read_magic(f)
            reader = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, fortran, dtype = reader(f)
        except (ValueError, EOFError, SyntaxError) as e:
            raise ProblemError(f"{path}: corrupt .npy header ({e})") from None
        offset = f.tell()
    _check_array_meta(path, shape, dtype)
    n_entries = int(np.prod(shape, dtype=np.float64))
    need = n_entries * dtype.itemsize
    have = os.path.getsize(path) - offset
    if have < need:
        raise ProblemError(f"{path}: truncated .npy file: the header promises shape {tuple(shape)} "
                           f"({need} bytes of data) but the file holds {have}")
    _matrix_bytes_check(n_entries, dtype.itemsize, f"reading the {shape[0]}x{shape[1]} matrix of {path}")
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, EOFError, OSError) as e:
        raise ProblemError(f"{path}: cannot read the .npy file ({e})") from None


def _load_npz(path: str):
    import zipfile
    import zlib
    if not zipfile.is_zipfile(path):
        with open(path, "rb") as f:
            head = f.read(6)
        hint = " (it is a .npy file: pass --format npy)" if head == NPY_MAGIC else ""
        raise ProblemError(f"{path}: not a .npz (zip) file{hint}")
    try:
        with zipfile.ZipFile(path) as zf:
            sizes = {i.filename[:-4] if i.filename.endswith(".npy") else i.filename: i.file_size
                     for i in zf.infolist()}
        keys = sorted(sizes)
        if {"format", "shape", "data"} <= set(keys):          # scipy.sparse.save_npz
            _matrix_bytes_check(sum(sizes.values()) / 8, 8, f"reading the sparse matrix of {path}")
            try:
                M = sp.load_npz(path)
            except (ValueError, KeyError, OSError, zlib.error, zipfile.BadZipFile) as e:
                raise ProblemError(f"{path}: cannot read the scipy.sparse .npz file ({e})") from None
            return sp.csr_matrix(M)
        if "arr_0" in keys:
            key = "arr_0"
        elif len(keys) == 1:
            key = keys[0]
        else:
            raise ProblemError(f"{path}: npz holds {keys or 'no arrays'}; expected 'arr_0', a single array or a "
                               "scipy.sparse save_npz file")
        _matrix_bytes_check(sizes[key] / 8, 8, f"reading the matrix {key!r} of {path}")
        with np.load(path, allow_pickle=False) as z:
            return z[key]
    except ProblemError:
        raise
    except (ValueError, EOFError, OSError, KeyError, zlib.error, zipfile.BadZipFile) as e:
        msg = str(e)
        if "allow_pickle" in msg or "Object arrays" in msg:
            msg = "it holds an object array; a coupling matrix must be numeric"
        raise ProblemError(f"{path}: cannot read the .npz file: {msg}") from None


def load_coupling_matrix(path: str, fmt: Optional[str] = None) -> Matrix:
    """Read a symmetric coupling/weight matrix from .npy, .npz or rudy text.

    Returns a dense float64 array (npy, npz) or a csr matrix (rudy, sparse npz), symmetric, diagonal
    kept.  Raises :class:`ProblemError` for a missing, empty, truncated, non-numeric, complex (non-zero
    imaginary part), non-square, non-finite or asymmetric (and not one-triangle) matrix, a format
    that does not match the file, and, in rudy text, any malformed line (with its line number)."""
    path = str(path)
    if not os.path.exists(path):
        raise ProblemError(f"instance file not found: {path}")
    if os.path.isdir(path):
        raise ProblemError(f"{path} is a folder; --instance needs a .npy, .npz or rudy text file")
    if not os.path.isfile(path):
        raise ProblemError(f"{path} is not a regular file")
    if os.path.getsize(path) == 0:
        raise ProblemError(f"{path} is empty (0 bytes)")
    if fmt is None:
        ext = os.path.splitext(path)[1].lower()
        fmt = {".npy": "npy", ".npz": "npz"}.get(ext, "rudy")
    if not isinstance(fmt, str) or fmt.lower() not in ("npy", "npz", "rudy"):
        raise ProblemError(f"unknown format {fmt!r}; use npy, npz or rudy")
    fmt = fmt.lower()
    try:
        if fmt == "npy":
            M = _load_npy(path)
        elif fmt == "npz":
            M = _load_npz(path)
        else:
            M = _read_rudy(path)
    except PermissionError as e:
        raise ProblemError(f"{path}: cannot read the file ({e.strerror})") from None
    if sp.issparse(M):
        _check_array_meta(path, M.shape, M.dtype)
        M = _to_float(M, f"matrix in {path}")
    else:
        M = np.asarray(M)
        _check_array_meta(path, M.shape, M.dtype)
        M = _to_float(M, f"matrix in {path}")
    _check_square(M, f"matrix in {path}")
    if M.shape[0] == 0:
        raise ProblemError(f"{path}: the matrix is 0x0; an instance needs at least one spin")
    _finite(M, f"matrix in {path}")
    asym = abs(M - M.T)
    if (asym.max() if not sp.issparse(M) else (asym.max() if asym.nnz else 0)) > 1e-12:
        # accept a one-triangle storage, reject anything else
        L = sp.tril(M, -1) if sp.issparse(M) else np.tril(M, -1)
        U = sp.triu(M, 1) if sp.issparse(M) else np.triu(M, 1)
        if abs(L).sum() == 0 or abs(U).sum() == 0:
            d = M.diagonal() if sp.issparse(M) else np.diag(M)
            M = M + M.T - (sp.diags(d) if sp.issparse(M) else np.diag(d))
            if sp.issparse(M):
                M = sp.csr_matrix(M)
        else:
            raise ProblemError(f"{path}: coupling matrix is neither symmetric nor triangular")
    return M


def _read_rudy(path: str):
    """Rudy text: ``N M`` then ``M`` lines ``i j [w]`` (see the module docstring); ProblemError with
    the line number for every malformed line."""
    raw = open(path, "rb").read()
    if raw[:6] == NPY_MAGIC or raw[:4] == ZIP_MAGIC:
        kind = "npy" if raw[:6] == NPY_MAGIC else "npz"
        raise ProblemError(f"{path}: a binary .{kind} file, not rudy text; pass --format {kind} (or name it .{kind})")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[:e.start].count(b"\n") + 1
        raise ProblemError(f"{path}, line {line}: not UTF-8 text (byte 0x{raw[e.start]:02x}); rudy files are "
                           "plain text 'N M' then 'i j w' lines") from None
    if "\x00" in text:
        line = text[:text.index("\x00")].count("\n") + 1
        raise ProblemError(f"{path}, line {line}: binary data (a NUL byte); rudy files are plain text")
    header = None
    rows, cols, wts = [], [], []
    ncols_seen = None
    for lineno, line in enumerate(text.splitlines(), 1):
        toks = line.split()
        if not toks or toks[0].startswith("#"):
            continue
        where = f"{path}, line {lineno}"
        if header is None:
            if len(toks) != 2:
                raise ProblemError(f"{where}: the header must be 'N M' (spins, edges), got {line.strip()!r}")
            try:
                n, m = int(toks[0]), int(toks[1])
            except ValueError:
                raise ProblemError(f"{where}: the header must be two integers 'N M', got {line.strip()!r}") from None
            if n < 1:
                raise ProblemError(f"{where}: N = {n}; an instance needs at least one spin (N >= 1)")
            if m < 0:
                raise ProblemError(f"{where}: M = {m} edges; M must be >= 0")
            from qcbo_model.memory import check_memory
            check_memory(16.0 * (n + 1) + 72.0 * m, f"the {n}-spin instance of {path}", "use a smaller instance")
            header = (n, m, lineno)
            continue
        n, m, hline = header
        if len(toks) not in (2, 3):
            raise ProblemError(f"{where}: expected 'i j' or 'i j w', got {len(toks)} fields {line.strip()!r}")
        if ncols_seen is not None and len(toks) != ncols_seen[0]:
            raise ProblemError(f"{where}: {len(toks)} fields, but line {ncols_seen[1]} has {ncols_seen[0]}; "
                               "use the same 'i j w' (or 'i j') form on every line")
        ncols_seen = ncols_seen or (len(toks), lineno)
        if len(rows) == m:
            raise ProblemError(f"{where}: more edge lines than the M = {m} the header (line {hline}) promises")
        ij = []
        for t in toks[:2]:
            try:
                v = int(t)
            except ValueError:
                raise ProblemError(f"{where}: node index {t!r} is not an integer") from None
            if not 1 <= v <= n:
                raise ProblemError(f"{where}: node index {v} out of range 1..{n}")
            ij.append(v - 1)
        w = 1.0
        if len(toks) == 3:
            try:
                w = float(toks[2])
            except ValueError:
                raise ProblemError(f"{where}: weight {toks[2]!r} is not a number") from None
            if not np.isfinite(w):
                raise ProblemError(f"{where}: weight {toks[2]!r} is not finite")
        rows.append(ij[0])
        cols.append(ij[1])
        wts.append(w)
    if header is None:
        raise ProblemError(f"{path}: no header line 'N M' (the file has only blank or comment lines)")
    n, m, hline = header
    if len(rows) != m:
        raise ProblemError(f"{path}: the header (line {hline}) promises M = {m} edge lines 'i j w', "
                           f"the file has {len(rows)}")
    i = np.asarray(rows, dtype=np.int64)
    j = np.asarray(cols, dtype=np.int64)
    w = np.asarray(wts, dtype=np.float64)
    off = i != j
    # i j w is J_ij = J_ji = w; i i w is the diagonal entry J_ii = w; repeated entries add up
    W = sp.coo_matrix((np.concatenate([w[off], w[off], w[~off]]),
                       (np.concatenate([i[off], j[off], i[~off]]), np.concatenate([j[off], i[off], i[~off]]))),
                      shape=(n, n)).tocsr()
    W.sum_duplicates()
    return W
