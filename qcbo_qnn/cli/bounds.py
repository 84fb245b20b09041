"""``qcbo-qnn bounds``: the theory's figures for one model, each checked or stated with its assumptions."""
from __future__ import annotations

import json
import time
from pathlib import Path

from qcbo_model.errors import QCBOError

from ..io import check_writable, write_json
from .common import (add_model_options, finite_float, nonneg_float, positive_float, positive_int, probability,
                     problem_from_args)


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "bounds", help="approximation-error bound vs measured deviation, spin count, sample complexity, TTS",
        description="Worst-case deviation of the FIP network from the exact-activation network (checked "
                    "against random weights on the training samples), the spin count and its closed form, "
                    "the ERM sample complexity N(eps, delta) and the resulting spin bound.")
    add_model_options(p)
    p.add_argument("--epsilon", type=positive_float, default=0.05, help="excess-risk target of the sample complexity")
    p.add_argument("--delta", type=probability, default=0.05,
                   help="failure probability of the sample complexity, in (0, 1)")
    p.add_argument("--cases", type=positive_int, default=200,
                   help="random weight assignments for the measured deviation (>= 1)")
    p.add_argument("--trace", default=None,
                   help="JSON file with a QCGD trace (list of {oracle_time_s, success}) for time to solution")
    p.add_argument("--wall-time", type=nonneg_float, default=None, help="measured wall time of that QCGD solve (s)")
    p.add_argument("--success-energy", type=finite_float, default=None,
                   help="trace entries without a success flag succeed when oracle_energy <= this value")
    p.add_argument("--json", default=None, help="write all figures to this JSON file")
    p.set_defaults(func=cmd_bounds)


def _read_trace(path) -> list:
    """The --trace file: a JSON list of per-iteration entries, or an object with 'trace'/'iterations'."""
    p = Path(path)
    if not p.is_file():
        raise QCBOError(f"--trace {str(p)!r}: no such file (write one with `qcbo-qnn solve --trace FILE`)")
    try:
        trace = json.loads(p.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as e:
        raise QCBOError(f"--trace {str(p)!r} is not a JSON trace: {type(e).__name__}: {e}") from None
    if isinstance(trace, dict):
        trace = trace.get("trace", trace.get("iterations"))
    if not isinstance(trace, list) or not trace or not all(isinstance(e, (dict, list)) for e in trace):
        raise QCBOError(f"--trace {str(p)!r} holds no per-iteration trace (a non-empty JSON list of entries, or an "
                        "object with a 'trace' list)")
    return trace


def _fmt(v):
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def cmd_bounds(args) -> int:
    from validation import bounds as B

    if args.cases < 1:
        raise QCBOError("--cases must be >= 1: the bound is checked against measured deviations")
    if args.json:
        check_writable(args.json)
    trace = _read_trace(args.trace) if args.trace else None
    t0 = time.perf_counter()
    prob, ds = problem_from_args(args)
    net = prob.net
    chk = B.check_approximation(net, n_cases=args.cases, seed=args.seed)
    sc = B.spin_count_closed_form(net, prob.form)
    sb = B.spin_bound(net, args.epsilon, args.delta, prob.form)
    a, b = B.loss_range(net)
    res = {
        "command": "qcbo-qnn bounds",
        "form": prob.form, "N": int(net.N),
        "approx_error_bound": chk["approx_error_bound"],
        "measured_max_deviation": chk["measured_max_deviation"],
        "tightness": chk["tightness"],
        "bound_holds": chk["bound_holds"],
        "loss_error_bound": chk["loss_error_bound"],
        "measured_max_loss_deviation": chk["measured_max_loss_deviation"],
        "loss_tightness": chk["loss_tightness"],
        "a_posteriori_bound_max": chk["a_posteriori_bound_max"],
        "a_posteriori_holds": chk["a_posteriori_holds"],
        "approximation": chk,
        "spin_count": int(prob.qcbo.n),
        "spin_count_formula": sc["total"],
        "spin_count_formula_text": sc["formula"],
        "spin_count_terms": sc["terms"],
        "spin_count_matches": int(prob.qcbo.n) == sc["total"],
        "loss_range": [a, b],
        "sample_complexity": sb["sample_complexity"],
        "spin_bound": sb["spin_bound"],
        "spin_bound_formula": sb["formula"],
        "per_sample_spins": sb["per_sample_spins"],
        "spec": prob.spec.to_dict(),
    }
    if trace is not None:
        ok = None
        if args.success_energy is not None:
            ok = lambda e: float(e["oracle_energy"]) <= args.success_energy   # noqa: E731
        try:
            res["time_to_solution"] = B.qcgd_time_to_solution(trace, args.wall_time, success=ok)
        except (KeyError, TypeError, ValueError, IndexError) as e:
            if isinstance(e, QCBOError):
                raise
            raise QCBOError(f"--trace {args.trace!r}: an entry lacks what time to solution needs "
                            f"({type(e).__name__}: {e}); entries need oracle_time_s (or time_s) and success "
                            "(or oracle_energy with --success-energy)") from None
    res["time_s"] = time.perf_counter() - t0

    bound = chk["bound"]
    print(f"approximation (form={prob.form}, N={net.N}, {args.cases} random weight assignments, seed {args.seed})")
    for e in bound["per_layer"]:
        print(f"  layer {e['layer']} ({e['kind']}): max pre-activation deviation {_fmt(e['dev_z_max'])}, "
              f"Lipschitz {_fmt(e['lipschitz'])}")
    print(f"  |z_out exact - z_out FIP| bound      : {_fmt(res['approx_error_bound'])}")
    print(f"  measured max deviation               : {_fmt(res['measured_max_deviation'])}"
          f"  ({'<=' if res['bound_holds'] else 'EXCEEDS'} bound; tightness bound/measured = {_fmt(res['tightness'])})")
    print(f"  |loss exact - spline loss| bound     : {_fmt(res['loss_error_bound'])}"
          f"  (measured {_fmt(res['measured_max_loss_deviation'])})")
    for note in bound["notes"]:
        print(f"  note: {note}")
    print("spin count")
    print(f"  variables of the built model         : {res['spin_count']}")
    print(f"  closed form {sc['formula']} = {sc['total']}  "
          f"({' + '.join(f'{k}={v}' for k, v in sc['terms'].items())})"
          + ("" if res["spin_count_matches"] else "  MISMATCH"))
    s = res["sample_complexity"]
    print(f"sample complexity (eps={s['epsilon']}, delta={s['delta']}, loss in [{a:.4g}, {b:.4g}], "
          f"P*B={s['n_weight_bits']})")
    print(f"  N(eps, delta) = {s['formula'].split('= ', 1)[1]} = {s['N']}")
    print(f"  spin bound {sb['formula']} = {sb['spin_bound']}")
    print("  assumptions:")
    for x in s["assumptions"]:
        print(f"   - {x}")
    if "time_to_solution" in res:
        t = res["time_to_solution"]
        print(f"time to solution: p={t['success_probability']:.4g}, t_call={t['t_call_s']:.4g}s, "
              f"TTS99/call={_fmt(t['tts_per_call_s'])}s, predicted {_fmt(t['predicted_total_s'])}s "
              f"vs measured oracle {t['measured_oracle_s']:.4g}s")
    if args.json:
        write_json(args.json, res)
        print(f"wrote {args.json}")
    ok = res["bound_holds"] and res["spin_count_matches"]
    return 0 if ok else 1
