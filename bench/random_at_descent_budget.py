"""Random search with repair at the *current* descent's evaluation budget, on the main-table instances.

    python bench/random_at_descent_budget.py            # reads bench/results/descent_restarts.json

For every descent row (config r48p10: restarts, 48 reads, patience 10; N=512, 6 pairs x H 4/8 x seeds 0-2)
random search (``solvers.solve(prob, "random-search", candidates=..., seed=...)``: random valid weight
codes, each repaired by forward completion) draws as many candidates as the descent evaluated, on the
same samples and test set; prints per-cell means and writes bench/results/random_at_descent_budget.json
(--descent-json, --config, --out and --limit change that).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))
from run_results import problem, row  # noqa: E402

from solvers import solve  # noqa: E402

ROOT = HERE / "results"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--descent-json", default=str(ROOT / "descent_restarts.json"), help="descent rows to match")
    p.add_argument("--config", default="r48p10", help="descent config whose rows are matched")
    p.add_argument("--limit", type=int, default=None, help="only the first N descent rows")
    p.add_argument("--n-test", type=int, default=None, help="test images (default: the whole test split, "
                   "as the descent rows)")
    p.add_argument("--out", default=str(ROOT / "random_at_descent_budget.json"))
    a = p.parse_args(argv)
    desc = [r for r in json.loads(Path(a.descent_json).read_text())["rows"] if r["config"] == a.config]
    desc = desc[:a.limit] if a.limit is not None else desc
    extra = [] if a.n_test is None else ["--n-test", str(a.n_test)]
    out_path = Path(a.out)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out = []
    for r in desc:
        _, prob, ds = problem(r["pair"], r["n"], r["H"], r["seed"], extra)
        t0 = time.perf_counter()
        rs = solve(prob, "random-search", candidates=int(r["evaluations"]), seed=r["seed"])
        rec = row(prob, ds, rs.x, "random", t0, pair=r["pair"], H=r["H"], seed=r["seed"], evaluations=r["evaluations"])
        rec["descent_test_acc"] = r["test_acc"]
        out.append(rec)
        print(f"{r['pair']} H={r['H']} seed={r['seed']}: random {rec['test_acc']:.4f} vs descent {r['test_acc']:.4f}"
              f" ({r['evaluations']} candidates)", flush=True)
        out_path.write_text(json.dumps(out, indent=1))
    cells = defaultdict(list)
    for o in out:
        cells[(o["pair"], o["H"])].append((o["test_acc"], o["descent_test_acc"]))
    wins = sum(o["descent_test_acc"] > o["test_acc"] for o in out)
    print("\n| pair | H | random (same evaluations) | descent |\n|---|---|---|---|")
    for (pr, h), v in cells.items():
        arr = np.array(v) * 100
        print(f"| {pr} | {h} | {arr[:, 0].mean():.2f} | {arr[:, 1].mean():.2f} |")
    print(f"descent better on {wins}/{len(out)} instances")


if __name__ == "__main__":
    main()
