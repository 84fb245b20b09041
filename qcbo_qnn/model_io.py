"""Trained-model files: the spec, the FIP constants prediction needs, and the integer weight codes.

A saved model predicts without the training data: exact activations need only the spec, alpha,
gamma and c per layer and the codes; spline (FIP) activations also need the breakpoints t and the
activation levels in v-units.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from qcbo_model.errors import QCBOError
from qcbo_model.fip import quantize_inputs
from qcbo_model.forward import codes_from_bits, predict_labels
from qcbo_model.spec import NetworkSpec
from qcbo_model.splines import activation_fn

FORMAT = "qcbo-qnn-model/1"


class ModelFileError(QCBOError):
    """A model file is missing, unreadable or of another format."""


def _bit_token(code) -> str:
    return "t" if code.kind == "ternary" else str(code.n_bits)


def model_dict(prob, x, extra: dict | None = None) -> dict:
    """JSON-able trained model of problem ``prob`` at assignment ``x`` (full or weight bits)."""
    spec, net = prob.spec, prob.net
    codes = [q[0] for q in codes_from_bits(net, np.asarray(x)[:prob.n_weight_bits][None])]
    acts = [a if isinstance(a, str) else None for a in spec.activation]
    if any(a is None for a in acts) or not isinstance(spec.loss, str):
        raise ModelFileError("only named activations and losses can be saved; callables cannot be written to JSON")
    spec_kw = {"input_dim": spec.input_dim, "hidden": list(spec.hidden), "output_dim": spec.output_dim,
               "activation": acts, "loss": spec.loss, "bits": [_bit_token(c) for c in spec.codes],
               "intervals": list(spec.intervals), "bias": list(spec.bias), "bias_scale": list(spec.bias_scale),
               "breakpoints": spec.breakpoints, "input_bits": spec.input_bits,
               "level_step": spec.level_step, "output_spline": spec.output_spline, "seed": spec.seed}
    layers = [{"l": ly.l, "alpha": ly.alpha, "gamma": ly.gamma, "c": ly.c, "K": ly.K, "has_bias": ly.has_bias,
               "t": ly.t.tolist(), "v_levels": ly.v_levels.tolist(), "codes": q.astype(int).tolist()}
              for ly, q in zip(net.layers, codes)]
    d = {"format": FORMAT, "spec": spec_kw, "layers": layers, "form": prob.form,
         "weight_bits": "".join(map(str, np.asarray(x)[:prob.n_weight_bits].astype(int)))}
    if extra:
        d.update(extra)
    return d


class SavedModel:
    """A trained QNN loaded from JSON; ``predict(X, exact=True)`` gives labels like the training code."""

    def __init__(self, d: dict):
        if d.get("format") != FORMAT:
            raise ModelFileError(f"not a qcbo-qnn model file (format {d.get('format')!r}, expected {FORMAT!r})")
        self.d = d
        sk = dict(d["spec"])
        self.spec = NetworkSpec(**sk)
        self.layers = d["layers"]
        self.codes = [np.asarray(ly["codes"], dtype=float) for ly in self.layers]

    @classmethod
    def load(cls, path) -> "SavedModel":
        p = Path(path)
        if not p.exists():
            raise ModelFileError(f"model file {str(p)!r} does not exist; write one with `qcbo-qnn train --model FILE`")
        try:
            return cls(json.loads(p.read_text()))
        except json.JSONDecodeError as e:
            raise ModelFileError(f"model file {str(p)!r} is not valid JSON: {e}") from None

    def decision(self, X, exact: bool = True) -> np.ndarray:
        """Output pre-activations z (N, d_L)."""
        X = np.asarray(X, dtype=float)
        if X.ndim != 2 or X.shape[1] != self.spec.input_dim:
            raise ModelFileError(f"X must have shape (N, {self.spec.input_dim}), got {X.shape}")
        v, gamma = quantize_inputs(self.spec, X)
        h = gamma * v if exact else v
        L = len(self.layers)
        for m, (ly, q) in enumerate(zip(self.layers, self.codes)):
            d_in = q.shape[1] - int(ly["has_bias"])
            u = h @ q[:, :d_in].T
            if exact:
                z = ly["alpha"] * (u + (ly["gamma"] * ly["c"] * q[:, d_in] if ly["has_bias"] else 0.0))
                if m == L - 1:
                    return z
                h = activation_fn(self.spec.activation[m])[0](z)
            else:
                if ly["has_bias"]:
                    u = u + ly["c"] * q[:, d_in]
                if m == L - 1:
                    return ly["alpha"] * ly["gamma"] * u
                t = np.asarray(ly["t"])
                k = np.sum(u[..., None] > t[:, 1:-1], axis=-1)
                vl = np.asarray(ly["v_levels"])
                h = vl[np.arange(vl.shape[0])[None, :], k]

    def predict(self, X, exact: bool = True) -> np.ndarray:
        return predict_labels(self.decision(X, exact)[None])[0]

    def accuracy(self, X, y, exact: bool = True) -> float:
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] > 1:
            y = np.argmax(y, axis=1)
        elif y.ndim == 2:
            y = y[:, 0]
        return float(np.mean(self.predict(X, exact) == y))
