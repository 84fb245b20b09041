"""Forward Interval Propagation (FIP): sound bounds, breakpoints and spline levels per layer.

``FIPNetwork(spec, X, y)`` fixes every constant of the formulation once:

- the layer inputs in v-units (raw features, or integer input levels when ``input_bits`` is set);
- for every layer l and neuron j, sound bounds [u_lo, u_hi] on u[l, n, j] for every weight code
  (per sample, and their envelope per neuron) by interval arithmetic;
- the K_l sub-intervals per neuron: boundaries ``t[l][j, 0..K]`` (interval form) and, on the integer
  grid, integer ranges ``lo[l][j, k] .. hi[l][j, k]`` with t_k = lo_k - 1/2, t_{k+1} = hi_k + 1/2
  (sub-intervals k = 0..K-1, sub-interval k is [t_k, t_{k+1}]);
- spline levels of the activation (hidden layers) and of the loss (output layer), with their
  worst-case error on each interval. On the grid they are computed over the integer points of the
  sub-interval that lie in the FIP envelope [u_lo, u_hi] of the neuron: every point the network can
  reach is among them, but not every one of them is reachable (docs/formulation.md, section 4).

Every later form (Pyomo model, canonical QCBO, QUBO) reuses these constants; nothing is recomputed.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import InputDataError
from .spec import NetworkSpec, WeightCode
from .functions import activation_fn, loss, loss_fn
from .splines import fit_constant, fit_linear

QUANTILE_DRAWS = 64


@dataclass
class LayerFIP:
    """Constants of one layer l (1-based). Arrays are indexed [j, k] (neuron, sub-interval)."""

    l: int
    d_in: int
    d_out: int
    K: int
    code: WeightCode
    has_bias: bool
    c: float               # bias input value in v-units (0 without bias)
    alpha: float           # weight scale
    gamma: float           # v-unit step: real input = gamma * v
    u_lo_sample: np.ndarray  # (N, d_out)
    u_hi_sample: np.ndarray
    u_lo: np.ndarray       # (d_out,)
    u_hi: np.ndarray
    t: np.ndarray          # (d_out, K+1) interval-form boundaries (u-units)
    lo: np.ndarray | None  # (d_out, K) integer ranges on the grid
    hi: np.ndarray | None
    levels: np.ndarray     # hidden: activation level (real units); output: unused (zeros)
    v_levels: np.ndarray   # hidden: level in the next layer's v-units (integers on the grid)
    errors: np.ndarray     # hidden: worst-case activation error per interval
    is_output: bool
    loss_levels: np.ndarray | None = None   # output: (d_out, K, 2), y = -1 -> [...,0], y = +1 -> [...,1]
    loss_slopes: np.ndarray | None = None   # output, linear spline: d loss / d u on each interval
    loss_errors: np.ndarray | None = None   # output: (d_out, K, 2)
    sound: bool = True

    @property
    def kappa(self) -> float:
        """z = kappa * u."""
        return self.alpha * self.gamma

    @property
    def fan_in(self) -> int:
        return self.d_in + int(self.has_bias)

    @property
    def widths(self) -> np.ndarray | None:
        """Number of integer points per interval on the grid."""
        return None if self.lo is None else (self.hi - self.lo + 1)


def _numeric(a, what: str) -> np.ndarray:
    try:
        arr = np.asarray(a)
    except ValueError as e:
        raise InputDataError(f"{what} is not a rectangular array: {e}") from None
    if arr.dtype.kind not in "biuf":
        raise InputDataError(f"{what} must be numeric (int or float), got dtype {arr.dtype}")
    return arr.astype(float)


def _validate_data(spec: NetworkSpec, X, y):
    X = _numeric(X, "X")
    if X.ndim != 2:
        raise InputDataError(f"X must be a 2-D array (samples, features), got shape {X.shape}")
    if X.shape[1] != spec.input_dim:
        raise InputDataError(
            f"X has {X.shape[1]} features but the spec has input_dim={spec.input_dim}; "
            "check the pooling or the spec")
    if X.shape[0] < 1:
        raise InputDataError("X has no samples")
    if not np.all(np.isfinite(X)):
        bad = np.argwhere(~np.isfinite(X))[0]
        raise InputDataError(f"X contains NaN or inf (first at sample {bad[0]}, feature {bad[1]}); clean the data first")
    y = _numeric(y, "y")
    if y.ndim == 1:
        y = y[:, None]
    if y.ndim != 2 or y.shape[0] != X.shape[0]:
        raise InputDataError(f"y must have one row per sample: X has {X.shape[0]} rows, y has shape {y.shape}")
    if y.shape[1] != spec.output_dim:
        raise InputDataError(f"y has {y.shape[1]} columns but output_dim={spec.output_dim}")
    if not np.all(np.isin(y, (-1.0, 1.0))):
        raise InputDataError("labels must be in {-1, +1} (use qcbo_model.data.one_vs_rest for several classes)")
    for c in range(y.shape[1]):
        if np.all(y[:, c] == y[0, c]):
            raise InputDataError(
                f"labels of output {c} are all {int(y[0, c]):+d}: a single class cannot be trained; "
                "select samples of both classes")
    if spec.input_bits is not None and (X.min() < 0.0 or X.max() > 1.0):
        raise InputDataError("input_bits quantizes inputs in [0, 1]; scale X to [0, 1] first")
    return X, y


def quantize_inputs(spec: NetworkSpec, X) -> tuple[np.ndarray, float]:
    """Return (v, gamma) with real inputs = gamma * v; integer v on the grid."""
    X = np.asarray(X, dtype=float)
    if spec.input_bits is None:
        return X, 1.0
    levels = 2 ** spec.input_bits - 1
    return np.rint(np.clip(X, 0.0, 1.0) * levels), 1.0 / levels


def _interval_bounds(v_lo, v_hi, code: WeightCode, c: float):
    """Sound bounds of sum_i q_i v_i + q_b c over q_i in [qmin, qmax], v_i in [v_lo, v_hi]."""
    cands = np.stack([code.qmin * v_lo, code.qmin * v_hi, code.qmax * v_lo, code.qmax * v_hi])
    lo = cands.min(axis=0).sum(axis=-1) + min(code.qmin * c, code.qmax * c)
    hi = cands.max(axis=0).sum(axis=-1) + max(code.qmin * c, code.qmax * c)
    return lo, hi


def interval_index(layer, u):
    """Sub-interval index of u[..., j]: the k with t_k <= u <= t_{k+1} (ties go low); ``layer`` has the
    boundaries ``t`` (d, K+1) (a ``LayerFIP`` or a saved model's layer)."""
    return np.sum(u[..., None] > layer.t[:, 1:-1], axis=-1).astype(np.int64)


def _random_codes(code: WeightCode, shape, rng):
    bits = rng.integers(0, 2, size=shape + (code.n_bits,))
    if code.kind == "ternary":
        bits[..., 1] &= 1 - bits[..., 0]   # respect the exclusion
    return code.decode(bits)


class FIPNetwork:
    """All FIP constants of a spec on a training set.

    Parameters
    ----------
    spec : NetworkSpec
    X : (N, d_0) inputs (in [0,1] when ``spec.input_bits`` is set)
    y : (N,) or (N, d_L) labels in {-1, +1}
    """

    def __init__(self, spec: NetworkSpec, X, y):
        self.spec = spec
        X, Y = _validate_data(spec, X, y)
        self.X = X
        self.Y = Y
        self.N = X.shape[0]
        self.v_in, gamma1 = quantize_inputs(spec, X)
        rng = np.random.default_rng(spec.seed)
        self.layers: list[LayerFIP] = []
        self.sound = True

        v_lo = v_hi = self.v_in                         # (N, d_in) per-sample input ranges
        v_sq_mean = float(np.mean(np.sum((gamma1 * self.v_in) ** 2, axis=1)))
        gamma = gamma1
        v_draws = None
        if spec.breakpoints == "quantile":
            v_draws = np.broadcast_to(self.v_in, (QUANTILE_DRAWS,) + self.v_in.shape)
        L = spec.n_layers
        for l in range(1, L + 1):
            code = spec.codes[l - 1]
            d_in, d_out, K = spec.widths[l - 1], spec.widths[l], spec.intervals[l - 1]
            has_bias = spec.bias[l - 1]
            c = 0.0
            if has_bias:
                c = spec.bias_scale[l - 1] / gamma
                if spec.on_grid:
                    c = float(max(1.0, np.rint(c)))
            is_out = l == L
            # scale alpha: unit RMS of z under uniformly random codes
            eq2 = code.mean_square
            s = spec.scales[l - 1]
            alpha = float(s) if s != "auto" else 1.0 / np.sqrt(max(eq2 * (v_sq_mean + (gamma * c) ** 2), 1e-12))
            kappa = alpha * gamma

            lo_s, hi_s = _interval_bounds(v_lo, v_hi, code, c)
            lo_s = np.broadcast_to(lo_s[:, None], (self.N, d_out)).copy()
            hi_s = np.broadcast_to(hi_s[:, None], (self.N, d_out)).copy()
            u_lo, u_hi = lo_s.min(axis=0), hi_s.max(axis=0)

            u_draws = None
            if v_draws is not None:
                q = _random_codes(code, (QUANTILE_DRAWS, d_out, d_in + int(has_bias)), rng)
                u_draws = np.einsum("mni,mji->mnj", v_draws, q[:, :, :d_in])
                if has_bias:
                    u_draws = u_draws + c * q[:, None, :, d_in]
            t, lo, hi = self._breakpoints(u_lo, u_hi, K, u_draws)

            layer = LayerFIP(l=l, d_in=d_in, d_out=d_out, K=K, code=code, has_bias=has_bias, c=c,
                             alpha=alpha, gamma=gamma, u_lo_sample=lo_s, u_hi_sample=hi_s,
                             u_lo=u_lo, u_hi=u_hi, t=t, lo=lo, hi=hi,
                             levels=np.zeros((d_out, K)), v_levels=np.zeros((d_out, K)),
                             errors=np.zeros((d_out, K)), is_output=is_out)
            if is_out:
                self._fit_loss(layer)
            else:
                gamma_next = self._fit_activation(layer, spec.activation[l - 1])
                # next layer's per-sample input range: the levels a neuron can take
                lv = layer.v_levels
                v_lo = np.broadcast_to(lv.min(axis=1), (self.N, d_out))
                v_hi = np.broadcast_to(lv.max(axis=1), (self.N, d_out))
                v_sq_mean = float(np.sum(np.mean(layer.levels ** 2, axis=1)))
                gamma = gamma_next
                if u_draws is not None:
                    k = interval_index(layer, u_draws)
                    v_draws = np.take_along_axis(
                        np.broadcast_to(lv, u_draws.shape + (K,)), k[..., None], axis=-1)[..., 0]
            self.sound = self.sound and layer.sound
            self.layers.append(layer)

    # ------------------------------------------------------------------------------------
    def _breakpoints(self, u_lo, u_hi, K, u_draws):
        spec = self.spec
        d = len(u_lo)
        if spec.on_grid:
            Lg, Ug = np.ceil(u_lo - 1e-9), np.floor(u_hi + 1e-9)
            if u_draws is None:
                W = np.ceil((Ug - Lg + 1) / K)
                lo = Lg[:, None] + W[:, None] * np.arange(K)[None, :]
                hi = lo + W[:, None] - 1
            else:
                qs = np.quantile(u_draws.reshape(-1, d), np.arange(1, K) / K, axis=0).T  # (d, K-1)
                inner = np.floor(qs) + 0.5
                bnd = np.empty((d, K + 1))
                bnd[:, 0] = Lg - 0.5
                bnd[:, 1:K] = inner
                bnd[:, K] = Ug + 0.5
                for k in range(1, K + 1):   # strictly increasing, at least one point per interval
                    bnd[:, k] = np.maximum(bnd[:, k], bnd[:, k - 1] + 1)
                lo = bnd[:, :K] + 0.5
                hi = bnd[:, 1:] - 0.5
            t = np.concatenate([lo - 0.5, hi[:, -1:] + 0.5], axis=1)
            return t, lo, hi
        if u_draws is None:
            t = u_lo[:, None] + (u_hi - u_lo)[:, None] * np.linspace(0.0, 1.0, K + 1)[None, :]
        else:
            qs = np.quantile(u_draws.reshape(-1, d), np.arange(1, K) / K, axis=0).T
            t = np.concatenate([u_lo[:, None], np.clip(qs, u_lo[:, None], u_hi[:, None]), u_hi[:, None]], axis=1)
            t = np.maximum.accumulate(t, axis=1)
        return t, None, None

    def _fit_activation(self, layer: LayerFIP, act) -> float:
        fn, lip = activation_fn(act)
        grid = self.spec.on_grid
        for j in range(layer.d_out):
            lo, hi = (layer.lo[j], layer.hi[j]) if grid else (layer.t[j, :-1], layer.t[j, 1:])
            fit = fit_constant(fn, layer.kappa, lo, hi, grid, lip, layer.u_lo[j], layer.u_hi[j])
            layer.levels[j], layer.errors[j] = fit.level, fit.error
            layer.sound = layer.sound and fit.sound
        if not grid:
            layer.v_levels = layer.levels.copy()
            return 1.0
        step = self.spec.level_step
        if step == "auto":
            step = 1.0 if np.allclose(layer.levels, np.rint(layer.levels)) else 0.25
        step = float(step)
        m = np.rint(layer.levels / step)
        # rounding the level to the grid adds its shift to the interval's error
        layer.errors = layer.errors + np.abs(layer.levels - m * step)
        layer.levels = m * step
        layer.v_levels = m
        return step

    def _fit_loss(self, layer: LayerFIP):
        lfn = loss_fn(self.spec.loss)
        grid = self.spec.on_grid
        K, d = layer.K, layer.d_out
        layer.loss_levels = np.zeros((d, K, 2))
        layer.loss_errors = np.zeros((d, K, 2))
        linear = self.spec.output_spline == "linear"
        if linear:
            layer.loss_slopes = np.zeros((d, K, 2))
        for j in range(d):
            for yi, yv in enumerate((-1.0, 1.0)):
                def f(z, yv=yv):
                    return lfn(z, np.full_like(z, yv))
                if linear:
                    fit = fit_linear(f, layer.kappa, layer.t[j, :-1], layer.t[j, 1:])
                    layer.loss_slopes[j, :, yi] = fit.slope
                else:
                    lo, hi = (layer.lo[j], layer.hi[j]) if grid else (layer.t[j, :-1], layer.t[j, 1:])
                    lip = None
                    if isinstance(self.spec.loss, str):
                        R = layer.kappa * max(abs(layer.t[j, 0]), abs(layer.t[j, -1]))
                        lip = loss(self.spec.loss).lipschitz(R)
                    fit = fit_constant(f, layer.kappa, lo, hi, grid, lip, layer.u_lo[j], layer.u_hi[j])
                    # The loss bound uses an estimated Lipschitz constant off the grid.
                    layer.sound = layer.sound and (fit.sound or grid)
                layer.loss_levels[j, :, yi] = fit.level
                layer.loss_errors[j, :, yi] = fit.error

    def interval_index(self, l: int, u):
        """Sub-interval index of u[..., j] in layer l (1-based), see :func:`interval_index`."""
        return interval_index(self.layers[l - 1], u)

    # ------------------------------------------------------------------------------------
    @property
    def y_index(self) -> np.ndarray:
        """(N, d_L) 0 for y = -1, 1 for y = +1."""
        return (self.Y > 0).astype(np.int64)

    def objective_coefs(self) -> np.ndarray:
        """(N, d_L, K_L): coefficient of delta_out[n, j, k] in the constant-spline objective."""
        out = self.layers[-1]
        lv = out.loss_levels                                     # (d, K, 2)
        yi = self.y_index                                        # (N, d)
        coef = np.take_along_axis(lv[None, :, :, :], yi[:, :, None, None], axis=3)[..., 0]
        return coef / self.N

    def objective_slopes(self) -> np.ndarray | None:
        out = self.layers[-1]
        if out.loss_slopes is None:
            return None
        yi = self.y_index
        return np.take_along_axis(out.loss_slopes[None], yi[:, :, None, None], axis=3)[..., 0] / self.N

    def spline_error_report(self) -> list[dict]:
        rep = []
        for layer in self.layers:
            if layer.is_output:
                err = layer.loss_errors.max(axis=(0, 2))
                rep.append({"layer": layer.l, "kind": "loss", "K": layer.K,
                            "max_error": float(err.max()), "per_interval": err.tolist(),
                            "sound": layer.sound})
            else:
                err = layer.errors.max(axis=0)
                rep.append({"layer": layer.l, "kind": "activation", "K": layer.K,
                            "max_error": float(err.max()), "per_interval": err.tolist(),
                            "sound": layer.sound})
        return rep
