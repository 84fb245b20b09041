"""Penalty baseline: one QUBO  f(x) + lambda * sum_r penalty_r(x, s, y)  per lambda of a grid, same oracles as QCGD.

The QCBO is compiled once through pyqubo by ``solvers.compile.transpile`` (Constraints weighted by the
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
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._util import progress_bar
from ..compile.transpile import penalty_qubo_direct, plan_transpile, qcbo_to_pyqubo
from ..config import MethodConfig, check_oracle, option
from ..ising.registry import get_oracle
from ..result import Termination, finish

__all__ = ["PenaltyConfig", "run", "DEFAULT_LAMBDAS"]

DEFAULT_LAMBDAS = (0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0)


@dataclass(frozen=True)
class PenaltyConfig(MethodConfig):
    """Settings of the penalty baseline (``solve(problem, 'penalty', ...)``)."""

    oracle: Any = option("sa", "Ising oracle for the penalty QUBOs (registered name or Oracle)", kind="any")
    oracle_options: dict = option({}, "options for the oracle's constructor", kind="dict", cli=False)
    lambdas: tuple = option(DEFAULT_LAMBDAS, "penalty weights tried (one QUBO each)", kind="floats",
                            min=0, exclusive_min=True)
    reads: int = option(32, "oracle reads per call", kind="int", min=1)
    calls_per_lambda: int = option(1, "oracle calls per penalty weight", kind="int", min=1)
    backend: str = option("pyqubo", "QUBO compiler: pyqubo (reference) or direct (scipy, for large models)",
                          kind="str", choices=("pyqubo", "direct"))
    slack_resolution: float = option(1.0 / 64, "slack grid step of real-coefficient rows, relative to the "
                                     "row's largest coefficient", kind="float", min=0, exclusive_min=True)
    time_limit: Any = option(None, "seconds (None: no limit; checked between penalty weights)", kind="float",
                             min=0, exclusive_min=True, allow_none=True)
    seed: int = option(0, "seed of the oracle calls", kind="int", min=0)

    def __post_init__(self):
        super().__post_init__()
        check_oracle(type(self).__name__, self.oracle)


def run(problem, cfg: PenaltyConfig, progress: bool = False):
    """The penalty baseline over the lambda grid on a FIPProblem or bare QCBO; a SolveResult whose
    ``info['grid']`` holds one row per lambda (module docstring)."""
    t0 = time.perf_counter()
    prob = problem if hasattr(problem, "complete") else None
    q = problem.qcbo if prob is not None else problem
    orc = get_oracle(cfg.oracle, **cfg.oracle_options)
    plan = plan_transpile(q, slack_resolution=cfg.slack_resolution)
    if cfg.backend == "pyqubo":
        to_qubo = qcbo_to_pyqubo(q, plan=plan).to_qubo
    else:
        to_qubo = lambda lam: penalty_qubo_direct(q, lam, plan=plan)   # noqa: E731
    t_compile = time.perf_counter() - t0
    seeds = np.random.default_rng(np.random.SeedSequence(cfg.seed))
    rows, best = [], dict(objective=None, x=None, lam=None, source=None)
    calls, o_time = 0, 0.0
    termination = Termination.iteration_limit
    bar = progress_bar(cfg.lambdas, desc=f"penalty ({orc.name})", enabled=progress)
    try:
        for lam in bar:
            if cfg.time_limit is not None and rows and time.perf_counter() - t0 > cfg.time_limit:
                termination = Termination.time_limit
                break
            t1 = time.perf_counter()
            Qp = to_qubo(float(lam))
            parts = []
            for _ in range(cfg.calls_per_lambda):
                ts = time.perf_counter()
                parts.append(orc.sample(Qp, num_reads=cfg.reads, seed=int(seeds.integers(2 ** 63 - 1))).samples)
                o_time += time.perf_counter() - ts
                calls += 1
            X = plan.restrict(np.concatenate(parts))
            feas = q.is_feasible(X)
            obj = q.objective(X)
            dec = float(obj[feas].min()) if feas.any() else None
            row = dict(lam=float(lam), feasible_rate=float(feas.mean()), best_feasible_decoded=dec,
                       oracle_calls=cfg.calls_per_lambda, samples=int(len(X)), time_s=time.perf_counter() - t1)
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
    except KeyboardInterrupt:
        termination = Termination.interrupted
    finally:
        bar.close()
    if best["x"] is None and termination == Termination.iteration_limit:
        termination = Termination.infeasible
    return finish("penalty", problem, best["x"], termination, config=cfg, trace=rows,
                  wall_time_s=time.perf_counter() - t0, oracle=orc.name, oracle_calls=calls, oracle_time_s=o_time,
                  info={"grid": rows, "best_lambda": best["lam"], "best_from": best["source"],
                        "n_qubo_variables": plan.n_total, "n_slack_bits": plan.n_slack,
                        "n_product_bits": plan.n_prod, "backend": cfg.backend, "compile_time_s": t_compile})
