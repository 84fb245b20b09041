"""Build time and memory of the FIP-QCBO for growing N (prints a table; optional --json).

    python bench/bench_build.py --n 32 128 512

Each N runs in a fresh subprocess so that the peak resident memory (ru_maxrss) is its own.
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time


def one(N: int, hidden: int, intervals, bits, form: str, input_bits, pyomo: bool) -> dict:
    from qcbo_model.data import load_dataset
    from qcbo_model.extract import from_pyomo
    from qcbo_model.problem import build_problem
    from qcbo_model.spec import NetworkSpec
    ds = load_dataset("fashion-mnist", classes=(0, 1), n_train=N, pool=4, seed=0)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    spec = NetworkSpec(input_dim=49, hidden=(hidden,), bits=bits, intervals=intervals, input_bits=input_bits)
    p = build_problem(ds.X_train, ds.y_train, spec, form)
    rec = {"N": N, "form": form, "n_variables": p.qcbo.n, "n_constraints": p.qcbo.m,
           "n_quadratic_constraints": p.qcbo.n_quadratic_constraints,
           "fip_s": p.timings["fip_s"], "assemble_s": p.timings["assemble_s"]}
    rec["rss_direct_mb"] = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024
    if pyomo:
        t0 = time.perf_counter()
        m = p.pyomo_model()
        rec["pyomo_build_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        q2 = from_pyomo(m)
        rec["extract_s"] = time.perf_counter() - t0
        d = p.qcbo.compare(q2)
        rec["max_diff_vs_direct"] = max(v for k, v in d.items() if isinstance(v, float))
    rec["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return rec


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, nargs="+", default=[32, 128, 512])
    ap.add_argument("--hidden", type=int, default=4)
    ap.add_argument("--intervals", default="4,8")
    ap.add_argument("--bits", default="1,2")
    ap.add_argument("--forms", nargs="+", default=["interval", "exact"])
    ap.add_argument("--input-bits", type=int, default=2)
    ap.add_argument("--no-pyomo", action="store_true")
    ap.add_argument("--json", default=None)
    ap.add_argument("--_child", default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a._child:
        N, form = a._child.split(":")
        ib = a.input_bits if (form == "exact" or a.input_bits) else None
        rec = one(int(N), a.hidden, [int(k) for k in a.intervals.split(",")], a.bits.split(","), form, ib,
                  not a.no_pyomo)
        print(json.dumps(rec))
        return
    rows = []
    for form in a.forms:
        for N in a.n:
            cmd = [sys.executable, __file__, "--_child", f"{N}:{form}", "--hidden", str(a.hidden), "--intervals",
                   a.intervals, "--bits", a.bits, "--input-bits", str(a.input_bits)] + (["--no-pyomo"] if a.no_pyomo else [])
            out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
            rows.append(json.loads(out))
    cols = ["form", "N", "n_variables", "n_constraints", "n_quadratic_constraints", "fip_s", "assemble_s",
            "pyomo_build_s", "extract_s", "peak_rss_mb", "max_diff_vs_direct"]
    print(" | ".join(cols))
    for r in rows:
        print(" | ".join(f"{r.get(c, float('nan')):.3g}" if isinstance(r.get(c), float) else str(r.get(c, "-")) for c in cols))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rows, f, indent=2)


if __name__ == "__main__":
    main()
