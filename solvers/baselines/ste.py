"""Straight-through-estimator quantization-aware training (STE-QAT) of the spec's network, Adam in numpy.

Latent real weights live in code units, clipped to [qmin, qmax]; the forward pass uses the nearest
code value and exact activations (the package's one exact pass, ``qcbo_model.forward``), gradients
pass straight through the rounding (``qcbo_model.forward.vjp``, activation derivatives from
``qcbo_model.functions``).  The epoch whose quantized network has the lowest (sharpened) training
loss is kept and its codes are completed to a QCBO point.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from qcbo_model.fip import quantize_inputs
from qcbo_model.forward import bits_from_codes, codes_from_bits, exact_backprop, exact_loss, fip_forward, vjp
from qcbo_model.functions import loss

from .._util import progress_bar
from ..config import MethodConfig, option
from ..result import Termination
from ._common import complete

__all__ = ["STEConfig", "run", "quantize_latent"]


@dataclass(frozen=True)
class STEConfig(MethodConfig):
    """Settings of STE-QAT (``solve(prob, 'ste', ...)``)."""

    epochs: int = option(300, "epochs", kind="int", min=1)
    lr: float = option(0.05, "Adam step in code units (times qmax)", kind="float", min=0, exclusive_min=True)
    batch_size: Any = option(None, "minibatch size (None: full batch)", kind="int", min=1, allow_none=True)
    sharpness: float = option(1.0, "train and select on loss(s z)/s (s = 1: the spec's loss)", kind="float",
                              min=0, exclusive_min=True)
    time_limit: Any = option(None, "seconds (None: no limit; checked between epochs)", kind="float", min=0,
                             exclusive_min=True, allow_none=True)
    seed: int = option(0, "seed of the initial weights and the minibatch order", kind="int", min=0)


def quantize_latent(code, w):
    """Nearest valid code value to latent real weights w (already clipped)."""
    if code.kind == "binary":
        return np.where(w >= 0, 1.0, -1.0)
    if code.kind == "ternary":
        return np.clip(np.rint(w), -1.0, 1.0)
    return np.clip(2.0 * np.floor(w / 2.0) + 1.0, code.qmin, code.qmax)   # odd integers


def run(prob, cfg: STEConfig, progress: bool = False):
    t0 = time.perf_counter()
    net = prob.net
    spec, layers = net.spec, net.layers
    acts = spec.activation
    rng = np.random.default_rng(cfg.seed)
    v, _ = quantize_inputs(spec, net.X)
    Y = net.Y
    N = len(v)
    lo = loss(spec.loss)
    sh = cfg.sharpness
    W = [rng.uniform(-0.5, 0.5, size=(ly.d_out, ly.fan_in)) * ly.code.qmax for ly in layers]
    m1 = [np.zeros_like(w) for w in W]
    m2 = [np.zeros_like(w) for w in W]
    b1, b2, eps = 0.9, 0.999, 1e-8
    bs = N if cfg.batch_size is None else cfg.batch_size
    best, best_q, trace, step = np.inf, None, [], 0
    termination = Termination.iteration_limit
    bar = progress_bar(range(cfg.epochs), desc="STE-QAT", enabled=progress, unit="epoch")
    try:
        for ep in bar:
            if cfg.time_limit is not None and ep and time.perf_counter() - t0 > cfg.time_limit:
                termination = Termination.time_limit
                break
            perm = rng.permutation(N)
            for s in range(0, N, bs):
                idx = perm[s:s + bs]
                q = [quantize_latent(ly.code, w) for ly, w in zip(layers, W)]
                bp = exact_backprop(layers, acts, q, v[idx])
                grads = vjp(layers, acts, q, bp, lo.d1(sh * bp.z, Y[idx]) / len(idx))
                step += 1
                for m, ly in enumerate(layers):
                    m1[m] = b1 * m1[m] + (1 - b1) * grads[m]
                    m2[m] = b2 * m2[m] + (1 - b2) * grads[m] ** 2
                    upd = (m1[m] / (1 - b1 ** step)) / (np.sqrt(m2[m] / (1 - b2 ** step)) + eps)
                    W[m] = np.clip(W[m] - cfg.lr * ly.code.qmax * upd, ly.code.qmin, ly.code.qmax)
            q = [quantize_latent(ly.code, w) for ly, w in zip(layers, W)]
            cur = float(exact_loss(net, [x[None] for x in q], sharpness=sh)[0])
            trace.append(cur)
            if cur < best:
                best, best_q = cur, [x.copy() for x in q]
    except KeyboardInterrupt:
        termination = Termination.interrupted
    finally:
        bar.close()
    if best_q is None:   # interrupted inside the first epoch: the current latent weights
        best_q = [quantize_latent(ly.code, w) for ly, w in zip(layers, W)]
    wb = bits_from_codes(net, [x[None] for x in best_q])[0]
    fl = float(fip_forward(net, codes_from_bits(net, wb[None])).loss[0])
    return complete(prob, "ste", wb, fl, termination, config=cfg, trace=trace, wall_time_s=time.perf_counter() - t0,
                    info={"gradient_steps": step, "epochs_run": len(trace), "forward_evaluations": step + len(trace),
                          "best_exact_loss": best})
