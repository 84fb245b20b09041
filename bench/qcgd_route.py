"""QCGD over weight-space models (`solve(prob, "qcgd")`): oracle ablation, agreement with certified optima,
the headline run, oracle noise and coupling precision.  One JSON line per run on stdout and in --out.

    python bench/qcgd_route.py ablation  --out bench/results/qcgd_ablation.jsonl
    python bench/qcgd_route.py agreement --out bench/results/qcgd_agreement.jsonl
    python bench/qcgd_route.py agreement --fashion-n --digits-n 96 --out bench/results/qcgd_agreement.jsonl
    python bench/qcgd_route.py headline  --out bench/results/qcgd_headline.jsonl
    python bench/qcgd_route.py robustness --out bench/results/qcgd_robustness.jsonl
    python bench/qcgd_route.py versus --time-limit 60 --out bench/results/qcgd_versus.jsonl
    python bench/qcgd_route.py pairs --time-limit 240 --out bench/results/qcgd_pairs.jsonl
    python bench/qcgd_route.py summary          # tables from the stored JSON lines

Oracle specs: NAME or NAME:EFFORT (sa:1000 = 1000 sweeps, cim:1000 = 1000 Euler steps).  Instances of the
ablation: the 6 pairs of docs/results.md x 2 seeds, N = 256, 49 -> 4 -> 1, bits 1,2, K = 4,8.  The
agreement part builds small instances that HiGHS certifies (two datasets) and compares QCGD's result
(objective='spline', i.e. the QCBO objective) with the certified optimum.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from qcbo_model.data import load_dataset  # noqa: E402
from qcbo_model.problem import build_problem  # noqa: E402
from qcbo_model.spec import NetworkSpec  # noqa: E402
from solvers import SolutionStatus, solve  # noqa: E402

PAIRS = [(0, 1), (5, 7), (7, 9), (0, 3), (2, 4), (0, 6)]
EFFORT = {"sa": "num_sweeps", "cim": "num_steps", "greedy": "max_iter"}


def oracle_spec(spec: str):
    name, _, k = spec.partition(":")
    return name, ({EFFORT[name]: int(k)} if k else {})


def emit(row, out):
    line = json.dumps(row)
    print(line, flush=True)
    if out:
        with open(out, "a") as f:
            f.write(line + "\n")


def _fashion(pair, n, seed, pool=4, n_test=None):
    ds = load_dataset("fashion-mnist", classes=pair, n_train=n, seed=seed, pool=pool, n_test=n_test)
    return ds


def run_qcgd(prob, ds, oracle, seed, kw):
    name, oo = oracle_spec(oracle)
    t = time.perf_counter()
    r = solve(prob, "qcgd", oracle=name, oracle_options=oo, seed=seed, **kw)
    return {"oracle": oracle, "qcbo_objective": r.objective, "minimized": r.info["minimized"],
            "objective_kind": r.info["objective_kind"], "test_accuracy": prob.accuracy(r.x, ds.X_test, ds.y_test),
            "train_accuracy": prob.accuracy(r.x, ds.X_train, ds.y_train), "iterations": r.info["iterations"],
            "termination": str(r.termination), "consensus_rate": r.info["consensus_rate"],
            "accepted_from": r.info["accepted_from"], "oracle_calls": r.oracle_calls,
            "oracle_time_s": r.oracle_time_s, "time_breakdown_s": r.info.get("time_breakdown_s"),
            "wall_s": time.perf_counter() - t}


def part_ablation(a):
    kw = dict(objective=a.objective, iterations=a.iterations, time_limit=a.time_limit)
    for pair in PAIRS[:a.pairs]:
        for seed in a.seeds:
            ds = _fashion(pair, a.n, seed)
            prob = build_problem(ds.X_train, ds.y_train, NetworkSpec(49, seed=seed))
            for o in a.oracles:
                emit({"part": "ablation", "pair": pair, "seed": seed, "N": a.n, **run_qcgd(prob, ds, o, seed, kw)}, a.out)


def part_agreement(a):
    """Instances HiGHS certifies within 60 s: Fashion-MNIST pool 7 (16 inputs) and digits pool 4 (4 inputs)."""
    cases = []
    for seed in a.seeds:
        cases += [("fashion-mnist", (0, 1), 7, n, seed) for n in a.fashion_n]
        cases += [("digits", (3, 8), 4, n, seed) for n in a.digits_n]
    for dname, pair, pool, n, seed in cases:
        ds = load_dataset(dname, classes=pair, n_train=n, seed=seed, pool=pool)
        spec = NetworkSpec(ds.X_train.shape[1], hidden=(2,), bits=(1, 1), intervals=(2, 4), seed=seed)
        prob = build_problem(ds.X_train, ds.y_train, spec)
        h = solve(prob, "highs", time_limit=60.0)
        row = {"part": "agreement", "dataset": dname, "pair": pair, "pool": pool, "N": n, "seed": seed,
               "n_binaries": prob.qcbo.n, "highs_status": str(h.solution_status), "optimum": h.objective,
               "highs_s": h.wall_time_s}
        if h.solution_status != SolutionStatus.optimal:
            emit({**row, "skipped": "HiGHS did not certify within 60 s"}, a.out)
            continue
        b = solve(prob, "decomposed-bound", time_limit=30.0, warm_start=h.x[:prob.n_weight_bits])
        row.update(decomposed_bound=b.bound, bound_below_optimum=bool(b.bound <= h.objective + 1e-9))
        for o in a.oracles:
            r = run_qcgd(prob, ds, o, seed, dict(objective="spline", iterations=a.iterations, stop_after=None,
                                                 time_limit=a.time_limit))
            r["hits_optimum"] = bool(abs(r["qcbo_objective"] - h.objective) <= 1e-9 * max(1.0, abs(h.objective)))
            emit({**row, **r}, a.out)


def part_headline(a):
    kw = dict(objective="exact", time_limit=a.time_limit, iterations=a.iterations)
    for seed in a.seeds:
        ds = _fashion((0, 1), a.n, seed)
        prob = build_problem(ds.X_train, ds.y_train, NetworkSpec(49, seed=seed))
        for o in a.oracles:
            r = run_qcgd(prob, ds, o, seed, kw)
            emit({"part": "headline", "pair": (0, 1), "seed": seed, "N": a.n, "bits_per_weight": prob.spec.avg_bits_per_weight,
                  **r}, a.out)


def part_pairs(a):
    """The headline protocol on the other five pairs: QCGD + CIM next to the default Ising descent."""
    kw = dict(objective="exact", time_limit=a.time_limit, iterations=a.iterations)
    for pair in PAIRS[1:]:
        for seed in a.seeds:
            ds = _fashion(pair, a.n, seed)
            prob = build_problem(ds.X_train, ds.y_train, NetworkSpec(49, seed=seed))
            for o in a.oracles:
                emit({"part": "pairs", "method": "qcgd", "pair": pair, "seed": seed, "N": a.n,
                      **run_qcgd(prob, ds, o, seed, kw)}, a.out)
            t = time.perf_counter()
            r = solve(prob, "ising-descent", seed=seed)
            emit({"part": "pairs", "method": "ising-descent", "oracle": "sa:300", "pair": pair, "seed": seed,
                  "N": a.n, "qcbo_objective": r.objective, "minimized": r.info["minimized"],
                  "test_accuracy": prob.accuracy(r.x, ds.X_test, ds.y_test), "termination": str(r.termination),
                  "wall_s": time.perf_counter() - t}, a.out)


def part_robustness(a):
    ds = _fashion((0, 1), a.n, 0)
    prob = build_problem(ds.X_train, ds.y_train, NetworkSpec(49, seed=0))
    settings = [{"noise": v} for v in (0.0, 0.1, 0.3, 1.0)] + [{"precision_bits": b} for b in (4, 6, 8, 14, 16)]
    done = {(json.dumps(r["setting"], sort_keys=True), r["seed"]) for r in _load(a.out)} if a.out else set()
    for st in settings:
        for seed in a.seeds:
            if (json.dumps(st, sort_keys=True), seed) in done:     # resume an interrupted run
                continue
            t = time.perf_counter()
            r = solve(prob, "qcgd", oracle="cim", oracle_options={"num_steps": a.cim_steps, **st}, seed=seed,
                      objective="exact", iterations=a.iterations, time_limit=a.time_limit)
            emit({"part": "robustness", "setting": st, "seed": seed, "N": a.n, "minimized": r.info["minimized"],
                  "qcbo_objective": r.objective, "test_accuracy": prob.accuracy(r.x, ds.X_test, ds.y_test),
                  "trace": [e["objective"] for e in r.trace], "wall_s": time.perf_counter() - t}, a.out)


def part_versus(a):
    """QCGD (SA, the descent's oracle) against the Ising descent at the same wall time (N = 2000, (0,1))."""
    for seed in a.seeds:
        ds = _fashion((0, 1), a.n, seed)
        prob = build_problem(ds.X_train, ds.y_train, NetworkSpec(49, seed=seed))
        for method, extra in (("ising-descent", {}), ("qcgd", {}),
                              ("qcgd", {"oracle": "cim", "oracle_options": {"preset": "training"}})):
            t = time.perf_counter()
            r = solve(prob, method, seed=seed, stop_after=None, iterations=10 ** 6, time_limit=a.time_limit, **extra)
            emit({"part": "versus", "method": method, "oracle": r.info.get("oracle", extra.get("oracle")),
                  "seed": seed, "N": a.n, "seconds": a.time_limit,
                  "minimized": r.info["minimized"], "qcbo_objective": r.objective,
                  "test_accuracy": prob.accuracy(r.x, ds.X_test, ds.y_test), "iterations": r.info["iterations"],
                  "oracle_calls": r.oracle_calls, "wall_s": time.perf_counter() - t}, a.out)


def _load(path):
    p = Path(path)
    return [json.loads(l) for l in p.read_text().splitlines() if l.strip()] if p.exists() else []


def part_summary(a):
    """Markdown tables from the stored JSON lines (bench/results/qcgd_*.jsonl)."""
    import collections
    import numpy as np
    res = Path(__file__).resolve().parent / "results"
    rows = _load(res / "qcgd_ablation.jsonl")
    if rows:
        by = collections.defaultdict(dict)
        for r in rows:
            by[(tuple(r["pair"]), r["seed"])][r["oracle"]] = r
        oracles = [o for o in ("sa:1000", "cim:1000", "greedy", "random") if any(o in v for v in by.values())]
        print("| pair | seed | " + " | ".join(oracles) + " |")
        print("|---|---|" + "---|" * len(oracles))
        for (pair, seed), v in sorted(by.items()):
            print(f"| {pair} | {seed} | " + " | ".join(f"{v[o]['qcbo_objective']:.4f} ({100 * v[o]['test_accuracy']:.1f} %)"
                                                     if o in v else "-" for o in oracles) + " |")
        means = {o: np.mean([v[o]["qcbo_objective"] for v in by.values() if o in v]) for o in oracles}
        print("| mean | | " + " | ".join(f"{means[o]:.4f}" for o in oracles) + " |")
        # seed-to-seed spread per pair and oracle: |objective(seed 0) - objective(seed 1)|
        spread = {}
        for o in oracles:
            per_pair = collections.defaultdict(list)
            for (pair, seed), v in by.items():
                if o in v:
                    per_pair[pair].append(v[o]["qcbo_objective"])
            spread[o] = {p_: (max(x) - min(x)) for p_, x in per_pair.items() if len(x) > 1}
        print()
        for strong in ("sa:1000", "cim:1000"):
            for weak in ("random", "greedy"):
                if strong not in oracles or weak not in oracles:
                    continue
                better = clear = 0
                for (pair, seed), v in by.items():
                    if strong in v and weak in v:
                        d = v[weak]["qcbo_objective"] - v[strong]["qcbo_objective"]
                        better += d > 0
                        clear += d > max(spread[strong].get(pair, 0), spread[weak].get(pair, 0))
                print(f"* {strong} lower than {weak}: {better}/{len(by)}; by more than the seed spread: {clear}/{len(by)}")
    for name in ("agreement", "headline", "robustness", "versus", "pairs"):
        rs = _load(res / f"qcgd_{name}.jsonl")
        if not rs:
            continue
        print(f"\n{name}: {len(rs)} rows")
        if name == "agreement":
            ok = [r for r in rs if "skipped" not in r]
            print(f"certified instances: {len(ok)}; QCGD+CIM at the optimum: {sum(r['hits_optimum'] for r in ok)}; "
                  f"bound <= optimum: {sum(r['bound_below_optimum'] for r in ok)}/{len(ok)}")
            for r in rs:
                print(" ", {k: r.get(k) for k in ("dataset", "N", "seed", "n_binaries", "optimum", "qcbo_objective",
                                                  "hits_optimum", "decomposed_bound", "highs_s", "wall_s", "skipped")})
        if name == "headline":
            for r in rs:
                print(" ", {k: r.get(k) for k in ("seed", "oracle", "test_accuracy", "qcbo_objective", "minimized",
                                                  "iterations", "termination", "wall_s", "consensus_rate")})
        if name == "pairs":
            for r in rs:
                print(" ", {k: r.get(k) for k in ("pair", "method", "oracle", "seed", "test_accuracy", "qcbo_objective",
                                                  "minimized", "wall_s")})
        if name == "versus":
            for r in rs:
                print(" ", {k: r.get(k) for k in ("method", "oracle", "seed", "seconds", "minimized", "qcbo_objective",
                                                  "test_accuracy", "iterations")})
        if name == "robustness":
            by = collections.defaultdict(list)
            for r in rs:
                by[json.dumps(r["setting"])].append(r)
            for k, v in by.items():
                m = [x["minimized"] for x in v]
                print(f"  {k}: minimized {np.mean(m):.5f} +- {np.std(m):.5f} (n={len(v)}), test "
                      f"{100 * np.mean([x['test_accuracy'] for x in v]):.2f} %")


def part_plots(a):
    """docs/img/qcgd_route_robustness.png: the minimized objective against the iteration, per noise and precision."""
    import collections
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    res = Path(__file__).resolve().parent / "results"
    rows = _load(res / "qcgd_robustness.jsonl")
    if not rows:
        return
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    for ax, key in zip(axes, ("noise", "precision_bits")):
        by = collections.defaultdict(list)
        for r in rows:
            if key in r["setting"]:
                by[r["setting"][key]].append(r["trace"])
        for i, (v, traces) in enumerate(sorted(by.items())):
            n = max(len(t) for t in traces)
            pad = np.array([t + [t[-1]] * (n - len(t)) for t in traces])    # a stopped run keeps its last value
            c = plt.cm.viridis(i / max(len(by) - 1, 1))
            for t in traces:
                ax.plot(t, color=c, alpha=0.25, lw=0.8)
            ax.plot(pad.mean(axis=0), color=c, lw=2, label=f"{key.replace('_', ' ')} {v} ({len(traces)} seeds)")
        ax.set_xlabel("QCGD iteration")
        ax.set_yscale("log")
        ax.legend(fontsize=8)
        ax.set_title("CIM " + ("noise" if key == "noise" else "coupling precision (bits)"))
    axes[0].set_ylabel("minimized objective (exact loss model)")
    fig.suptitle(f"QCGD with the CIM oracle, Fashion-MNIST (0,1), N = {rows[0]['N']}: thin = one seed, thick = mean")
    fig.tight_layout()
    out = Path(a.plots) / "qcgd_route_robustness.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    print(f"wrote {out}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("part", choices=["ablation", "agreement", "headline", "robustness", "versus", "pairs", "summary",
                                     "plots"])
    ap.add_argument("--n", type=int, default=None, help="training images (default per part: 256 / - / 2000 / 256)")
    ap.add_argument("--seeds", type=int, nargs="+", default=None)
    ap.add_argument("--pairs", type=int, default=6)
    ap.add_argument("--oracles", nargs="+", default=None)
    ap.add_argument("--objective", default="spline", choices=["exact", "spline"])
    ap.add_argument("--iterations", type=int, default=150)
    ap.add_argument("--time-limit", type=float, default=300.0, help="seconds per run")
    ap.add_argument("--cim-steps", type=int, default=1000)
    ap.add_argument("--fashion-n", type=int, nargs="*", default=[48, 64], help="agreement: Fashion-MNIST sizes")
    ap.add_argument("--digits-n", type=int, nargs="*", default=[64, 128], help="agreement: digits sizes")
    ap.add_argument("--out", default=None, help="JSON-lines file (appended)")
    ap.add_argument("--plots", default=str(Path(__file__).resolve().parent.parent / "docs" / "img"),
                    help="folder for the 'plots' part")
    a = ap.parse_args(argv)
    if a.part in ("summary", "plots"):
        (part_summary if a.part == "summary" else part_plots)(a)
        return 0
    defaults = {"ablation": (256, [0, 1], ["sa:1000", "cim:1000", "greedy", "random"]),
                "agreement": (None, [0, 1, 2], ["cim:1000"]),
                "headline": (2000, [0, 1, 2], ["cim:1000"]),
                "robustness": (256, [0, 1, 2, 3, 4], None),
                "versus": (2000, [0, 1, 2], None),
                "pairs": (2000, [0], ["cim:1000"])}
    n, seeds, oracles = defaults[a.part]
    a.n = a.n or n
    a.seeds = a.seeds or seeds
    a.oracles = a.oracles or oracles
    {"ablation": part_ablation, "agreement": part_agreement, "headline": part_headline,
     "robustness": part_robustness, "versus": part_versus, "pairs": part_pairs}[a.part](a)
    return 0


if __name__ == "__main__":
    sys.exit(main())
