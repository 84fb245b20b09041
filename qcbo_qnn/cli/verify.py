"""``qcbo-qnn verify``: run the algebraic verification suite on one model and report a table.

    qcbo-qnn verify --classes 0,1 --n-train 8 --hidden 2 --intervals 2,4 --bits 1,1 --json verify.json

Exit code 0 iff every check that ran passed (skipped checks say why in their note).
"""
from __future__ import annotations

from qcbo_model.errors import QCBOError
from validation.checks import CHECKS, all_passed, format_table, run_checks

from ..io import check_writable, write_json
from .common import add_model_options, positive_float, positive_int, problem_from_args


def register(subparsers) -> None:
    p = subparsers.add_parser("verify", help="verify the formulation algebraically (Pyomo vs assembler, "
                                             "forward completion, QUBO/Ising, exact solvers, FIP bounds, forms)")
    add_model_options(p)
    g = p.add_argument_group("verification")
    g.add_argument("--cases", type=positive_int, default=1000, help="random assignments per check (>= 1)")
    g.add_argument("--time-limit", type=positive_float, default=30.0, help="HiGHS limit per exact solve (s)")
    g.add_argument("--only", default=None, help=f"comma list of checks among {','.join(CHECKS)}")
    g.add_argument("--json", default=None, help="write the results as JSON here")
    p.set_defaults(func=cmd_verify)


def cmd_verify(args) -> int:
    only = None
    if args.cases < 1:
        raise QCBOError("--cases must be >= 1: a check over no random assignment verifies nothing")
    if args.json:
        check_writable(args.json)
    if args.only is not None:
        only = [s.strip() for s in args.only.split(",") if s.strip()]
        if not only:
            raise QCBOError(f"--only {args.only!r} names no check; choose among {', '.join(CHECKS)}")
        bad = [s for s in only if s not in CHECKS]
        if bad:
            raise QCBOError(f"unknown check(s) {bad}; choose among {', '.join(CHECKS)}")
    prob, ds = problem_from_args(args)
    q = prob.qcbo
    print(f"model: {prob.form} form, N={prob.net.N}, {q.n} binaries ({prob.n_weight_bits} weight bits), "
          f"{q.m} constraints")
    results = run_checks(prob, n_cases=args.cases, seed=args.seed, time_limit=args.time_limit, only=only,
                         X=ds.X_train, y=ds.y_train)
    print(format_table(results))
    ok = all_passed(results)
    n_run = sum(r.status != "skipped" for r in results)
    print(f"{'ALL PASSED' if ok else 'FAILED'}: {sum(r.status == 'passed' for r in results)}/{n_run} checks "
          f"that ran passed, {len(results) - n_run} skipped")
    if args.json:
        write_json(args.json, {"passed": ok, "model": {"form": prob.form, "N": prob.net.N, "n_variables": q.n,
                                                        "n_constraints": q.m, "spec": prob.spec.to_dict()},
                               "checks": [r.to_dict() for r in results]})
        print(f"wrote {args.json}")
    return 0 if ok else 1
