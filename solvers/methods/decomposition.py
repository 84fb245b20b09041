"""Sample-wise decomposition with progressive hedging (PH) consensus on the shared weight bits.

The FIP-QCBO is separable over samples once the weight bits are fixed: its objective is
sum_s p_s f_s(w, delta_s), p_s = N_s / N, with every constraint inside one batch s.  PH gives each batch
its own copy w_s of the weight bits and drives them to consensus with the penalty

    lambda_s^T w_s + rho/2 ||w_s - w_bar||^2  =  (lambda_s + rho/2 (1 - 2 w_bar))^T w_s + const

which is *linear* because w_s is binary (w^2 = w): each subproblem stays a QCBO (QUBO after lifting)
of the same size class, for the same oracle.  Subproblems are independent and run in processes.

All batches share the FIP constants of the full training set (sliced, not recomputed), so a weight
bit means the same thing in every subproblem and the subproblem objectives add up to the full one.
The subproblem solver is simulated annealing on the weight bits with the PH linear terms
(``solvers.baselines.sa_weights.anneal_weights``).
"""
from __future__ import annotations

import copy
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from qcbo_model.fip import FIPNetwork
from qcbo_model.forward import codes_from_bits, fip_forward
from qcbo_model.layout import Layout

from .._util import progress_bar
from ..config import MethodConfig, option
from ..result import Termination, finish

__all__ = ["PHConfig", "run", "subnetwork"]


@dataclass(frozen=True)
class PHConfig(MethodConfig):
    """Settings of progressive hedging over sample batches (``solve(prob, 'progressive-hedging', ...)``)."""

    batch_size: int = option(64, "samples per batch (one subproblem each)", kind="int", min=1)
    rho: Any = option(None, "proximal weight (None: 1 / batch_size)", kind="float", min=0, exclusive_min=True,
                      allow_none=True)
    rho_growth: float = option(1.5, "rho multiplier per iteration", kind="float", min=1.0)
    max_iter: int = option(10, "PH iterations", kind="int", min=1)
    sweeps: int = option(60, "SA sweeps per subproblem solve", kind="int", min=1)
    reads: int = option(8, "SA reads per subproblem solve", kind="int", min=1)
    workers: int = option(2, "processes for the subproblems", kind="int", min=1)
    time_limit: Any = option(None, "seconds (None: no limit; checked between iterations)", kind="float", min=0,
                             exclusive_min=True, allow_none=True)
    seed: int = option(0, "seed of the batch split and the subproblem solves", kind="int", min=0)


def subnetwork(net: FIPNetwork, idx) -> FIPNetwork:
    """The FIP network restricted to samples ``idx`` with the full set's constants (bounds, breakpoints)."""
    idx = np.asarray(idx)
    sub = copy.copy(net)
    sub.X, sub.Y, sub.v_in = net.X[idx], net.Y[idx], net.v_in[idx]
    sub.N = len(idx)
    sub.layers = []
    for ly in net.layers:
        s = copy.copy(ly)
        s.u_lo_sample, s.u_hi_sample = ly.u_lo_sample[idx], ly.u_hi_sample[idx]
        sub.layers.append(s)
    return sub


class _NetProblem:
    """The minimal problem interface sa_weights needs, without assembling a QCBO per batch."""

    def __init__(self, net, form="interval"):
        from qcbo_model.assemble import assemble
        self.net, self.form = net, form
        self.layout = Layout(net, form)
        self.n_weight_bits = self.layout.n_weight_bits
        self.qcbo = assemble(net, form)

    def complete(self, wbits):
        from qcbo_model.forward import forward_completion
        return forward_completion(self.net, wbits, self.form, self.layout)


def _sa_task(args):
    net, form, lin, init, sweeps, reads, seed, T0, T1 = args
    from ..baselines.sa_weights import anneal_weights
    wb, fl, _, _, _ = anneal_weights(_NetProblem(net, form), n_sweeps=sweeps, n_reads=reads, seed=seed, linear=lin,
                                     init_bits=init, T0=T0, T1=T1)
    return wb, fl


def run(prob, cfg: PHConfig, progress: bool = False):
    """PH over sample batches of ``prob`` (a FIPProblem); the best consensus/batch point found.

    rho (default 1 / batch_size) multiplies the quadratic proximal term and grows by ``rho_growth`` per
    iteration so that the binary copies are forced to agree.  At every iteration the rounded consensus
    w_bar and each batch solution are scored on the full problem and the best kept."""
    t0 = time.perf_counter()
    batch_size, max_iter, sweeps, reads, workers = cfg.batch_size, cfg.max_iter, cfg.sweeps, cfg.reads, cfg.workers
    net, N, n_w = prob.net, prob.net.N, prob.n_weight_bits
    rng = np.random.default_rng(cfg.seed)
    perm = rng.permutation(N)
    batches = [perm[s:s + batch_size] for s in range(0, N, batch_size)]
    S = len(batches)
    p = np.array([len(b) for b in batches], float) / N
    subs = [subnetwork(net, b) for b in batches]
    rho = (1.0 / batch_size) if cfg.rho is None else cfg.rho
    lam = np.zeros((S, n_w))
    W = np.zeros((S, n_w))
    best_obj, best_w, trace, dis = np.inf, None, [], []
    pool = ProcessPoolExecutor(max_workers=workers) if workers > 1 and S > 1 else None
    bar = progress_bar(range(max_iter), desc="progressive hedging", enabled=progress, unit="iter")
    termination, k = Termination.iteration_limit, 0
    try:
        for k in bar:
            if cfg.time_limit is not None and k and time.perf_counter() - t0 > cfg.time_limit:
                termination = Termination.time_limit
                break
            wbar = p @ W if k > 0 else None
            tasks = []
            for s in range(S):
                if k == 0:
                    lin, init = None, None
                else:
                    lin = lam[s] + 0.5 * rho * (1.0 - 2.0 * wbar)
                    init = W[s].astype(np.uint8)
                tasks.append((subs[s], prob.form, lin, init, sweeps, reads, int(rng.integers(2 ** 31)), None, None))
            results = list(pool.map(_sa_task, tasks)) if pool else [_sa_task(t) for t in tasks]
            W = np.array([r[0] for r in results], float)
            wbar = p @ W
            lam += rho * (W - wbar)
            rho *= cfg.rho_growth
            cands = np.concatenate([(wbar >= 0.5)[None].astype(np.uint8), W.astype(np.uint8)])
            loss = fip_forward(net, codes_from_bits(net, cands)).loss
            i = int(np.argmin(loss))
            if loss[i] < best_obj:
                best_obj, best_w = float(loss[i]), cands[i]
            d = float(np.mean((W != W[0]).any(axis=0)))
            trace.append({"iteration": k, "consensus_objective": float(loss[0]), "best": best_obj,
                          "disagreement": d, "time_s": time.perf_counter() - t0})
            dis.append(d)
            if d == 0.0:
                termination = Termination.converged
                break
    except KeyboardInterrupt:
        termination = Termination.interrupted
    finally:
        bar.close()
        if pool:
            pool.shutdown()
    x = None if best_w is None else prob.complete(best_w[None])[0]
    return finish("progressive-hedging", prob, x, termination, config=cfg, trace=trace,
                  wall_time_s=time.perf_counter() - t0,
                  info={"iterations": len(trace), "n_batches": S, "rho_final": rho, "disagreement": dis,
                        "sub_solver": "sa-weights + PH linear terms"})
