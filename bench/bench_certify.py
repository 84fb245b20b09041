"""How large a FIP instance does HiGHS certify optimal within a time limit? Does symmetry breaking help?

    python bench/bench_certify.py --time-limit 60 --budget 780 --out bench/results/certify.json

For each (pool, hidden, K) the number of training samples N doubles until HiGHS no longer proves
optimality within the limit (then that configuration stops).  One thread; prints a markdown table.
HiGHS runs through ``solvers.solve(prob, "highs", ...)``; ``status`` in the JSON is the old summary
(optimal | time_limit | tolerance_violation | no_incumbent | infeasible | error), ``termination`` and
``solution_status`` are the SolveResult's.  Fashion-MNIST is found by ``qcbo_model.data`` (../shared
beside the repository, $QCBO_DATA_DIR, ...).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from qcbo_model.data import load_dataset
from qcbo_model.problem import build_problem
from qcbo_model.spec import NetworkSpec
from solvers import SolutionStatus, Termination, solve
from solvers.exact.highs import symmetric_layers

# (pool, hidden, bits, intervals): pool 14 -> 4 inputs, 7 -> 16 inputs, 4 -> 49 inputs
CONFIGS = [
    (14, (2,), ("1", "1"), (2, 4)),
    (14, (4,), ("1", "1"), (2, 4)),
    (14, (2,), ("1", "1"), (4, 4)),
    (7, (), ("1",), (4,)),
    (7, (2,), ("1", "1"), (2, 4)),
    (4, (), ("1",), (4,)),
    (4, (2,), ("1", "1"), (2, 4)),
]
NS = (8, 16, 32, 64, 128)


def highs_status(r) -> str:
    """The one-word summary the old HighsResult.status gave (what the tables and the N-doubling use):
    'optimal' only for a proved optimum on a point HiGHS found feasible itself."""
    if r.termination == Termination.error and r.info.get("highs_termination") not in (None, "error"):
        return r.info["highs_termination"]          # a Pyomo condition without a Termination of its own
    if r.x is None:
        return "no_incumbent" if r.termination == Termination.time_limit else str(r.termination)
    if r.termination == Termination.optimal and r.solution_status != SolutionStatus.optimal:
        return "tolerance_violation"                # HiGHS's point violated the QCBO and was repaired
    return str(r.termination)


def run_one(pool, hidden, bits, intervals, N, time_limit, sym=False):
    ds = load_dataset("fashion-mnist", classes=(0, 1), n_train=N, n_test=500, pool=pool, seed=0)
    spec = NetworkSpec(input_dim=ds.X_train.shape[1], hidden=hidden, bits=bits, intervals=intervals)
    prob = build_problem(ds.X_train, ds.y_train, spec)
    t0 = time.perf_counter()
    r = solve(prob, "highs", time_limit=time_limit, threads=1, symmetry_breaking=sym)
    return {"pool": pool, "d0": ds.X_train.shape[1], "hidden": list(hidden), "bits": list(bits),
            "K": list(intervals), "N": N, "n_binaries": prob.qcbo.n, "n_weight_bits": prob.n_weight_bits,
            "n_constraints": prob.qcbo.m, "n_products": r.info["n_products"], "symmetry_breaking": sym,
            "status": highs_status(r), "termination": str(r.termination), "solution_status": str(r.solution_status),
            "feasible": r.feasible, "repaired": r.info["repaired"], "objective": r.objective, "bound": r.bound,
            "gap": r.gap, "nodes": r.info["node_count"], "solve_s": r.wall_time_s, "total_s": time.perf_counter() - t0,
            "test_accuracy": None if r.x is None else prob.accuracy(r.x, ds.X_test, ds.y_test),
            "symmetric_layers": symmetric_layers(prob.net)}


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--time-limit", type=float, default=60.0)
    p.add_argument("--budget", type=float, default=780.0, help="stop starting new runs after this many s")
    p.add_argument("--sym-n", type=int, nargs="*", default=[16, 32], help="N for the symmetry comparison")
    p.add_argument("--out", default=str(Path(__file__).resolve().parent / "results" / "certify.json"))
    a = p.parse_args(argv)
    t_start = time.perf_counter()
    rows = []
    for pool, hidden, bits, K in CONFIGS:
        for N in NS:
            if time.perf_counter() - t_start > a.budget:
                break
            r = run_one(pool, hidden, bits, K, N, a.time_limit)
            rows.append(r)
            print(f"pool={pool:2d} d0={r['d0']:2d} hidden={hidden} K={K} N={N:3d}: {r['n_binaries']:5d} binaries "
                  f"{r['status']:>12} gap={r['gap']} {r['solve_s']:.2f}s nodes={r['nodes']}", flush=True)
            if r["status"] != "optimal":
                break
    sym_rows = []
    for N in a.sym_n:
        for sym in (False, True):
            if time.perf_counter() - t_start > a.budget:
                break
            r = run_one(14, (4,), ("1", "1"), (2, 4), N, a.time_limit, sym=sym)
            sym_rows.append(r)
            print(f"symmetry={sym} N={N}: {r['status']} {r['solve_s']:.2f}s nodes={r['nodes']} obj={r['objective']}",
                  flush=True)
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"time_limit": a.time_limit, "runs": rows, "symmetry": sym_rows}, indent=1))
    print("\n| pool | d0 | hidden | K | N | binaries | status | gap | solve s | nodes | test acc |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        gap = "-" if r["gap"] is None else f"{r['gap']:.2g}"
        acc = "-" if r["test_accuracy"] is None else f"{r['test_accuracy']:.3f}"
        print(f"| {r['pool']} | {r['d0']} | {r['hidden']} | {r['K']} | {r['N']} | {r['n_binaries']} | {r['status']} "
              f"| {gap} | {r['solve_s']:.2f} | {r['nodes']} | {acc} |")
    print("\n| N | symmetry breaking | status | solve s | nodes | objective |")
    print("|---|---|---|---|---|---|")
    for r in sym_rows:
        print(f"| {r['N']} | {r['symmetry_breaking']} | {r['status']} | {r['solve_s']:.2f} | {r['nodes']} | "
              f"{r['objective']} |")
    print(f"\ntotal {time.perf_counter() - t_start:.0f} s")


if __name__ == "__main__":
    main()
