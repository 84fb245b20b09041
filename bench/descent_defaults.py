"""How the Ising descent's defaults were chosen: training objective and time of descent settings.

    python bench/descent_defaults.py --n-train 32 2000 --seeds 0 1 2 --out bench/results/descent_defaults.json

Fashion-MNIST (0,1), 49 -> 4 -> 1 (the main job's network), one row per (N, seed, setting): the
minimized training objective (sharpened loss, the selection criterion), iterations, termination,
wall seconds of the solve, and the test accuracy (reported, never used to choose).  Settings are
overrides of ``solvers.method_config("ising-descent")``; ``sa`` sweeps go through ``oracle_options``.
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
from solvers import solve  # noqa: E402

SETTINGS = {}
for _sw in (1000, 300):
    for _pat in (10, 5):
        for _st in (1, 2):
            SETTINGS[f"sw{_sw}_p{_pat}_s{_st}"] = {"oracle_options": {"num_sweeps": _sw}, "patience": _pat,
                                                   "stop_after": _st}
SETTINGS.update({
    "sw150_r48": {"oracle_options": {"num_sweeps": 150}},
    "sw100_r48": {"oracle_options": {"num_sweeps": 100}},
    "sw300_r24": {"oracle_options": {"num_sweeps": 300}, "reads": 24},
    "sw600_r24": {"oracle_options": {"num_sweeps": 600}, "reads": 24},
    "sw1000_run_to_limit": {"oracle_options": {"num_sweeps": 1000}, "stop_after": None},
})


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-train", type=int, nargs="+", default=[32, 2000])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--settings", nargs="+", default=list(SETTINGS), choices=list(SETTINGS))
    ap.add_argument("--out", default=None)
    a = ap.parse_args(argv)
    rows = []
    for n in a.n_train:
        for seed in a.seeds:
            ds = load_dataset("fashion-mnist", classes=(0, 1), n_train=n, seed=seed)
            prob = build_problem(ds.X_train, ds.y_train, NetworkSpec(ds.X_train.shape[1], seed=seed))
            for name in a.settings:
                t = time.perf_counter()
                r = solve(prob, "ising-descent", seed=seed, **SETTINGS[name])
                row = {"N": n, "seed": seed, "setting": name, "train_objective": r.info["minimized"],
                       "iterations": r.info["iterations"], "termination": str(r.termination),
                       "solve_s": time.perf_counter() - t, "oracle_s": r.oracle_time_s,
                       "test_accuracy": prob.accuracy(r.x, ds.X_test, ds.y_test)}
                rows.append(row)
                print(json.dumps(row), flush=True)
    if a.out:
        Path(a.out).write_text(json.dumps({"settings": SETTINGS, "rows": rows}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
