"""End to end: tiny `qcbo-qnn train` + `predict` + `baseline` (sklearn digits; Fashion-MNIST if present)."""
import json

import numpy as np
import pytest

from qcbo_model.network import ModelFileError, QuantizedNetwork
from qcbo_qnn.cli import main

TINY = ["--dataset", "digits", "--classes", "0,1", "--pool", "2", "--n-train", "16", "--hidden", "2",
        "--intervals", "4,8", "--breakpoints", "quantile", "--bits", "1,2", "--sa-weights-sweeps", "4",
        "--sa-weights-reads", "4", "--no-progress"]


def test_train_then_predict_digits(tmp_path, capsys):
    rep_f, model_f, plots = tmp_path / "r.json", tmp_path / "m.json", tmp_path / "plots"
    assert main(["train", *TINY, "--solver", "sa-weights", "--report", str(rep_f), "--model", str(model_f),
                 "--plots", str(plots)]) == 0
    rep = json.loads(rep_f.read_text())
    for k in ("dataset", "classes", "n_train", "n_test", "test_accuracy", "test_accuracy_fip", "train_accuracy",
              "avg_bits_per_weight", "n_variables", "n_constraints", "objective", "feasible", "solver", "oracle",
              "oracle_calls", "wall_time_s", "seed", "termination", "solver_config"):
        assert k in rep, k
    assert rep["feasible"] and rep["n_train"] == 16 and rep["solver"] == "sa-weights"
    assert rep["solver_config"]["sweeps"] == 4
    assert rep["n_test"] > 50                      # the whole test split of the two classes
    assert rep["test_accuracy"] > 0.7 and rep["test_accuracy_fip"] > 0.7   # 0 vs 1 digits: easy
    assert sorted(p.name for p in plots.iterdir()) == ["bounds.png", "confusion.png", "trace.png", "weights_layer1.png"]
    capsys.readouterr()
    assert main(["predict", "--model", str(model_f), "--report", str(tmp_path / "p.json")]) == 0
    pred = json.loads((tmp_path / "p.json").read_text())
    assert pred["n_test"] == rep["n_test"]
    assert pred["test_accuracy"] == pytest.approx(rep["test_accuracy"])
    assert pred["test_accuracy_fip"] == pytest.approx(rep["test_accuracy_fip"])
    from qcbo_qnn import QNNClassifier
    clf = QNNClassifier.load(model_f)                  # the CLI's model file is the estimator's
    assert clf.solver == "sa-weights" and clf.solver_options == {"sweeps": 4, "reads": 4}


def test_saved_network_matches_problem_predictions():
    from qcbo_model.data import load_dataset
    from qcbo_model.problem import build_problem
    from qcbo_model.spec import NetworkSpec
    ds = load_dataset("digits", classes=(3, 8), n_train=20, pool=2, seed=1)
    for ib in (None, 2):
        spec = NetworkSpec(input_dim=16, hidden=(3,), bits=("t", 2), intervals=(3, 5), input_bits=ib)
        prob = build_problem(ds.X_train, ds.y_train, spec)
        x = prob.complete(np.random.default_rng(0).integers(0, 2, (1, prob.n_weight_bits)))[0]
        m = QuantizedNetwork.from_dict(json.loads(json.dumps(QuantizedNetwork.from_problem(prob, x).to_dict())))
        for exact in (True, False):
            assert np.array_equal(m.predict(ds.X_test, exact), prob.predict(x, ds.X_test, exact))


def test_model_file_errors(tmp_path):
    assert main(["predict", "--model", str(tmp_path / "none.json")]) == 2
    (tmp_path / "bad.json").write_text(json.dumps({"format": "other"}))
    with pytest.raises(ModelFileError):
        QuantizedNetwork.from_dict(json.loads((tmp_path / "bad.json").read_text()))
    assert main(["predict", "--model", str(tmp_path / "bad.json")]) == 2


def test_unwritable_output_fails_before_training(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["train", *TINY, "--solver", "sa-weights", "--report", str(blocker / "r.json")]) == 2
    assert "cannot write" in capsys.readouterr().err


def test_baseline_table(tmp_path, capsys):
    f = tmp_path / "b.json"
    assert main(["baseline", *TINY, "--ste-epochs", "20", "--methods", "logreg,ste,sa-weights,random-search,penalty",
                 "--report", str(f)]) == 0
    rep = json.loads(f.read_text())
    ms = rep["methods"]
    assert set(ms) == {"logreg", "ste", "sa-weights", "random-search", "penalty"}
    for m in ("ste", "sa-weights", "random-search"):
        assert ms[m]["metrics"]["feasible"]
    assert ms["random-search"]["info"]["candidates"] == rep["candidate_budget"]
    out = capsys.readouterr().out
    assert "sa-weights" in out and "test acc" in out


def test_train_fashion_default_pair(tmp_path, fashion):
    f = tmp_path / "r.json"
    assert main(["train", "--classes", "0,1", "--n-train", "16", "--sa-weights-sweeps", "3", "--sa-weights-reads",
                 "2", "--solver", "sa-weights", "--no-progress", "--report", str(f)]) == 0
    rep = json.loads(f.read_text())
    assert rep["n_test"] == 2000 and rep["avg_bits_per_weight"] == pytest.approx(1.02)
