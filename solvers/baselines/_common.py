"""Shared pieces of the baselines: completion with a consistency check, and evaluation metrics."""
from __future__ import annotations

import numpy as np

from qcbo_model.errors import QCBOError
from qcbo_model.forward import codes_from_bits, exact_loss

from ..result import finish


class BaselineError(QCBOError):
    """A baseline cannot run as asked."""


def complete(prob, method, wbits, fip_loss, termination, **kw):
    """Forward-complete the best weight bits into a SolveResult, checking that the QCBO objective of the
    completed point equals the forward spline loss (the model and the forward pass must agree)."""
    x = prob.complete(np.asarray(wbits)[None])[0]
    obj = float(prob.qcbo.objective(x[None])[0])
    if not np.isclose(obj, fip_loss, rtol=1e-9, atol=1e-9):
        raise BaselineError(f"{method}: QCBO objective {obj!r} of the completed point differs from the "
                            f"forward spline loss {fip_loss!r}; the model and forward pass disagree")
    return finish(method, prob, x, termination, **kw)


def evaluate(prob, result, X_test=None, y_test=None) -> dict:
    """Accuracy metrics of a SolveResult's point: train/test accuracy with exact and spline (FIP)
    activations, and the exact training loss."""
    m = {}
    if result.x is None:
        return m
    x = result.x
    wb = x[:prob.n_weight_bits]
    m["train_accuracy"] = prob.accuracy(x, prob.net.X, prob.net.Y)
    m["train_accuracy_fip"] = prob.accuracy(x, prob.net.X, prob.net.Y, exact=False)
    m["train_exact_loss"] = float(exact_loss(prob.net, codes_from_bits(prob.net, wb[None]))[0])
    if X_test is not None:
        m["test_accuracy"] = prob.accuracy(x, X_test, y_test)
        m["test_accuracy_fip"] = prob.accuracy(x, X_test, y_test, exact=False)
    m["feasible"] = result.feasible
    return m
