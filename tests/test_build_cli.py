"""End to end: `qcbo-qnn build` on the real Fashion-MNIST files."""
import json
import subprocess
import sys

import numpy as np
import pytest

from qcbo_model.qcbo import QCBO


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "qcbo_qnn.cli", *args], capture_output=True, text=True)


def test_build_fashion_mnist(tmp_path, fashion):
    out = tmp_path / "m"
    r = run_cli("build", "--dataset", "fashion-mnist", "--classes", "0,1", "--n-train", "32", "--hidden", "4",
                "--intervals", "4,8", "--bits", "1,2", "--out", str(out))
    assert r.returncode == 0, r.stderr
    s = json.loads((out / "summary.json").read_text())
    assert s["n_variables"] == s["spin_count_formula"] == 50 * 4 + 5 * 2 + 32 * (4 * 4 + 1 * 8)
    assert s["n_weight_bits"] == 210 and s["n_indicator_bits"] == 768
    assert s["avg_bits_per_weight"] == pytest.approx(204 / 200)
    for k in ("n_constraints", "n_quadratic_constraints", "spline_error_bounds", "build_time_s"):
        assert k in s
    assert s["n_quadratic_constraints"] == 2 * 32   # layer-2 interval lower/upper per sample
    assert "unavailable" in s["form_costs"]["exact"]
    q = QCBO.load(out / "qcbo.npz")
    assert q.n == s["n_variables"] and q.m == s["n_constraints"]
    lp = (out / "model.lp").read_text()
    assert "interval_upper(2_31_0)" in lp


def test_build_exact_form_costs(tmp_path, fashion):
    out = tmp_path / "e"
    r = run_cli("build", "--n-train", "8", "--hidden", "2", "--intervals", "2,4", "--bits", "1,1",
                "--form", "exact", "--input-bits", "2", "--out", str(out), "--no-lp")
    assert r.returncode == 0, r.stderr
    s = json.loads((out / "summary.json").read_text())
    fc = s["form_costs"]
    assert fc["exact"]["n_variables"] > fc["interval"]["n_variables"]
    assert fc["exact"]["n_variables"] == s["n_variables"]
    assert fc["exact"]["n_slack_bits"] > 0 and fc["exact"]["n_aux_bits"] == 8 * 1 * 2 * 2 * 1
    q = QCBO.load(out / "qcbo.npz")
    assert np.all(q.is_equality)
