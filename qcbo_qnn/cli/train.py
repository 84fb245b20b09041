"""``qcbo-qnn train``: data -> FIP-QCBO -> solver -> decoded network -> evaluation, through ``QNNClassifier``.

Every output path is checked before any data is loaded; the report (JSON), the plots and the model
file are written atomically after training.  Ctrl-C during the solve ends it with the best network
found so far (termination ``interrupted``), which is evaluated and written like a finished one; the
exit code is then 130.
"""
from __future__ import annotations

import sys
import time

import numpy as np

from ..io import check_writable, write_json
from .common import (CLIError, add_method_options, add_model_options, hidden_of, load_data,
                     method_options_from_args, print_table)

SUMMARY_KEYS = ("dataset", "classes", "n_train", "n_test", "solver", "termination", "oracle", "oracle_calls",
                "objective", "feasible", "train_accuracy", "test_accuracy", "test_accuracy_fip",
                "avg_bits_per_weight", "n_variables", "n_constraints", "wall_time_s")


def register(subparsers) -> None:
    from solvers import available_methods
    t = subparsers.add_parser("train", help="build, solve, decode and evaluate a QNN; JSON report, plots, model file")
    # the Ising descent's QUBO size does not grow with N, and more data is the main lever on test
    # accuracy (docs/results.md): train on 2000 samples unless told otherwise
    add_model_options(t, n_train=2000)
    t.add_argument("--solver", default="ising-descent", choices=available_methods(),
                   help="method that decides the weights (default ising-descent)")
    t.add_argument("--report", default=None, help="JSON report file")
    t.add_argument("--plots", default=None, help="folder for PNG plots")
    t.add_argument("--model", default=None, help="write the trained model (JSON) here")
    t.add_argument("--no-progress", action="store_true", help="no progress bars")
    t.add_argument("--engine", default=None, choices=["local", "mpi-sppy"],
                   help="with --solver qph: the PH engine, 'local' (in process) or 'mpi-sppy' (Pyomo scenario "
                        "models; across ranks under mpiexec -n K, only rank 0 writes outputs); same as --qph-engine")
    add_method_options(t, available_methods())
    t.set_defaults(func=cmd_train)


def world_rank() -> int:
    """This process's MPI rank (0 without MPI): mpi4py's when it is loaded, else the launcher's variable."""
    import os
    mpi = sys.modules.get("mpi4py.MPI")
    if mpi is not None and mpi.Is_initialized():
        return int(mpi.COMM_WORLD.Get_rank())
    for var in ("PMI_RANK", "OMPI_COMM_WORLD_RANK", "PMIX_RANK"):
        if os.environ.get(var, "").isdigit():
            return int(os.environ[var])
    return 0


def _engine_option(args) -> None:
    """--engine is --qph-engine; it needs --solver qph."""
    engine = getattr(args, "engine", None)
    if engine is None:
        return
    if args.solver != "qph":
        raise CLIError(f"--engine applies to --solver qph only (got --solver {args.solver})")
    given = getattr(args, "opt__qph__engine", None)
    if given is not None and given != engine:
        raise CLIError(f"--engine {engine} and --qph-engine {given} disagree")
    args.opt__qph__engine = engine


def estimator_from_args(args, progress: bool = False):
    from qcbo_qnn.estimator import QNNClassifier
    _engine_option(args)
    opts = method_options_from_args(args, args.solver)
    oracle = opts.pop("oracle", None)
    opts.pop("seed", None)
    return QNNClassifier(hidden=hidden_of(args), activation=args.activation, loss=args.loss,
                         bits=None if args.bits is None else tuple(args.bits),
                         intervals=None if args.intervals is None else tuple(args.intervals),
                         breakpoints=args.breakpoints, form=args.form, input_bits=args.input_bits,
                         bias=not args.no_bias, solver=args.solver, solver_options=opts or None, oracle=oracle,
                         random_state=args.seed, progress=progress)


def train_run(args, ds=None, progress: bool = False):
    """The train pipeline as a function: (report, fitted QNNClassifier, dataset)."""
    t0 = time.perf_counter()
    clf = estimator_from_args(args, progress)
    ds = ds if ds is not None else load_data(args, one_vs_rest_targets=False)
    clf.fit(ds.X_train, ds.y_train)
    rep = {"dataset": ds.name, "classes": list(ds.classes), **clf.report(ds.X_test, ds.y_test)}
    if clf.result_.method == "qph":
        info = clf.result_.info
        rep["ph"] = {k: info.get(k) for k in ("engine", "ranks", "cylinders", "iterations", "n_batches", "batch_size",
                                              "lower_bound", "upper_bound", "gap", "spoke_bounds")}
    rep["wall_time_s"] = time.perf_counter() - t0
    return rep, clf, ds


def trace_values(trace) -> list:
    """A method's trace -> one number per entry for the plot (objective, best feasible, or the value)."""
    out = []
    for e in trace or []:
        v = e
        if isinstance(e, dict):
            v = next((e[k] for k in ("objective", "best_feasible", "best", "upper_bound") if e.get(k) is not None),
                     None)
        if v is not None and np.isfinite(v):
            out.append(float(v))
    return out


def cmd_train(args) -> int:
    from qcbo_qnn.plots import write_plots
    from solvers import Termination
    for path in (args.report, args.model):
        if path:
            check_writable(path)
    if args.plots:
        check_writable(args.plots, folder=True)
    # under mpiexec every rank runs the pipeline (mpi-sppy spreads the scenarios); only rank 0 writes
    rank = world_rank()
    if rank:
        args.report = args.model = args.plots = None
    progress = not args.no_progress and sys.stderr.isatty() and rank == 0
    import qcbo_qnn.estimator  # noqa: F401 - the libraries load before the line below, which says the work begins
    if rank == 0:
        print(f"qcbo-qnn train: {args.dataset} classes {args.classes}, n_train {args.n_train}, solver {args.solver}",
              file=sys.stderr)
    rep, clf, ds = train_run(args, progress=progress)
    if rank:
        return 0 if rep["feasible"] else 1
    if args.plots:
        net = clf.network_
        codes1 = net.layers[0].codes[:, :net.layers[0].d_in]
        label = {"ising-descent": f"{rep['solver_info'].get('objective_kind', '')} training objective",
                 "qcgd": "best feasible QCBO objective", "ste": "exact training loss per epoch",
                 "qph": "best upper bound (PH candidates)"}
        rep["plots"] = write_plots(args.plots, trace_values(rep["trace"]), codes1, ds, clf.predict(ds.X_test),
                                   label.get(args.solver, "objective (best so far)"))
        btrace = rep.get("bound", {}).get("bound_trace") or []
        if btrace:
            from qcbo_qnn.plots import write_bounds_plot
            t_solve = rep["solve_time_s"]
            upper = [(t_solve, rep["objective"])] + [(t_solve + e["time_s"], min(rep["objective"], e["upper"]))
                                                 for e in btrace]
            lower = [(t_solve + e["time_s"], e["best_bound"]) for e in btrace]
            rep["plots"].append(write_bounds_plot(args.plots, upper, lower))
    if args.model:
        clf.save(args.model, meta={"dataset": rep["dataset"], "classes": rep["classes"], "pool": args.pool,
                                   "n_train": rep["n_train"], "data_seed": args.seed,
                                   "test_accuracy": rep["test_accuracy"]})
        rep["model_file"] = str(args.model)
    if args.report:
        write_json(args.report, rep)
    print_table([(k, rep.get(k)) for k in SUMMARY_KEYS])
    if "ph" in rep:
        ph = rep["ph"]
        print_table([("ph_engine", ph["engine"]), ("ph_ranks", ph["ranks"]), ("ph_iterations", ph["iterations"]),
                     ("ph_lower_bound", ph["lower_bound"]), ("ph_upper_bound", ph["upper_bound"]),
                     ("ph_gap", ph["gap"])])
    if args.report:
        print(f"wrote {args.report}")
    if clf.result_.termination == Termination.interrupted:
        return 130
    return 0 if rep["feasible"] else 1
