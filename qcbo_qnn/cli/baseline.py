"""``qcbo-qnn baseline``: every baseline (and any method) on the same training samples and test set,
at equal candidate budgets; a table and a JSON report."""
from __future__ import annotations

import sys
import time

from qcbo_model.errors import QCBOError

from ..io import check_writable, write_json
from .common import CLIError, add_method_options, add_model_options, method_options_from_args, problem_from_args

DEFAULT_METHODS = "logreg,ste,sa-weights,random-search,penalty,exhaustive"


def register(subparsers) -> None:
    from solvers import available_methods
    b = subparsers.add_parser("baseline", help="logistic regression, STE-QAT, SA on weights, random search, "
                                               "penalty, exact (tiny): side by side")
    add_model_options(b)
    b.add_argument("--methods", default=DEFAULT_METHODS,
                   help=f"comma list of logreg and methods of solvers.solve (default {DEFAULT_METHODS}); "
                        "one that cannot run here is reported as skipped with the reason")
    b.add_argument("--report", default=None)
    b.add_argument("--no-progress", action="store_true", help="no progress bars")
    add_method_options(b, available_methods())
    b.set_defaults(func=cmd_baseline)


def run_baselines(args, ds=None, methods=None, progress: bool = False) -> dict:
    """Every method on the same problem; random search gets sa-weights' budget unless told otherwise."""
    from solvers import available_methods, method_config, solve
    from solvers.baselines import evaluate, logistic_regression
    from solvers.exact.exhaustive import ExhaustiveError
    prob, ds = problem_from_args(args, ds)
    methods = methods or [m.strip() for m in args.methods.split(",") if m.strip()]
    if not methods:
        raise CLIError(f"--methods {args.methods!r} names no method; choose from logreg, "
                       f"{', '.join(available_methods())}")
    dup = sorted({m for m in methods if methods.count(m) > 1})
    if dup:
        raise CLIError(f"--methods lists {dup} more than once")
    bad = [m for m in methods if m != "logreg" and m not in available_methods()]
    if bad:
        raise CLIError(f"unknown method(s) {bad}; choose from logreg, {', '.join(available_methods())}")
    sa = method_config("sa-weights", method_options_from_args(args, "sa-weights", strict=False))
    budget = sa.sweeps * sa.reads * prob.n_weight_bits
    rows, interrupted = {}, False
    for m in methods:
        t0 = time.perf_counter()
        if m == "logreg":
            rows[m] = logistic_regression(ds.X_train, ds.y_train, ds.X_test, ds.y_test, seed=args.seed)
            continue
        opts = method_options_from_args(args, m, strict=False)
        if m == "random-search":
            opts.setdefault("candidates", budget)
        try:
            res = solve(prob, m, method_config(m, opts), progress=progress)
        except (ExhaustiveError, ImportError) as e:
            rows[m] = {"method": m, "skipped": f"{type(e).__name__}: {e}"}
            continue
        except QCBOError as e:
            rows[m] = {"method": m, "skipped": f"{type(e).__name__}: {e}"}
            continue
        row = res.to_dict(include_trace=False)
        row["metrics"] = evaluate(prob, res, ds.X_test, ds.y_test)
        row["wall_time_s"] = time.perf_counter() - t0
        rows[m] = row
        if str(res.termination) == "interrupted":      # Ctrl-C: keep what is done, run nothing more
            interrupted = True
            break
    return {"interrupted": interrupted, "dataset": ds.name, "classes": list(ds.classes), "n_train": int(len(ds.X_train)),
            "n_test": int(len(ds.X_test)), "seed": args.seed, "avg_bits_per_weight": prob.spec.avg_bits_per_weight,
            "n_weight_bits": prob.n_weight_bits, "candidate_budget": budget, "methods": rows}


def cmd_baseline(args) -> int:
    if args.report:
        check_writable(args.report)
    rep = run_baselines(args, progress=not args.no_progress and sys.stderr.isatty())
    print(f"{rep['dataset']} classes {rep['classes']}  n_train {rep['n_train']}  n_test {rep['n_test']}  "
          f"bits/weight {rep['avg_bits_per_weight']:.3f}  candidate budget {rep['candidate_budget']}")
    print(f"{'method':>14} {'objective':>10} {'train acc':>10} {'test acc':>9} {'test fip':>9} {'time s':>8}")
    for m, r in rep["methods"].items():
        if "skipped" in r:
            print(f"{m:>14}  skipped: {r['skipped']}")
            continue
        mt = r["metrics"]
        obj = "-" if r.get("objective") is None else f"{r['objective']:.4f}"
        fip = mt.get("test_accuracy_fip")
        print(f"{m:>14} {obj:>10} {mt.get('train_accuracy', float('nan')):>10.4f} "
              f"{mt.get('test_accuracy', float('nan')):>9.4f} {'-' if fip is None else f'{fip:.4f}':>9} "
              f"{r['wall_time_s']:>8.2f}")
    if args.report:
        write_json(args.report, rep)
        print(f"wrote {args.report}")
    if rep["interrupted"]:
        print("qcbo-qnn baseline: interrupted; the methods that ran are reported", file=sys.stderr)
        return 130
    return 0
