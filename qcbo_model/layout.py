"""Variable layout: the one ordering of binary variables shared by every form of the model.

Order (each block in C order of its indices):

1. weight bits   ``w[l,j,i,b]``      l = 1..L, j < d_l, i < d_{l-1} (+ the bias column i = d_{l-1}), b < bits
2. indicators    ``delta[l,n,j,k]``  n < N, k < K_l
3. slack bits    ``slack[l,n,j,s,b]`` (exact form) s = 0 lower slack, s = 1 upper slack (two-sided only)
4. aux bits      ``aux[l,n,j,i,k,b]`` (exact form, l >= 2): aux = w[l,j,i,b] * delta[l-1,n,i,k]

Names are exactly the Pyomo names of the explicit model's variables.
"""
from __future__ import annotations

import numpy as np

from .fip import FIPNetwork

FORMS = ("interval", "exact")


def slack_coefs(width_max: int) -> np.ndarray:
    """Bounded binary encoding of an integer slack S in [0, M], M = width_max - 1.

    Coefficients 1, 2, 4, ..., 2^(m-2), M - (2^(m-1) - 1): every value 0..M is representable and
    no combination exceeds M, so the encoding needs no extra bound constraint.
    """
    M = int(width_max) - 1
    if M <= 0:
        return np.zeros(0)
    m = int(np.floor(np.log2(M))) + 1
    c = 2.0 ** np.arange(m - 1)
    return np.concatenate([c, [M - (2.0 ** (m - 1) - 1)]])


def encode_slack(S: np.ndarray, coefs: np.ndarray) -> np.ndarray:
    """Integer S[...] in [0, M] -> bits[..., len(coefs)] with coefs @ bits == S (vectorized)."""
    S = np.asarray(np.rint(S), dtype=np.int64)
    m = len(coefs)
    if m == 0:
        return np.zeros(S.shape + (0,), dtype=np.uint8)
    last = int(coefs[-1])
    top = (S > (2 ** (m - 1) - 1)).astype(np.int64)       # use the last coefficient when needed
    rest = S - top * last
    bits = ((rest[..., None] >> np.arange(m - 1)) & 1).astype(np.uint8)
    return np.concatenate([bits, top[..., None].astype(np.uint8)], axis=-1)


class Layout:
    """Index arrays (global variable numbers) for every block of a FIP model in one form."""

    def __init__(self, net: FIPNetwork, form: str = "interval"):
        if form not in FORMS:
            raise ValueError(f"form must be one of {FORMS}, got {form!r}")
        if form == "exact" and not net.spec.on_grid:
            from .errors import FormulationError
            raise FormulationError(
                "the exact form needs pre-activations on an integer grid: set input_bits "
                "(e.g. input_bits=2, or --input-bits 2 on the command line)")
        self.net, self.form = net, form
        spec, N = net.spec, net.N
        nxt = 0
        self.w, self.delta, self.slack, self.aux = {}, {}, {}, {}
        self.slack_coefs, self.two_sided = {}, {}
        for layer in net.layers:
            shape = (layer.d_out, layer.fan_in, layer.code.n_bits)
            self.w[layer.l] = nxt + np.arange(np.prod(shape)).reshape(shape)
            nxt += int(np.prod(shape))
        self.n_weight_bits = nxt
        for layer in net.layers:
            shape = (N, layer.d_out, layer.K)
            self.delta[layer.l] = nxt + np.arange(np.prod(shape)).reshape(shape)
            nxt += int(np.prod(shape))
        self.n_indicator_bits = nxt - self.n_weight_bits
        if form == "exact":
            for layer in net.layers:
                widths = layer.widths
                two = not np.all(widths == widths.flat[0])
                coefs = slack_coefs(int(widths.max()))
                self.two_sided[layer.l] = two
                self.slack_coefs[layer.l] = coefs
                shape = (N, layer.d_out, 2 if two else 1, len(coefs))
                self.slack[layer.l] = nxt + np.arange(int(np.prod(shape))).reshape(shape)
                nxt += int(np.prod(shape))
            for layer in net.layers[1:]:
                prev = net.layers[layer.l - 2]
                shape = (N, layer.d_out, layer.d_in, prev.K, layer.code.n_bits)
                self.aux[layer.l] = nxt + np.arange(int(np.prod(shape))).reshape(shape)
                nxt += int(np.prod(shape))
        self.n = nxt
        self._names = None

    @property
    def n_slack_bits(self) -> int:
        return sum(a.size for a in self.slack.values())

    @property
    def n_aux_bits(self) -> int:
        return sum(a.size for a in self.aux.values())

    def groups(self) -> dict:
        g = {}
        for l, a in self.w.items():
            g[f"w{l}"] = a.ravel()
        for l, a in self.delta.items():
            g[f"delta{l}"] = a.ravel()
        for l, a in self.slack.items():
            g[f"slack{l}"] = a.ravel()
        for l, a in self.aux.items():
            g[f"aux{l}"] = a.ravel()
        return g

    def names(self) -> list:
        if self._names is None:
            names = [None] * self.n
            for prefix, blocks in (("w", self.w), ("delta", self.delta), ("slack", self.slack), ("aux", self.aux)):
                for l, arr in blocks.items():
                    for idx in np.ndindex(arr.shape):
                        names[arr[idx]] = f"{prefix}[{l}," + ",".join(map(str, idx)) + "]"
            self._names = names
        return self._names

    def weight_bits_of(self, x: np.ndarray) -> np.ndarray:
        """Full assignment(s) (..., n) -> weight bits (..., n_weight_bits)."""
        return np.asarray(x)[..., : self.n_weight_bits]
