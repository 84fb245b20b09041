"""Round 4: restarts / more reads for the Ising descent on the weak results-protocol cells.

    PYTHONPATH=$PWD QCBO_DATA_DIR=/work/shared/datasets python bench/descent_restarts.py \
        --config base:iterations=100 --out bench/results/descent_restarts.json

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


def main(argv=None):
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
