"""Simulated annealing on the weight bits with the forward (FIP spline) objective.

Vectorized over reads: every read proposes the same bit per step and the R proposals are scored in
one batch, re-computing only the flipped neuron and the layers after it (``_ForwardState``).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from qcbo_model.fip import FIPNetwork
from qcbo_model.forward import bits_from_codes, codes_from_bits, fip_forward, random_codes

from .._util import progress_bar
from ..config import MethodConfig, option
from ..result import Termination
from ._common import BaselineError, complete

__all__ = ["SAWeightsConfig", "run", "anneal_weights"]


@dataclass(frozen=True)
class SAWeightsConfig(MethodConfig):
    """Settings of SA on the weight bits (``solve(prob, 'sa-weights', ...)``)."""

    sweeps: int = option(200, "sweeps over all weight bits", kind="int", min=1)
    reads: int = option(16, "parallel reads", kind="int", min=1)
    T0: Any = option(None, "start temperature (None: a typical uphill move accepted with p = 1/2)",
                     kind="float", min=0, exclusive_min=True, allow_none=True)
    T1: Any = option(None, "end temperature (None: the smallest uphill move accepted with p = 1 %)",
                     kind="float", min=0, exclusive_min=True, allow_none=True)
    time_limit: Any = option(None, "seconds (None: no limit; checked between sweeps)", kind="float", min=0,
                             exclusive_min=True, allow_none=True)
    seed: int = option(0, "seed of the reads' start points and the Metropolis draws", kind="int", min=0)


class _ForwardState:
    """Per-read cached pre-activations so one weight-bit flip re-evaluates only what it touches."""

    def __init__(self, net: FIPNetwork, codes: list):
        self.net = net
        self.codes = [q.copy() for q in codes]
        self.fp = fip_forward(net, self.codes)
        self.u = [u.copy() for u in self.fp.u]
        self.loss = self.fp.loss.copy()

    def propose(self, l: int, j: int, i: int, dq: np.ndarray):
        """Loss (R,) and new u list after adding dq (R,) to code q[l][:, j, i] (l 0-based)."""
        net = self.net
        ly = net.layers[l]
        v = net.v_in if l == 0 else None
        u = [None] * len(net.layers)
        u[l] = self.u[l].copy()
        if i < ly.d_in:
            if l == 0:
                col = v[:, i][None, :]                                         # (1, N)
            else:
                prev = net.layers[l - 1]
                kp = np.sum(self.u[l - 1][:, :, i, None] > prev.t[i, 1:-1], axis=-1)   # (R, N)
                col = prev.v_levels[i][kp]
            u[l][:, :, j] += dq[:, None] * col
        else:
            u[l][:, :, j] += dq[:, None] * ly.c
        return self._downstream(l, u)

    def _downstream(self, l, u):
        net = self.net
        for m in range(l, len(net.layers)):
            ly = net.layers[m]
            if m > l:
                prev = net.layers[m - 1]
                k = net.interval_index(m, u[m - 1])                            # (R, N, d_prev)
                vin = np.take_along_axis(np.broadcast_to(prev.v_levels, k.shape + (prev.K,)),
                                         k[..., None], axis=-1)[..., 0]
                q = self.codes[m]
                u[m] = np.einsum("rni,rji->rnj", vin, q[:, :, :ly.d_in])
                if ly.has_bias:
                    u[m] = u[m] + ly.c * q[:, None, :, ly.d_in]
        out = net.layers[-1]
        k = net.interval_index(len(net.layers), u[-1])
        lv = out.loss_levels[np.arange(out.d_out)[None, None, :], k, net.y_index[None]]
        if out.loss_slopes is not None:
            sl = out.loss_slopes[np.arange(out.d_out)[None, None, :], k, net.y_index[None]]
            lv = lv + sl * (u[-1] - out.t[np.arange(out.d_out)[None, None, :], k])
        return lv.sum(axis=2).mean(axis=1), u


def anneal_weights(prob, n_sweeps: int = 200, n_reads: int = 16, seed: int = 0, T0: float | None = None,
                   T1: float | None = None, progress: bool = False, linear=None, init_bits=None,
                   time_limit: float | None = None) -> tuple:
    """Simulated annealing on the weight bits; objective = forward (FIP spline) loss.

    Each step flips one code bit in every read (the same position in all reads, a random permutation
    per sweep); the R proposals are evaluated together, re-computing only the flipped neuron and the
    layers after it. Ternary codes move between valid code words (a flip that would set plus and minus
    together moves to the other sign instead). Geometric temperature schedule T0 -> T1; by default
    T0 accepts a typical uphill move with probability 1/2 and T1 accepts the smallest one with 1 %.

    ``linear`` (n_weight_bits,) adds lin @ wbits to the annealed objective (progressive hedging terms;
    ``objective`` still reports the QCBO objective alone, ``info['annealed_objective']`` the sum).
    ``init_bits`` (n_weight_bits,) starts every read there instead of at random codes.
    Returns (best weight bits, their forward spline loss, trace, info, termination).
    """
    if n_sweeps < 1 or n_reads < 1:
        raise BaselineError(f"n_sweeps and n_reads must be >= 1, got {n_sweeps}, {n_reads}")
    t0 = time.perf_counter()
    termination = Termination.iteration_limit
    net = prob.net
    from qcbo_model.memory import check_memory
    per_read = sum(net.N * ly.d_out * 8 * 6 + ly.d_out * ly.fan_in * 8 * 2 for ly in net.layers)
    check_memory(float(n_reads) * per_read, f"sa-weights with {n_reads} reads on {net.N} samples",
                 "use fewer reads (--sa-weights-reads)")
    rng = np.random.default_rng(seed)
    R = n_reads
    if init_bits is not None:
        init = codes_from_bits(net, np.asarray(init_bits)[None])
        st = _ForwardState(net, [np.repeat(q, R, axis=0) for q in init])
    else:
        st = _ForwardState(net, random_codes(net, R, rng))
    lin = None if linear is None else np.asarray(linear, dtype=float)
    lin_val = np.zeros(R)
    if lin is not None:
        if lin.shape != (prob.n_weight_bits,):
            raise BaselineError(f"linear must have shape ({prob.n_weight_bits},), got {lin.shape}")
        lin_w = [lin[prob.layout.w[ly.l]] for ly in net.layers]           # (d, fan_in, nb) per layer
        lin_val = bits_from_codes(net, st.codes) @ lin                      # (R,) linear part
    # positions: (layer, j, i, bit) for every weight bit in layout order
    pos = []
    for l, ly in enumerate(net.layers):
        jj, ii, bb = np.meshgrid(np.arange(ly.d_out), np.arange(ly.fan_in), np.arange(ly.code.n_bits), indexing="ij")
        pos.append(np.stack([np.full(jj.size, l), jj.ravel(), ii.ravel(), bb.ravel()], axis=1))
    pos = np.concatenate(pos)
    n_w = len(pos)

    def delta_q(l, j, i, b):
        ly = net.layers[l]
        q = st.codes[l][:, j, i]
        if ly.code.kind == "ternary":
            # valid moves: 0 -> +1 (b=0) or -1 (b=1); +-1 -> 0 if the bit is set, else to the other sign
            target = np.where(q == 0, 1.0 if b == 0 else -1.0,
                              np.where((q > 0) == (b == 0), 0.0, -q))
            return target - q
        bits = ly.code.encode(q)[:, b]
        return ly.code.coefs[b] * (1.0 - 2.0 * bits)

    if T0 is None or T1 is None:   # estimate the scale of moves from one batch of proposals
        sample = pos[rng.choice(n_w, size=min(n_w, 32), replace=False)]
        base = st.propose(0, 0, 0, np.zeros(R))[0]
        d = np.concatenate([st.propose(l, j, i, delta_q(l, j, i, b))[0] - base for l, j, i, b in sample])
        up = np.abs(d[np.abs(d) > 1e-12])
        if up.size == 0:
            up = np.array([1.0 / net.N])
        T0 = float(np.median(up) / np.log(2.0)) if T0 is None else T0
        T1 = float(up.min() / np.log(100.0)) if T1 is None else T1
        T1 = min(T1, T0)
    temps = T0 * (T1 / T0) ** (np.arange(n_sweeps) / max(n_sweeps - 1, 1))
    best_loss = st.loss + lin_val
    best_codes = [q.copy() for q in st.codes]
    trace = []
    bar = progress_bar(range(n_sweeps), desc="SA on weights", enabled=progress, unit="sweep")
    accepted, done = 0, 0
    try:
        for s in bar:
            if time_limit is not None and done and time.perf_counter() - t0 > time_limit:
                termination = Termination.time_limit
                break
            T = temps[s]
            order = rng.permutation(n_w)
            logu = np.log(rng.random((n_w, R)))
            for step, p in enumerate(order):
                l, j, i, b = pos[p]
                dq = delta_q(l, j, i, b)
                new_loss, u = st.propose(l, j, i, dq)
                if lin is not None:
                    code = net.layers[l].code
                    q_old = st.codes[l][:, j, i]
                    dlin = (code.encode(q_old + dq).astype(float) - code.encode(q_old)) @ lin_w[l][j, i]
                else:
                    dlin = 0.0
                acc = -(new_loss + dlin - st.loss) / T >= logu[step]     # Metropolis
                if acc.any():
                    accepted += int(acc.sum())
                    st.codes[l][acc, j, i] += dq[acc]
                    for m in range(l, len(net.layers)):
                        st.u[m][acc] = u[m][acc]
                    st.loss = np.where(acc, new_loss, st.loss)
                    lin_val = np.where(acc, lin_val + dlin, lin_val)
                    cur = st.loss + lin_val
                    imp = cur < best_loss
                    if imp.any():
                        best_loss = np.where(imp, cur, best_loss)
                        for m in range(len(net.layers)):
                            best_codes[m][imp] = st.codes[m][imp]
            # resynchronize the incremental pre-activations (float drift could move a sample across a
            # breakpoint it sits on) with one exact forward pass per sweep
            fresh = fip_forward(net, st.codes)
            st.u, st.loss = [u.copy() for u in fresh.u], fresh.loss.copy()
            trace.append(float(best_loss.min()))
            done += 1
    except KeyboardInterrupt:   # keep the best codes found so far
        termination = Termination.interrupted
    bar.close()
    r = int(np.argmin(best_loss))
    wb = bits_from_codes(net, [q[r:r + 1] for q in best_codes])[0]
    annealed = float(best_loss[r])
    fl = float(fip_forward(net, codes_from_bits(net, wb[None])).loss[0])   # exact, not incremental
    info = {"T0": T0, "T1": T1, "sweeps": done, "reads": R,
            "acceptance_rate": accepted / max(done * n_w * R, 1), "annealed_objective": annealed,
            "read_objectives": best_loss.tolist(), "forward_evaluations": int(done * n_w * R)}
    return wb, fl, trace, info, termination


def run(prob, cfg: SAWeightsConfig, progress: bool = False, warm_start=None):
    t0 = time.perf_counter()
    wb, fl, trace, info, termination = anneal_weights(
        prob, cfg.sweeps, cfg.reads, cfg.seed, cfg.T0, cfg.T1, progress=progress, init_bits=warm_start,
        time_limit=cfg.time_limit)
    return complete(prob, "sa-weights", wb, fl, termination, config=cfg, trace=trace,
                    wall_time_s=time.perf_counter() - t0, info=info)
