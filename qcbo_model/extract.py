"""Extraction of the canonical QCBO from a Pyomo model through pyomo.repn.

Works on any Pyomo model whose variables are all binary and whose objective and constraints are
at most quadratic; for FIP models built by ``build_pyomo`` it also carries the FIP metadata.
"""
from __future__ import annotations

import re

import numpy as np
import pyomo.environ as pyo
import scipy.sparse as sp
from pyomo.repn import generate_standard_repn

from .errors import FormulationError
from .qcbo import QCBO

NONNEG_FAMILIES = {"rosenberg", "exclusion"}
_GROUP_RE = re.compile(r"^([A-Za-z_]+)\[(\d+)")


def from_pyomo(model) -> QCBO:
    var_list = list(model.component_data_objects(pyo.Var, descend_into=True))
    for v in var_list:
        if not v.is_binary():
            raise FormulationError(f"variable {v.name} is not binary; a QCBO has binary variables only")
    names = [v.name for v in var_list]
    col = {id(v): i for i, v in enumerate(var_list)}
    n = len(var_list)

    def repn_of(expr, what):
        r = generate_standard_repn(expr, compute_values=True, quadratic=True)
        if r.nonlinear_expr is not None:
            raise FormulationError(f"{what} is not quadratic")
        lin = ([col[id(v)] for v in r.linear_vars], [float(c) for c in r.linear_coefs])
        quad = ([col[id(a)] for a, b in r.quadratic_vars], [col[id(b)] for a, b in r.quadratic_vars],
                [float(c) for c in r.quadratic_coefs])
        return float(r.constant), lin, quad

    objs = list(model.component_data_objects(pyo.Objective, active=True))
    if len(objs) != 1:
        raise FormulationError(f"expected one active objective, found {len(objs)}")
    sign = 1.0 if objs[0].sense == pyo.minimize else -1.0
    const, (li, lc), (qi, qj, qc) = repn_of(objs[0].expr, "the objective")
    c = np.zeros(n)
    np.add.at(c, np.asarray(li, dtype=np.int64), sign * np.asarray(lc))
    Q = sp.coo_matrix((sign * np.asarray(qc), (np.asarray(qi, dtype=np.int64), np.asarray(qj, dtype=np.int64))),
                      shape=(n, n))

    rows_l, cols_l, vals_l = [], [], []
    qr, qi_, qj_, qv = [], [], [], []
    lb, ub, cnames, fams = [], [], [], []
    for r, con in enumerate(model.component_data_objects(pyo.Constraint, active=True, descend_into=True)):
        k, (li, lc), (ai, aj, ac) = repn_of(con.body, f"constraint {con.name}")
        rows_l += [r] * len(li); cols_l += li; vals_l += lc
        qr += [r] * len(ai); qi_ += ai; qj_ += aj; qv += ac
        lo, up = con.lower, con.upper
        lb.append(-np.inf if lo is None else pyo.value(lo) - k)
        ub.append(np.inf if up is None else pyo.value(up) - k)
        cnames.append(con.name)
        fams.append(con.parent_component().name)
    m = len(cnames)
    A = sp.coo_matrix((np.asarray(vals_l, float), (np.asarray(rows_l, np.int64), np.asarray(cols_l, np.int64))),
                      shape=(m, n))
    groups: dict = {}
    for i, nm in enumerate(names):
        g = _GROUP_RE.match(nm)
        if g:
            groups.setdefault(f"{g.group(1)}{g.group(2)}", []).append(i)
    meta = {}
    net = getattr(model, "fip_net", None)
    if net is not None:
        from .assemble import model_meta
        from .layout import Layout
        meta = model_meta(net, Layout(net, model.fip_form))
    return QCBO(names, Q, c, sign * const, A, qr, qi_, qj_, qv, lb, ub, cnames, fams,
                nonneg=[f in NONNEG_FAMILIES for f in fams], groups=groups, meta=meta)
