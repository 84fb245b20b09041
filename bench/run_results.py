"""Results protocol (docs/results.md): every method on Fashion-MNIST pairs, three seeds; JSON + markdown.

    PYTHONPATH=$PWD QCBO_DATA_DIR=/work/shared/datasets python bench/run_results.py \
        --part ste-tune table cim penalty exact tenclass curve --out bench/results/results_protocol.json

Parts (each rewrites its key of --out after every row, so a cut-off run keeps what it measured):
  ste-tune  STE-QAT settings grid (epochs, lr, minibatch, sharpness) on (0,1) and (2,4), N, H=4, seed 0.
  table     pairs x H x seeds at N (--n): the default route (`qcbo-qnn train` defaults: ising-descent,
            oracle sa-fast, neuron blocks, sharpness 8), random search with repair at the descent's
            evaluation count, SA on the weight bits (--sa-sweeps x --sa-reads), STE-QAT (--ste-*),
            full-precision logistic regression.  Same training samples and test set for all.
  cim       the same route with the CIM oracle (--cim-steps) on (0,1), H=4, N=--cim-n, seeds.
  penalty   penalty_grid (monolithic penalty QUBO, oracle sa) at N=--penalty-n: feasibility + accuracy
            after forward completion, vs the descent on the same samples.
  exact     a tiny instance (pool 14 -> 4 features, N=8, H=2): exhaustive optimum of the QCBO vs methods.
  tenclass  10 classes one-vs-rest (`qcbo-qnn train --classes 0,...,9`), hidden --tc-hidden, N=--tc-n,
            with logistic regression and STE on the same data.
  curve     (0,1) accuracy vs N and vs wall time for the default route (docs/img/results_curve.png).
  legacy    the round-2 baseline table (run_baselines; remaining args after -- go to it).
Timings: shared 2-core machine.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from qcbo_model.forward import codes_from_bits, exact_loss  # noqa: E402
from qcbo_qnn.cli import add_model_options, make_parser, write_json  # noqa: E402
from qcbo_qnn.train_cli import _has, add_budget_options, run_baselines, solve, train_run  # noqa: E402
from solvers import baselines as bl  # noqa: E402

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


def sharp_loss(prob, x, s=8.0):
    from qcbo_model.splines import loss_fn
    from solvers.ising_descent import _objective_fn
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
    from qcbo_qnn.cli import load_data, problem_from_args
    a = train_args(["--classes", pair, "--n-train", str(n), "--hidden", str(H), "--seed", str(seed), *extra])
    ds = load_data(a)
    prob, ds = problem_from_args(a, ds)
    return a, prob, ds


def descent(a, prob, ds, method="ising-descent"):
    t0 = time.perf_counter()
    s = solve(prob, "ising-descent", a, progress=False)
    inf = s["info"]
    return row(prob, ds, s["x"], method, t0, oracle=s["oracle"], oracle_calls=s["oracle_calls"],
               evaluations=inf["evaluations"], iterations=inf["iterations"], accepted=inf["accepted"],
               status=inf["status"], oracle_time_s=inf.get("oracle_time_s"))


def ste(prob, ds, seed, cfg):
    ep, lr, bs, sh = cfg
    t0 = time.perf_counter()
    r = bl.ste_qat(prob.spec, ds.X_train, ds.y_train, epochs=ep, lr=lr, batch_size=bs, sharpness=sh, seed=seed,
                   prob=prob)
    return row(prob, ds, r.x, "ste", t0, epochs=ep, lr=lr, batch_size=bs, sharpness=sh)


def ste_tuned(prob, ds, seed):
    runs = [ste(prob, ds, seed, cfg) for cfg in STE_TUNED]
    best = min(runs, key=lambda r: r["sharp_loss"])
    return {**best, "method": "ste-tuned", "wall_s": sum(r["wall_s"] for r in runs),
            "grid": [{k: r[k] for k in ("epochs", "lr", "batch_size", "sharpness", "sharp_loss", "test_acc")}
                     for r in runs]}


def logreg(ds, seed):
    r = bl.logistic_regression(ds.X_train, ds.y_train, ds.X_test, ds.y_test, seed=seed)
    return {"method": "logreg", "test_acc": r.metrics["test_accuracy"], "train_acc": r.metrics["train_accuracy"],
            "wall_s": r.wall_time_s}


# ---------------------------------------------------------------------------------------------
def part_ste_tune(o, save):
    rows = []
    for pair in ["0,1", "2,4"]:
        _, prob, ds = problem(pair, o.n, 4, 0)
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
                a, prob, ds = problem(pair, o.n, H, seed)
                key = dict(pair=pair, H=H, seed=seed, n=o.n, bits_per_weight=prob.spec.avg_bits_per_weight)
                d = descent(a, prob, ds)
                out = [d]
                t0 = time.perf_counter()
                rs = bl.random_search(prob, d["evaluations"], seed=seed)
                out.append(row(prob, ds, rs.x, "random", t0, evaluations=d["evaluations"]))
                t0 = time.perf_counter()
                sa = bl.sa_weights(prob, n_sweeps=o.sa_sweeps, n_reads=o.sa_reads, seed=seed)
                out.append(row(prob, ds, sa.x, "sa-weights", t0, evaluations=sa.budget["forward_evaluations"]))
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
            a, prob, ds = problem("0,1", o.cim_n, 4, seed, ["--oracle", "cim", "--cim-steps", str(steps)])
            rows.append({"pair": "0,1", "H": 4, "seed": seed, "n": o.cim_n, "cim_steps": steps,
                         "bits_per_weight": prob.spec.avg_bits_per_weight, **descent(a, prob, ds, "descent/cim")})
            save(rows)
            print({k: v for k, v in rows[-1].items()}, flush=True)
    return rows


def part_penalty(o, save):
    from solvers.penalty import penalty_grid
    rows = []
    for pair in o.penalty_pairs:
        for seed in o.seeds:
            a, prob, ds = problem(pair, o.penalty_n, 4, seed)
            key = dict(pair=pair, H=4, seed=seed, n=o.penalty_n, n_variables=prob.qcbo.n)
            t0 = time.perf_counter()
            d = penalty_grid(prob, oracle="sa", oracle_kw={"num_sweeps": o.penalty_sweeps}, reads=16, seed=seed)
            grid = [{k: v for k, v in r.items() if k not in ("x",) and not hasattr(v, "shape")}
                    for r in d.get("grid", [])]
            b = d["best"]
            info = dict(grid=grid, max_feasible_rate=max((r["feasible_rate"] for r in grid), default=None),
                        best_lambda=b["lam"], best_from=b["source"], qubo_vars=d.get("n_qubo_variables"), compile_s=d.get("compile_time_s"))
            if b["x"] is not None:
                out = row(prob, ds, b["x"], "penalty", t0, **info)
            else:
                out = {"method": "penalty", "test_acc": None, "feasible": False, "wall_s": time.perf_counter() - t0,
                       **info}
            rows.append({**key, **out})
            rows.append({**key, **descent(a, prob, ds)})
            save(rows)
            print({k: v for k, v in rows[-2].items() if k != "grid"}, "descent", rows[-1]["test_acc"], flush=True)
    return rows


def part_exact(o, save):
    rows = []
    for pair in ["0,1", "5,7"]:
        for seed in o.seeds:
            a, prob, ds = problem(pair, 8, 2, seed, ["--pool", "14"])
            key = dict(pair=pair, H=2, seed=seed, n=8, pool=14, n_weight_bits=prob.n_weight_bits,
                       bits_per_weight=prob.spec.avg_bits_per_weight)
            t0 = time.perf_counter()
            ex = bl.exhaustive_weights(prob)
            out = [row(prob, ds, ex.x, "exhaustive", t0, patterns=ex.budget["candidates"])]
            d = descent(a, prob, ds)
            out.append(d)
            t0 = time.perf_counter()
            sa = bl.sa_weights(prob, n_sweeps=50, n_reads=8, seed=seed)
            out.append(row(prob, ds, sa.x, "sa-weights", t0))
            t0 = time.perf_counter()
            rs = bl.random_search(prob, d["evaluations"], seed=seed)
            out.append(row(prob, ds, rs.x, "random", t0, evaluations=d["evaluations"]))
            out.append(ste(prob, ds, seed, (o.ste_epochs, o.ste_lr, min(o.ste_batch or 8, 8), o.ste_sharpness)))
            if _has("solvers.highs"):
                from solvers.highs import solve_highs
                t0 = time.perf_counter()
                h = solve_highs(prob, time_limit=60)
                if h.x is not None:
                    out.append(row(prob, ds, h.x, "highs", t0, termination=str(h.termination)))
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
            a = train_args(["--classes", classes, "--n-train", str(o.tc_n), "--hidden", str(H), "--seed", str(seed),
                            "--descent-time-limit", str(o.tc_time_limit)])
            t0 = time.perf_counter()
            rep, prob, res, ds = train_run(a, progress=False)
            inf = res["info"]
            rows.append({"method": "ising-descent", "H": H, "seed": seed, "n": o.tc_n,
                         "bits_per_weight": prob.spec.avg_bits_per_weight, "test_acc": rep["test_accuracy"],
                         "train_acc": rep["train_accuracy"], "wall_s": time.perf_counter() - t0,
                         "build_s": rep["build_time_s"], "oracle_calls": res["oracle_calls"],
                         "status": inf.get("status"), "iterations": inf.get("iterations"),
                         "oracle_time_s": inf.get("oracle_time_s"), "n_weight_bits": prob.n_weight_bits})
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
            a, prob, ds = problem("0,1", n, 4, seed)
            d = descent(a, prob, ds)
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
    fig.suptitle("(0,1), 49-4-1, bits 1,2, ising-descent + sa-fast (train defaults), 3 seeds")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


# ---------------------------------------------------------------------------------------------
def legacy(o_outer, rest, out):
    inner = argparse.ArgumentParser()
    add_model_options(inner)
    add_budget_options(inner)
    inner.add_argument("--methods", default="logreg,ste,sa-weights,random")
    o = inner.parse_args([t for t in rest if t != "--"])
    runs = []
    for pair in o_outer.pairs:
        for H in o_outer.hidden_sizes:
            for seed in o_outer.seeds:
                o.classes, o.hidden, o.seed, o.no_progress = [int(c) for c in pair.split(",")], [H], seed, True
                rep = run_baselines(o, methods=o.methods.split(","))
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
    p.add_argument("--img", default="docs/img/results_curve.png")
    p.add_argument("--out", default="bench/results/results_protocol.json")
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
