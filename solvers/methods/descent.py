"""Ising-oracle trust-region descent over the weight bits (the QUBO size does not grow with N).

At the incumbent bits w0 the training loss of the quantized network (exact activations) is replaced by
its Gauss-Newton model in the real codes q = q0 + A w (``code_map``):

    m(w) = L0 + g^T A d + 1/2 d^T A^T (J^T D J / N) A d + mu * d^T M d,      d = w - w0,

J = dz/dq the per-sample Jacobian of the output pre-activations (``qcbo_model.forward.jacobian``),
D = diag(loss''(z)), g = J^T loss'(z) / N, M the trust metric.  For binary w this is a QUBO in w with
n_weight_bits variables: the data enters the coefficients only, so N = 2000 training images cost the
same oracle time as N = 32 (``model_qubo``; the energy equals m(w) exactly, offset included).  The
Gram matrix couples every pair of bits that feed the same output, so the QUBO is dense.

One iteration = one oracle call per trust weight of the ladder: every distinct read is scored with the
true objective (one batched forward pass), the best is accepted if it lowers the objective, and mu
adapts.  The objective minimized is ``objective='exact'`` (mean sharpened training loss of the
exact-activation quantized network, the default) or ``'spline'`` (the FIP spline loss = QCBO objective
of the completed point).  Whatever is minimized, the result is forward-completed to a feasible QCBO
point and its QCBO objective is reported.  Every accepted step comes from an oracle sample (no
classical polish), so the oracle ablations (``oracle='random'``, ``'random-local'``, ``'greedy'``)
measure the oracle.

Stopping: ``iterations`` iterations, ``time_limit`` seconds, Ctrl-C (the incumbent is returned,
termination ``interrupted``), convergence (the oracle returns only the incumbent at the smallest trust
region, or ``stop_after`` restarts in a row each bring less than ``tol`` x the start point's objective),
or ``patience`` iterations without improvement when ``restart`` is off (``stalled``).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.linalg import block_diag

from qcbo_model.fip import quantize_inputs
from qcbo_model.forward import (bits_from_codes, codes_from_bits, exact_backprop, exact_loss, fip_forward,
                                jacobian, random_codes)
from qcbo_model.functions import loss

from ..config import MethodConfig, check_oracle, oracle_name, option
from ..ising.problems import QUBO
from ..ising.registry import get_oracle
from ..result import Termination, finish
from .._util import progress_bar

__all__ = ["DescentConfig", "run", "code_map", "quadratic_model", "batch_models", "model_qubo", "model_value",
           "neuron_blocks", "path_points"]


@dataclass(frozen=True)
class DescentConfig(MethodConfig):
    """Settings of the Ising-oracle descent (``solve(prob, 'ising-descent', ...)``)."""

    oracle: Any = option("sa", "Ising oracle (a registered name or an Oracle instance; 'cim' without options "
                               "= preset 'training')", kind="any")
    oracle_options: dict = option({}, "options for the oracle's constructor", kind="dict", cli=False)
    iterations: int = option(300, "iterations (one oracle call per trust weight of the ladder each)",
                             kind="int", min=1)
    reads: int = option(48, "oracle reads per iteration, split over the trust-weight ladder", kind="int", min=1)
    objective: str = option("exact", "objective minimized: exact-activation training loss or the FIP spline "
                            "loss (= QCBO objective)", kind="str", choices=("exact", "spline"))
    sharpness: float = option(8.0, "minimize loss(s z)/s (s > 1 tracks the error count; 1 = plain loss)",
                              kind="float", min=0, exclusive_min=True)
    blocks: str = option("neuron", "QUBO over one hidden neuron's bits + the output bits per iteration "
                         "(neuron, cycled) or over all weight bits", kind="str", choices=("neuron", "all"))
    trust: str = option("activation", "trust metric: mean squared pre-activation change, or Hamming",
                        kind="str", choices=("activation", "hamming"))
    ladder: tuple = option((0.25, 1.0, 4.0), "trust-weight factors tried per iteration", kind="floats",
                           min=0, exclusive_min=True)
    mu0: Any = option(None, "initial trust weight (None: trace(H) / trace(M))", kind="float", min=0,
                      exclusive_min=True, allow_none=True)
    patience: int = option(10, "iterations without improvement that count as a stall", kind="int", min=1)
    restart: bool = option(True, "on a stall reset corrections, trust weight and block order and go on",
                           kind="bool")
    restart_mu: float = option(1.0, "trust weight after a restart, times its start value", kind="float",
                               min=0, exclusive_min=True)
    stop_after: Any = option(2, "converged after this many restarts in a row without an improvement "
                             "> tol (None: never; run to the iteration or time limit)", kind="int", min=1,
                             allow_none=True)
    tol: float = option(1e-3, "a restart counts as a gain when it lowers the objective by more than tol x the "
                        "objective of the start point", kind="float", min=0)
    correct: bool = option(True, "per-bit model corrections from evaluated points", kind="bool")
    archive: int = option(256, "evaluated points kept for the corrections", kind="int", min=0)
    path: bool = option(False, "also score the prefixes of each proposal's flips", kind="bool")
    time_limit: Any = option(None, "seconds (None: no limit)", kind="float", min=0, exclusive_min=True,
                             allow_none=True)
    seed: int = option(0, "seed of the start point, block order and oracle calls", kind="int", min=0)

    def __post_init__(self):
        super().__post_init__()
        check_oracle(type(self).__name__, self.oracle)


# ---------------------------------------------------------------------------------------------
def code_map(net):
    """(q0 (n_q,), A (n_q, n_bits)) with q = q0 + A w for all codes in layout order.

    q concatenates q_l.ravel() (d_l, fan_in_l) per layer; w is the weight-bit vector of the layout."""
    q0, blocks = [], []
    for ly in net.layers:
        nq = ly.d_out * ly.fan_in
        q0.append(np.full(nq, ly.code.q0))
        blocks.append(np.kron(np.eye(nq), ly.code.coefs[None, :]))           # (nq, nq * nb)
    n_q = sum(b.shape[0] for b in blocks)
    n_b = sum(b.shape[1] for b in blocks)
    A = np.zeros((n_q, n_b))
    r = c = 0
    for b in blocks:
        A[r:r + b.shape[0], c:c + b.shape[1]] = b
        r, c = r + b.shape[0], c + b.shape[1]
    return np.concatenate(q0), A


def _gn_terms(net, w0, X, Y, A, sharpness):
    """Shared part of the Gauss-Newton models: (L0, Jw (N C, n_b), d1 (N, C), d2 (N, C), backprop)."""
    codes = [q[0] for q in codes_from_bits(net, np.asarray(w0)[None])]
    v, _ = quantize_inputs(net.spec, X)
    bp = exact_backprop(net.layers, net.spec.activation, codes, v)
    J = jacobian(net.layers, net.spec.activation, codes, bp)
    N, C, _ = J.shape
    lo = loss(net.spec.loss)
    s = float(sharpness)
    z = bp.z
    L0 = float(lo.value(s * z, Y).sum(axis=1).mean()) / s
    d1, d2 = lo.d1(s * z, Y), s * lo.d2(s * z, Y)
    return L0, J.reshape(N * C, -1) @ A, d1, d2, bp


def _metric(net, A, bp, N):
    # M: mean squared change of every neuron's pre-activation, d^T M d = (1/N) sum_l,n,j (dz_lnj)^2
    blocks = []
    for ly, inp, sc in zip(net.layers, bp.inputs, bp.scales):
        G = (sc * sc) * (inp.T @ inp) / N
        blocks += [G] * ly.d_out
    return A.T @ block_diag(*blocks) @ A


def quadratic_model(net, w0, X=None, Y=None, A=None, return_metric: bool = False, sharpness: float = 1.0):
    """Gauss-Newton model of the exact training loss in the weight bits at w0: (L0, g (n_b,), H (n_b, n_b)).

    m(w) = L0 + g^T (w - w0) + 1/2 (w - w0)^T H (w - w0), H = A^T J^T D J A / N (positive semidefinite).
    ``return_metric`` also returns M (the activation trust metric, see the module docstring).
    ``sharpness`` s models the sharpened loss loss(s z, y) / s instead (s = 1: the training loss)."""
    X = net.X if X is None else X
    Y = net.Y if Y is None else np.asarray(Y, float).reshape(len(X), -1)
    if A is None:
        A = code_map(net)[1]
    L0, Jw, d1, d2, bp = _gn_terms(net, w0, X, Y, A, sharpness)
    N = len(X)
    g = Jw.T @ d1.reshape(-1) / N
    H = Jw.T @ (d2.reshape(-1, 1) * Jw) / N
    if not return_metric:
        return L0, g, H
    return L0, g, H, _metric(net, A, bp, N)


def batch_models(net, w0, batches, A=None, sharpness: float = 1.0):
    """Per-batch Gauss-Newton models of the training loss at w0: (L0, [g_s], [H_s], M) with
    sum_s g_s = g and sum_s H_s = H of ``quadratic_model`` (each batch's terms divided by the full N)."""
    if A is None:
        A = code_map(net)[1]
    X, Y = net.X, net.Y
    L0, Jw, d1, d2, bp = _gn_terms(net, w0, X, Y, A, sharpness)
    N, C = d1.shape
    gs, Hs = [], []
    for idx in batches:
        rows = (np.asarray(idx)[:, None] * C + np.arange(C)[None]).ravel()
        Jb = Jw[rows]
        gs.append(Jb.T @ d1.reshape(-1)[rows] / N)
        Hs.append(Jb.T @ (d2.reshape(-1)[rows, None] * Jb) / N)
    return L0, gs, Hs, _metric(net, A, bp, N)


def model_value(L0, g, H, w0, W, mu=0.0):
    """m(w) (+ mu Hamming) for rows W (B, n_b); the reference the QUBO must equal."""
    D = np.atleast_2d(W).astype(float) - np.asarray(w0, float)[None]
    return L0 + D @ g + 0.5 * np.einsum("bi,ij,bj->b", D, H, D) + np.abs(D) @ np.broadcast_to(mu, D.shape[1:])


def model_qubo(L0, g, H, w0, mu=0.0, exclusion=None) -> QUBO:
    """QUBO over the bits whose energy equals ``model_value(L0, g, H, w0, w, mu)`` for every binary w.

    ``mu`` is a scalar or a per-bit trust weight (n_b,): the penalty is sum_i mu_i |w_i - w0_i|.
    d = w - w0; d^T H d = w^T H w - 2 w0^T H w + w0^T H w0, w_i^2 = w_i puts H_ii/2 on the diagonal;
    Hamming(w, w0) = sum_i w_i (1 - 2 w0_i) + sum_i w0_i.  ``exclusion`` (pairs (i, j), weight P) adds
    P w_i w_j (ternary codes: plus and minus never both set; 0 at w0 so the model value is unchanged
    on valid code words)."""
    w0 = np.asarray(w0, float)
    Hw0 = H @ w0
    mu = np.broadcast_to(np.asarray(mu, float), w0.shape)
    lin = g - Hw0 + mu * (1.0 - 2.0 * w0)
    Q = np.triu(H, 1) + np.diag(0.5 * np.diag(H) + lin)
    off = L0 - g @ w0 + 0.5 * w0 @ Hw0 + mu @ w0
    if exclusion is not None:
        pairs, P = exclusion
        for i, j in pairs:
            Q[min(i, j), max(i, j)] += P
    return QUBO(Q, off)


def _ternary_pairs(net):
    pairs, pos = [], 0
    for ly in net.layers:
        n = ly.d_out * ly.fan_in
        if ly.code.kind == "ternary":
            base = pos + 2 * np.arange(n)
            pairs += list(zip(base.tolist(), (base + 1).tolist()))
        pos += n * ly.code.n_bits
    return pairs


def _archive(W, f, S, vals, size):
    """Append evaluated points, keep the newest ``size``."""
    W, f = np.concatenate([W, S]), np.concatenate([f, vals])
    return W[-size:], f[-size:]


def _corrections(L0, g, H, w0, W, f, n_b, max_flips=1):
    """Per-bit trust weights c_i >= 0 from evaluated points: c_i = max over points r that flip bit i
    of (f_r - m(w_r))^+ / |flips_r| (points within ``max_flips`` flips of w0).  Adding sum_i c_i |w_i - w0_i| to the model makes it no longer
    under-predict any archived point (c_i * |flips| >= its error); it stops the oracle from
    re-proposing moves the true objective already refuted (e.g. undoing the last step)."""
    c = np.zeros(n_b)
    if len(W) == 0:
        return c
    D = W != np.asarray(w0)[None].astype(bool)
    nf = D.sum(axis=1)
    keep = (nf > 0) & (nf <= max_flips)     # far points say little about single bits
    if not keep.any():
        return c
    err = f[keep] - model_value(L0, g, H, w0, W[keep])
    per = np.maximum(err, 0.0) / nf[keep]
    return np.max(np.where(D[keep], per[:, None], 0.0), axis=0)


def neuron_blocks(net):
    """Bit-index blocks for block steps: one per hidden neuron (its incoming weight bits) plus all
    output-layer bits in every block (the output weights couple to every hidden neuron).  A network
    without hidden layers has one block (all bits)."""
    starts, pos = [], 0
    for ly in net.layers:
        starts.append(pos)
        pos += ly.d_out * ly.fan_in * ly.code.n_bits
    out = np.arange(starts[-1], pos)
    blocks = []
    for ly, s0 in zip(net.layers[:-1], starts[:-1]):
        per = ly.fan_in * ly.code.n_bits
        blocks += [np.concatenate([np.arange(s0 + j * per, s0 + (j + 1) * per), out]) for j in range(ly.d_out)]
    return blocks or [np.arange(pos)]


def path_points(g, H, w0, S):
    """Prefixes of every proposal's flip set, flips ordered by their single-flip model change.

    For each row s of S (B, n) with flip set F = {i: s_i != w0_i}, the flips are sorted by
    g_i d_i + H_ii / 2 (d_i = s_i - w0_i, most negative first) and the points w0 + first k flips,
    k = 1..|F|, are returned (rows, a subset of the oracle's proposal each) with the index of the source row."""
    w0 = np.asarray(w0)
    D = S.astype(float) - w0[None].astype(float)                             # (B, n) in {-1, 0, 1}
    gain = np.where(D != 0, D * g[None] + 0.5 * np.diag(H)[None], np.inf)
    order = np.argsort(gain, axis=1)
    nf = (D != 0).sum(axis=1)
    rows, src = [], []
    for b in np.flatnonzero(nf > 0):       # one vectorized triangle per proposal
        k = nf[b]
        idx = order[b, :k]
        tri = np.tril(np.ones((k, k), bool))                                  # prefix masks
        P = np.repeat(w0[None], k, axis=0)
        P[:, idx] = np.where(tri, S[b, idx][None], w0[idx][None])
        rows.append(P)
        src.append(np.full(k, b))
    if not rows:
        return np.zeros((0, len(w0)), w0.dtype), np.zeros(0, int)
    return np.concatenate(rows), np.concatenate(src)




# ---------------------------------------------------------------------------------------------
def _objective_fn(net, kind, sharpness):
    if kind == "exact":
        return lambda W: exact_loss(net, codes_from_bits(net, W), sharpness=sharpness)
    return lambda W: fip_forward(net, codes_from_bits(net, W)).loss



def training_oracle(oracle, options):
    """The oracle of a training route (descent, qcgd).  ``'cim'`` with no options means the CIM tuned for
    these QUBOs, ``preset='training'`` (docs/ising.md, "The CIM as the training oracle"): at its generic
    defaults (tuned on SK instances, max(8000, 100 n) steps) every replica freezes in the same state on
    them and a call costs 4-30x more.  Any explicit option keeps the generic defaults for the rest."""
    if isinstance(oracle, str) and oracle == "cim" and not options:
        options = {"preset": "training"}
    return get_oracle(oracle, **options)

def run(prob, cfg: DescentConfig, progress: bool = False, warm_start=None):
    """Trust-region descent on the weight bits of a FIPProblem (module docstring); a SolveResult.

    ``warm_start`` (n_weight_bits,) start point; default: uniformly random valid codes from ``seed``.
    ``trust='activation'``: M = mean squared change of every neuron's pre-activation (Levenberg-Marquardt
    in function space) plus its diagonal; ``'hamming'``: M = I.  ``ladder``: one oracle call per trust
    weight mu * f; an accepted step moves mu to the weight that produced it, a rejection multiplies mu
    by 4, an iteration whose samples are all the incumbent divides it by 4.  ``correct``: per-bit model
    corrections from the last ``archive`` evaluated points.  ``blocks='neuron'``: cycle over one hidden
    neuron's incoming bits + all output bits.  ``restart``: a stall clears the corrections, resets mu to
    ``restart_mu`` x its start value and reshuffles the block order; the incumbent never gets worse.

    Trace entries: it, model_energy, model_pred, objective (true objective after the step), candidate,
    accepted, mu, hamming, oracle_calls, evaluations, restarts, time_s."""
    t0 = time.perf_counter()
    net = prob.net
    orc = training_oracle(cfg.oracle, cfg.oracle_options)
    rng = np.random.default_rng(cfg.seed)
    f = _objective_fn(net, cfg.objective, cfg.sharpness)
    _, A = code_map(net)
    n_b = A.shape[1]
    if warm_start is None:
        w = bits_from_codes(net, random_codes(net, 1, rng))[0]
    else:
        w = np.asarray(warm_start, dtype=np.uint8).reshape(-1)
        if w.shape != (n_b,):
            from ..config import ConfigError
            raise ConfigError(f"warm_start must have {n_b} weight bits, got {w.shape}")
        w = bits_from_codes(net, codes_from_bits(net, w[None]))[0]
    pairs = _ternary_pairs(net)
    blist = neuron_blocks(net) if cfg.blocks == "neuron" else [np.arange(n_b)]
    ladder = cfg.ladder
    L = float(f(w[None])[0])
    trace, calls, evals, acc_n, since, o_time = [], 0, 1, 0, 0, 0.0
    mu = None
    order, restarts, b_pos = np.arange(len(blist)), 0, 0
    dry, L_restart = 0, L          # restarts in a row without a gain > tol; objective at the last restart
    gain_tol = cfg.tol * max(abs(L), 1e-12)
    arch_W, arch_f = np.zeros((0, n_b), np.uint8), np.zeros(0)
    status = Termination.iteration_limit
    centered = "center" in orc.parameters
    bar = progress_bar(total=cfg.iterations, desc=f"ising descent ({orc.name})", enabled=progress, unit="it")
    try:
        for k in range(cfg.iterations):
            if k and cfg.time_limit is not None and time.perf_counter() - t0 > cfg.time_limit:
                status = Termination.time_limit
                break
            L0, g, H, M = quadratic_model(net, w, A=A, return_metric=True, sharpness=cfg.sharpness)
            if cfg.trust == "hamming":
                M = np.eye(n_b)          # d^T I d = Hamming(w, w0) for binary w
            else:   # plus a per-bit Hamming part: keeps the QUBO well conditioned when mu is large
                M = M + np.diag(np.diag(M))
            if mu is None:   # start where the trust term weighs like the model's own curvature
                mu = float(cfg.mu0) if cfg.mu0 is not None else float(np.trace(H) / max(np.trace(M), 1e-300))
                mu_min, mu_max = 1e-6 * max(mu, 1e-12), 1e6 * max(mu, 1e-12)
                mu_start = mu
            corr = _corrections(L0, g, H, w, arch_W, arch_f, n_b) if cfg.correct else np.zeros(n_b)
            bi = blist[order[b_pos % len(blist)]]
            b_pos += 1
            pos = np.full(n_b, -1)
            pos[bi] = np.arange(len(bi))
            bp = [(pos[i], pos[j]) for i, j in pairs if pos[i] >= 0 and pos[j] >= 0]
            gb, Hb = g[bi], H[np.ix_(bi, bi)]
            excl = (bp, 10.0 * (np.abs(Hb).sum() + np.abs(gb).sum() + 1.0)) if bp else None
            kw = {"center": w[bi]} if centered else {}
            per = max(1, cfg.reads // len(ladder))
            Ss, src, energies = [], [], []
            Mb = M[np.ix_(bi, bi)]
            for li, fac in enumerate(ladder):
                qubo = model_qubo(L0, gb, Hb + 2.0 * mu * fac * Mb, w[bi], corr[bi], excl)
                ts = time.perf_counter()
                ss = orc.sample(qubo, num_reads=per, seed=rng, **kw)
                o_time += time.perf_counter() - ts
                calls += 1
                Wf = np.repeat(w[None], len(ss.samples), axis=0)
                Wf[:, bi] = ss.samples
                Ss.append(bits_from_codes(net, codes_from_bits(net, Wf)))   # valid code words
                src.append(np.full(len(ss.samples), li))
                energies.append(ss.best_energy)
            S, first = np.unique(np.concatenate(Ss), axis=0, return_index=True)
            src = np.concatenate(src)[first]
            new = np.any(S != w[None], axis=1)
            S, src = S[new], src[new]
            if cfg.path and len(S):
                P, ps = path_points(g, H, w, S)
                P = bits_from_codes(net, codes_from_bits(net, P))
                S, first = np.unique(np.concatenate([S, P]), axis=0, return_index=True)
                src = np.concatenate([src, src[ps]])[first]
                new = np.any(S != w[None], axis=1)
                S, src = S[new], src[new]
            rec = {"it": k, "model_energy": float(min(energies)), "mu": mu, "oracle_calls": calls,
                   "restarts": restarts}
            converged = False
            if len(S) == 0:     # the model has no improving move even at the smallest trust weight
                rec.update(objective=L, candidate=None, model_pred=None, accepted=False, hamming=0)
                converged = mu <= mu_min
                mu *= 0.25
            else:
                vals = f(S)
                evals += len(S)
                arch_W, arch_f = _archive(arch_W, arch_f, S, vals, cfg.archive)
                b = int(np.argmin(vals))
                pred = float(model_value(L0, g, H, w, S[b:b + 1])[0])
                ok = bool(vals[b] < L - 1e-12)
                rec.update(candidate=float(vals[b]), model_pred=pred, accepted=ok,
                           hamming=int(np.sum(S[b] != w)))
                if ok:
                    arch_W, arch_f = _archive(arch_W, arch_f, w[None], np.array([L]), cfg.archive)
                    w, L = S[b].copy(), float(vals[b])
                    acc_n += 1
                    since = 0
                    mu *= ladder[src[b]]          # move to the trust weight that produced the step
                else:
                    since += 1
                    mu *= 4.0
                    converged = mu > mu_max   # even tiny trust regions hold no improving oracle sample
                rec["objective"] = L
            rec["evaluations"] = evals
            rec["time_s"] = time.perf_counter() - t0
            trace.append(rec)
            bar.update(1)
            bar.set_postfix(obj=f"{L:.4f}", mu=f"{mu:.2g}")
            if cfg.restart and (converged or since >= cfg.patience):
                gained = L < L_restart - gain_tol
                dry = 0 if gained else dry + 1
                L_restart = L
                if cfg.stop_after is not None and dry >= cfg.stop_after:
                    status = Termination.converged
                    break
                # perturb the search, not the incumbent: fresh corrections, trust weight, block order
                since, restarts, b_pos = 0, restarts + 1, 0
                arch_W, arch_f = arch_W[:0], arch_f[:0]
                mu = mu_start * cfg.restart_mu
                order = rng.permutation(len(blist))
                continue
            if converged:
                status = Termination.converged
                break
            if since >= cfg.patience:
                status = Termination.stalled
                break
    except KeyboardInterrupt:
        status = Termination.interrupted
    finally:
        bar.close()
    x = prob.complete(w[None])[0]
    return finish("ising-descent", prob, x, status, config=cfg, trace=trace,
                  wall_time_s=time.perf_counter() - t0, oracle_time_s=o_time, oracle=orc.name,
                  oracle_calls=calls,
                  info={"minimized": L, "objective_kind": cfg.objective, "sharpness": cfg.sharpness,
                        "iterations": len(trace), "accepted": acc_n, "evaluations": evals, "restarts": restarts,
                        "oracle_config": oracle_name(cfg.oracle)})
