"""Ising-oracle trust-region descent over the weight bits (the QUBO size does not grow with N).

At the incumbent bits w0 the training loss of the quantized network (exact activations) is replaced by
its Gauss-Newton model in the real codes q = q0 + A w (``code_map``):

    m(w) = L0 + g^T A d + 1/2 d^T A^T (J^T D J / N) A d + mu * Hamming(w, w0),     d = w - w0,

J = dz/dq the per-sample Jacobian of the output pre-activations (exact backprop through the smooth
network), D = diag(loss''(z)), g = J^T loss'(z) / N.  For binary w, d^T H d and Hamming(w, w0) are a QUBO
in w with n_weight_bits variables: the data enters the coefficients only, so N = 2000 training images
cost the same oracle time as N = 32 (``model_qubo``; the energy equals m(w) exactly, offset included).
The Gram matrix couples every pair of bits that feed the same output, so the QUBO is dense.

One iteration = one oracle call: every distinct read is scored with the true objective (one batched
forward pass), the best is accepted if it lowers the objective, and mu adapts (halved after a good
step whose gain matches the model, x4 after a rejected one, halved when the oracle only returns w0).
The objective minimized is ``objective='exact'`` (mean training loss of the exact-activation quantized
network, the default) or ``'spline'`` (the FIP spline loss = QCBO objective of the completed point).
Whatever is minimized, the result is forward-completed to a feasible QCBO point and its QCBO objective
is reported.  Every accepted step comes from an oracle sample (no classical polish), so the oracle
ablations measure the oracle.

Oracles: any name of :func:`solvers.oracle.get_oracle` ('cim', 'sa', 'exact', 'greedy', 'dimod'),
'sa-fast' (compiled dwave-samplers SA), an :class:`~solvers.oracle.Oracle` instance, and two controls
with no Ising machine: 'random' (uniform random bit vectors) and 'random-local' (w0 with 1..8 random bits
flipped per read).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from qcbo_model.errors import QCBOError
from qcbo_model.fip import quantize_inputs
from qcbo_model.forward import bits_from_codes, codes_from_bits, exact_loss, fip_forward
from qcbo_model.splines import activation_fn

from .oracle import Oracle, get_oracle
from .problems import QUBO

__all__ = ["IsingDescentError", "IsingDescentResult", "code_map", "jacobian", "quadratic_model",
           "model_qubo", "model_value", "ising_descent", "solve_from_args", "make_oracle"]


class IsingDescentError(QCBOError):
    """Bad settings for the Ising-oracle descent."""


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


def jacobian(net, codes, X, return_inputs: bool = False):
    """Output pre-activations z (N, C) and J = dz/dq (N, C, n_q) of one network (codes [q_l (d, fan_in)]).

    Same arithmetic as :func:`qcbo_model.forward.exact_forward`: layer 1 z = kappa (v q^T + c q_b),
    later layers z = alpha (h q^T + gamma c q_b)."""
    spec = net.spec
    v, _ = quantize_inputs(spec, X)
    N = len(v)
    ins, scales, zs = [], [], []
    h = v
    for m, (ly, q) in enumerate(zip(net.layers, codes)):
        if m == 0:
            s, cb = ly.kappa, ly.c
        else:
            s, cb = ly.alpha, ly.gamma * ly.c
        inp = np.concatenate([h, np.full((N, 1), cb)], axis=1) if ly.has_bias else h
        z = s * (inp @ q.T)
        ins.append(inp)
        scales.append(s)
        zs.append(z)
        if not ly.is_output:
            h = activation_fn(spec.activation[ly.l - 1])[0](z)
    C = zs[-1].shape[1]
    G = np.broadcast_to(np.eye(C), (N, C, C)).copy()                           # dz_out / dz_l
    parts = [None] * len(codes)
    for m in range(len(codes) - 1, -1, -1):
        ly = net.layers[m]
        parts[m] = (scales[m] * G[:, :, :, None] * ins[m][:, None, None, :]).reshape(N, C, -1)
        if m > 0:
            dact = _dact(spec.activation[m - 1], zs[m - 1])                     # (N, d_in)
            G = np.einsum("ncj,ji->nci", G, scales[m] * codes[m][:, :ly.d_in]) * dact[:, None, :]
    J = np.concatenate(parts, axis=2)
    if return_inputs:
        return zs[-1], J, ins, scales
    return zs[-1], J


def _dact(name, z, eps=1e-6):
    if name == "tanh":
        return 1.0 - np.tanh(z) ** 2
    fn = activation_fn(name)[0]
    return (fn(z + eps) - fn(z - eps)) / (2 * eps)


def _loss_derivs(name, z, y):
    """loss'(z) and a nonnegative curvature loss''(z) (Gauss-Newton D)."""
    if name == "logistic":
        p = 1.0 / (1.0 + np.exp(np.clip(y * z, -50, 50)))                    # sigmoid(-yz)
        return -y * p, p * (1.0 - p)
    if name == "mse":
        return 2.0 * (z - y), np.full_like(z, 2.0)
    if name == "squared_hinge":
        m = np.maximum(0.0, 1.0 - y * z)
        return -2.0 * y * m, 2.0 * (m > 0)
    from qcbo_model.splines import loss_fn
    f, e = loss_fn(name), 1e-4
    d1 = (f(z + e, y) - f(z - e, y)) / (2 * e)
    d2 = (f(z + e, y) - 2 * f(z, y) + f(z - e, y)) / e ** 2
    return d1, np.maximum(d2, 0.0)


def quadratic_model(net, w0, X=None, Y=None, A=None, return_metric: bool = False, sharpness: float = 1.0):
    """Gauss-Newton model of the exact training loss in the weight bits at w0: (L0, g (n_b,), H (n_b, n_b)).

    m(w) = L0 + g^T (w - w0) + 1/2 (w - w0)^T H (w - w0), H = A^T J^T D J A / N (positive semidefinite).
    ``return_metric`` also returns M (the activation trust metric, see ``ising_descent``).
    ``sharpness`` s models the sharpened loss loss(s z, y) / s instead (s = 1: the training loss)."""
    X = net.X if X is None else X
    Y = net.Y if Y is None else np.asarray(Y, float).reshape(len(X), -1)
    if A is None:
        A = code_map(net)[1]
    codes = [q[0] for q in codes_from_bits(net, np.asarray(w0)[None])]
    z, J, ins, scales = jacobian(net, codes, X, return_inputs=True)
    N, C, _ = J.shape
    from qcbo_model.splines import loss_fn
    s = float(sharpness)
    L0 = float(loss_fn(net.spec.loss)(s * z, Y).sum(axis=1).mean()) / s
    d1, d2 = _loss_derivs(net.spec.loss, s * z, Y)
    d2 = s * d2
    Jw = J.reshape(N * C, -1) @ A                                              # (N C, n_b)
    g = Jw.T @ d1.reshape(-1) / N
    H = Jw.T @ (d2.reshape(-1, 1) * Jw) / N
    if not return_metric:
        return L0, g, H
    # M: mean squared change of every neuron's pre-activation, d^T M d = (1/N) sum_l,n,j (dz_lnj)^2
    blocks = []
    for ly, inp, s in zip(net.layers, ins, scales):
        G = (s * s) * (inp.T @ inp) / N
        blocks += [G] * ly.d_out
    from scipy.linalg import block_diag
    M = A.T @ block_diag(*blocks) @ A
    return L0, g, H, M


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
class UniformRandomOracle(Oracle):
    """Control: uniform random bit vectors in place of an Ising machine."""

    name = "random"

    def _sample_spins(self, ising, num_reads, rng, target_energy=None, **kw):
        return rng.choice(np.array([-1, 1], dtype=np.int8), size=(num_reads, ising.n)), {"oracle": self.name}


class LocalRandomOracle(Oracle):
    """Control: the incumbent ``center`` with k ~ U{1..max_flips} random bits flipped per read."""

    name = "random-local"

    def __init__(self, max_flips: int = 8):
        self.max_flips = int(max_flips)

    def _sample_spins(self, ising, num_reads, rng, target_energy=None, center=None, **kw):
        if center is None:
            raise IsingDescentError("random-local needs the incumbent (center=...)")
        n = ising.n
        X = np.repeat(np.asarray(center, np.int8)[None], num_reads, axis=0)
        k = rng.integers(1, min(self.max_flips, n) + 1, size=num_reads)
        order = np.argsort(rng.random((num_reads, n)), axis=1)
        flip = np.arange(n)[None, :] < k[:, None]
        rows = np.repeat(np.arange(num_reads)[:, None], n, axis=1)
        X[rows[flip], order[flip]] ^= 1
        return (2 * X - 1).astype(np.int8), {"oracle": self.name}


class FastSAOracle(Oracle):
    """Compiled simulated annealing (dwave-samplers), ``num_sweeps`` sweeps, dense QUBO in."""

    def __init__(self, num_sweeps: int = 1000):
        from dwave.samplers import SimulatedAnnealingSampler
        self._sampler, self.num_sweeps = SimulatedAnnealingSampler(), int(num_sweeps)
        self.name = f"sa-fast{self.num_sweeps}"

    def _sample_spins(self, ising, num_reads, rng, target_energy=None, **kw):
        import dimod
        J = ising.J.toarray() if hasattr(ising.J, "toarray") else np.asarray(ising.J, float)
        bqm = dimod.BQM(np.asarray(ising.h, float), np.triu(J, 1), float(ising.offset), "SPIN")
        res = self._sampler.sample(bqm, num_reads=num_reads, num_sweeps=self.num_sweeps,
                                   seed=int(rng.integers(0, 2 ** 31 - 1)))
        S = res.record.sample[:, [res.variables.index(v) for v in range(ising.n)]]
        return np.asarray(S, dtype=np.int8), {"oracle": self.name}


def make_oracle(oracle, oracle_kw=None) -> Oracle:
    """Name or instance -> Oracle (adds 'sa-fast', 'random', 'random-local' to get_oracle's names)."""
    if isinstance(oracle, Oracle):
        return oracle
    kw = dict(oracle_kw or {})
    name = str(oracle).lower()
    if name == "random":
        return UniformRandomOracle()
    if name == "random-local":
        return LocalRandomOracle(**kw)
    if name == "sa-fast":
        return FastSAOracle(**kw)
    if name == "cim":
        kw.setdefault("num_steps", 2000)
    return get_oracle(name, **kw)


# ---------------------------------------------------------------------------------------------
@dataclass
class IsingDescentResult:
    status: str                   # 'converged' | 'stalled' | 'iteration_limit' | 'time_limit'
    x: np.ndarray                 # full feasible QCBO assignment (forward completion)
    wbits: np.ndarray
    objective: float              # QCBO objective (spline loss) of x
    minimized: float              # final value of the objective that was minimized
    objective_kind: str           # 'exact' or 'spline'
    oracle: str
    oracle_calls: int
    evaluations: int              # true-objective evaluations (candidates scored)
    iterations: int
    accepted: int
    wall_time_s: float
    oracle_time_s: float
    restarts: int = 0             # restarts after stalls (``restart=True``)
    trace: list = field(default_factory=list)

    def to_dict(self, include_trace: bool = True) -> dict:
        d = {k: getattr(self, k) for k in ("status", "objective", "minimized", "objective_kind", "oracle",
                                            "oracle_calls", "evaluations", "iterations", "accepted",
                                            "wall_time_s", "oracle_time_s", "restarts")}
        if include_trace:
            d["trace"] = self.trace
        return d


def _objective_fn(net, kind, sharpness=1.0):
    if kind == "exact" and sharpness != 1.0:
        from qcbo_model.forward import exact_forward
        from qcbo_model.splines import loss_fn
        lf, s = loss_fn(net.spec.loss), float(sharpness)
        return lambda W: lf(s * exact_forward(net, codes_from_bits(net, W), net.X), net.Y[None]).sum(axis=2).mean(axis=1) / s
    if kind == "exact":
        return lambda W: exact_loss(net, codes_from_bits(net, W))
    if kind == "spline":
        return lambda W: fip_forward(net, codes_from_bits(net, W)).loss
    raise IsingDescentError(f"objective must be 'exact' or 'spline', got {kind!r}")


def ising_descent(prob, oracle="cim", oracle_kw=None, iterations: int = 60, reads: int = 16,
                  objective: str = "exact", mu0: float | None = None, patience: int = 30,
                  correct: bool = True, archive: int = 256, ladder=(0.25, 1.0, 4.0),
                  trust: str = "activation", blocks: str = "neuron", path: bool = False,
                  sharpness: float = 8.0, restart: bool = False, restart_mu: float = 1.0,
                  init_bits=None, seed: int = 0, time_limit: float | None = None,
                  progress: bool = False) -> IsingDescentResult:
    """Trust-region descent on the weight bits with one oracle call per iteration (module docstring).

    ``init_bits`` (n_weight_bits,) start point; default: uniformly random valid codes from ``seed``.
    Stops after ``iterations`` oracle calls, ``time_limit`` seconds, when the oracle returns only the
    incumbent at mu <= mu_min ('converged'), or after ``patience`` calls without improvement ('stalled').
    ``trust``: the trust term mu d^T M d.  'activation' (default): M = mean squared change of every
    neuron's pre-activation (Levenberg-Marquardt in function space: the quadratic model of a tanh net
    fails where hidden pre-activations move far, not where many bits flip); 'hamming': M = I, i.e.
    mu Hamming(w, w0).
    ``ladder``: each iteration calls the oracle once per trust weight mu * f (f in ladder, reads split
    evenly); an accepted step moves mu to the weight that produced it, a rejection multiplies mu by 4,
    an iteration whose samples are all the incumbent divides it by 4.
    ``correct``: per-bit model correction from the last ``archive`` evaluated points (``_corrections``).
    ``blocks``: 'all' (one QUBO over every weight bit) or 'neuron' (cycle over blocks of one hidden
    neuron's incoming bits + all output bits, ``neuron_blocks``; smaller steps, better predicted).
    ``path``: also score the prefixes of every proposal's flip set in the order of model gain
    (``path_points``); every scored point is still (part of) an oracle sample.
    ``sharpness`` s: minimize loss(s z, y) / s (exact objective; s > 1 moves the logistic loss towards
    the error count, which is what test accuracy measures; s = 1: the plain training loss).
    ``restart``: a stall (``patience`` calls without improvement) or convergence does not stop the run;
    the per-bit corrections (archive) are cleared, mu is reset to ``restart_mu`` x its start value and the
    block order is reshuffled (``seed``), and the descent goes on from the incumbent until ``iterations``
    or ``time_limit``.  Every accepted step is still an oracle sample; the incumbent never gets worse.
    Trace entries: it, model_energy (best oracle energy = model value + mu Hamming), model_pred (model
    value of the chosen candidate), objective (true objective after the step), candidate (its true
    objective), accepted, mu, hamming, oracle_calls, evaluations, time_s."""
    if trust not in ("activation", "hamming"):
        raise IsingDescentError(f"trust must be 'activation' or 'hamming', got {trust!r}")
    if blocks not in ("all", "neuron"):
        raise IsingDescentError(f"blocks must be 'all' or 'neuron', got {blocks!r}")
    if iterations < 1 or reads < 1:
        raise IsingDescentError(f"iterations and reads must be >= 1, got {iterations}, {reads}")
    t0 = time.perf_counter()
    net = prob.net
    orc = make_oracle(oracle, oracle_kw)
    rng = np.random.default_rng(seed)
    if not sharpness > 0:
        raise IsingDescentError(f"sharpness must be > 0, got {sharpness}")
    f = _objective_fn(net, objective, sharpness)
    _, A = code_map(net)
    n_b = A.shape[1]
    if init_bits is None:
        from .baselines import random_codes
        w = bits_from_codes(net, random_codes(net, 1, rng))[0]
    else:
        w = np.asarray(init_bits, dtype=np.uint8).reshape(-1)
        if w.shape != (n_b,):
            raise IsingDescentError(f"init_bits must have {n_b} entries, got {w.shape}")
        w = bits_from_codes(net, codes_from_bits(net, w[None]))[0]
    pairs = _ternary_pairs(net)
    blist = neuron_blocks(net) if blocks == "neuron" else [np.arange(n_b)]
    L = float(f(w[None])[0])
    trace, calls, evals, acc_n, since, o_time = [], 0, 1, 0, 0, 0.0
    mu = None
    order, restarts, b_pos = np.arange(len(blist)), 0, 0
    arch_W, arch_f = np.zeros((0, n_b), np.uint8), np.zeros(0)
    status = "iteration_limit"
    it = range(iterations)
    if progress:
        from tqdm.auto import tqdm
        it = tqdm(it, desc=f"Ising descent ({orc.name})", unit="call")
    for k in it:
        L0, g, H, M = quadratic_model(net, w, A=A, return_metric=True, sharpness=sharpness)
        if trust == "hamming":
            M = np.eye(n_b)          # d^T I d = Hamming(w, w0) for binary w
        else:   # plus a per-bit Hamming part: keeps the QUBO well conditioned when mu is large
            M = M + np.diag(np.diag(M))
        if mu is None:   # start where the trust term weighs like the model's own curvature
            mu = float(mu0) if mu0 is not None else float(np.trace(H) / max(np.trace(M), 1e-300))
            mu_min, mu_max = 1e-6 * max(mu, 1e-12), 1e6 * max(mu, 1e-12)
            mu_start = mu
        corr = _corrections(L0, g, H, w, arch_W, arch_f, n_b) if correct else np.zeros(n_b)
        bi = blist[order[b_pos % len(blist)]]
        b_pos += 1
        pos = np.full(n_b, -1)
        pos[bi] = np.arange(len(bi))
        bp = [(pos[i], pos[j]) for i, j in pairs if pos[i] >= 0 and pos[j] >= 0]
        gb, Hb = g[bi], H[np.ix_(bi, bi)]
        excl = (bp, 10.0 * (np.abs(Hb).sum() + np.abs(gb).sum() + 1.0)) if bp else None
        # one oracle call per trust weight of the ladder mu * ladder; reads split between them
        kw = {"center": w[bi]} if isinstance(orc, LocalRandomOracle) else {}
        per = max(1, reads // len(ladder))
        Ss, src, energies = [], [], []
        for li, fac in enumerate(ladder):
            qubo = model_qubo(L0, gb, Hb + 2.0 * mu * fac * M[np.ix_(bi, bi)], w[bi], corr[bi], excl)
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
        if path and len(S):
            P, ps = path_points(g, H, w, S)
            P = bits_from_codes(net, codes_from_bits(net, P))
            S, first = np.unique(np.concatenate([S, P]), axis=0, return_index=True)
            src = np.concatenate([src, src[ps]])[first]
            new = np.any(S != w[None], axis=1)
            S, src = S[new], src[new]
        rec = {"it": k, "model_energy": float(min(energies)), "mu": mu, "oracle_calls": calls,
               "restarts": restarts}
        if len(S) == 0:     # the model has no improving move even at the smallest trust weight
            rec.update(objective=L, candidate=None, model_pred=None, accepted=False, hamming=0)
            if mu <= mu_min:
                status = "converged"
            mu *= 0.25
        else:
            vals = f(S)
            evals += len(S)
            arch_W, arch_f = _archive(arch_W, arch_f, S, vals, archive)
            b = int(np.argmin(vals))
            pred = float(model_value(L0, g, H, w, S[b:b + 1])[0])
            ok = bool(vals[b] < L - 1e-12)
            rec.update(candidate=float(vals[b]), model_pred=pred, accepted=ok,
                       hamming=int(np.sum(S[b] != w)))
            if ok:
                arch_W, arch_f = _archive(arch_W, arch_f, w[None], np.array([L]), archive)
                w, L = S[b].copy(), float(vals[b])
                acc_n += 1
                since = 0
                mu *= ladder[src[b]]          # move to the trust weight that produced the step
            else:
                since += 1
                mu *= 4.0
                if mu > mu_max:       # even tiny trust regions hold no improving oracle sample
                    status = "converged"
            rec["objective"] = L
        rec["evaluations"] = evals
        rec["time_s"] = time.perf_counter() - t0
        trace.append(rec)
        if progress:
            it.set_postfix(obj=f"{L:.4f}", mu=f"{mu:.2g}")
        if restart and (status == "converged" or since >= patience):
            # perturb the search, not the incumbent: fresh corrections, trust weight, block order
            status, since, restarts, b_pos = "iteration_limit", 0, restarts + 1, 0
            arch_W, arch_f = arch_W[:0], arch_f[:0]
            mu = mu_start * float(restart_mu)
            order = rng.permutation(len(blist))
        if status == "converged":
            break
        if since >= patience:
            status = "stalled"
            break
        if time_limit is not None and time.perf_counter() - t0 > time_limit:
            status = "time_limit"
            break
    x = prob.complete(w[None])[0]
    obj = float(prob.qcbo.objective(x[None])[0])
    return IsingDescentResult(status=status, x=x, wbits=w, objective=obj, minimized=L,
                              objective_kind=objective, oracle=orc.name, oracle_calls=calls,
                              evaluations=evals, iterations=len(trace), accepted=acc_n,
                              wall_time_s=time.perf_counter() - t0, oracle_time_s=o_time, restarts=restarts,
                              trace=trace)


def _args_oracle_kw(args, name):
    kw = {}
    if name in ("sa", "sa-fast") and getattr(args, "oracle_sweeps", None):
        kw["num_sweeps"] = int(args.oracle_sweeps)
    if name == "cim" and getattr(args, "cim_steps", None):
        kw["num_steps"] = int(args.cim_steps)
    return kw


def solve_from_args(prob, args) -> dict:
    """``qcbo-qnn solve/train --solver ising-descent``: run on a FIPProblem, return the report dict."""
    name = getattr(args, "oracle", None) or "cim"
    it = getattr(args, "descent_iterations", None) or getattr(args, "iterations", None) or 60
    res = ising_descent(prob, oracle=name, oracle_kw=_args_oracle_kw(args, name), iterations=int(it),
                        reads=int(getattr(args, "descent_reads", None) or getattr(args, "reads", None) or 16),
                        patience=int(getattr(args, "descent_patience", None) or 30),
                        restart=bool(getattr(args, "descent_restart", False)),
                        objective=getattr(args, "descent_objective", None) or "exact",
                        seed=int(getattr(args, "seed", 0) or 0),
                        time_limit=getattr(args, "descent_time_limit", None),
                        blocks=getattr(args, "descent_blocks", None) or "neuron",
                        sharpness=float(getattr(args, "descent_sharpness", None) or 8.0),
                        progress=not getattr(args, "no_progress", False))
    rep = {"solver": "ising-descent", "status": res.status, "objective": res.objective, "bound": None,
           "gap": None, "feasible": bool(prob.qcbo.is_feasible(res.x[None])[0]), "x": res.x,
           **{k: v for k, v in res.to_dict().items() if k not in ("status", "objective")}}
    return rep
