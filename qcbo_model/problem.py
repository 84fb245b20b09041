"""One call from data and spec to the model: ``build_problem``.

Data flows one way: spec -> FIP constants -> (Pyomo model) -> canonical QCBO -> solvers.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from .assemble import assemble
from .fip import FIPNetwork
from .forward import codes_from_bits, decode, exact_forward, forward_completion, predict_labels
from .layout import Layout
from .qcbo import QCBO
from .spec import NetworkSpec


@dataclass
class FIPProblem:
    """A built FIP-QCBO: the spec, its FIP constants, the canonical QCBO and the variable layout.

    Attributes
    ----------
    spec : NetworkSpec
    net : FIPNetwork
        The FIP constants (bounds, breakpoints, levels) and the training data in v-units.
    form : {"interval", "exact"}
    qcbo : QCBO
        The canonical sparse QCBO: binary variables, objective minimized; the weight bits are its first
        ``n_weight_bits`` variables.
    layout : Layout
        Where each family of variables lives in ``qcbo.var_names``.
    timings : dict
        Seconds spent in FIP and assembly.
    """
    spec: NetworkSpec
    net: FIPNetwork
    form: str
    qcbo: QCBO
    layout: Layout
    timings: dict = field(default_factory=dict)

    @property
    def n_weight_bits(self) -> int:
        return self.layout.n_weight_bits

    def complete(self, wbits) -> np.ndarray:
        """Weight bits (B, n_w) -> feasible full assignments (B, n) by forward completion."""
        return forward_completion(self.net, wbits, self.form, self.layout)

    def decode(self, x):
        return decode(self.net, x)

    def predict(self, x, X, exact: bool = True) -> np.ndarray:
        """Labels for inputs X under the weights of assignment x (exact or spline activations)."""
        codes = codes_from_bits(self.net, np.asarray(x)[..., :self.n_weight_bits].reshape(1, -1))
        if exact:
            z = exact_forward(self.net, codes, X)
        else:
            from .fip import quantize_inputs
            from .forward import fip_forward
            v, _ = quantize_inputs(self.spec, X)
            z = fip_forward(self.net, codes, v_in=v).z_out
        return predict_labels(z)[0]

    def accuracy(self, x, X, y, exact: bool = True) -> float:
        y = np.asarray(y)
        pred = self.predict(x, X, exact)
        if y.ndim == 2 and y.shape[1] > 1:
            y = np.argmax(y, axis=1)
        elif y.ndim == 2:
            y = y[:, 0]
        return float(np.mean(pred == y))

    def pyomo_model(self):
        from .memory import check_memory
        from .pyomo_model import build_pyomo
        q = self.qcbo
        check_memory(PYOMO_BYTES_PER_NNZ * (q.A.nnz + len(q.quad_vals) + q.n),
                     f"the explicit Pyomo model of {q.n} binaries and {q.m} constraints",
                     "use a smaller model (--hidden, --intervals, --n-train) or skip it (build --no-lp)")
        t0 = time.perf_counter()
        m = build_pyomo(self.net, self.form)
        self.timings["pyomo_build_s"] = time.perf_counter() - t0
        return m


# bytes per estimated constraint nonzero while assembling (measured peak 75-215 B on 24 shapes,
# both forms; COO arrays, their sorted copies and the FIP constants)
BUILD_BYTES_PER_NNZ = 250
PYOMO_BYTES_PER_NNZ = 1500     # the explicit Pyomo model (and its linearization for HiGHS)


def estimate_nonzeros(spec: NetworkSpec, N: int) -> int:
    """Constraint nonzeros of the FIP-QCBO of ``spec`` on ``N`` samples (an upper-side estimate):
    per sample and neuron of layer l, the two interval rows hold ``fan_in * B`` weight terms (times
    ``K_{l-1}`` products with the previous layer's indicators for l >= 2) and the K indicators, the
    one-hot row K more."""
    tot = 0
    for l in range(1, spec.n_layers + 1):
        fan, B, K = spec.fan_in(l), spec.codes[l - 1].n_bits, spec.intervals[l - 1]
        T = fan * B * (spec.intervals[l - 2] if l >= 2 else 1)
        tot += int(N) * spec.widths[l] * (2 * (T + K) + K)
    return tot


def estimate_build_bytes(spec: NetworkSpec, N: int, form: str = "interval") -> int:
    """Peak bytes of ``build_problem`` (FIP constants and the assembled canonical QCBO)."""
    factor = BUILD_BYTES_PER_NNZ * (1.2 if form == "exact" else 1.0)
    return int(factor * estimate_nonzeros(spec, N))


def check_build_memory(spec: NetworkSpec, N: int, form: str = "interval", pyomo: bool = False) -> None:
    """Refuse (MemoryLimitError) a model whose build would not fit the memory budget."""
    from .memory import check_memory
    nbytes = estimate_build_bytes(spec, N, form) + (PYOMO_BYTES_PER_NNZ * estimate_nonzeros(spec, N) if pyomo else 0)
    widths = " -> ".join(map(str, spec.widths))
    check_memory(nbytes, f"the {form}-form FIP-QCBO of a {widths} network on {N} samples"
                 + (" with its Pyomo model" if pyomo else ""),
                 "reduce --hidden, --intervals, --bits or --n-train")


def build_problem(X, y, spec: NetworkSpec, form: str = "interval") -> FIPProblem:
    """The FIP-QCBO of ``spec`` on the training data, ready for ``solvers.solve``.

    Parameters
    ----------
    X : array of shape (N, d_0)
        Training inputs; in [0, 1] when ``spec.input_bits`` is set (they are quantized to the grid).
    y : array of shape (N,) or (N, d_L)
        Labels in {-1, +1} (one column per output).
    spec : NetworkSpec
        The network and its FIP/spline settings; its ``seed`` fixes the constants.
    form : {"interval", "exact"}, default "interval"
        The interval form (one-hot indicators and two-sided interval rows) or the exact form
        (equalities only, slack and aux bits; needs ``spec.input_bits``).

    Returns
    -------
    FIPProblem
        ``qcbo`` (the canonical ``QCBO``: binary variables, objective **minimized**, constant kept
        in ``qcbo.const``), ``net`` (the FIP constants), ``layout`` (where each variable lives),
        and the helpers ``complete``, ``decode``, ``predict``, ``accuracy``, ``pyomo_model``.

    Raises
    ------
    FormulationError
        An unknown form, or a model whose estimated size does not fit the memory budget
        (``check_build_memory``: refused before anything is built).
    """
    from .errors import FormulationError
    from .layout import FORMS
    if not isinstance(spec, NetworkSpec):
        raise FormulationError(f"spec must be a NetworkSpec, got {type(spec).__name__}")
    if not isinstance(form, str) or form not in FORMS:
        raise FormulationError(f"form must be one of {FORMS}, got {form!r}")
    t0 = time.perf_counter()
    n_rows = len(X) if hasattr(X, "__len__") else 0
    check_build_memory(spec, n_rows, form)
    net = FIPNetwork(spec, X, y)
    t1 = time.perf_counter()
    layout = Layout(net, form)
    q = assemble(net, form, layout)
    t2 = time.perf_counter()
    return FIPProblem(spec=spec, net=net, form=form, qcbo=q, layout=layout,
                      timings={"fip_s": t1 - t0, "assemble_s": t2 - t1, "build_time_s": t2 - t0})
