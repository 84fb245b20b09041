"""Penalty baseline: one QUBO  f(x) + lambda * sum_r h_r(x, s)^2  per lambda of a grid, same oracles as QCGD.

The penalty parts are compiled once (``solvers.lift.restricted_penalty`` with every variable free:
linear rows squared, inequalities with bounded slack bits, nonneg rows as they are) and combined
numerically per lambda.  Quadratic rows that are not nonneg (interval form with hidden layers: products
w * delta) would need a degree reduction; they are left out and counted in ``dropped_rows`` -- use the
exact form (--form exact --input-bits B), where every row is linear or nonneg.

Per lambda we report two clearly separated numbers:
* ``feasible_rate`` / ``best_feasible_decoded``: samples decoded as they are and checked against the
  QCBO (the honest penalty-method result);
* ``best_after_completion``: the samples' weight bits completed by the forward pass (always feasible;
  this credits the penalty QUBO with the repair that QCGD also uses).
"""
from __future__ import annotations

import time

import numpy as np

from .lift import restricted_penalty
from .oracle import get_oracle, Oracle

__all__ = ["penalty_grid", "solve_from_args", "DEFAULT_LAMBDAS"]

DEFAULT_LAMBDAS = (0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0)


def penalty_grid(problem, lambdas=DEFAULT_LAMBDAS, oracle="sa", oracle_kw=None, reads: int = 32,
                 calls_per_lambda: int = 1, slack_bits: int = 4, seed: int = 0) -> dict:
    """Run the penalty baseline over a lambda grid on a FIPProblem or bare QCBO."""
    from .qcgd import _make_oracle
    t0 = time.perf_counter()
    prob = problem if hasattr(problem, "complete") else None
    q = problem.qcbo if prob is not None else problem
    orc = oracle if isinstance(oracle, Oracle) else _make_oracle(oracle, oracle_kw)
    parts = restricted_penalty(q, None, None, slack_bits=slack_bits)
    t_compile = time.perf_counter() - t0
    seeds = np.random.default_rng(np.random.SeedSequence(seed))
    rows, best = [], dict(objective=None, x=None, lam=None, source=None)
    for lam in lambdas:
        t1 = time.perf_counter()
        Qp = parts.qubo(float(lam))
        Z = []
        for _ in range(calls_per_lambda):
            S = orc.sample(Qp, num_reads=reads, seed=int(seeds.integers(2 ** 63 - 1)))
            Z.append(S.samples)
        Z = np.concatenate(Z)
        X = parts.expand(Z, np.zeros(q.n))
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
    return {"grid": rows, "best": best, "n_qubo_variables": parts.nz, "n_slack_bits": parts.n_slack,
            "dropped_rows": int(len(parts.dropped_rows)), "compile_time_s": t_compile,
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
           "best_from": b["source"], "grid": res["grid"], "dropped_rows": res["dropped_rows"],
           "n_qubo_variables": res["n_qubo_variables"]}
    if b["x"] is not None:
        rep["weights"] = prob.decode(b["x"]).to_dict()
        rep["train_accuracy"] = prob.accuracy(b["x"], prob.net.X, prob.net.Y)
    return rep
