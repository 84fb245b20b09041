"""The paper's theory as checked code: approximation error, spin count, sample complexity, time to solution.

Every bound here is computed from the FIP constants of a built model (``FIPNetwork``) and is checked
against measurements (``check_approximation``; tests/test_bounds.py). Derivations: docs/theory.md.

Symbols are the code's: layer l has pre-activation u (u-units) and z = kappa_l * u (real units); the
FIP network replaces sigma(z) by the level of the sub-interval k that its *own* pre-activation falls in
(``LayerFIP.levels[j, k]``, real units) with worst-case error ``LayerFIP.errors[j, k]``.

Approximation error (same quantized weights q, exact network vs FIP network), per sample n:

    layer 1:   z_ex = z_fip (same quantized inputs), so  |h_ex - h_fip| <= err_1[j, k]
    layer l:   dev_z_l[j] = |z_ex - z_fip| <= alpha_l * sum_i |q_ji| * dev_h_{l-1}[i]
                                          <= alpha_l * qmax_l * sum_i dev_h_{l-1}[i]
               dev_h_l[j] <= |sigma(z_ex) - sigma(z_fip)| + |sigma(z_fip) - level_k(z_fip)|
                          <= Lip(sigma) * dev_z_l[j] + err_l[j, k]
    output:    dev_z_L[j] as above (no activation);
               |loss(z_ex, y) - lhat_k(y)| <= Lip(loss) * dev_z_L[j] + loss_err[j, k, y]

The bias column carries no error (its input c is exact). For a discontinuous activation (sign,
Lip = inf) the bound is infinite as soon as its pre-activation deviation is positive; it stays finite
for the first hidden layer (deviation zero) and so for one-hidden-layer sign networks.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from qcbo_model.errors import QCBOError
from qcbo_model.fip import FIPNetwork, LayerFIP
from qcbo_model.forward import codes_from_bits, exact_forward, fip_forward
from qcbo_model.layout import slack_coefs
from qcbo_model.functions import activation_lipschitz, loss_fn, loss_lipschitz

# Relative slack for float rounding when comparing measured deviations with bounds (z_ex and z_fip
# are computed by different float expressions of the same exact number at layer 1).
FLOAT_TOL = 1e-9


class BoundsError(QCBOError):
    """A bound cannot be computed for these inputs (bad epsilon/delta, empty trace, ...)."""


def _lip_times(lip: float, dev: np.ndarray) -> np.ndarray:
    """Lip * dev with inf * 0 = 0 (a discontinuous function is exact where the deviation is zero)."""
    if np.isinf(lip):
        return np.where(dev > 0, np.inf, 0.0)
    return lip * dev


def _abs_q_times(dev_h: np.ndarray, absq: np.ndarray) -> np.ndarray:
    """sum_i |q_ji| dev_h[i] per (b, n, j), with 0 * inf = 0 (a zero weight carries no deviation)."""
    inf = np.isinf(dev_h)
    fin = np.einsum("bni,bji->bnj", np.where(inf, 0.0, dev_h), absq)
    hit = np.einsum("bni,bji->bnj", inf.astype(float), (absq > 0).astype(float)) > 0
    return np.where(hit, np.inf, fin)


def _reachable_max(values: np.ndarray, ly: LayerFIP, u_lo: np.ndarray, u_hi: np.ndarray) -> np.ndarray:
    """max of values[j, k] over the sub-intervals k that meet [u_lo[n, j], u_hi[n, j]] -> (N, d)."""
    k_lo = np.sum(u_lo[..., None] > ly.t[None, :, 1:-1], axis=-1)       # (N, d)
    k_hi = np.sum(u_hi[..., None] > ly.t[None, :, 1:-1], axis=-1)
    k = np.arange(ly.K)
    mask = (k[None, None, :] >= k_lo[..., None]) & (k[None, None, :] <= k_hi[..., None])
    return np.max(np.where(mask, values[None], -np.inf), axis=-1)


# ---------------------------------------------------------------------------------------------
# approximation error
@dataclass
class ApproxBound:
    """Worst case over every weight assignment and every training sample."""

    z_out: float                  # max |z_out exact - z_out FIP| (real units)
    loss: float                   # max per-sample |loss(z_ex, y) - lhat_k(y)| (summed over outputs)
    z_out_per_sample: np.ndarray  # (N, d_L)
    loss_per_sample: np.ndarray   # (N,)
    per_layer: list               # [{layer, dev_z_max, dev_h_max, spline_error_max, lipschitz}]
    loss_lipschitz: float
    sound: bool                   # every constant used is a proven upper bound
    notes: list = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"z_out": _num(self.z_out), "loss": _num(self.loss), "per_layer": self.per_layer,
                "loss_lipschitz": _num(self.loss_lipschitz), "sound": self.sound, "notes": self.notes}


def _num(x):
    x = float(x)
    return x if np.isfinite(x) else "inf"


def approximation_bound(net: FIPNetwork) -> ApproxBound:
    """Worst-case deviation of the exact-activation network from the FIP network (same weights)."""
    spec = net.spec
    notes, sound = [], bool(net.sound)
    if not net.sound:
        notes.append("some spline errors rest on an estimated Lipschitz constant (user callables or the "
                     "off-grid loss): the bound is empirical there, not proven")
    dev_h = None
    per_layer = []
    for ly in net.layers:
        if ly.l == 1:
            dev_z = np.zeros((net.N, ly.d_out))
        else:
            dev_z = ly.alpha * ly.code.qmax * np.broadcast_to(dev_h.sum(axis=1, keepdims=True), (net.N, ly.d_out))
        if ly.is_output:
            z_abs = float(np.max(np.abs(ly.kappa * np.stack([ly.u_lo, ly.u_hi])))) + float(dev_z.max())
            llip, lsound = loss_lipschitz(spec.loss, z_abs)
            if not lsound:
                sound = False
                notes.append("loss Lipschitz constant estimated numerically (callable loss)")
            yi = net.y_index                                                   # (N, d)
            lerr = np.stack([_reachable_max(ly.loss_errors[:, :, y], ly, ly.u_lo_sample, ly.u_hi_sample)
                             for y in (0, 1)], axis=-1)                        # (N, d, 2)
            lerr = np.take_along_axis(lerr, yi[..., None], axis=-1)[..., 0]
            loss_ps = np.sum(_lip_times(llip, dev_z) + lerr, axis=1)
            per_layer.append({"layer": ly.l, "kind": "output", "dev_z_max": _num(dev_z.max()),
                              "loss_spline_error_max": _num(lerr.max()), "lipschitz": _num(llip)})
            return ApproxBound(z_out=float(dev_z.max()), loss=float(loss_ps.max()), z_out_per_sample=dev_z,
                               loss_per_sample=loss_ps, per_layer=per_layer, loss_lipschitz=llip,
                               sound=sound, notes=notes)
        lip, asound = activation_lipschitz(spec.activation[ly.l - 1])
        if not asound:
            sound = False
            notes.append(f"layer {ly.l}: activation Lipschitz constant estimated numerically (callable)")
        err = _reachable_max(ly.errors, ly, ly.u_lo_sample, ly.u_hi_sample)    # (N, d)
        dev_h = _lip_times(lip, dev_z) + err
        if np.isinf(lip) and np.any(dev_z > 0):
            notes.append(f"layer {ly.l}: discontinuous activation with a positive pre-activation deviation "
                         "(from earlier spline errors): the worst-case deviation is unbounded (inf); only a "
                         "first hidden layer can use a discontinuous activation with a finite bound")
        per_layer.append({"layer": ly.l, "kind": "hidden", "dev_z_max": _num(dev_z.max()),
                          "dev_h_max": _num(dev_h.max()), "spline_error_max": _num(err.max()),
                          "lipschitz": _num(lip)})
    raise AssertionError("unreachable: the last layer is the output")


def assignment_bound(net: FIPNetwork, codes) -> tuple[np.ndarray, np.ndarray]:
    """A-posteriori bound for given weights: (z_out bound (B, N, d_L), loss bound (B, N)).

    Same recursion as ``approximation_bound`` but with the actual |q_ji| and the sub-interval k the
    FIP network actually picks, so it is never larger than the worst case.
    """
    spec = net.spec
    fp = fip_forward(net, codes)
    dev_h = None
    for ly, q, k in zip(net.layers, codes, fp.k):
        jj = np.arange(ly.d_out)
        if ly.l == 1:
            dev_z = np.zeros(k.shape)
        else:
            dev_z = ly.alpha * _abs_q_times(dev_h, np.abs(q[:, :, :ly.d_in]))
        if ly.is_output:
            z_abs = float(np.max(np.abs(ly.kappa * np.stack([ly.u_lo, ly.u_hi])))) + float(dev_z.max())
            llip, _ = loss_lipschitz(spec.loss, z_abs)
            yi = net.y_index[None]                                             # (1, N, d)
            lerr = ly.loss_errors[jj[None, None, :], k, yi]
            return dev_z, np.sum(_lip_times(llip, dev_z) + lerr, axis=2)
        lip, _ = activation_lipschitz(spec.activation[ly.l - 1])
        dev_h = _lip_times(lip, dev_z) + ly.errors[jj[None, None, :], k]


def measured_deviation(net: FIPNetwork, codes) -> tuple[np.ndarray, np.ndarray]:
    """Measured (|z_out exact - z_out FIP| (B, N, d_L), |loss exact - spline loss| per sample (B, N))."""
    fp = fip_forward(net, codes)
    z_ex = exact_forward(net, codes, net.X)
    out = net.layers[-1]
    yi = net.y_index[None]
    jj = np.arange(out.d_out)[None, None, :]
    lhat = out.loss_levels[jj, fp.k[-1], yi]
    if out.loss_slopes is not None:
        lhat = lhat + out.loss_slopes[jj, fp.k[-1], yi] * (fp.u[-1] - out.t[jj, fp.k[-1]])
    lex = loss_fn(net.spec.loss)(z_ex, net.Y[None])
    return np.abs(z_ex - fp.z_out), np.abs(lex - lhat).sum(axis=2)


def random_weight_bits(net: FIPNetwork, n_cases: int, seed=0) -> np.ndarray:
    """(n_cases, n_weight_bits) uint8: uniform bits, plus biased draws (P(1) from 0.05 to 0.95) so
    that extreme codes (all +qmax, all -qmax, mostly zero) are visited too."""
    from qcbo_model.memory import check_memory
    n_w = net.spec.n_weight_bits()
    check_memory(float(n_cases) * n_w * 10, f"{n_cases} random assignments of {n_w} weight bits",
                 "use fewer --cases")
    rng = np.random.default_rng(seed)
    p = np.full(n_cases, 0.5)
    p[n_cases // 2:] = rng.uniform(0.05, 0.95, size=n_cases - n_cases // 2)
    return (rng.random((n_cases, n_w)) < p[:, None]).astype(np.uint8)


def check_approximation(net: FIPNetwork, n_cases: int = 200, seed=0, batch: int = 64) -> dict:
    """Bound vs measured deviation over the training samples and ``n_cases`` random weight assignments."""
    bound = approximation_bound(net)
    wbits = random_weight_bits(net, n_cases, seed)
    z_max = l_max = 0.0
    post_z_max = post_l_max = 0.0
    post_ok = True
    for s in range(0, n_cases, batch):
        codes = codes_from_bits(net, wbits[s:s + batch])
        dz, dl = measured_deviation(net, codes)
        bz, bl = assignment_bound(net, codes)
        post_ok &= bool(np.all(dz <= bz * (1 + FLOAT_TOL) + FLOAT_TOL) and np.all(dl <= bl * (1 + FLOAT_TOL) + FLOAT_TOL))
        z_max, l_max = max(z_max, float(dz.max())), max(l_max, float(dl.max()))
        post_z_max, post_l_max = max(post_z_max, float(bz.max())), max(post_l_max, float(bl.max()))
    tol = lambda b: b * (1 + FLOAT_TOL) + FLOAT_TOL   # noqa: E731
    return {
        "approx_error_bound": _num(bound.z_out),
        "loss_error_bound": _num(bound.loss),
        "measured_max_deviation": z_max,
        "measured_max_loss_deviation": l_max,
        "a_posteriori_bound_max": _num(post_z_max),
        "a_posteriori_loss_bound_max": _num(post_l_max),
        "a_posteriori_holds": post_ok,
        "bound_holds": bool(z_max <= tol(bound.z_out) and l_max <= tol(bound.loss)),
        "tightness": _num(bound.z_out / z_max) if z_max > 0 else ("exact" if bound.z_out == 0 else "inf"),
        "loss_tightness": _num(bound.loss / l_max) if l_max > 0 else "inf",
        "cases": int(n_cases), "seed": seed, "N": int(net.N),
        "bound": bound.to_dict(),
    }


# ---------------------------------------------------------------------------------------------
# spin count
def spin_count_closed_form(net: FIPNetwork, form: str = "interval") -> dict:
    """Closed-form number of binary variables, computed from the spec and the FIP ranges only.

    interval:  P*B + N * sum_l d_l K_l
    exact:     P*B + N * sum_l d_l K_l + N * sum_l d_l s_l m_l + N * sum_{l>=2} d_l d_{l-1} K_{l-1} B_l
      P*B = sum_l d_l (d_{l-1} + bias_l) B_l       weight bits, biases included
      m_l = floor(log2(W_l - 1)) + 1 (0 if W_l = 1), W_l = max_{j,k} (hi - lo + 1): bits of one slack
      s_l = 1 if all interval widths of layer l are equal (one member equality), else 2 (lower, upper)
      aux: one bit per (n, j, i, k, b) for the products w[l,j,i,b] * delta[l-1,n,i,k], l >= 2
    """
    spec, N = net.spec, net.N
    d, B = spec.widths, [c.n_bits for c in spec.codes]
    L = spec.n_layers
    PB = sum(d[l] * (d[l - 1] + int(spec.bias[l - 1])) * B[l - 1] for l in range(1, L + 1))
    ind = N * sum(d[l] * spec.intervals[l - 1] for l in range(1, L + 1))
    terms = {"weight_bits": PB, "indicator_bits": ind}
    text = "P*B + N*sum_l d_l*K_l"
    if form == "exact":
        if not spec.on_grid:
            raise BoundsError("the exact form needs input_bits (an integer grid); pass --input-bits B")
        slack = 0
        for ly in net.layers:
            W = ly.hi - ly.lo + 1
            Wmax = int(W.max())
            m = 0 if Wmax <= 1 else int(math.floor(math.log2(Wmax - 1))) + 1
            s = 1 if np.all(W == W.flat[0]) else 2
            slack += N * ly.d_out * s * m
        aux = N * sum(d[l] * d[l - 1] * spec.intervals[l - 2] * B[l - 1] for l in range(2, L + 1))
        terms.update(slack_bits=slack, aux_bits=aux)
        text += " + N*sum_l d_l*s_l*m_l + N*sum_{l>=2} d_l*d_{l-1}*K_{l-1}*B_l"
    elif form != "interval":
        raise BoundsError(f"form must be 'interval' or 'exact', got {form!r}")
    return {"total": int(sum(terms.values())), "terms": terms, "formula": text, "form": form}


# ---------------------------------------------------------------------------------------------
# sample complexity
def _check_eps_delta(epsilon, delta):
    if not (np.isfinite(epsilon) and epsilon > 0):
        raise BoundsError(f"epsilon must be a positive number, got {epsilon!r}")
    if not (0 < delta < 1):
        raise BoundsError(f"delta must be in (0, 1), got {delta!r}")


def sample_complexity(n_weight_bits: int, epsilon: float, delta: float, loss_range: float) -> dict:
    """ERM sample complexity for the finite class of 2^(P*B) quantized networks.

    Loss values in an interval of length M = loss_range; N i.i.d. samples. Hoeffding for one network
    h: P(|Lhat(h) - L(h)| >= t) <= 2 exp(-2 N t^2 / M^2). Union bound over |H| <= 2^(P*B):
    P(some h deviates by >= t) <= 2^(P*B) * 2 exp(-2 N t^2 / M^2) <= delta  iff
        N >= M^2 (P*B ln 2 + ln(2/delta)) / (2 t^2).
    With t = epsilon/2 the empirical minimizer h^ is epsilon-optimal:
        L(h^) <= Lhat(h^) + eps/2 <= Lhat(h*) + eps/2 <= L(h*) + eps,
    so N(eps, delta) = ceil(2 M^2 (P*B ln 2 + ln(2/delta)) / eps^2).
    ``uniform_deviation_N`` is the t = epsilon form (uniform deviation eps; ERM then 2 eps-optimal).
    """
    _check_eps_delta(epsilon, delta)
    if not (loss_range >= 0 and np.isfinite(loss_range)):
        raise BoundsError(f"loss_range must be finite and >= 0, got {loss_range!r}")
    log_h = n_weight_bits * math.log(2.0) + math.log(2.0 / delta)
    M2 = float(loss_range) ** 2
    return {"N": int(math.ceil(2.0 * M2 * log_h / epsilon ** 2)),
            "uniform_deviation_N": int(math.ceil(M2 * log_h / (2.0 * epsilon ** 2))),
            "epsilon": float(epsilon), "delta": float(delta), "loss_range": float(loss_range),
            "log_hypotheses": n_weight_bits * math.log(2.0), "n_weight_bits": int(n_weight_bits),
            "formula": "N = ceil(2 M^2 (P*B ln 2 + ln(2/delta)) / epsilon^2)",
            "assumptions": SAMPLE_ASSUMPTIONS}


SAMPLE_ASSUMPTIONS = [
    "samples are i.i.d. from a fixed distribution D",
    "the hypothesis class is fixed before seeing the sample: the FIP constants (scales alpha, "
    "breakpoints, levels) are set from data independent of the N training samples (e.g. a separate "
    "split or data-free input bounds); FIPNetwork computes them from the training set itself, which "
    "this bound does not cover",
    "the loss is the splined loss of the FIP network, with values in [a, b], M = b - a (sum over outputs "
    "of each output's level range)",
    "|H| <= 2^(P*B): every weight bit pattern is one network (invalid ternary patterns decode to a valid "
    "network, so they only repeat members)",
    "the empirical minimum is found exactly (a solver gap adds to epsilon)",
]


def loss_range(net: FIPNetwork) -> tuple[float, float]:
    """[a, b] of the per-sample splined loss sum_j lhat_k(y): sum over outputs of min / max level."""
    lv = net.layers[-1].loss_levels                        # (d, K, 2)
    if net.layers[-1].loss_slopes is not None:
        out = net.layers[-1]
        ends = lv + out.loss_slopes * (out.t[:, 1:, None] - out.t[:, :-1, None])
        lv = np.concatenate([lv, ends], axis=1)
    return float(lv.min(axis=(1, 2)).sum()), float(lv.max(axis=(1, 2)).sum())


def spin_bound(net: FIPNetwork, epsilon: float, delta: float, form: str = "interval") -> dict:
    """Spins needed to train to epsilon-optimality w.p. 1 - delta, independent of the dataset size:
    P*B + N(eps, delta) * (per-sample spins), per-sample spins = sum_l d_l K_l (interval form; the
    exact form adds the per-sample slack and aux bits)."""
    sc = spin_count_closed_form(net, form)
    a, b = loss_range(net)
    s = sample_complexity(sc["terms"]["weight_bits"], epsilon, delta, b - a)
    per_sample = (sc["total"] - sc["terms"]["weight_bits"]) // net.N
    return {"spin_bound": sc["terms"]["weight_bits"] + s["N"] * per_sample, "per_sample_spins": per_sample,
            "weight_bits": sc["terms"]["weight_bits"], "N_eps_delta": s["N"], "form": form,
            "formula": "P*B + N(eps, delta) * " + ("sum_l d_l K_l" if form == "interval"
                                                   else "(sum_l d_l K_l + slack + aux per sample)"),
            "sample_complexity": s}


# ---------------------------------------------------------------------------------------------
# time to solution
def tts(t_call: float, p: float, target: float = 0.99) -> float:
    """Time to reach the target with probability ``target`` from independent calls of success p.

    TTS = t_call * ln(1 - target) / ln(1 - p), at least one call (p = 1 -> t_call; p = 0 -> inf).
    """
    if not (0.0 <= p <= 1.0):
        raise BoundsError(f"success probability must be in [0, 1], got {p!r}")
    if not (0.0 < target < 1.0):
        raise BoundsError(f"target probability must be in (0, 1), got {target!r}")
    if t_call < 0:
        raise BoundsError(f"t_call must be >= 0, got {t_call!r}")
    if p >= 1.0:
        return float(t_call)
    if p <= 0.0:
        return math.inf
    return float(t_call) * max(1.0, math.log(1.0 - target) / math.log(1.0 - p))


def tts99(t_call: float, p: float) -> float:
    return tts(t_call, p, 0.99)


def qcgd_time_to_solution(trace, wall_time_s: float | None = None, target: float = 0.99, success=None) -> dict:
    """Predicted vs measured time of a QCGD solve from its per-iteration oracle trace.

    ``trace``: one entry per iteration, either a tuple (oracle_time_s, success) or a dict with
    - time: ``oracle_time_s`` (this iteration's oracle time), or else ``time_s`` read as the
      cumulative time since the start (the convention of ``solvers.qcgd`` traces): differences are taken;
    - success: ``success`` (bool), or ``successes`` and ``reads``, or else ``success(entry) -> bool``
      given here (e.g. ``lambda e: e["oracle_energy"] <= target_energy``);
    - entries that carry ``oracle_calls`` and made no new call (QCGD's local-search phase) are skipped.
    p = successes / calls; t_call = mean time per call; predicted = iterations * TTS(t_call, p)
    (each iteration repeats its oracle call until it succeeds with probability ``target``), compared
    with the measured oracle time and, if given, the wall time.
    """
    if trace is None or len(trace) == 0:
        raise BoundsError("the trace is empty: pass one entry per QCGD iteration")
    raw, reads, succ = [], [], 0
    prev_cum, prev_calls, iters = 0.0, None, 0
    for i, e in enumerate(trace):
        if isinstance(e, dict) and "oracle_calls" in e:
            calls_now = int(e["oracle_calls"])
            made_call = prev_calls is None or calls_now > prev_calls
            prev_calls = calls_now
            if not made_call:            # e.g. QCGD's final local search: no oracle call, not counted
                if "time_s" in e:
                    prev_cum = float(e["time_s"])
                continue
        iters += 1
        if isinstance(e, dict):
            if "oracle_time_s" in e:
                t = float(e["oracle_time_s"])
            elif "time_s" in e:
                t = float(e["time_s"]) - prev_cum
                prev_cum = float(e["time_s"])
            else:
                raise BoundsError(f"trace entry {i} has no 'oracle_time_s' (or cumulative 'time_s')")
            if "successes" in e:
                s_, r = int(e["successes"]), int(e.get("reads", 1))
            elif "success" in e:
                s_, r = int(bool(e["success"])), 1
            elif success is not None:
                s_, r = int(bool(success(e))), 1
            else:
                raise BoundsError(f"trace entry {i} has no 'success' (or 'successes' and 'reads'); "
                                  "pass success=callable(entry) -> bool")
        else:
            try:
                t, ok = e
            except (TypeError, ValueError):
                raise BoundsError(f"trace entry {i} must be a dict or (oracle_time_s, success), got {e!r}") from None
            t, s_, r = float(t), int(bool(ok)), 1
        if t < 0:
            raise BoundsError(f"trace entry {i}: negative time {t} (is 'time_s' cumulative and increasing?)")
        raw.append(t)
        reads.append(max(r, 1))
        succ += s_
    if iters == 0:
        raise BoundsError("the trace has no oracle call")
    calls = int(sum(reads))
    t_call = float(np.sum(raw) / calls)
    p = succ / calls
    per = tts(t_call, p, target)
    out = {"iterations": iters, "calls": calls, "success_probability": p, "t_call_s": t_call,
           "tts_per_call_s": _num(per), "predicted_total_s": _num(iters * per),
           "measured_oracle_s": float(sum(raw)), "target": target}
    if wall_time_s is not None:
        out["measured_wall_s"] = float(wall_time_s)
        out["predicted_over_measured"] = _num(iters * per / wall_time_s) if wall_time_s > 0 else "inf"
    return out
