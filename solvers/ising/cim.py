"""Simulated measurement-feedback coherent Ising machine (CIM).

Model (all replicas advance together; ``x``, ``e`` are (R, n) arrays):

    dx/dt = (p - 1) x - mu x^3 + beta * e * (W~ x)          (+ noise)
    de/dt = -xi (x^2 - a) e,          e clipped to (0, e_max]
    s     = sign(x)

``W~ = W / lam`` with ``W = -(J + J^T)`` (so the feedback ``W s - h`` is the local
field ``-dE/ds`` of our energy, see :mod:`solvers.ising.problems`) and ``lam`` the
RMS row norm ``sqrt(sum W^2 / n)``: every instance is rescaled so that a
typical local field is O(1) and the defaults need no per-instance tuning.

Amplitude control:

* ``scheme='cac'`` (chaotic amplitude control, Leleu et al., Commun. Phys. 4,
  266 (2021)): the target amplitude follows the energy gap,
  ``a = alpha + rho * tanh(delta * (H - H_best) / lam_H)`` (``H_best`` the best
  energy seen by that replica, ``lam_H`` the typical single-flip energy change),
  and the error-variable rate ``xi`` ramps up by ``gamma`` per unit time and is
  reset to 0 whenever a replica finds no better energy for ``tau`` time units.
* ``scheme='ahc'`` (amplitude-heterogeneity correction, Leleu et al., PRL 122,
  040607 (2019)): fixed target ``a = alpha`` and fixed rate ``xi = xi_ahc``.

External fields ``h`` are handled exactly with an auxiliary spin ``s_0`` coupled
by ``-h``: ``E(s, s_0) = -1/2 s^T W s - s_0 (-h).s`` equals ``E(s * s_0)``, so the
dynamics stay a pure (Z2-symmetric) Ising machine and the read-out is gauge
fixed by multiplying with ``s_0``.

Each replica returns the best spin state it visited (as in cim-optimizer).
"""
from __future__ import annotations

import contextlib
import inspect
import time
from typing import Optional

import numpy as np
import scipy.sparse as sp

from .base import Oracle, OracleError
from .problems import Ising

__all__ = ["CIMOracle", "quantize", "PRESETS", "PRECISION_PRESETS", "resolve_precision", "resolve_backend", "cuda_available"]

# Hardware presets of ``precision_bits``: what a QBoson CIM accepts.  Its SDK takes signed integer
# couplings (fields ride on an auxiliary spin, as here) with max |J| scaled to the top of the range
# and rounded: 8 bits (-127..127) or 14 bits (-8191..8191).  Rounding is relative to the largest
# coefficient, so one dominant coefficient rounds the small ones to zero (the SDK warns about it; so
# does ``CIMOracle``: a ``QuantizationWarning`` when more than 10 % of the nonzero coefficients vanish).
PRECISION_PRESETS = {"qboson-8": 8, "qboson-14": 14, "int8": 8, "int14": 14}


# Option presets (``CIMOracle(preset=...)``; explicit options win over them).
# 'training': the QUBOs the Ising descent sends (dense, ~60 variables with strong fields and one dominant
# penalty mode; docs/ising.md, "The CIM as the training oracle"): at the SK defaults every replica froze
# in the same state (CAC's target amplitude saturates on these energy gaps); noise, a strong feedback,
# a fast xi ramp with short resets and a low target amplitude keep it searching.  Chosen by a random
# search of 60 settings on 37 captured descent QUBOs (bench/cim_training_oracle.py --tune).
PRESETS = {
    "training": dict(num_steps=1000, beta=1.2, noise=0.1, gamma=0.1, tau=10.0, alpha=0.3, rho=1.0, e_max=128.0,
                     split_mode=True),
}


class QuantizationWarning(UserWarning):
    """Rounding to the hardware precision wiped out a share of the coefficients."""


def resolve_precision(bits) -> Optional[int]:
    """``None``, an int >= 2, or a preset name of ``PRECISION_PRESETS`` -> signed bits."""
    if bits is None:
        return None
    if isinstance(bits, str):
        if bits.lower() not in PRECISION_PRESETS:
            raise OracleError(f"precision_bits preset must be one of {sorted(PRECISION_PRESETS)}, got {bits!r}")
        return PRECISION_PRESETS[bits.lower()]
    if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)) or int(bits) < 2:
        raise OracleError(f"precision_bits must be an int >= 2 (sign + magnitude), a preset or None, got {bits!r}")
    return int(bits)


def quantize(values, bits: int, scale: float):
    """Round to ``bits`` signed bits relative to ``scale`` (= max |coef|)."""
    if scale == 0:
        return values
    q = scale / (2 ** (bits - 1) - 1)
    if sp.issparse(values):
        out = values.copy()
        out.data = np.round(out.data / q) * q
        out.eliminate_zeros()
        return out
    return np.round(values / q) * q


def _blas_threads(n: Optional[int]):
    """Limit BLAS threads for the dynamics (None: leave as is).

    The per-step products are small (R x n @ n x n); with several BLAS threads on a busy
    machine the threads wait on each other and a step can take 10-50x longer.
    """
    if n is None:
        return contextlib.nullcontext()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:          # optional: without it BLAS keeps its own setting
        return contextlib.nullcontext()
    return threadpool_limits(limits=int(n), user_api="blas")


def _top_eigpair(W, iters: int = 60):
    """(signed eigenvalue, unit eigenvector) of the largest-|lambda| mode of symmetric dense W."""
    v = np.cos(np.arange(W.shape[0]) * 1.2345) + 0.5
    v = v / np.linalg.norm(v)
    Wd = W.astype(np.float64)
    for _ in range(iters):
        w = Wd @ v
        nw = np.linalg.norm(w)
        if nw == 0:
            return 0.0, v
        v = w / nw
    return float(v @ Wd @ v), v


def _spectral_norm(W, iters: int = 30) -> float:
    """Largest |eigenvalue| of symmetric W by power iteration (fixed start: deterministic)."""
    v = np.cos(np.arange(W.shape[0]) * 1.2345) + 0.5
    v = v.astype(np.float64) / np.linalg.norm(v)
    lam = 0.0
    for _ in range(iters):
        w = np.asarray(W @ v, dtype=np.float64).ravel()
        lam = float(np.linalg.norm(w))
        if lam == 0:
            return 1.0
        v = w / lam
    return lam


class CIMOracle(Oracle):
    """Coherent-Ising-machine simulator (CAC by default, AHC optional).

    Parameters (defaults are in normalized units, see module docstring)
    ----------
    num_steps : int or None
        Euler steps per run; None -> ``max(8000, 100 * n)``.
    dt : float or None
        Euler time step; None -> ``min(0.1, 0.2 / ||W~||_2)`` (``||W~||_2`` by power
        iteration): instances with a large coherent mode (dense MaxCut, where
        ``J = -A`` has eigenvalue ~ -N/2) make the explicit Euler step stiff.
    pump : float, default 0.0
        Gain ``p``; linear term is ``(p - 1) x``.
    mu : float, default 1.0
        Cubic saturation coefficient.
    beta : float, default 0.3
        Feedback strength on the normalized coupling.
    alpha, rho, delta : float, default None (0.5 dense, 1.0 sparse), 1.0, 2.0
        CAC target amplitude ``a = alpha + rho tanh(delta dH)``.
    gamma : float or None
        Ramp rate of ``xi`` per unit time (CAC); None -> ``0.5 / min(n, 100)``
        (0.5/n tuned on SK n <= 100; for larger n a constant 5e-3 reached good states
        far sooner on SK N=1000, dense MaxCut N=200-300 and G1).
    tau : float or None
        Reset ``xi`` after ``tau`` time units without improvement; None -> ``0.5 n + 50``.
    xi_ahc : float, default 0.1
        Fixed error-variable rate for ``scheme='ahc'``.
    e_max : float, default 32.0
        Clip of the error variables.
    x_max : float, default 3.0
        Clip of the amplitudes (keeps the explicit Euler step stable).
    noise : float, default 0.0
        Std of additive Gaussian noise per unit time on ``x`` (``sqrt(dt)`` scaling).
    precision_bits : int or None
        Round J and h to this many signed bits relative to max |coef| first.
    time_limit : float or None
        Wall-clock limit in seconds for the dynamics.
    stop_when : 'any' | 'all' | 'never'
        With a ``target_energy``: stop once any replica / all replicas reached it.
    return_trajectory : bool
        Store the (steps, R) energy of each replica's current state in
        ``info['trajectory']`` (problem units).
    dtype : numpy float dtype for the dynamics (float32 is ~2x faster for big n).
    blas_threads : int or None, default 1
        BLAS threads during the dynamics (threadpoolctl); 1 is the fastest and most stable
        on a shared machine for the small per-step products; None leaves BLAS alone.
    split_mode : bool or None, default None
        Dense only: treat the dominant eigenmode ``lam1 u u^T`` of ``W~`` implicitly
        (Sherman-Morrison per replica, O(n)) and the rest ``W_r`` explicitly, so ``dt``
        is set by ``||W_r||`` instead of ``|lam1|``.  Dense MaxCut (``lam1 ~ -N/2`` in
        problem units) is stiff only through this one mode.  None: on when
        ``lam1 < 0`` and ``|lam1| > 2 ||W_r||``; never used for ``lam1 > 0``.
    init_amplitude : float, default 1e-3
        Uniform random initial amplitudes in ``[-init, init]``.
    backend : 'auto' | 'numpy' | 'numba' | 'torch' | 'torch-cpu' | 'cuda'
        Array backend (:func:`resolve_backend`): 'auto' = CUDA when a device is there and the run is
        large, else numba when installed, else numpy; ``$QCBO_CIM_BACKEND`` overrides 'auto'.
    kernel : 'auto' | 'step' | 'fused'
        numba only: one compiled call per step (bitwise equal to numpy) or per chunk of steps
        (dense m <= ``FUSED_MAX_M``; equivalent, not bitwise equal).
    field_mode : 'spin' | 'pinned'; field_amp : float or None
        Fields as a dynamic auxiliary spin (default) or as one held at amplitude ``field_amp``
        (None: sqrt(alpha)).
    preset : None | 'training'
        Option values from :data:`PRESETS` for the options left at their defaults.
    precision_bits also takes the hardware presets of :data:`PRECISION_PRESETS` ('qboson-8',
    'qboson-14'); ``stop_when='each'`` freezes every replica that reached the target.
    """

    name = "cim"
    default_reads = 32
    native_stop = True

    @property
    def parameters(self) -> tuple:
        """Every constructor parameter may be overridden per ``sample`` call."""
        return tuple(self.params)

    def __init__(self, num_steps: Optional[int] = None, dt: Optional[float] = None, pump: float = 0.0,
                 mu: float = 1.0, beta: float = 0.3, alpha: Optional[float] = None, rho: float = 1.0,
                 delta: float = 2.0, gamma: Optional[float] = None, tau: Optional[float] = None,
                 scheme: str = "cac", xi_ahc: float = 0.1, e_max: float = 32.0,
                 noise: float = 0.0, precision_bits: Optional[int] = None,
                 time_limit: Optional[float] = None, stop_when: str = "any",
                 return_trajectory: bool = False, dtype=np.float32,
                 init_amplitude: float = 1e-3, dense_threshold: float = 0.1,
                 x_max: float = 3.0, blas_threads: Optional[int] = 1,
                 split_mode: Optional[bool] = None, backend: str = "auto", kernel: str = "auto",
                 field_mode: str = "spin", field_amp: Optional[float] = None, preset: Optional[str] = None):
        if preset is not None:
            if preset not in PRESETS:
                raise OracleError(f"preset must be one of {sorted(PRESETS)} or None, got {preset!r}")
            # a preset sets the options that were left at their defaults
            args = dict(locals())
            sig = inspect.signature(CIMOracle.__init__).parameters
            for k, v in PRESETS[preset].items():
                if args[k] is sig[k].default or args[k] == sig[k].default:
                    args[k] = v
            args.pop("self")
            args.pop("preset")
            args.pop("__class__", None)
            self.__init__(**args)
            self.preset = preset
            return
        self.preset = None
        if scheme not in ("cac", "ahc"):
            raise OracleError(f"scheme must be 'cac' or 'ahc', got {scheme!r}")
        if stop_when not in STOP_MODES:
            raise OracleError(f"stop_when must be one of {STOP_MODES}, got {stop_when!r}")
        resolve_precision(precision_bits)
        if field_mode not in ("spin", "pinned"):
            raise OracleError(f"field_mode must be 'spin' or 'pinned', got {field_mode!r}")
        if kernel not in ("auto", "step", "fused"):
            raise OracleError(f"kernel must be 'auto', 'step' or 'fused', got {kernel!r}")
        if backend not in BACKENDS:
            raise OracleError(f"backend must be one of {BACKENDS}, got {backend!r}")
        if dt is not None and not dt > 0:
            raise OracleError("dt must be > 0")
        if num_steps is not None and (isinstance(num_steps, bool) or not isinstance(num_steps, (int, np.integer))
                                      or num_steps < 1):
            raise OracleError(f"num_steps must be an integer >= 1 or None (automatic), got {num_steps!r}")
        if not (noise >= 0 and np.isfinite(noise)):
            raise OracleError(f"noise must be a finite number >= 0, got {noise!r}")
        if time_limit is not None and not time_limit > 0:
            raise OracleError(f"time_limit must be > 0 seconds or None, got {time_limit!r}")
        self.params = dict(num_steps=num_steps, dt=dt, pump=pump, mu=mu, beta=beta, alpha=alpha,
                           rho=rho, delta=delta, gamma=gamma, tau=tau, scheme=scheme,
                           xi_ahc=xi_ahc, e_max=e_max, noise=noise,
                           precision_bits=precision_bits, time_limit=time_limit,
                           stop_when=stop_when, return_trajectory=return_trajectory,
                           dtype=np.dtype(dtype), init_amplitude=init_amplitude,
                           dense_threshold=dense_threshold, x_max=x_max,
                           blas_threads=blas_threads, split_mode=split_mode, backend=backend, kernel=kernel,
                           field_mode=field_mode, field_amp=field_amp)

    def __repr__(self):
        return f"CIMOracle({', '.join(f'{k}={v!r}' for k, v in self.params.items() if v is not None)})"

    # ------------------------------------------------------------------ setup
    @staticmethod
    def _coupling(ising: Ising, bits: Optional[int], dense_threshold: float):
        """Symmetric W (augmented by the auxiliary field spin when h != 0), the nonzero count and
        the quantization record (None without ``precision_bits``)."""
        W = ising.symmetric_coupling()
        h = ising.h
        qinfo = None
        if bits is not None:
            scale = max(abs(W).max() if W.size else 0.0, np.abs(h).max(initial=0.0))
            nz0 = (W.nnz if sp.issparse(W) else np.count_nonzero(W)) + np.count_nonzero(h)
            W, h = quantize(W, bits, scale), quantize(h, bits, scale)
            nz1 = (W.nnz if sp.issparse(W) else np.count_nonzero(W)) + np.count_nonzero(h)
            lost = 1.0 - nz1 / nz0 if nz0 else 0.0
            qinfo = {"bits": bits, "levels": 2 ** (bits - 1) - 1, "scale": float(scale),
                     "zeroed_fraction": float(lost)}
            if lost > 0.1:
                import warnings
                warnings.warn(f"precision_bits={bits}: {100 * lost:.0f} % of the nonzero coefficients round to 0 "
                              f"(max |coef| = {scale:g} dominates); rescale or split the problem",
                              QuantizationWarning, stacklevel=4)
        has_field = bool(np.any(h != 0))
        if has_field:
            c = -h
            if sp.issparse(W):
                W = sp.bmat([[W, sp.csr_matrix(c[:, None])], [sp.csr_matrix(c[None, :]), None]]).tocsr()
            else:
                W = np.block([[W, c[:, None]], [c[None, :], np.zeros((1, 1))]])
        m = W.shape[0]
        nnz = W.nnz if sp.issparse(W) else np.count_nonzero(W)
        if sp.issparse(W) and nnz > dense_threshold * m * m:
            W = W.toarray()
        elif not sp.issparse(W) and m > 200 and nnz < dense_threshold * m * m:
            W = sp.csr_matrix(W)
        return W, has_field, nnz, qinfo

    def memory_estimate(self, n: int, num_reads: int, nnz: Optional[int] = None) -> int:
        """Bytes of the replica arrays and the coupling matrix for an ``n``-spin problem and
        ``num_reads`` replicas (one more spin for the auxiliary field spin is included; dense unless
        ``nnz`` is given).  Setup holds float64 copies of the coupling for the normalization and the
        dominant-mode split, so the peak is counted, not only the float32 matrix the steps use."""
        m, R = int(n) + 1, int(num_reads)
        if nnz is None:
            nnz = getattr(self, "_nnz_hint", None)          # set by sample() for a sparse problem
        if nnz is not None and nnz > self.params["dense_threshold"] * m * m:
            nnz = None                                       # it will run dense
        isz = np.dtype(self.params["dtype"]).itemsize
        replicas = R * m * (6 * isz + 2) + R * 64           # x e s F mvm tmp, best_s/out int8, scalars
        if self.params["return_trajectory"]:
            replicas += 8 * R * (self.params["num_steps"] or max(8000, 100 * int(n)))
        if nnz is None:
            coupling = m * m * (isz + 2 * 8)                 # float32 W plus two float64 setup copies
        else:
            coupling = int(nnz) * (isz + 4 + 2 * 12) + (m + 1) * 8
        return int(replicas + coupling)

    def sample(self, problem, *args, **kwargs):
        """``Oracle.sample``; a sparse problem's nonzero count reaches ``memory_estimate`` (the base
        class's memory check passes only ``n``), so large sparse graphs are not charged a dense matrix."""
        M = getattr(problem, "J", None)
        if M is None:
            M = getattr(problem, "Q", None)
        self._nnz_hint = int(2 * M.nnz + 2 * M.shape[0]) if M is not None and sp.issparse(M) else None
        try:
            return super().sample(problem, *args, **kwargs)
        finally:
            self._nnz_hint = None

    # ------------------------------------------------------------------ dynamics
    def _sample_spins(self, ising: Ising, num_reads: int, rng: np.random.Generator,
                      target_energy: Optional[float] = None, **overrides):
        P = dict(self.params)
        for k, v in overrides.items():
            if k not in P:
                raise OracleError(f"unknown CIM parameter {k!r}; known: {sorted(P)}")
            P[k] = v
        if P["scheme"] not in ("cac", "ahc") or P["stop_when"] not in STOP_MODES:
            raise OracleError("invalid scheme / stop_when override")
        bits = resolve_precision(P["precision_bits"])
        dtype = np.dtype(P["dtype"])
        n, R = ising.n, num_reads
        W, has_field, nnz, qinfo = self._coupling(ising, bits, P["dense_threshold"])
        m = W.shape[0]
        sparse = sp.issparse(W)
        backend = resolve_backend(P["backend"], m, R, sparse)
        sq = W.multiply(W).sum() if sparse else float(np.sum(W * W))
        lam = float(np.sqrt(sq / m)) if sq > 0 else 1.0
        if sparse:
            W = sp.csr_matrix((W / lam).astype(dtype))
            W.sort_indices()
        else:
            W = W / lam
        offset = ising.offset
        # rank-1 split W~ = W_r + lam1 u u^T: the dominant mode is integrated implicitly.  Dense: W_r is
        # formed; sparse: W stays sparse and the product subtracts lam1 u (u.x) on the fly
        split = False
        lam1, u = 0.0, None
        if P["split_mode"] is not False and m > 2:
            lam1, u64 = _top_eigpair(W)
            if sparse:
                from scipy.sparse.linalg import LinearOperator
                W_r = LinearOperator((m, m), matvec=lambda v: W @ v - lam1 * u64 * (u64 @ v), dtype=np.float64)
            else:
                W_r = W - lam1 * np.outer(u64, u64)
            rest = _spectral_norm(W_r)
            split = lam1 < 0 and (bool(P["split_mode"]) or abs(lam1) > 2.0 * rest)
            if split:
                if not sparse:
                    W = W_r
                u = u64.astype(dtype)
                norm_for_dt = rest
            del W_r
        if not sparse:
            W = np.ascontiguousarray(W, dtype=dtype)
        if P["dt"] is None:
            P["dt"] = min(0.1, 0.2 / (norm_for_dt if split else _spectral_norm(W)))
        if P["alpha"] is None:
            # 0.5 chosen on SK N <= 100 (dense); 1.0 on sparse graphs (G1, G2, random N = 2000 at 5 s)
            P["alpha"] = 1.0 if sparse else 0.5
        num_steps = P["num_steps"] if P["num_steps"] is not None else max(8000, 100 * n)
        tau = P["tau"] if P["tau"] is not None else 0.5 * n + 50
        gamma = P["gamma"] if P["gamma"] is not None else 0.5 / min(m, 100)
        target_int = None
        if target_energy is not None:
            # candidate test in the internal (float32-accumulated) energy, with slack for its rounding;
            # a candidate counts as reached only once the exact float64 energy of its spins is
            # <= target + 1e-6, the tolerance of SampleSet.success
            target_int = (float(target_energy) - offset) / lam + 1e-4 * max(1.0, abs(target_energy - offset) / lam)
        run = dict(P=P, n=n, m=m, R=R, W=W, sparse=sparse, dtype=dtype, lam=lam, split=split, lam1=lam1, u=u,
                   num_steps=num_steps, tau=tau, gamma=gamma, has_field=has_field, target_int=target_int,
                   target_energy=None if target_energy is None else float(target_energy), ising=ising)
        if backend.startswith("torch"):
            from .cim_torch import run_torch
            spins, info = run_torch(run, rng, backend)
        else:
            spins, info = _run_cpu(run, rng, backend)
        info.update({"oracle": self.name, "scheme": P["scheme"], "scale": lam, "backend": backend, "preset": self.preset,
                     "auxiliary_field_spin": has_field, "sparse": sparse, "split_mode": split})
        params = {k: (str(v) if isinstance(v, np.dtype) else v) for k, v in P.items()}
        params.update(num_steps=num_steps, tau=tau, gamma=gamma, dt=P["dt"], precision_bits=bits)
        info["params"] = params
        if qinfo is not None:
            info["quantization"] = qinfo
        if "trajectory" in info:
            info["trajectory"] = np.asarray(info["trajectory"]) * lam + offset
        return spins, info


# ---------------------------------------------------------------------------------------------- backends
BACKENDS = ("auto", "numpy", "numba", "torch", "torch-cpu", "cuda")
STOP_MODES = ("any", "all", "each", "never")
BACKEND_ENV = "QCBO_CIM_BACKEND"
# 'auto' moves a run to the GPU only where it pays: below this many replica-spins per step the kernel
# launches (~10 per step) cost more than the arithmetic
GPU_MIN_WORK = 1 << 16
# numba, dense, m <= this: the fused multi-step kernel (BLAS product called from numba, no Python per step)
FUSED_MAX_M = 128


def _numba_ok() -> bool:
    from . import cim_numba
    return cim_numba.AVAILABLE


def cuda_available() -> bool:
    """Whether torch with a usable CUDA device is installed (imports torch only if it is there)."""
    import importlib.util
    import os
    import sys
    if importlib.util.find_spec("torch") is None:
        return False
    if "torch" not in sys.modules and not os.path.exists("/proc/driver/nvidia") and not os.environ.get(
            "CUDA_VISIBLE_DEVICES"):
        return False           # no NVIDIA driver: do not pay for importing torch to learn that
    try:
        import torch
        return bool(torch.cuda.is_available())
    except Exception:          # a broken torch install is no GPU
        return False


def resolve_backend(name: Optional[str], m: int = 0, R: int = 0, sparse: bool = False) -> str:
    """The array backend a run uses: 'numpy', 'numba', 'torch-cpu' or 'torch-cuda'.

    ``'auto'`` (default; ``$QCBO_CIM_BACKEND`` overrides it): the GPU (torch, CUDA) when one is
    present and the run has at least ``GPU_MIN_WORK`` replica-spins, else the compiled CPU kernel
    (numba) when installed, else numpy.  CPU results therefore never depend on torch being there.
    """
    import os
    name = name or "auto"
    if name == "auto":
        name = os.environ.get(BACKEND_ENV, "auto") or "auto"
    if name not in BACKENDS:
        raise OracleError(f"backend must be one of {BACKENDS}, got {name!r}")
    if name == "auto":
        if m * R >= GPU_MIN_WORK and cuda_available():
            return "torch-cuda"
        return "numba" if _numba_ok() else "numpy"
    if name == "numba":
        if not _numba_ok():
            raise OracleError("backend='numba' needs numba (pip install qcbo-qnn[fast]); backend='numpy' "
                              "or 'auto' runs without it")
        return "numba"
    if name in ("torch", "torch-cpu", "cuda"):
        import importlib.util
        if importlib.util.find_spec("torch") is None:
            raise OracleError(f"backend={name!r} needs torch (pip install qcbo-qnn[gpu])")
        if name == "torch-cpu":
            return "torch-cpu"
        if name == "cuda" and not cuda_available():
            raise OracleError("backend='cuda': torch finds no CUDA device")
        return "torch-cuda" if cuda_available() else "torch-cpu"
    return name


def _exact_reached(ising: Ising, row: np.ndarray, n: int, has_field: bool, target: float) -> bool:
    """The exact float64 energy of one internal spin row (gauge fixed) against the target."""
    s = row[:n].astype(np.float64)
    if has_field:
        s = s * row[n]
    return bool(ising.energy(s[None, :])[0] <= target + 1e-6)


def _run_cpu(run: dict, rng: np.random.Generator, backend: str):
    """The replica loop on the CPU: numpy or the fused numba kernel (same arrays, same driver)."""
    P, m, R, W, dtype = run["P"], run["m"], run["R"], run["W"], run["dtype"]
    sparse, split, n = run["sparse"], run["split"], run["n"]
    use_nb = backend == "numba"
    if use_nb:
        from . import cim_numba as K
    T = dtype.type
    x = np.empty((R, m), dtype=dtype)
    x[...] = rng.uniform(-P["init_amplitude"], P["init_amplitude"], size=(R, m))
    e = np.ones((R, m), dtype=dtype)
    s = np.zeros((R, m), dtype=dtype)
    F = np.empty((R, m), dtype=np.float64)     # spin field s @ W~ in float64 on both paths (see below)
    mvm = np.empty((R, m), dtype=dtype)
    xi = np.zeros(R, dtype=dtype)
    a = np.full(R, P["alpha"], dtype=dtype)
    best_s = np.zeros((R, m), dtype=np.int8)
    best_H = np.full(R, np.inf)
    H = np.zeros(R)
    last_imp = np.zeros(R, dtype=np.int64)
    rid = np.arange(R)
    out_s = np.zeros((R, m), dtype=np.int8)
    reached = np.zeros(R, dtype=bool)
    reached_step = np.full(R, -1, dtype=np.int64)
    checked = np.full(R, np.inf)
    H_by_id = np.zeros(R)
    dt_f = float(P["dt"])
    dt = T(dt_f)
    lin, mu, beta = T(P["pump"] - 1.0), T(P["mu"]), T(P["beta"])
    alpha, rho, delta = float(P["alpha"]), float(P["rho"]), float(P["delta"])
    gap = 2.0 / max(1.0, np.sqrt(m))        # typical single-flip change of the normalized energy
    gamma_dt = T(run["gamma"] * dt_f)
    tau_steps = max(1, int(round(run["tau"] / dt_f)))
    e_min, e_max, x_max = T(1e-6), T(P["e_max"]), T(P["x_max"])
    noise_amp = T(P["noise"] * np.sqrt(dt_f)) if P["noise"] else None
    cac = P["scheme"] == "cac"
    if not cac:
        xi[...] = P["xi_ahc"]
    lam1 = float(run["lam1"])
    u = run["u"] if split else np.zeros(1, dtype=dtype)
    u64 = u.astype(np.float64)
    c_split = dt * beta * T(lam1)
    target_int, target = run["target_int"], run["target_energy"]
    stop_when = P["stop_when"]
    traj = [] if P["return_trajectory"] else None
    # field_mode='pinned': the auxiliary spin is a constant external field of amplitude field_amp
    pin = m - 1 if run["has_field"] and P["field_mode"] == "pinned" else -1
    pin_amp = T(P["field_amp"] if P["field_amp"] is not None else np.sqrt(P["alpha"]))
    if pin >= 0:
        x[:, pin] = pin_amp
    imp_tol = 1e-6
    refresh = 256
    no_noise = np.empty((0, m), dtype=dtype)
    de_buf = np.empty(m + 1, dtype=dtype)
    if sparse:
        indptr, indices, data = W.indptr.astype(np.int64), W.indices.astype(np.int64), W.data
        W64 = W.astype(np.float64)
    tmp = np.empty((R, m), dtype=dtype)
    dx = np.empty((R, m), dtype=dtype)
    de = np.empty((R, m), dtype=dtype)
    s_new = np.empty((R, m), dtype=dtype)
    k = R
    replica_steps = 0

    def _targets(step):
        """Exact check of new candidates; freeze them with stop_when='each'.  True: stop the run."""
        nonlocal k
        cand = np.flatnonzero(best_H[:k] <= target_int)
        newly = []
        for r in cand:
            i = rid[r]
            if reached[i] or not best_H[r] < checked[i]:
                continue
            checked[i] = best_H[r]
            if _exact_reached(run["ising"], best_s[r], n, run["has_field"], target):
                reached[i] = True
                reached_step[i] = step
                newly.append(r)
        if (stop_when == "any" and reached.any()) or (stop_when in ("all", "each") and reached.all()):
            return True
        if stop_when == "each" and newly:
            # freeze the replicas that reached the target: store their best, drop their rows
            out_s[rid[newly]] = best_s[newly]
            keep = np.setdiff1d(np.arange(k), newly)
            nk = len(keep)
            for A in (x, e, s, F, best_s, best_H, H, last_imp, xi, a, rid):
                A[:nk] = A[keep]
            k = nk
        return False

    fused = use_nb and not sparse and m <= FUSED_MAX_M and P["kernel"] == "auto" or P["kernel"] == "fused"
    if fused and (sparse or not use_nb):
        raise OracleError("kernel='fused' needs backend='numba' and a dense problem")
    t_start = time.perf_counter()
    time_limit = P["time_limit"]
    stop_reason = "num_steps"
    step = 0
    with _blas_threads(P["blas_threads"]):
        total = num_steps_of(run)
        if fused:
            # small dense problems: many steps per kernel call (no Python between steps); the kernel
            # returns early when a replica becomes a target candidate, so the exact check runs here
            chunk = int(max(1, min(4096, 2e6 // max(1, R * m * m))))
            empty3 = np.empty((0, 0, m), dtype=dtype)
            no_traj = np.empty((0, 0))
            tgt = target_int if target_int is not None else -np.inf
            done = 0
            while done < total:
                nst = min(chunk, total - done)
                noise = rng.standard_normal((nst, k, m), dtype=dtype) if noise_amp is not None else empty3
                tb = np.empty((nst, k)) if traj is not None else no_traj
                chk = checked[rid[:k]]
                got = K.run_dense_fused(k, nst, done, x, e, s, F, mvm, W, H, best_H, best_s, last_imp, xi, a,
                                        de_buf, cac, alpha, rho, delta, gap, gamma_dt, tau_steps, lin, mu, beta,
                                        dt, e_min, e_max, x_max, split, split, u, lam1, c_split, noise, no_noise,
                                        noise_amp if noise_amp is not None else T(0), imp_tol, refresh, tgt, chk,
                                        tb, pin, pin_amp)
                replica_steps += got * k
                if traj is not None:
                    for row in tb[:got]:
                        H_by_id[rid[:k]] = row
                        traj.append(H_by_id.copy())
                done += got
                step = done - 1
                if target_int is not None and _targets(step):
                    stop_reason = "target"
                    break
                if time_limit is not None and time.perf_counter() - t_start > time_limit:
                    stop_reason = "time_limit"
                    break
        for step in range(total if not fused else 0):
            replica_steps += k
            full = step % refresh == 0
            xk = x[:k]
            if use_nb:
                if full:
                    np.copysign(T(1), xk, out=s[:k])
                    F[:k] = (W64 @ s[:k].T).T if sparse else s[:k] @ W
                noise = rng.standard_normal((k, m), dtype=dtype) if noise_amp is not None else no_noise
                if sparse:
                    K.update_sparse(k, x, e, s, F, mvm, indptr, indices, data, H, best_H, best_s, last_imp, xi, a,
                                    de_buf, step, full, cac, alpha, rho, delta, gap, gamma_dt, tau_steps, lin, mu,
                                    beta, dt, e_min, e_max, x_max, split, False, u, lam1, c_split, noise,
                                    noise_amp if noise_amp is not None else T(0), imp_tol, pin, pin_amp)
                else:
                    np.matmul(xk, W, out=mvm[:k])
                    K.update_dense(k, x, e, s, F, mvm, W, H, best_H, best_s, last_imp, xi, a, de_buf, step, full,
                                   cac, alpha, rho, delta, gap, gamma_dt, tau_steps, lin, mu, beta, dt, e_min,
                                   e_max, x_max, split, split, u, lam1, c_split, noise,
                                   noise_amp if noise_amp is not None else T(0), imp_tol, pin, pin_amp)
            else:
                sk, Fk, mk = s[:k], F[:k], mvm[:k]
                if sparse:
                    np.copysign(T(1), xk, out=sk)
                    mk[...] = (W @ xk.T).T
                    if split:       # W_r x = W x - lam1 u (u.x), summed in order as the kernel does
                        ux = np.cumsum(xk.astype(np.float64) * u64, axis=1)[:, -1]
                        mk -= ((lam1 * ux)[:, None] * u64).astype(dtype)
                    Fk[...] = (W64 @ sk.T).T
                else:
                    sn = s_new[:k]
                    np.copysign(T(1), xk, out=sn)
                    np.matmul(xk, W, out=mk)
                    cols = np.flatnonzero((sn != sk).any(axis=0))
                    if full:
                        sk[...] = sn
                        Fk[...] = sk @ W
                    elif len(cols):
                        # float64 field: the flips enter exactly (+-2 W_j), only the float64 sum order
                        # differs from the compiled path, so both paths see the same energies to ~1e-16
                        D = (sn[:, cols] - sk[:, cols]).astype(np.float64)
                        sk[:, cols] = sn[:, cols]
                        Fk += D @ W[cols].astype(np.float64)
                Hk = -0.5 * np.einsum("ij,ij->i", sk, Fk, dtype=np.float64)
                if split and not sparse:      # sparse: F holds the full field already
                    Hk -= 0.5 * lam1 * (sk.astype(np.float64) @ u64) ** 2
                H[:k] = Hk
                bk = best_H[:k]
                imp = Hk < bk - imp_tol
                if imp.any():
                    bk[imp] = Hk[imp]
                    best_s[:k][imp] = sk[imp]
                    last_imp[:k][imp] = step
                xik, ak = xi[:k, None], a[:k, None]
                if cac:
                    ak[:, 0] = alpha + rho * np.tanh(delta * (Hk - bk) / gap)
                    xik += gamma_dt
                    stale = (step - last_imp[:k]) >= tau_steps
                    if stale.any():
                        xik[stale] = 0
                        last_imp[:k][stale] = step
                t2, dxk, dek = tmp[:k], dx[:k], de[:k]
                ek = e[:k]
                np.multiply(xk, xk, out=t2)              # x^2
                np.subtract(t2, ak, out=dek)
                dek *= ek
                dek *= -xik * dt
                np.multiply(t2, -mu, out=dxk)
                dxk += lin
                dxk *= xk
                np.multiply(ek, mk, out=t2)
                t2 *= beta
                dxk += t2
                dxk *= dt
                xk += dxk
                if split:
                    # x_new = b + c (e*u) (u.x_new), c = dt beta lam1  ->  Sherman-Morrison per replica
                    np.multiply(ek, u, out=t2)
                    # u.x cancels (the split damps that mode): sum sequentially in float64 (cumsum), as
                    # the compiled kernel does, so the float32 coefficient rounds the same on both paths
                    ub = np.cumsum(xk.astype(np.float64) * u64, axis=1)[:, -1]
                    eu2 = np.cumsum(t2.astype(np.float64) * u64, axis=1)[:, -1]
                    c64 = float(c_split)
                    coef = (c64 * ub / (1.0 - c64 * eu2)).astype(dtype)
                    t2 *= coef[:, None]
                    xk += t2
                if noise_amp is not None:
                    xk += noise_amp * rng.standard_normal((k, m), dtype=dtype)
                np.clip(xk, -x_max, x_max, out=xk)
                ek += dek
                np.clip(ek, e_min, e_max, out=ek)
                if pin >= 0:
                    xk[:, pin] = pin_amp
                    ek[:, pin] = 1
            if traj is not None:
                H_by_id[rid[:k]] = H[:k]
                traj.append(H_by_id.copy())
            if target_int is not None and _targets(step):
                stop_reason = "target"
                break
            if time_limit is not None and (step & 15) == 15 and time.perf_counter() - t_start > time_limit:
                stop_reason = "time_limit"
                break
    wall_dyn = time.perf_counter() - t_start
    out_s[rid[:k]] = best_s[:k]
    spins = out_s
    if run["has_field"]:
        spins = spins[:, :n] * spins[:, n:n + 1]
    info = {"steps": step + 1, "stop_reason": stop_reason, "dynamics_time_s": wall_dyn,
            "replica_steps": int(replica_steps)}
    if target_int is not None:
        info["reached_step"] = reached_step
    if traj is not None:
        info["trajectory"] = traj
    return spins.astype(np.int8), info


def num_steps_of(run: dict) -> int:
    return int(run["num_steps"])
