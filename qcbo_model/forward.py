"""Forward passes, forward completion and decoding (vectorized over weight assignments and samples).

Soundness property: every assignment of the weight bits completes, by a forward pass through the
FIP network, to a feasible assignment of all indicators (and, in the exact form, of the slack and
aux bits).  ``forward_completion`` is that map; QCGD, random search and evaluation rely on it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .fip import FIPNetwork, interval_index, quantize_inputs
from .layout import Layout, encode_slack
from .functions import activation, loss_fn


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


def random_codes(net: FIPNetwork, n: int, rng) -> list:
    """n uniformly random valid weight codes per layer: [q_l (n, d_l, fan_in)] (uniform over each
    code's values, so a ternary weight is -1, 0, +1 with probability 1/3 each)."""
    out = []
    for ly in net.layers:
        out.append(ly.code.value_of(rng.integers(0, ly.code.n_values, size=(n, ly.d_out, ly.fan_in))))
    return out


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


def fip_pass(layers, codes, v):
    """Pre-activations and sub-intervals of the FIP network (spline activations) on inputs v (v-units).

    ``layers``: objects with ``d_in, has_bias, c, t, v_levels, K, is_output`` (``LayerFIP`` or a saved
    model's layers); ``codes``: [q_l (B, d_l, fan_in_l)].  Returns ([u_l (B, N, d_l)], [k_l (B, N, d_l)])."""
    us, ks = [], []
    for ly, q in zip(layers, codes):
        u = _layer_u(ly, q, v)
        k = interval_index(ly, u)
        us.append(u)
        ks.append(k)
        if not ly.is_output:
            v = np.take_along_axis(np.broadcast_to(ly.v_levels, u.shape + (ly.K,)), k[..., None], axis=-1)[..., 0]
    return us, ks


def fip_forward(net: FIPNetwork, codes, v_in=None, Y=None) -> FIPPass:
    """Forward pass of the FIP network (spline activations, spline loss on the training set)."""
    v = net.v_in if v_in is None else v_in
    us, ks = fip_pass(net.layers, codes, v)
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


def _scale(ly, first: bool):
    """(s, cb) with z = s * (h q_w^T + cb q_b) for layer ``ly``.

    Layer 1 works in v-units, z = kappa (v q_w^T + c q_b): on the grid u is an exact integer, so
    sign(z) at z = 0 agrees with the model (gamma * v would leave ~1e-17 residues and flip it).
    Later layers take real activations h, z = alpha (h q_w^T + gamma c q_b)."""
    return (ly.kappa, ly.c) if first else (ly.alpha, ly.gamma * ly.c)


def _forward_layers(layers, activations, codes, v):
    """The one exact forward pass: yields (ly, h, z, s, cb) per layer, h its input (N, d_in) or
    (B, N, d_in) and z = s (h q_w^T + cb q_b) its pre-activation (B, N, d_l)."""
    h = v
    for m, (ly, q) in enumerate(zip(layers, codes)):
        s, cb = _scale(ly, m == 0)
        qw = q[:, :, :ly.d_in]
        z = np.einsum("ni,bji->bnj", h, qw) if h.ndim == 2 else np.einsum("bni,bji->bnj", h, qw)
        if ly.has_bias:
            z = z + cb * q[:, None, :, ly.d_in]
        z = s * z
        yield ly, h, z, s, cb
        if not ly.is_output:
            h = activation(activations[m]).value(z)


def exact_pass(layers, activations, codes, v) -> np.ndarray:
    """Real output pre-activations (B, N, d_L) of the quantized network with exact activations.

    ``layers``: objects with ``d_in, has_bias, c, alpha, gamma, kappa, is_output`` (a FIPNetwork's
    ``LayerFIP`` or a saved model's layers); ``activations``: one per hidden layer (names or
    callables); ``codes``: [q_l (B, d_l, fan_in_l)]; ``v``: (N, d_0) inputs in v-units."""
    for _, _, z, _, _ in _forward_layers(layers, activations, codes, v):
        pass
    return z


def exact_forward(net: FIPNetwork, codes, X) -> np.ndarray:
    """Real output pre-activations (B, N, d_L) of ``net``'s quantized network on inputs X.

    Inputs are quantized exactly as the model was (``input_bits``); hidden outputs are sigma(z)."""
    v, _ = quantize_inputs(net.spec, X)
    return exact_pass(net.layers, net.spec.activation, codes, v)


def exact_loss(net: FIPNetwork, codes, X=None, Y=None, sharpness: float = 1.0) -> np.ndarray:
    """(B,) mean loss l(s z, y) / s of the exact-activation network on (X, Y) (default: the training
    set); ``sharpness`` s = 1 is the plain training loss."""
    X = net.X if X is None else X
    Y = net.Y if Y is None else np.asarray(Y, float).reshape(len(X), -1)
    s = float(sharpness)
    z = exact_forward(net, codes, X)
    return loss_fn(net.spec.loss)(s * z, Y[None]).sum(axis=2).mean(axis=1) / s


@dataclass
class Backprop:
    """One network's exact pass kept for differentiation (``exact_backprop``)."""

    z: np.ndarray        # (N, d_L) output pre-activations
    inputs: list         # per layer (N, fan_in): the layer's input with the bias column (cb)
    scales: list         # per layer s: z_l = s * inputs_l q_l^T
    pre: list            # per layer (N, d_l) pre-activations z_l


def exact_backprop(layers, activations, codes, v) -> Backprop:
    """Exact pass of one network (codes [q_l (d_l, fan_in_l)], any real values), kept for
    ``jacobian`` and ``vjp``; the same pass as :func:`exact_pass`."""
    N = len(v)
    ins, scales, pre = [], [], []
    for ly, h, z, s, cb in _forward_layers(layers, activations, [np.asarray(q, float)[None] for q in codes], v):
        h = h if h.ndim == 2 else h[0]
        ins.append(np.concatenate([h, np.full((N, 1), cb)], axis=1) if ly.has_bias else h)
        scales.append(s)
        pre.append(z[0])
    return Backprop(z=pre[-1], inputs=ins, scales=scales, pre=pre)


def _pull(layers, activations, codes, bp: Backprop, G):
    """Per layer (N, K, d_l, fan_in_l): seeds G (N, K, d_L) pulled back to every code."""
    parts = [None] * len(codes)
    for m in range(len(codes) - 1, -1, -1):
        ly = layers[m]
        parts[m] = bp.scales[m] * G[:, :, :, None] * bp.inputs[m][:, None, None, :]
        if m > 0:
            dact = activation(activations[m - 1]).grad(bp.pre[m - 1])          # (N, d_in)
            G = np.einsum("nkj,ji->nki", G, bp.scales[m] * np.asarray(codes[m])[:, :ly.d_in]) * dact[:, None, :]
    return parts


def jacobian(layers, activations, codes, bp: Backprop) -> np.ndarray:
    """J = dz_out/dq (N, d_L, n_q), codes concatenated q_l.ravel() layer by layer (layout order).

    Derivatives of activations are ``Activation.grad`` (the straight-through surrogate for sign)."""
    N, C = bp.z.shape
    G = np.broadcast_to(np.eye(C), (N, C, C)).copy()
    return np.concatenate([p.reshape(N, C, -1) for p in _pull(layers, activations, codes, bp, G)], axis=2)


def vjp(layers, activations, codes, bp: Backprop, g) -> list:
    """Gradient sum_n g[n] . dz_out[n]/dq_l per layer (d_l, fan_in_l), for seeds g (N, d_L)."""
    g = np.asarray(g, float)
    return [p[:, 0].sum(axis=0) for p in _pull(layers, activations, codes, bp, g[:, None, :])]


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
