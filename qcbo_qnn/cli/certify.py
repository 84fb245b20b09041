"""``qcbo-qnn certify``: a certified lower bound on the QCBO optimum for a saved model's training set,
and the gap of the saved model.

The training data are rebuilt from the same data options as ``train`` (by default the ones stored in
the model file); the model's weight codes are completed to a feasible point of that QCBO (its
objective is the upper bound) and the decomposed lower bound (``solvers.exact.decomposed``) runs for
``--time-limit`` seconds.
"""
from __future__ import annotations

import numpy as np

from ..io import check_writable, write_json
from .common import int_list, nonneg_int, positive_float, print_table


def register(subparsers) -> None:
    p = subparsers.add_parser("certify", help="certified lower bound and gap for a saved model's training QCBO")
    p.add_argument("--model", required=True, help="a model file written by `qcbo-qnn train --model`")
    g = p.add_argument_group("data (default: the model's)")
    g.add_argument("--dataset", default=None, choices=["fashion-mnist", "mnist", "digits"])
    g.add_argument("--data-dir", default=None)
    g.add_argument("--classes", type=int_list, default=None)
    g.add_argument("--n-train", type=int, default=None)
    g.add_argument("--pool", type=int, default=None)
    g.add_argument("--seed", type=nonneg_int, default=None, help="seed of the training subset")
    g = p.add_argument_group("bound")
    g.add_argument("--time-limit", type=positive_float, default=60.0, help="seconds for the bound (default 60)")
    g.add_argument("--batch-size", type=int, default=None, help="samples per piece (default: measured)")
    g.add_argument("--dual-iterations", type=nonneg_int, default=20)
    g.add_argument("--report", default=None, help="JSON report")
    p.set_defaults(func=cmd_certify)


def cmd_certify(args) -> int:
    from qcbo_model.data import load_dataset, one_vs_rest
    from qcbo_model.network import ModelFileError
    from qcbo_model.problem import build_problem
    from solvers import solve
    from .predict import load_model
    if args.report:
        check_writable(args.report)
    m = load_model(args.model)
    meta = m.meta
    name = args.dataset or meta.get("dataset", "fashion-mnist")
    classes = tuple(args.classes) if args.classes else tuple(meta.get("classes", (0, 1)))
    n_train = args.n_train if args.n_train is not None else meta.get("n_train")
    if n_train is None:
        raise ModelFileError("the model file does not say how many training images it was trained on; "
                             "pass --n-train (and --seed) as given to train")
    seed = args.seed if args.seed is not None else int(meta.get("data_seed", m.spec.seed))
    pool = args.pool if args.pool is not None else int(meta.get("pool", 4))
    ds = load_dataset(name, classes=classes, n_train=int(n_train), pool=pool, seed=seed, data_dir=args.data_dir)
    y = ds.y_train if len(classes) <= 2 else one_vs_rest(ds.y_train, len(classes))
    prob = build_problem(ds.X_train, y, m.spec, m.form)
    same = all(np.allclose(ly.t, rl.t) and np.isclose(ly.alpha, rl.alpha) for ly, rl in zip(prob.net.layers, m.layers))
    wbits = np.array([int(c) for c in m.weight_bits], dtype=np.uint8)
    if len(wbits) != prob.n_weight_bits:
        raise ModelFileError(f"the model has {len(wbits)} weight bits, its spec needs {prob.n_weight_bits}")
    x = prob.complete(wbits[None])[0]
    upper = float(prob.qcbo.objective(x[None])[0])
    opts = dict(time_limit=args.time_limit, dual_iterations=args.dual_iterations, seed=seed)
    if args.batch_size is not None:
        opts["batch_size"] = args.batch_size
    b = solve(prob, "decomposed-bound", warm_start=wbits, **opts)
    gap = None if b.bound is None else (upper - b.bound) / max(abs(upper), 1e-10)
    rep = {"model": str(args.model), "dataset": name, "classes": list(classes), "n_train": int(n_train),
           "seed": seed, "upper_bound": upper, "lower_bound": b.bound, "lower_bound_certified": b.info["certified"],
           "gap": gap, "best_feasible_found": b.objective, "batch_size": b.info["batch_size"],
           "n_pieces": b.info["n_pieces"], "wall_time_s": b.wall_time_s, "termination": str(b.termination),
           "constants_match_the_model": bool(same), "trace": b.trace}
    print_table([(k, rep[k]) for k in ("model", "n_train", "upper_bound", "lower_bound", "gap",
                                       "lower_bound_certified", "batch_size", "n_pieces", "wall_time_s")], fmt=".6g")
    print(f"{'interval':>20}: [{b.bound:.6g}, {upper:.6g}]")
    if not same:
        print("note: the FIP constants rebuilt from these data differ from the model's; the bound is for the "
              "QCBO of the data given")
    if args.report:
        write_json(args.report, rep)
    return 0
