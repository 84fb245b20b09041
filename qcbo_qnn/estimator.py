"""``QNNClassifier``: a quantized neural network trained as a QCBO, with scikit-learn conventions.

    >>> from qcbo_qnn import QNNClassifier, load_dataset                    # doctest: +SKIP
    >>> ds = load_dataset("fashion-mnist", classes=(0, 1), n_train=32)      # doctest: +SKIP
    >>> clf = QNNClassifier().fit(ds.X_train, ds.y_train)                   # doctest: +SKIP
    >>> clf.score(ds.X_test, ds.y_test)                                     # doctest: +SKIP

``fit`` builds the FIP-QCBO of the network (``problem_``), solves it with ``solver``
(``solvers.solve``; the result is ``result_``) and decodes the point into ``network_`` (a
``qcbo_model.network.QuantizedNetwork``).  Two classes train one output (``classes_[1]`` is +1);
more classes train one output per class (one-vs-rest) and predict the argmax.  The defaults are the
README's main job: 4 hidden tanh neurons with binary weights, a 2-bit output layer (1.02 bits per
weight on 49 inputs), K = (4, 8) sub-intervals, the Ising descent with its default configuration.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted as _sk_check_is_fitted, validate_data

from qcbo_model.errors import InputDataError, QCBOError
from qcbo_model.network import ModelFileError, QuantizedNetwork
from qcbo_model.problem import build_problem
from qcbo_model.spec import NetworkSpec

from .io import write_json

__all__ = ["QNNClassifier"]

ESTIMATOR_KEY = "estimator"


class QNNClassifier(ClassifierMixin, BaseEstimator):
    """Quantized neural network classifier trained by solving its FIP-QCBO.

    Parameters
    ----------
    hidden : tuple of int, default (4,)
        Hidden widths; () for no hidden layer.
    activation : str, default "tanh"
        Hidden activation (``qcbo_model.functions.ACTIVATION_NAMES``).
    loss : str, default "logistic"
    bits : tuple or None, default None
        Bits per layer: 1 binary, B >= 2 a B-bit odd grid, 't' ternary; None: binary hidden layers and
        a 2-bit output layer.
    intervals : tuple or None, default None
        FIP sub-intervals K per layer (output last); None: 4 per hidden layer, 8 for the output.
    breakpoints : {"uniform", "quantile"}, default "uniform"
    form : {"interval", "exact"}, default "interval"
        QCBO form; "exact" needs ``input_bits``.
    input_bits : int or None, default None
        Quantize inputs in [0, 1] to 2^B - 1 levels (puts the model on an integer grid).
    bias : bool, default True
    solver : str, default "ising-descent"
        A method of ``solvers.solve`` (``solvers.available_methods()``).
    solver_options : dict or None, default None
        Options of the solver's config (``solvers.method_config(solver)`` lists them and their defaults).
    oracle : str or None, default None
        Ising oracle of solvers that use one (None: the solver's default, ``sa`` for the descent).
    certify : float or None, default 0.5
        After solving, run the decomposed lower bound (``solvers.exact.decomposed``) for this fraction
        of the solve's wall time (at least 1 s): ``report_`` then carries a certified ``lower_bound``
        and the ``gap`` of the returned point.  Exact solvers keep their own bound.  None: no bound.
    random_state : int or None, default 0
        Seed of the FIP constants and the solver; None draws a fresh seed (stored in ``seed_``). The
        same seed, data and parameters give the same network.
    progress : bool, default False
        Progress bar during ``fit``.

    Attributes
    ----------
    classes_ : numpy.ndarray
        The labels seen in ``fit``, sorted; with two classes ``classes_[0]`` is trained as -1 and
        ``classes_[1]`` as +1, and ``predict`` returns these original labels.
    n_features_in_ : int
        Features seen in ``fit``.
    problem_ : FIPProblem
        The built problem: ``problem_.qcbo`` is the canonical QCBO (minimized),
        ``problem_.pyomo_model()`` the explicit Pyomo model.
    result_ : SolveResult
        What the solver returned.
    network_ : QuantizedNetwork
        The decoded network that ``predict`` uses (exact activations).
    seed_ : int
        The seed actually used.
    report_ : dict
        The training report (the JSON the CLI writes, without test metrics; see ``report``).
    """

    def __init__(self, hidden=(4,), activation="tanh", loss="logistic", bits=None, intervals=None,
                 breakpoints="uniform", form="interval", input_bits=None, bias=True, solver="ising-descent",
                 solver_options=None, oracle=None, certify=0.5, random_state=0, progress=False):
        self.hidden = hidden
        self.activation = activation
        self.loss = loss
        self.bits = bits
        self.intervals = intervals
        self.breakpoints = breakpoints
        self.form = form
        self.input_bits = input_bits
        self.bias = bias
        self.solver = solver
        self.solver_options = solver_options
        self.oracle = oracle
        self.certify = certify
        self.random_state = random_state
        self.progress = progress

    # ------------------------------------------------------------------------------------------
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.classifier_tags.multi_class = True
        tags.non_deterministic = self.random_state is None
        return tags

    def _seed(self) -> int:
        if self.random_state is None:
            return int(np.random.default_rng().integers(0, 2 ** 31 - 1))
        rs = self.random_state
        if isinstance(rs, (bool, np.bool_)) or not isinstance(rs, (int, np.integer)) or rs < 0:
            raise InputDataError(f"random_state must be an integer >= 0 or None, got {rs!r}")
        return int(rs)

    def _targets(self, y) -> np.ndarray:
        """Labels -> {-1, +1} targets: one column for two classes, one per class (one-vs-rest) else."""
        if len(self.classes_) == 2:
            return np.where(y == self.classes_[1], 1, -1)
        idx = np.searchsorted(self.classes_, y)
        T = -np.ones((len(y), len(self.classes_)), dtype=np.int64)
        T[np.arange(len(y)), idx] = 1
        return T

    def spec_for(self, n_features: int, n_classes: int, seed: int = 0) -> NetworkSpec:
        """The NetworkSpec ``fit`` builds for this many features and classes."""
        hidden = () if self.hidden is None else self.hidden
        return NetworkSpec(input_dim=n_features, hidden=hidden, output_dim=1 if n_classes <= 2 else n_classes,
                           activation=self.activation, loss=self.loss, bits=self.bits, intervals=self.intervals,
                           breakpoints=self.breakpoints, input_bits=self.input_bits, bias=self.bias, seed=seed)

    def _solver_config(self, seed: int):
        from collections.abc import Mapping

        from solvers import method_config
        if self.solver_options is not None and not isinstance(self.solver_options, Mapping):
            raise InputDataError(f"solver_options must be a mapping of option names to values or None, got "
                                 f"{self.solver_options!r}")
        if not isinstance(self.progress, (bool, np.bool_)):
            raise InputDataError(f"progress must be True or False, got {self.progress!r}")
        opts = dict(self.solver_options or {})
        fields = {n for n, _, _ in method_config(self.solver).options()}
        if "seed" in fields:
            opts.setdefault("seed", seed)
        if self.oracle is not None:
            if "oracle" not in fields:
                raise QCBOError(f"solver {self.solver!r} has no Ising oracle; leave oracle=None")
            opts["oracle"] = self.oracle
        return method_config(self.solver, opts)

    def fit(self, X, y):
        """Build the FIP-QCBO on (X, y), solve it, decode the weights.  Returns self."""
        t0 = time.perf_counter()
        X, y = _typed(validate_data, self, X, y, dtype=np.float64)
        _typed(check_classification_targets, y)
        self.classes_ = np.unique(y)
        if len(self.classes_) < 2:
            raise InputDataError(f"QNNClassifier needs samples of at least 2 classes; got 1 class "
                                 f"({self.classes_[0]!r}) in y")
        self.seed_ = self._seed()
        cfg = self._solver_config(self.seed_)
        spec = self.spec_for(X.shape[1], len(self.classes_), self.seed_)
        self.problem_ = build_problem(X, self._targets(y), spec, self.form)
        t_build = time.perf_counter() - t0
        from solvers import solve
        self.result_ = solve(self.problem_, self.solver, cfg, progress=self.progress)
        if self.result_.x is None:
            raise QCBOError(f"solver {self.solver!r} returned no point (termination {self.result_.termination})")
        self.network_ = QuantizedNetwork.from_problem(self.problem_, self.result_.x)
        self.certificate_ = self._certify()
        self.report_ = self._train_report(t_build, time.perf_counter() - t0)
        return self

    # ------------------------------------------------------------------------------------------
    def decision_function(self, X) -> np.ndarray:
        """Output pre-activations: (N,) for two classes (> 0 means ``classes_[1]``), (N, C) otherwise."""
        check_is_fitted(self, "network_")
        X = _typed(validate_data, self, X, reset=False, dtype=np.float64)
        z = self.network_.decision_function(X)
        return z[:, 0] if z.shape[1] == 1 else z

    def predict(self, X) -> np.ndarray:
        z = self.decision_function(X)
        if z.ndim == 1:
            return self.classes_[(z > 0).astype(int)]
        return self.classes_[np.argmax(z, axis=1)]

    # ------------------------------------------------------------------------------------------
    def _certify(self) -> dict:
        from solvers.exact.decomposed import certify
        c = self.certify
        if c is not None and (isinstance(c, (bool, np.bool_)) or not isinstance(c, (int, float, np.number))
                              or not c > 0):
            raise InputDataError(f"certify must be a positive fraction of the solve time or None, got {c!r}")
        return certify(self.problem_, self.result_, None if c is None else float(c), seed=self.seed_)

    def _train_report(self, t_build: float, t_total: float) -> dict:
        prob, res = self.problem_, self.result_
        spec = prob.spec
        return {"n_train": int(prob.net.N), "labels": self.classes_.tolist(), "solver": res.method,
                "termination": str(res.termination), "solution_status": str(res.solution_status),
                "objective": res.objective, "feasible": res.feasible,
                "lower_bound": self.certificate_["lower_bound"],
                "lower_bound_certified": self.certificate_["lower_bound_certified"],
                "gap": self.certificate_["gap"], "bound_time_s": self.certificate_["bound_time_s"],
                "bound": {k: v for k, v in self.certificate_.items() if k not in ("lower_bound", "gap")},
                "oracle": res.oracle, "oracle_calls": res.oracle_calls, "oracle_time_s": res.oracle_time_s,
                "train_accuracy": float(self.network_.accuracy(prob.net.X, prob.net.Y)),
                "train_accuracy_fip": float(self.network_.accuracy(prob.net.X, prob.net.Y, exact=False)),
                "avg_bits_per_weight": spec.avg_bits_per_weight, "avg_bits_per_parameter": spec.avg_bits_per_parameter,
                "n_variables": prob.qcbo.n, "n_weight_bits": prob.n_weight_bits, "n_constraints": prob.qcbo.m,
                "form": prob.form, "seed": self.seed_, "spec": spec.to_dict(),
                "spline_error_bounds": prob.net.spline_error_report(),
                "build_time_s": t_build, "solve_time_s": res.wall_time_s, "fit_time_s": t_total,
                "solver_config": res.config.to_dict(), "solver_info": res.info, "trace": res.trace,
                "weights": prob.decode(res.x).to_dict()}

    def report(self, X_test=None, y_test=None) -> dict:
        """The training report plus test metrics when (X_test, y_test) are given (exact and FIP)."""
        check_is_fitted(self, "network_")
        rep = dict(self.report_)
        if X_test is not None:
            X_test = _typed(validate_data, self, X_test, reset=False, dtype=np.float64)
            y_test = np.asarray(y_test)
            rep["n_test"] = int(len(X_test))
            rep["test_accuracy"] = float(np.mean(self.predict(X_test) == y_test))
            z = self.network_.decision_function(X_test, exact=False)
            pred = self.classes_[(z[:, 0] > 0).astype(int)] if z.shape[1] == 1 else self.classes_[np.argmax(z, 1)]
            rep["test_accuracy_fip"] = float(np.mean(pred == y_test))
        return rep

    # ------------------------------------------------------------------------------------------
    def to_dict(self, meta: dict | None = None) -> dict:
        """The saved-model dict: the network (``qcbo-qnn-model/1``) plus the estimator's parameters."""
        check_is_fitted(self, "network_")
        d = self.network_.to_dict()
        params = {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.get_params().items()}
        d[ESTIMATOR_KEY] = {"params": params, "classes": self.classes_.tolist(), "n_features_in": self.n_features_in_,
                            "seed": self.seed_}
        d.update(meta or {})
        return d

    def save(self, path, meta: dict | None = None) -> None:
        """Write the fitted model as JSON (atomically); ``QNNClassifier.load`` or ``qcbo-qnn predict`` reads it."""
        write_json(path, self.to_dict(meta))

    @classmethod
    def from_dict(cls, d: dict) -> "QNNClassifier":
        net = QuantizedNetwork.from_dict(d)
        est = d.get(ESTIMATOR_KEY)
        if not isinstance(est, dict) or "params" not in est or "classes" not in est:
            raise ModelFileError("the model has no estimator section (it was not written by QNNClassifier.save "
                                 "or qcbo-qnn train); load it with qcbo_model.network.QuantizedNetwork.from_dict")
        if not isinstance(est["params"], dict) or not isinstance(est["classes"], list) or len(est["classes"]) < 2:
            raise ModelFileError("the model's estimator section is malformed: params must be an object and "
                                 "classes a list of 2 or more labels")
        params = dict(est["params"])
        for k in ("hidden", "bits", "intervals"):
            if isinstance(params.get(k), list):
                params[k] = tuple(params[k])
        try:
            self = cls(**params)
        except TypeError as e:
            raise ModelFileError(f"estimator parameters in the model are not QNNClassifier's: {e}") from None
        self.classes_ = np.asarray(est["classes"])
        nf = est.get("n_features_in", net.spec.input_dim)
        if isinstance(nf, bool) or not isinstance(nf, int):
            raise ModelFileError(f"the model's n_features_in must be an integer, got {nf!r}")
        self.n_features_in_ = nf
        if self.n_features_in_ != net.spec.input_dim:
            raise ModelFileError(f"n_features_in {self.n_features_in_} differs from the network's input_dim "
                                 f"{net.spec.input_dim}")
        n_out = 1 if len(self.classes_) == 2 else len(self.classes_)
        if n_out != net.spec.output_dim:
            raise ModelFileError(f"{len(self.classes_)} classes need {n_out} outputs, the network has "
                                 f"{net.spec.output_dim}")
        self.seed_ = est.get("seed")
        self.network_ = net
        return self

    @classmethod
    def load(cls, path) -> "QNNClassifier":
        """A fitted classifier from a file written by ``save`` (or by ``qcbo-qnn train --model``)."""
        p = Path(path)
        if p.is_dir():
            raise ModelFileError(f"model file {str(p)!r} is a folder; pass the JSON file QNNClassifier.save wrote")
        if not p.is_file():
            raise ModelFileError(f"model file {str(p)!r} does not exist; write one with QNNClassifier.save "
                                 "or `qcbo-qnn train --model FILE`")
        try:
            d = json.loads(p.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise ModelFileError(f"model file {str(p)!r} is not valid JSON: {e}") from None
        except RecursionError:
            raise ModelFileError(f"model file {str(p)!r} is nested too deeply to be a qcbo-qnn model") from None
        return cls.from_dict(d)


class NotFittedModelError(QCBOError, NotFittedError):
    """The classifier is used before ``fit`` (a scikit-learn NotFittedError and a QCBOError)."""


def check_is_fitted(est, attributes) -> None:
    try:
        _sk_check_is_fitted(est, attributes)
    except NotFittedError as e:
        raise NotFittedModelError(str(e)) from None


def _typed(fn, *a, **kw):
    """scikit-learn's input validation with its ValueErrors typed as InputDataError (still ValueErrors,
    so scikit-learn's own estimator checks see what they expect)."""
    try:
        return fn(*a, **kw)
    except QCBOError:
        raise
    except ValueError as e:
        raise InputDataError(str(e)) from e
