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
import time
from typing import Optional

import numpy as np
import scipy.sparse as sp

from .base import Oracle, OracleError
from .problems import Ising

__all__ = ["CIMOracle", "quantize"]


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
    alpha, rho, delta : float, default 0.5, 1.0, 2.0
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
    """

    name = "cim"
    default_reads = 32
    native_stop = True

    @property
    def parameters(self) -> tuple:
        """Every constructor parameter may be overridden per ``sample`` call."""
        return tuple(self.params)

    def __init__(self, num_steps: Optional[int] = None, dt: Optional[float] = None, pump: float = 0.0,
                 mu: float = 1.0, beta: float = 0.3, alpha: float = 0.5, rho: float = 1.0,
                 delta: float = 2.0, gamma: Optional[float] = None, tau: Optional[float] = None,
                 scheme: str = "cac", xi_ahc: float = 0.1, e_max: float = 32.0,
                 noise: float = 0.0, precision_bits: Optional[int] = None,
                 time_limit: Optional[float] = None, stop_when: str = "any",
                 return_trajectory: bool = False, dtype=np.float32,
                 init_amplitude: float = 1e-3, dense_threshold: float = 0.1,
                 x_max: float = 3.0, blas_threads: Optional[int] = 1,
                 split_mode: Optional[bool] = None):
        if scheme not in ("cac", "ahc"):
            raise OracleError(f"scheme must be 'cac' or 'ahc', got {scheme!r}")
        if stop_when not in ("any", "all", "never"):
            raise OracleError(f"stop_when must be 'any', 'all' or 'never', got {stop_when!r}")
        if precision_bits is not None and int(precision_bits) < 2:
            raise OracleError("precision_bits must be >= 2 (sign + magnitude)")
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
                           blas_threads=blas_threads, split_mode=split_mode)

    def __repr__(self):
        return f"CIMOracle({', '.join(f'{k}={v!r}' for k, v in self.params.items() if v is not None)})"

    # ------------------------------------------------------------------ setup
    @staticmethod
    def _coupling(ising: Ising, bits: Optional[int], dense_threshold: float):
        """Symmetric W (augmented by the auxiliary field spin when h != 0)."""
        W = ising.symmetric_coupling()
        h = ising.h
        if bits is not None:
            scale = max(abs(W).max() if W.size else 0.0, np.abs(h).max(initial=0.0))
            W, h = quantize(W, bits, scale), quantize(h, bits, scale)
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
        return W, has_field, nnz

    def _sample_spins(self, ising: Ising, num_reads: int, rng: np.random.Generator,
                      target_energy: Optional[float] = None, **overrides):
        P = dict(self.params)
        for k, v in overrides.items():
            if k not in P:
                raise OracleError(f"unknown CIM parameter {k!r}; known: {sorted(P)}")
            P[k] = v
        if P["scheme"] not in ("cac", "ahc") or P["stop_when"] not in ("any", "all", "never"):
            raise OracleError("invalid scheme / stop_when override")
        dtype = np.dtype(P["dtype"])
        n, R = ising.n, num_reads
        W, has_field, nnz = self._coupling(ising, P["precision_bits"], P["dense_threshold"])
        m = W.shape[0]
        sparse = sp.issparse(W)
        sq = W.multiply(W).sum() if sparse else float(np.sum(W * W))
        lam = float(np.sqrt(sq / m)) if sq > 0 else 1.0
        W = (W / lam).astype(dtype)
        if sparse:
            W = sp.csr_matrix(W)
        # energy of the internal problem = lam * (-1/2 s W~ s) + offset (exact without quantization)
        offset = ising.offset
        # rank-1 split W~ = W_r + lam1 u u^T (dense): the dominant mode is integrated implicitly
        split = False
        lam1, u = 0.0, None
        if not sparse and P["split_mode"] is not False and m > 2:
            lam1, u64 = _top_eigpair(W)
            W_r = W.astype(np.float64) - lam1 * np.outer(u64, u64)
            rest = _spectral_norm(W_r)
            # only a negative (decaying) mode: the implicit factor 1 - c u.(e u) is then > 1
            split = lam1 < 0 and (bool(P["split_mode"]) or abs(lam1) > 2.0 * rest)
            if split:
                W = W_r.astype(dtype)
                u = u64.astype(dtype)[None, :]
                norm_for_dt = rest
        if P["dt"] is None:
            P["dt"] = min(0.1, 0.2 / (norm_for_dt if split else _spectral_norm(W)))
        num_steps = P["num_steps"] if P["num_steps"] is not None else max(8000, 100 * n)
        dt = dtype.type(P["dt"])
        tau = P["tau"] if P["tau"] is not None else 0.5 * n + 50
        tau_steps = max(1, int(round(tau / P["dt"])))
        target_int = None
        if target_energy is not None:
            target_int = (float(target_energy) - offset) / lam + 1e-4 * max(1.0, abs(target_energy - offset) / lam)

        # dense: x @ W~ each step (R rows) and the spin field F = s @ W~ updated only on the
        # columns whose spin flipped (late in a run few spins flip, so the energy is almost free);
        # F is recomputed in full every ``refresh`` steps to stop float32 drift.
        # sparse: [x; s] stacked, one sparse product per step.
        Z = np.empty((2 * R, m), dtype=dtype)
        x, s = Z[:R], Z[R:]
        x[...] = rng.uniform(-P["init_amplitude"], P["init_amplitude"], size=(R, m))
        e = np.ones((R, m), dtype=dtype)
        xi = np.zeros((R, 1), dtype=dtype)
        best_s = np.empty((R, m), dtype=np.int8)
        best_H = np.full(R, np.inf)
        last_imp = np.zeros(R, dtype=np.int64)
        lin = dtype.type(P["pump"] - 1.0)
        mu, beta = dtype.type(P["mu"]), dtype.type(P["beta"])
        alpha, rho, delta = P["alpha"], P["rho"], P["delta"]
        # energy gap scale: typical single-flip change of the normalized energy ~ 2/sqrt(n)*...
        gap_scale = 1.0 / max(1.0, np.sqrt(m)) * 2.0
        # 0.5/n was tuned on SK n <= 100; beyond that the ramp stays at 5e-3 (0.5/n made SK N=1000
        # need > 15000 steps; 5e-3 was better on SK 1000, dense MaxCut 200-300 and G1, docs/ising.md)
        gamma = P["gamma"] if P["gamma"] is not None else 0.5 / min(m, 100)
        gamma_dt = dtype.type(gamma * P["dt"])
        e_max = dtype.type(P["e_max"])
        x_max = dtype.type(P["x_max"])
        noise = P["noise"]
        noise_amp = dtype.type(noise * np.sqrt(P["dt"])) if noise else None
        cac = P["scheme"] == "cac"
        if not cac:
            xi[...] = P["xi_ahc"]
        a = np.full((R, 1), alpha, dtype=dtype)
        traj = [] if P["return_trajectory"] else None
        Y = np.empty((2 * R, m), dtype=dtype)
        mvm, F = Y[:R], Y[R:]
        s_new = np.empty((R, m), dtype=dtype)
        tmp = np.empty((R, m), dtype=dtype)
        dx = np.empty((R, m), dtype=dtype)
        de = np.empty((R, m), dtype=dtype)
        s[...] = 0                      # forces a full field computation at step 0
        max_inc = max(1, m // 8)        # beyond this many flipped columns a full product is cheaper
        refresh = 256
        reached = np.zeros(R, dtype=bool)
        reached_step = np.full(R, -1, dtype=np.int64)
        t_start = time.perf_counter()
        time_limit = P["time_limit"]
        stop_reason = "num_steps"
        step = 0
        with _blas_threads(P["blas_threads"]):
            for step in range(num_steps):
                np.copysign(dtype.type(1), x, out=s_new)
                if sparse:
                    s[...] = s_new
                    Y[...] = (W @ Z.T).T
                else:
                    np.matmul(x, W, out=mvm)
                    cols = np.flatnonzero((s_new != s).any(axis=0))
                    if len(cols) > max_inc or step % refresh == 0:
                        s[...] = s_new
                        np.matmul(s, W, out=F)
                    elif len(cols):
                        D = s_new[:, cols] - s[:, cols]
                        s[:, cols] = s_new[:, cols]
                        F += D @ W[cols]
                H = -0.5 * np.einsum("ij,ij->i", s, F, dtype=np.float64)
                if split:
                    H -= 0.5 * lam1 * (s @ u[0]).astype(np.float64) ** 2
                if traj is not None:
                    traj.append(H)
                imp = H < best_H - 1e-6
                if imp.any():
                    best_H[imp] = H[imp]
                    best_s[imp] = s[imp]
                    last_imp[imp] = step
                if target_int is not None:
                    newly = (~reached) & (best_H <= target_int)
                    reached_step[newly] = step
                    reached |= newly
                    sw = P["stop_when"]
                    if (sw == "any" and reached.any()) or (sw == "all" and reached.all()):
                        stop_reason = "target"
                        break
                if cac:
                    a[:, 0] = alpha + rho * np.tanh(delta * (H - best_H) / gap_scale)
                    xi += gamma_dt
                    stale = (step - last_imp) >= tau_steps
                    if stale.any():
                        xi[stale] = 0
                        last_imp[stale] = step
                # explicit Euler; e update uses x before the step
                np.multiply(x, x, out=tmp)              # x^2
                np.subtract(tmp, a, out=de)
                de *= e
                de *= -xi * dt
                # x += dt*((p-1) x - mu x^3 + beta e W~x)
                np.multiply(tmp, -mu, out=dx)
                dx += lin
                dx *= x
                np.multiply(e, mvm, out=tmp)
                tmp *= beta
                dx += tmp
                dx *= dt
                x += dx
                if split:
                    # x_new = b + c (e*u) (u.x_new), c = dt beta lam1  ->  Sherman-Morrison per replica
                    c = dt * beta * dtype.type(lam1)
                    np.multiply(e, u, out=tmp)
                    ub = x @ u[0]
                    eu2 = tmp @ u[0]
                    coef = (c * ub / (1 - c * eu2)).astype(dtype)
                    tmp *= coef[:, None]
                    x += tmp
                if noise_amp is not None:
                    x += noise_amp * rng.standard_normal((R, m), dtype=dtype)
                np.clip(x, -x_max, x_max, out=x)   # keeps explicit Euler stable for large e
                e += de
                np.clip(e, 1e-6, e_max, out=e)
                if time_limit is not None and (step & 15) == 15 and time.perf_counter() - t_start > time_limit:
                    stop_reason = "time_limit"
                    break
        steps_done = step + 1
        wall_dyn = time.perf_counter() - t_start
        spins = best_s.astype(np.int8)
        if has_field:
            spins = spins[:, :n] * spins[:, n:n + 1]
        info = {"oracle": self.name, "scheme": P["scheme"], "steps": steps_done,
                "stop_reason": stop_reason, "dynamics_time_s": wall_dyn, "scale": lam,
                "auxiliary_field_spin": has_field, "sparse": sparse, "split_mode": split,
                "params": {k: (str(v) if isinstance(v, np.dtype) else v) for k, v in P.items()}}
        info["params"].update(num_steps=num_steps, tau=tau, gamma=gamma, dt=P["dt"])
        if target_int is not None:
            info["reached_step"] = reached_step
        if traj is not None:
            info["trajectory"] = np.asarray(traj) * lam + offset
        return spins, info
