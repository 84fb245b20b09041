"""Round 4: restarts / more reads for the Ising descent on the weak results-protocol cells.

    PYTHONPATH=$PWD QCBO_DATA_DIR=/work/shared/datasets python bench/descent_restarts.py \
        --config base:iterations=100 --out bench/results/descent_restarts.json
    python bench/descent_restarts.py --summarize CONFIG FILE.json [FILE.json ...]   (markdown table)

Same instances as bench/run_results.py --part table (problem(pair, N, H, seed), `qcbo-qnn train` defaults);
each --config NAME:key=val,... passes keyword arguments to solvers.ising_descent.ising_descent on top of
the train defaults (oracle sa-fast, reads 16, neuron blocks, sharpness 8).  Settings are compared by the
sharpened TRAINING loss (sharp_loss); test accuracy is only reported.  Shared 2-core machine.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from run_results import problem, row  # noqa: E402
from solvers.ising_descent import ising_descent  # noqa: E402


def parse_cfg(text):
    name, _, rest = text.partition(":")
    kw = {}
    for item in filter(None, rest.split(",")):
        k, v = item.split("=")
        for conv in (int, float):
            try:
                v = conv(v)
                break
            except ValueError:
                pass
        kw[k] = {"True": True, "False": False}.get(v, v) if isinstance(v, str) else v
    return name, kw


def summarize(paths, config, table="bench/results/results_protocol.json"):
    """Per (pair, H) cell: stored descent / ste-tuned vs the new runs of ``config`` (seeds in both)."""
    import numpy as np
    stored = json.loads(Path(table).read_text())["table"]["rows"]
    new = [r for p in paths for r in json.loads(Path(p).read_text())["rows"] if r["config"] == config]
    key = lambda r: (r["pair"], r["H"], r["seed"])  # noqa: E731
    old = {(key(r), r["method"]): r for r in stored}
    cells, counts = {}, {"better": 0, "equal": 0, "worse": 0}
    for r in new:
        d, t = old[(key(r), "ising-descent")], old[(key(r), "ste-tuned")]
        cells.setdefault(key(r)[:2], []).append((d, t, r))
        c = np.sign(round(r["test_acc"] - t["test_acc"], 6))
        counts[{1: "better", 0: "equal", -1: "worse"}[int(c)]] += 1
    print("| pair | H | seeds | sharp train loss: old / new / ste-tuned | test %: old / new / ste-tuned | new wall s |")
    print("|---|---|---|---|---|---|")
    at = 0
    for (pair, H), v in cells.items():
        m = lambda i, k: np.mean([x[i][k] for x in v])  # noqa: E731
        sd = lambda i: np.std([100 * x[i]["test_acc"] for x in v])  # noqa: E731
        at += m(2, "test_acc") >= m(1, "test_acc") - 1e-9
        print(f"| {pair} | {H} | {len(v)} | {m(0, 'sharp_loss'):.4f} / {m(2, 'sharp_loss'):.4f} / "
              f"{m(1, 'sharp_loss'):.4f} | {100 * m(0, 'test_acc'):.2f} ± {sd(0):.2f} / "
              f"**{100 * m(2, 'test_acc'):.2f} ± {sd(2):.2f}** / {100 * m(1, 'test_acc'):.2f} ± {sd(1):.2f} | "
              f"{m(2, 'wall_s'):.1f} |")
    print(f"cells with new mean >= ste-tuned: {at}/{len(cells)}; per instance vs ste-tuned: {counts}")


def main(argv=None):
    if argv is None and len(sys.argv) > 1 and sys.argv[1] == "--summarize":
        summarize(sys.argv[3:], sys.argv[2])
        return
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", nargs="+", required=True)
    p.add_argument("--pairs", nargs="+", default=["0,6", "2,4"])
    p.add_argument("--hidden-sizes", nargs="+", type=int, default=[4, 8])
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--n", type=int, default=512)
    p.add_argument("--out", default="bench/results/descent_restarts.json")
    o = p.parse_args(argv)
    out = Path(o.out)
    res = json.loads(out.read_text()) if out.exists() else {"rows": []}
    for pair in o.pairs:
        for H in o.hidden_sizes:
            for seed in o.seeds:
                a, prob, ds = problem(pair, o.n, H, seed)
                for c in o.config:
                    name, kw = parse_cfg(c)
                    kw = {"oracle": "sa-fast", "reads": 16, "iterations": 100, "seed": seed, **kw}
                    t0 = time.perf_counter()
                    r = ising_descent(prob, **kw)
                    rr = row(prob, ds, r.x, "ising-descent", t0, config=name, kwargs=kw, status=r.status,
                             iterations=r.iterations, accepted=r.accepted, restarts=r.restarts,
                             evaluations=r.evaluations, oracle_calls=r.oracle_calls)
                    res["rows"].append({"pair": pair, "H": H, "seed": seed, "n": o.n, **rr})
                    out.write_text(json.dumps(res, indent=1, default=float))
                    print(f"{pair} H{H} s{seed} {name}: sharp {rr['sharp_loss']:.4f} test {rr['test_acc']:.4f} "
                          f"it {r.iterations} acc {r.accepted} rs {r.restarts} {rr['wall_s']:.1f}s", flush=True)


if __name__ == "__main__":
    main()
