"""Decomposed lower-bound optimization: a certified lower bound on the QCBO optimum of a training set.

The FIP-QCBO objective is a sum over samples, and every constraint involves one sample's indicators
and the shared weight bits w.  Split the samples into batches s = 1..S (weights p_s = N_s / N) and give
each batch its own copy w_s of the weight bits.  For multipliers lambda_s with sum_s lambda_s = 0,

    L(lambda) = sum_s  V_s(lambda_s),      V_s(lambda_s) = min_{x_s feasible for batch s} p_s f_s(x_s) + lambda_s . w_s

is a lower bound on the QCBO optimum (at a consensus point sum_s lambda_s . w = 0, and each batch is
minimized on its own).  lambda = 0 is already valid: the mean of the batch optima.  Each batch is a
small QCBO sliced from the canonical one (``subnetwork`` + ``assemble``: the full set's FIP constants,
so its terms are exactly the full objective's terms; ``piece_model`` gives its Pyomo model), solved
exactly by HiGHS (``solvers.exact.milp``).  When a piece is not solved to optimality within its time
limit, HiGHS's dual bound for it is used: the sum stays a valid bound (``certified``) whatever the
status.  The multipliers are then improved by projected subgradient steps with a Polyak step size
(subgradient w_s* - mean_t w_t*), keeping the best bound; every iterate is valid.

Every piece's optimal w_s is also a candidate for the full problem: forward-completed and scored, the
best one is returned as the point of the SolveResult (with the warm start, if given, as the reference
upper bound).  ``batch_size=None`` chooses the batch size by measured tightness per second: pieces of
growing size are timed on a few batches, and the largest size whose projected time fits the budget is
used.  Certified means: every piece bound comes from HiGHS (or from the trivial per-sample bound
``min loss level``) and a safety margin of 1e-9 (1 + |bound|) per piece covers HiGHS's tolerances.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from qcbo_model.assemble import assemble

from .._util import progress_bar
from ..config import MethodConfig, option
from ..result import Termination, finish
from .milp import MILP

__all__ = ["BoundConfig", "run", "certify", "make_batches", "piece_problem", "piece_model", "trivial_bound"]

SAFETY = 1e-9


@dataclass(frozen=True)
class BoundConfig(MethodConfig):
    """Settings of the decomposed lower bound (``solve(prob, 'decomposed-bound', ...)``)."""

    batch_size: Any = option(None, "samples per piece (None: the largest that fits the time budget, measured)",
                             kind="int", min=1, allow_none=True)
    batch_sizes: tuple = option((1, 2, 4, 8, 16, 32, 64), "piece sizes tried when batch_size is None",
                                kind="floats", min=1, cli=False)
    dual_iterations: int = option(20, "subgradient rounds after lambda = 0 (each re-solves every piece)",
                                  kind="int", min=0)
    piece_time_limit: float = option(10.0, "seconds per piece solve (its HiGHS bound counts if not optimal)",
                                     kind="float", min=0, exclusive_min=True)
    time_limit: Any = option(60.0, "seconds for the whole bound (None: no limit)", kind="float", min=0,
                             exclusive_min=True, allow_none=True)
    threads: int = option(1, "HiGHS threads per piece", kind="int", min=1)
    seed: int = option(0, "seed of the batch split", kind="int", min=0)


def make_batches(N: int, size: int, seed: int = 0) -> list:
    perm = np.random.default_rng(seed).permutation(N)
    return [np.sort(perm[s:s + size]) for s in range(0, N, size)]


def piece_problem(prob, idx):
    """The QCBO of samples ``idx`` with the full set's FIP constants (objective: their mean)."""
    from ..methods.decomposition import subnetwork
    sub = subnetwork(prob.net, idx)
    return sub, assemble(sub, prob.form)


def piece_model(prob, idx):
    """The explicit Pyomo model of one piece (printable like the full one)."""
    from qcbo_model.pyomo_model import build_pyomo
    sub, _ = piece_problem(prob, idx)
    return build_pyomo(sub, prob.form)


def trivial_bound(prob, idx) -> float:
    """p_s x (the batch's mean of each sample's smallest loss level over the output sub-intervals): valid
    for any weights, needs no solve (constant-spline loss)."""
    coef = prob.net.objective_coefs()[idx]            # (n, d, K) already divided by N
    return float(coef.min(axis=2).sum())


class _Piece:
    def __init__(self, prob, idx):
        self.idx = idx
        self.p = len(idx) / prob.net.N
        _, self.q = piece_problem(prob, idx)
        self.milp = MILP(self.q)
        self.n_w = prob.n_weight_bits
        self.trivial = trivial_bound(prob, idx)

    def solve(self, lam, time_limit, threads):
        """(valid bound on V_s(lam), weight bits of the incumbent or None, optimal?)."""
        extra = None
        if lam is not None:
            extra = np.zeros(self.q.n)
            extra[:self.n_w] = lam / self.p
        self.milp.set_linear(extra)
        r = self.milp.solve(time_limit=time_limit, threads=threads)
        b = r.bound
        if lam is None:                      # the trivial bound holds without multipliers
            b = max(b, self.trivial / self.p) if np.isfinite(b) else self.trivial / self.p
        elif not np.isfinite(b):
            b = self.trivial / self.p + float(np.minimum(lam / self.p, 0).sum())
        b -= SAFETY * (1 + abs(b))
        w = None if r.x is None else r.x[:self.n_w].copy()
        return self.p * b, w, r.optimal


def _choose_size(prob, cfg, budget, t0):
    """The largest piece size whose projected time (measured on two pieces) fits ``budget`` seconds."""
    N = prob.net.N
    best, probes = None, []
    for b in sorted(int(x) for x in cfg.batch_sizes):
        if b > N:
            break
        batches = make_batches(N, b, cfg.seed)[:2]
        ts = time.perf_counter()
        for idx in batches:
            _Piece(prob, idx).solve(None, cfg.piece_time_limit, cfg.threads)
        per = (time.perf_counter() - ts) / len(batches)
        projected = per * (-(-N // b))
        probes.append({"batch_size": b, "seconds_per_piece": per, "projected_s": projected})
        if budget is not None and projected > budget - (time.perf_counter() - t0):
            break
        best = b
    return best, probes


def run(prob, cfg: BoundConfig, progress: bool = False, warm_start=None):
    t0 = time.perf_counter()
    net, N = prob.net, prob.net.N
    deadline = None if cfg.time_limit is None else t0 + cfg.time_limit
    probes = []
    size = cfg.batch_size
    if size is None:
        size, probes = _choose_size(prob, cfg, cfg.time_limit, t0)
    termination = Termination.iteration_limit
    trace, cand = [], []
    ub, ub_w = np.inf, None
    if warm_start is not None:
        ub_w = np.asarray(warm_start, np.uint8).reshape(-1)[:prob.n_weight_bits]
        ub = float(prob.qcbo.objective(prob.complete(ub_w[None]))[0])
    if size is None:                   # not even single samples fit: the trivial per-sample bound
        bound = sum(trivial_bound(prob, np.array([n])) for n in range(N)) - SAFETY
        trace.append({"round": 0, "bound": bound, "best_bound": bound, "upper": ub, "pieces_optimal": 0,
                      "n_pieces": N, "time_s": time.perf_counter() - t0})
        return finish("decomposed-bound", prob, None if ub_w is None else prob.complete(ub_w[None])[0],
                      Termination.time_limit, bound=bound, config=cfg, trace=trace,
                      wall_time_s=time.perf_counter() - t0,
                      info={"batch_size": None, "n_pieces": N, "certified": True, "probes": probes,
                            "bound_kind": "trivial (min loss level per sample)"})
    batches = make_batches(N, size, cfg.seed)
    S = len(batches)
    pieces, lam = [], None
    best_bound, best_round = -np.inf, 0
    theta, stale = 1.0, 0          # Polyak step factor; halved after 2 rounds without a better bound
    best_lam = None
    bar = progress_bar(total=(cfg.dual_iterations + 1) * S, desc="decomposed bound", enabled=progress, unit="piece")
    n_opt = 0
    try:
        for rnd in range(cfg.dual_iterations + 1):
            vals, W, n_opt, complete_round = np.zeros(S), [None] * S, 0, True
            for s, idx in enumerate(batches):
                left = None if deadline is None else deadline - time.perf_counter()
                if left is not None and left <= 0:
                    if rnd == 0:              # out of time: the rest of round 0 takes the trivial bound
                        pieces.append(None)
                        vals[s] = trivial_bound(prob, idx) - SAFETY
                        continue
                    complete_round = False    # a partial later round is no bound
                    break
                if rnd == 0:
                    pieces.append(_Piece(prob, idx))
                tl = cfg.piece_time_limit if left is None else max(1e-3, min(cfg.piece_time_limit, left))
                v, w, opt = pieces[s].solve(None if lam is None else lam[s], tl, cfg.threads)
                vals[s], W[s] = v, w
                n_opt += int(opt)
                bar.update(1)
            if not complete_round:
                termination = Termination.time_limit
                break
            done = all(p is not None for p in pieces)
            L = float(vals.sum())
            if L > best_bound + 1e-12:
                best_bound, best_round, stale = L, rnd, 0
                best_lam = None if lam is None else lam.copy()
            else:
                stale += 1
                if stale >= 2:
                    theta, stale = theta / 2, 0
            ws = [w for w in W if w is not None]
            if ws:
                X = prob.complete(np.asarray(ws))
                obj = prob.qcbo.objective(X)
                i = int(np.argmin(obj))
                if obj[i] < ub:
                    ub, ub_w = float(obj[i]), X[i, :prob.n_weight_bits].copy()
            trace.append({"round": rnd, "bound": L, "best_bound": best_bound, "upper": ub,
                          "pieces_optimal": n_opt, "n_pieces": S, "time_s": time.perf_counter() - t0})
            if not done:
                termination = Termination.time_limit
                break
            if rnd == cfg.dual_iterations or any(w is None for w in W) or not np.isfinite(ub):
                break
            # projected subgradient with a Polyak step towards the upper bound
            G = np.asarray(W, float)
            G = G - G.mean(axis=0, keepdims=True)
            nrm = float((G * G).sum())
            if nrm == 0:                      # every piece chose the same weights: L = that point's objective
                termination = Termination.optimal if best_bound >= ub - 1e-9 * (1 + abs(ub)) else termination
                break
            # step from the best multipliers so far (a bad step is not compounded)
            base = best_lam if best_lam is not None else np.zeros_like(G)
            Lb = best_bound
            if rnd != best_round:             # G belongs to the current lambda: step from there
                base, Lb = (np.zeros_like(G) if lam is None else lam), L
            step = theta * (ub - Lb) / nrm
            lam = base + step * G
            if deadline is not None and time.perf_counter() > deadline:
                termination = Termination.time_limit
                break
    except KeyboardInterrupt:
        termination = Termination.interrupted
    finally:
        bar.close()
    x = None if ub_w is None else prob.complete(ub_w[None])[0]
    if np.isfinite(best_bound) and x is not None and best_bound >= ub - 1e-9 * (1 + abs(ub)):
        termination = Termination.optimal
    return finish("decomposed-bound", prob, x, termination, bound=best_bound if np.isfinite(best_bound) else None,
                  config=cfg, trace=trace, wall_time_s=time.perf_counter() - t0,
                  info={"batch_size": size, "n_pieces": S, "certified": bool(np.isfinite(best_bound)),
                        "best_round": best_round, "pieces_optimal_last_round": n_opt, "probes": probes,
                        "bound_kind": "Lagrangian decomposition over sample batches (HiGHS per piece)"})


def certify(prob, result, fraction: float | None = 0.5, min_seconds: float = 1.0, seed: int = 0,
            time_limit: float | None = None) -> dict:
    """A certified lower bound and gap for a solver's result on ``prob``.

    Exact methods keep their own bound; otherwise the decomposed bound runs for ``time_limit`` seconds
    (default: ``fraction`` x the result's wall time, at least ``min_seconds``) with the result's point as
    the reference upper bound.  Returns {lower_bound, lower_bound_certified, gap, bound_method,
    bound_time_s, bound_trace, bound_batch_size}; gap = (objective - lower) / max(|objective|, 1e-10)."""
    from ..result import relative_gap
    out = {"lower_bound": None, "lower_bound_certified": False, "gap": None, "bound_method": None,
           "bound_time_s": 0.0, "bound_trace": [], "bound_batch_size": None}
    if result.x is None:
        return out
    if result.bound is not None and result.method in ("highs", "exhaustive", "decomposed-bound", "qph"):
        out.update(lower_bound=result.bound, lower_bound_certified=True, bound_method=result.method,
                   gap=relative_gap(result.objective, result.bound))
        return out
    if time_limit is None:
        if fraction is None:
            return out
        time_limit = max(min_seconds, fraction * result.wall_time_s)
    cfg = BoundConfig(time_limit=float(time_limit), seed=seed)
    b = run(prob, cfg, warm_start=result.x[:prob.n_weight_bits])
    lower = b.bound
    out.update(lower_bound=lower, lower_bound_certified=bool(b.info["certified"] and lower is not None),
               gap=relative_gap(result.objective, lower), bound_method="decomposed-bound",
               bound_time_s=b.wall_time_s, bound_trace=b.trace, bound_batch_size=b.info["batch_size"],
               bound_best_objective=b.objective)
    return out
