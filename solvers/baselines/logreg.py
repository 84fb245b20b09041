"""Full-precision logistic regression: the linear reference every quantized result is read against."""
from __future__ import annotations

import time

import numpy as np

__all__ = ["logistic_regression"]


def logistic_regression(X, y, X_test=None, y_test=None, C: float = 1.0, seed: int = 0,
                        max_iter: int = 2000) -> dict:
    """Full-precision logistic regression (scikit-learn if installed, else numpy gradient descent).

    y in {-1,+1} (N,) or one-vs-rest (N, C) in {-1,+1}; accuracy by sign / argmax like the QNN.
    Returns {"method", "metrics": {"train_accuracy", "test_accuracy"}, "wall_time_s", "seed", "info"}.
    """
    t0 = time.perf_counter()
    X = np.asarray(X, float)
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    lab = np.argmax(y, axis=1) if y.ndim == 2 else y
    try:
        from sklearn.linear_model import LogisticRegression
        clf = LogisticRegression(C=C, max_iter=max_iter, random_state=seed).fit(X, lab)
        predict, backend = clf.predict, "sklearn"
    except ImportError:
        W, predict = _numpy_logreg(X, lab, C, max_iter)
        backend = "numpy"

    def acc(Xe, ye):
        ye = np.asarray(ye)
        if ye.ndim == 2 and ye.shape[1] == 1:
            ye = ye[:, 0]
        ye = np.argmax(ye, axis=1) if ye.ndim == 2 else ye
        return float(np.mean(predict(np.asarray(Xe, float)) == ye))

    metrics = {"train_accuracy": acc(X, y)}
    if X_test is not None:
        metrics["test_accuracy"] = acc(X_test, y_test)
    return {"method": "logreg", "metrics": metrics, "wall_time_s": time.perf_counter() - t0, "seed": seed,
            "info": {"backend": backend, "C": C, "max_iter": max_iter, "bits_per_weight": 64}}


def _numpy_logreg(X, lab, C, iters):
    classes = np.unique(lab)
    Xb = np.concatenate([X, np.ones((len(X), 1))], axis=1)
    T = (lab[:, None] == classes[None]).astype(float)
    if len(classes) == 2:
        T = T[:, 1:]
    W = np.zeros((Xb.shape[1], T.shape[1]))
    lr = 1.0 / (0.25 * np.linalg.norm(Xb, 2) ** 2 / len(X) + 1.0 / (C * len(X)))
    for _ in range(iters):
        P = 1.0 / (1.0 + np.exp(-Xb @ W))
        W -= lr * (Xb.T @ (P - T) / len(X) + W / (C * len(X)))

    def predict(Xe):
        s = np.concatenate([Xe, np.ones((len(Xe), 1))], axis=1) @ W
        return classes[(s[:, 0] > 0).astype(int)] if len(classes) == 2 else classes[np.argmax(s, axis=1)]
    return W, predict
