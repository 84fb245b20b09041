"""Network specification: what the quantized network is, independent of any encoding.

A network has layers l = 1..L (L = len(hidden) + 1). Layer l maps d_{l-1} inputs to d_l
pre-activations

    u[l, n, j] = sum_i q[l, j, i] * v[l, n, i]  +  q[l, j, bias] * c_l          (v-units)
    z[l, n, j] = kappa_l * u[l, n, j]                                            (real units)

where q are integer weight codes (affine in the weight bits, see WeightCode), v are the layer's
inputs in "v-units" (raw features, integer input levels, or integer activation levels) and
kappa_l = alpha_l * gamma_l folds the per-layer weight scale alpha_l and the input grid step
gamma_l.  Hidden outputs are h = sigma(z); the output layer feeds the loss l(z, y).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, asdict
from typing import Callable, Sequence, Union

import numpy as np

from .errors import SpecError
from .functions import ACTIVATION_NAMES, LOSS_NAMES


@dataclass(frozen=True)
class WeightCode:
    """Integer weight code q as an affine function of its bits w_b in {0,1}:

        q = q0 + sum_b a[b] * w_b

    - ``binary``:  q = 2 w0 - 1 in {-1, +1}                        (1 bit)
    - ``grid``:    q = sum_b 2^(b+1) w_b - (2^B - 1), odd integers in [-(2^B-1), 2^B-1]  (B bits)
    - ``ternary``: q = w_plus - w_minus in {-1, 0, +1}, with the exclusion w_plus * w_minus = 0 (2 bits)
    """

    kind: str
    n_bits: int

    MAX_BITS = 32     # grid codes up to 2^32 - 1: coefficients stay exact in float64 products

    def __post_init__(self):
        if self.kind not in ("binary", "grid", "ternary"):
            raise SpecError(f"unknown weight code {self.kind!r}; use 'binary', 'grid' or 'ternary'")
        if isinstance(self.n_bits, (bool, np.bool_)) or not isinstance(self.n_bits, (int, np.integer)):
            raise SpecError(f"bits must be an integer, got {self.n_bits!r}")
        if self.n_bits > self.MAX_BITS:
            raise SpecError(f"bits must be in 1..{self.MAX_BITS} per weight (a {self.n_bits}-bit grid has "
                            f"2^{self.n_bits} values), got bits={self.n_bits}")
        if self.n_bits < 1:
            raise SpecError(f"a weight code needs at least 1 bit, got bits={self.n_bits}")
        if self.kind == "binary" and self.n_bits != 1:
            raise SpecError("the binary code has exactly 1 bit")
        if self.kind == "ternary" and self.n_bits != 2:
            raise SpecError("the ternary code has exactly 2 bits (plus and minus)")

    @classmethod
    def parse(cls, token) -> "WeightCode":
        """'1' -> binary, 'B' (B >= 2) -> B-bit grid, 't'/'ternary' -> ternary."""
        if isinstance(token, WeightCode):
            return token
        s = str(token).strip().lower()
        if s in ("t", "ternary"):
            return cls("ternary", 2)
        if isinstance(token, (bool, np.bool_)) or isinstance(token, (float, np.floating)):
            raise SpecError(f"bits must be an integer >= 1 or 't' for ternary, got {token!r}")
        if isinstance(token, bytes) or (isinstance(token, str) and not re.fullmatch(r"[0-9]+", s)):
            raise SpecError(f"bits must be an integer >= 1 or 't' for ternary, got {token!r}")
        try:
            b = int(s)
        except ValueError:
            raise SpecError(f"bits must be an integer >= 1 or 't' for ternary, got {token!r}") from None
        if b < 1:
            raise SpecError(f"bits must be >= 1, got {b}")
        return cls("binary", 1) if b == 1 else cls("grid", b)

    @property
    def coefs(self) -> np.ndarray:
        if self.kind == "binary":
            return np.array([2.0])
        if self.kind == "ternary":
            return np.array([1.0, -1.0])
        return 2.0 ** (np.arange(self.n_bits) + 1)

    @property
    def q0(self) -> float:
        if self.kind == "ternary":
            return 0.0
        return -(2.0 ** self.n_bits - 1)

    @property
    def qmin(self) -> float:
        return -1.0 if self.kind == "ternary" else -(2.0 ** self.n_bits - 1)

    @property
    def qmax(self) -> float:
        return -self.qmin

    @property
    def n_values(self) -> int:
        """Number of distinct codes (3 for ternary, 2^B otherwise)."""
        return 3 if self.kind == "ternary" else 2 ** self.n_bits

    def value_of(self, idx) -> np.ndarray:
        """The idx-th code value in increasing order (idx in 0..n_values-1), without a table."""
        idx = np.asarray(idx)
        return idx - 1.0 if self.kind == "ternary" else self.qmin + 2.0 * idx

    @property
    def mean_square(self) -> float:
        """Mean of q^2 over the code's values (closed form: (4^B - 1) / 3 for the odd grid)."""
        return 2.0 / 3.0 if self.kind == "ternary" else (4.0 ** self.n_bits - 1.0) / 3.0

    def contains(self, q) -> np.ndarray:
        """Elementwise: is q one of the code's values (checked arithmetically, no table)."""
        q = np.asarray(q, dtype=float)
        if self.kind == "ternary":
            return np.isin(q, (-1.0, 0.0, 1.0))
        with np.errstate(invalid="ignore"):
            k = (q - self.qmin) / 2.0
            return np.isfinite(q) & (q >= self.qmin) & (q <= self.qmax) & (k == np.floor(k))

    @property
    def values(self) -> np.ndarray:
        """Every code value, increasing (a table of n_values entries: small codes only)."""
        from .memory import check_memory
        check_memory(8.0 * self.n_values, f"the table of the {self.label()} code", "use fewer bits")
        if self.kind == "ternary":
            return np.array([-1.0, 0.0, 1.0])
        return np.arange(self.qmin, self.qmax + 1, 2.0)

    def decode(self, bits: np.ndarray) -> np.ndarray:
        """bits[..., n_bits] in {0,1} -> q[...] (vectorized)."""
        return self.q0 + np.asarray(bits, dtype=float) @ self.coefs

    def encode(self, q: np.ndarray) -> np.ndarray:
        """Inverse of decode for valid codes: q[...] -> bits[..., n_bits] (uint8)."""
        q = np.asarray(q, dtype=float)
        if self.kind == "ternary":
            return np.stack([(q > 0), (q < 0)], axis=-1).astype(np.uint8)
        k = np.rint((q - self.q0) / 2.0).astype(np.int64)
        return ((k[..., None] >> np.arange(self.n_bits)) & 1).astype(np.uint8)

    def label(self) -> str:
        return "ternary" if self.kind == "ternary" else f"{self.n_bits}-bit"


Activation = Union[str, Callable[[np.ndarray], np.ndarray]]
Loss = Union[str, Callable[[np.ndarray, np.ndarray], np.ndarray]]


def _as_int(v, what: str) -> int:
    """An integer (Python or numpy, not bool): nothing else is coerced."""
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
        raise SpecError(f"{what} must be an integer, got {v!r}")
    return int(v)


def _is_number(v) -> bool:
    """A real number (Python or numpy, not bool, not a string)."""
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))


def _int_tuple(value, what: str) -> tuple:
    """A sequence (list, tuple, numpy array) of integers, or one integer."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        return (int(value),)
    if isinstance(value, (str, bytes)) or not isinstance(value, (Sequence, np.ndarray)):
        raise SpecError(f"{what} must be a sequence of integers, got {value!r}")
    return tuple(_as_int(v, what) for v in np.asarray(value, dtype=object).ravel())


def _per_layer(value, n_layers: int, what: str) -> tuple:
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        return (value,) * n_layers
    value = tuple(value)
    if len(value) == 1:
        return value * n_layers
    if len(value) != n_layers:
        if n_layers == 1:
            raise SpecError(f"{what}: the network has 1 layer (no hidden layer), so give 1 value, got {len(value)}")
        raise SpecError(f"{what}: expected 1 or {n_layers} values (one per layer), got {len(value)}")
    return value


@dataclass
class NetworkSpec:
    """A fully connected quantized network with its FIP and spline settings.

    The symbols are those of the notation page (docs/notation.md): layers ``l = 1..L``, widths
    ``d_0..d_L``, ``K_l`` sub-intervals per neuron of layer ``l``, weight codes ``q = q0 + sum_b a_b w_b``
    with bits ``w_b`` in {0, 1}.

    Parameters
    ----------
    input_dim : int
        ``d_0``, the number of input features.
    hidden : sequence of int, default (4,)
        Hidden widths ``d_1 .. d_{L-1}``; ``()`` for no hidden layer.
    output_dim : int, default 1
        ``d_L``: 1 for binary labels in {-1, +1}; ``C`` for one-vs-rest over ``C`` classes.
    activation : str or callable, or one per hidden layer, default "tanh"
        A name of the table in ``qcbo_model/functions.py`` (``tanh``, ``sign``, ``relu``, ...) or a
        callable ``sigma(z)`` on real units.
    loss : str or callable, default "logistic"
        A name of the table or a callable ``l(z, y)`` with ``y`` in {-1, +1}; the QCBO minimizes the
        mean splined loss over the samples.
    bits : sequence or None
        Weight code per layer: 1 = binary (``q = 2 w - 1``), ``B >= 2`` = odd ``B``-bit grid, ``'t'`` =
        ternary; one value for all layers. None (default): binary hidden layers and a 2-bit output
        layer.
    intervals : sequence of int or None
        ``K_l`` per layer, the output layer last. None (default): 4 per hidden layer, 8 for the output.
    scales : "auto" or sequence of float, default "auto"
        The weight scale ``alpha_l`` per layer; ``'auto'`` sets it from the data so that ``z`` has unit
        RMS under random codes.
    bias : bool or sequence of bool, default True
        Whether each layer has a bias (a weight on the constant input ``c_l``).
    bias_scale : float, default 1.0
        The bias input in real units (``c_l = bias_scale / gamma_l`` in v-units, rounded on the grid).
    breakpoints : {"uniform", "quantile"}, default "uniform"
        Uniform cut of the FIP envelope ``[u_lo, u_hi]``, or inner breakpoints at quantiles of ``u``
        under random weights (the outer sub-intervals extend to the FIP bounds).
    input_bits : int or None
        Quantize inputs in [0, 1] to ``2^b - 1`` integer levels; puts layer 1, and with it every layer,
        on the integer grid (required by the exact form).
    level_step : "auto" or float, default "auto"
        The grid step ``gamma`` of hidden activation levels on the integer grid (``'auto'``: 1 if all
        levels are integers, else 1/4). Used only on the grid.
    output_spline : {"constant", "linear"}, default "constant"
        ``'linear'`` only for networks without hidden layers, where ``u_out`` is affine in the weight
        bits (elsewhere it would make the model cubic).
    seed : int, default 0
        Seed of the quantile breakpoints and of the random codes behind ``scales='auto'``; the same
        seed gives the same model.

    Notes
    -----
    The defaults are the README's main job: 49 -> 4 -> 1 with ``bits=(1, 2)`` and ``intervals=(4, 8)``.
    """

    input_dim: int
    hidden: Sequence[int] = (4,)
    output_dim: int = 1
    activation: object = "tanh"
    loss: object = "logistic"
    bits: Sequence | None = None
    intervals: Sequence[int] | None = None
    scales: object = "auto"
    bias: object = True
    bias_scale: object = 1.0
    breakpoints: str = "uniform"
    input_bits: int | None = None
    level_step: object = "auto"
    output_spline: str = "constant"
    seed: int = 0
    codes: tuple = field(init=False, repr=False)

    def __post_init__(self):
        self.input_dim = _as_int(self.input_dim, "input_dim")
        if self.input_dim < 1:
            raise SpecError(f"input_dim must be a positive integer, got {self.input_dim!r}")
        self.hidden = _int_tuple(self.hidden, "hidden")
        if any(h < 1 for h in self.hidden):
            raise SpecError(f"hidden widths must be >= 1, got {self.hidden}; use hidden=() for no hidden layer")
        self.output_dim = _as_int(self.output_dim, "output_dim")
        if self.output_dim < 1:
            raise SpecError(f"output_dim must be >= 1, got {self.output_dim}")
        L = self.n_layers
        if self.bits is None:          # binary hidden layers, a 2-bit output layer
            self.bits = (1,) * self.n_hidden + (2,)
        if isinstance(self.bits, np.ndarray):
            self.bits = tuple(self.bits.tolist())
        self.bits = _per_layer(self.bits, L, "bits")
        self.codes = tuple(WeightCode.parse(b) for b in self.bits)
        if self.intervals is None:     # 4 sub-intervals per hidden neuron, 8 for the output
            self.intervals = (4,) * self.n_hidden + (8,)
        ks = _per_layer(_int_tuple(self.intervals, "intervals"), L, "intervals")
        self.intervals = ks
        if any(k < 1 for k in self.intervals):
            raise SpecError(f"every layer needs K >= 1 sub-intervals, got intervals={self.intervals}")
        if self.n_hidden:
            acts = _per_layer(self.activation, self.n_hidden, "activation")
            for a in acts:
                if isinstance(a, str) and a not in ACTIVATION_NAMES:
                    raise SpecError(f"unknown activation {a!r}; use one of {ACTIVATION_NAMES} or a callable")
                if not isinstance(a, str) and not callable(a):
                    raise SpecError(f"activation must be a name or a callable, got {a!r}")
            self.activation = acts
        else:
            self.activation = ()
        if isinstance(self.loss, str) and self.loss not in LOSS_NAMES:
            raise SpecError(f"unknown loss {self.loss!r}; use one of {LOSS_NAMES} or a callable l(z, y)")
        if not isinstance(self.loss, str) and not callable(self.loss):
            raise SpecError(f"loss must be a name or a callable l(z, y), got {self.loss!r}")
        self.scales = _per_layer(self.scales, L, "scales")
        if isinstance(self.scales, np.ndarray):
            self.scales = tuple(self.scales.tolist())
        for s in self.scales:
            if not (isinstance(s, str) and s == "auto") and not (_is_number(s) and np.isfinite(s) and s > 0):
                raise SpecError(f"scales must be positive numbers or 'auto', got {s!r}")
        self.scales = tuple(s if isinstance(s, str) else float(s) for s in self.scales)
        bias = self.bias.tolist() if isinstance(self.bias, np.ndarray) else self.bias
        bias = _per_layer(bias, L, "bias")
        if not all(isinstance(b, (bool, np.bool_)) for b in bias):
            raise SpecError(f"bias must be True/False (or one per layer), got {self.bias!r}")
        self.bias = tuple(bool(b) for b in bias)
        bs = self.bias_scale.tolist() if isinstance(self.bias_scale, np.ndarray) else self.bias_scale
        bs = _per_layer(bs, L, "bias_scale")
        if not all(_is_number(c) for c in bs):
            raise SpecError(f"bias_scale must be positive numbers, got {self.bias_scale!r}")
        self.bias_scale = tuple(float(c) for c in bs)
        if any(c <= 0 or not np.isfinite(c) for c in self.bias_scale):
            raise SpecError(f"bias_scale must be positive, got {self.bias_scale}")
        if not isinstance(self.breakpoints, str) or self.breakpoints not in ("uniform", "quantile"):
            raise SpecError(f"breakpoints must be 'uniform' or 'quantile', got {self.breakpoints!r}")
        if self.input_bits is not None:
            self.input_bits = _as_int(self.input_bits, "input_bits")
            if self.input_bits < 1 or self.input_bits > 16:
                raise SpecError(f"input_bits must be in 1..16, got {self.input_bits}")
        self.seed = _as_int(self.seed, "seed")
        if self.seed < 0:
            raise SpecError(f"seed must be >= 0, got {self.seed}")
        if not (isinstance(self.level_step, str) and self.level_step == "auto") and not (
                _is_number(self.level_step) and np.isfinite(self.level_step) and self.level_step > 0):
            raise SpecError(f"level_step must be a positive number or 'auto', got {self.level_step!r}")
        if not isinstance(self.output_spline, str) or self.output_spline not in ("constant", "linear"):
            raise SpecError(f"output_spline must be 'constant' or 'linear', got {self.output_spline!r}")
        if self.output_spline == "linear" and self.n_hidden:
            raise SpecError(
                "output_spline='linear' multiplies indicator bits by u_out, which is affine in the weight "
                "bits only without hidden layers; with hidden layers it would make the model cubic. "
                "Use output_spline='constant'.")

    # ---- derived sizes -------------------------------------------------------------------
    @property
    def n_hidden(self) -> int:
        return len(self.hidden)

    @property
    def n_layers(self) -> int:
        return len(self.hidden) + 1

    @property
    def widths(self) -> tuple:
        """(d_0, d_1, ..., d_L)."""
        return (int(self.input_dim),) + self.hidden + (self.output_dim,)

    @property
    def on_grid(self) -> bool:
        """Pre-activations live on an integer grid (needed by the exact form)."""
        return self.input_bits is not None

    def fan_in(self, l: int) -> int:
        """Number of weight columns of layer l (1-based), the bias column included."""
        return self.widths[l - 1] + int(self.bias[l - 1])

    def n_weights(self, l: int | None = None, include_bias: bool = False) -> int:
        layers = range(1, self.n_layers + 1) if l is None else [l]
        tot = 0
        for k in layers:
            cols = self.fan_in(k) if include_bias else self.widths[k - 1]
            tot += self.widths[k] * cols
        return tot

    def n_weight_bits(self, include_bias: bool = True) -> int:
        tot = 0
        for l in range(1, self.n_layers + 1):
            cols = self.fan_in(l) if include_bias else self.widths[l - 1]
            tot += self.widths[l] * cols * self.codes[l - 1].n_bits
        return tot

    @property
    def avg_bits_per_weight(self) -> float:
        """Average bits per weight over the whole model, biases excluded (the paper's '1.1-bit')."""
        return self.n_weight_bits(include_bias=False) / self.n_weights()

    @property
    def avg_bits_per_parameter(self) -> float:
        """Average bits per parameter, biases included."""
        return self.n_weight_bits(include_bias=True) / self.n_weights(include_bias=True)

    def to_dict(self) -> dict:
        def name(f):
            return f if isinstance(f, str) else getattr(f, "__name__", "callable")
        d = {k: v for k, v in asdict(self).items() if k != "codes"}
        d["activation"] = [name(a) for a in self.activation]
        d["loss"] = name(self.loss)
        d["bits"] = [c.label() for c in self.codes]
        d["hidden"] = list(self.hidden)
        return json.loads(json.dumps(d, default=str))
