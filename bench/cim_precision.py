"""Effect of the hardware precision presets (QBoson 8 / 14 bit) on the CIM's success probability.

    python bench/cim_precision.py [--json FILE]

SK N = 100: the ten shared instances (+-1 couplings, references of bench_ising.SK_REF) and ten
Gaussian-coupling SK instances generated here (J_ij ~ N(0, 1/N), seeds 0-9; reference = best of
dwave SA 64 reads x 3000 sweeps and a full-precision CIM run).  For each precision (None, 14, 8, 6,
4 bits) the CIM (64 replicas, stop each replica at the reference, defaults otherwise) samples the
*quantized* problem; success is judged on the original energies.  Settings interleaved per instance.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_ising import DEFAULT_BENCH, SK_REF  # noqa: E402
from solvers.ising import Ising  # noqa: E402
from solvers.ising.cim import CIMOracle, QuantizationWarning  # noqa: E402
from solvers.ising.sa import SAOracle  # noqa: E402

PRECISIONS = [None, "qboson-14", "qboson-8", 6, 4]


def gaussian_sk(N, seed):
    rng = np.random.default_rng(seed)
    U = np.triu(rng.normal(size=(N, N)), 1) / np.sqrt(N)
    return Ising.from_file_matrix(U + U.T, info={"source": f"Gaussian SK N={N} seed={seed}"})


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", default=None)
    ap.add_argument("--reads", type=int, default=64)
    a = ap.parse_args(argv)
    insts = [(f"SK1 N=100 #{i}", Ising.from_coupling_file(f"{DEFAULT_BENCH}/sk/SK1_N=100_{i}.npy"), float(SK_REF[100][i]))
             for i in range(10)]
    for s in range(10):
        g = gaussian_sk(100, s)
        ref = min(SAOracle(num_sweeps=3000).sample(g, num_reads=64, seed=1).best_energy,
                  CIMOracle(num_steps=20000).sample(g, num_reads=64, seed=1).best_energy)
        insts.append((f"Gauss N=100 s{s}", g, ref))
    rows = []
    print(f"{'instance':18s} " + " ".join(f"{str(p):>10s}" for p in PRECISIONS) + "   (p per read; zeroed coefs %)")
    for k, (name, I, ref) in enumerate(insts):
        res = {}
        r = k % len(PRECISIONS)
        for bits in PRECISIONS[r:] + PRECISIONS[:r]:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", QuantizationWarning)
                t0 = time.perf_counter()
                ss = CIMOracle(precision_bits=bits, stop_when="each", time_limit=20.0).sample(
                    I, num_reads=a.reads, seed=0, target_energy=ref)
            res[str(bits)] = {"p": float(ss.success(ref).mean()), "best": ss.best_energy,
                              "wall_s": time.perf_counter() - t0,
                              "zeroed": ss.info.get("quantization", {}).get("zeroed_fraction", 0.0)}
        rows.append({"instance": name, "reference": ref, "results": res})
        print(f"{name:18s} " + " ".join(f"{res[str(p)]['p']:6.2f}({100 * res[str(p)]['zeroed']:2.0f})"
                                        for p in PRECISIONS), flush=True)
    for fam in ("SK1", "Gauss"):
        sel = [r for r in rows if r["instance"].startswith(fam)]
        print(f"# mean p {fam}: " + ", ".join(f"{p}: {np.mean([r['results'][str(p)]['p'] for r in sel]):.3f}"
                                            for p in PRECISIONS))
    if a.json:
        Path(a.json).write_text(json.dumps({"time": time.strftime("%Y-%m-%d %H:%M"), "rows": rows}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
