"""The decoded quantized network: what a solver's point becomes, and the saved-model file format.

A ``QuantizedNetwork`` predicts without the training data: exact activations need only the spec,
alpha, gamma and c per layer and the integer codes; spline (FIP) activations also need the
breakpoints t and the activation levels in v-units.  Prediction uses the package's one exact pass
(``qcbo_model.forward.exact_pass``) and one FIP pass (``fip_pass``), so a saved model predicts
exactly what the trained problem predicted.

File format ``qcbo-qnn-model/1`` (JSON): ``{"format", "spec", "layers": [{"l", "alpha", "gamma", "c",
"K", "has_bias", "t", "v_levels", "codes"}], "form", "weight_bits"}`` plus free metadata keys.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import QCBOError
from .fip import quantize_inputs
from .forward import codes_from_bits, exact_pass, fip_pass, predict_labels
from .spec import NetworkSpec

FORMAT = "qcbo-qnn-model/1"

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
    """A trained quantized network: ``decision_function(X)``, ``predict(X)``, ``to_dict``/``from_dict``."""

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
        """Rebuild from ``to_dict`` output, checking the format, the layer shapes against the spec, the
        codes against the weight code's range and that every scale is finite."""
        if not isinstance(d, dict) or d.get("format") != FORMAT:
            fmt = d.get("format") if isinstance(d, dict) else type(d).__name__
            raise ModelFileError(f"not a qcbo-qnn model (format {fmt!r}, expected {FORMAT!r})")
        try:
            spec = NetworkSpec(**dict(d["spec"]))
            raw = list(d["layers"])
        except (KeyError, TypeError) as e:
            raise ModelFileError(f"model is missing or has a malformed field: {e}") from None
        widths = spec.widths
        if len(raw) != spec.n_layers:
            raise ModelFileError(f"model has {len(raw)} layers but its spec describes {spec.n_layers}")
        layers = []
        for i, r in enumerate(raw):
            l = i + 1
            try:
                codes = np.asarray(r["codes"], dtype=float)
                t = np.asarray(r["t"], dtype=float)
                vl = np.asarray(r["v_levels"], dtype=float)
                alpha, gamma, c, K = float(r["alpha"]), float(r["gamma"]), float(r["c"]), int(r["K"])
                has_bias = bool(r["has_bias"])
            except (KeyError, TypeError, ValueError) as e:
                raise ModelFileError(f"layer {l}: missing or malformed field {e}") from None
            d_in, d_out = widths[l - 1], widths[l]
            fan_in = d_in + int(has_bias)
            if has_bias != spec.bias[l - 1] or codes.shape != (d_out, fan_in):
                raise ModelFileError(f"layer {l}: codes have shape {codes.shape}, the spec needs ({d_out}, "
                                     f"{d_in + int(spec.bias[l - 1])})")
            code = spec.codes[l - 1]
            if not np.all(np.isin(codes, code.values)):
                raise ModelFileError(f"layer {l}: weight codes outside the {code.label()} code's values "
                                     f"{code.values.tolist()}")
            if not all(np.isfinite(v) for v in (alpha, gamma, c)) or alpha <= 0 or gamma <= 0:
                raise ModelFileError(f"layer {l}: alpha, gamma and c must be finite (alpha, gamma > 0)")
            if K != spec.intervals[l - 1] or t.shape != (d_out, K + 1) or vl.shape != (d_out, K):
                raise ModelFileError(f"layer {l}: breakpoints {t.shape} / levels {vl.shape} do not match "
                                     f"K = {spec.intervals[l - 1]}")
            if not (np.all(np.isfinite(t)) and np.all(np.isfinite(vl))):
                raise ModelFileError(f"layer {l}: breakpoints and levels must be finite")
            layers.append(NetLayer(l=l, d_in=d_in, d_out=d_out, has_bias=has_bias, c=c, alpha=alpha, gamma=gamma,
                                   K=K, t=t, v_levels=vl, codes=codes.astype(np.int64), is_output=l == spec.n_layers))
        meta = {k: v for k, v in d.items() if k not in ("format", "spec", "layers", "form", "weight_bits")}
        return cls(spec, layers, d.get("form", "interval"), d.get("weight_bits", ""), meta)
