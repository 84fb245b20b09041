"""The explicit Pyomo model: the verifiable reference form of the FIP-QCBO.

Written with plain loops straight from the algebra of docs/formulation.md, independently of the
vectorized assembler, so that the two can be checked against each other.

Variables (all Binary):  w[l,j,i,b], delta[l,n,j,k], and in the exact form slack[l,n,j,s,b] and
aux[l,n,j,i,k,b].  Constraint families: exclusion, onehot, interval_lower, interval_upper (interval
form) or member / member_lower / member_upper and rosenberg (exact form).

    >>> m = build_pyomo(net)                 # doctest: +SKIP
    >>> m.interval_upper[1, 3, 2].pprint()   # one constraint by its indices   # doctest: +SKIP
    >>> m.write("model.lp")                  # LP export                       # doctest: +SKIP
"""
from __future__ import annotations

import time

import numpy as np
import pyomo.environ as pyo

from .fip import FIPNetwork
from .layout import slack_coefs


def _nz(terms):
    """Sum of (coef, expr) pairs, skipping zero coefficients (keeps printed models readable)."""
    return sum(c * e for c, e in terms if c != 0)


def _con(rule):
    """Wrap a constraint rule: a trivially true row (no variable left, e.g. all-zero inputs) is
    skipped (Constraint.Skip), as the assembler drops it; a trivially false one is a modelling error."""
    def wrapped(m, *idx):
        expr = rule(m, *idx)
        if isinstance(expr, (bool, np.bool_)):
            if expr:
                return pyo.Constraint.Skip
            from .errors import FormulationError
            raise FormulationError(f"constraint {idx} is trivially infeasible")
        return expr
    return wrapped


def build_pyomo(net: FIPNetwork, form: str = "interval") -> pyo.ConcreteModel:
    if form not in ("interval", "exact"):
        raise ValueError(f"form must be 'interval' or 'exact', got {form!r}")
    if form == "exact" and not net.spec.on_grid:
        from .errors import FormulationError
        raise FormulationError("the exact form needs input_bits (pre-activations on an integer grid)")
    t0 = time.perf_counter()
    spec, N, layers = net.spec, net.N, net.layers
    m = pyo.ConcreteModel(name=f"FIP-QCBO ({form} form)")

    W_idx = [(ly.l, j, i, b) for ly in layers for j in range(ly.d_out) for i in range(ly.fan_in)
             for b in range(ly.code.n_bits)]
    D_idx = [(ly.l, n, j, k) for ly in layers for n in range(N) for j in range(ly.d_out) for k in range(ly.K)]
    m.w = pyo.Var(W_idx, domain=pyo.Binary, doc="weight bits")
    m.delta = pyo.Var(D_idx, domain=pyo.Binary, doc="one-hot sub-interval indicators")

    # slack layout: two-sided where interval widths differ
    sl_coefs, two_sided = {}, {}
    if form == "exact":
        S_idx, A_idx = [], []
        for ly in layers:
            widths = ly.hi - ly.lo + 1
            two_sided[ly.l] = bool(np.any(widths != widths.flat[0]))
            sl_coefs[ly.l] = slack_coefs(int(widths.max()))
            sides = 2 if two_sided[ly.l] else 1
            S_idx += [(ly.l, n, j, s, b) for n in range(N) for j in range(ly.d_out) for s in range(sides)
                      for b in range(len(sl_coefs[ly.l]))]
        for ly in layers[1:]:
            prev = layers[ly.l - 2]
            A_idx += [(ly.l, n, j, i, k, b) for n in range(N) for j in range(ly.d_out) for i in range(ly.d_in)
                      for k in range(prev.K) for b in range(ly.code.n_bits)]
        m.slack = pyo.Var(S_idx, domain=pyo.Binary, doc="binary-encoded membership slack")
        m.aux = pyo.Var(A_idx, domain=pyo.Binary, doc="aux = w * delta (Rosenberg)")

    def q(l, j, i):
        code = layers[l - 1].code
        return code.q0 + sum(float(a) * m.w[l, j, i, b] for b, a in enumerate(code.coefs))

    def u(l, n, j):
        ly = layers[l - 1]
        expr = 0
        if l == 1:
            for i in range(ly.d_in):
                x = float(net.v_in[n, i])
                if x != 0:
                    expr += x * q(l, j, i)
        else:
            prev = layers[l - 2]
            code = ly.code
            for i in range(ly.d_in):
                for k in range(prev.K):
                    V = float(prev.v_levels[i, k])
                    if V == 0:
                        continue
                    if form == "exact":
                        expr += V * (code.q0 * m.delta[l - 1, n, i, k]
                                     + sum(float(a) * m.aux[l, n, j, i, k, b] for b, a in enumerate(code.coefs)))
                    else:
                        expr += V * m.delta[l - 1, n, i, k] * q(l, j, i)
        if ly.has_bias:
            expr += float(ly.c) * q(l, j, ly.d_in)
        return expr

    ex_idx = [(ly.l, j, i) for ly in layers if ly.code.kind == "ternary"
              for j in range(ly.d_out) for i in range(ly.fan_in)]
    if ex_idx:
        m.exclusion = pyo.Constraint(ex_idx, rule=_con(lambda m, l, j, i: m.w[l, j, i, 0] * m.w[l, j, i, 1] == 0),
                                     doc="ternary code: not both plus and minus")
    NJ = [(ly.l, n, j) for ly in layers for n in range(N) for j in range(ly.d_out)]
    m.onehot = pyo.Constraint(NJ, rule=_con(lambda m, l, n, j: sum(m.delta[l, n, j, k] for k in range(layers[l - 1].K)) == 1))

    if form == "interval":
        def lower(m, l, n, j):
            t = layers[l - 1].t[j]
            return u(l, n, j) - _nz((float(t[k]), m.delta[l, n, j, k]) for k in range(len(t) - 1)) >= 0

        def upper(m, l, n, j):
            t = layers[l - 1].t[j]
            return u(l, n, j) - _nz((float(t[k + 1]), m.delta[l, n, j, k]) for k in range(len(t) - 1)) <= 0

        m.interval_lower = pyo.Constraint(NJ, rule=_con(lower), doc="sum_k delta_k t_k <= u")
        m.interval_upper = pyo.Constraint(NJ, rule=_con(upper), doc="u <= sum_k delta_k t_{k+1}")
    else:
        def slack(l, n, j, s):
            return _nz((float(c), m.slack[l, n, j, s, b]) for b, c in enumerate(sl_coefs[l]))

        def member_lo(m, l, n, j):
            ly = layers[l - 1]
            return (u(l, n, j) - _nz((float(ly.lo[j, k]), m.delta[l, n, j, k]) for k in range(ly.K))
                    - slack(l, n, j, 0) == 0)

        def member_hi(m, l, n, j):
            ly = layers[l - 1]
            return (_nz((float(ly.hi[j, k]), m.delta[l, n, j, k]) for k in range(ly.K)) - u(l, n, j)
                    - slack(l, n, j, 1) == 0)

        one = [t for t in NJ if not two_sided[t[0]]]
        two = [t for t in NJ if two_sided[t[0]]]
        if one:
            m.member = pyo.Constraint(one, rule=_con(member_lo), doc="u == sum_k delta_k lo_k + S, S in [0, W-1]")
        if two:
            m.member_lower = pyo.Constraint(two, rule=_con(member_lo), doc="u == sum_k delta_k lo_k + S0")
            m.member_upper = pyo.Constraint(two, rule=_con(member_hi), doc="sum_k delta_k hi_k == u + S1")
        if A_idx:
            def rosen(m, l, n, j, i, k, b):
                w, d, a = m.w[l, j, i, b], m.delta[l - 1, n, i, k], m.aux[l, n, j, i, k, b]
                return w * d - 2 * a * w - 2 * a * d + 3 * a == 0
            m.rosenberg = pyo.Constraint(A_idx, rule=_con(rosen), doc="Rosenberg: aux == w * delta")

    out = layers[-1]
    coef = net.objective_coefs()
    slopes = net.objective_slopes()
    obj = 0
    for n in range(N):
        for j in range(out.d_out):
            for k in range(out.K):
                if slopes is None:
                    if coef[n, j, k] != 0:
                        obj += float(coef[n, j, k]) * m.delta[out.l, n, j, k]
                else:
                    s = float(slopes[n, j, k])
                    obj += m.delta[out.l, n, j, k] * (float(coef[n, j, k]) - s * float(out.t[j, k])
                                                      + s * u(out.l, n, j))
    m.loss = pyo.Objective(expr=obj, sense=pyo.minimize, doc="(1/N) sum_n sum_k delta_out[n,k] lhat_k(y_n)")
    m.fip_net = net
    m.fip_form = form
    m.build_time_s = time.perf_counter() - t0
    return m


def show_constraint(model, family: str, *index) -> str:
    """The algebra of one constraint, e.g. ``show_constraint(m, 'interval_upper', 1, 3, 2)``."""
    con = getattr(model, family)[index if len(index) > 1 else index[0]]
    return f"{con.name}: {con.expr}"


def to_latex(model, path=None) -> str:
    """LaTeX of the model through Pyomo's latex printer (small models)."""
    from pyomo.contrib.latex_printer import latex_printer
    return latex_printer(model, ostream=None if path is None else open(path, "w"))
