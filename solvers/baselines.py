"""Baselines every QCBO solver is compared with, at an equal budget.

- ``random_search``: uniform random weight codes, each completed by a forward pass (the FIP spline loss
  of the completed point *is* its QCBO objective), keep the best.
- ``sa_weights``: simulated annealing on the weight bits with the same forward objective, vectorized
  over reads (every read proposes the same bit per step; the R proposals are scored in one batch).
- ``ste_qat``: straight-through-estimator quantization-aware training of the same architecture and
  the same weight codes (same per-layer alpha), real activations, Adam, in numpy.
- ``logistic_regression``: full-precision linear reference.
- ``exhaustive_weights``: the optimum over all weight-bit patterns (tiny instances only).

All take a seed; the same seed reproduces the result exactly. Results are ``BaselineResult``.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from qcbo_model.errors import QCBOError
from qcbo_model.fip import FIPNetwork, quantize_inputs
from qcbo_model.forward import (bits_from_codes, codes_from_bits, exact_loss, fip_forward)
from qcbo_model.splines import activation_fn, loss_fn

# Candidates are drawn in fixed blocks with their own child seeds, so candidate i is the same
# whatever n_candidates or batch is (nested budgets see nested candidate sets).
_BLOCK = 256


class BaselineError(QCBOError):
    """A baseline cannot run as asked (bad budget, instance too large for enumeration, ...)."""


@dataclass
class BaselineResult:
    """One baseline run. ``objective`` is the QCBO objective of the forward-completed best point."""

    method: str
    objective: float | None
    wbits: np.ndarray | None           # (n_weight_bits,) uint8
    x: np.ndarray | None               # (n,) full feasible assignment (forward completion)
    budget: dict = field(default_factory=dict)
    wall_time_s: float = 0.0
    seed: int | None = None
    trace: list = field(default_factory=list)   # objective (best so far) per iteration/block
    metrics: dict = field(default_factory=dict)  # accuracies and losses filled by evaluate()
    info: dict = field(default_factory=dict)

    def train_accuracy(self, prob, exact: bool = True) -> float:
        return prob.accuracy(self.x, prob.net.X, prob.net.Y, exact=exact)

    def test_accuracy(self, prob, X, y, exact: bool = True) -> float:
        return prob.accuracy(self.x, X, y, exact=exact)

    def evaluate(self, prob, X_test=None, y_test=None) -> dict:
        """Fill ``metrics`` with train/test accuracy (exact and spline activations) and losses."""
        if self.x is None:
            return self.metrics
        codes = codes_from_bits(prob.net, self.wbits)
        m = self.metrics
        m["train_accuracy"] = self.train_accuracy(prob)
        m["train_accuracy_fip"] = self.train_accuracy(prob, exact=False)
        m["train_exact_loss"] = float(exact_loss(prob.net, codes)[0])
        if X_test is not None:
            m["test_accuracy"] = self.test_accuracy(prob, X_test, y_test)
            m["test_accuracy_fip"] = self.test_accuracy(prob, X_test, y_test, exact=False)
        return m

    def to_dict(self, include_bits: bool = True) -> dict:
        d = {"method": self.method, "objective": self.objective, "budget": self.budget,
             "wall_time_s": self.wall_time_s, "seed": self.seed, "metrics": self.metrics,
             "info": self.info, "trace": [float(t) for t in self.trace]}
        if include_bits and self.wbits is not None:
            d["weight_bits"] = "".join(map(str, np.asarray(self.wbits, dtype=int)))
        return d


# ---------------------------------------------------------------------------------------------
def _finish(prob, method, wbits, fip_loss, t0, **kw) -> BaselineResult:
    """Complete the best weight bits and check the QCBO objective equals the forward loss."""
    x = prob.complete(np.asarray(wbits)[None])[0]
    obj = float(prob.qcbo.objective(x[None])[0])
    if not np.isclose(obj, fip_loss, rtol=1e-9, atol=1e-9):
        raise BaselineError(f"{method}: QCBO objective {obj!r} of the completed point differs from the "
                            f"forward spline loss {fip_loss!r}; the model and forward pass disagree")
    return BaselineResult(method=method, objective=obj, wbits=x[:prob.n_weight_bits].copy(), x=x,
                          wall_time_s=time.perf_counter() - t0, **kw)


def random_codes(net: FIPNetwork, n: int, rng) -> list:
    """n uniformly random valid weight codes per layer: [q_l (n, d_l, fan_in)]."""
    out = []
    for ly in net.layers:
        vals = ly.code.values
        out.append(vals[rng.integers(0, len(vals), size=(n, ly.d_out, ly.fan_in))])
    return out


def _block_codes(net, seed, block):
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(block,)))
    return random_codes(net, _BLOCK, rng)


def random_search(prob, n_candidates: int, seed: int = 0, batch: int = 1024, progress: bool = False) -> BaselineResult:
    """Best of ``n_candidates`` random weight codes (valid code words), scored by forward completion."""
    if n_candidates < 1:
        raise BaselineError(f"n_candidates must be >= 1, got {n_candidates}")
    t0 = time.perf_counter()
    net = prob.net
    best, best_bits, trace = np.inf, None, []
    n_blocks = -(-n_candidates // _BLOCK)
    per_batch = max(1, batch // _BLOCK)
    it = range(0, n_blocks, per_batch)
    if progress:
        from tqdm import tqdm
        it = tqdm(it, desc="random search", unit="batch")
    for b0 in it:
        blocks = [_block_codes(net, seed, b) for b in range(b0, min(b0 + per_batch, n_blocks))]
        codes = [np.concatenate([blk[l] for blk in blocks]) for l in range(len(net.layers))]
        start = b0 * _BLOCK
        keep = min(len(codes[0]), n_candidates - start)
        codes = [q[:keep] for q in codes]
        loss = fip_forward(net, codes).loss
        i = int(np.argmin(loss))
        if loss[i] < best:
            best = float(loss[i])
            best_bits = bits_from_codes(net, [q[i:i + 1] for q in codes])[0]
        trace.append(best)
    return _finish(prob, "random", best_bits, best, t0, seed=seed, trace=trace,
                   budget={"candidates": int(n_candidates), "forward_evaluations": int(n_candidates)})


def exhaustive_weights(prob, max_bits: int = 22) -> BaselineResult:
    """The global QCBO optimum by enumerating every weight code (tiny instances only).

    Delegates to :func:`solvers.exhaustive.solve_exhaustive`, which also resolves breakpoint ties
    (where the interval form admits either neighbouring sub-interval)."""
    from .exhaustive import ExhaustiveError, solve_exhaustive
    t0 = time.perf_counter()
    try:
        r = solve_exhaustive(prob, max_bits=max_bits, progress=False)
    except ExhaustiveError as e:
        raise BaselineError(str(e)) from None
    x = np.asarray(r.x)
    return BaselineResult(method="exhaustive", objective=float(prob.qcbo.objective(x[None])[0]),
                          wbits=x[:prob.n_weight_bits].copy(), x=x, wall_time_s=time.perf_counter() - t0,
                          budget={"candidates": int(r.n_patterns), "forward_evaluations": int(r.n_patterns)})


# ---------------------------------------------------------------------------------------------
class _ForwardState:
    """Per-read cached pre-activations so one weight-bit flip re-evaluates only what it touches."""

    def __init__(self, net: FIPNetwork, codes: list):
        self.net = net
        self.codes = [q.copy() for q in codes]
        self.fp = fip_forward(net, self.codes)
        self.u = [u.copy() for u in self.fp.u]
        self.loss = self.fp.loss.copy()

    def propose(self, l: int, j: int, i: int, dq: np.ndarray):
        """Loss (R,) and new u list after adding dq (R,) to code q[l][:, j, i] (l 0-based)."""
        net = self.net
        ly = net.layers[l]
        v = net.v_in if l == 0 else None
        u = [None] * len(net.layers)
        u[l] = self.u[l].copy()
        if i < ly.d_in:
            if l == 0:
                col = v[:, i][None, :]                                         # (1, N)
            else:
                prev = net.layers[l - 1]
                kp = np.sum(self.u[l - 1][:, :, i, None] > prev.t[i, 1:-1], axis=-1)   # (R, N)
                col = prev.v_levels[i][kp]
            u[l][:, :, j] += dq[:, None] * col
        else:
            u[l][:, :, j] += dq[:, None] * ly.c
        return self._downstream(l, u)

    def _downstream(self, l, u):
        net = self.net
        for m in range(l, len(net.layers)):
            ly = net.layers[m]
            if m > l:
                prev = net.layers[m - 1]
                k = net.interval_index(m, u[m - 1])                            # (R, N, d_prev)
                vin = np.take_along_axis(np.broadcast_to(prev.v_levels, k.shape + (prev.K,)),
                                         k[..., None], axis=-1)[..., 0]
                q = self.codes[m]
                u[m] = np.einsum("rni,rji->rnj", vin, q[:, :, :ly.d_in])
                if ly.has_bias:
                    u[m] = u[m] + ly.c * q[:, None, :, ly.d_in]
        out = net.layers[-1]
        k = net.interval_index(len(net.layers), u[-1])
        lv = out.loss_levels[np.arange(out.d_out)[None, None, :], k, net.y_index[None]]
        if out.loss_slopes is not None:
            sl = out.loss_slopes[np.arange(out.d_out)[None, None, :], k, net.y_index[None]]
            lv = lv + sl * (u[-1] - out.t[np.arange(out.d_out)[None, None, :], k])
        return lv.sum(axis=2).mean(axis=1), u


def sa_weights(prob, n_sweeps: int = 200, n_reads: int = 16, seed: int = 0, T0: float | None = None,
               T1: float | None = None, progress: bool = False, linear=None, init_bits=None) -> BaselineResult:
    """Simulated annealing on the weight bits; objective = forward (FIP spline) loss.

    Each step flips one code bit in every read (the same position in all reads, a random permutation
    per sweep); the R proposals are evaluated together, re-computing only the flipped neuron and the
    layers after it. Ternary codes move between valid code words (a flip that would set plus and minus
    together moves to the other sign instead). Geometric temperature schedule T0 -> T1; by default
    T0 accepts a typical uphill move with probability 1/2 and T1 accepts the smallest one with 1 %.

    ``linear`` (n_weight_bits,) adds lin @ wbits to the annealed objective (progressive hedging terms;
    ``objective`` still reports the QCBO objective alone, ``info['annealed_objective']`` the sum).
    ``init_bits`` (n_weight_bits,) starts every read there instead of at random codes.
    """
    if n_sweeps < 1 or n_reads < 1:
        raise BaselineError(f"n_sweeps and n_reads must be >= 1, got {n_sweeps}, {n_reads}")
    t0 = time.perf_counter()
    net = prob.net
    rng = np.random.default_rng(seed)
    R = n_reads
    if init_bits is not None:
        init = codes_from_bits(net, np.asarray(init_bits)[None])
        st = _ForwardState(net, [np.repeat(q, R, axis=0) for q in init])
    else:
        st = _ForwardState(net, random_codes(net, R, rng))
    lin = None if linear is None else np.asarray(linear, dtype=float)
    lin_val = np.zeros(R)
    if lin is not None:
        if lin.shape != (prob.n_weight_bits,):
            raise BaselineError(f"linear must have shape ({prob.n_weight_bits},), got {lin.shape}")
        lin_w = [lin[prob.layout.w[ly.l]] for ly in net.layers]           # (d, fan_in, nb) per layer
        lin_val = bits_from_codes(net, st.codes) @ lin                      # (R,) linear part
    # positions: (layer, j, i, bit) for every weight bit in layout order
    pos = []
    for l, ly in enumerate(net.layers):
        jj, ii, bb = np.meshgrid(np.arange(ly.d_out), np.arange(ly.fan_in), np.arange(ly.code.n_bits), indexing="ij")
        pos.append(np.stack([np.full(jj.size, l), jj.ravel(), ii.ravel(), bb.ravel()], axis=1))
    pos = np.concatenate(pos)
    n_w = len(pos)

    def delta_q(l, j, i, b):
        ly = net.layers[l]
        q = st.codes[l][:, j, i]
        if ly.code.kind == "ternary":
            # valid moves: 0 -> +1 (b=0) or -1 (b=1); +-1 -> 0 if the bit is set, else to the other sign
            target = np.where(q == 0, 1.0 if b == 0 else -1.0,
                              np.where((q > 0) == (b == 0), 0.0, -q))
            return target - q
        bits = ly.code.encode(q)[:, b]
        return ly.code.coefs[b] * (1.0 - 2.0 * bits)

    if T0 is None or T1 is None:   # estimate the scale of moves from one batch of proposals
        sample = pos[rng.choice(n_w, size=min(n_w, 32), replace=False)]
        base = st.propose(0, 0, 0, np.zeros(R))[0]
        d = np.concatenate([st.propose(l, j, i, delta_q(l, j, i, b))[0] - base for l, j, i, b in sample])
        up = np.abs(d[np.abs(d) > 1e-12])
        if up.size == 0:
            up = np.array([1.0 / net.N])
        T0 = float(np.median(up) / np.log(2.0)) if T0 is None else T0
        T1 = float(up.min() / np.log(100.0)) if T1 is None else T1
        T1 = min(T1, T0)
    temps = T0 * (T1 / T0) ** (np.arange(n_sweeps) / max(n_sweeps - 1, 1))
    best_loss = st.loss + lin_val
    best_codes = [q.copy() for q in st.codes]
    trace = []
    it = range(n_sweeps)
    if progress:
        from tqdm import tqdm
        it = tqdm(it, desc="SA on weights", unit="sweep")
    accepted = 0
    for s in it:
        T = temps[s]
        order = rng.permutation(n_w)
        logu = np.log(rng.random((n_w, R)))
        for step, p in enumerate(order):
            l, j, i, b = pos[p]
            dq = delta_q(l, j, i, b)
            new_loss, u = st.propose(l, j, i, dq)
            if lin is not None:
                code = net.layers[l].code
                q_old = st.codes[l][:, j, i]
                dlin = (code.encode(q_old + dq).astype(float) - code.encode(q_old)) @ lin_w[l][j, i]
            else:
                dlin = 0.0
            acc = -(new_loss + dlin - st.loss) / T >= logu[step]     # Metropolis
            if acc.any():
                accepted += int(acc.sum())
                st.codes[l][acc, j, i] += dq[acc]
                for m in range(l, len(net.layers)):
                    st.u[m][acc] = u[m][acc]
                st.loss = np.where(acc, new_loss, st.loss)
                lin_val = np.where(acc, lin_val + dlin, lin_val)
                cur = st.loss + lin_val
                imp = cur < best_loss
                if imp.any():
                    best_loss = np.where(imp, cur, best_loss)
                    for m in range(len(net.layers)):
                        best_codes[m][imp] = st.codes[m][imp]
        # resynchronize the incremental pre-activations (float drift could move a sample across a
        # breakpoint it sits on) with one exact forward pass per sweep
        fresh = fip_forward(net, st.codes)
        st.u, st.loss = [u.copy() for u in fresh.u], fresh.loss.copy()
        trace.append(float(best_loss.min()))
    r = int(np.argmin(best_loss))
    wb = bits_from_codes(net, [q[r:r + 1] for q in best_codes])[0]
    annealed = float(best_loss[r])
    fl = float(fip_forward(net, codes_from_bits(net, wb[None])).loss[0])   # exact, not incremental
    return _finish(prob, "sa-weights", wb, fl, t0, seed=seed, trace=trace,
                   budget={"sweeps": n_sweeps, "reads": R, "forward_evaluations": int(n_sweeps * n_w * R),
                           "candidates": int(n_sweeps * n_w * R)},
                   info={"T0": T0, "T1": T1, "acceptance_rate": accepted / (n_sweeps * n_w * R),
                         "annealed_objective": annealed,
                         "read_objectives": best_loss.tolist()})


# ---------------------------------------------------------------------------------------------
def _quantize(code, w):
    """Nearest valid code value to latent real weights w (already clipped)."""
    if code.kind == "binary":
        return np.where(w >= 0, 1.0, -1.0)
    if code.kind == "ternary":
        return np.clip(np.rint(w), -1.0, 1.0)
    return np.clip(2.0 * np.floor(w / 2.0) + 1.0, code.qmin, code.qmax)   # odd integers


def _dloss(loss, z, y):
    if loss == "logistic":
        return -y / (1.0 + np.exp(np.clip(y * z, -50, 50)))
    if loss == "squared_hinge":
        return -2.0 * y * np.maximum(0.0, 1.0 - y * z)
    if loss == "mse":
        return 2.0 * (z - y)
    f = loss_fn(loss)
    e = 1e-5
    return (f(z + e, y) - f(z - e, y)) / (2 * e)


def _dact(act, z):
    if act == "tanh":
        return 1.0 - np.tanh(z) ** 2
    if act in ("sign", "hardtanh"):
        return (np.abs(z) <= 1.0).astype(float)            # straight-through for sign
    if act == "relu":
        return (z > 0).astype(float)
    fn, _ = activation_fn(act)
    e = 1e-5
    return (fn(z + e) - fn(z - e)) / (2 * e)


def ste_qat(spec, X, y, epochs: int = 300, lr: float = 0.05, seed: int = 0, batch_size: int | None = None,
            prob=None, form: str = "interval", progress: bool = False, sharpness: float = 1.0) -> BaselineResult:
    """Straight-through-estimator QAT of the spec's network with its weight codes; Adam in numpy.

    ``sharpness`` s trains (and selects the best epoch) on loss(s z, y) / s, the sharpened loss the
    Ising descent minimizes (s = 1: the spec's loss); its gradient is loss'(s z, y).

    Latent real weights live in code units, clipped to [qmin, qmax]; the forward pass uses the nearest
    code value and real activations, z = alpha_l * (h W^T + gamma_l c_l q_bias) exactly as
    ``exact_forward``; gradients pass straight through the rounding. The epoch whose quantized network
    has the lowest training loss (exact activations) is kept. Its codes are completed to a QCBO point.
    """
    from qcbo_model.problem import build_problem
    if epochs < 1:
        raise BaselineError(f"epochs must be >= 1, got {epochs}")
    if not sharpness > 0:
        raise BaselineError(f"sharpness must be > 0, got {sharpness}")
    sh = float(sharpness)
    t0 = time.perf_counter()
    if prob is None:
        prob = build_problem(X, y, spec, form)
    net = prob.net
    rng = np.random.default_rng(seed)
    Xv, gamma1 = quantize_inputs(spec, net.X)
    H0 = gamma1 * Xv
    Y = net.Y
    N = len(H0)
    layers = net.layers
    W = [rng.uniform(-0.5, 0.5, size=(ly.d_out, ly.fan_in)) * ly.code.qmax for ly in layers]
    m1 = [np.zeros_like(w) for w in W]
    m2 = [np.zeros_like(w) for w in W]
    b1, b2, eps = 0.9, 0.999, 1e-8
    acts = list(spec.activation)
    lname = spec.loss
    lf = loss_fn(lname)
    bs = N if batch_size is None else int(batch_size)
    best, best_q, trace, step = np.inf, None, [], 0
    it = range(epochs)
    if progress:
        from tqdm import tqdm
        it = tqdm(it, desc="STE-QAT", unit="epoch")

    def forward(q, H):
        hs, zs = [H], []
        h = H
        for ly, ql, a in zip(layers, q, acts + [None]):
            z = ly.alpha * (h @ ql[:, :ly.d_in].T + (ly.gamma * ly.c * ql[:, ly.d_in] if ly.has_bias else 0.0))
            zs.append(z)
            if not ly.is_output:
                h = activation_fn(a)[0](z)
                hs.append(h)
        return hs, zs

    for ep in it:
        perm = rng.permutation(N)
        for s in range(0, N, bs):
            idx = perm[s:s + bs]
            q = [_quantize(ly.code, w) for ly, w in zip(layers, W)]
            hs, zs = forward(q, H0[idx])
            g = _dloss(lname, sh * zs[-1], Y[idx]) / len(idx)               # dL/dz_out (sharpened)
            grads = [None] * len(layers)
            for m in range(len(layers) - 1, -1, -1):
                ly = layers[m]
                gz = g * ly.alpha
                gw = gz.T @ hs[m]
                if ly.has_bias:
                    gw = np.concatenate([gw, (gz.sum(axis=0) * ly.gamma * ly.c)[:, None]], axis=1)
                grads[m] = gw
                if m > 0:
                    g = (gz @ q[m][:, :ly.d_in]) * _dact(acts[m - 1], zs[m - 1])
            step += 1
            for m, ly in enumerate(layers):
                m1[m] = b1 * m1[m] + (1 - b1) * grads[m]
                m2[m] = b2 * m2[m] + (1 - b2) * grads[m] ** 2
                upd = (m1[m] / (1 - b1 ** step)) / (np.sqrt(m2[m] / (1 - b2 ** step)) + eps)
                W[m] = np.clip(W[m] - lr * ly.code.qmax * upd, ly.code.qmin, ly.code.qmax)
        q = [_quantize(ly.code, w) for ly, w in zip(layers, W)]
        _, zs = forward(q, H0)
        cur = float(lf(sh * zs[-1], Y).sum(axis=1).mean()) / sh
        trace.append(cur)
        if cur < best:
            best, best_q = cur, [x.copy() for x in q]
    wb = bits_from_codes(net, [x[None] for x in best_q])[0]
    fl = float(fip_forward(net, codes_from_bits(net, wb[None])).loss[0])
    res = _finish(prob, "ste", wb, fl, t0, seed=seed, trace=trace,
                  budget={"epochs": epochs, "gradient_steps": step, "forward_evaluations": step + epochs},
                  info={"lr": lr, "batch_size": bs, "sharpness": sh, "best_exact_loss": best})
    return res


# ---------------------------------------------------------------------------------------------
def logistic_regression(X, y, X_test=None, y_test=None, C: float = 1.0, seed: int = 0,
                        max_iter: int = 2000) -> BaselineResult:
    """Full-precision logistic regression (scikit-learn if installed, else numpy gradient descent).

    y in {-1,+1} (N,) or one-vs-rest (N, C) in {-1,+1}; accuracy by sign / argmax like the QNN.
    """
    t0 = time.perf_counter()
    X = np.asarray(X, float)
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    lab = np.argmax(y, axis=1) if y.ndim == 2 else y
    try:
        from sklearn.linear_model import LogisticRegression
        clf = LogisticRegression(C=C, max_iter=max_iter, random_state=seed).fit(X, lab)
        predict, backend = clf.predict, "sklearn"
    except ImportError:
        W, predict = _numpy_logreg(X, lab, C, max_iter)
        backend = "numpy"

    def acc(Xe, ye):
        ye = np.asarray(ye)
        if ye.ndim == 2 and ye.shape[1] == 1:
            ye = ye[:, 0]
        ye = np.argmax(ye, axis=1) if ye.ndim == 2 else ye
        return float(np.mean(predict(np.asarray(Xe, float)) == ye))

    metrics = {"train_accuracy": acc(X, y)}
    if X_test is not None:
        metrics["test_accuracy"] = acc(X_test, y_test)
    return BaselineResult(method="logreg", objective=None, wbits=None, x=None, seed=seed,
                          budget={"max_iter": max_iter}, wall_time_s=time.perf_counter() - t0,
                          metrics=metrics, info={"backend": backend, "C": C, "bits_per_weight": 64})


def _numpy_logreg(X, lab, C, iters):
    classes = np.unique(lab)
    Xb = np.concatenate([X, np.ones((len(X), 1))], axis=1)
    T = (lab[:, None] == classes[None]).astype(float)
    if len(classes) == 2:
        T = T[:, 1:]
    W = np.zeros((Xb.shape[1], T.shape[1]))
    lr = 1.0 / (0.25 * np.linalg.norm(Xb, 2) ** 2 / len(X) + 1.0 / (C * len(X)))
    for _ in range(iters):
        P = 1.0 / (1.0 + np.exp(-Xb @ W))
        W -= lr * (Xb.T @ (P - T) / len(X) + W / (C * len(X)))

    def predict(Xe):
        s = np.concatenate([Xe, np.ones((len(Xe), 1))], axis=1) @ W
        return classes[(s[:, 0] > 0).astype(int)] if len(classes) == 2 else classes[np.argmax(s, axis=1)]
    return W, predict
