"""The CIM as the training oracle: its QUBOs, its tuning, and training accuracy against SA (issue 12).

    python bench/cim_training_oracle.py --qubos [--out FILE]     # oracle quality on captured descent QUBOs
    python bench/cim_training_oracle.py --search 60               # the random search behind PRESETS['training']
    python bench/cim_training_oracle.py --train [--seeds 0 1 2] [--methods ising-descent qcgd] [--out FILE]

``--qubos``: runs the default descent ((0,1), N = 2000, seed 0, SA oracle) once and keeps every tenth
QUBO it sends (37 dense 60-variable Ising problems with fields); reference = best of dwave SA,
64 reads x 3000 sweeps.  Each oracle setting then samples every QUBO with 16 reads (the descent's
ladder call size): mean gap of the best read to the reference, share of QUBOs whose best read hits it,
per-read success, ms per call.  Settings run interleaved QUBO by QUBO.

``--train``: the default training route (``solve(problem, method, oracle=..., oracle_options=...)``,
everything else at the method's defaults) on Fashion-MNIST (0,1), N = 2000, per seed, with SA-1000, the
package default SA-300, the CIM at its SK defaults (1000 steps), the CIM ``preset='training'``, and that
preset with the QBoson precision presets (8 and 14 bit); settings interleaved seed by seed.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from qcbo_model.data import load_dataset  # noqa: E402
from qcbo_model.problem import build_problem  # noqa: E402
from qcbo_model.spec import NetworkSpec  # noqa: E402
from solvers import solve  # noqa: E402
from solvers.ising.cim import CIMOracle  # noqa: E402
from solvers.ising.sa import SAOracle  # noqa: E402

TRAIN = {
    "sa1000": dict(oracle="sa", oracle_options={"num_sweeps": 1000}),
    "sa300 (default)": dict(oracle="sa", oracle_options={}),
    "cim SK defaults, 1000 steps": dict(oracle="cim", oracle_options={"num_steps": 1000}),
    "cim preset=training": dict(oracle="cim", oracle_options={"preset": "training"}),
    "cim training + qboson-8": dict(oracle="cim", oracle_options={"preset": "training", "precision_bits": "qboson-8"}),
    "cim training + qboson-14": dict(oracle="cim", oracle_options={"preset": "training", "precision_bits": "qboson-14"}),
}
QUBO_SETTINGS = {
    "sa300": lambda: SAOracle(num_sweeps=300),
    "sa1000": lambda: SAOracle(num_sweeps=1000),
    "cim SK defaults (8000 steps)": lambda: CIMOracle(),
    "cim SK defaults, 1000 steps": lambda: CIMOracle(num_steps=1000),
    "cim preset=training": lambda: CIMOracle(preset="training"),
    "cim training + qboson-8": lambda: CIMOracle(preset="training", precision_bits="qboson-8"),
    "cim training + qboson-14": lambda: CIMOracle(preset="training", precision_bits="qboson-14"),
}


def problem(seed, n_train=2000):
    ds = load_dataset("fashion-mnist", classes=(0, 1), n_train=n_train, seed=seed)
    return ds, build_problem(ds.X_train, ds.y_train, NetworkSpec(ds.X_train.shape[1], seed=seed))


def capture_qubos(every=10):
    """The Ising problems the default descent sends (seed 0), every ``every``-th one."""
    import solvers.ising.sa as S
    caps = []
    orig = S.SAOracle._sample_spins

    def spy(self, ising, R, rng, **kw):
        caps.append(ising)
        return orig(self, ising, R, rng, **kw)
    S.SAOracle._sample_spins = spy
    try:
        ds, prob = problem(0)
        solve(prob, "ising-descent", seed=0)
    finally:
        S.SAOracle._sample_spins = orig
    qs = caps[::every]
    refs = np.array([SAOracle(num_sweeps=3000).sample(q, num_reads=64, seed=1).best_energy for q in qs])
    return qs, refs


def evaluate(qs, refs, settings):
    acc = {k: {"gap": [], "hit": [], "p": [], "t": []} for k in settings}
    for i, q in enumerate(qs):
        names = list(settings)
        r = i % len(names)
        for name in names[r:] + names[:r]:
            t0 = time.perf_counter()
            ss = settings[name]().sample(q, num_reads=16, seed=i)
            acc[name]["t"].append(time.perf_counter() - t0)
            acc[name]["gap"].append(ss.best_energy - refs[i])
            acc[name]["hit"].append(ss.best_energy <= refs[i] + 1e-9)
            acc[name]["p"].append(float(np.mean(ss.energies <= refs[i] + 1e-9)))
    return {k: {"mean_gap": float(np.mean(v["gap"])), "hit": float(np.mean(v["hit"])), "p_read": float(np.mean(v["p"])),
                "ms_per_call": 1e3 * float(np.mean(v["t"]))} for k, v in acc.items()}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--qubos", action="store_true")
    ap.add_argument("--search", type=int, default=0)
    ap.add_argument("--train", action="store_true")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--methods", nargs="+", default=["ising-descent"])
    ap.add_argument("--settings", nargs="+", default=list(TRAIN), choices=list(TRAIN))
    ap.add_argument("--out", default=None)
    a = ap.parse_args(argv)
    out = {"time": time.strftime("%Y-%m-%d %H:%M")}
    if a.qubos or a.search:
        qs, refs = capture_qubos()
        print(f"# {len(qs)} descent QUBOs, n = {qs[0].n}; reference: SA 64 x 3000 sweeps")
    if a.qubos:
        res = evaluate(qs, refs, QUBO_SETTINGS)
        for k, v in res.items():
            print(f"{k:32s} gap {v['mean_gap']:9.2e}  hit {v['hit']:.2f}  p/read {v['p_read']:.3f}  "
                  f"{v['ms_per_call']:6.1f} ms/call", flush=True)
        out["qubos"] = res
    if a.search:
        rng = np.random.default_rng(0)
        rows = []
        for _ in range(a.search):
            kw = dict(num_steps=1000, beta=float(rng.choice([0.3, 0.5, 0.8, 1.2])),
                      noise=float(rng.choice([0, 0.02, 0.05, 0.1])), gamma=float(rng.choice([0.002, 0.0082, 0.02, 0.05])),
                      tau=float(rng.choice([5, 20, 80])), alpha=float(rng.choice([0.3, 0.5, 1.0])),
                      rho=float(rng.choice([0.5, 1.0, 2.0])), delta=float(rng.choice([0.05, 0.2, 2.0])),
                      split_mode=bool(rng.choice([True, False])), e_max=float(rng.choice([8, 32, 128])))
            r = evaluate(qs, refs, {"x": lambda kw=kw: CIMOracle(**kw)})["x"]
            r["options"] = kw
            rows.append(r)
            print(json.dumps(r), flush=True)
        out["search"] = sorted(rows, key=lambda r: -r["p_read"])
    if a.train:
        rows = []
        for seed in a.seeds:
            ds, prob = problem(seed)
            for method in a.methods:
                names = list(a.settings)
                r = seed % len(names)
                for name in names[r:] + names[:r]:
                    t0 = time.perf_counter()
                    res = solve(prob, method, seed=seed, **TRAIN[name])
                    row = {"method": method, "seed": seed, "setting": name, "oracle": TRAIN[name],
                           "train_objective": res.info.get("minimized", res.objective),
                           "test_accuracy": float(prob.accuracy(res.x, ds.X_test, ds.y_test)),
                           "solve_s": time.perf_counter() - t0, "oracle_s": res.oracle_time_s,
                           "termination": str(res.termination)}
                    rows.append(row)
                    print(json.dumps(row), flush=True)
        out["train"] = rows
        print("\n# mean test accuracy over seeds")
        for method in a.methods:
            for name in a.settings:
                v = [r["test_accuracy"] for r in rows if r["method"] == method and r["setting"] == name]
                t = [r["solve_s"] for r in rows if r["method"] == method and r["setting"] == name]
                print(f"{method:14s} {name:30s} {100 * np.mean(v):6.2f} %  ({', '.join(f'{100 * x:.2f}' for x in v)})"
                      f"  {np.mean(t):6.1f} s")
    if a.out:
        Path(a.out).write_text(json.dumps(out, indent=1, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
