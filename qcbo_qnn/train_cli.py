"""``qcbo-qnn train``, ``qcbo-qnn predict`` and ``qcbo-qnn baseline``.

train: data -> spec -> FIP-QCBO -> solver -> decoded network -> evaluation on the official test images
of the chosen classes -> JSON report, plots, model file.  Solvers: ``qcgd`` (QCBO via an Ising oracle,
when ``solvers.qcgd`` exists; the default then), ``sa-weights``, ``random``, ``ste``, ``highs``.
"""
from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path

import numpy as np

from qcbo_model.errors import QCBOError

SOLVERS = ("auto", "ising-descent", "qcgd", "sa-weights", "random", "ste", "highs")


class TrainError(QCBOError):
    """The train/baseline command cannot run as asked."""


def _has(mod: str) -> bool:
    try:
        return importlib.util.find_spec(mod) is not None
    except ModuleNotFoundError:
        return False


def default_solver() -> str:
    """The best Ising-oracle route available: the trust-region descent (solvers.ising_descent), else QCGD,
    else SA on the weight bits (measured in docs/results.md, section "Ising-oracle route")."""
    if _has("solvers.ising_descent"):
        return "ising-descent"
    return "qcgd" if _has("solvers.qcgd") else "sa-weights"


# ---------------------------------------------------------------------------------------------
def add_budget_options(p) -> None:
    g = p.add_argument_group("budget")
    g.add_argument("--sweeps", type=int, default=200, help="sa-weights: sweeps over all weight bits")
    g.add_argument("--reads", type=int, default=16, help="sa-weights: parallel reads; qcgd: oracle reads")
    g.add_argument("--candidates", type=int, default=None,
                   help="random: candidates (default: the forward evaluations of sa-weights' budget)")
    g.add_argument("--epochs", type=int, default=300, help="ste: epochs")
    g.add_argument("--lr", type=float, default=0.05, help="ste: Adam step in code units (times qmax)")
    g.add_argument("--time-limit", type=float, default=120.0, help="highs: time limit (s)")
    g.add_argument("--no-progress", action="store_true", help="no progress bars")


def add_qcgd_options(p) -> None:
    g = p.add_argument_group("qcgd (QCBO with an Ising oracle)")
    g.add_argument("--iterations", type=int, default=60, help="qcgd: CGAL iterations (one oracle call each)")
    g.add_argument("--lns-steps", type=int, default=30, help="qcgd: neuron-block LNS steps (oracle calls)")
    g.add_argument("--oracle-sweeps", type=int, default=None, help="qcgd/penalty with --oracle sa: sweeps per call")
    g.add_argument("--cim-steps", type=int, default=None, help="qcgd/penalty with --oracle cim: steps per call")
    g.add_argument("--qcgd-time-limit", type=float, default=None, help="qcgd: time limit (s)")
    g = p.add_argument_group("ising-descent (Gauss-Newton trust-region QUBOs over the weight bits)")
    g.add_argument("--descent-iterations", type=int, default=300, help="ising-descent: iterations "
                   "(3 oracle calls each, one per trust weight)")
    g.add_argument("--descent-objective", default="exact", choices=["exact", "spline"],
                   help="ising-descent: objective minimized (exact-activation training loss or the "
                        "FIP spline loss = QCBO objective)")
    g.add_argument("--descent-blocks", default="neuron", choices=["neuron", "all"],
                   help="ising-descent: QUBO over one hidden neuron's bits + the output bits per iteration "
                        "(neuron, cycled) or over all weight bits")
    g.add_argument("--descent-sharpness", type=float, default=8.0,
                   help="ising-descent: minimize loss(s z)/s (s > 1 tracks the error count; 1 = plain loss)")
    g.add_argument("--descent-time-limit", type=float, default=None, help="ising-descent: time limit (s)")
    g.add_argument("--descent-reads", type=int, default=48, help="ising-descent: oracle reads per iteration "
                   "(split over the trust-weight ladder)")
    g.add_argument("--descent-patience", type=int, default=10,
                   help="ising-descent: iterations without improvement that count as a stall")
    g.add_argument("--descent-restart", action=argparse.BooleanOptionalAction, default=True,
                   help="ising-descent: on a stall reset corrections, trust weight and block order and go on "
                        "until --descent-iterations")


def _oracle_kw(args) -> dict:
    kw = {}
    if args.oracle == "sa" and getattr(args, "oracle_sweeps", None):
        kw["num_sweeps"] = int(args.oracle_sweeps)
    if args.oracle == "cim" and getattr(args, "cim_steps", None):
        kw["num_steps"] = int(args.cim_steps)
    return kw


def _trace_values(trace) -> list:
    """QCGD trace entries (dicts) -> best feasible objective per iteration (where one exists)."""
    out = []
    for e in trace or []:
        v = e.get("best_feasible") if isinstance(e, dict) else e
        if v is not None and np.isfinite(v):
            out.append(float(v))
    return out


def register(subparsers, add_model_options) -> None:
    t = subparsers.add_parser("train", help="build, solve, decode and evaluate a QNN; JSON report, plots, model file")
    add_model_options(t)
    t.add_argument("--solver", default="auto", choices=SOLVERS,
                   help=f"auto = {default_solver()} here (qcgd when solvers.qcgd exists)")
    t.add_argument("--oracle", default=None, help="Ising oracle (cim, sa, sa-fast, exact, greedy, dimod; "
                   "ising-descent also random, random-local controls). Default: sa-fast for ising-descent, "
                   "cim for qcgd")
    add_budget_options(t)
    add_qcgd_options(t)
    t.add_argument("--report", default=None, help="JSON report file")
    t.add_argument("--plots", default=None, help="folder for PNG plots")
    t.add_argument("--model", default=None, help="write the trained model (JSON) here")
    # the Ising descent's QUBO size does not grow with N, and more data is the main lever on test
    # accuracy (docs/results.md): train on 2000 samples unless told otherwise (about 12 s here)
    t.set_defaults(func=cmd_train, n_train=2000)

    pr = subparsers.add_parser("predict", help="evaluate a saved model on a test split")
    pr.add_argument("--model", required=True)
    pr.add_argument("--dataset", default=None, help="default: the model's training dataset")
    pr.add_argument("--data-dir", default=None)
    pr.add_argument("--classes", default=None, help="comma list (default: the model's)")
    pr.add_argument("--n-test", type=int, default=None)
    pr.add_argument("--seed", type=int, default=0)
    pr.add_argument("--report", default=None)
    pr.set_defaults(func=cmd_predict)

    b = subparsers.add_parser("baseline", help="logistic regression, STE-QAT, SA on weights, random search, "
                                               "penalty, exact (tiny): side by side")
    add_model_options(b)
    add_budget_options(b)
    add_qcgd_options(b)
    b.add_argument("--oracle", default=None, help="Ising oracle for qcgd and penalty (default cim)")
    b.add_argument("--methods", default="logreg,ste,sa-weights,random,penalty,exhaustive",
                   help="comma list; unavailable ones are reported as skipped")
    b.add_argument("--report", default=None)
    b.set_defaults(func=cmd_baseline)


# ---------------------------------------------------------------------------------------------
def solve(prob, solver: str, args, progress: bool = True) -> dict:
    """Run one solver on ``prob``; returns x (full feasible assignment), objective, trace and metadata."""
    from solvers import baselines as bl
    if solver == "auto":
        solver = default_solver()
    seed = args.seed
    out = {"solver": solver, "oracle": None, "oracle_calls": 0, "trace": [], "info": {}}
    if getattr(args, "oracle", None) is None:
        args.oracle = "sa-fast" if solver == "ising-descent" else "cim"
    if solver == "ising-descent":
        from solvers.ising_descent import solve_from_args as _descent
        args.no_progress = not progress
        r = _descent(prob, args)
        x = r.pop("x")
        tr = r.pop("trace")
        out.update(oracle=r["oracle"], oracle_calls=int(r["oracle_calls"]),
                   trace=[float(e["objective"]) for e in tr], info={**r, "iteration_trace": tr})
        out["trace_kind"] = f"{r['objective_kind']} training objective per iteration"
    elif solver == "qcgd":
        if not _has("solvers.qcgd"):
            raise TrainError("solver 'qcgd' is not available in this installation (solvers.qcgd missing); "
                             "use --solver sa-weights|random|ste|highs")
        from solvers.qcgd import qcgd
        r = qcgd(prob, oracle=args.oracle, oracle_kw=_oracle_kw(args), iterations=args.iterations,
                 reads=args.reads, lns_steps=args.lns_steps, time_limit=args.qcgd_time_limit, seed=seed,
                 progress=progress)
        if r.x is None:
            raise TrainError(f"QCGD found no feasible point (status {r.status})")
        x = np.asarray(r.x)
        if x.shape[-1] == prob.n_weight_bits:
            x = prob.complete(x[None])[0]
        out.update(oracle=r.oracle, oracle_calls=int(r.oracle_calls), trace=_trace_values(r.trace),
                   info=r.to_dict(include_trace=False))
        out["info"].pop("x", None)
        out["trace_kind"] = "best feasible QCBO objective"
    elif solver == "sa-weights":
        r = bl.sa_weights(prob, n_sweeps=args.sweeps, n_reads=args.reads, seed=seed, progress=progress)
        x, out["trace"], out["info"] = r.x, r.trace, {"budget": r.budget, **r.info}
    elif solver == "random":
        n = args.candidates or args.sweeps * args.reads * prob.n_weight_bits
        r = bl.random_search(prob, n, seed=seed, progress=progress)
        x, out["trace"], out["info"] = r.x, r.trace, {"budget": r.budget}
    elif solver == "ste":
        r = bl.ste_qat(prob.spec, prob.net.X, prob.net.Y, epochs=args.epochs, lr=args.lr, seed=seed, prob=prob,
                       progress=progress)
        x, out["trace"], out["info"] = r.x, r.trace, {"budget": r.budget, **r.info}
        out["trace_kind"] = "exact training loss per epoch"
    elif solver == "highs":
        if not _has("solvers.highs"):
            raise TrainError("solver 'highs' needs solvers.highs (not in this installation)")
        from solvers.highs import solve_highs
        r = solve_highs(prob, time_limit=args.time_limit)
        if r.x is None:
            raise TrainError(f"HiGHS found no incumbent: {r.termination}")
        x = np.asarray(r.x, dtype=np.uint8)
        out["info"] = r.certificate()
        out["info"].pop("assignment", None)
    else:
        raise TrainError(f"unknown solver {solver!r}; choose one of {SOLVERS}")
    x = np.asarray(x, dtype=np.uint8)
    out["x"] = x
    out["objective"] = float(prob.qcbo.objective(x[None])[0])
    out["feasible"] = bool(prob.qcbo.is_feasible(x[None])[0])
    return out


def _confusion(y_true, y_pred, labels) -> np.ndarray:
    idx = {v: i for i, v in enumerate(labels)}
    M = np.zeros((len(labels), len(labels)), dtype=int)
    np.add.at(M, (np.vectorize(idx.get)(y_true), np.vectorize(idx.get)(y_pred)), 1)
    return M


def _labels_of(y):
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] > 1:
        return np.argmax(y, axis=1)
    return y.reshape(len(y))


def write_plots(folder, trace, first_layer_codes, ds, y_pred, trace_label="objective") -> list:
    """trace.png (solver trace), weights_layer1.png (first-layer codes as images), confusion.png."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    if trace:
        fig, ax = plt.subplots(figsize=(5, 3.2))
        ax.plot(np.arange(1, len(trace) + 1), trace)
        ax.set_xlabel("iteration")
        ax.set_ylabel(trace_label)
        ax.set_title("solver trace")
        fig.tight_layout()
        fig.savefig(folder / "trace.png", dpi=120)
        plt.close(fig)
        files.append(str(folder / "trace.png"))
    qw = first_layer_codes
    if qw is not None and int(np.prod(ds.feature_shape)) == qw.shape[1]:
        d1 = qw.shape[0]
        fig, axes = plt.subplots(1, d1, figsize=(1.6 * d1, 1.9), squeeze=False)
        vmax = np.abs(qw).max() or 1.0
        for j in range(d1):
            a = axes[0, j]
            a.imshow(qw[j].reshape(ds.feature_shape), cmap="bwr", vmin=-vmax, vmax=vmax)
            a.set_title(f"neuron {j}", fontsize=8)
            a.axis("off")
        fig.suptitle("first-layer weights", fontsize=9)
        fig.tight_layout()
        fig.savefig(folder / "weights_layer1.png", dpi=120)
        plt.close(fig)
        files.append(str(folder / "weights_layer1.png"))
    y_true = _labels_of(ds.y_test)
    labels = sorted(set(np.unique(y_true)) | set(np.unique(y_pred)))
    M = _confusion(y_true, y_pred, labels)
    names = list(ds.label_names) if len(ds.label_names) == len(labels) else [str(v) for v in labels]
    fig, ax = plt.subplots(figsize=(1.2 + 0.7 * len(labels), 1.0 + 0.7 * len(labels)))
    ax.imshow(M, cmap="Blues")
    for i in range(M.shape[0]):
        for j in range(M.shape[1]):
            ax.text(j, i, str(M[i, j]), ha="center", va="center", fontsize=8)
    ax.set_xticks(range(len(labels)), names, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(len(labels)), names, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title("test confusion matrix", fontsize=9)
    fig.tight_layout()
    fig.savefig(folder / "confusion.png", dpi=120)
    plt.close(fig)
    files.append(str(folder / "confusion.png"))
    return files


def train_run(args, ds=None, progress: bool = True) -> tuple:
    """The train pipeline as a function: (report, problem, solve result, dataset)."""
    from qcbo_qnn.cli import load_data, problem_from_args
    t0 = time.perf_counter()
    ds = ds if ds is not None else load_data(args)
    prob, ds = problem_from_args(args, ds)
    t_build = time.perf_counter() - t0
    res = solve(prob, args.solver, args, progress=progress)
    t_solve = time.perf_counter() - t0 - t_build
    x = res["x"]
    q = prob.decode(x)
    acc = prob.accuracy(x, ds.X_test, ds.y_test)
    acc_fip = prob.accuracy(x, ds.X_test, ds.y_test, exact=False)
    rep = {"dataset": ds.name, "classes": list(ds.classes), "n_train": int(len(ds.X_train)),
           "n_test": int(len(ds.X_test)), "test_accuracy": acc, "test_accuracy_fip": acc_fip,
           "train_accuracy": prob.accuracy(x, ds.X_train, ds.y_train),
           "train_accuracy_fip": prob.accuracy(x, ds.X_train, ds.y_train, exact=False),
           "avg_bits_per_weight": prob.spec.avg_bits_per_weight,
           "avg_bits_per_parameter": prob.spec.avg_bits_per_parameter,
           "n_variables": prob.qcbo.n, "n_weight_bits": prob.n_weight_bits, "n_constraints": prob.qcbo.m,
           "objective": res["objective"], "feasible": res["feasible"], "solver": res["solver"],
           "oracle": res["oracle"], "oracle_calls": res["oracle_calls"],
           "wall_time_s": time.perf_counter() - t0, "build_time_s": t_build, "solve_time_s": t_solve,
           "seed": args.seed, "spec": prob.spec.to_dict(), "form": prob.form,
           "spline_error_bounds": prob.net.spline_error_report(),
           "solver_info": res["info"], "trace": [float(v) for v in res["trace"]],
           "weights": q.to_dict(), "machine_note": "timings on a shared 2-core machine"}
    return rep, prob, res, ds


def cmd_train(args) -> int:
    from qcbo_qnn.cli import write_json
    from qcbo_qnn.model_io import model_dict
    progress = not args.no_progress and sys.stderr.isatty()
    solver = default_solver() if args.solver == "auto" else args.solver
    print(f"qcbo-qnn train: {args.dataset} classes {args.classes}, n_train {args.n_train}, solver {solver}",
          file=sys.stderr)
    rep, prob, res, ds = train_run(args, progress=progress)
    if args.plots:
        y_pred = prob.predict(res["x"], ds.X_test)
        codes1 = prob.decode(res["x"]).codes[0][:, :prob.net.layers[0].d_in]
        rep["plots"] = write_plots(args.plots, rep["trace"], codes1, ds, y_pred,
                                   res.get("trace_kind", "objective (best so far)"))
    if args.model:
        write_json(args.model, model_dict(prob, res["x"], {"dataset": rep["dataset"], "classes": rep["classes"],
                                                          "pool": args.pool, "test_accuracy": rep["test_accuracy"]}))
        rep["model_file"] = str(args.model)
    if args.report:
        write_json(args.report, rep)
    for k in ("dataset", "classes", "n_train", "n_test", "solver", "oracle", "oracle_calls", "objective",
              "feasible", "train_accuracy", "test_accuracy", "test_accuracy_fip", "avg_bits_per_weight",
              "n_variables", "n_constraints", "wall_time_s"):
        v = rep[k]
        print(f"{k:>20}: {v:.4f}" if isinstance(v, float) else f"{k:>20}: {v}")
    if args.report:
        print(f"wrote {args.report}")
    return 0


def cmd_predict(args) -> int:
    from qcbo_model.data import load_dataset, one_vs_rest
    from qcbo_qnn.cli import write_json
    from qcbo_qnn.model_io import SavedModel
    m = SavedModel.load(args.model)
    name = args.dataset or m.d.get("dataset", "fashion-mnist")
    classes = tuple(int(c) for c in args.classes.split(",")) if args.classes else tuple(m.d.get("classes", (0, 1)))
    ds = load_dataset(name, classes=classes, n_train=len(classes), n_test=args.n_test,
                      pool=int(m.d.get("pool", 4)), seed=args.seed, data_dir=args.data_dir)
    y = ds.y_test if len(classes) <= 2 else one_vs_rest(ds.y_test, len(classes))
    rep = {"model": str(args.model), "dataset": name, "classes": list(classes), "n_test": int(len(ds.X_test)),
           "test_accuracy": m.accuracy(ds.X_test, y), "test_accuracy_fip": m.accuracy(ds.X_test, y, exact=False)}
    for k, v in rep.items():
        print(f"{k:>18}: {v:.4f}" if isinstance(v, float) else f"{k:>18}: {v}")
    if args.report:
        write_json(args.report, rep)
    return 0


# ---------------------------------------------------------------------------------------------
def run_baselines(args, ds=None, methods=None, progress: bool = False) -> dict:
    """Every baseline on the same training samples and the same test set; equal candidate budgets."""
    from qcbo_qnn.cli import load_data, problem_from_args
    from solvers import baselines as bl
    ds = ds if ds is not None else load_data(args)
    prob, ds = problem_from_args(args, ds)
    methods = methods or [m.strip() for m in args.methods.split(",") if m.strip()]
    n_w = prob.n_weight_bits
    budget = args.candidates or args.sweeps * args.reads * n_w        # forward evaluations of sa-weights
    rows = {}
    for m in methods:
        t0 = time.perf_counter()
        try:
            if m == "logreg":
                r = bl.logistic_regression(ds.X_train, ds.y_train, ds.X_test, ds.y_test, seed=args.seed)
            elif m == "ste":
                r = bl.ste_qat(prob.spec, ds.X_train, ds.y_train, epochs=args.epochs, lr=args.lr, seed=args.seed,
                               prob=prob, progress=progress)
            elif m == "sa-weights":
                r = bl.sa_weights(prob, args.sweeps, args.reads, args.seed, progress=progress)
            elif m == "random":
                r = bl.random_search(prob, budget, args.seed, progress=progress)
            elif m == "exhaustive":
                if n_w > 22:
                    rows[m] = {"method": m, "skipped": f"{n_w} weight bits: 2^{n_w} is too many to enumerate"}
                    continue
                r = bl.exhaustive_weights(prob)
            elif m == "penalty":
                if not _has("solvers.penalty"):
                    rows[m] = {"method": m, "skipped": "solvers.penalty is not in this installation"}
                    continue
                from solvers.penalty import penalty_grid
                d = penalty_grid(prob, oracle=args.oracle, oracle_kw=_oracle_kw(args), reads=args.reads,
                                 seed=args.seed)
                b = d["best"]
                if b["x"] is None:
                    rows[m] = {"method": m, "skipped": "the penalty method found no feasible point on its grid"}
                    continue
                x = np.asarray(b["x"], dtype=np.uint8)
                r = bl.BaselineResult(method="penalty", objective=float(prob.qcbo.objective(x[None])[0]),
                                      wbits=x[:n_w], x=x, wall_time_s=time.perf_counter() - t0, seed=args.seed,
                                      budget={"oracle_calls": d.get("oracle_calls")},
                                      info={"best_lambda": b["lam"], "best_from": b["source"],
                                            "oracle": d.get("oracle")})
            elif m in ("qcgd", "highs"):
                s = solve(prob, m, args, progress=progress)
                r = bl.BaselineResult(method=m, objective=s["objective"], wbits=s["x"][:n_w], x=s["x"],
                                      wall_time_s=time.perf_counter() - t0, trace=s["trace"], seed=args.seed,
                                      info={"oracle": s["oracle"], "oracle_calls": s["oracle_calls"]})
            else:
                raise TrainError(f"unknown baseline {m!r}")
        except (QCBOError, ImportError) as e:
            rows[m] = {"method": m, "skipped": f"{type(e).__name__}: {e}"}
            continue
        if r.x is not None:
            r.evaluate(prob, ds.X_test, ds.y_test)
            r.metrics["feasible"] = bool(prob.qcbo.is_feasible(r.x[None])[0])
        rows[m] = r.to_dict(include_bits=False)
        rows[m]["wall_time_s"] = r.wall_time_s
    return {"dataset": ds.name, "classes": list(ds.classes), "n_train": int(len(ds.X_train)),
            "n_test": int(len(ds.X_test)), "seed": args.seed, "avg_bits_per_weight": prob.spec.avg_bits_per_weight,
            "n_weight_bits": n_w, "candidate_budget": budget, "methods": rows,
            "machine_note": "timings on a shared 2-core machine"}


def cmd_baseline(args) -> int:
    if getattr(args, "oracle", None) is None:
        args.oracle = "cim"
    from qcbo_qnn.cli import write_json
    rep = run_baselines(args, progress=not args.no_progress and sys.stderr.isatty())
    print(f"{rep['dataset']} classes {rep['classes']}  n_train {rep['n_train']}  n_test {rep['n_test']}  "
          f"bits/weight {rep['avg_bits_per_weight']:.3f}  candidate budget {rep['candidate_budget']}")
    print(f"{'method':>12} {'objective':>10} {'train acc':>10} {'test acc':>9} {'test fip':>9} {'time s':>8}")
    for m, r in rep["methods"].items():
        if "skipped" in r:
            print(f"{m:>12}  skipped: {r['skipped']}")
            continue
        mt = r["metrics"]
        obj = "-" if r["objective"] is None else f"{r['objective']:.4f}"
        fip = mt.get("test_accuracy_fip")
        print(f"{m:>12} {obj:>10} {mt.get('train_accuracy', float('nan')):>10.4f} "
              f"{mt.get('test_accuracy', float('nan')):>9.4f} {'-' if fip is None else f'{fip:.4f}':>9} "
              f"{r['wall_time_s']:>8.2f}")
    if args.report:
        write_json(args.report, rep)
        print(f"wrote {args.report}")
    return 0
