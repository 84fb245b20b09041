"""Plots of a training run: the solver trace, the first-layer weights as images, the test confusion matrix."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .io import atomic_path

__all__ = ["write_plots"]


def _confusion(y_true, y_pred, labels) -> np.ndarray:
    idx = {v: i for i, v in enumerate(labels)}
    M = np.zeros((len(labels), len(labels)), dtype=int)
    np.add.at(M, (np.vectorize(idx.get)(y_true), np.vectorize(idx.get)(y_pred)), 1)
    return M


def _labels_of(y):
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] > 1:
        return np.argmax(y, axis=1)
    return y.reshape(len(y))


def write_plots(folder, trace, first_layer_codes, ds, y_pred, trace_label="objective") -> list:
    """trace.png (solver trace), weights_layer1.png (first-layer codes as images), confusion.png."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    if trace:
        fig, ax = plt.subplots(figsize=(5, 3.2))
        ax.plot(np.arange(1, len(trace) + 1), trace)
        ax.set_xlabel("iteration")
        ax.set_ylabel(trace_label)
        ax.set_title("solver trace")
        fig.tight_layout()
        atomic_path(folder / "trace.png", lambda tmp: fig.savefig(tmp, dpi=120, format="png"))
        plt.close(fig)
        files.append(str(folder / "trace.png"))
    qw = first_layer_codes
    if qw is not None and int(np.prod(ds.feature_shape)) == qw.shape[1]:
        d1 = qw.shape[0]
        fig, axes = plt.subplots(1, d1, figsize=(1.6 * d1, 1.9), squeeze=False)
        vmax = np.abs(qw).max() or 1.0
        for j in range(d1):
            a = axes[0, j]
            a.imshow(qw[j].reshape(ds.feature_shape), cmap="bwr", vmin=-vmax, vmax=vmax)
            a.set_title(f"neuron {j}", fontsize=8)
            a.axis("off")
        fig.suptitle("first-layer weights", fontsize=9)
        fig.tight_layout()
        atomic_path(folder / "weights_layer1.png", lambda tmp: fig.savefig(tmp, dpi=120, format="png"))
        plt.close(fig)
        files.append(str(folder / "weights_layer1.png"))
    y_true = _labels_of(ds.y_test)
    labels = sorted(set(np.unique(y_true)) | set(np.unique(y_pred)))
    M = _confusion(y_true, y_pred, labels)
    names = list(ds.label_names) if len(ds.label_names) == len(labels) else [str(v) for v in labels]
    fig, ax = plt.subplots(figsize=(1.2 + 0.7 * len(labels), 1.0 + 0.7 * len(labels)))
    ax.imshow(M, cmap="Blues")
    for i in range(M.shape[0]):
        for j in range(M.shape[1]):
            ax.text(j, i, str(M[i, j]), ha="center", va="center", fontsize=8)
    ax.set_xticks(range(len(labels)), names, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(len(labels)), names, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title("test confusion matrix", fontsize=9)
    fig.tight_layout()
    atomic_path(folder / "confusion.png", lambda tmp: fig.savefig(tmp, dpi=120, format="png"))
    plt.close(fig)
    files.append(str(folder / "confusion.png"))
    return files


def write_bounds_plot(folder, upper, lower, label: str = "QCBO objective") -> str:
    """bounds.png: the solver's best QCBO objective (upper bound) and the certified lower bound against
    time.  ``upper`` / ``lower``: [(seconds, value)], the lower bound's times counted after the solve."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(5, 3.2))
    if upper:
        t, v = zip(*upper)
        ax.step(t, v, where="post", marker="o", ms=3, label="upper: best feasible point")
    if lower:
        t, v = zip(*lower)
        ax.step(t, v, where="post", marker="o", ms=3, label="lower: certified bound")
    ax.set_xlabel("seconds")
    ax.set_ylabel(label)
    ax.set_title("bounds on the QCBO optimum", fontsize=9)
    ax.set_ylim(bottom=min(0.0, ax.get_ylim()[0]))
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = folder / "bounds.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return str(path)
