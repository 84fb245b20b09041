"""Time per replica-step of the CIM: the version before issue 12 against the numpy and numba paths.

    python bench/profile_cim.py [--before COMMIT] [--repeats 5] [--json FILE] [--cprofile]

"Before" is ``solvers/ising/cim.py`` at ``--before`` (default: the commit before issue 12), loaded
from git into a temporary module.  All variants run on the same SK instances (seed 0), the same
replica counts and a fixed number of steps (no target, no early stop), interleaved round by round so
that load on the shared machine hits them alike; the table shows the minimum over the rounds (and the
median in the JSON).  ``--cprofile`` prints where the time of the old version goes at N = 100.
"""
from __future__ import annotations

import argparse
import cProfile
import importlib.util
import json
import pstats
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from solvers.ising import Ising  # noqa: E402
from solvers.ising.cim import CIMOracle  # noqa: E402

BEFORE = "6b50633"


def sk(N, seed=0):
    rng = np.random.default_rng(seed)
    U = np.triu(rng.choice([-1.0, 1.0], size=(N, N)), 1) / np.sqrt(N)
    return Ising.from_file_matrix(U + U.T, info={"source": f"SK N={N} seed={seed}"})


def load_before(commit):
    src = subprocess.run(["git", "show", f"{commit}:solvers/ising/cim.py"], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    d = Path(tempfile.mkdtemp())
    f = d / "_cim_before.py"
    f.write_text(src)
    spec = importlib.util.spec_from_file_location("solvers.ising._cim_before", f)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod.CIMOracle


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", default=BEFORE)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--sizes", default="100,300,1000")
    ap.add_argument("--reads", default="16,64")
    ap.add_argument("--json", default=None)
    ap.add_argument("--cprofile", action="store_true")
    args = ap.parse_args(argv)
    Old = load_before(args.before)
    variants = {"before": lambda **kw: Old(**kw), "numpy": lambda **kw: CIMOracle(backend="numpy", **kw),
                "numba": lambda **kw: CIMOracle(backend="numba", **kw)}
    try:
        from solvers.ising.cim import resolve_backend
        resolve_backend("torch-cpu")
        variants["torch-cpu"] = lambda **kw: CIMOracle(backend="torch-cpu", **kw)
    except Exception as exc:                     # torch not installed
        print(f"# torch backend skipped: {exc}")
    # warm-up: compile the numba kernels (cached on disk) outside the timing
    CIMOracle(backend="numba", num_steps=5).sample(sk(20), num_reads=2, seed=0)
    rows = []
    print(f"# before = {args.before}; us per replica-step (min over {args.repeats} interleaved rounds)")
    print(f"{'N':>5s} {'R':>4s} " + " ".join(f"{v:>10s}" for v in variants) + "   speed-up numba/before")
    for N in map(int, args.sizes.split(",")):
        I = sk(N)
        steps = 2000 if N <= 300 else 400
        for R in map(int, args.reads.split(",")):
            t = {v: [] for v in variants}
            for _ in range(args.repeats):
                for v, make in variants.items():
                    ss = make(num_steps=steps).sample(I, num_reads=R, seed=0)
                    t[v].append(ss.info["dynamics_time_s"] / (ss.info["steps"] * R) * 1e6)
            mins = {v: min(x) for v, x in t.items()}
            print(f"{N:5d} {R:4d} " + " ".join(f"{mins[v]:10.3f}" for v in variants)
                  + f"   {mins['before'] / mins['numba']:.2f}x", flush=True)
            rows.append({"N": N, "R": R, "steps": steps, "us_per_replica_step_min": mins,
                         "us_per_replica_step_median": {v: float(np.median(x)) for v, x in t.items()}})
    if args.cprofile:
        I = sk(100)
        for name in ("before", "numba"):
            pr = cProfile.Profile()
            pr.enable()
            variants[name](num_steps=2000).sample(I, num_reads=64, seed=0)
            pr.disable()
            print(f"\n# cProfile, {name}, SK N=100, R=64, 2000 steps")
            pstats.Stats(pr).sort_stats("tottime").print_stats(8)
    if args.json:
        Path(args.json).write_text(json.dumps({"before": args.before, "time": time.strftime("%Y-%m-%d %H:%M"),
                                               "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
