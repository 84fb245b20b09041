"""``qcbo-qnn solve``: solve the FIP-QCBO of one model with any registered method; JSON report.

    qcbo-qnn solve --solver highs --pool 14 --n-train 8 --hidden 2 --intervals 2,4 --bits 1,1 --report r.json

Every method of ``solvers.available_methods()`` is offered, with its options as flags (``--help``).
Exit code 0 when the method returned a feasible point (whatever its termination), 1 otherwise, 130
when Ctrl-C ended the run (the report is written first, with the best point found so far).
"""
from __future__ import annotations

import sys

from ..io import check_writable, write_json
from .common import add_method_options, add_model_options, method_options_from_args, print_table, problem_from_args


def register(subparsers) -> None:
    from solvers import available_methods
    p = subparsers.add_parser("solve", help="solve the FIP-QCBO with one method (exact, QCBO methods, baselines)")
    add_model_options(p)
    g = p.add_argument_group("solver")
    g.add_argument("--solver", default="highs", choices=available_methods(), help="method (default highs)")
    g.add_argument("--report", default=None, help="write the report JSON here")
    g.add_argument("--trace", default=None, help="write the per-iteration trace JSON here")
    g.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_method_options(p, available_methods())
    p.set_defaults(func=cmd_solve)


def solve_report(prob, ds, res) -> dict:
    """The ``solve`` report: sizes, the SolveResult, decoded weights and accuracies."""
    report = {"solver": res.method, "form": prob.form, "n_variables": prob.qcbo.n, "n_constraints": prob.qcbo.m,
              "n_weight_bits": prob.n_weight_bits, "N": prob.net.N, "termination": str(res.termination),
              "solution_status": str(res.solution_status), "objective": res.objective, "bound": res.bound,
              "gap": res.gap, "feasible": res.feasible, "wall_time_s": res.wall_time_s, "oracle": res.oracle,
              "oracle_calls": res.oracle_calls, "statement": res.info.get("statement"),
              "config": res.config.to_dict()}
    if res.x is not None:
        report["weights"] = prob.decode(res.x).to_dict()
        report["train_accuracy"] = prob.accuracy(res.x, ds.X_train, ds.y_train)
        report["test_accuracy"] = prob.accuracy(res.x, ds.X_test, ds.y_test) if len(ds.X_test) else None
    report["details"] = res.info
    report["assignment"] = None if res.x is None else res.x.astype(int).tolist()
    return report


def cmd_solve(args) -> int:
    from solvers import Termination, method_config, solve
    for path in (args.report, args.trace):
        if path:
            check_writable(path)
    cfg = method_config(args.solver, method_options_from_args(args, args.solver))
    prob, ds = problem_from_args(args)
    res = solve(prob, args.solver, cfg, progress=not args.no_progress and sys.stderr.isatty())
    report = solve_report(prob, ds, res)
    print_table([(k, report.get(k)) for k in ("solver", "termination", "solution_status", "objective", "bound",
                                              "gap", "feasible", "n_variables", "n_constraints", "wall_time_s",
                                              "train_accuracy", "test_accuracy")], fmt=".10g", width=16)
    if report["statement"]:
        print(f"{'statement':>16}: {report['statement']}")
    if args.trace:
        write_json(args.trace, res.trace)
    if args.report:
        write_json(args.report, report)
        print(f"wrote {args.report}")
    if res.termination == Termination.interrupted:
        print("qcbo-qnn solve: interrupted; the report holds the best point found so far", file=sys.stderr)
        return 130
    return 0 if res.feasible else 1
