"""Piecewise splines of activations and losses over FIP sub-intervals (functions: ``functions.py``).

A spline level on a sub-interval is the minimax constant (max + min) / 2 of the function on it,
so the worst-case error on that interval is (max - min) / 2.  On the integer grid the function is
evaluated at every integer point of the interval inside the FIP envelope [reach_lo, reach_hi] (a
superset of the points the network can reach, so the error is a sound bound, exact over those grid
points, and can exceed the error over the reachable points alone); off the grid it is
evaluated on a dense sample and a Lipschitz correction L * h / 2 makes the bound sound for the
built-in functions (for user callables the Lipschitz constant is estimated, and the bound is then
empirical; ``SplineFit.sound`` says which).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from .errors import SpecError

SAMPLES_PER_INTERVAL = 257


def _interval_points(lo, hi, grid: bool, reach_lo=None, reach_hi=None):
    """Points at which to evaluate on each interval: (K, P) array with NaN padding."""
    K = len(lo)
    if grid:
        a = np.ceil(np.maximum(lo, reach_lo)) if reach_lo is not None else np.ceil(lo)
        b = np.floor(np.minimum(hi, reach_hi)) if reach_hi is not None else np.floor(hi)
        n = np.maximum((b - a + 1).astype(np.int64), 0)
        P = max(int(n.max()), 1)
        pts = a[:, None] + np.arange(P)[None, :]
        pts = np.where(np.arange(P)[None, :] < n[:, None], pts, np.nan)
        return pts
    t = np.linspace(0.0, 1.0, SAMPLES_PER_INTERVAL)
    return lo[:, None] + (hi - lo)[:, None] * t[None, :]


def _safe_eval(fn, x):
    out = np.empty_like(x)
    ok = ~np.isnan(x)
    out[~ok] = np.nan
    vals = np.asarray(fn(x[ok]), dtype=float)
    if vals.shape != x[ok].shape:
        raise SpecError("activation/loss callables must be elementwise: output shape must equal input shape")
    if not np.all(np.isfinite(vals)):
        raise SpecError("activation/loss returned non-finite values on the FIP range")
    out[ok] = vals
    return out


@dataclass
class SplineFit:
    level: np.ndarray        # (K,) constant level per interval (minimax)
    error: np.ndarray        # (K,) worst-case |f - level| on the interval (bound)
    slope: np.ndarray | None = None      # (K,) for linear splines: f ~ level + slope * (u - lo)
    sound: bool = True       # False when the bound relies on an estimated Lipschitz constant


def fit_constant(fn, kappa, lo, hi, grid, lipschitz=None, reach_lo=None, reach_hi=None) -> SplineFit:
    """Constant spline of f(kappa * u) on intervals [lo_k, hi_k] (u-units)."""
    pts = _interval_points(lo, hi, grid, reach_lo, reach_hi)
    vals = _safe_eval(fn, kappa * pts)
    has = ~np.all(np.isnan(vals), axis=1)
    vmax = np.where(has, np.nanmax(np.where(np.isnan(vals), -np.inf, vals), axis=1), 0.0)
    vmin = np.where(has, np.nanmin(np.where(np.isnan(vals), np.inf, vals), axis=1), 0.0)
    level = 0.5 * (vmax + vmin)
    err = 0.5 * (vmax - vmin)
    sound = True
    if not grid:
        h = kappa * (hi - lo) / (SAMPLES_PER_INTERVAL - 1)
        if lipschitz is None:
            lipschitz = _estimate_lipschitz(vals, kappa * pts)
            sound = False
        if np.isinf(lipschitz):
            # Discontinuous (sign): the dense sample contains both sides of any jump inside
            # the interval, so (max - min)/2 is exact for a piecewise-constant function.
            pass
        else:
            err = err + lipschitz * h / 2.0
    return SplineFit(level=level, error=err, sound=sound)


def fit_linear(fn, kappa, lo, hi) -> SplineFit:
    """Linear interpolation of f(kappa * u) between interval endpoints (off-grid, sampled error)."""
    pts = _interval_points(lo, hi, False)
    vals = _safe_eval(fn, kappa * pts)
    f_lo, f_hi = vals[:, 0], vals[:, -1]
    width = np.where(hi > lo, hi - lo, 1.0)
    slope = (f_hi - f_lo) / width
    approx = f_lo[:, None] + slope[:, None] * (pts - lo[:, None])
    err = np.max(np.abs(vals - approx), axis=1)
    return SplineFit(level=f_lo, error=err, slope=slope, sound=False)


def _estimate_lipschitz(vals, x):
    dx = np.diff(x, axis=1)
    dv = np.abs(np.diff(vals, axis=1))
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(dx > 0, dv / dx, 0.0)
    return float(np.nanmax(r)) if r.size else 0.0
