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
        from .pyomo_model import build_pyomo
        t0 = time.perf_counter()
        m = build_pyomo(self.net, self.form)
        self.timings["pyomo_build_s"] = time.perf_counter() - t0
        return m


def build_problem(X, y, spec: NetworkSpec, form: str = "interval") -> FIPProblem:
    t0 = time.perf_counter()
    net = FIPNetwork(spec, X, y)
    t1 = time.perf_counter()
    layout = Layout(net, form)
    q = assemble(net, form, layout)
    t2 = time.perf_counter()
    return FIPProblem(spec=spec, net=net, form=form, qcbo=q, layout=layout,
                      timings={"fip_s": t1 - t0, "assemble_s": t2 - t1, "build_time_s": t2 - t0})
