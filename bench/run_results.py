"""Results protocol (docs/results.md): every method on Fashion-MNIST pairs, three seeds; JSON + markdown.

    python bench/run_results.py --part ste-tune table cim penalty exact tenclass curve \
        --out bench/results/results_protocol.json

Parts (each rewrites its key of --out after every row, so a cut-off run keeps what it measured):
  ste-tune  STE-QAT settings grid (epochs, lr, minibatch, sharpness) on (0,1) and (2,4), N, H=4, seed 0.
  table     pairs x H x seeds at N (--n): the default route (`qcbo-qnn train` defaults: ising-descent,
            oracle sa = dwave-samplers SA 1000 sweeps, neuron blocks, sharpness 8), random search with
            repair at the descent's evaluation count, SA on the weight bits (--sa-sweeps x --sa-reads),
            STE-QAT (--ste-*), full-precision logistic regression.  Same training samples and test set.
  cim       the same route with the CIM oracle (--cim-steps) on (0,1), H=4, N=--cim-n, seeds.
  penalty   the penalty method (monolithic penalty QUBO over a lambda grid, oracle sa with
            --penalty-sweeps) at N=--penalty-n: feasibility + accuracy after forward completion, vs the
            descent on the same samples.
  exact     a tiny instance (pool 14 -> 4 features, N=8, H=2): exhaustive optimum of the QCBO vs methods.
  tenclass  10 classes one-vs-rest (`qcbo-qnn train --classes 0,...,9`), hidden --tc-hidden, N=--tc-n,
            with logistic regression and STE on the same data.
  curve     (0,1) accuracy vs N and vs wall time for the default route (docs/img/results_curve.png).
  legacy    the round-2 baseline table (qcbo_qnn.cli.baseline.run_baselines; the remaining args after --
            go to it, in the `qcbo-qnn baseline` flags: --ste-epochs, --sa-weights-sweeps, ...).
Every method runs through solvers.solve.  The descent runs to its iteration (or time) limit as it did
when these results were measured: --descent-stop-after none (the default here) passes stop_after=None;
give a number to use the descent's convergence stop instead.  Timings: shared 2-core machine.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import shlex
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qcbo_model.forward import codes_from_bits, exact_loss  # noqa: E402
from qcbo_qnn.cli import make_parser  # noqa: E402
from qcbo_qnn.cli.baseline import run_baselines  # noqa: E402
from qcbo_qnn.cli.common import (add_method_options, add_model_options, load_data,  # noqa: E402
                                 method_options_from_args, problem_from_args)
from qcbo_qnn.io import write_json  # noqa: E402
from solvers import available_methods, method_config, solve  # noqa: E402
from solvers.baselines import logistic_regression  # noqa: E402

STE_GRID = [  # (epochs, lr, batch_size, sharpness)
    (300, 0.05, None, 1.0), (300, 0.05, None, 8.0), (1000, 0.02, None, 8.0),
    (100, 0.01, 64, 1.0), (100, 0.01, 64, 8.0), (300, 0.003, 64, 8.0), (200, 0.01, 32, 8.0)]
# the tuned STE baseline: every instance runs these (sharpened loss, as the descent) and keeps the
# setting with the lowest sharpened *training* loss (no test data in the choice)
STE_TUNED = [(1000, 0.02, None, 8.0), (300, 0.003, 64, 8.0), (200, 0.01, 32, 8.0), (1000, 0.003, 64, 8.0),
             (3000, 0.01, None, 8.0)]
STE_PLAIN = (300, 0.05, None, 1.0)   # the round-2 setting (plain logistic loss, full batch)


def train_args(extra):
    """The `qcbo-qnn train` namespace with its defaults plus ``extra`` CLI tokens."""
    return make_parser().parse_args(["train", "--no-progress"] + list(extra))


def _has(mod: str) -> bool:
    try:
        return importlib.util.find_spec(mod) is not None
    except ModuleNotFoundError:
        return False


def stop_after_arg(text):
    """--descent-stop-after: 'none' (run to the iteration/time limit) or an integer >= 1."""
    return None if str(text).lower() == "none" else int(text)


def sharp_loss(prob, x, s=8.0):
    from solvers.methods.descent import _objective_fn
    w = np.asarray(x)[:prob.n_weight_bits][None]
    return float(_objective_fn(prob.net, "exact", s)(w)[0])


def plain_loss(prob, x):
    w = np.asarray(x)[:prob.n_weight_bits][None]
    return float(exact_loss(prob.net, codes_from_bits(prob.net, w))[0])


def row(prob, ds, x, method, t0, **kw):
    x = np.asarray(x, dtype=np.uint8)
    return {"method": method, **kw, "test_acc": prob.accuracy(x, ds.X_test, ds.y_test),
            "train_acc": prob.accuracy(x, ds.X_train, ds.y_train),
            "qcbo_objective": float(prob.qcbo.objective(x[None])[0]),
            "feasible": bool(prob.qcbo.is_feasible(x[None])[0]),
            "plain_loss": plain_loss(prob, x), "sharp_loss": sharp_loss(prob, x),
            "wall_s": time.perf_counter() - t0}


def problem(pair, n, H, seed, extra=()):
    a = train_args(["--classes", pair, "--n-train", str(n), "--hidden", str(H), "--seed", str(seed), *extra])
    ds = load_data(a)
    prob, ds = problem_from_args(a, ds)
    return a, prob, ds


def descent_config(a, stop_after=None):
    """The ising-descent config of the `qcbo-qnn train` namespace ``a`` (its defaults plus the flags given),
    with ``stop_after`` (None: run to the iteration or time limit, as the stored results did)."""
    opts = method_options_from_args(a, "ising-descent")
    opts.setdefault("stop_after", stop_after)
    return method_config("ising-descent", opts)


def descent(a, prob, ds, method="ising-descent", stop_after=None):
    t0 = time.perf_counter()
    r = solve(prob, "ising-descent", descent_config(a, stop_after))
    inf = r.info
    return row(prob, ds, r.x, method, t0, oracle=r.oracle, oracle_calls=r.oracle_calls,
               evaluations=inf["evaluations"], iterations=inf["iterations"], accepted=inf["accepted"],
               status=str(r.termination), restarts=inf["restarts"], oracle_time_s=r.oracle_time_s)


def ste(prob, ds, seed, cfg):
    ep, lr, bs, sh = cfg
    t0 = time.perf_counter()
    r = solve(prob, "ste", epochs=ep, lr=lr, batch_size=bs, sharpness=sh, seed=seed)   # on prob's training set
    return row(prob, ds, r.x, "ste", t0, epochs=ep, lr=lr, batch_size=bs, sharpness=sh)


def ste_tuned(prob, ds, seed):
    runs = [ste(prob, ds, seed, cfg) for cfg in STE_TUNED]
    best = min(runs, key=lambda r: r["sharp_loss"])
    return {**best, "method": "ste-tuned", "wall_s": sum(r["wall_s"] for r in runs),
            "grid": [{k: r[k] for k in ("epochs", "lr", "batch_size", "sharpness", "sharp_loss", "test_acc")}
                     for r in runs]}


def logreg(ds, seed):
    r = logistic_regression(ds.X_train, ds.y_train, ds.X_test, ds.y_test, seed=seed)
    return {"method": "logreg", "test_acc": r["metrics"]["test_accuracy"], "train_acc": r["metrics"]["train_accuracy"],
            "wall_s": r["wall_time_s"]}


def random_search(prob, ds, candidates, seed, method="random", **kw):
    """Random search with repair (valid codes, forward completion) at ``candidates`` evaluations."""
    t0 = time.perf_counter()
    r = solve(prob, "random-search", candidates=int(candidates), seed=seed)
    return row(prob, ds, r.x, method, t0, evaluations=candidates, **kw)


def sa_weights(prob, ds, sweeps, reads, seed, **kw):
    t0 = time.perf_counter()
    r = solve(prob, "sa-weights", sweeps=sweeps, reads=reads, seed=seed)
    return row(prob, ds, r.x, "sa-weights", t0, **kw), r


# ---------------------------------------------------------------------------------------------
def part_ste_tune(o, save):
    rows = []
    for pair in ["0,1", "2,4"]:
        _, prob, ds = problem(pair, o.n, 4, 0, o.train_args)
        for cfg in STE_GRID:
            rows.append({"pair": pair, **ste(prob, ds, 0, cfg)})
            save(rows)
            print(rows[-1], flush=True)
    return rows


def part_table(o, save):
    rows = []
    for pair in o.pairs:
        for H in o.hidden_sizes:
            for seed in o.seeds:
                a, prob, ds = problem(pair, o.n, H, seed, o.train_args)
                key = dict(pair=pair, H=H, seed=seed, n=o.n, bits_per_weight=prob.spec.avg_bits_per_weight)
                d = descent(a, prob, ds, stop_after=o.descent_stop_after)
                out = [d]
                out.append(random_search(prob, ds, d["evaluations"], seed))
                sa, r = sa_weights(prob, ds, o.sa_sweeps, o.sa_reads, seed)
                sa["evaluations"] = r.info["forward_evaluations"]
                out.append(sa)
                out.append({**ste(prob, ds, seed, STE_PLAIN), "method": "ste-plain"})
                out.append(ste_tuned(prob, ds, seed))
                out.append(logreg(ds, seed))
                rows += [{**key, **r} for r in out]
                save(rows)
                print(f"{pair} H{H} s{seed}: " + "  ".join(f"{r['method']} {r['test_acc']:.4f} ({r['wall_s']:.1f}s)"
                                                          for r in out), flush=True)
    return rows


def part_cim(o, save):
    rows = []
    for steps in o.cim_steps:
        for seed in o.seeds:
            a, prob, ds = problem("0,1", o.cim_n, 4, seed,
                                 [*o.train_args, "--oracle", "cim", "--oracle-option", f"num_steps={steps}"])
            rows.append({"pair": "0,1", "H": 4, "seed": seed, "n": o.cim_n, "cim_steps": steps,
                         "bits_per_weight": prob.spec.avg_bits_per_weight,
                         **descent(a, prob, ds, "descent/cim", stop_after=o.descent_stop_after)})
            save(rows)
            print({k: v for k, v in rows[-1].items()}, flush=True)
    return rows


def part_penalty(o, save):
    rows = []
    for pair in o.penalty_pairs:
        for seed in o.seeds:
            a, prob, ds = problem(pair, o.penalty_n, 4, seed, o.train_args)
            key = dict(pair=pair, H=4, seed=seed, n=o.penalty_n, n_variables=prob.qcbo.n)
            t0 = time.perf_counter()
            d = solve(prob, "penalty", oracle="sa", oracle_options={"num_sweeps": o.penalty_sweeps}, reads=16,
                      seed=seed)
            grid = [{k: v for k, v in r.items() if k not in ("x",) and not hasattr(v, "shape")}
                    for r in d.info.get("grid", [])]
            info = dict(grid=grid, max_feasible_rate=max((r["feasible_rate"] for r in grid), default=None),
                        best_lambda=d.info["best_lambda"], best_from=d.info["best_from"],
                        qubo_vars=d.info.get("n_qubo_variables"), compile_s=d.info.get("compile_time_s"),
                        termination=str(d.termination))
            if d.x is not None:
                out = row(prob, ds, d.x, "penalty", t0, **info)
            else:
                out = {"method": "penalty", "test_acc": None, "feasible": False, "wall_s": time.perf_counter() - t0,
                       **info}
            rows.append({**key, **out})
            rows.append({**key, **descent(a, prob, ds, stop_after=o.descent_stop_after)})
            save(rows)
            print({k: v for k, v in rows[-2].items() if k != "grid"}, "descent", rows[-1]["test_acc"], flush=True)
    return rows


def part_exact(o, save):
    rows = []
    for pair in ["0,1", "5,7"]:
        for seed in o.seeds:
            a, prob, ds = problem(pair, 8, 2, seed, [*o.train_args, "--pool", "14"])
            key = dict(pair=pair, H=2, seed=seed, n=8, pool=14, n_weight_bits=prob.n_weight_bits,
                       bits_per_weight=prob.spec.avg_bits_per_weight)
            t0 = time.perf_counter()
            ex = solve(prob, "exhaustive", max_bits=22)
            out = [row(prob, ds, ex.x, "exhaustive", t0, patterns=ex.info["n_patterns"])]
            d = descent(a, prob, ds, stop_after=o.descent_stop_after)
            out.append(d)
            out.append(sa_weights(prob, ds, 50, 8, seed)[0])
            out.append(random_search(prob, ds, d["evaluations"], seed))
            out.append(ste(prob, ds, seed, (o.ste_epochs, o.ste_lr, min(o.ste_batch or 8, 8), o.ste_sharpness)))
            if _has("highspy"):
                t0 = time.perf_counter()
                h = solve(prob, "highs", time_limit=o.highs_time_limit)
                if h.x is not None:   # termination: HiGHS's own (Pyomo) condition name, as stored before
                    out.append(row(prob, ds, h.x, "highs", t0, termination=h.info["highs_termination"],
                                   solution_status=str(h.solution_status)))
            rows += [{**key, **r} for r in out]
            save(rows)
            print(pair, seed, "  ".join(f"{r['method']} obj {r.get('qcbo_objective', float('nan')):.4f} "
                                        f"test {r['test_acc']:.4f}" for r in out), flush=True)
    return rows


def part_tenclass(o, save):
    rows = []
    classes = "0,1,2,3,4,5,6,7,8,9"
    for H in o.tc_hidden:
        for seed in o.tc_seeds:
            # the `qcbo-qnn train --classes 0,...,9 --time-limit T` pipeline: data, one-vs-rest FIP problem,
            # the descent with the train defaults (run to its time/iteration limit), test on all images
            t0 = time.perf_counter()
            a, prob, ds = problem(classes, o.tc_n, H, seed, [*o.train_args, "--time-limit", str(o.tc_time_limit)])
            t_build = time.perf_counter() - t0
            res = solve(prob, "ising-descent", descent_config(a, o.descent_stop_after))
            inf = res.info
            rows.append({"method": "ising-descent", "H": H, "seed": seed, "n": o.tc_n,
                         "bits_per_weight": prob.spec.avg_bits_per_weight,
                         "test_acc": prob.accuracy(res.x, ds.X_test, ds.y_test),
                         "train_acc": prob.accuracy(res.x, ds.X_train, ds.y_train), "wall_s": time.perf_counter() - t0,
                         "build_s": t_build, "oracle_calls": res.oracle_calls,
                         "status": str(res.termination), "iterations": inf.get("iterations"),
                         "oracle_time_s": res.oracle_time_s, "n_weight_bits": prob.n_weight_bits})
            save(rows)
            print(rows[-1], flush=True)
            rows.append({"H": H, "seed": seed, "n": o.tc_n, **ste(prob, ds, seed, (o.ste_epochs, o.ste_lr, o.ste_batch,
                                                                                   o.ste_sharpness))})
            rows[-1].pop("plain_loss", None)
            if H == o.tc_hidden[0]:
                rows.append({"H": None, "seed": seed, "n": o.tc_n, **logreg(ds, seed)})
            save(rows)
            print(rows[-2:], flush=True)
    return rows


def part_curve(o, save):
    rows = []
    for n in o.curve_ns:
        for seed in o.seeds:
            t0 = time.perf_counter()
            a, prob, ds = problem("0,1", n, 4, seed, o.train_args)
            d = descent(a, prob, ds, stop_after=o.descent_stop_after)
            d["wall_s_with_build"] = time.perf_counter() - t0
            rows.append({"pair": "0,1", "H": 4, "seed": seed, "n": n, **d})
            save(rows)
            print({k: rows[-1][k] for k in ("n", "seed", "test_acc", "wall_s_with_build")}, flush=True)
    plot_curve(rows, o.img)
    return rows


def plot_curve(rows, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    ns = sorted({r["n"] for r in rows})
    acc = {n: [100 * r["test_acc"] for r in rows if r["n"] == n] for n in ns}
    tim = {n: [r["wall_s_with_build"] for r in rows if r["n"] == n] for n in ns}
    fig, ax = plt.subplots(1, 2, figsize=(9, 3.4))
    ax[0].errorbar(ns, [np.mean(acc[n]) for n in ns], yerr=[np.std(acc[n]) for n in ns], marker="o", capsize=3)
    ax[0].set_xscale("log")
    ax[0].set_xlabel("training samples N")
    ax[1].errorbar([np.mean(tim[n]) for n in ns], [np.mean(acc[n]) for n in ns],
                   xerr=[np.std(tim[n]) for n in ns], yerr=[np.std(acc[n]) for n in ns], marker="o", capsize=3)
    for n in ns:
        ax[1].annotate(f"N={n}", (np.mean(tim[n]), np.mean(acc[n])), fontsize=8)
    ax[1].set_xlabel("wall time s (build + descent, shared 2-core machine)")
    for x in ax:
        x.axhline(94.95, ls="--", c="gray", label="target 94.95 %")
        x.set_ylabel("test accuracy % (2000 images)")
        x.legend(loc="lower right")
    fig.suptitle("(0,1), 49-4-1, bits 1,2, ising-descent + sa (train defaults), 3 seeds")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


# ---------------------------------------------------------------------------------------------
def legacy(o_outer, rest, out):
    """The round-2 baseline table through ``qcbo-qnn baseline``'s run_baselines; ``rest`` takes its flags
    (data/model options and the generated method options, e.g. --ste-epochs, --sa-weights-sweeps)."""
    inner = argparse.ArgumentParser()
    add_model_options(inner)
    add_method_options(inner, available_methods())
    inner.add_argument("--methods", default="logreg,ste,sa-weights,random-search")
    inner.add_argument("--no-progress", action="store_true")
    o = inner.parse_args([t for t in rest if t != "--"])
    # 'random' was the old name of random search with repair
    methods = ["random-search" if m == "random" else m for m in o.methods.split(",") if m]
    runs = []
    for pair in o_outer.pairs:
        for H in o_outer.hidden_sizes:
            for seed in o_outer.seeds:
                o.classes, o.hidden, o.seed, o.no_progress = [int(c) for c in pair.split(",")], [H], seed, True
                rep = run_baselines(o, methods=methods)
                rep["hidden"] = H
                runs.append(rep)
                write_json(out, {"runs": runs, "machine_note": "shared 2-core machine"})
    return runs


PARTS = {"ste-tune": part_ste_tune, "table": part_table, "cim": part_cim, "penalty": part_penalty,
         "exact": part_exact, "tenclass": part_tenclass, "curve": part_curve}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--part", nargs="+", default=["table"], choices=list(PARTS) + ["legacy"])
    p.add_argument("--pairs", nargs="+", default=["0,1", "5,7", "7,9", "0,3", "2,4", "0,6"])
    p.add_argument("--hidden-sizes", nargs="+", type=int, default=[4, 8])
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--n", type=int, default=512, help="training samples for the table")
    p.add_argument("--sa-sweeps", type=int, default=10)
    p.add_argument("--sa-reads", type=int, default=4)
    p.add_argument("--ste-epochs", type=int, default=100)
    p.add_argument("--ste-lr", type=float, default=0.01)
    p.add_argument("--ste-batch", type=int, default=64)
    p.add_argument("--ste-sharpness", type=float, default=8.0)
    p.add_argument("--cim-n", type=int, default=2000)
    p.add_argument("--cim-steps", nargs="+", type=int, default=[2000])
    p.add_argument("--penalty-n", type=int, default=32)
    p.add_argument("--penalty-pairs", nargs="+", default=["0,1"])
    p.add_argument("--penalty-sweeps", type=int, default=1000)
    p.add_argument("--tc-hidden", nargs="+", type=int, default=[16])
    p.add_argument("--tc-seeds", nargs="+", type=int, default=[0])
    p.add_argument("--tc-n", type=int, default=2000)
    p.add_argument("--tc-time-limit", type=float, default=240.0)
    p.add_argument("--curve-ns", nargs="+", type=int, default=[128, 512, 2000, 12000])
    p.add_argument("--train-args", type=shlex.split, default=[], metavar="'FLAGS'",
                   help="extra `qcbo-qnn train` flags for every problem and descent, e.g. "
                        "'--descent-iterations 20 --descent-reads 16' (default: the train defaults)")
    p.add_argument("--highs-time-limit", type=float, default=60.0, help="exact part: HiGHS time limit (s)")
    p.add_argument("--descent-stop-after", type=stop_after_arg, default=None, metavar="none|N",
                   help="ising-descent stop_after: none (default) runs to the iteration/time limit as the "
                        "stored results did; N stops after N restarts in a row without improvement")
    p.add_argument("--img", default=str(ROOT / "docs" / "img" / "results_curve.png"))
    p.add_argument("--out", default=str(ROOT / "bench" / "results" / "results_protocol.json"))
    o, rest = p.parse_known_args(argv)
    out = Path(o.out)
    res = json.loads(out.read_text()) if out.exists() else {}
    out.parent.mkdir(parents=True, exist_ok=True)
    for part in o.part:
        if part == "legacy":
            legacy(o, rest, o.out)
            continue
        t0 = time.perf_counter()

        def save(rows, part=part):
            res[part] = {"rows": rows, "argv": sys.argv[1:], "options": vars(o), "time_s": time.perf_counter() - t0,
                         "machine_note": "shared 2-core machine"}
            write_json(out, res)
        PARTS[part](o, save)
    return 0


if __name__ == "__main__":
    sys.exit(main())
