"""The one table of activations and losses: value, derivative, curvature and Lipschitz constant.

Every part of the package that evaluates or differentiates an activation or a loss reads it here:
the FIP splines and their error bounds, the exact forward/backward pass, the Ising descent's
Gauss-Newton model, straight-through QAT and the theory's bounds.

Conventions
-----------
* Activations act elementwise on real pre-activations ``z``; ``sign(0) = -1`` (so the integer
  interval ``[.., 0] | [1, ..]`` has no straddling error).
* Losses are ``l(z, y)`` with labels ``y in {-1, +1}``; ``d1 = dl/dz`` and ``d2`` is a *nonnegative*
  curvature (the Gauss-Newton weight: the true second derivative where it is >= 0, 0 elsewhere).
* ``Activation.grad`` is the derivative used by gradient-based routes: the true derivative, except
  for ``sign`` (zero almost everywhere), which uses the straight-through surrogate ``1{|z| <= 1}``
  (``Activation.surrogate``); ``Activation.derivative`` is always the true one.
* User callables are accepted wherever a name is: their derivatives are central finite
  differences and their Lipschitz constants are estimated (``lipschitz is None``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np
from scipy.special import erf, expit

from .errors import SpecError

_FD = 1e-6


def _sign(z):
    return np.where(z > 0, 1.0, -1.0)


def _gelu(z):
    return 0.5 * z * (1.0 + erf(z / np.sqrt(2.0)))


def _dgelu(z):
    return 0.5 * (1.0 + erf(z / np.sqrt(2.0))) + z * np.exp(-0.5 * z * z) / np.sqrt(2.0 * np.pi)


def _silu(z):
    return z * expit(z)


def _dsilu(z):
    s = expit(z)
    return s * (1.0 + z * (1.0 - s))


def _dsigmoid(z):
    s = expit(z)
    return s * (1.0 - s)


def _box(z):
    return (np.abs(z) <= 1.0).astype(float)


@dataclass(frozen=True)
class Activation:
    """One activation: ``value(z)``, its ``derivative(z)`` and a global Lipschitz constant.

    ``lipschitz`` is ``inf`` for discontinuous functions and ``None`` for user callables (then
    estimated where a bound needs it).  ``surrogate`` is the straight-through derivative of a function
    whose true derivative carries no signal (``sign``)."""

    name: str
    value: Callable[[np.ndarray], np.ndarray]
    derivative: Callable[[np.ndarray], np.ndarray]
    lipschitz: Optional[float]
    surrogate: Optional[Callable[[np.ndarray], np.ndarray]] = None

    def grad(self, z) -> np.ndarray:
        """Derivative for gradient and Gauss-Newton steps (the surrogate where one is defined)."""
        return (self.surrogate or self.derivative)(z)


@dataclass(frozen=True)
class Loss:
    """One loss ``value(z, y)``, ``d1 = dl/dz``, nonnegative curvature ``d2`` and ``lipschitz(R)``,
    the Lipschitz constant in z on ``|z| <= R`` (None: estimate it)."""

    name: str
    value: Callable[[np.ndarray, np.ndarray], np.ndarray]
    d1: Callable[[np.ndarray, np.ndarray], np.ndarray]
    d2: Callable[[np.ndarray, np.ndarray], np.ndarray]
    lipschitz: Optional[Callable[[float], float]]


ACTIVATIONS = {
    a.name: a for a in (
        Activation("tanh", np.tanh, lambda z: 1.0 - np.tanh(z) ** 2, 1.0),
        Activation("sigmoid", expit, _dsigmoid, 0.25),
        Activation("relu", lambda z: np.maximum(z, 0.0), lambda z: (z > 0).astype(float), 1.0),
        Activation("hardtanh", lambda z: np.clip(z, -1.0, 1.0), _box, 1.0),
        Activation("sign", _sign, lambda z: np.zeros_like(np.asarray(z, float)), np.inf, surrogate=_box),
        Activation("gelu", _gelu, _dgelu, 1.13),       # max of Phi(z) + z phi(z) is 1.1289
        Activation("silu", _silu, _dsilu, 1.1),        # max of d/dz z sigmoid(z) is 1.0998
        Activation("identity", lambda z: np.asarray(z, dtype=float), lambda z: np.ones_like(np.asarray(z, float)),
                   1.0),
    )
}


def _logistic(z, y):
    return np.logaddexp(0.0, -y * z)


def _logistic_d1(z, y):
    return -y * expit(-y * z)


def _logistic_d2(z, y):
    p = expit(-y * z)
    return p * (1.0 - p)


LOSSES = {
    l.name: l for l in (
        Loss("logistic", _logistic, _logistic_d1, _logistic_d2, lambda R: 1.0),
        Loss("squared_hinge", lambda z, y: np.maximum(0.0, 1.0 - y * z) ** 2,
             lambda z, y: -2.0 * y * np.maximum(0.0, 1.0 - y * z),
             lambda z, y: 2.0 * (1.0 - y * z > 0), lambda R: 2.0 * (1.0 + R)),
        Loss("mse", lambda z, y: (z - y) ** 2, lambda z, y: 2.0 * (z - y),
             lambda z, y: np.full(np.broadcast(z, y).shape, 2.0), lambda R: 2.0 * (1.0 + R)),
    )
}

ACTIVATION_NAMES = tuple(ACTIVATIONS)
LOSS_NAMES = tuple(LOSSES)


def activation(act) -> Activation:
    """The :class:`Activation` of a name or of a user callable (finite-difference derivative)."""
    if isinstance(act, Activation):
        return act
    if isinstance(act, str):
        try:
            return ACTIVATIONS[act]
        except KeyError:
            raise SpecError(f"unknown activation {act!r}; use one of {ACTIVATION_NAMES} or a callable") from None
    if not callable(act):
        raise SpecError(f"activation must be a name or a callable, got {act!r}")
    return Activation(getattr(act, "__name__", "callable"), act,
                      lambda z: (act(z + _FD) - act(z - _FD)) / (2 * _FD), None)


def loss(fn) -> Loss:
    """The :class:`Loss` of a name or of a user callable ``l(z, y)`` (finite differences)."""
    if isinstance(fn, Loss):
        return fn
    if isinstance(fn, str):
        try:
            return LOSSES[fn]
        except KeyError:
            raise SpecError(f"unknown loss {fn!r}; use one of {LOSS_NAMES} or a callable l(z, y)") from None
    if not callable(fn):
        raise SpecError(f"loss must be a name or a callable l(z, y), got {fn!r}")
    e = 1e-4

    def d1(z, y):
        return (fn(z + e, y) - fn(z - e, y)) / (2 * e)

    def d2(z, y):
        return np.maximum((fn(z + e, y) - 2 * fn(z, y) + fn(z - e, y)) / e ** 2, 0.0)

    return Loss(getattr(fn, "__name__", "callable"), fn, d1, d2, None)


def activation_fn(act):
    """(callable, Lipschitz constant or None) of an activation name or callable."""
    a = activation(act)
    return a.value, a.lipschitz


def loss_fn(fn):
    """The callable ``l(z, y)`` of a loss name or callable."""
    return loss(fn).value


def activation_lipschitz(act) -> tuple[float, bool]:
    """(Lip(sigma), sound): built-in constants are exact upper bounds; callables get an estimate."""
    a = activation(act)
    if a.lipschitz is not None:
        return float(a.lipschitz), True
    z = np.linspace(-20.0, 20.0, 200001)
    v = np.asarray(a.value(z), dtype=float)
    return float(np.max(np.abs(np.diff(v)) / np.diff(z))), False


def loss_lipschitz(fn, z_abs_max: float) -> tuple[float, bool]:
    """(Lip of z -> l(z, y) on |z| <= z_abs_max for y in {-1, +1}, sound)."""
    lo = loss(fn)
    R = float(z_abs_max)
    if lo.lipschitz is not None:
        return float(lo.lipschitz(R)), True
    z = np.linspace(-R, R, 20001) if R > 0 else np.zeros(2)
    lip = 0.0
    for y in (-1.0, 1.0):
        v = np.asarray(lo.value(z, np.full_like(z, y)), dtype=float)
        dz = np.diff(z)
        if np.any(dz > 0):
            lip = max(lip, float(np.max(np.abs(np.diff(v))[dz > 0] / dz[dz > 0])))
    return lip, False
