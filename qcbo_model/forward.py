"""Forward passes, forward completion and decoding (vectorized over weight assignments and samples).

Soundness property: every assignment of the weight bits completes, by a forward pass through the
FIP network, to a feasible assignment of all indicators (and, in the exact form, of the slack and
aux bits).  ``forward_completion`` is that map; QCGD, random search and evaluation rely on it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .fip import FIPNetwork, quantize_inputs
from .layout import Layout, encode_slack
from .splines import activation_fn, loss_fn


def codes_from_bits(net: FIPNetwork, wbits) -> list:
    """Weight bits (B, n_weight_bits) or (n_weight_bits,) -> [q_l (B, d_l, fan_in_l)] integer codes."""
    wbits = np.asarray(wbits)
    if wbits.ndim == 1:
        wbits = wbits[None]
    out, pos = [], 0
    for ly in net.layers:
        size = ly.d_out * ly.fan_in * ly.code.n_bits
        b = wbits[:, pos:pos + size].reshape(-1, ly.d_out, ly.fan_in, ly.code.n_bits)
        out.append(ly.code.decode(b))
        pos += size
    if pos != wbits.shape[1]:
        raise ValueError(f"expected {pos} weight bits per assignment, got {wbits.shape[1]}")
    return out


def bits_from_codes(net: FIPNetwork, codes) -> np.ndarray:
    """Inverse of codes_from_bits: [q_l (B, d_l, fan_in)] -> (B, n_weight_bits) uint8."""
    parts = []
    for ly, q in zip(net.layers, codes):
        q = np.asarray(q)
        if q.ndim == 2:
            q = q[None]
        parts.append(ly.code.encode(q).reshape(q.shape[0], -1))
    return np.concatenate(parts, axis=1)


def _layer_u(ly, q, v):
    """u (B, N, d_out) from codes q (B, d_out, fan_in) and inputs v (N, d_in) or (B, N, d_in)."""
    qw = q[:, :, :ly.d_in]
    u = np.einsum("ni,bji->bnj", v, qw) if v.ndim == 2 else np.einsum("bni,bji->bnj", v, qw)
    if ly.has_bias:
        u = u + ly.c * q[:, None, :, ly.d_in]
    return u


@dataclass
class FIPPass:
    u: list          # per layer (B, N, d_l) pre-activations in u-units
    k: list          # per layer (B, N, d_l) chosen sub-interval
    loss: np.ndarray  # (B,) spline loss (1/N) sum_n sum_j lhat
    z_out: np.ndarray  # (B, N, d_L) real output pre-activation


def fip_forward(net: FIPNetwork, codes, v_in=None, Y=None) -> FIPPass:
    """Forward pass of the FIP network (spline activations, spline loss)."""
    v = net.v_in if v_in is None else v_in
    us, ks = [], []
    for ly, q in zip(net.layers, codes):
        u = _layer_u(ly, q, v)
        k = net.interval_index(ly.l, u)
        us.append(u)
        ks.append(k)
        if not ly.is_output:
            v = np.take_along_axis(np.broadcast_to(ly.v_levels, u.shape + (ly.K,)), k[..., None], axis=-1)[..., 0]
    out = net.layers[-1]
    loss = None
    if Y is None and v_in is None:
        yi = net.y_index                                               # (N, d)
        k = ks[-1]
        lv = out.loss_levels[np.arange(out.d_out)[None, None, :], k, yi[None]]  # (B, N, d)
        if out.loss_slopes is not None:
            sl = out.loss_slopes[np.arange(out.d_out)[None, None, :], k, yi[None]]
            t_lo = out.t[np.arange(out.d_out)[None, None, :], k]
            lv = lv + sl * (us[-1] - t_lo)
        loss = lv.sum(axis=2).mean(axis=1)
    return FIPPass(u=us, k=ks, loss=loss, z_out=out.kappa * us[-1])


def exact_forward(net: FIPNetwork, codes, X) -> np.ndarray:
    """Real output pre-activations (B, N, d_L) of the quantized network with exact activations.

    Inputs are quantized exactly as the model was (``input_bits``); hidden outputs are sigma(z).
    """
    spec = net.spec
    v, gamma = quantize_inputs(spec, X)
    h = None
    for ly, q in zip(net.layers, codes):
        if h is None:
            # Layer 1 in v-units, then scaled: on the grid u is an exact integer, so sign(z) at
            # z = 0 agrees with the model (gamma * v would leave ~1e-17 residues and flip it).
            z = ly.kappa * _layer_u(ly, q, v)
        else:
            qw = q[:, :, :ly.d_in]
            zr = np.einsum("bni,bji->bnj", h, qw)
            if ly.has_bias:
                zr = zr + (ly.gamma * ly.c) * q[:, None, :, ly.d_in]
            z = ly.alpha * zr
        if ly.is_output:
            return z
        fn, _ = activation_fn(spec.activation[ly.l - 1])
        h = fn(z)


def exact_loss(net: FIPNetwork, codes, X=None, Y=None) -> np.ndarray:
    """(B,) mean loss of the exact-activation network on (X, Y) (default: the training set)."""
    X = net.X if X is None else X
    Y = net.Y if Y is None else np.asarray(Y, float).reshape(len(X), -1)
    z = exact_forward(net, codes, X)
    return loss_fn(net.spec.loss)(z, Y[None]).sum(axis=2).mean(axis=1)


def predict_labels(z: np.ndarray) -> np.ndarray:
    """Labels from output pre-activations: sign for one output (+1 if z > 0), argmax for several."""
    if z.shape[-1] == 1:
        return np.where(z[..., 0] > 0, 1, -1)
    return np.argmax(z, axis=-1)


def forward_completion(net: FIPNetwork, wbits, form: str = "interval", layout: Layout | None = None) -> np.ndarray:
    """Complete weight bits (B, n_w) to full feasible assignments (B, n) of the QCBO (uint8)."""
    lay = layout if layout is not None else Layout(net, form)
    wbits = np.asarray(wbits)
    if wbits.ndim == 1:
        wbits = wbits[None]
    B = wbits.shape[0]
    codes = codes_from_bits(net, wbits)
    # Re-encode so that invalid code words (ternary plus = minus = 1, read as q = 0) become their
    # valid twin (0, 0): every bit pattern then completes to a feasible point.
    wbits = bits_from_codes(net, codes)
    fp = fip_forward(net, codes)
    x = np.zeros((B, lay.n), dtype=np.uint8)
    x[:, :lay.n_weight_bits] = wbits
    rows = np.arange(B)[:, None, None]
    for ly, k in zip(net.layers, fp.k):
        D = lay.delta[ly.l]                                                   # (N, d, K)
        x[rows, D[np.arange(net.N)[None, :, None], np.arange(ly.d_out)[None, None, :], k]] = 1
    if lay.form == "exact":
        for ly, u, k in zip(net.layers, fp.u, fp.k):
            jj = np.arange(ly.d_out)[None, None, :]
            ui = np.rint(u).astype(np.int64)
            coefs = lay.slack_coefs[ly.l]
            S = lay.slack[ly.l]                                               # (N, d, sides, nbits)
            sides = [ui - ly.lo[jj, k]]
            if lay.two_sided[ly.l]:
                sides.append(ly.hi[jj, k] - ui)
            for s, val in enumerate(sides):
                bits = encode_slack(val, coefs)                               # (B, N, d, nbits)
                x[:, S[:, :, s, :].reshape(-1)] = bits.reshape(B, -1)
        for ly in net.layers[1:]:
            prev_k = fp.k[ly.l - 2]                                           # (B, N, d_in)
            prev = net.layers[ly.l - 2]
            dmat = (prev_k[..., None] == np.arange(prev.K)).astype(np.uint8)  # (B, N, d_in, K)
            wb = wbits[:, lay.w[ly.l][:, :ly.d_in, :]]                        # (B, d_out, d_in, nb)
            aux = dmat[:, :, None, :, :, None] * wb[:, None, :, :, None, :]   # (B, N, d_out, d_in, K, nb)
            x[:, lay.aux[ly.l].reshape(-1)] = aux.reshape(B, -1)
    return x


@dataclass
class QuantizedWeights:
    """Decoded network: real weights alpha_l * gamma_l * q_l and biases, per layer."""

    codes: list      # [q_l (d_l, fan_in)] integer codes
    alphas: list
    weights: list    # [(d_l, d_{l-1}) real weights applied to real inputs]
    biases: list     # [(d_l,) real biases] (zeros without bias)

    def to_dict(self) -> dict:
        return {"codes": [q.tolist() for q in self.codes], "alphas": list(map(float, self.alphas)),
                "weights": [w.tolist() for w in self.weights], "biases": [b.tolist() for b in self.biases]}


def decode(net: FIPNetwork, x) -> QuantizedWeights:
    """Assignment (full or weight bits only) -> quantized weights."""
    x = np.asarray(x)
    n_w = net.spec.n_weight_bits()
    codes = [q[0] for q in codes_from_bits(net, x[..., :n_w].reshape(1, -1))]
    weights, biases = [], []
    for ly, q in zip(net.layers, codes):
        weights.append(ly.alpha * q[:, :ly.d_in])
        biases.append(ly.alpha * ly.gamma * ly.c * q[:, ly.d_in] if ly.has_bias else np.zeros(ly.d_out))
    return QuantizedWeights(codes=codes, alphas=[ly.alpha for ly in net.layers], weights=weights, biases=biases)
