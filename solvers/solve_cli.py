"""``qcbo-qnn solve``: train a QNN by solving its FIP-QCBO with one of the registered solvers.

    qcbo-qnn solve --solver highs --pool 14 --n-train 8 --hidden 2 --intervals 2,4 --bits 1,1 --report r.json

Solvers: ``highs`` (exact MILP), ``exhaustive`` (enumeration of the weights) live here; ``qcgd`` and
``penalty`` are dispatched lazily to ``solvers.qcgd.solve_from_args(prob, args) -> dict`` and
``solvers.penalty.solve_from_args(prob, args) -> dict``.
"""
from __future__ import annotations

import importlib
import sys

import numpy as np


def _solve_highs(prob, args) -> dict:
    from .highs import solve_highs
    r = solve_highs(prob, time_limit=args.time_limit, rel_gap=args.rel_gap, threads=args.threads,
                    symmetry_breaking=args.symmetry_breaking)
    d = r.certificate()
    d["x"] = r.x
    return d


def _solve_exhaustive(prob, args) -> dict:
    from .exhaustive import solve_exhaustive
    r = solve_exhaustive(prob)
    d = r.certificate()
    d["x"] = r.x
    return d


# name -> a callable, or (module, function) imported on first use
SOLVERS = {
    "highs": _solve_highs,
    "exhaustive": _solve_exhaustive,
    "qcgd": ("solvers.qcgd", "solve_from_args"),
    "penalty": ("solvers.penalty", "solve_from_args"),
    "ising-descent": ("solvers.ising_descent", "solve_from_args"),
}


class SolverUnavailable(RuntimeError):
    pass


def get_solver(name: str):
    entry = SOLVERS.get(name)
    if entry is None:
        raise SolverUnavailable(f"unknown solver {name!r}; choose from {', '.join(SOLVERS)}")
    if callable(entry):
        return entry
    mod, fn = entry
    if importlib.util.find_spec(mod) is None:
        raise SolverUnavailable(f"solver {name!r} needs module {mod}, which is not installed in this "
                                f"checkout yet (it provides {fn}(prob, args) -> dict)")
    return getattr(importlib.import_module(mod), fn)


def _float_list(s: str) -> list:
    return [float(t) for t in str(s).split(",") if t.strip()]


def register(subparsers, add_model_options) -> None:
    p = subparsers.add_parser("solve", help="solve the FIP-QCBO (highs, exhaustive, qcgd, penalty)")
    add_model_options(p)
    g = p.add_argument_group("solver")
    g.add_argument("--solver", default="highs", choices=list(SOLVERS))
    g.add_argument("--time-limit", type=float, default=60.0, help="seconds (highs, qcgd)")
    g.add_argument("--threads", type=int, default=1)
    g.add_argument("--rel-gap", type=float, default=0.0, help="relative MIP gap at which HiGHS stops")
    g.add_argument("--symmetry-breaking", action="store_true",
                   help="order interchangeable hidden neurons by their first weight code (highs)")
    g.add_argument("--report", default=None, help="write the report JSON here")
    g = p.add_argument_group("QCGD / penalty")
    g.add_argument("--oracle", default="sa", choices=["cim", "sa", "sa-fast", "exact", "greedy", "dimod",
                                                      "random", "random-local"])
    g.add_argument("--iterations", type=int, default=50)
    g.add_argument("--beta0", type=float, default=1.0)
    g.add_argument("--trace", default=None, help="write the per-iteration trace JSON here")
    g.add_argument("--penalty-lambdas", type=_float_list, default=[0.1, 1.0, 10.0])
    p.set_defaults(func=cmd_solve)


def cmd_solve(args) -> int:
    from qcbo_qnn.cli import problem_from_args, write_json
    try:
        solver = get_solver(args.solver)
    except SolverUnavailable as e:
        print(f"qcbo-qnn solve: error: {e}", file=sys.stderr)
        return 2
    prob, ds = problem_from_args(args)
    out = solver(prob, args)
    x = out.pop("x", None)
    if x is None and out.get("assignment") is not None:
        x = np.asarray(out["assignment"])
    report = {"solver": args.solver, "form": prob.form, "n_variables": prob.qcbo.n,
              "n_constraints": prob.qcbo.m, "n_weight_bits": prob.n_weight_bits, "N": prob.net.N}
    for k in ("status", "objective", "bound", "gap", "feasible", "wall_time_s"):
        report[k] = out.get(k)
    if x is not None:
        x = np.asarray(x)
        report["weights"] = out.get("weights") or prob.decode(x).to_dict()
        report["train_accuracy"] = prob.accuracy(x, ds.X_train, ds.y_train)
        report["test_accuracy"] = prob.accuracy(x, ds.X_test, ds.y_test) if len(ds.X_test) else None
    else:   # a solver that reports no assignment may still report its own weights/accuracies
        for k in ("weights", "train_accuracy", "test_accuracy"):
            report[k] = out.get(k)
    report["details"] = {k: v for k, v in out.items() if k not in report and k != "assignment"}
    report["assignment"] = None if x is None else np.asarray(x).astype(int).tolist()
    for k in ("solver", "status", "objective", "bound", "gap", "feasible", "n_variables", "n_constraints",
              "wall_time_s", "train_accuracy", "test_accuracy"):
        v = report[k]
        print(f"{k:>16}: {v:.10g}" if isinstance(v, float) else f"{k:>16}: {v}")
    st = out.get("statement")
    if st:
        print(f"{'statement':>16}: {st}")
    if args.report:
        write_json(args.report, report)
        print(f"wrote {args.report}")
    return 0 if report["status"] in ("optimal", "time_limit", "feasible", "ok", "converged") else 1
