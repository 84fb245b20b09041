"""Algebraic verification of a FIP-QCBO: each check returns a ``CheckResult`` (passed/failed/skipped).

(a) pyomo_vs_assemble   the explicit Pyomo model, extracted through pyomo.repn, equals the assembled QCBO
(b) forward_completion  completions of random weights are feasible; objective == independent forward pass
(c) transpile           penalty QUBO / Ising energies (pyqubo) == QCBO objective + penalties
(d) exact_solvers       HiGHS optimum == exhaustive optimum (small instances)
(e) fip_bounds          realized pre-activations lie inside the propagated per-sample bounds
(f) forms_agree         interval and exact forms admit the same networks and share the exact optimum
(g) decomposed_bound    the decomposed lower bound never exceeds HiGHS's certified optimum (QCGD compared)

    >>> results = run_checks(prob, n_cases=1000, seed=0)        # doctest: +SKIP
    >>> print(format_table(results))                             # doctest: +SKIP
"""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

import numpy as np

from qcbo_model.forward import forward_completion
from qcbo_model.problem import build_problem

from .reference import reference_pass

PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"
TOL = 1e-9          # relative tolerance of algebraic identities
EXACT_MAX_BITS = 20  # (d), (f): exact optima only up to 2^20 weight assignments


@dataclass
class CheckResult:
    name: str
    status: str
    n_cases: int = 0
    max_discrepancy: float | None = None
    note: str = ""
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _rel(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.max(np.abs(a - b) / np.maximum(1.0, np.abs(b)), initial=0.0))


def _random_wbits(prob, n, rng):
    return rng.integers(0, 2, size=(n, prob.n_weight_bits), dtype=np.uint8)


def _verdict(name, disc, n, note="", tol=TOL):
    return CheckResult(name, PASSED if disc <= tol else FAILED, n, disc, note)


# ---------------------------------------------------------------------------------------------
def check_pyomo_vs_assemble(prob, n_cases, rng) -> CheckResult:
    from qcbo_model.extract import from_pyomo
    ref = from_pyomo(prob.pyomo_model())
    q = prob.qcbo
    try:
        d = q.compare(ref)
    except Exception as e:          # names differ: a structural failure, not a crash
        return CheckResult("pyomo_vs_assemble", FAILED, 0, None, f"structure differs: {e}")
    coef = max(d[k] for k in ("Q", "c", "const", "A", "P", "lb", "ub"))
    X = rng.integers(0, 2, size=(n_cases, q.n), dtype=np.uint8)
    val = max(_rel(q.objective(X), ref.objective(X)), _rel(q.constraint_values(X), ref.constraint_values(X)))
    worst = max(coef, val)
    note = f"max coefficient diff {coef:.3g} ({max(d, key=lambda k: d[k] if isinstance(d[k], float) else -1)})"
    if not (d["lb_inf_match"] and d["ub_inf_match"]):
        return CheckResult("pyomo_vs_assemble", FAILED, n_cases, worst, note + "; open sides differ")
    return _verdict("pyomo_vs_assemble", worst, n_cases, note)


def check_forward_completion(prob, n_cases, rng) -> CheckResult:
    W = _random_wbits(prob, n_cases, rng)
    X = prob.complete(W)
    feas = prob.qcbo.is_feasible(X)
    loss, _, _ = reference_pass(prob.net, W)
    disc = _rel(prob.qcbo.objective(X), loss)
    n_bad = int(np.count_nonzero(~feas))
    if n_bad:
        return CheckResult("forward_completion", FAILED, n_cases, disc,
                           f"{n_bad} completions infeasible (worst violation "
                           f"{prob.qcbo.violations(X[~feas]).max():.3g})")
    return _verdict("forward_completion", disc, n_cases, "all completions feasible; objective vs reference pass")


def check_transpile_energy(prob, n_cases, seed) -> CheckResult:
    from solvers.compile.transpile import check_transpile
    rng = np.random.default_rng(seed)
    Xf = prob.complete(_random_wbits(prob, min(n_cases, 32), rng))
    d = check_transpile(prob.qcbo, n_cases=n_cases, seed=seed, X_feasible=Xf)
    note = "binary x -> spin s = 2x - 1; E = objective + sum_r lambda_r penalty_r (slack bits); " + str(d.get("note", ""))
    return CheckResult("transpile", d["status"], int(d["n_cases"]), float(d["max_discrepancy"]), note)


def check_exact_solvers(prob, time_limit) -> CheckResult:
    from solvers import SolutionStatus, solve
    from solvers.exact.exhaustive import n_patterns
    total = n_patterns(prob.net)
    if total > (1 << EXACT_MAX_BITS):
        return CheckResult("exact_solvers", SKIPPED, 0, None,
                           f"skipped: 2^{np.log2(float(total)):.3g} weight assignments > 2^{EXACT_MAX_BITS}")
    h = solve(prob, "highs", time_limit=time_limit)
    if h.solution_status != SolutionStatus.optimal:
        return CheckResult("exact_solvers", SKIPPED, 0, None,
                           f"skipped: HiGHS did not certify within {time_limit:g} s ({h.info['statement']})")
    e = solve(prob, "exhaustive")
    disc = _rel(h.objective, e.objective)
    ok = disc <= 1e-7 and h.feasible and e.feasible
    return CheckResult("exact_solvers", PASSED if ok else FAILED, 1, disc,
                       f"HiGHS {h.objective:.10g} ({h.info['node_count']} nodes) vs exhaustive {e.objective:.10g} "
                       f"over {e.info['n_patterns']} assignments")


def check_fip_bounds(prob, n_cases, rng) -> CheckResult:
    W = _random_wbits(prob, n_cases, rng)
    _, us, _ = reference_pass(prob.net, W)
    worst, where = 0.0, ""
    for ly, u in zip(prob.net.layers, us):
        scale = 1.0 + np.maximum(np.abs(ly.u_lo_sample), np.abs(ly.u_hi_sample))
        ex = np.maximum(ly.u_lo_sample[None] - u, u - ly.u_hi_sample[None]) / scale[None]
        ex = max(float(ex.max()), 0.0)
        if ex > worst:
            worst, where = ex, f" (layer {ly.l})"
    return _verdict("fip_bounds", worst, n_cases, "excess of u over [u_lo, u_hi] per sample" + where)


def _exact_optimum(prob, time_limit):
    from solvers import SolutionStatus, solve
    h = solve(prob, "highs", time_limit=time_limit)
    if h.solution_status == SolutionStatus.optimal:
        return h.objective, "highs"
    return solve(prob, "exhaustive").objective, "exhaustive"


def check_forms(X, y, spec, n_cases, rng, time_limit) -> CheckResult:
    note = ""
    if not spec.on_grid:
        spec = dataclasses.replace(spec, input_bits=2)
        note = "built with input_bits=2 (the exact form needs the integer grid); "
    pi = build_problem(X, y, spec, "interval")
    pe = build_problem(X, y, spec, "exact")
    W = _random_wbits(pi, n_cases, rng)
    Xi, Xe = forward_completion(pi.net, W, "interval", pi.layout), forward_completion(pe.net, W, "exact", pe.layout)
    bad_i, bad_e = int((~pi.qcbo.is_feasible(Xi)).sum()), int((~pe.qcbo.is_feasible(Xe)).sum())
    disc = _rel(pi.qcbo.objective(Xi), pe.qcbo.objective(Xe))
    note += f"{bad_i} interval / {bad_e} exact completions infeasible; objectives differ by {disc:.3g}"
    from solvers.exact.exhaustive import n_patterns
    if n_patterns(pi.net) <= (1 << EXACT_MAX_BITS):
        oi, mi = _exact_optimum(pi, time_limit)
        oe, me = _exact_optimum(pe, time_limit)
        d_opt = _rel(oi, oe)
        disc = max(disc, d_opt)
        note += f"; exact optima interval {oi:.10g} ({mi}) vs exact {oe:.10g} ({me})"
    else:
        note += "; optima not compared (too many weight assignments)"
    ok = bad_i == 0 and bad_e == 0 and disc <= 1e-7
    return CheckResult("forms_agree", PASSED if ok else FAILED, n_cases, disc, note)


# ---------------------------------------------------------------------------------------------
def check_decomposed_bound(prob, time_limit) -> CheckResult:
    """The decomposed lower bound never exceeds the certified optimum; QCGD with the CIM is compared."""
    from solvers import SolutionStatus, solve
    h = solve(prob, "highs", time_limit=time_limit)
    if h.solution_status != SolutionStatus.optimal:
        return CheckResult("decomposed_bound", SKIPPED, 0, None,
                           f"skipped: HiGHS did not certify within {time_limit:g} s ({h.info['statement']})")
    b = solve(prob, "decomposed-bound", time_limit=time_limit, warm_start=h.x[:prob.n_weight_bits],
              batch_size=min(4, prob.net.N))
    excess = max(b.bound - h.objective, 0.0)
    q = solve(prob, "qcgd", oracle="cim", objective="spline", batches=2, iterations=30,
              oracle_options={"num_steps": 400}, time_limit=time_limit)
    hit = abs(q.objective - h.objective) <= 1e-9 * max(1.0, abs(h.objective))
    return CheckResult("decomposed_bound", PASSED if excess <= 1e-9 else FAILED, 1, excess,
                       f"bound {b.bound:.10g} <= optimum {h.objective:.10g} (batches of {b.info['batch_size']}); "
                       f"QCGD with the CIM: {q.objective:.10g} ({'the optimum' if hit else 'not the optimum'})")


CHECKS = ("pyomo_vs_assemble", "forward_completion", "transpile", "exact_solvers", "fip_bounds", "forms_agree",
          "decomposed_bound")


def run_checks(prob, n_cases: int = 1000, seed: int = 0, time_limit: float = 30.0, only=None,
               X=None, y=None) -> list[CheckResult]:
    """Run the verification checks on a built problem (``build_problem``); returns one result each.

    ``X, y`` default to the problem's training data (``prob.net.X/Y``); check (f) rebuilds both forms.
    A check that crashes is reported as failed with the exception, never skipped silently.
    """
    from qcbo_model.memory import check_memory
    if isinstance(n_cases, bool) or not isinstance(n_cases, (int, np.integer)) or n_cases < 1:
        raise ValueError(f"n_cases must be an integer >= 1, got {n_cases!r}")
    # random assignments, their completions and constraint values (float64), a few copies at once
    check_memory(float(n_cases) * (prob.qcbo.n + prob.qcbo.m) * 8 * 4,
                 f"verifying with {n_cases} random assignments of {prob.qcbo.n} binaries",
                 "use fewer --cases")
    rng = np.random.default_rng(seed)
    X = prob.net.X if X is None else X
    y = prob.net.Y if y is None else y
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    runners = {
        "pyomo_vs_assemble": lambda: check_pyomo_vs_assemble(prob, n_cases, rng),
        "forward_completion": lambda: check_forward_completion(prob, n_cases, rng),
        "transpile": lambda: check_transpile_energy(prob, n_cases, seed),
        "exact_solvers": lambda: check_exact_solvers(prob, time_limit),
        "fip_bounds": lambda: check_fip_bounds(prob, n_cases, rng),
        "forms_agree": lambda: check_forms(X, y, prob.spec, min(n_cases, 256), rng, time_limit),
        "decomposed_bound": lambda: check_decomposed_bound(prob, time_limit),
    }
    out = []
    for name in (only or CHECKS):
        t0 = time.perf_counter()
        try:
            r = runners[name]()
        except Exception as e:  # a crash is a failure of the check, reported with its cause
            r = CheckResult(name, FAILED, 0, None, f"error: {type(e).__name__}: {e}")
        r.seconds = time.perf_counter() - t0
        out.append(r)
    return out


def all_passed(results) -> bool:
    """True iff every check that ran passed (skipped checks do not count)."""
    return all(r.status != FAILED for r in results)


def format_table(results) -> str:
    rows = [("check", "status", "cases", "max discrepancy", "s", "note")]
    for r in results:
        d = "-" if r.max_discrepancy is None else f"{r.max_discrepancy:.3g}"
        rows.append((r.name, r.status.upper(), str(r.n_cases), d, f"{r.seconds:.2f}", r.note))
    w = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = ["  ".join(row[i].ljust(w[i]) for i in range(5)) + "  " + row[5] for row in rows]
    lines.insert(1, "-" * (sum(w) + 10 + 4))
    return "\n".join(lines)
