"""Exhaustive search over the weight bits: a second, independent exact method.

For every weight-bit pattern the indicators are fixed by the FIP forward pass, so the QCBO optimum
is the minimum over the 2^n_w patterns of the forward-pass spline loss.  One caveat makes it exact
rather than approximate: in the interval form off the integer grid a pre-activation can sit *on* a
breakpoint, where both neighbouring indicators are feasible.  Output-layer ties are resolved by
taking the cheaper side (vectorized); patterns with hidden-layer ties are re-evaluated one by one
over every tie choice.  On the grid (and in the exact form) ties cannot occur.

    >>> res = solvers.solve(prob, "exhaustive")               # doctest: +SKIP
    >>> res.objective, res.info["n_optimal"], res.x           # doctest: +SKIP
"""
from __future__ import annotations

import itertools
import time
from dataclasses import dataclass

import numpy as np

from qcbo_model.errors import QCBOError

from .._util import progress_bar
from ..config import MethodConfig, option
from ..result import Termination, finish
from qcbo_model.forward import codes_from_bits, fip_forward, forward_completion

MAX_BITS = 24          # 2^24 assignments: about a minute at N = 8 on two cores
TIE_TOL = 1e-9
OPT_TOL = 1e-9


class ExhaustiveError(QCBOError):
    """The instance is too large to enumerate, or a tie pattern explodes."""


@dataclass(frozen=True)
class ExhaustiveConfig(MethodConfig):
    """Settings of the enumeration (``solve(prob, 'exhaustive', ...)``)."""

    max_bits: int = option(MAX_BITS, "refuse instances with more than 2^max_bits weight assignments",
                           kind="int", min=1, max=40)
    chunk: int = option(1 << 13, "weight patterns evaluated per batch", kind="int", min=1)


def _near(u, t, tol):
    return np.abs(u - t) <= tol * (1.0 + np.abs(t))


def _alternatives(ly, u, k):
    """Boolean (..., K) of the intervals whose closed range holds u (k plus tied neighbours)."""
    K = ly.K
    jj = np.arange(ly.d_out)
    alt = k[..., None] == np.arange(K)
    if ly.lo is not None or K == 1:      # on the grid: u integer, breakpoints half-integers
        return alt
    t = ly.t                                                     # (d, K+1)
    lower_edge = t[jj, k]                                        # t_{k}: shared with interval k-1
    upper_edge = t[jj, np.minimum(k + 1, K)]
    dn = (k > 0) & _near(u, lower_edge, TIE_TOL)
    up = (k < K - 1) & _near(u, upper_edge, TIE_TOL)
    alt |= dn[..., None] & (np.arange(K) == (k - 1)[..., None])
    alt |= up[..., None] & (np.arange(K) == (k + 1)[..., None])
    return alt


def _output_loss(net, u, alt):
    """(B,) min over tie choices of the output spline loss; also the minimizing k (B, N, d)."""
    out = net.layers[-1]
    yi = net.y_index                                             # (N, d)
    jj = np.arange(out.d_out)
    lv = out.loss_levels[jj[:, None], np.arange(out.K)[None, :], :]   # (d, K, 2)
    levels = np.take_along_axis(lv[None], np.broadcast_to(yi[:, :, None, None], yi.shape + (out.K, 1)),
                                axis=3)[..., 0]                  # (N, d, K)
    cost = np.broadcast_to(levels, u.shape + (out.K,)).copy()
    if out.loss_slopes is not None:
        sl = np.take_along_axis(out.loss_slopes[None], np.broadcast_to(yi[:, :, None, None],
                                yi.shape + (out.K, 1)), axis=3)[..., 0]
        cost = cost + sl * (u[..., None] - out.t[None, None, :, :-1])
    cost = np.where(alt, cost, np.inf)
    kbest = np.argmin(cost, axis=-1)
    return cost.min(axis=-1).sum(axis=2).mean(axis=1), kbest


def _pattern_all_choices(net, codes1):
    """Exact (loss, [k per layer]) of one pattern, enumerating every hidden-layer tie choice."""
    from qcbo_model.forward import _layer_u
    best = (np.inf, None)

    def rec(l, v, ks):
        nonlocal best
        ly = net.layers[l]
        u = _layer_u(ly, codes1[l], v)              # (1, N, d)
        k = net.interval_index(ly.l, u)
        alt = _alternatives(ly, u, k)
        if ly.is_output:
            loss, kb = _output_loss(net, u, alt)
            if loss[0] < best[0]:
                best = (float(loss[0]), ks + [kb])
            return
        cells = np.argwhere(alt.sum(-1) > 1)
        if len(cells) > 16:
            raise ExhaustiveError(f"{len(cells)} tied hidden pre-activations in one pattern: too many choices")
        options = [np.flatnonzero(alt[tuple(c)]) for c in cells]
        for choice in itertools.product(*options):
            kc = k.copy()
            for c, kk in zip(cells, choice):
                kc[tuple(c)] = kk
            vn = np.take_along_axis(np.broadcast_to(ly.v_levels, u.shape + (ly.K,)), kc[..., None], axis=-1)[..., 0]
            rec(l + 1, vn, ks + [kc])

    rec(0, net.v_in, [])
    return best


def _pattern_tables(net):
    """Per weight: the valid bit patterns of its code (ternary: 3 of 4), as mixed-radix digits."""
    radix, tables, owner = [], [], []
    for li, ly in enumerate(net.layers):
        vals = np.asarray(ly.code.values)
        tables.append(np.asarray(ly.code.encode(vals), dtype=np.uint8).reshape(len(vals), ly.code.n_bits))
        n = ly.d_out * ly.fan_in
        radix += [len(vals)] * n
        owner += [li] * n
    return np.asarray(radix, dtype=np.int64), tables, np.asarray(owner)


def n_patterns(net) -> int:
    """Number of distinct weight assignments (valid code words only)."""
    radix, _, _ = _pattern_tables(net)
    return int(np.prod(radix.astype(object)))


def _bits_of(idx, radix, place, tables, owner):
    digits = (idx[:, None] // place[None, :]) % radix[None, :]          # (B, n_weights)
    parts = [tables[li][digits[:, owner == li]].reshape(len(idx), -1) for li in range(len(tables))]
    return np.concatenate(parts, axis=1)


def run(prob, cfg: ExhaustiveConfig, progress: bool = False):
    """Global optimum of a FIP problem by enumerating its weights (interval or exact form); a SolveResult.

    Only valid code words are enumerated (a ternary weight has 3 patterns, not 4), so every distinct
    network is visited once; at most 2^max_bits of them."""
    net = prob.net
    radix, tables, owner = _pattern_tables(net)
    total = n_patterns(net)
    if total > (1 << cfg.max_bits):
        raise ExhaustiveError(f"{total} weight assignments exceed 2^{cfg.max_bits}; too many to enumerate "
                              "(raise max_bits, or use the 'highs' method)")
    place = np.concatenate([[1], np.cumprod(radix)[:-1]]).astype(np.int64)
    t0 = time.perf_counter()
    best_obj, best_bits, best_ks = np.inf, None, None
    n_ties = 0
    values = []
    bar = progress_bar(total=total, desc="exhaustive", enabled=progress and total >= (1 << 18), unit="pat")
    chunk = cfg.chunk
    try:
        for s in range(0, total, chunk):
            idx = np.arange(s, min(s + chunk, total), dtype=np.int64)
            wbits = _bits_of(idx, radix, place, tables, owner)
            codes = codes_from_bits(net, wbits)
            fp = fip_forward(net, codes)
            alt_out = _alternatives(net.layers[-1], fp.u[-1], fp.k[-1])
            loss, kbest = _output_loss(net, fp.u[-1], alt_out)
            ties = alt_out.sum(-1).reshape(len(idx), -1).max(axis=1) > 1
            hidden_tie = np.zeros(len(idx), bool)
            for ly, u, k in zip(net.layers[:-1], fp.u[:-1], fp.k[:-1]):
                hidden_tie |= _alternatives(ly, u, k).sum(-1).reshape(len(idx), -1).max(axis=1) > 1
            ks_override = {}
            for b in np.flatnonzero(hidden_tie):
                lb, ksb = _pattern_all_choices(net, [c[b:b + 1] for c in codes])
                loss[b] = lb
                ks_override[b] = ksb
            n_ties += int(np.count_nonzero(ties | hidden_tie))
            values.append(loss)
            b = int(np.argmin(loss))
            if loss[b] < best_obj:
                best_obj, best_bits = float(loss[b]), wbits[b]
                best_ks = ks_override.get(b, [k[b:b + 1] for k in fp.k[:-1]] + [kbest[b:b + 1]])
            bar.update(len(idx))
        termination = Termination.optimal
    except KeyboardInterrupt:
        termination = Termination.interrupted
    finally:
        bar.close()
    if best_bits is None:
        return finish("exhaustive", prob, None, termination, config=cfg, wall_time_s=time.perf_counter() - t0)
    allv = np.concatenate(values)
    best_obj = float(allv.min())
    n_opt = int(np.count_nonzero(allv <= best_obj + OPT_TOL * (1 + abs(best_obj))))
    x = _assignment(prob, best_bits, best_ks)
    done = int(len(allv))
    bound = float(prob.qcbo.objective(x[None])[0]) if termination == Termination.optimal else None
    statement = (f"optimal by enumeration of {total} weight patterns ({n_opt} optimal)"
                 if termination == Termination.optimal else f"interrupted after {done} of {total} weight patterns")
    return finish("exhaustive", prob, x, termination, bound=bound, config=cfg,
                  wall_time_s=time.perf_counter() - t0,
                  info={"n_patterns": total, "n_evaluated": done, "n_optimal": n_opt, "n_tie_patterns": n_ties,
                        "statement": statement})


def _assignment(prob, wbits, ks):
    """Forward completion of one pattern with the chosen indicators (tie choices) written in."""
    x = forward_completion(prob.net, wbits[None], prob.form, prob.layout)[0]
    if prob.form != "interval":
        return x           # on the grid no ties: the completion is the unique one
    lay, N = prob.layout, prob.net.N
    for ly, k in zip(prob.net.layers, ks):
        D = lay.delta[ly.l]                                      # (N, d, K)
        x[D.reshape(-1)] = 0
        x[D[np.arange(N)[:, None], np.arange(ly.d_out)[None, :], k[0]]] = 1
    return x


__all__ = ["ExhaustiveConfig", "ExhaustiveError", "run", "n_patterns"]
