"""Compiled (numba) step kernels of the CIM (optional: ``pip install qcbo-qnn[fast]``).

One call advances the ``k`` active replicas by one Euler step, fused: sign read-out, spin-field and
energy bookkeeping, best-state update, chaotic amplitude control and the Euler update of ``x`` and
``e``.  The coupling product ``x @ W~`` stays in BLAS for dense problems (the driver calls it, one
gemm for all replicas); sparse problems do the CSR product inside the kernel.  The elementwise
arithmetic is the numpy path's, operation for operation in the same dtype, so for the same product
the amplitudes agree bitwise; the spin field is updated flip by flip here (in BLAS blocks on the
numpy path), which changes only the last bits of the internal energy.

Without numba this module still imports (``AVAILABLE = False``) and the CIM uses its numpy path.
"""
from __future__ import annotations

import math

import numpy as np

try:                                    # optional dependency
    from numba import njit
    AVAILABLE = True
except ImportError:                     # pragma: no cover - exercised where numba is absent
    AVAILABLE = False

    def njit(*args, **kwargs):          # noqa: D401 - a stand-in decorator
        def wrap(f):
            return f
        return wrap(args[0]) if args and callable(args[0]) else wrap

__all__ = ["AVAILABLE", "update_dense", "update_sparse", "run_dense_fused"]


@njit(cache=True, nogil=True)
def one_of(v):
    return v / v


@njit(cache=True, nogil=True, fastmath=False)
def _row_update(r, m, x, e, s, F, mvm, H, best_H, best_s, last_imp, xi, a, de_buf, step, cac,
                alpha, rho, delta, gap, gamma_dt, tau_steps, lin, mu, beta, dt, e_min, e_max, x_max,
                split, split_e, u, lam1, c_split, noise, noise_amp, imp_tol, pin, pin_amp):
    """Energy, best state, CAC and the Euler step of replica ``r`` (``F`` already current).
    ``de_buf`` has ``m + 1`` entries: the last one casts the rank-1 coefficient to the amplitude dtype."""
    h = 0.0
    for j in range(m):
        h += s[r, j] * F[r, j]
    Hr = -0.5 * h
    if split_e:
        su = 0.0
        for j in range(m):
            su += np.float64(s[r, j]) * np.float64(u[j])
        Hr -= 0.5 * lam1 * su * su
    H[r] = Hr
    if Hr < best_H[r] - imp_tol:
        best_H[r] = Hr
        for j in range(m):
            best_s[r, j] = 1 if s[r, j] > 0 else -1
        last_imp[r] = step
    if cac:
        a[r] = alpha + rho * math.tanh(delta * (Hr - best_H[r]) / gap)
        xi[r] += gamma_dt
        if step - last_imp[r] >= tau_steps:
            xi[r] = 0
            last_imp[r] = step
    ar = a[r]
    xdt = -xi[r] * dt
    for j in range(m):
        xj = x[r, j]
        x2 = xj * xj
        de_buf[j] = (x2 - ar) * e[r, j] * xdt
        dx = (x2 * -mu + lin) * xj
        dx += e[r, j] * mvm[r, j] * beta
        x[r, j] = xj + dx * dt
    if split:
        ub = 0.0
        eu2 = 0.0
        for j in range(m):
            ub += np.float64(x[r, j]) * np.float64(u[j])
            eu2 += np.float64(e[r, j] * u[j]) * np.float64(u[j])
        c64 = np.float64(c_split)
        de_buf[m] = c64 * ub / (1.0 - c64 * eu2)       # rounds to the amplitude dtype, as numpy's astype
        coef = de_buf[m]
        for j in range(m):
            x[r, j] += e[r, j] * u[j] * coef
    has_noise = noise.shape[0] > 0
    for j in range(m):
        xj = x[r, j]
        if has_noise:
            xj += noise_amp * noise[r, j]
        if xj > x_max:
            xj = x_max
        elif xj < -x_max:
            xj = -x_max
        x[r, j] = xj
        ej = e[r, j] + de_buf[j]
        if ej > e_max:
            ej = e_max
        elif ej < e_min:
            ej = e_min
        e[r, j] = ej
    if pin >= 0:                        # the auxiliary field spin held at a fixed amplitude
        x[r, pin] = pin_amp
        e[r, pin] = one_of(dt)


@njit(cache=True, nogil=True, fastmath=False)
def update_dense(k, x, e, s, F, mvm, W, H, best_H, best_s, last_imp, xi, a, de_buf, step, full, cac,
                 alpha, rho, delta, gap, gamma_dt, tau_steps, lin, mu, beta, dt, e_min, e_max, x_max,
                 split, split_e, u, lam1, c_split, noise, noise_amp, imp_tol, pin, pin_amp):
    """One step of the first ``k`` rows; ``mvm = x @ W`` given.  ``full``: ``s``/``F`` were
    refreshed by the driver; otherwise the field follows every flipped spin, ``F += 2 s_j W[j]``."""
    m = x.shape[1]
    one = dt / dt                       # typed constant (x.dtype.type(...) is float64 in numba)
    for r in range(k):
        if not full:
            for j in range(m):
                sn = one if math.copysign(1.0, x[r, j]) > 0 else -one
                if sn != s[r, j]:
                    d = np.float64(sn - s[r, j])
                    s[r, j] = sn
                    for c in range(m):
                        F[r, c] += d * np.float64(W[j, c])
        _row_update(r, m, x, e, s, F, mvm, H, best_H, best_s, last_imp, xi, a, de_buf, step, cac,
                    alpha, rho, delta, gap, gamma_dt, tau_steps, lin, mu, beta, dt, e_min, e_max, x_max,
                    split, split_e, u, lam1, c_split, noise, noise_amp, imp_tol, pin, pin_amp)


@njit(cache=True, nogil=True, fastmath=False)
def update_sparse(k, x, e, s, F, mvm, indptr, indices, data, H, best_H, best_s, last_imp, xi, a, de_buf,
                  step, full, cac, alpha, rho, delta, gap, gamma_dt, tau_steps, lin, mu, beta, dt, e_min,
                  e_max, x_max, split, split_e, u, lam1, c_split, noise, noise_amp, imp_tol, pin, pin_amp):
    """Sparse (CSR, symmetric) version: the product ``x @ W`` is done here, row by row."""
    m = x.shape[1]
    one = dt / dt                       # typed constants (x.dtype.type(...) is float64 in numba)
    zero = dt - dt
    for r in range(k):
        for i in range(m):
            acc = zero
            for p in range(indptr[i], indptr[i + 1]):
                acc += data[p] * x[r, indices[p]]
            mvm[r, i] = acc
        if split:                            # W_r x = W x - lam1 u (u.x)
            ux = 0.0
            for j in range(m):
                ux += np.float64(x[r, j]) * np.float64(u[j])
            corr = lam1 * ux
            for i in range(m):
                de_buf[m] = corr * np.float64(u[i])     # rounds to the amplitude dtype, as numpy
                mvm[r, i] -= de_buf[m]
        if not full:
            for j in range(m):
                sn = one if math.copysign(1.0, x[r, j]) > 0 else -one
                if sn != s[r, j]:
                    d = np.float64(sn - s[r, j])
                    s[r, j] = sn
                    for p in range(indptr[j], indptr[j + 1]):
                        F[r, indices[p]] += d * np.float64(data[p])
        _row_update(r, m, x, e, s, F, mvm, H, best_H, best_s, last_imp, xi, a, de_buf, step, cac,
                    alpha, rho, delta, gap, gamma_dt, tau_steps, lin, mu, beta, dt, e_min, e_max, x_max,
                    split, split_e, u, lam1, c_split, noise, noise_amp, imp_tol, pin, pin_amp)


@njit(cache=True, nogil=True, fastmath=False)
def run_dense_fused(k, nsteps, step0, x, e, s, F, mvm, W, H, best_H, best_s, last_imp, xi, a, de_buf, cac,
                    alpha, rho, delta, gap, gamma_dt, tau_steps, lin, mu, beta, dt, e_min, e_max, x_max,
                    split, split_e, u, lam1, c_split, noise, empty2d, noise_amp, imp_tol, refresh, target_int, checked,
                    traj, pin, pin_amp):
    """Up to ``nsteps`` steps of the first ``k`` rows without leaving the kernel, the product
    ``x @ W`` included.  For small dense problems, where a step's Python overhead costs more than its arithmetic.  The product is ``np.dot`` (BLAS through
    scipy, float32); it may round differently from numpy's matmul, so this path is equivalent to the
    numpy one, not guaranteed bitwise equal (``kernel='step'`` is).  Returns the steps done: it stops after
    the step in which a replica's best energy first passes ``target_int`` (below ``checked[r]``),
    so that the driver can check the candidate exactly.  ``noise``: (nsteps, k, m) or empty;
    ``traj``: (nsteps, k) energies or empty."""
    m = x.shape[1]
    one = dt / dt
    zero = dt - dt
    has_noise = noise.shape[0] > 0
    for t in range(nsteps):
        step = step0 + t
        full = step % refresh == 0
        hit = False
        mvm[:k] = np.dot(x[:k], W)          # BLAS (scipy's), no Python between steps
        for r in range(k):
            if full:
                for c in range(m):
                    F[r, c] = 0.0
                for j in range(m):
                    sj = one if math.copysign(1.0, x[r, j]) > 0 else -one
                    s[r, j] = sj
                    d = np.float64(sj)
                    for c in range(m):
                        F[r, c] += d * np.float64(W[j, c])
            else:
                for j in range(m):
                    sn = one if math.copysign(1.0, x[r, j]) > 0 else -one
                    if sn != s[r, j]:
                        d = np.float64(sn - s[r, j])
                        s[r, j] = sn
                        for c in range(m):
                            F[r, c] += d * np.float64(W[j, c])
            nz = noise[t] if has_noise else empty2d
            _row_update(r, m, x, e, s, F, mvm, H, best_H, best_s, last_imp, xi, a, de_buf, step, cac,
                        alpha, rho, delta, gap, gamma_dt, tau_steps, lin, mu, beta, dt, e_min, e_max, x_max,
                        split, split_e, u, lam1, c_split, nz, noise_amp, imp_tol, pin, pin_amp)
            if traj.shape[0] > 0:
                traj[t, r] = H[r]
            if best_H[r] <= target_int and best_H[r] < checked[r]:
                hit = True
        if hit:
            return t + 1
    return nsteps
