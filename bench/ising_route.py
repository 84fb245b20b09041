"""Ising-oracle route (solvers.ising_descent): oracle ablation, equal-budget baselines, headline vs N.

    PYTHONPATH=$PWD QCBO_DATA_DIR=/work/shared/datasets python bench/ising_route.py \
        --part ablation headline --out bench/results/ising_route.json

ablation: pairs x seeds, oracles sa-fast:1000 (strong), sa-fast:10 and greedy (weak), random (uniform
control), random-local (1..8 random flips of the incumbent, control), cim on the first pair; plus at
the strong run's number of objective evaluations: random search with repair and SA on weights;
STE-QAT (300 epochs).  The JSON is rewritten after every row (a cut-off run keeps its results).
headline: (0,1), 49->4->1, bits 1,2, N in --ns, seeds; test accuracy on all 2000 test images.
Descent settings for both: --blocks, --sharpness (defaults = the ising_descent defaults).
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
from qcbo_model.forward import codes_from_bits, exact_loss
from solvers.ising_descent import ising_descent, make_oracle


def _oracle(name):
    """'sa-fast:10' -> FastSAOracle(num_sweeps=10); other names as make_oracle."""
    if ":" in name:
        base, k = name.split(":")
        key = {"sa-fast": "num_sweeps", "sa": "num_sweeps", "cim": "num_steps"}[base]
        return make_oracle(base, {key: int(k)})
    return make_oracle(name)


def _plain_loss(prob, x):
    w = np.asarray(x)[:prob.n_weight_bits][None]
    return float(exact_loss(prob.net, codes_from_bits(prob.net, w))[0])


def _prob(pair, n, seed, hidden=4):
    ds = load_dataset("fashion-mnist", classes=pair, n_train=n, seed=seed)
    spec = NetworkSpec(ds.X_train.shape[1], hidden=(hidden,), bits=(1, 2), intervals=(4, 8), seed=seed)
    return build_problem(ds.X_train, ds.y_train, spec, "interval"), ds, spec


def _row(prob, ds, x, **kw):
    return {**kw, "qcbo_objective": float(prob.qcbo.objective(np.asarray(x)[None])[0]),
            "train_acc": prob.accuracy(x, ds.X_train, ds.y_train),
            "test_acc": prob.accuracy(x, ds.X_test, ds.y_test)}


def ablation(pairs, seeds, n, iterations, oracles, dkw, save, cim_pairs=1):
    rows = []
    for pi, pair in enumerate(pairs):
        for seed in seeds:
            prob, ds, spec = _prob(pair, n, seed)
            evals = None
            for o in oracles + (["cim"] if pi < cim_pairs and "cim" not in oracles else []):
                t = time.perf_counter()
                r = ising_descent(prob, oracle=_oracle(o), iterations=iterations, seed=seed, **dkw)
                rows.append(_row(prob, ds, r.x, pair=pair, seed=seed, method=f"descent/{o}",
                                 minimized=r.minimized, exact_loss=_plain_loss(prob, r.x),
                                 evaluations=r.evaluations, oracle_calls=r.oracle_calls,
                                 wall_s=time.perf_counter() - t, status=r.status))
                save(rows)
                if o == oracles[0]:
                    evals = r.evaluations
                print(rows[-1], flush=True)
            t = time.perf_counter()
            rs = bl.random_search(prob, evals, seed=seed)
            rows.append(_row(prob, ds, rs.x, pair=pair, seed=seed, method="random-search", evaluations=evals,
                             exact_loss=_plain_loss(prob, rs.x), wall_s=time.perf_counter() - t))
            n_w = prob.n_weight_bits
            sweeps = max(1, evals // (4 * n_w))
            t = time.perf_counter()
            sa = bl.sa_weights(prob, n_sweeps=sweeps, n_reads=4, seed=seed)
            rows.append(_row(prob, ds, sa.x, pair=pair, seed=seed, method="sa-weights",
                             exact_loss=_plain_loss(prob, sa.x), evaluations=sweeps * 4 * n_w,
                             wall_s=time.perf_counter() - t))
            t = time.perf_counter()
            st = bl.ste_qat(prob.spec, prob.net.X, prob.net.Y, epochs=300, seed=seed, prob=prob)
            rows.append(_row(prob, ds, st.x, pair=pair, seed=seed, method="ste", exact_loss=_plain_loss(prob, st.x),
                             wall_s=time.perf_counter() - t))
            save(rows)
            for r in rows[-3:]:
                print(r, flush=True)
    return rows


def headline(ns, seeds, iterations, oracle, hidden, dkw, save):
    rows = []
    for n in ns:
        for seed in seeds:
            t = time.perf_counter()
            prob, ds, spec = _prob((0, 1), n, seed, hidden)
            r = ising_descent(prob, oracle=oracle, iterations=iterations, seed=seed, **dkw)
            rows.append(_row(prob, ds, r.x, n=n, seed=seed, hidden=hidden, oracle=r.oracle,
                             bits_per_weight=spec.avg_bits_per_weight, minimized=r.minimized,
                             exact_loss=_plain_loss(prob, r.x), accepted=r.accepted,
                             oracle_calls=r.oracle_calls, iterations=r.iterations, status=r.status,
                             wall_s=time.perf_counter() - t, n_test=len(ds.y_test),
                             trace_time=[e["time_s"] for e in r.trace],
                             trace_obj=[e["objective"] for e in r.trace]))
            save(rows)
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
    ax[1].set_ylabel("minimized training loss")
    ax[1].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--part", nargs="+", default=["ablation", "headline"])
    ap.add_argument("--pairs", nargs="+", default=["0,1", "5,7", "7,9", "0,3", "2,4"])
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--n-ablation", type=int, default=512)
    ap.add_argument("--iterations", type=int, default=100)
    ap.add_argument("--oracles", default="sa-fast:1000,sa-fast:10,greedy,random,random-local")
    ap.add_argument("--cim-pairs", type=int, default=1, help="also run the CIM on the first k pairs")
    ap.add_argument("--ns", nargs="+", type=int, default=[512, 2000, 12000])
    ap.add_argument("--hidden", type=int, default=4)
    ap.add_argument("--head-iterations", type=int, default=300)
    ap.add_argument("--blocks", default="neuron")
    ap.add_argument("--sharpness", type=float, default=8.0)
    ap.add_argument("--out", default="bench/results/ising_route.json")
    a = ap.parse_args()
    out = Path(a.out)
    res = json.loads(out.read_text()) if out.exists() else {}
    out.parent.mkdir(parents=True, exist_ok=True)
    dkw = {"blocks": a.blocks, "sharpness": a.sharpness}

    def saver(key):
        def save(rows):
            res[key], res[key + "_cmd"] = rows, vars(a)
            out.write_text(json.dumps(res, indent=1, default=lambda v: v.tolist() if hasattr(v, "tolist") else str(v)))
        return save
    if "headline" in a.part:
        rows = headline(a.ns, a.seeds, a.head_iterations, "sa-fast", a.hidden, dkw, saver("headline"))
        plot(rows, "docs/img/ising_route_headline.png")
    if "ablation" in a.part:
        pairs = [tuple(int(c) for c in p.split(",")) for p in a.pairs]
        ablation(pairs, a.seeds, a.n_ablation, a.iterations, a.oracles.split(","), dkw, saver("ablation"),
                 a.cim_pairs)


if __name__ == "__main__":
    main()
