"""Monolithic QCGD: CGAL over the lift W in conv{v v^T} of the whole QCBO (method ``qcgd-monolithic``).

The first QCGD of the package, kept as the baseline of the ablations (docs/qcgd_results.md): on FIP
problems its oracle is idle (uniform random samples tie it), because the lifted FIP constraints make
every atom infeasible and the work is done by forward completion.  It also solves generic QCBOs.


Phases (all candidates are mapped to feasible points before they count):

1. CGAL (``iterations``): beta_t = beta0 sqrt(t+1), eta_t = 2/(t+1); residual r = s(W) - proj(s(W) + y/beta)
   onto the row targets; LMO = one QUBO  min_x f(x) + sum_r (y_r + beta_t r_r) s_r(x)  solved by the
   oracle; W <- (1-eta) W + eta v v^T through the tracked values s(W), f(W), E[x] (W is never stored);
   y <- y + gamma r (gamma = beta0, |y| capped).  Exact lift (default): linear equalities enter as
   (a^T x - b)^2 and nonneg rows as they are, so the LMO is an adaptively weighted penalty QUBO.
2. Large-neighbourhood search (``lns_steps``): pick a neuron where the mixture marginals E[x] disagree
   with the incumbent, free a random sub-block (<= ``lns_block``) of its weight bits, let the oracle
   solve a QUBO over the block, and keep the best completed sample.  ``lns_mode='target'`` (default):
   an unconstrained weighted binary least-squares QUBO fitting the neuron's pre-activations to
   per-sample targets read from the FIP loss tables (``target_qubo``; constraints stay out of the QUBO,
   forward completion keeps candidates feasible).  ``lns_mode='penalty'``: the QCBO restricted to the
   block and the bits it drives (``lift.restricted_penalty``), constraints weighted by the CGAL
   multipliers with an adaptive floor starting at ``lns_lambda`` (doubles while the oracle's best sample
   violates the QCBO, shrinks by 0.8 otherwise).  Generic QCBOs always use the penalty mode on a random
   block of variables.
3. Single-flip local search on the weight bits (``local_search``) through forward completion.

Candidates: every oracle sample, the rounding of E[x] and randomized roundings of it.  For a FIP
problem each candidate's weight bits are completed (``prob.complete``), so every candidate is feasible;
for a generic QCBO a candidate counts only if ``qcbo.is_feasible``.  ``best_from`` records the source.

Bound: none by default.  The CGAL relaxation value is not a certified bound.  With ``bound=True`` and
the exact oracle, min_x L(x, y) for the final multipliers (a Lagrangian dual value, all lifted rows
are >= 0 or two-sided) is reported; it is a valid lower bound only because the oracle is exact.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._util import progress_bar
from ..compile.lift import LiftedRows, restricted_penalty
from ..config import ConfigError, MethodConfig, check_oracle, oracle_name, option
from ..ising.problems import QUBO
from ..ising.registry import get_oracle
from ..result import Termination, finish

__all__ = ["MonolithicQCGDConfig", "Candidates", "run", "target_qubo"]


@dataclass(frozen=True)
class MonolithicQCGDConfig(MethodConfig):
    """Settings of the monolithic QCGD (``solve(problem, 'qcgd-monolithic', ...)``; module docstring)."""

    oracle: Any = option("sa", "Ising oracle for the LMO and LNS QUBOs (registered name or Oracle)", kind="any")
    oracle_options: dict = option({}, "options for the oracle's constructor", kind="dict", cli=False)
    iterations: int = option(60, "CGAL iterations (one oracle call each)", kind="int", min=1)
    beta0: float = option(1.0, "initial augmented-Lagrangian weight", kind="float", min=0, exclusive_min=True)
    reads: int = option(8, "oracle reads per call", kind="int", min=1)
    exact_lift: bool = option(True, "lift linear equalities as squares (atoms of a feasible mixture are feasible)",
                              kind="bool")
    roundings: int = option(8, "randomized roundings of E[x] per iteration", kind="int", min=0)
    lns_steps: int = option(30, "large-neighbourhood steps after CGAL (one oracle call each)", kind="int", min=0)
    lns_block: int = option(12, "weight bits freed per LNS step", kind="int", min=1)
    lns_reads: Any = option(None, "reads per LNS call (None: reads)", kind="int", min=1, allow_none=True)
    lns_lambda: float = option(2.0, "initial penalty floor of penalty-mode LNS", kind="float", min=0,
                               exclusive_min=True)
    lns_slack_bits: int = option(3, "slack bits per inequality in penalty-mode LNS", kind="int", min=1)
    lns_mode: str = option("target", "LNS QUBO: target-propagation least squares or restricted penalty",
                           kind="str", choices=("target", "penalty"))
    local_search: bool = option(True, "single-flip local search on the weight bits at the end", kind="bool")
    dual_cap: float = option(1e4, "cap on the multipliers' norm", kind="float", min=0, exclusive_min=True)
    bound: bool = option(False, "Lagrangian dual bound (needs oracle='exact')", kind="bool")
    time_limit: Any = option(None, "seconds (None: no limit)", kind="float", min=0, exclusive_min=True,
                             allow_none=True)
    seed: int = option(0, "seed of the roundings, blocks and oracle calls", kind="int", min=0)

    def __post_init__(self):
        super().__post_init__()
        check_oracle(type(self).__name__, self.oracle)
        if self.bound and oracle_name(self.oracle) != "exact":
            raise ConfigError("QCGDConfig.bound=True needs oracle='exact': a heuristic LMO gives no valid bound")


class Candidates:
    """Feasible-point bookkeeping: completion (FIP) or feasibility check (generic QCBO)."""

    def __init__(self, qcbo, prob=None):
        self.qcbo, self.prob = qcbo, prob
        self.n_w = prob.n_weight_bits if prob is not None else qcbo.n
        self.best_obj, self.best_x, self.best_from = np.inf, None, None
        self.count = 0
        self.sources = {}

    def offer(self, X, source: str) -> np.ndarray:
        """Evaluate rows X (full x or weight bits); return their objectives (inf where infeasible)."""
        X = np.asarray(X)
        if X.ndim == 1:
            X = X[None]
        if X.shape[0] == 0:
            return np.zeros(0)
        if self.prob is not None:
            X = self.prob.complete(X[:, :self.n_w])
            obj = self.qcbo.objective(X)
        else:
            X = X.astype(np.uint8)
            obj = np.where(self.qcbo.is_feasible(X), self.qcbo.objective(X), np.inf)
        self.count += X.shape[0]
        i = int(np.argmin(obj))
        self.sources[source] = min(self.sources.get(source, np.inf), float(obj[i]))
        if obj[i] < self.best_obj - 1e-12:
            self.best_obj, self.best_x, self.best_from = float(obj[i]), X[i].copy(), source
        return obj


def _finite(v):
    """None for +-inf/NaN so that traces stay valid JSON."""
    return float(v) if np.isfinite(v) else None


def _proj(z, lo, hi):
    return np.clip(z, lo, hi)


def _max_abs(qubo) -> float:
    Q = qubo.Q
    return float(np.abs(Q.data if hasattr(Q, "tocoo") else Q).max(initial=0.0))


def _neuron_blocks(prob):
    """[(layer, j, weight-bit indices, driven non-weight indices)] for the LNS."""
    lay = prob.layout
    out = []
    layers = sorted(lay.w)
    for l in layers:
        later = [a.ravel() for d in (lay.delta, lay.slack, lay.aux) for ll, a in d.items() if ll > l]
        for j in range(lay.w[l].shape[0]):
            own = [lay.delta[l][:, j].ravel()]
            if l in lay.slack:
                own.append(lay.slack[l][:, j].ravel())
            if l in lay.aux:
                own.append(lay.aux[l][:, j].ravel())
            out.append((l, j, lay.w[l][j].ravel(), np.concatenate(own + later)))
    return out


def _forced_losses(net, codes, l: int, j: int):
    """(N, K_l) per-sample spline loss when neuron j of layer l is forced into interval k (the rest of
    the network unchanged), and the current pre-activation u (N,) of that neuron."""
    from qcbo_model.forward import _layer_u
    v = net.v_in
    u_cur = None
    for ly, q in zip(net.layers, codes):
        u = _layer_u(ly, q, v)
        k = net.interval_index(ly.l, u)
        if ly.l == l:
            u_cur = u[0, :, j].copy()
            k = np.repeat(k, ly.K, axis=0)
            k[:, :, j] = np.arange(ly.K)[:, None]
            u = np.repeat(u, ly.K, axis=0)
        elif ly.l > l:
            pass
        if not ly.is_output:
            v = np.take_along_axis(np.broadcast_to(ly.v_levels, u.shape + (ly.K,)), k[..., None], axis=-1)[..., 0]
    out = net.layers[-1]
    dd = np.arange(out.d_out)[None, None, :]
    yi = net.y_index[None]
    lv = out.loss_levels[dd, k, yi]
    if out.loss_slopes is not None:
        lv = lv + out.loss_slopes[dd, k, yi] * (u - out.t[dd, k])
    return lv.sum(axis=2).T, u_cur


def target_qubo(prob, inc_bits, l: int, j: int, wb, margin: float = 0.25, local: bool = True):
    """Unconstrained QUBO over the weight bits ``wb`` of neuron (l, j): a weighted binary least-squares
    fit of the neuron's pre-activations to per-sample targets (target propagation through the FIP
    tables).  For every sample n: L[n, k] = loss with the neuron forced into interval k; target u*_n =
    the current u projected (``margin`` of a width inside) into the best interval among the current
    one and its neighbours (``local``; all K intervals otherwise); weight c_n = the spread of L over
    those candidates.  E(b) = sum_n c_n (u_n(b) - u*_n)^2 / s^2, u_n affine in the bits."""
    from qcbo_model.forward import codes_from_bits, fip_forward
    net = prob.net
    ly = net.layers[l - 1]
    codes = codes_from_bits(net, inc_bits[None])
    L, u_cur = _forced_losses(net, codes, l, j)
    N, K = L.shape
    kc = net.interval_index(l, u_cur[:, None] * np.ones((1, ly.d_out)))[:, j]
    if local:      # one interval step at most: targets the linear map can meet together
        cand_k = np.clip(kc[:, None] + np.array([-1, 0, 1])[None, :], 0, K - 1)
    else:
        cand_k = np.repeat(np.arange(K)[None], N, axis=0)
    Lc = np.take_along_axis(L, cand_k, axis=1)
    kbest = cand_k[np.arange(N), np.argmin(Lc, axis=1)]
    t = ly.t[j]
    width = np.diff(t)
    lo = t[kbest] + margin * width[kbest]
    hi = t[kbest + 1] - margin * width[kbest]
    target = np.clip(u_cur, lo, hi)
    c = Lc.max(axis=1) - Lc.min(axis=1)
    # u(b) affine in the block bits: one batched forward with the block zeroed and each bit alone
    nb = len(wb)
    B = np.repeat(inc_bits[None], nb + 1, axis=0)
    B[:, wb] = 0
    B[np.arange(1, nb + 1), wb] = 1
    U = fip_forward(net, codes_from_bits(net, B)).u[l - 1][:, :, j]      # (nb+1, N)
    u0, D = U[0], (U[1:] - U[0]).T                                       # (N,), (N, nb)
    s2 = float(np.mean(width)) ** 2
    Cw = c / s2
    r0 = u0 - target
    Q = D.T @ (Cw[:, None] * D)
    lin = 2.0 * D.T @ (Cw * r0)
    Qm = np.triu(Q, 1) * 2.0 + np.diag(np.diag(Q) + lin)
    return QUBO(Qm, float(np.sum(Cw * r0 ** 2)))


def run(problem, cfg: MonolithicQCGDConfig, progress: bool = False):
    """QCGD on a FIPProblem (``.qcbo``, ``.complete``) or on a bare QCBO; a SolveResult (module docstring)."""
    iterations, beta0, reads, roundings = cfg.iterations, cfg.beta0, cfg.reads, cfg.roundings
    lns_steps, lns_block, lns_reads, lns_lambda = cfg.lns_steps, cfg.lns_block, cfg.lns_reads, cfg.lns_lambda
    lns_slack_bits, lns_mode, dual_cap, seed = cfg.lns_slack_bits, cfg.lns_mode, cfg.dual_cap, cfg.seed
    t_start = time.perf_counter()
    prob = problem if hasattr(problem, "complete") else None
    q = problem.qcbo if prob is not None else problem
    orc = get_oracle(cfg.oracle, **cfg.oracle_options)
    lift = LiftedRows.build(q, square_equalities=cfg.exact_lift)
    cand = Candidates(q, prob)
    ss_rng, ss_oracle = np.random.SeedSequence(seed).spawn(2)
    rng = np.random.default_rng(ss_rng)
    seed_stream = np.random.default_rng(ss_oracle)      # one derived seed per oracle call

    def oseed():
        return int(seed_stream.integers(2 ** 63 - 1))

    m = lift.m
    y = np.zeros(m)
    z = np.zeros(m)        # s(W)
    f = 0.0                # <Qhat, W> (scaled objective)
    mx = np.zeros(q.n)     # E[x]
    trace, calls = [], 0
    beta = beta0
    deadline = None if cfg.time_limit is None else t_start + cfg.time_limit
    bar = progress_bar(total=iterations + lns_steps, desc=f"qcgd ({orc.name})", enabled=progress)
    t_done = 0
    termination = Termination.iteration_limit
    try:
        for t in range(1, iterations + 1):
            beta = beta0 * np.sqrt(t + 1)
            r = np.zeros(m) if t == 1 else z - _proj(z + y / beta, lift.lo, lift.hi)
            w = y + beta * r
            Qt = lift.lagrangian_qubo(w)
            S = orc.sample(Qt, num_reads=reads, seed=oseed())
            calls += 1
            E = S.energies
            b = int(np.argmin(E))
            v = S.samples[b].astype(float)
            eta = 2.0 / (t + 1)
            sv = lift.values(v[None])[0]
            z = (1 - eta) * z + eta * sv
            f = (1 - eta) * f + eta * float(lift.objective(v[None])[0])
            mx = (1 - eta) * mx + eta * v
            # dual step (CGAL), capped so the multipliers stay bounded
            rr = z - _proj(z + y / beta0, lift.lo, lift.hi)
            y_new = y + beta0 * rr
            if np.linalg.norm(y_new) <= dual_cap:
                y = y_new
            # candidates
            cand.offer(S.samples, "oracle")
            cand.offer((mx > 0.5).astype(np.uint8)[None], "rounding")
            if roundings:
                cand.offer((rng.random((roundings, q.n)) < mx).astype(np.uint8), "randomized_rounding")
            infeas = float(np.linalg.norm(z - _proj(z, lift.lo, lift.hi)))
            trace.append(dict(iteration=t, phase="cgal", relaxation=f * lift.obj_scale, infeasibility=infeas,
                              dual_norm=float(np.linalg.norm(y)), max_abs_G=_max_abs(Qt),
                              oracle_energy=float(E[b]), best_feasible=_finite(cand.best_obj), candidates=cand.count,
                              time_s=time.perf_counter() - t_start, oracle_calls=calls))
            t_done = t
            bar.update(1)
            if deadline is not None and time.perf_counter() > deadline:
                break

        # ---- large-neighbourhood search steered by the mixture marginals
        if lns_steps and cand.best_x is not None:
            blocks = _neuron_blocks(prob) if prob is not None else None
            has_dual = lift.kind != "interval"
            lam_lns = lns_lambda
            for s in range(lns_steps):
                if deadline is not None and time.perf_counter() > deadline:
                    break
                inc = cand.best_x
                score = 0.05 + np.abs(mx - inc)                       # where the mixture disagrees
                ok = None
                if blocks is not None:
                    bw = np.array([score[bl[2]].sum() for bl in blocks])
                    k = rng.choice(len(blocks), p=bw / bw.sum())
                    l_b, j_b, wb, driven = blocks[k]
                    if lns_mode == "target":
                        if len(wb) > lns_block:     # a random sub-block keeps successive QUBOs different
                            wb = np.sort(rng.choice(wb, lns_block, replace=False, p=score[wb] / score[wb].sum()))
                        Qs = target_qubo(prob, inc[:cand.n_w].copy(), l_b, j_b, wb)
                        S = orc.sample(Qs, num_reads=lns_reads or reads, seed=oseed())
                        calls += 1
                        X = np.repeat(inc[None, :cand.n_w], S.num_reads, axis=0)
                        X[:, wb] = S.samples
                        cand.offer(X, "lns")
                        nz = len(wb)
                    if len(wb) > lns_block and lns_mode == "penalty":
                        wb = np.sort(rng.choice(wb, lns_block, replace=False, p=score[wb] / score[wb].sum()))
                    free = np.concatenate([wb, driven])
                else:
                    nb = min(lns_block, q.n)
                    free = np.sort(rng.choice(q.n, nb, replace=False, p=score / score.sum()))
                if blocks is None or lns_mode == "penalty":
                    parts = restricted_penalty(q, free, inc, slack_bits=lns_slack_bits)
                    lam = np.full(len(parts.rows), lam_lns)
                    dual_w = np.where(has_dual, y + beta * np.maximum(z - _proj(z, lift.lo, lift.hi), 0), 0.0)
                    lam = np.maximum(lam, dual_w[parts.rows])
                    Qs = parts.qubo(lam, nn_weight=max(lam_lns, float(dual_w[parts.nn_rows].max(initial=0.0))))
                    S = orc.sample(Qs, num_reads=lns_reads or reads, seed=oseed())
                    calls += 1
                    X = parts.expand(S.samples, inc)
                    # adaptive weight: raise it while the oracle's best sample violates the QCBO as decoded
                    # (before any completion), relax it slowly otherwise
                    ok = bool(q.is_feasible(X[[S.best_index]])[0])
                    lam_lns = lam_lns * 0.8 if ok else lam_lns * 2.0
                    lam_lns = float(np.clip(lam_lns, lns_lambda, 1e4 * lns_lambda))
                    cand.offer(X, "lns")
                    nz = parts.nz
                trace.append(dict(iteration=t_done + s + 1, phase="lns", relaxation=f * lift.obj_scale,
                                  infeasibility=float(np.linalg.norm(z - _proj(z, lift.lo, lift.hi))),
                                  dual_norm=float(np.linalg.norm(y)), max_abs_G=_max_abs(Qs),
                                  oracle_energy=float(S.best_energy), best_feasible=_finite(cand.best_obj),
                                  candidates=cand.count, time_s=time.perf_counter() - t_start, oracle_calls=calls,
                                  qubo_size=int(nz), lns_lambda=lam_lns, sample_feasible=ok))
                bar.update(1)
    except KeyboardInterrupt:
        termination = Termination.interrupted
    finally:
        bar.close()
    if deadline is not None and time.perf_counter() > deadline:
        termination = Termination.time_limit

    # ---- single-flip local search on the weight bits (completion keeps it feasible)
    if cfg.local_search and cand.best_x is not None and termination != Termination.interrupted:
        n_w = cand.n_w
        for _ in range(50):
            if deadline is not None and time.perf_counter() > deadline:
                break
            before = cand.best_obj
            base = cand.best_x[:n_w]
            X = np.repeat(base[None], n_w, axis=0)
            X[np.arange(n_w), np.arange(n_w)] ^= 1
            cand.offer(X, "local_search")
            if cand.best_obj >= before - 1e-12:
                break
        trace.append(dict(iteration=len(trace) + 1, phase="local_search", best_feasible=_finite(cand.best_obj),
                          candidates=cand.count, time_s=time.perf_counter() - t_start, oracle_calls=calls))

    lb = None
    if cfg.bound and termination != Termination.interrupted:
        # Lagrangian dual value: every lifted row is >= 0 with target 0 (exact lift) or two-sided, so
        # for y >= 0 on the target-zero rows L(x, y) <= f(x) on feasible x.
        yb = np.where(lift.is_target_zero, np.maximum(y, 0), 0.0)
        if np.all(lift.is_target_zero):
            Sb = orc.sample(lift.lagrangian_qubo(yb), num_reads=1)
            calls += 1
            lb = float(Sb.best_energy) * lift.obj_scale
    infeas = float(np.linalg.norm(z - _proj(z, lift.lo, lift.hi)))
    if cand.best_x is None:
        termination = Termination.infeasible
    elif lb is not None and cand.best_obj <= lb + 1e-9 * max(1.0, abs(lb)):
        termination = Termination.optimal
    return finish("qcgd-monolithic", problem, cand.best_x, termination, bound=lb, config=cfg, trace=trace,
                  wall_time_s=time.perf_counter() - t_start, oracle=orc.name, oracle_calls=calls,
                  info={"best_from": cand.best_from, "candidates": cand.count, "iterations": t_done,
                        "infeasibility": infeas, "sources": cand.sources})
