"""``qcbo-qnn train --solver qph --engine local|mpi-sppy``, in process and under ``mpiexec -n 2``."""
import json
import os
import shutil
import subprocess
import sys

import pytest

from qcbo_qnn.cli import main

ARGS = ["train", "--dataset", "digits", "--classes", "0,1", "--pool", "2", "--n-train", "24", "--solver", "qph",
        "--qph-batch-size", "8", "--qph-max-iter", "2", "--qph-sweeps", "4", "--qph-reads", "2", "--no-progress"]


@pytest.mark.parametrize("engine", ["local", "mpi-sppy"])
def test_train_qph_report(engine, tmp_path, capsys):
    if engine == "mpi-sppy":
        pytest.importorskip("mpisppy")
    rep_f = tmp_path / "r.json"
    assert main(ARGS + ["--engine", engine, "--report", str(rep_f)]) == 0
    out = capsys.readouterr().out
    assert "ph_iterations: 2" in out and f"ph_engine: {engine}" in out
    rep = json.loads(rep_f.read_text())
    ph = rep["ph"]
    assert ph["engine"] == engine and ph["ranks"] == 1 and ph["iterations"] == 2 and ph["n_batches"] == 3
    assert ph["lower_bound"] <= ph["upper_bound"] and ph["upper_bound"] == pytest.approx(rep["objective"])
    assert rep["lower_bound"] == pytest.approx(ph["lower_bound"]) and rep["lower_bound_certified"]
    assert ph["gap"] == pytest.approx((ph["upper_bound"] - ph["lower_bound"]) / abs(ph["upper_bound"]))


def test_engine_needs_qph(capsys):
    assert main(["train", "--dataset", "digits", "--solver", "ste", "--engine", "local"]) == 2
    assert "--engine applies to --solver qph only" in capsys.readouterr().err


def test_train_under_mpiexec_only_rank0_writes(tmp_path):
    try:
        import mpi4py  # noqa: F401
        import mpisppy  # noqa: F401
    except ImportError:
        pytest.skip("mpi4py / mpi-sppy not installed (pip install 'qcbo-qnn[mpi]')")
    mpiexec = shutil.which("mpiexec")
    if mpiexec is None:
        pytest.skip("no mpiexec")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
    cmd = [mpiexec, "-n", "2", sys.executable, "-m", "qcbo_qnn.cli"] + ARGS + [
        "--engine", "mpi-sppy", "--report", "out/r.json", "--model", "out/m.json"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=240, cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert r.stdout.count("ph_ranks: 2") == 1             # one summary: rank 0's
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["m.json", "r.json"]
    assert json.loads((tmp_path / "out" / "r.json").read_text())["ph"]["ranks"] == 2
