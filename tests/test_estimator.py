"""QNNClassifier: scikit-learn's own estimator checks, the save/load round trip, and the public API."""
import json

import numpy as np
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from qcbo_qnn import QNNClassifier

# A small fast configuration for the ~55 checks.  2-bit hidden weights: with binary hidden weights a
# 2-feature problem (sklearn's blobs) can only use the directions +-x1 +-x2, and seed 0 of the binary
# check stops at exactly the 0.83 training accuracy the check requires to be exceeded.
FAST = dict(bits=(2, 2), certify=None,
            solver_options={"iterations": 30, "reads": 6, "oracle_options": {"num_sweeps": 100}})

# Checks that cannot apply here skip themselves with their reason (pytest -ra lists them):
#   check_array_api_input               -- needs SCIPY_ARRAY_API=1; the QCBO is built with numpy/scipy.sparse
#   check_classifier_data_not_an_array  -- needs pandas, which is not a dependency (runs where it is installed)
# No check is expected to fail.


@parametrize_with_checks([QNNClassifier(**FAST)])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def fashion32():
    from qcbo_model.data import DataError, load_dataset
    try:
        return load_dataset("fashion-mnist", classes=(0, 1), n_train=32, n_test=300, download=False)
    except DataError as e:  # pragma: no cover - only without the datasets
        pytest.skip(f"Fashion-MNIST not available ({e}); install dataset-fashion-mnist or put the IDX files in "
                    "shared/datasets/fashion-mnist beside the repository")


def test_fit_score_save_load_identical(fashion32, tmp_path):
    ds = fashion32
    clf = QNNClassifier(solver_options={"iterations": 20}).fit(ds.X_train, ds.y_train)
    acc = clf.score(ds.X_test, ds.y_test)
    assert acc > 0.85
    clf.save(tmp_path / "m.json")
    back = QNNClassifier.load(tmp_path / "m.json")
    assert np.array_equal(back.predict(ds.X_test), clf.predict(ds.X_test))
    assert np.array_equal(back.decision_function(ds.X_test), clf.decision_function(ds.X_test))
    assert back.get_params() == clf.get_params()
    assert clf.problem_.qcbo.n == 978 and clf.result_.feasible
    rep = clf.report(ds.X_test, ds.y_test)
    assert rep["test_accuracy"] == acc and rep["termination"] in ("converged", "iteration_limit")
    assert rep["lower_bound_certified"] and rep["lower_bound"] <= rep["objective"]
    assert rep["gap"] == pytest.approx((rep["objective"] - rep["lower_bound"]) / rep["objective"])
    json.dumps(rep, default=str)


def test_defaults_are_the_main_job():
    from solvers import method_config
    clf = QNNClassifier()
    spec = clf.spec_for(49, 2)
    assert spec.hidden == (4,) and [c.label() for c in spec.codes] == ["1-bit", "2-bit"]
    assert spec.intervals == (4, 8) and abs(spec.avg_bits_per_weight - 1.02) < 1e-12
    assert clf.solver == "ising-descent"
    cfg = clf._solver_config(0)
    assert cfg == method_config("ising-descent")           # no hidden overrides


def test_labels_of_any_type_and_multiclass():
    rng = np.random.default_rng(0)
    X = rng.random((60, 4))
    y = np.array(["cat", "dog", "eel"])[np.argmax(X[:, :3], axis=1)]
    clf = QNNClassifier(hidden=(), solver_options={"iterations": 10}).fit(X, y)
    assert list(clf.classes_) == ["cat", "dog", "eel"] and clf.decision_function(X).shape == (60, 3)
    assert set(clf.predict(X)) <= set(clf.classes_) and clf.score(X, y) > 0.6


def test_bad_parameters_raise_typed_errors():
    from qcbo_model.errors import QCBOError
    X, y = np.random.default_rng(1).random((20, 3)), np.arange(20) % 2
    for bad in (dict(solver="nope"), dict(solver_options={"iterations": 0}), dict(hidden="42"),
                dict(random_state=-1), dict(solver="highs", oracle="sa"), dict(bits=(1.5,))):
        with pytest.raises(QCBOError):
            QNNClassifier(**bad).fit(X, y)


def test_readme_python_block_runs(fashion32, tmp_path, monkeypatch):
    """The README's Python quick start: fit on 32 images, score, save, reload, identical predictions."""
    import re
    from pathlib import Path
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    code = re.findall(r"```python\n(.*?)```", text, re.S)
    assert code, "the README has no python block"
    monkeypatch.chdir(tmp_path)
    (tmp_path / "out").mkdir()
    exec(compile(code[0], "README.md", "exec"), {"__name__": "readme"})
