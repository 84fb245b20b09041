import argparse
import json
import subprocess
import sys
import os

import pytest

from solvers import ising_cli

BENCH = "/work/shared/benchmarks/ising"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_cli(argv):
    p = argparse.ArgumentParser()
    ising_cli.add_arguments(p)
    return ising_cli.run(p.parse_args(argv))


def test_cli_exact_report(tmp_path, capsys):
    rep = tmp_path / "r.json"
    rc = run_cli(["--instance", f"{BENCH}/sk/SK1_N=20_0.npy", "--oracle", "exact", "--reads", "1",
                  "--seed", "0", "--target", "-62", "--report", str(rep)])
    assert rc == 0
    out = capsys.readouterr().out
    assert "file convention" in out and "-62" in out
    r = json.loads(rep.read_text())
    for k in ("best_energy", "wall_time_s", "reads", "success_probability", "oracle", "seed", "n"):
        assert k in r
    assert r["best_energy"] == -62 and r["n"] == 20 and r["success_probability"] == 1.0


def test_cli_maxcut_cut(tmp_path):
    rep = tmp_path / "r.json"
    rc = run_cli(["--instance", f"{BENCH}/maxcut50/MC50_N=100_1.npy", "--maxcut", "--oracle", "cim",
                  "--reads", "8", "--seed", "1", "--report", str(rep)])
    assert rc == 0
    r = json.loads(rep.read_text())
    import numpy as np
    A = np.load(f"{BENCH}/maxcut50/MC50_N=100_1.npy")
    assert r["best_cut"] == pytest.approx((A.sum() / 2 - r["best_energy"]) / 2)


def test_cli_bad_file(capsys):
    assert run_cli(["--instance", "/nonexistent.npy", "--oracle", "sa"]) == 2
    assert "not found" in capsys.readouterr().err


def test_module_entry_point():
    env = dict(os.environ, PYTHONPATH=ROOT)
    out = subprocess.run([sys.executable, "-m", "solvers.ising_cli", "--instance",
                          f"{BENCH}/sk/SK1_N=20_1.npy", "--oracle", "greedy", "--reads", "4"],
                         capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "best energy" in out.stdout
