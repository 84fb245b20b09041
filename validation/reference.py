"""An independent reference forward pass of the FIP network, for verification only.

Deliberately written differently from ``qcbo_model.forward.fip_forward``: weight bits are decoded
here from the code's affine map, samples are processed one at a time (vectorized over the batch of
weight assignments), and the sub-interval is found by walking the breakpoints.  It must not call
``fip_forward``; if both agree, neither has a silent indexing bug of the other's kind.
"""
from __future__ import annotations

import numpy as np


def split_weight_bits(net, wbits) -> list:
    """(B, n_w) bits -> per layer (B, d_out, fan_in) codes, q = q0 + sum_b a_b w_b."""
    wbits = np.atleast_2d(np.asarray(wbits, dtype=float))
    out, pos = [], 0
    for ly in net.layers:
        nb = ly.code.n_bits
        block = wbits[:, pos:pos + ly.d_out * ly.fan_in * nb]
        pos += block.shape[1]
        q = np.full((wbits.shape[0], ly.d_out, ly.fan_in), ly.code.q0)
        for b, a in enumerate(ly.code.coefs):
            q += a * block[:, b::nb].reshape(wbits.shape[0], ly.d_out, ly.fan_in)
        out.append(q)
    return out


def _interval_of(t_row, u):
    """Index k with t[k] <= u <= t[k+1], ties to the lower interval, by walking the breakpoints."""
    k = np.zeros(u.shape, dtype=np.int64)
    for kk in range(1, len(t_row) - 1):
        k = np.where(u > t_row[kk], kk, k)
    return k


def reference_pass(net, wbits):
    """Per-sample forward pass. Returns (loss (B,), [u_l (B, N, d_l)], [k_l (B, N, d_l)])."""
    codes = split_weight_bits(net, wbits)
    B = codes[0].shape[0]
    us = [np.zeros((B, net.N, ly.d_out)) for ly in net.layers]
    ks = [np.zeros((B, net.N, ly.d_out), dtype=np.int64) for ly in net.layers]
    loss = np.zeros(B)
    out = net.layers[-1]
    for n in range(net.N):
        v = np.broadcast_to(net.v_in[n], (B, net.layers[0].d_in))
        for li, (ly, q) in enumerate(zip(net.layers, codes)):
            u = np.zeros((B, ly.d_out))
            for i in range(ly.d_in):
                u += q[:, :, i] * v[:, i:i + 1]
            if ly.has_bias:
                u += ly.c * q[:, :, ly.d_in]
            k = np.stack([_interval_of(ly.t[j], u[:, j]) for j in range(ly.d_out)], axis=1)
            us[li][:, n], ks[li][:, n] = u, k
            if ly.is_output:
                for j in range(ly.d_out):
                    yi = int(net.Y[n, j] > 0)
                    val = ly.loss_levels[j, k[:, j], yi]
                    if ly.loss_slopes is not None:
                        val = val + ly.loss_slopes[j, k[:, j], yi] * (u[:, j] - ly.t[j, k[:, j]])
                    loss += val
            else:
                v = np.stack([ly.v_levels[j, k[:, j]] for j in range(ly.d_out)], axis=1)
    assert out.is_output
    return loss / net.N, us, ks
