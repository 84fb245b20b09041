"""The decoded quantized network: what a solver's point becomes, and the saved-model file format.

A ``QuantizedNetwork`` predicts without the training data: exact activations need only the spec,
alpha, gamma and c per layer and the integer codes; spline (FIP) activations also need the
breakpoints t and the activation levels in v-units.  Prediction uses the package's one exact pass
(``qcbo_model.forward.exact_pass``) and one FIP pass (``fip_pass``), so a saved model predicts
exactly what the trained problem predicted.

File format ``qcbo-qnn-model/1`` (JSON), the schema ``from_dict`` checks in full (``SCHEMA``)::

    format       "qcbo-qnn-model/1" (the version: another one is refused with a message)
    spec         NetworkSpec keyword arguments (input_dim, hidden, output_dim, activation, loss, bits,
                 intervals, bias, bias_scale, breakpoints, input_bits, level_step, output_spline, seed)
    layers       one object per layer l = 1..L, with
                   codes     (d_l, d_{l-1} + bias) integer weight codes of the layer's code
                   alpha, gamma > 0, c   finite numbers (z = alpha * gamma * u; bias input c)
                   K         = spec.intervals[l-1];  t (d_l, K+1) non-decreasing finite breakpoints;
                   v_levels  (d_l, K) finite levels;  has_bias  = spec.bias[l-1]
    form         "interval" | "exact"
    weight_bits  "" or the 0/1 string of every weight bit; it must encode ``codes``
    dataset, classes, pool   (written by qcbo-qnn train) a known dataset, 2+ distinct classes in 0..9
                 matching output_dim, a pool that gives input_dim features
    estimator    (QNNClassifier.save) the estimator's parameters, classes, n_features_in, seed
    anything else: free metadata, kept
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import QCBOError
from .fip import quantize_inputs
from .forward import codes_from_bits, exact_pass, fip_pass, predict_labels
from .spec import NetworkSpec

FORMAT = "qcbo-qnn-model/1"
SCHEMA = __doc__.split("File format", 1)[1]

__all__ = ["FORMAT", "ModelFileError", "NetLayer", "QuantizedNetwork"]


class ModelFileError(QCBOError):
    """A model file or dict is missing, unreadable, of another format or inconsistent."""


@dataclass
class NetLayer:
    """One decoded layer; attribute names match ``LayerFIP`` so the forward passes accept both."""

    l: int
    d_in: int
    d_out: int
    has_bias: bool
    c: float
    alpha: float
    gamma: float
    K: int
    t: np.ndarray          # (d_out, K+1) breakpoints (u-units)
    v_levels: np.ndarray   # (d_out, K) activation levels in the next layer's v-units
    codes: np.ndarray      # (d_out, fan_in) integer weight codes
    is_output: bool

    @property
    def kappa(self) -> float:
        return self.alpha * self.gamma

    @property
    def fan_in(self) -> int:
        return self.d_in + int(self.has_bias)


def _bit_token(code) -> str:
    return "t" if code.kind == "ternary" else str(code.n_bits)


class QuantizedNetwork:
    """A trained quantized network, decoded from a point of the QCBO, with its own forward pass.

    It holds the spec, every layer's integer codes ``q`` and FIP constants (``alpha``, ``gamma``,
    ``c``, breakpoints and levels), so it predicts without the training data: with exact
    activations (the package's one exact pass) or with the FIP splines the QCBO modelled
    (``exact=False``). ``to_dict`` / ``from_dict`` are the model file format ``qcbo-qnn-model/1``
    (JSON), validated in full on load.

    Notes
    -----
    Labels are in {-1, +1} for one output (``predict`` returns ``+1`` where ``z > 0``) and class
    indices for several outputs (argmax). ``QNNClassifier`` maps them back to the original labels.
    """

    def __init__(self, spec: NetworkSpec, layers: list, form: str = "interval", weight_bits: str = "",
                 meta: dict | None = None):
        self.spec, self.layers, self.form, self.weight_bits = spec, list(layers), form, weight_bits
        self.meta = dict(meta or {})

    @classmethod
    def from_problem(cls, prob, x, meta: dict | None = None) -> "QuantizedNetwork":
        """Decode point ``x`` (full assignment or weight bits) of a FIPProblem."""
        net = prob.net
        wb = np.asarray(x)[..., :prob.n_weight_bits].reshape(-1)
        codes = [q[0] for q in codes_from_bits(net, wb[None])]
        layers = [NetLayer(l=ly.l, d_in=ly.d_in, d_out=ly.d_out, has_bias=ly.has_bias, c=float(ly.c),
                           alpha=float(ly.alpha), gamma=float(ly.gamma), K=ly.K, t=np.array(ly.t, float),
                           v_levels=np.array(ly.v_levels, float), codes=q.astype(np.int64), is_output=ly.is_output)
                  for ly, q in zip(net.layers, codes)]
        return cls(prob.spec, layers, prob.form, "".join(map(str, wb.astype(int))), meta)

    # ---- prediction ---------------------------------------------------------------------------
    def decision_function(self, X, exact: bool = True) -> np.ndarray:
        """Output pre-activations z (N, d_L): exact activations, or the FIP splines (``exact=False``)."""
        X = np.asarray(X, dtype=float)
        if X.ndim != 2 or X.shape[1] != self.spec.input_dim:
            raise ModelFileError(f"X must have shape (N, {self.spec.input_dim}), got {X.shape}")
        v, _ = quantize_inputs(self.spec, X)
        codes = [ly.codes[None].astype(float) for ly in self.layers]
        if exact:
            return exact_pass(self.layers, self.spec.activation, codes, v)[0]
        us, _ = fip_pass(self.layers, codes, v)
        return self.layers[-1].kappa * us[-1][0]

    def predict(self, X, exact: bool = True) -> np.ndarray:
        """Labels: +1/-1 for one output (sign, +1 if z > 0), the argmax index for several."""
        return predict_labels(self.decision_function(X, exact)[None])[0]

    def accuracy(self, X, y, exact: bool = True) -> float:
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] > 1:
            y = np.argmax(y, axis=1)
        elif y.ndim == 2:
            y = y[:, 0]
        return float(np.mean(self.predict(X, exact) == y))

    # ---- file format --------------------------------------------------------------------------
    def to_dict(self) -> dict:
        spec = self.spec
        acts = [a if isinstance(a, str) else None for a in spec.activation]
        if any(a is None for a in acts) or not isinstance(spec.loss, str):
            raise ModelFileError("only named activations and losses can be saved; callables cannot be written "
                                 "to JSON")
        spec_kw = {"input_dim": spec.input_dim, "hidden": list(spec.hidden), "output_dim": spec.output_dim,
                   "activation": acts, "loss": spec.loss, "bits": [_bit_token(c) for c in spec.codes],
                   "intervals": list(spec.intervals), "bias": list(spec.bias), "bias_scale": list(spec.bias_scale),
                   "breakpoints": spec.breakpoints, "input_bits": spec.input_bits,
                   "level_step": spec.level_step, "output_spline": spec.output_spline, "seed": spec.seed}
        layers = [{"l": ly.l, "alpha": ly.alpha, "gamma": ly.gamma, "c": ly.c, "K": ly.K, "has_bias": ly.has_bias,
                   "t": ly.t.tolist(), "v_levels": ly.v_levels.tolist(), "codes": ly.codes.astype(int).tolist()}
                  for ly in self.layers]
        return {"format": FORMAT, "spec": spec_kw, "layers": layers, "form": self.form,
                "weight_bits": self.weight_bits, **self.meta}

    @classmethod
    def from_dict(cls, d) -> "QuantizedNetwork":
        """Rebuild from ``to_dict`` output, checking everything ``SCHEMA`` states: the format and its
        version, the spec, the layer count and every shape against the spec, the codes against the
        weight code's range, finite scales and levels, sorted breakpoints, the weight bits against the
        codes and the metadata written by ``qcbo-qnn train`` (classes, dataset, pool).  Anything else
        raises :class:`ModelFileError` saying which field is wrong."""
        if not isinstance(d, dict):
            raise ModelFileError(f"not a qcbo-qnn model: the file holds a JSON {type(d).__name__}, expected an "
                                 f"object with \"format\": {FORMAT!r}")
        fmt = d.get("format")
        if isinstance(fmt, str) and fmt.startswith("qcbo-qnn-model/") and fmt != FORMAT:
            raise ModelFileError(f"model format {fmt!r} is not the {FORMAT!r} this qcbo-qnn reads; write it again "
                                 "with this version (qcbo-qnn train --model FILE) or use the qcbo-qnn that wrote it")
        if fmt != FORMAT:
            raise ModelFileError(f"not a qcbo-qnn model (format {fmt!r}, expected {FORMAT!r})")
        for key in ("spec", "layers"):
            if key not in d:
                raise ModelFileError(f"model is missing the {key!r} field")
        if not isinstance(d["spec"], dict):
            raise ModelFileError(f"model field 'spec' must be an object, got {type(d['spec']).__name__}")
        try:
            spec = NetworkSpec(**dict(d["spec"]))
        except TypeError as e:
            raise ModelFileError(f"model spec has an unknown or missing field: {e}") from None
        except QCBOError as e:
            raise ModelFileError(f"model spec is invalid: {e}") from None
        raw = d["layers"]
        if not isinstance(raw, list) or not all(isinstance(r, dict) for r in raw):
            raise ModelFileError("model field 'layers' must be a list of layer objects")
        widths = spec.widths
        if len(raw) != spec.n_layers:
            raise ModelFileError(f"model has {len(raw)} layers but its spec describes {spec.n_layers}")
        layers = []
        for i, r in enumerate(raw):
            l = i + 1
            missing = [k for k in ("codes", "t", "v_levels", "alpha", "gamma", "c", "K", "has_bias") if k not in r]
            if missing:
                raise ModelFileError(f"layer {l}: missing field(s) {missing}")
            codes = _num_array(r["codes"], f"layer {l}: codes")
            t = _num_array(r["t"], f"layer {l}: breakpoints t")
            vl = _num_array(r["v_levels"], f"layer {l}: v_levels")
            alpha, gamma, c = (_number(r[k], f"layer {l}: {k}") for k in ("alpha", "gamma", "c"))
            K = r["K"]
            if isinstance(K, bool) or not isinstance(K, int):
                raise ModelFileError(f"layer {l}: K must be an integer, got {K!r}")
            has_bias = r["has_bias"]
            if not isinstance(has_bias, bool):
                raise ModelFileError(f"layer {l}: has_bias must be true or false, got {has_bias!r}")
            d_in, d_out = widths[l - 1], widths[l]
            fan_in = d_in + int(has_bias)
            if has_bias != spec.bias[l - 1]:
                raise ModelFileError(f"layer {l}: has_bias is {has_bias} but the spec says bias={spec.bias[l - 1]}")
            if codes.shape != (d_out, fan_in):
                raise ModelFileError(f"layer {l}: codes have shape {codes.shape}, the spec needs ({d_out}, {fan_in})")
            code = spec.codes[l - 1]
            bad = ~code.contains(codes)
            if bad.any():
                j, k = np.argwhere(bad)[0]
                raise ModelFileError(f"layer {l}: weight code {float(codes[j, k]):g} (row {j}, column {k}) is not a value "
                                     f"of the {code.label()} code (integers {code.qmin:g}..{code.qmax:g}"
                                     f"{'' if code.kind == 'ternary' else ', odd'})")
            if not all(np.isfinite(v) for v in (alpha, gamma, c)) or alpha <= 0 or gamma <= 0:
                raise ModelFileError(f"layer {l}: alpha, gamma and c must be finite (alpha, gamma > 0), got "
                                     f"alpha={alpha!r}, gamma={gamma!r}, c={c!r}")
            if K != spec.intervals[l - 1] or t.shape != (d_out, K + 1) or vl.shape != (d_out, K):
                raise ModelFileError(f"layer {l}: K = {K}, breakpoints {t.shape} and levels {vl.shape} do not match "
                                     f"the spec's K = {spec.intervals[l - 1]} for {d_out} neurons")
            if not (np.all(np.isfinite(t)) and np.all(np.isfinite(vl))):
                raise ModelFileError(f"layer {l}: breakpoints and levels must be finite")
            if np.any(np.diff(t, axis=1) < 0):
                raise ModelFileError(f"layer {l}: breakpoints t must be non-decreasing along each row")
            layers.append(NetLayer(l=l, d_in=d_in, d_out=d_out, has_bias=has_bias, c=c, alpha=alpha, gamma=gamma,
                                   K=K, t=t, v_levels=vl, codes=codes.astype(np.int64), is_output=l == spec.n_layers))
        form = d.get("form", "interval")
        if form not in ("interval", "exact"):
            raise ModelFileError(f"model field 'form' must be 'interval' or 'exact', got {form!r}")
        wb = d.get("weight_bits", "")
        if not isinstance(wb, str) or (wb and set(wb) - {"0", "1"}):
            raise ModelFileError("model field 'weight_bits' must be a string of 0s and 1s")
        if wb:
            expect = "".join("".join(map(str, spec.codes[ly.l - 1].encode(ly.codes).ravel())) for ly in layers)
            if len(wb) != len(expect):
                raise ModelFileError(f"weight_bits has {len(wb)} bits, the spec has {len(expect)} weight bits")
            if wb != expect:
                raise ModelFileError("weight_bits do not encode the stored codes (the file was edited or is corrupt)")
        meta = {k: v for k, v in d.items() if k not in ("format", "spec", "layers", "form", "weight_bits")}
        check_meta(meta, spec)
        return cls(spec, layers, form, wb, meta)


def _number(v, what: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ModelFileError(f"{what} must be a number, got {v!r}")
    return float(v)


def _num_array(v, what: str) -> np.ndarray:
    try:
        a = np.asarray(v)
    except ValueError:
        a = None
    if a is None or a.dtype == object or a.dtype.kind not in "iuf":
        raise ModelFileError(f"{what} must be a rectangular array of numbers")
    return a.astype(float)


def check_meta(meta: dict, spec: NetworkSpec) -> None:
    """The metadata ``qcbo-qnn train`` writes (``dataset``, ``classes``, ``pool``), where present, must
    agree with each other and with the network: known dataset, 2+ distinct classes in 0..9 (two for one
    output, one per output otherwise), a pool that divides the image side into ``input_dim`` features."""
    from .data import DATASETS, IMAGE_SIDE
    name = meta.get("dataset")
    if name is not None and name not in DATASETS:
        raise ModelFileError(f"model metadata: unknown dataset {name!r}; expected one of {DATASETS}")
    classes = meta.get("classes")
    if classes is not None:
        if (not isinstance(classes, list) or len(classes) < 2
                or not all(isinstance(c, int) and not isinstance(c, bool) and 0 <= c <= 9 for c in classes)
                or len(set(classes)) != len(classes)):
            raise ModelFileError(f"model metadata: classes must be a list of 2 or more distinct integers in 0..9, "
                                 f"got {classes!r}")
        n_out = 1 if len(classes) == 2 else len(classes)
        if n_out != spec.output_dim:
            raise ModelFileError(f"model metadata: {len(classes)} classes need {n_out} output(s), the network has "
                                 f"{spec.output_dim}")
    pool = meta.get("pool")
    if pool is not None:
        if isinstance(pool, bool) or not isinstance(pool, int) or pool < 1:
            raise ModelFileError(f"model metadata: pool must be a positive integer, got {pool!r}")
        side = IMAGE_SIDE.get(name or "fashion-mnist")
        if side % pool:
            raise ModelFileError(f"model metadata: pool {pool} does not divide the {side}x{side} images of "
                                 f"{name or 'fashion-mnist'}")
        if (side // pool) ** 2 != spec.input_dim:
            raise ModelFileError(f"model metadata: pool {pool} gives {(side // pool) ** 2} features but the network "
                                 f"takes {spec.input_dim}")
