"""QCGD experiments -> docs/qcgd_results.md tables (JSON in bench/results/) and docs/img/*.png.

    python bench/qcgd_experiments.py --quick

Parts (every number is measured by this script; nothing is typed in; every method runs through
solvers.solve):
1. tiny instances (pool 14, N=8, hidden 2, intervals 2,4, bits 1,1; 5 class pairs x 2 seeds): QCGD with
   default settings vs the exact optimum (method 'exhaustive'), random search with repair at QCGD's
   candidate budget, the penalty grid, STE-QAT;
2. medium instances (hundreds of binaries, interval and exact form): QCGD with a strong oracle (SA,
   1000 sweeps), a weak one (greedy), and a control with *uniform random samples* in place of the
   oracle; random search at equal candidate budget; penalty grid (>= 5 lambdas); STE-QAT;
3. robustness: QCGD with the simulated CIM at several noise levels and coefficient precisions
   b in {4, 6, 8, 16}: convergence traces (best feasible objective vs oracle calls) -> PNG.

SA is the registry's 'sa' oracle (dwave-samplers, compiled) with 1000 or 10 sweeps; the uniform-random
control is the registry's 'random' oracle.  Random search is the 'random-search' method: random valid
weight codes, each forward-completed (the old qcgd.random_search drew uniform bits before completion).
Writes --out (JSON), PNGs in --img and the tables into --doc; --max-instances N runs only the first N
instances of each part (a smoke test).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from qcbo_model.data import load_dataset                        # noqa: E402
from qcbo_model.problem import build_problem                     # noqa: E402
from qcbo_model.spec import NetworkSpec                          # noqa: E402
from solvers import get_oracle, solve                            # noqa: E402

PAIRS = [(0, 1), (2, 3), (4, 5), (6, 7), (8, 9)]


def sa(sweeps: int):
    """The registry's compiled SA (dwave-samplers) with ``sweeps`` sweeps per read."""
    return get_oracle("sa", num_sweeps=sweeps)


def random_search(prob, candidates: int, seed: int) -> dict:
    """Random search with repair at ``candidates`` forward evaluations."""
    r = solve(prob, "random-search", candidates=int(candidates), seed=seed)
    return {"objective": r.objective, "x": r.x, "candidates": r.info["candidates"]}


def penalty_grid(prob, oracle, reads, seed, backend):
    """The penalty method over its default lambda grid: a dict with the old keys (grid, best, wall_time_s)."""
    r = solve(prob, "penalty", oracle=oracle, reads=reads, seed=seed, backend=backend)
    return {"grid": r.info["grid"], "wall_time_s": r.wall_time_s, "objective": r.objective,
            "best": {"objective": r.objective, "x": r.x, "lam": r.info["best_lambda"], "source": r.info["best_from"]}}


def make(classes, seed, pool, n_train, hidden, intervals, bits, form="interval", input_bits=None):
    ds = load_dataset("fashion-mnist", classes=classes, n_train=n_train, pool=pool, seed=seed)
    spec = NetworkSpec(input_dim=ds.X_train.shape[1], hidden=hidden, bits=bits, intervals=intervals,
                       seed=seed, input_bits=input_bits)
    prob = build_problem(ds.X_train, ds.y_train, spec, form)
    name = (f"{form[:3]} c{classes[0]}{classes[1]} s{seed} p{pool} N{n_train} h{','.join(map(str, hidden))} "
            f"K{','.join(map(str, intervals))} b{','.join(map(str, bits))}")
    return prob, name


def floor(prob) -> float:
    """Valid lower bound: every sample at its best output loss level (the objective is a sum of one
    level per sample and output); reached iff some network puts every sample there."""
    out = prob.net.layers[-1]
    lv = out.loss_levels[:, :, :]                               # (d, K, 2)
    yi = prob.net.y_index                                       # (N, d)
    best = lv.min(axis=1)                                       # (d, 2)
    return float(best[np.arange(out.d_out)[None, :], yi].sum(axis=1).mean())


def ste(prob, seed, epochs):
    r = solve(prob, "ste", epochs=epochs, seed=seed)
    return float(prob.qcbo.objective(r.x[None])[0]), r.wall_time_s


def best_penalty(res):
    dec = [g["best_feasible_decoded"] for g in res["grid"] if g["best_feasible_decoded"] is not None]
    comp = [g.get("best_after_completion") for g in res["grid"] if g.get("best_after_completion") is not None]
    return (min(dec) if dec else None), (min(comp) if comp else None), \
        max(g["feasible_rate"] for g in res["grid"])


def run_qcgd(prob, oracle, seed, **kw):
    t = time.perf_counter()
    r = solve(prob, "qcgd-monolithic", oracle=oracle, seed=seed, **kw)
    return dict(objective=r.objective, feasible=r.feasible, best_from=r.info["best_from"],
                candidates=r.info["candidates"], oracle_calls=r.oracle_calls, time_s=time.perf_counter() - t,
                trace=r.trace, oracle=r.oracle, termination=str(r.termination))


def part_tiny(args, out):
    rows = []
    inst = [(classes, seed) for classes in PAIRS for seed in (0, 1)][:args.max_instances]
    for classes, seed in inst:
        prob, name = make(classes, seed, 14, 8, (2,), (2, 4), ("1", "1"))
        ex = solve(prob, "exhaustive")
        q = run_qcgd(prob, sa(1000), seed=0, **args.tiny_qcgd)     # defaults, no tuning
        rs = random_search(prob, q["candidates"], seed=0)
        pen = penalty_grid(prob, oracle=sa(args.penalty_sweeps), reads=32, seed=0, backend="direct")
        pd, pc, pf = best_penalty(pen)
        so, st = ste(prob, 0, args.ste_epochs)
        rows.append(dict(instance=name, n=prob.qcbo.n, n_w=prob.n_weight_bits, optimum=ex.objective,
                         floor=floor(prob),
                         qcgd=q["objective"], qcgd_feasible=q["feasible"], qcgd_best_from=q["best_from"],
                         qcgd_time_s=q["time_s"], candidates=q["candidates"], random=rs["objective"],
                         penalty_decoded=pd, penalty_completed=pc, penalty_max_feas_rate=pf,
                         penalty_time_s=pen["wall_time_s"], ste=so, ste_time_s=st))
        print(f"tiny {name}: opt {ex.objective:.6f} qcgd {q['objective']:.6f} rs {rs['objective']:.6f}", flush=True)
    out["tiny"] = rows


def part_medium(args, out):
    # 49 inputs (pool 4); interval form N=32, 4 hidden, K=4,8, bits 1,2 (978 binaries); exact form
    # N=16, 2 hidden, K=2,4, bits 1,1, inputs on a 2-bit grid (567 binaries)
    inst = [((0, 1), 0, "interval"), ((2, 3), 1, "interval"), ((4, 5), 2, "interval"), ((6, 7), 3, "interval"),
            ((0, 1), 0, "exact"), ((8, 9), 1, "exact")]
    if not args.quick:
        inst += [((2, 3), 2, "exact"), ((8, 9), 4, "interval")]
    inst = inst[:args.max_instances]
    rows = []
    for classes, seed, form in inst:
        if form == "interval":
            prob, name = make(classes, seed, 4, 32, (4,), (4, 8), ("1", "2"))
        else:
            prob, name = make(classes, seed, 4, 16, (2,), (2, 4), ("1", "1"), "exact", 2)
        r = dict(instance=name, n=prob.qcbo.n, n_w=prob.n_weight_bits, floor=floor(prob))
        kw = dict(iterations=args.iterations, lns_steps=args.lns_steps)
        for label, orc in (("sa1000", sa(1000)), ("sa10", sa(10)), ("greedy", "greedy"),
                           ("random_oracle", "random")):
            q = run_qcgd(prob, orc, seed=0, **kw)
            r[label] = q["objective"]
            r[label + "_time_s"] = q["time_s"]
            r[label + "_best_from"] = q["best_from"]
            r[label + "_feasible"] = q["feasible"]
            if label == "sa1000":
                r["candidates"] = q["candidates"]
                r["oracle_calls"] = q["oracle_calls"]
        rs = [random_search(prob, r["candidates"], seed=s)["objective"] for s in range(3)]
        r["random"] = rs[0]
        r["random_median3"] = float(np.median(rs))
        pen = penalty_grid(prob, oracle=sa(args.penalty_sweeps), reads=32, seed=0, backend="direct")
        r["penalty_decoded"], r["penalty_completed"], r["penalty_max_feas_rate"] = best_penalty(pen)
        r["penalty_time_s"] = pen["wall_time_s"]
        r["penalty_grid"] = pen["grid"]
        r["ste"], r["ste_time_s"] = ste(prob, 0, args.ste_epochs)
        rows.append(r)
        print(f"medium {name}: sa {r['sa1000']:.4f} greedy {r['greedy']:.4f} rnd-oracle {r['random_oracle']:.4f} "
              f"rs {r['random']:.4f} pen {r['penalty_completed']} ste {r['ste']:.4f}", flush=True)
    out["medium"] = rows


def part_robust(args, out):
    from solvers.ising.cim import CIMOracle
    prob, name = make((0, 1), 0, 4, 32, (4,), (4, 8), ("1", "2"))
    runs = []
    settings = [("noise", v, dict(noise=v)) for v in args.noise_levels] + \
               [("precision_bits", b, dict(precision_bits=b)) for b in args.precision_bits]
    for kind, val, kw in settings:
        objs, times, tr = [], [], None
        for seed in range(args.robust_seeds):
            orc = CIMOracle(num_steps=args.cim_steps, **kw)
            q = run_qcgd(prob, orc, seed=seed, iterations=args.robust_iterations, lns_steps=args.robust_lns, reads=8)
            objs.append(q["objective"])
            times.append(q["time_s"])
            if tr is None:
                tr = [dict(calls=t["oracle_calls"], best=t["best_feasible"], phase=t["phase"],
                           infeas=t.get("infeasibility")) for t in q["trace"] if "oracle_calls" in t]
        runs.append(dict(kind=kind, value=val, objectives=objs, mean=float(np.mean(objs)),
                         time_s=float(np.mean(times)), trace=tr))
        print(f"robust {kind}={val}: mean {np.mean(objs):.4f} {np.round(objs, 4)}", flush=True)
    out["robust"] = dict(instance=name, cim_steps=args.cim_steps, runs=runs)


def plots(out, img: Path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    img.mkdir(parents=True, exist_ok=True)
    rb = out.get("robust")
    if rb:
        fig, axes = plt.subplots(1, 3, figsize=(15, 4))
        for kind, ax in zip(("noise", "precision_bits"), axes[:2]):
            for r in rb["runs"]:
                if r["kind"] != kind:
                    continue
                c = [t["calls"] for t in r["trace"]]
                b = [np.nan if t["best"] is None else t["best"] for t in r["trace"]]   # None: none feasible yet
                ax.step(c, b, where="post", label=f"{kind}={r['value']}")
            ax.set_xlabel("oracle calls")
            ax.set_ylabel("best feasible QCBO objective")
            ax.set_title(f"QCGD + CIM, {kind}")
            ax.legend()
        ax = axes[2]
        for r in rb["runs"]:
            tr = [t for t in r["trace"] if t["phase"] == "cgal"]
            ax.semilogy([t["calls"] for t in tr], [max(t["infeas"] or 0.0, 1e-6) for t in tr],
                        label=f"{r['kind']}={r['value']}")
        ax.set_xlabel("CGAL iteration")
        ax.set_ylabel("||s(W) - proj s(W)|| (mixture)")
        ax.set_title("mixture infeasibility")
        ax.legend(fontsize=7)
        fig.suptitle(rb["instance"])
        fig.tight_layout()
        fig.savefig(img / "qcgd_robustness.png", dpi=110)
        plt.close(fig)
    md = out.get("medium")
    if md:
        fig, ax = plt.subplots(figsize=(9, 4))
        labels = ["sa1000", "sa10", "greedy", "random_oracle", "random", "penalty_completed", "ste"]
        x = np.arange(len(md))
        for k, lab in enumerate(labels):
            vals = [r[lab] if r[lab] is not None else np.nan for r in md]
            ax.bar(x + k * 0.11, vals, width=0.11, label=lab)
        ax.set_xticks(x + 0.33)
        ax.set_xticklabels([r["instance"].split(" p")[0] for r in md], fontsize=7)
        ax.set_ylabel("QCBO objective (lower is better)")
        ax.legend(fontsize=7, ncol=4)
        fig.tight_layout()
        fig.savefig(img / "qcgd_medium.png", dpi=110)
        plt.close(fig)


def _f(v, d=4):
    return "—" if v is None else (f"{v:.{d}f}" if isinstance(v, float) else str(v))


def render(out) -> str:
    """Markdown tables of everything measured (inserted into docs/qcgd_results.md)."""
    L = []
    t = out.get("tiny")
    if t:
        L += ["### Tiny instances (optimum by enumeration, method `exhaustive`)", "",
              "| instance | n | weight bits | optimum | QCGD | QCGD feasible | best from | random search | "
              "penalty decoded | penalty max feas. rate | penalty completed | STE-QAT | QCGD s |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in t:
            L.append(f"| {r['instance']} | {r['n']} | {r['n_w']} | {_f(r['optimum'], 6)} | {_f(r['qcgd'], 6)} | "
                     f"{r['qcgd_feasible']} | {r['qcgd_best_from']} | {_f(r['random'], 6)} | {_f(r['penalty_decoded'], 6)} | "
                     f"{_f(r['penalty_max_feas_rate'], 3)} | {_f(r['penalty_completed'], 6)} | {_f(r['ste'], 6)} | {_f(r['qcgd_time_s'], 1)} |")
        opt = sum(abs(r["qcgd"] - r["optimum"]) <= 1e-9 for r in t)
        rs = sum(abs(r["random"] - r["optimum"]) <= 1e-9 for r in t)
        feas = sum(r["qcgd_feasible"] for r in t)
        L += ["", f"QCGD feasible on {feas}/{len(t)}, exactly optimal on {opt}/{len(t)}; random search with repair "
              f"at the same candidate budget optimal on {rs}/{len(t)}.", ""]
    m = out.get("medium")
    if m:
        L += ["### Medium instances (equal candidate budget; lower is better)", "",
              "| instance | n | weight bits | floor (valid LB) | QCGD SA-1000 | QCGD SA-10 | QCGD greedy | QCGD random-oracle control | "
              "random search (seed 0 / median of 3) | penalty decoded | penalty max feas. rate | penalty completed | STE-QAT | QCGD SA s | penalty s |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in m:
            L.append(f"| {r['instance']} | {r['n']} | {r['n_w']} | {_f(r['floor'])} | {_f(r['sa1000'])} | {_f(r['sa10'])} | "
                     f"{_f(r['greedy'])} | {_f(r['random_oracle'])} | {_f(r['random'])} / {_f(r['random_median3'])} | "
                     f"{_f(r['penalty_decoded'])} | {_f(r['penalty_max_feas_rate'], 3)} | {_f(r['penalty_completed'])} | "
                     f"{_f(r['ste'])} | {_f(r['sa1000_time_s'], 1)} | {_f(r['penalty_time_s'], 1)} |")
        n = len(m)
        beat_rs = sum(r["sa1000"] < r["random"] - 1e-12 for r in m)
        beat_pen = sum(r["penalty_completed"] is None or r["sa1000"] < r["penalty_completed"] - 1e-12 for r in m)
        sa_vs_g = [(r["sa1000"] < r["greedy"] - 1e-12) - (r["sa1000"] > r["greedy"] + 1e-12) for r in m]
        sa_vs_10 = [(r["sa1000"] < r["sa10"] - 1e-12) - (r["sa1000"] > r["sa10"] + 1e-12) for r in m]
        sa_vs_r = [(r["sa1000"] < r["random_oracle"] - 1e-12) - (r["sa1000"] > r["random_oracle"] + 1e-12) for r in m]
        L += ["", f"QCGD (SA-1000) strictly better than random search with repair on {beat_rs}/{n}; strictly better "
              f"than the best penalty result over the whole lambda grid (even after completion) on {beat_pen}/{n}. "
              f"SA-1000 vs greedy oracle: better/equal/worse = {sa_vs_g.count(1)}/{sa_vs_g.count(0)}/{sa_vs_g.count(-1)}; "
              f"SA-1000 vs SA-10: {sa_vs_10.count(1)}/{sa_vs_10.count(0)}/{sa_vs_10.count(-1)}; "
              f"SA-1000 vs uniform random samples in place of the oracle: {sa_vs_r.count(1)}/{sa_vs_r.count(0)}/{sa_vs_r.count(-1)}. "
              f"Mean objective: SA-1000 {np.mean([r['sa1000'] for r in m]):.4f}, SA-10 {np.mean([r['sa10'] for r in m]):.4f}, "
              f"greedy {np.mean([r['greedy'] for r in m]):.4f}, random-oracle {np.mean([r['random_oracle'] for r in m]):.4f}, "
              f"random search {np.mean([r['random'] for r in m]):.4f}, STE-QAT {np.mean([r['ste'] for r in m]):.4f}.", ""]
        L += ["Penalty grid per instance (feasible rate of decoded samples; best objective decoded / after completion):", ""]
        for r in m:
            cells = ", ".join(f"λ={g['lam']:g}: {g['feasible_rate']:.2f} ({_f(g['best_feasible_decoded'])} / "
                              f"{_f(g.get('best_after_completion'))})" for g in r["penalty_grid"])
            L.append(f"- {r['instance']}: {cells}")
        L.append("")
    rb = out.get("robust")
    if rb:
        L += [f"### Robustness: QCGD with the simulated CIM ({rb['instance']}, {rb['cim_steps']} CIM steps per call, "
              f"{len(rb['runs'][0]['objectives'])} seeds)", "",
              "| setting | mean best objective | per seed | mean time s |", "|---|---|---|---|"]
        for r in rb["runs"]:
            L.append(f"| {r['kind']}={r['value']} | {r['mean']:.4f} | {', '.join(f'{v:.4f}' for v in r['objectives'])} | {r['time_s']:.1f} |")
        L.append("")
    return "\n".join(L)


def write_doc(out, doc: Path):
    start, end = "<!-- tables:start -->", "<!-- tables:end -->"
    body = f"{start}\n{render(out)}\n{end}"
    if doc.exists() and start in doc.read_text():
        txt = doc.read_text()
        txt = txt[:txt.index(start)] + body + txt[txt.index(end) + len(end):]
    else:
        txt = "# QCGD results\n\n" + body + "\n"
    doc.write_text(txt)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="reduced grid (what docs/qcgd_results.md reports)")
    p.add_argument("--parts", default="tiny,medium,robust")
    p.add_argument("--iterations", type=int, default=40)
    p.add_argument("--lns-steps", type=int, default=40)
    p.add_argument("--ste-epochs", type=int, default=200)
    p.add_argument("--cim-steps", type=int, default=400)
    p.add_argument("--robust-iterations", type=int, default=10)
    p.add_argument("--robust-lns", type=int, default=40)
    p.add_argument("--robust-seeds", type=int, default=5)
    p.add_argument("--noise-levels", default="0,0.1,0.3,1.0")
    p.add_argument("--precision-bits", default="4,6,8,16", help="robust: CIM coefficient precisions")
    p.add_argument("--tiny-iterations", type=int, default=None,
                   help="tiny: QCGD iterations (default: the QCGD default, no tuning)")
    p.add_argument("--tiny-lns-steps", type=int, default=None, help="tiny: QCGD LNS steps (default: QCGD's)")
    p.add_argument("--penalty-sweeps", type=int, default=1000, help="SA sweeps of the penalty grid's oracle")
    p.add_argument("--max-instances", type=int, default=None, help="only the first N instances per part")
    p.add_argument("--out", default=str(ROOT / "bench" / "results" / "qcgd_experiments.json"))
    p.add_argument("--img", default=str(ROOT / "docs" / "img"))
    p.add_argument("--doc", default=str(ROOT / "docs" / "qcgd_results.md"), help="markdown file for the tables")
    p.add_argument("--render-only", action="store_true", help="rewrite plots and tables from --out")
    a = p.parse_args(argv)
    if a.render_only:
        old = json.loads(Path(a.out).read_text())
        plots(old, Path(a.img))
        write_doc(old, Path(a.doc))
        return
    a.noise_levels = [float(t) for t in a.noise_levels.split(",")]
    a.precision_bits = [int(t) for t in a.precision_bits.split(",")]
    a.tiny_qcgd = {k: v for k, v in (("iterations", a.tiny_iterations), ("lns_steps", a.tiny_lns_steps))
                   if v is not None}
    out = {"argv": sys.argv[1:], "quick": a.quick, "machine": "shared 2-core machine (timings indicative)"}
    t0 = time.perf_counter()
    parts = a.parts.split(",")
    if "tiny" in parts:
        part_tiny(a, out)
    if "medium" in parts:
        part_medium(a, out)
    if "robust" in parts:
        part_robust(a, out)
    out["total_time_s"] = time.perf_counter() - t0
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    old = json.loads(Path(a.out).read_text()) if Path(a.out).exists() else {}
    old.update(out)
    Path(a.out).write_text(json.dumps(old, indent=1, default=float))
    plots(old, Path(a.img))
    write_doc(old, Path(a.doc))
    print(f"wrote {a.out} ({out['total_time_s']:.0f}s)")


if __name__ == "__main__":
    main()
