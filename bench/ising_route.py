"""Ising-oracle route (solvers.ising_descent): oracle ablation, equal-budget baselines, headline vs N.

    PYTHONPATH=$PWD QCBO_DATA_DIR=/work/shared/datasets python bench/ising_route.py \
        --part ablation headline --out bench/results/ising_route.json

ablation: pairs x seeds, oracles sa-fast (1000 sweeps, strong), greedy (weak), random (uniform control),
random-local (1..8 random flips of the incumbent, control); plus at the strong run's number of
objective evaluations: random search with repair and SA on weights; STE-QAT (300 epochs).
headline: (0,1), 49->4->1, bits 1,2, N in --ns, seeds; test accuracy on all 2000 test images.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from qcbo_model.data import load_dataset
from qcbo_model.problem import build_problem
from qcbo_model.spec import NetworkSpec
from solvers import baselines as bl
from solvers.ising_descent import ising_descent


def _prob(pair, n, seed, hidden=4):
    ds = load_dataset("fashion-mnist", classes=pair, n_train=n, seed=seed)
    spec = NetworkSpec(ds.X_train.shape[1], hidden=(hidden,), bits=(1, 2), intervals=(4, 8), seed=seed)
    return build_problem(ds.X_train, ds.y_train, spec, "interval"), ds, spec


def _row(prob, ds, x, **kw):
    return {**kw, "qcbo_objective": float(prob.qcbo.objective(np.asarray(x)[None])[0]),
            "train_acc": prob.accuracy(x, ds.X_train, ds.y_train),
            "test_acc": prob.accuracy(x, ds.X_test, ds.y_test)}


def ablation(pairs, seeds, n, iterations, oracles):
    rows = []
    for pair in pairs:
        for seed in seeds:
            prob, ds, spec = _prob(pair, n, seed)
            evals = None
            for o in oracles:
                t = time.perf_counter()
                r = ising_descent(prob, oracle=o, iterations=iterations, seed=seed)
                rows.append(_row(prob, ds, r.x, pair=pair, seed=seed, method=f"descent/{o}",
                                 exact_loss=r.minimized, evaluations=r.evaluations, oracle_calls=r.oracle_calls,
                                 wall_s=time.perf_counter() - t, status=r.status))
                if o == oracles[0]:
                    evals = r.evaluations
                print(rows[-1], flush=True)
            t = time.perf_counter()
            rs = bl.random_search(prob, evals, seed=seed)
            rows.append(_row(prob, ds, rs.x, pair=pair, seed=seed, method="random-search", evaluations=evals,
                             wall_s=time.perf_counter() - t))
            n_w = prob.n_weight_bits
            sweeps = max(1, evals // (4 * n_w))
            t = time.perf_counter()
            sa = bl.sa_weights(prob, n_sweeps=sweeps, n_reads=4, seed=seed)
            rows.append(_row(prob, ds, sa.x, pair=pair, seed=seed, method="sa-weights",
                             evaluations=sweeps * 4 * n_w, wall_s=time.perf_counter() - t))
            t = time.perf_counter()
            st = bl.ste_qat(prob.spec, prob.net.X, prob.net.Y, epochs=300, seed=seed, prob=prob)
            rows.append(_row(prob, ds, st.x, pair=pair, seed=seed, method="ste", wall_s=time.perf_counter() - t))
            for r in rows[-3:]:
                print(r, flush=True)
    return rows


def headline(ns, seeds, iterations, oracle, hidden):
    rows = []
    for n in ns:
        for seed in seeds:
            t = time.perf_counter()
            prob, ds, spec = _prob((0, 1), n, seed, hidden)
            r = ising_descent(prob, oracle=oracle, iterations=iterations, seed=seed)
            rows.append(_row(prob, ds, r.x, n=n, seed=seed, hidden=hidden, oracle=r.oracle,
                             bits_per_weight=spec.avg_bits_per_weight, exact_loss=r.minimized,
                             oracle_calls=r.oracle_calls, iterations=r.iterations, status=r.status,
                             wall_s=time.perf_counter() - t, n_test=len(ds.y_test),
                             trace_time=[e["time_s"] for e in r.trace],
                             trace_obj=[e["objective"] for e in r.trace]))
            print({k: v for k, v in rows[-1].items() if not k.startswith("trace")}, flush=True)
    return rows


def plot(rows, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    ns = sorted({r["n"] for r in rows})
    fig, ax = plt.subplots(1, 2, figsize=(9, 3.4))
    m = [np.mean([r["test_acc"] for r in rows if r["n"] == n]) * 100 for n in ns]
    s = [np.std([r["test_acc"] for r in rows if r["n"] == n]) * 100 for n in ns]
    ax[0].errorbar(ns, m, yerr=s, marker="o", capsize=3)
    ax[0].axhline(94.95, ls="--", c="gray", label="target 94.95 %")
    ax[0].set_xscale("log")
    ax[0].set_xlabel("training samples N")
    ax[0].set_ylabel("test accuracy % (2000 images)")
    ax[0].legend()
    for n in ns:
        r = [r for r in rows if r["n"] == n][0]
        ax[1].plot(r["trace_time"], r["trace_obj"], label=f"N={n}")
    ax[1].set_xlabel("wall time s (seed 0)")
    ax[1].set_ylabel("exact training loss")
    ax[1].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--part", nargs="+", default=["ablation", "headline"])
    ap.add_argument("--pairs", nargs="+", default=["0,1", "5,7", "7,9", "0,3", "2,4"])
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--n-ablation", type=int, default=128)
    ap.add_argument("--iterations", type=int, default=60)
    ap.add_argument("--oracles", default="sa-fast,greedy,random,random-local")
    ap.add_argument("--ns", nargs="+", type=int, default=[32, 128, 512, 2000])
    ap.add_argument("--hidden", type=int, default=4)
    ap.add_argument("--head-iterations", type=int, default=100)
    ap.add_argument("--out", default="bench/results/ising_route.json")
    a = ap.parse_args()
    out = Path(a.out)
    res = json.loads(out.read_text()) if out.exists() else {}
    if "ablation" in a.part:
        pairs = [tuple(int(c) for c in p.split(",")) for p in a.pairs]
        res["ablation"] = ablation(pairs, a.seeds, a.n_ablation, a.iterations, a.oracles.split(","))
        res["ablation_cmd"] = vars(a)
    if "headline" in a.part:
        res["headline"] = headline(a.ns, a.seeds, a.head_iterations, "sa-fast", a.hidden)
        res["headline_cmd"] = vars(a)
        plot(res["headline"], "docs/img/ising_route_headline.png")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=1, default=lambda v: v.tolist() if hasattr(v, "tolist") else str(v)))


if __name__ == "__main__":
    main()
