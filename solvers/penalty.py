"""Penalty baseline: one QUBO  f(x) + lambda * sum_r penalty_r(x, s, y)  per lambda of a grid, same oracles as QCGD.

The QCBO is compiled once through pyqubo by ``solvers.transpile`` (Constraints weighted by the
Placeholder ``lam``, bounded log-encoded slack bits for inequalities, Rosenberg-linearized products for
quadratic rows that are not nonneg); each lambda only re-evaluates the compiled model
(``backend='direct'`` builds the same matrices with scipy, for large models where pyqubo is slow).

Per lambda we report two clearly separated numbers:
* ``feasible_rate`` / ``best_feasible_decoded``: samples decoded as they are (QCBO variables of the
  QUBO sample) and checked against the QCBO (the honest penalty-method result);
* ``best_after_completion``: the samples' weight bits completed by the forward pass (always feasible;
  this credits the penalty QUBO with the repair that QCGD also uses).
"""
from __future__ import annotations

import time

import numpy as np

from .oracle import get_oracle, Oracle

__all__ = ["penalty_grid", "solve_from_args", "DEFAULT_LAMBDAS"]

DEFAULT_LAMBDAS = (0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0)


def penalty_grid(problem, lambdas=DEFAULT_LAMBDAS, oracle="sa", oracle_kw=None, reads: int = 32,
                 calls_per_lambda: int = 1, backend: str = "pyqubo", slack_resolution: float = 1.0 / 64,
                 seed: int = 0) -> dict:
    """Run the penalty baseline over a lambda grid on a FIPProblem or bare QCBO."""
    from .qcgd import QCGDError, _make_oracle
    from .transpile import penalty_qubo_direct, plan_transpile, qcbo_to_pyqubo
    if len(lambdas) < 1:
        raise QCGDError("give at least one penalty weight")
    t0 = time.perf_counter()
    prob = problem if hasattr(problem, "complete") else None
    q = problem.qcbo if prob is not None else problem
    orc = oracle if isinstance(oracle, Oracle) else _make_oracle(oracle, oracle_kw)
    plan = plan_transpile(q, slack_resolution=slack_resolution)
    if backend == "pyqubo":
        model = qcbo_to_pyqubo(q, plan=plan)
        to_qubo = model.to_qubo
    elif backend == "direct":
        to_qubo = lambda lam: penalty_qubo_direct(q, lam, plan=plan)   # noqa: E731
    else:
        raise QCGDError(f"backend must be 'pyqubo' or 'direct', got {backend!r}")
    t_compile = time.perf_counter() - t0
    seeds = np.random.default_rng(np.random.SeedSequence(seed))
    rows, best = [], dict(objective=None, x=None, lam=None, source=None)
    for lam in lambdas:
        t1 = time.perf_counter()
        Qp = to_qubo(float(lam))
        Z = np.concatenate([orc.sample(Qp, num_reads=reads, seed=int(seeds.integers(2 ** 63 - 1))).samples
                            for _ in range(calls_per_lambda)])
        X = plan.restrict(Z)
        feas = q.is_feasible(X)
        obj = q.objective(X)
        dec = float(obj[feas].min()) if feas.any() else None
        row = dict(lam=float(lam), feasible_rate=float(feas.mean()), best_feasible_decoded=dec,
                   oracle_calls=calls_per_lambda, samples=int(len(X)), time_s=time.perf_counter() - t1)
        if dec is not None and (best["objective"] is None or dec < best["objective"]):
            best.update(objective=dec, x=X[np.flatnonzero(feas)[np.argmin(obj[feas])]], lam=float(lam),
                        source="decoded")
        if prob is not None:
            Xc = prob.complete(X[:, :prob.n_weight_bits])
            oc = q.objective(Xc)
            row["best_after_completion"] = float(oc.min())
            if best["objective"] is None or oc.min() < best["objective"]:
                best.update(objective=float(oc.min()), x=Xc[int(np.argmin(oc))], lam=float(lam),
                            source="completion")
        rows.append(row)
    return {"grid": rows, "best": best, "n_qubo_variables": plan.n_total, "n_slack_bits": plan.n_slack,
            "n_product_bits": plan.n_prod, "backend": backend, "compile_time_s": t_compile,
            "wall_time_s": time.perf_counter() - t0, "oracle": orc.name,
            "oracle_calls": calls_per_lambda * len(lambdas)}


def solve_from_args(prob, args) -> dict:
    """``qcbo-qnn solve --solver penalty``: report in the highs layout plus the per-lambda grid."""
    from .qcgd import oracle_from_args
    name, kw = oracle_from_args(args)
    lams = getattr(args, "penalty_lambdas", None) or DEFAULT_LAMBDAS
    if isinstance(lams, str):
        lams = [float(t) for t in lams.split(",") if t.strip()]
    res = penalty_grid(prob, lams, oracle=name, oracle_kw=kw, reads=int(getattr(args, "reads", None) or 32),
                       seed=int(getattr(args, "seed", 0) or 0))
    b = res["best"]
    rep = {"solver": "penalty", "status": "feasible" if b["objective"] is not None else "infeasible",
           "objective": b["objective"], "bound": None, "gap": None, "feasible": b["objective"] is not None,
           "n_variables": prob.qcbo.n, "n_constraints": prob.qcbo.m, "wall_time_s": res["wall_time_s"],
           "oracle": res["oracle"], "oracle_calls": res["oracle_calls"], "best_lambda": b["lam"],
           "best_from": b["source"], "grid": res["grid"], "n_product_bits": res["n_product_bits"],
           "n_qubo_variables": res["n_qubo_variables"]}
    if b["x"] is not None:
        rep["x"] = np.asarray(b["x"])
        rep["weights"] = prob.decode(b["x"]).to_dict()
        rep["train_accuracy"] = prob.accuracy(b["x"], prob.net.X, prob.net.Y)
    return rep
