"""Results protocol: every method on Fashion-MNIST pairs, several seeds; JSON + markdown table.

    PYTHONPATH=. python bench/run_results.py --pairs 0,1 5,7 --hidden 4 --seeds 0 1 2 --out results.json

Data: 4x4 pooling (49 features in [0,1]), balanced training subsets drawn with the seed, the whole official
test split of the pair. Model: 49 -> H -> 1, binary hidden weights, 2-bit output weights (--bits 1,2).
Methods: logistic regression, STE-QAT, SA on weight bits, random search with forward completion (candidate
budget = SA's forward evaluations), and qcgd when solvers.qcgd exists. Timings: shared 2-core machine.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from qcbo_qnn.cli import add_model_options, write_json  # noqa: E402
from qcbo_qnn.train_cli import _has, add_budget_options, run_baselines  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pairs", nargs="+", default=["0,1", "5,7", "7,9", "0,3", "2,4", "0,6"])
    p.add_argument("--hidden-sizes", nargs="+", type=int, default=[4, 8])
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--methods", default=None, help="default: logreg,ste,sa-weights,random (+qcgd if present)")
    p.add_argument("--out", default="results.json")
    p.add_argument("--markdown", default=None)
    args, rest = p.parse_known_args(argv)
    rest = [t for t in rest if t != "--"]
    inner = argparse.ArgumentParser()
    add_model_options(inner)
    add_budget_options(inner)
    inner.add_argument("--methods", default="")
    methods = args.methods or ("logreg,ste,sa-weights,random" + (",qcgd" if _has("solvers.qcgd") else ""))
    runs = []
    t_all = time.perf_counter()
    for pair in args.pairs:
        for H in args.hidden_sizes:
            for seed in args.seeds:
                a = inner.parse_args(rest + ["--classes", pair, "--hidden", str(H), "--seed", str(seed),
                                             "--no-progress"])
                t0 = time.perf_counter()
                rep = run_baselines(a, methods=methods.split(","))
                rep["hidden"] = H
                runs.append(rep)
                accs = {m: r.get("metrics", {}).get("test_accuracy") for m, r in rep["methods"].items()}
                print(f"pair {pair} H {H} seed {seed}: " + "  ".join(
                    f"{m} {v:.4f}" for m, v in accs.items() if v is not None) +
                    f"  ({time.perf_counter() - t0:.0f} s)", flush=True)
                write_json(args.out, {"runs": runs, "argv": sys.argv[1:], "total_time_s": time.perf_counter() - t_all,
                                      "machine_note": "shared 2-core machine"})
    table = markdown(runs)
    print(table)
    if args.markdown:
        Path(args.markdown).write_text(table + "\n")
    return 0


def markdown(runs) -> str:
    """Mean ± std over seeds of test accuracy, QCBO objective and wall time, per pair/H/method."""
    groups = {}
    for r in runs:
        key = (tuple(r["classes"]), r["hidden"])
        for m, row in r["methods"].items():
            if "skipped" in row:
                continue
            g = groups.setdefault(key, {}).setdefault(m, {"acc": [], "obj": [], "time": [], "train": []})
            g["acc"].append(row["metrics"]["test_accuracy"])
            g["train"].append(row["metrics"]["train_accuracy"])
            g["time"].append(row["wall_time_s"])
            if row["objective"] is not None:
                g["obj"].append(row["objective"])

    def ms(v, pct=False, digits=4):
        if not v:
            return "-"
        v = np.asarray(v) * (100 if pct else 1)
        return f"{v.mean():.{digits}f} ± {v.std():.{digits}f}"

    lines = ["| pair | H | method | seeds | test acc % | train acc % | QCBO objective | wall s |",
             "|---|---|---|---|---|---|---|---|"]
    for (cls, H), ms_ in groups.items():
        for m, g in ms_.items():
            lines.append(f"| {cls[0]},{cls[1]} | {H} | {m} | {len(g['acc'])} | {ms(g['acc'], True, 2)} | "
                         f"{ms(g['train'], True, 2)} | {ms(g['obj'])} | {ms(g['time'], digits=1)} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
