"""``qcbo-qnn build``: build the FIP-QCBO; print its size and write summary.json, model.lp, qcbo.npz."""
from __future__ import annotations

from pathlib import Path

from ..io import check_writable, write_json
from .common import add_model_options, problem_from_args


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
    from validation.bounds import spin_count_closed_form
    q, spec, net = prob.qcbo, prob.spec, prob.net
    sc = spin_count_closed_form(net, prob.form)
    s = {"form": prob.form, "N": net.N, **form_cost(prob),
         "avg_bits_per_weight": spec.avg_bits_per_weight,
         "avg_bits_per_parameter": spec.avg_bits_per_parameter,
         "spin_count_formula": sc["total"],
         "spin_count_formula_text": sc["formula"],
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
    if out is not None:
        check_writable(out, folder=True)
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


def register(sub) -> None:
    b = sub.add_parser("build", help="build the FIP-QCBO; write summary.json, model.lp, qcbo.npz")
    add_model_options(b)
    b.add_argument("--out", default=None, help="output folder")
    b.add_argument("--no-lp", action="store_true", help="skip the Pyomo model and LP export")
    b.set_defaults(func=cmd_build)
