"""The ``qcbo-qnn`` command line: every subcommand is registered here, in one place.

Shared data/model options (``add_model_options``) mean the same in every subcommand.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from qcbo_model.errors import QCBOError


# ---------------------------------------------------------------------------------------------
# shared options
def _int_list(s: str) -> list:
    try:
        return [int(t) for t in str(s).split(",") if t.strip() != ""]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a comma list of integers, got {s!r}") from None


def _bits_list(s: str) -> list:
    return [t.strip() for t in str(s).split(",") if t.strip()]


def add_model_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("data")
    g.add_argument("--dataset", default="fashion-mnist", choices=["fashion-mnist", "mnist", "digits"])
    g.add_argument("--data-dir", default=None, help="folder with the IDX files (else $QCBO_DATA_DIR, Debian, shared/, cache)")
    g.add_argument("--classes", type=_int_list, default=[0, 1], help="comma list; 2 = binary, more = one-vs-rest")
    g.add_argument("--n-train", type=int, default=32, help="balanced training samples")
    g.add_argument("--n-test", type=int, default=None, help="test samples (default: whole official test split)")
    g.add_argument("--pool", type=int, default=4, help="average pooling size (4: 28x28 -> 7x7 = 49 features)")
    g = p.add_argument_group("model")
    g.add_argument("--hidden", type=_int_list, default=[4], help="hidden widths, comma list; 0 = no hidden layer")
    g.add_argument("--activation", default="tanh")
    g.add_argument("--loss", default="logistic")
    g.add_argument("--bits", type=_bits_list, default=["1", "2"], help="per layer: 1 binary, B>=2 grid, t ternary")
    g.add_argument("--intervals", type=_int_list, default=[4, 8], help="K per layer, the output last")
    g.add_argument("--breakpoints", default="uniform", choices=["uniform", "quantile"])
    g.add_argument("--form", default="interval", choices=["interval", "exact"])
    g.add_argument("--input-bits", type=int, default=None, help="quantize inputs to 2^B-1 levels (integer grid)")
    g.add_argument("--no-bias", action="store_true", help="no bias terms")
    g.add_argument("--seed", type=int, default=0)


def load_data(args):
    from qcbo_model.data import load_dataset, one_vs_rest
    ds = load_dataset(args.dataset, classes=tuple(args.classes), n_train=args.n_train, n_test=args.n_test,
                      pool=args.pool, seed=args.seed, data_dir=args.data_dir)
    C = len(args.classes)
    if C > 2:
        ds.y_train = one_vs_rest(ds.y_train, C)
        ds.y_test = one_vs_rest(ds.y_test, C)
    return ds


def spec_from_args(args, input_dim: int, n_classes: int = 2, **overrides):
    from qcbo_model.spec import NetworkSpec
    hidden = [h for h in args.hidden if h != 0]
    kw = dict(input_dim=input_dim, hidden=hidden, output_dim=1 if n_classes <= 2 else n_classes,
              activation=args.activation, loss=args.loss, bits=args.bits, intervals=args.intervals,
              breakpoints=args.breakpoints, input_bits=args.input_bits, bias=not args.no_bias, seed=args.seed)
    kw.update(overrides)
    return NetworkSpec(**kw)


def problem_from_args(args, ds=None, form=None, **overrides):
    from qcbo_model.problem import build_problem
    ds = ds if ds is not None else load_data(args)
    spec = spec_from_args(args, ds.X_train.shape[1], len(args.classes), **overrides)
    return build_problem(ds.X_train, ds.y_train, spec, form or args.form), ds


def write_json(path, obj) -> None:
    path = Path(path)
    if path.parent and not path.parent.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2, default=_json_default) + "\n")


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serializable: {type(o).__name__}")


# ---------------------------------------------------------------------------------------------
# build
def form_cost(prob) -> dict:
    q = prob.qcbo
    st = q.stats()
    return {"n_variables": q.n, "n_weight_bits": prob.layout.n_weight_bits,
            "n_indicator_bits": prob.layout.n_indicator_bits, "n_slack_bits": prob.layout.n_slack_bits,
            "n_aux_bits": prob.layout.n_aux_bits, "n_constraints": q.m,
            "n_quadratic_constraints": q.n_quadratic_constraints, "n_equalities": st["n_equalities"],
            "constraints_by_family": st["constraints_by_family"],
            "coefficient_range": st["coefficient_range"], "nnz_constraints": st["nnz_constraints"]}


def build_summary(prob, extra_forms=None) -> dict:
    from qcbo_model.assemble import spin_count_formula
    q, spec, net = prob.qcbo, prob.spec, prob.net
    s = {"form": prob.form, "N": net.N, **form_cost(prob),
         "avg_bits_per_weight": spec.avg_bits_per_weight,
         "avg_bits_per_parameter": spec.avg_bits_per_parameter,
         "spin_count_formula": spin_count_formula(net),
         "spin_count_formula_text": "P*B + N*sum_l d_l*K_l (weight bits incl. biases + indicators)",
         "spline_error_bounds": net.spline_error_report(),
         "fip_bounds": [{"layer": ly.l, "u_lo": ly.u_lo.tolist(), "u_hi": ly.u_hi.tolist(),
                         "kappa": ly.kappa, "alpha": ly.alpha, "gamma": ly.gamma} for ly in net.layers],
         "spec": spec.to_dict(), **prob.timings}
    if extra_forms:
        s["form_costs"] = extra_forms
    return s


def cmd_build(args) -> int:
    from qcbo_model.problem import build_problem
    out = Path(args.out) if args.out else None
    prob, ds = problem_from_args(args)
    forms = {prob.form: form_cost(prob)}
    other = "exact" if prob.form == "interval" else "interval"
    if prob.spec.on_grid:
        forms[other] = form_cost(build_problem(ds.X_train, ds.y_train, prob.spec, other))
    else:
        forms["exact"] = {"unavailable": "the exact form needs an integer grid: pass --input-bits B"}
    summary = build_summary(prob, forms)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        prob.qcbo.save(out / "qcbo.npz")
        if not args.no_lp:
            m = prob.pyomo_model()
            m.write(str(out / "model.lp"), io_options={"symbolic_solver_labels": True})
            summary["pyomo_build_s"] = prob.timings["pyomo_build_s"]
        write_json(out / "summary.json", summary)
    keys = ["form", "N", "n_variables", "spin_count_formula", "n_weight_bits", "n_indicator_bits",
            "n_slack_bits", "n_aux_bits", "n_constraints", "n_quadratic_constraints", "avg_bits_per_weight",
            "build_time_s", "pyomo_build_s"]
    for k in keys:
        if k in summary:
            v = summary[k]
            print(f"{k:>26}: {v:.4g}" if isinstance(v, float) else f"{k:>26}: {v}")
    for e in summary["spline_error_bounds"]:
        print(f"{'spline error layer ' + str(e['layer']):>26}: {e['max_error']:.4g} ({e['kind']}, K={e['K']})")
    if out is not None:
        print(f"wrote {out}/summary.json, {out}/qcbo.npz" + ("" if args.no_lp else f", {out}/model.lp"))
    return 0


# ---------------------------------------------------------------------------------------------
def make_parser() -> argparse.ArgumentParser:
    from qcbo_qnn import __version__
    p = argparse.ArgumentParser(prog="qcbo-qnn", description="Quantized neural networks trained as QCBO")
    p.add_argument("--version", action="version", version=f"qcbo-qnn {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    b = sub.add_parser("build", help="build the FIP-QCBO; write summary.json, model.lp, qcbo.npz")
    add_model_options(b)
    b.add_argument("--out", default=None, help="output folder")
    b.add_argument("--no-lp", action="store_true", help="skip the Pyomo model and LP export")
    b.set_defaults(func=cmd_build)

    import importlib
    import importlib.util
    for modname in _EXTRA_COMMANDS:
        if importlib.util.find_spec(modname) is None:   # module not written yet
            continue
        mod = importlib.import_module(modname)
        if hasattr(mod, "register"):   # a module may exist before its subcommand is wired in
            mod.register(sub, add_model_options)
    return p


# Subcommands living next to the code they drive; each module has register(subparsers, add_model_options).
_EXTRA_COMMANDS = ["validation.verify_cli", "solvers.solve_cli", "solvers.ising_cli",
                   "validation.bounds_cli", "qcbo_qnn.train_cli"]


def main(argv=None) -> int:
    parser = make_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except QCBOError as e:
        print(f"qcbo-qnn {args.command}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
