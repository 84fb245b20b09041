"""Build time and memory of the penalty QUBO: pyqubo path vs direct scipy path, for growing N.

Each (form, N, path) runs in a fresh subprocess so that its peak RSS (minus the RSS after imports and
building the QCBO) is its own. pyqubo is skipped past --pyqubo-max-terms QUBO terms or once one of its
runs exceeded --pyqubo-max-s seconds.

    python bench/bench_transpile.py --sizes 16,64,256,1024 --out /tmp/bench_transpile.json
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import resource
import time


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _instance(form: str, N: int, hidden: int, seed: int):
    import numpy as np

    from qcbo_model.problem import build_problem
    from qcbo_model.spec import NetworkSpec
    rng = np.random.default_rng(seed)
    d = 8
    X = rng.uniform(0, 1, size=(N, d))
    y = np.where(rng.uniform(size=N) < 0.5, 1, -1)
    y[:2] = [1, -1]
    spec = NetworkSpec(input_dim=d, hidden=(hidden,), bits=(1, 1), intervals=(4, 4),
                       input_bits=2 if form == "exact" else None, seed=seed)
    return build_problem(X, y, spec, form).qcbo


def _worker(args, q):
    form, N, hidden, path, lam = args
    from solvers.compile.transpile import penalty_qubo_direct, plan_transpile, qcbo_to_pyqubo
    qc = _instance(form, N, hidden, 0)
    base = _rss_mb()
    t0 = time.perf_counter()
    plan = plan_transpile(qc)
    t_plan = time.perf_counter() - t0
    out = {"form": form, "N": N, "path": path, "n_qcbo": qc.n, "m": qc.m, "n_total": plan.n_total,
           "plan_s": t_plan}
    t0 = time.perf_counter()
    if path == "direct":
        qb = penalty_qubo_direct(qc, lam, plan=plan)
        out["build_s"] = time.perf_counter() - t0
    else:
        pm = qcbo_to_pyqubo(qc, plan=plan)
        t1 = time.perf_counter()
        qb = pm.to_qubo(lam)
        out["build_s"] = time.perf_counter() - t0
        out["expression_s"] = pm.timings["expression_s"]
        out["compile_s"] = pm.timings["compile_s"]
        out["to_qubo_s"] = time.perf_counter() - t1
    out["qubo_terms"] = int(qb.Q.nnz)
    out["peak_rss_mb_over_base"] = _rss_mb() - base
    q.put(out)


def run(args_tuple, timeout):
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=_worker, args=(args_tuple, q))
    p.start()
    p.join(timeout)
    if p.is_alive():
        p.terminate()
        p.join()
        return {"form": args_tuple[0], "N": args_tuple[1], "path": args_tuple[3], "timed_out": timeout}
    return q.get() if not q.empty() else {"form": args_tuple[0], "N": args_tuple[1], "path": args_tuple[3],
                                          "error": f"exit code {p.exitcode}"}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="16,64,256,1024")
    ap.add_argument("--forms", default="interval,exact")
    ap.add_argument("--hidden", type=int, default=4)
    ap.add_argument("--lam", type=float, default=10.0)
    ap.add_argument("--pyqubo-max-terms", type=int, default=3_000_000)
    ap.add_argument("--pyqubo-max-s", type=float, default=120.0)
    ap.add_argument("--timeout", type=float, default=600.0)
    ap.add_argument("--out", default=None)
    a = ap.parse_args(argv)
    rows = []
    hdr = f"{'form':9s} {'N':>6s} {'path':7s} {'n_total':>8s} {'terms':>10s} {'build_s':>9s} {'peakMB':>8s}"
    print(hdr)
    for form in a.forms.split(","):
        skip_pyqubo = False
        for N in [int(s) for s in a.sizes.split(",")]:
            for path in ("direct", "pyqubo"):
                if path == "pyqubo" and skip_pyqubo:
                    print(f"{form:9s} {N:6d} {path:7s}  skipped (previous pyqubo run too large/slow)")
                    continue
                r = run((form, N, a.hidden, path, a.lam), a.timeout)
                rows.append(r)
                if "build_s" not in r:
                    print(f"{form:9s} {N:6d} {path:7s}  {r}")
                    skip_pyqubo = skip_pyqubo or path == "pyqubo"
                    continue
                print(f"{form:9s} {N:6d} {path:7s} {r['n_total']:8d} {r['qubo_terms']:10d} {r['build_s']:9.3f} "
                      f"{r['peak_rss_mb_over_base']:8.1f}", flush=True)
                if path == "direct" and r["qubo_terms"] > a.pyqubo_max_terms:
                    skip_pyqubo = True
                if path == "pyqubo" and r["build_s"] > a.pyqubo_max_s:
                    skip_pyqubo = True
    if a.out:
        with open(a.out, "w") as f:
            json.dump({"rows": rows, "note": "timings on a shared 2-core machine"}, f, indent=1)
    return rows


if __name__ == "__main__":
    main()
