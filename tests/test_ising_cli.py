"""``qcbo-qnn ising`` end to end on instance files."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from qcbo_qnn.cli import main
from tests.conftest import ISING as BENCH

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_cli_exact_report(tmp_path, capsys):
    rep = tmp_path / "r.json"
    rc = main(["ising", "--instance", f"{BENCH}/sk/SK1_N=20_0.npy", "--oracle", "exact", "--reads", "1",
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
    rc = main(["ising", "--instance", f"{BENCH}/maxcut50/MC50_N=100_1.npy", "--maxcut", "--oracle", "cim",
               "--reads", "8", "--seed", "1", "--report", str(rep)])
    assert rc == 0
    r = json.loads(rep.read_text())
    A = np.load(f"{BENCH}/maxcut50/MC50_N=100_1.npy")
    assert r["best_cut"] == pytest.approx((A.sum() / 2 - r["best_energy"]) / 2)


def test_cli_steps_and_options_reach_the_oracle(tmp_path):
    rep = tmp_path / "r.json"
    assert main(["ising", "--instance", f"{BENCH}/sk/SK1_N=20_2.npy", "--oracle", "sa", "--steps", "7",
                 "--reads", "3", "--report", str(rep)]) == 0
    assert json.loads(rep.read_text())["sweeps"] == 7
    assert main(["ising", "--instance", f"{BENCH}/sk/SK1_N=20_2.npy", "--oracle", "cim", "--steps", "50",
                 "--reads", "2", "--report", str(rep)]) == 0
    assert json.loads(rep.read_text())["steps"] == 50


def test_cli_unreached_target_is_valid_json(tmp_path):
    rep = tmp_path / "r.json"
    assert main(["ising", "--instance", f"{BENCH}/sk/SK1_N=20_0.npy", "--oracle", "greedy", "--reads", "2",
                 "--target", "-1000", "--report", str(rep)]) == 0
    r = json.loads(rep.read_text())
    assert r["success_probability"] == 0.0 and r["tts99_s"] is None


def test_cli_bad_input_exit_2(capsys, tmp_path):
    assert main(["ising", "--instance", "/nonexistent.npy", "--oracle", "sa"]) == 2
    assert "not found" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:        # refused by the parser: 0 steps is not "the default"
        main(["ising", "--instance", f"{BENCH}/sk/SK1_N=20_0.npy", "--oracle", "cim", "--steps", "0"])
    assert e.value.code == 2 and "--steps" in capsys.readouterr().err
    assert main(["ising", "--instance", f"{BENCH}/sk/SK1_N=20_0.npy", "--oracle", "random", "--steps", "5"]) == 2
    with pytest.raises(SystemExit):
        main(["ising", "--instance", f"{BENCH}/sk/SK1_N=20_0.npy", "--seed", "-1"])


def test_module_entry_point():
    env = dict(os.environ, PYTHONPATH=ROOT)
    out = subprocess.run([sys.executable, "-m", "qcbo_qnn.cli", "ising", "--instance",
                          f"{BENCH}/sk/SK1_N=20_1.npy", "--oracle", "greedy", "--reads", "4"],
                         capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "best energy" in out.stdout
