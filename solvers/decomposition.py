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
(``baselines.sa_weights``); the QCGD/CIM route can replace it through ``sub_solver``.
"""
from __future__ import annotations

import copy
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from qcbo_model.errors import QCBOError
from qcbo_model.fip import FIPNetwork
from qcbo_model.forward import codes_from_bits, fip_forward
from qcbo_model.layout import Layout


class DecompositionError(QCBOError):
    """Bad decomposition settings (batch size, rho, workers)."""


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
    from solvers.baselines import sa_weights
    r = sa_weights(_NetProblem(net, form), n_sweeps=sweeps, n_reads=reads, seed=seed, linear=lin,
                   init_bits=init, T0=T0, T1=T1)
    return r.wbits, r.objective


@dataclass
class PHResult:
    x: np.ndarray                       # full feasible assignment of the full problem
    wbits: np.ndarray
    objective: float                    # QCBO objective of the full problem at x
    iterations: int
    converged: bool                     # all batch copies agreed on every weight bit
    disagreement: list = field(default_factory=list)   # fraction of bits not in consensus per iteration
    trace: list = field(default_factory=list)          # full objective of the consensus point per iteration
    wall_time_s: float = 0.0
    n_batches: int = 0
    info: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"objective": self.objective, "iterations": self.iterations, "converged": self.converged,
                "disagreement": self.disagreement, "trace": self.trace, "wall_time_s": self.wall_time_s,
                "n_batches": self.n_batches, "info": self.info}


def progressive_hedging(prob, batch_size: int = 64, rho: float | None = None, max_iter: int = 10,
                        sweeps: int = 60, reads: int = 8, seed: int = 0, workers: int = 2,
                        rho_growth: float = 1.5, progress: bool = False) -> PHResult:
    """PH over sample batches of ``prob`` (a FIPProblem). Returns the best consensus/batch point found.

    rho (default: 1/N_batch-scale, i.e. 1 / batch_size) multiplies the quadratic proximal term and grows
    by ``rho_growth`` per iteration so that the binary copies are forced to agree. At every iteration
    the rounded consensus w_bar and each batch solution are scored on the full problem and the best kept.
    """
    if batch_size < 1 or max_iter < 1 or workers < 1:
        raise DecompositionError("batch_size, max_iter and workers must be >= 1")
    t0 = time.perf_counter()
    net, N, n_w = prob.net, prob.net.N, prob.n_weight_bits
    rng = np.random.default_rng(seed)
    perm = rng.permutation(N)
    batches = [perm[s:s + batch_size] for s in range(0, N, batch_size)]
    S = len(batches)
    p = np.array([len(b) for b in batches], float) / N
    subs = [subnetwork(net, b) for b in batches]
    rho = (1.0 / batch_size) if rho is None else float(rho)
    lam = np.zeros((S, n_w))
    W = np.zeros((S, n_w))
    best_obj, best_w, trace, dis = np.inf, None, [], []
    pool = ProcessPoolExecutor(max_workers=workers) if workers > 1 and S > 1 else None
    it = range(max_iter)
    if progress:
        from tqdm import tqdm
        it = tqdm(it, desc="progressive hedging", unit="iter")
    converged, k = False, 0
    try:
        for k in it:
            wbar = p @ W if k > 0 else None
            tasks = []
            for s in range(S):
                if k == 0:
                    lin, init, T0, T1 = None, None, None, None
                else:
                    lin = lam[s] + 0.5 * rho * (1.0 - 2.0 * wbar)
                    init, T0, T1 = W[s].astype(np.uint8), None, None
                tasks.append((subs[s], prob.form, lin, init, sweeps, reads,
                              int(rng.integers(2 ** 31)), T0, T1))
            results = list(pool.map(_sa_task, tasks)) if pool else [_sa_task(t) for t in tasks]
            W = np.array([r[0] for r in results], float)
            wbar = p @ W
            lam += rho * (W - wbar)
            rho *= rho_growth
            cands = np.concatenate([(wbar >= 0.5)[None].astype(np.uint8), W.astype(np.uint8)])
            loss = fip_forward(net, codes_from_bits(net, cands)).loss
            i = int(np.argmin(loss))
            if loss[i] < best_obj:
                best_obj, best_w = float(loss[i]), cands[i]
            trace.append(float(loss[0]))
            d = float(np.mean((W != W[0]).any(axis=0)))
            dis.append(d)
            if d == 0.0:
                converged = True
                break
    finally:
        if pool:
            pool.shutdown()
    x = prob.complete(best_w[None])[0]
    obj = float(prob.qcbo.objective(x[None])[0])
    return PHResult(x=x, wbits=best_w, objective=obj, iterations=k + 1, converged=converged, disagreement=dis,
                    trace=trace, wall_time_s=time.perf_counter() - t0, n_batches=S,
                    info={"batch_size": batch_size, "rho_final": rho, "sweeps": sweeps, "reads": reads,
                          "workers": workers, "sub_solver": "sa-weights + PH linear terms"})
