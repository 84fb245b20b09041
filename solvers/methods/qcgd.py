"""QCGD over weight-space models: a conditional-gradient augmented Lagrangian whose oracle does the work.

Why this form (docs/qcgd_results.md): lifting the FIP constraints makes every oracle atom infeasible,
because the indicators are *functions* of the weights; the monolithic QCGD (``qcgd-monolithic``) then
leaves the constrained work to forward completion and its oracle is idle.  Here the lift is over the
weight bits only, where the QUBO's minimizers are meaningful, and the constraints are real:

* the training set is split into S sample batches (weights p_s = N_s / N); every batch gets its own copy
  w_s of a block B of weight bits (one hidden neuron's incoming bits + the output bits, cycled, or all
  bits), and a consensus copy w_bar;
* batch s's objective is the Gauss-Newton model of its share of the training loss around the incumbent
  w0 (the exact-activation, sharpened loss, ``solvers.methods.descent.batch_models``), plus the trust
  term mu p_s d_s^T M d_s (d_s = w_s - w0);
* the consensus constraints (w_si - w_bar_i)^2 = w_si + w_bar_i - 2 w_si w_bar_i = 0 are lifted exactly:
  they are >= 0 on binaries and 0 exactly on consensus points, so a mixture whose row values vanish has
  only consensus atoms;
* CGAL (``cgal_steps`` per linearization): beta_t = beta0 sqrt(t + 1), the LMO is one dense QUBO
  F(z) + sum_r (y_r + beta_t s_r) r(z) over z = [w_bar, w_1, ..., w_S] sent to the oracle, the mixture
  is tracked through its row values s_r and E[z], y += beta0 s (capped).  No per-constraint penalty is
  tuned: the weights come from the multipliers.
* An outer trust-region loop re-linearizes: every oracle sample's consensus part and batch parts, the
  rounded mixture and the majority vote of the copies are candidates, scored with the true objective
  (``objective='exact'``: the sharpened exact-activation training loss; ``'spline'``: the FIP spline
  loss = the QCBO objective); the best is accepted if it improves the incumbent, mu adapts (halved on a
  step, x4 on a rejection), stalls restart as in the descent.  The result is forward-completed to a
  feasible QCBO point and its QCBO objective is reported.

``info['consensus_rate']`` is the share of oracle samples whose copies all agree with w_bar (the
oracle solving the constrained problem itself, with no completion); ``info['accepted_from']`` counts
where accepted steps came from.  Oracle ablations: ``oracle='random'``, ``'random-local'``, ``'greedy'``.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from qcbo_model.forward import bits_from_codes, codes_from_bits, random_codes

from .._util import progress_bar
from ..config import MethodConfig, check_oracle, oracle_name, option
from ..ising.problems import QUBO
from ..result import Termination, finish
from .descent import (_objective_fn, _ternary_pairs, batch_models, code_map, model_qubo, neuron_blocks,
                      training_oracle)

__all__ = ["QCGDConfig", "run", "consensus_qubo"]


@dataclass(frozen=True)
class QCGDConfig(MethodConfig):
    """Settings of QCGD over weight-space models (``solve(prob, 'qcgd', ...)``; module docstring)."""

    oracle: Any = option("sa", "Ising oracle for the LMO QUBOs (registered name or Oracle; 'cim' without "
                               "options = preset 'training')", kind="any")
    oracle_options: dict = option({}, "options for the oracle's constructor", kind="dict", cli=False)
    iterations: int = option(150, "linearizations (outer trust-region steps)", kind="int", min=1)
    cgal_steps: int = option(4, "CGAL iterations per linearization (one oracle call each)", kind="int", min=1)
    batches: int = option(4, "sample batches, one weight copy each", kind="int", min=1)
    reads: int = option(16, "oracle reads per call", kind="int", min=1)
    beta0: float = option(1.0, "initial augmented-Lagrangian weight (relative to the objective's scale)",
                          kind="float", min=0, exclusive_min=True)
    objective: str = option("exact", "objective accepted on: sharpened exact-activation loss or the FIP spline "
                            "loss (= QCBO objective)", kind="str", choices=("exact", "spline"))
    sharpness: float = option(8.0, "model and accept loss(s z)/s (exact objective)", kind="float", min=0,
                              exclusive_min=True)
    blocks: str = option("neuron", "QUBO block: one hidden neuron's bits + output bits (cycled), or all bits",
                         kind="str", choices=("neuron", "all"))
    mu0: Any = option(None, "initial trust weight (None: trace(H) / trace(M))", kind="float", min=0,
                      exclusive_min=True, allow_none=True)
    patience: int = option(10, "linearizations without improvement that count as a stall", kind="int", min=1)
    restart: bool = option(True, "on a stall reset the trust weight and the block order and go on", kind="bool")
    stop_after: Any = option(2, "converged after this many restarts in a row without a gain > tol (None: never)",
                             kind="int", min=1, allow_none=True)
    tol: float = option(1e-3, "a restart's gain must exceed tol x the start point's objective", kind="float", min=0)
    dual_cap: float = option(1e4, "cap on the multipliers' norm", kind="float", min=0, exclusive_min=True)
    time_limit: Any = option(None, "seconds (None: no limit)", kind="float", min=0, exclusive_min=True,
                             allow_none=True)
    seed: int = option(0, "seed of the start point, batches, block order and oracle calls", kind="int", min=0)

    def __post_init__(self):
        super().__post_init__()
        check_oracle(type(self).__name__, self.oracle)


def consensus_qubo(Qs, offsets, weights, scale):
    """The LMO QUBO over z = [w_bar (m), w_1 (m), ..., w_S (m)]: block-diagonal batch models Qs[s] (m x m,
    upper-triangular, over w_s) plus scale * weights[s, i] * (w_si + w_bar_i - 2 w_si w_bar_i)."""
    S, m = weights.shape
    n = (S + 1) * m
    Q = np.zeros((n, n))
    i = np.arange(m)
    for s in range(S):
        o = (s + 1) * m
        Q[o:o + m, o:o + m] = Qs[s]
        w = scale * weights[s]
        Q[o + i, o + i] += w
        Q[i, i] += w
        Q[i, o + i] += -2.0 * w
    return QUBO(Q, float(np.sum(offsets)))


def _rows(Z, S, m):
    """(R, S, m) consensus row values (w_si - w_bar_i)^2 = |w_si - w_bar_i| of binary rows Z."""
    Z = np.asarray(Z, dtype=np.int8).reshape(len(Z), S + 1, m)
    return np.abs(Z[:, 1:, :] - Z[:, :1, :]).astype(float)


def run(prob, cfg: QCGDConfig, progress: bool = False, warm_start=None):
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
        w = bits_from_codes(net, codes_from_bits(net, np.asarray(warm_start, np.uint8).reshape(1, -1)))[0]
    perm = rng.permutation(net.N)
    S = min(cfg.batches, net.N)
    batches = [np.sort(b) for b in np.array_split(perm, S)]
    p = np.array([len(b) for b in batches], float) / net.N
    blist = neuron_blocks(net) if cfg.blocks == "neuron" else [np.arange(n_b)]
    pairs = _ternary_pairs(net)
    L = float(f(w[None])[0])
    gain_tol = cfg.tol * max(abs(L), 1e-12)
    trace, calls, o_time, evals, acc_n, since = [], 0, 0.0, 1, 0, 0
    mu, order, b_pos, restarts, dry, L_restart = None, np.arange(len(blist)), 0, 0, 0, L
    samples_total, samples_consensus = 0, 0
    t_model = t_eval = 0.0                 # where the time goes, next to o_time (the oracle)
    from_counts = {"consensus": 0, "batch": 0, "rounding": 0, "vote": 0}
    status = Termination.iteration_limit
    centered = "center" in orc.parameters
    bar = progress_bar(total=cfg.iterations, desc=f"qcgd ({orc.name})", enabled=progress, unit="it")
    try:
        for k in range(cfg.iterations):
            if k and cfg.time_limit is not None and time.perf_counter() - t0 > cfg.time_limit:
                status = Termination.time_limit
                break
            tm = time.perf_counter()
            L0, gs, Hs, M = batch_models(net, w, batches, A=A, sharpness=cfg.sharpness)
            M = M + np.diag(np.diag(M))
            if mu is None:
                H = sum(Hs)
                mu = float(cfg.mu0) if cfg.mu0 is not None else float(np.trace(H) / max(np.trace(M), 1e-300))
                mu_min, mu_max, mu_start = 1e-6 * max(mu, 1e-12), 1e6 * max(mu, 1e-12), mu
            bi = blist[order[b_pos % len(blist)]]
            b_pos += 1
            m = len(bi)
            pos = np.full(n_b, -1)
            pos[bi] = np.arange(m)
            bp = [(pos[i], pos[j]) for i, j in pairs if pos[i] >= 0 and pos[j] >= 0]
            Mb = M[np.ix_(bi, bi)]
            Qs, offs = [], []
            for s in range(S):
                gb, Hb = gs[s][bi], Hs[s][np.ix_(bi, bi)]
                excl = (bp, 10.0 * (np.abs(Hb).sum() + np.abs(gb).sum() + 1e-12)) if bp else None
                qs = model_qubo(p[s] * L0, gb, Hb + 2.0 * mu * p[s] * Mb, w[bi], 0.0, excl)
                Qs.append(np.asarray(qs.Q))
                offs.append(qs.offset)
            scale = max(max(float(np.abs(q).max()) for q in Qs), 1e-12)
            t_model += time.perf_counter() - tm
            # CGAL over the lifted consensus problem
            y = np.zeros((S, m))
            sval = np.zeros((S, m))         # mixture row values
            Ez = np.zeros((S + 1) * m)
            cand = []
            for t in range(1, cfg.cgal_steps + 1):
                beta = cfg.beta0 * np.sqrt(t + 1)
                qubo = consensus_qubo(Qs, offs, y + beta * sval, scale)
                kw = {"center": np.tile(w[bi], S + 1)} if centered else {}
                ts = time.perf_counter()
                ss = orc.sample(qubo, num_reads=cfg.reads, seed=rng, **kw)
                o_time += time.perf_counter() - ts
                calls += 1
                Z = ss.samples
                R = _rows(Z, S, m)
                agree = np.all(R.reshape(len(Z), -1) == 0, axis=1)
                samples_total += len(Z)
                samples_consensus += int(agree.sum())
                v = Z[ss.best_index].astype(float)
                eta = 2.0 / (t + 1)
                sval = (1 - eta) * sval + eta * R[ss.best_index]
                Ez = (1 - eta) * Ez + eta * v
                y_new = y + cfg.beta0 * sval
                if np.linalg.norm(y_new) <= cfg.dual_cap:
                    y = y_new
                Zr = Z.reshape(len(Z), S + 1, m)
                cand.append((Zr[:, 0, :], "consensus"))
                cand.append((Zr[:, 1:, :].reshape(-1, m), "batch"))
            cand.append(((Ez[:m] > 0.5)[None].astype(np.uint8), "rounding"))
            cand.append(((Ez[m:].reshape(S, m).mean(axis=0) > 0.5)[None].astype(np.uint8), "vote"))
            blocks_, srcs = [], []
            for B, name in cand:
                blocks_.append(B)
                srcs += [name] * len(B)
            te = time.perf_counter()
            Bk = np.concatenate(blocks_).astype(np.uint8)
            Wf = np.repeat(w[None], len(Bk), axis=0)
            Wf[:, bi] = Bk
            Wf = bits_from_codes(net, codes_from_bits(net, Wf))
            Wu, first = np.unique(Wf, axis=0, return_index=True)
            srcs = np.asarray(srcs)[first]
            new = np.any(Wu != w[None], axis=1)
            Wu, srcs = Wu[new], srcs[new]
            rec = {"it": k, "mu": mu, "oracle_calls": calls, "restarts": restarts,
                   "consensus_rate": samples_consensus / max(samples_total, 1),
                   "infeasibility": float(np.sqrt((sval ** 2).sum()))}
            converged = False
            if len(Wu) == 0:
                rec.update(objective=L, candidate=None, accepted=False)
                converged = mu <= mu_min
                mu *= 0.25
            else:
                vals = f(Wu)
                evals += len(Wu)
            t_eval += time.perf_counter() - te
            if len(Wu):
                b = int(np.argmin(vals))
                ok = bool(vals[b] < L - 1e-12)
                rec.update(candidate=float(vals[b]), accepted=ok, source=str(srcs[b]))
                if ok:
                    w, L = Wu[b].copy(), float(vals[b])
                    acc_n += 1
                    since = 0
                    from_counts[str(srcs[b])] += 1
                    mu = max(mu * 0.5, mu_min)
                else:
                    since += 1
                    mu *= 4.0
                    converged = mu > mu_max
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
                since, restarts, b_pos = 0, restarts + 1, 0
                mu = mu_start
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
    tc = time.perf_counter()
    x = prob.complete(w[None])[0]
    t_complete = time.perf_counter() - tc
    return finish("qcgd", prob, x, status, config=cfg, trace=trace, wall_time_s=time.perf_counter() - t0,
                  oracle_time_s=o_time, oracle=orc.name, oracle_calls=calls,
                  info={"minimized": L, "objective_kind": cfg.objective, "sharpness": cfg.sharpness,
                        "iterations": len(trace), "accepted": acc_n, "accepted_from": from_counts,
                        "evaluations": evals, "restarts": restarts, "batches": S,
                        "consensus_rate": samples_consensus / max(samples_total, 1),
                        "time_breakdown_s": {"models": t_model, "oracle": o_time, "candidates": t_eval,
                                             "completion": t_complete},
                        "oracle_config": oracle_name(cfg.oracle)})
