"""A Pyomo model -> the canonical QCBO, with what the plugin needs to load a point back.

Accepted: one active objective (minimize or maximize), at most quadratic; active constraints at most
quadratic; every variable that appears in them binary, or integer with finite bounds (binary-expanded:
``v = lb + sum_k 2^k b_k``, plus a row ``sum_k 2^k b_k <= ub - lb`` when the range is not ``2^K - 1``).
Fixed variables are constants (their value is used, they are never written).  Variables that appear
nowhere are not columns and keep their values.  Anything else raises ``FormulationError`` naming the
offending variable or component.

Unlike ``qcbo_model.extract.from_pyomo`` (the FIP pipeline's extraction, which takes every variable of
the model as a column), this one works on models written by anybody: the extra components mpi-sppy
attaches (Params, Expressions) and fixed variables are handled.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pyomo.environ as pyo
import scipy.sparse as sp
from pyomo.repn import generate_standard_repn

from qcbo_model.errors import FormulationError
from qcbo_model.qcbo import QCBO

__all__ = ["Extracted", "extract", "objective_terms"]


@dataclass
class Extracted:
    qcbo: QCBO                    # minimization form (a maximized objective is negated)
    sense: int                    # +1 minimize, -1 maximize (model objective = sense * qcbo objective)
    variables: list               # the Pyomo VarData that are written back, in column-block order
    var_cols: list                # per variable: (offset, cols (int array), coefs (float array))
    objective: object             # the active ObjectiveData
    notes: list = field(default_factory=list)
    n_fixed: int = 0

    def values(self, x) -> list:
        """Pyomo variable values of the QCBO point x (integers rounded)."""
        x = np.asarray(x, float)
        out = []
        for v, (off, cols, coefs) in zip(self.variables, self.var_cols):
            val = off + float(coefs @ x[cols])
            out.append(int(round(val)) if v.is_integer() else val)
        return out

    def column_of(self, var) -> int:
        """QCBO column of a binary variable (KeyError for expanded or unused ones)."""
        if not hasattr(self, "_col"):
            self._col = {id(v): int(c[0]) for v, (o, c, k) in zip(self.variables, self.var_cols)
                         if len(c) == 1 and o == 0 and k[0] == 1}
        return self._col[id(var)]


def _repn(expr, what):
    r = generate_standard_repn(expr, compute_values=True, quadratic=True)
    if r.nonlinear_expr is not None:
        kinds = sorted({type(v).__name__ for v in r.nonlinear_vars or ()})
        raise FormulationError(f"{what} is not quadratic (nonlinear in {[v.name for v in r.nonlinear_vars][:5]}); "
                               f"a QCBO has an at most quadratic objective and constraints{'' if kinds else ''}")
    return r


def objective_terms(model):
    """(ObjectiveData, sense, repn) of the one active objective."""
    objs = list(model.component_data_objects(pyo.Objective, active=True, descend_into=True))
    if len(objs) != 1:
        raise FormulationError(f"expected one active objective, found {len(objs)}"
                               + (f": {[o.name for o in objs]}" if objs else ""))
    o = objs[0]
    return o, (1 if o.sense == pyo.minimize else -1), _repn(o.expr, f"objective {o.name}")


def _columns_of(v, start):
    """(offset, cols, coefs, names, extra_row) for variable v starting at column ``start``."""
    if v.is_binary():
        return 0.0, np.array([start]), np.array([1.0]), [v.name], None
    if v.is_integer():
        lb, ub = v.lb, v.ub
        if lb is None or ub is None or not (math.isfinite(lb) and math.isfinite(ub)):
            raise FormulationError(f"variable {v.name} is an integer without finite bounds ({lb}, {ub}); "
                                   "only bounded integers can be binary-expanded")
        lb, ub = int(math.ceil(lb - 1e-9)), int(math.floor(ub + 1e-9))
        rng = ub - lb
        if rng < 0:
            raise FormulationError(f"variable {v.name} has an empty integer range [{v.lb}, {v.ub}]")
        K = max(1, int(rng).bit_length())
        coefs = 2.0 ** np.arange(K)
        names = [f"{v.name}#bit{k}" for k in range(K)]
        extra = None if (2 ** K - 1) == rng else float(rng)
        return float(lb), start + np.arange(K), coefs, names, extra
    raise FormulationError(f"variable {v.name} is {'continuous' if v.is_continuous() else 'not binary'} "
                           f"(domain {v.domain}); the QCBO plugins take binary variables and bounded integers only")


def extract(model) -> Extracted:
    """The canonical QCBO of ``model`` (module docstring)."""
    obj, sense, orep = objective_terms(model)
    cons = []
    for con in model.component_data_objects(pyo.Constraint, active=True, descend_into=True):
        if not con.has_lb() and not con.has_ub():
            continue
        cons.append((con, _repn(con.body, f"constraint {con.name}")))
    # the variables that appear, in order of first appearance; who uses them (for error messages)
    seen, order, used_in = {}, [], {}
    for what, r in [(f"objective {obj.name}", orep)] + [(f"constraint {c.name}", r) for c, r in cons]:
        for v in list(r.linear_vars) + [a for ab in r.quadratic_vars for a in ab]:
            if id(v) not in seen:
                seen[id(v)] = len(order)
                order.append(v)
                used_in[id(v)] = what
    var_cols, names, range_rows, notes = [], [], [], []
    n = 0
    for v in order:
        try:
            off, cols, coefs, nm, extra = _columns_of(v, n)
        except FormulationError as e:
            raise FormulationError(f"{e} (used in {used_in[id(v)]})") from None
        var_cols.append((off, cols, coefs))
        names += nm
        if len(nm) > 1 or off != 0.0:
            notes.append(f"integer {v.name} in [{v.lb}, {v.ub}] binary-expanded into {len(nm)} bits")
        if extra is not None:
            range_rows.append((v.name, cols, coefs, extra))
        n += len(nm)
    n_fixed = sum(1 for v in model.component_data_objects(pyo.Var, descend_into=True) if v.fixed)
    simple = all(len(c) == 1 and o == 0.0 for o, c, _ in var_cols)
    idx = {id(v): i for i, v in enumerate(order)}

    def expand(r):
        """(const, lin_cols, lin_vals, qi, qj, qv) in QCBO columns."""
        const = float(r.constant)
        if simple:
            li = np.fromiter((var_cols[idx[id(v)]][1][0] for v in r.linear_vars), np.int64, len(r.linear_vars))
            lv = np.asarray(r.linear_coefs, float)
            qi = np.fromiter((var_cols[idx[id(a)]][1][0] for a, _ in r.quadratic_vars), np.int64,
                             len(r.quadratic_vars))
            qj = np.fromiter((var_cols[idx[id(b)]][1][0] for _, b in r.quadratic_vars), np.int64,
                             len(r.quadratic_vars))
            return const, li, lv, qi, qj, np.asarray(r.quadratic_coefs, float)
        li, lv, qi, qj, qv = [], [], [], [], []
        for v, c in zip(r.linear_vars, r.linear_coefs):
            o, cols, k = var_cols[idx[id(v)]]
            const += c * o
            li += list(cols); lv += list(c * k)
        for (a, b), c in zip(r.quadratic_vars, r.quadratic_coefs):
            oa, ca, ka = var_cols[idx[id(a)]]
            ob, cb, kb = var_cols[idx[id(b)]]
            const += c * oa * ob
            li += list(cb) + list(ca); lv += list(c * oa * kb) + list(c * ob * ka)
            I, J = np.meshgrid(ca, cb, indexing="ij")
            qi += list(I.ravel()); qj += list(J.ravel()); qv += list((c * np.outer(ka, kb)).ravel())
        return (const, np.asarray(li, np.int64), np.asarray(lv, float), np.asarray(qi, np.int64),
                np.asarray(qj, np.int64), np.asarray(qv, float))

    k0, li, lv, qi, qj, qv = expand(orep)
    c = np.zeros(n)
    np.add.at(c, li, sense * lv)
    Q = sp.coo_matrix((sense * qv, (qi, qj)), shape=(n, n))
    rows_l, cols_l, vals_l, qr, qi_, qj_, qv_ = [], [], [], [], [], [], []
    lb, ub, cnames, fams = [], [], [], []
    for r_, (con, rep) in enumerate(cons):
        k, li, lv, ai, aj, av = expand(rep)
        rows_l.append(np.full(len(li), r_)); cols_l.append(li); vals_l.append(lv)
        qr.append(np.full(len(ai), r_)); qi_.append(ai); qj_.append(aj); qv_.append(av)
        lo = pyo.value(con.lower) if con.has_lb() else None
        up = pyo.value(con.upper) if con.has_ub() else None
        lb.append(-np.inf if lo is None else lo - k)
        ub.append(np.inf if up is None else up - k)
        cnames.append(con.name)
        fams.append(con.parent_component().name)
    for nm, cols, coefs, rng in range_rows:
        r_ = len(cnames)
        rows_l.append(np.full(len(cols), r_)); cols_l.append(np.asarray(cols, np.int64)); vals_l.append(coefs)
        lb.append(-np.inf); ub.append(rng); cnames.append(f"{nm}#range"); fams.append("integer_range")
    m = len(cnames)
    cat = (lambda L, dt: np.concatenate(L).astype(dt) if L else np.zeros(0, dt))
    A = sp.coo_matrix((cat(vals_l, float), (cat(rows_l, np.int64), cat(cols_l, np.int64))), shape=(m, n))
    q = QCBO(names, Q, c, sense * k0, A, cat(qr, np.int64), cat(qi_, np.int64), cat(qj_, np.int64),
             cat(qv_, float), lb, ub, cnames, fams)
    return Extracted(qcbo=q, sense=sense, variables=order, var_cols=var_cols, objective=obj, notes=notes,
                     n_fixed=n_fixed)
