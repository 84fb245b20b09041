"""Random search with repair at the *current* descent's evaluation budget, on the main-table instances.

    python bench/random_at_descent_budget.py            # reads bench/results/descent_restarts.json

For every descent row (config r48p10: restarts, 48 reads, patience 10; N=512, 6 pairs x H 4/8 x seeds 0-2)
random search draws the same number of candidates as the descent evaluated, each repaired by forward
completion, on the same samples and test set; prints per-cell means and writes
bench/results/random_at_descent_budget.json.
"""
from __future__ import annotations

import json
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run_results import problem, row  # noqa: E402

import solvers.baselines as bl  # noqa: E402

ROOT = Path(__file__).resolve().parent / "results"


def main():
    desc = [r for r in json.loads((ROOT / "descent_restarts.json").read_text())["rows"] if r["config"] == "r48p10"]
    out = []
    for r in desc:
        _, prob, ds = problem(r["pair"], r["n"], r["H"], r["seed"])
        t0 = time.perf_counter()
        rs = bl.random_search(prob, int(r["evaluations"]), seed=r["seed"])
        rec = row(prob, ds, rs.x, "random", t0, pair=r["pair"], H=r["H"], seed=r["seed"], evaluations=r["evaluations"])
        rec["descent_test_acc"] = r["test_acc"]
        out.append(rec)
        print(f"{r['pair']} H={r['H']} seed={r['seed']}: random {rec['test_acc']:.4f} vs descent {r['test_acc']:.4f}"
              f" ({r['evaluations']} candidates)", flush=True)
        (ROOT / "random_at_descent_budget.json").write_text(json.dumps(out, indent=1))
    cells = defaultdict(list)
    for o in out:
        cells[(o["pair"], o["H"])].append((o["test_acc"], o["descent_test_acc"]))
    wins = sum(o["descent_test_acc"] > o["test_acc"] for o in out)
    print("\n| pair | H | random (same evaluations) | descent |\n|---|---|---|---|")
    for (p, h), v in cells.items():
        a = np.array(v) * 100
        print(f"| {p} | {h} | {a[:, 0].mean():.2f} | {a[:, 1].mean():.2f} |")
    print(f"descent better on {wins}/{len(out)} instances")


if __name__ == "__main__":
    main()
