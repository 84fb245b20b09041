"""The README's main job, timed end to end (process start to exit), with its test accuracy.

    python bench/main_job.py                                   # README command, seed 0, n_train 32 and 2000
    python bench/main_job.py --seeds 0 1 2 --n-train 32 2000 --out bench/results/main_job.json
    python bench/main_job.py --checkout old=../old-checkout    # interleave another checkout, side by side

Every run is ``python -m qcbo_qnn.cli train --dataset fashion-mnist --classes 0,1 --n-train N --seed S
--report R --plots P --model M`` in a fresh process; with ``--checkout NAME=PATH`` the same command also
runs with PYTHONPATH=PATH (another version of the package), interleaved run by run so that load on the
machine hits both alike.  Printed: wall seconds of the whole command, the report's test accuracy,
termination and oracle calls.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(pythonpath: Path, n_train: int, seed: int, extra: list) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        rep = Path(tmp) / "report.json"
        cmd = [sys.executable, "-m", "qcbo_qnn.cli", "train", "--dataset", "fashion-mnist", "--classes", "0,1",
               "--n-train", str(n_train), "--seed", str(seed), "--report", str(rep), "--plots",
               str(Path(tmp) / "plots"), "--model", str(Path(tmp) / "model.json"), *extra]
        env = dict(os.environ, PYTHONPATH=str(pythonpath), MPLBACKEND="Agg")
        t0 = time.perf_counter()
        p = subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        if p.returncode != 0:
            return {"returncode": p.returncode, "stderr": p.stderr[-2000:], "wall_s": wall}
        r = json.loads(rep.read_text())
        return {"returncode": 0, "wall_s": wall, "test_accuracy": r["test_accuracy"],
                "train_accuracy": r["train_accuracy"], "termination": r.get("termination", r.get("solver_info", {})
                                                                                .get("status")),
                "oracle_calls": r["oracle_calls"], "objective": r["objective"],
                "reported_wall_s": r["wall_time_s"]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--n-train", type=int, nargs="+", default=[32, 2000])
    ap.add_argument("--checkout", action="append", default=[], metavar="NAME=PATH",
                    help="another checkout of the package to run side by side")
    ap.add_argument("--extra", default="", help="extra train flags, one string")
    ap.add_argument("--out", default=None, help="JSON file for the rows")
    a = ap.parse_args(argv)
    checkouts = [("this", ROOT)] + [(c.split("=", 1)[0], Path(c.split("=", 1)[1]).resolve()) for c in a.checkout]
    rows = []
    print(f"{'checkout':>10} {'n_train':>7} {'seed':>4} {'wall s':>7} {'test acc':>8} {'calls':>6}  termination")
    for n in a.n_train:
        for s in a.seeds:
            for name, path in checkouts:
                r = {"checkout": name, "n_train": n, "seed": s, **run(path, n, s, a.extra.split())}
                rows.append(r)
                if r["returncode"]:
                    print(f"{name:>10} {n:>7} {s:>4} failed: {r['stderr'][-300:]}")
                    continue
                print(f"{name:>10} {n:>7} {s:>4} {r['wall_s']:>7.2f} {r['test_accuracy']:>8.4f} "
                      f"{r['oracle_calls']:>6}  {r['termination']}", flush=True)
    if a.out:
        Path(a.out).write_text(json.dumps({"command": "qcbo-qnn train --dataset fashion-mnist --classes 0,1 "
                                                      "--n-train N --seed S --report --plots --model",
                                           "rows": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
