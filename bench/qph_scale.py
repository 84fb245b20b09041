"""Pyomo plugin overhead and QPH (progressive hedging over sample batches) on mpi-sppy: bounds, accuracy,
speed with ranks, wall time and memory against N.  Numbers quoted in docs/scale.md and docs/pyomo.md.

    python bench/qph_scale.py overhead                 # SolverFactory('qcgd') vs solve(prob, 'qcgd') at N=512
    python bench/qph_scale.py n2000                    # (0,1) N=2000: local, mpi-sppy 1 and 2 ranks, progressive-hedging
    python bench/qph_scale.py scale --n 256 1000 4000 12000 --ranks 1 2
    python bench/qph_scale.py all                      # the three, results in bench/results/qph_scale.json

Every QPH run is a fresh process (``python bench/qph_scale.py worker ...``, under ``mpiexec -n K`` for K
ranks); runs that are compared are interleaved (ABAB...) so that the load of a shared machine hits them
alike.  Printed and stored per run: wall seconds (problem build, solve), per-iteration lower and upper
bounds, test accuracy on the 2000 official test images, peak RSS of every rank.  Seeds: data subset 0,
network 0, batches and every subproblem solve from seed 0.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "results" / "qph_scale.json"


def _problem(n_train, seed=0):
    from qcbo_model.data import load_dataset
    from qcbo_model.problem import build_problem
    from qcbo_model.spec import NetworkSpec
    ds = load_dataset("fashion-mnist", classes=(0, 1), n_train=n_train, seed=seed)
    spec = NetworkSpec(input_dim=ds.X_train.shape[1], hidden=(4,), seed=seed)
    return ds, build_problem(ds.X_train, ds.y_train, spec, "interval")


def _accuracy(prob, ds, x):
    from qcbo_model.network import QuantizedNetwork
    import numpy as np
    net = QuantizedNetwork.from_problem(prob, x)
    y = np.where(ds.y_test == ds.classes[1], 1, -1) if set(np.unique(ds.y_test)) - {-1, 1} else ds.y_test
    return float(net.accuracy(ds.X_test, y)), float(net.accuracy(prob.net.X, prob.net.Y))


def _rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


# ---------------------------------------------------------------------------------------------
def worker(a):
    t0 = time.perf_counter()
    from solvers import solve
    rank, size, comm = 0, 1, None
    if a.engine == "mpi-sppy":
        from mpisppy import MPI
        comm = MPI.COMM_WORLD
        rank, size = comm.Get_rank(), comm.Get_size()
    ds, prob = _problem(a.n)
    t_build = time.perf_counter() - t0
    t1 = time.perf_counter()
    if a.method == "qph":
        r = solve(prob, "qph", engine=a.engine, batch_size=a.batch_size, max_iter=a.max_iter, sweeps=a.sweeps,
                  reads=a.reads, spokes=a.spokes, bound_solver=a.bound_solver, piece_time_limit=a.piece_time_limit,
                  time_limit=a.time_limit, seed=0)
    else:
        r = solve(prob, "progressive-hedging", batch_size=a.batch_size, max_iter=a.max_iter + 1, sweeps=a.sweeps,
                  reads=a.reads, workers=a.workers, seed=0)
    t_solve = time.perf_counter() - t1
    rss = [_rss_mb()] if comm is None else comm.gather(_rss_mb(), root=0)
    if rank:
        return
    test_acc, train_acc = _accuracy(prob, ds, r.x)
    out = {"n": a.n, "method": a.method, "engine": a.engine if a.method == "qph" else "process pool",
           "ranks": size, "batch_size": a.batch_size, "max_iter": a.max_iter, "sweeps": a.sweeps, "reads": a.reads,
           "n_batches": r.info.get("n_batches"), "n_variables": prob.qcbo.n, "build_s": t_build,
           "solve_s": t_solve, "objective": r.objective, "bound": r.bound, "gap": r.gap,
           "test_accuracy": test_acc, "train_accuracy": train_acc, "rss_mb_per_rank": rss,
           "rss_mb_total": float(sum(rss)), "cylinders": r.info.get("cylinders"),
           "spoke_bounds": r.info.get("spoke_bounds"), "trace": r.trace}
    Path(a.out).write_text(json.dumps(out))


def run_one(n, ranks=1, engine="mpi-sppy", method="qph", timeout=900, **kw):
    """One worker run in a fresh process; returns its record (or the failure)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "r.json"
        cmd = [sys.executable, str(Path(__file__).resolve()), "worker", "--n", str(n), "--engine", engine,
               "--method", method, "--out", str(out)]
        for k, v in kw.items():
            if isinstance(v, bool):
                cmd += [f"--{k.replace('_', '-')}" if v else f"--no-{k.replace('_', '-')}"]
            elif v is not None:
                cmd += [f"--{k.replace('_', '-')}", str(v)]
        if ranks > 1:
            cmd = [shutil.which("mpiexec"), "-n", str(ranks)] + cmd
        env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
                   MKL_NUM_THREADS="1")
        t0 = time.perf_counter()
        try:
            p = subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return {"n": n, "ranks": ranks, "engine": engine, "method": method, "failed": f"timeout {timeout} s"}
        wall = time.perf_counter() - t0
        if p.returncode != 0 or not out.exists():
            return {"n": n, "ranks": ranks, "engine": engine, "method": method, "failed": p.stderr[-1500:]}
        r = json.loads(out.read_text())
        r["process_wall_s"] = wall
        return r


def _show(r):
    if "failed" in r:
        print(f"  N={r['n']} {r['method']} {r['engine']} ranks={r['ranks']}: FAILED {r['failed'][-300:]}")
        return
    tr = r["trace"]
    ok = all(e["lower_bound"] <= e["upper_bound"] + 1e-12 for e in tr) if tr and "lower_bound" in tr[0] else None
    print(f"  N={r['n']:>5} {r['method']:<19} {r['engine']:<12} ranks={r['ranks']} wall {r['process_wall_s']:7.1f} s "
          f"(build {r['build_s']:.1f}, solve {r['solve_s']:.1f})  objective {r['objective']:.4f}  "
          f"bound {r['bound'] if r['bound'] is None else round(r['bound'], 4)}  test {100 * r['test_accuracy']:.2f} %  "
          f"RSS {r['rss_mb_total']:.0f} MB  lb<=ub every iteration: {ok}")


# ---------------------------------------------------------------------------------------------
def overhead(reps=2, n=512, iterations=40):
    """SolverFactory('qcgd').solve(FIP Pyomo model) against solve(prob, 'qcgd'), same options, interleaved."""
    import pyomo.environ as pyo
    from solvers import solve
    import solvers.pyomo_plugin  # noqa: F401
    ds, prob = _problem(n)
    rows = []
    for rep in range(reps):
        t0 = time.perf_counter()
        r = solve(prob, "qcgd", iterations=iterations, seed=0)
        direct = time.perf_counter() - t0
        t0 = time.perf_counter()
        m = prob.pyomo_model()
        build = time.perf_counter() - t0
        opt = pyo.SolverFactory("qcgd")
        opt.options["iterations"] = iterations
        t0 = time.perf_counter()
        res = opt.solve(m)
        plugin = time.perf_counter() - t0
        method = float(res.solver.method_time)
        extract = float(res.solver.extraction_time)
        row = {"rep": rep, "n": n, "n_variables": prob.qcbo.n, "n_constraints": prob.qcbo.m,
               "direct_solve_s": direct, "pyomo_build_s": build, "plugin_solve_s": plugin, "plugin_method_s": method,
               "plugin_extract_s": extract, "plugin_overhead_s": plugin - method,
               "overhead_fraction_of_method": (plugin - method) / method,
               "overhead_fraction_of_direct": (plugin - method) / direct,
               "objective_direct": r.objective, "objective_plugin": float(pyo.value(next(
                   m.component_data_objects(pyo.Objective, active=True)))), "route": str(res.solver.qcbo_method)}
        rows.append(row)
        print(f"  rep {rep}: direct {direct:.1f} s | Pyomo model build {build:.1f} s | plugin {plugin:.1f} s = method "
              f"{method:.1f} + overhead {plugin - method:.2f} (extraction {extract:.2f}) -> "
              f"{100 * row['overhead_fraction_of_method']:.1f} % of the method's time; objectives "
              f"{row['objective_direct']:.5f} / {row['objective_plugin']:.5f} ({row['route']})")
    return rows


def n2000(n=2000, max_iter=4, sweeps=20, reads=8, reps=1):
    """local, mpi-sppy 1 rank, mpi-sppy 2 ranks, progressive-hedging (1 worker), interleaved."""
    kw = dict(batch_size=64, max_iter=max_iter, sweeps=sweeps, reads=reads)
    rows = []
    for rep in range(reps):
        for ranks, engine, method, extra in ((1, "mpi-sppy", "qph", {}), (2, "mpi-sppy", "qph", {}),
                                             (1, "local", "qph", {}),
                                             (1, "local", "progressive-hedging", {"workers": 1})):
            r = run_one(n, ranks, engine, method, **kw, **extra)
            r["rep"] = rep
            _show(r)
            rows.append(r)
    return rows


def scale(ns=(256, 1000, 4000, 12000), ranks=(1, 2), max_iter=1, sweeps=10, reads=4, timeout=900):
    kw = dict(batch_size=64, max_iter=max_iter, sweeps=sweeps, reads=reads)
    rows = []
    for n in ns:
        for k in ranks:
            r = run_one(n, k, "mpi-sppy", "qph", timeout=timeout, **kw)
            _show(r)
            rows.append(r)
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("worker")
    w.add_argument("--n", type=int, required=True)
    w.add_argument("--engine", default="mpi-sppy")
    w.add_argument("--method", default="qph")
    w.add_argument("--batch-size", type=int, default=64)
    w.add_argument("--max-iter", type=int, default=4)
    w.add_argument("--sweeps", type=int, default=20)
    w.add_argument("--reads", type=int, default=8)
    w.add_argument("--workers", type=int, default=1)
    w.add_argument("--spokes", action=argparse.BooleanOptionalAction, default=True)
    w.add_argument("--bound-solver", default="milp")
    w.add_argument("--piece-time-limit", type=float, default=10.0)
    w.add_argument("--time-limit", type=float, default=None)
    w.add_argument("--out", required=True)
    for name in ("overhead", "n2000", "scale", "all"):
        p = sub.add_parser(name)
        p.add_argument("--out", default=str(OUT))
        p.add_argument("--n", type=int, nargs="+", default=[256, 1000, 4000, 12000])
        p.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
        p.add_argument("--reps", type=int, default=1)
    a = ap.parse_args(argv)
    if a.cmd == "worker":
        return worker(a)
    res = json.loads(Path(a.out).read_text()) if Path(a.out).exists() else {}
    res["machine"] = {"cpus": os.cpu_count(), "note": "shared 2-core machine, other benchmarks running: timing "
                      "ratios are noisy; compared runs interleaved"}
    if a.cmd in ("overhead", "all"):
        print("plugin overhead (N=512, qcgd):")
        res["overhead"] = overhead(reps=max(a.reps, 2))
        Path(a.out).write_text(json.dumps(res, indent=1))
    if a.cmd in ("n2000", "all"):
        print("(0,1) N=2000, batch 64:")
        res["n2000"] = n2000(reps=a.reps)
        Path(a.out).write_text(json.dumps(res, indent=1))
    if a.cmd in ("scale", "all"):
        print("wall time and memory against N and ranks:")
        res["scale"] = scale(a.n, a.ranks)
        Path(a.out).write_text(json.dumps(res, indent=1))
    print(f"wrote {a.out}")


if __name__ == "__main__":
    sys.exit(main())
