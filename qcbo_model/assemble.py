"""Direct vectorized assembly of the canonical QCBO from the FIP constants (the fast path).

It never builds Pyomo objects; ``extract.from_pyomo`` builds the same QCBO from the explicit Pyomo
model, and the tests prove the two identical. Constraint order: family-major, then indices in C
order:  exclusion, onehot, (interval_lower, interval_upper) or (member | member_lower,
member_upper), rosenberg.
"""
from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp

from .fip import FIPNetwork, LayerFIP
from .layout import Layout
from .qcbo import QCBO


class _Expr:
    """A batch of affine/bilinear expressions, one per row, in COO form."""

    def __init__(self, n_rows: int):
        self.n_rows = n_rows
        self.lin = []    # (rows, vars, coefs)
        self.quad = []   # (rows, vi, vj, coefs)
        self.const = np.zeros(n_rows)

    def add_lin(self, rows, var, coef):
        rows, var, coef = np.broadcast_arrays(rows, var, coef)
        self.lin.append((rows.ravel(), var.ravel(), coef.ravel().astype(float)))

    def add_quad(self, rows, vi, vj, coef):
        rows, vi, vj, coef = np.broadcast_arrays(rows, vi, vj, coef)
        self.quad.append((rows.ravel(), vi.ravel(), vj.ravel(), coef.ravel().astype(float)))

    def scaled(self, s: float) -> "_Expr":
        e = _Expr(self.n_rows)
        e.lin = [(r, v, s * c) for r, v, c in self.lin]
        e.quad = [(r, i, j, s * c) for r, i, j, c in self.quad]
        e.const = s * self.const
        return e


def _cat(parts, k):
    return np.concatenate([p[k] for p in parts]) if parts else np.zeros(0)


def _u_expr(net: FIPNetwork, lay: Layout, layer: LayerFIP) -> _Expr:
    """u[l, n, j] for every (n, j), rows r = n * d_out + j."""
    N, d_out, nb = net.N, layer.d_out, layer.code.n_bits
    a, q0 = layer.code.coefs, layer.code.q0
    rows = np.arange(N * d_out).reshape(N, d_out)
    e = _Expr(N * d_out)
    W = lay.w[layer.l]                                              # (d_out, fan_in, nb)
    if layer.l == 1:
        V = net.v_in
        if layer.has_bias:
            V = np.concatenate([V, np.full((N, 1), layer.c)], axis=1)   # (N, fan_in)
        e.add_lin(rows[:, :, None, None], W[None], a[None, None, None, :] * V[:, None, :, None])
        e.const = (q0 * V.sum(axis=1))[:, None].repeat(d_out, axis=1).ravel()
        return e
    prev = net.layers[layer.l - 2]
    Vp = prev.v_levels                                              # (d_in, K_prev)
    D = lay.delta[prev.l]                                           # (N, d_in, K_prev)
    d_in = layer.d_in
    if lay.form == "exact":
        AUX = lay.aux[layer.l]                                      # (N, d_out, d_in, K_prev, nb)
        e.add_lin(rows[:, :, None, None, None], AUX, a[None, None, None, None, :] * Vp[None, None, :, :, None])
    else:
        e.add_quad(rows[:, :, None, None, None], W[None, :, :d_in, None, :], D[:, None, :, :, None],
                   a[None, None, None, None, :] * Vp[None, None, :, :, None])
    e.add_lin(rows[:, :, None, None], D[:, None, :, :], (q0 * Vp)[None, None, :, :])
    if layer.has_bias:
        e.add_lin(rows[:, :, None], W[None, :, d_in, :], (layer.c * a)[None, None, :])
        e.const = np.full(N * d_out, layer.c * q0)
    return e


class _Builder:
    def __init__(self, n):
        self.n = n
        self.m = 0
        self.lin, self.quad, self.lb, self.ub, self.names, self.family, self.nonneg = [], [], [], [], [], [], []

    def add(self, family, index_tuples, expr: _Expr, lb, ub, nonneg=False):
        """Append expr rows as constraints lb <= expr <= ub (expr constants moved to the bounds)."""
        R = expr.n_rows
        for r, v, c in expr.lin:
            self.lin.append((r + self.m, v, c))
        for r, i, j, c in expr.quad:
            self.quad.append((r + self.m, i, j, c))
        self.lb.append(np.broadcast_to(lb, (R,)) - expr.const)
        self.ub.append(np.broadcast_to(ub, (R,)) - expr.const)
        idx = np.asarray(index_tuples)
        self.names.extend(f"{family}[{','.join(map(str, t))}]" for t in idx.tolist())
        self.family.extend([family] * R)
        self.nonneg.append(np.full(R, nonneg))
        self.m += R


def _index(*shape_and_prefix):
    """All index tuples (prefix..., idx...) in C order."""
    prefix, shape = shape_and_prefix[0], shape_and_prefix[1]
    grid = np.indices(shape).reshape(len(shape), -1).T
    return np.concatenate([np.tile(np.asarray(prefix)[None, :], (len(grid), 1)), grid], axis=1)


def assemble(net: FIPNetwork, form: str = "interval", layout: Layout | None = None) -> QCBO:
    """Build the canonical QCBO of a FIP network directly (vectorized)."""
    t0 = time.perf_counter()
    lay = layout if layout is not None else Layout(net, form)
    n, N = lay.n, net.N
    b = _Builder(n)

    # exclusion: ternary codes, w_plus * w_minus == 0
    for layer in net.layers:
        if layer.code.kind == "ternary":
            W = lay.w[layer.l]
            e = _Expr(W.shape[0] * W.shape[1])
            e.add_quad(np.arange(e.n_rows), W[:, :, 0].ravel(), W[:, :, 1].ravel(), 1.0)
            b.add("exclusion", _index([layer.l], W.shape[:2]), e, 0.0, 0.0, nonneg=True)
    # onehot: sum_k delta == 1
    for layer in net.layers:
        D = lay.delta[layer.l]
        e = _Expr(N * layer.d_out)
        e.add_lin(np.arange(e.n_rows)[:, None], D.reshape(-1, layer.K), 1.0)
        b.add("onehot", _index([layer.l], (N, layer.d_out)), e, 1.0, 1.0)

    u = {layer.l: _u_expr(net, lay, layer) for layer in net.layers}
    if form == "interval":
        for fam, col, lo_b, hi_b in (("interval_lower", slice(0, -1), 0.0, np.inf),
                                     ("interval_upper", slice(1, None), -np.inf, 0.0)):
            for layer in net.layers:
                e = u[layer.l].scaled(1.0)
                rows = np.arange(e.n_rows).reshape(N, layer.d_out)
                e.add_lin(rows[:, :, None], lay.delta[layer.l], -layer.t[None, :, col])
                b.add(fam, _index([layer.l], (N, layer.d_out)), e, lo_b, hi_b)
    else:
        def slack_terms(e, layer, side, sign):
            S = lay.slack[layer.l][:, :, side, :]                   # (N, d_out, nbits)
            rows = np.arange(e.n_rows).reshape(N, layer.d_out)
            coefs = lay.slack_coefs[layer.l]
            if len(coefs):
                e.add_lin(rows[:, :, None], S, sign * coefs[None, None, :])

        one = [layer for layer in net.layers if not lay.two_sided[layer.l]]
        two = [layer for layer in net.layers if lay.two_sided[layer.l]]
        for fam, layers, side in (("member", one, 0), ("member_lower", two, 0)):
            for layer in layers:
                e = u[layer.l].scaled(1.0)
                rows = np.arange(e.n_rows).reshape(N, layer.d_out)
                e.add_lin(rows[:, :, None], lay.delta[layer.l], -layer.lo[None, :, :])
                slack_terms(e, layer, side, -1.0)
                b.add(fam, _index([layer.l], (N, layer.d_out)), e, 0.0, 0.0)
        for layer in two:
            e = u[layer.l].scaled(-1.0)
            rows = np.arange(e.n_rows).reshape(N, layer.d_out)
            e.add_lin(rows[:, :, None], lay.delta[layer.l], layer.hi[None, :, :])
            slack_terms(e, layer, 1, -1.0)
            b.add("member_upper", _index([layer.l], (N, layer.d_out)), e, 0.0, 0.0)
        # rosenberg: aux == w * delta  as  w d - 2 aux w - 2 aux d + 3 aux == 0
        for layer in net.layers[1:]:
            AUX = lay.aux[layer.l]
            prev = net.layers[layer.l - 2]
            Wb = np.broadcast_to(lay.w[layer.l][None, :, :layer.d_in, None, :], AUX.shape)
            Db = np.broadcast_to(lay.delta[prev.l][:, None, :, :, None], AUX.shape)
            e = _Expr(AUX.size)
            r = np.arange(AUX.size)
            e.add_quad(r, Wb.ravel(), Db.ravel(), 1.0)
            e.add_quad(r, AUX.ravel(), Wb.ravel(), -2.0)
            e.add_quad(r, AUX.ravel(), Db.ravel(), -2.0)
            e.add_lin(r, AUX.ravel(), 3.0)
            b.add("rosenberg", _index([layer.l], AUX.shape), e, 0.0, 0.0, nonneg=True)

    # objective: (1/N) sum_n sum_j sum_k delta_out[n,j,k] * lhat_k(y_nj)
    out = net.layers[-1]
    Dout = lay.delta[out.l]
    c = np.zeros(n)
    np.add.at(c, Dout.ravel(), net.objective_coefs().ravel())
    Qr, Qc, Qv = np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    slopes = net.objective_slopes()
    const = 0.0
    if slopes is not None:
        # linear spline: delta_k * (level_k + slope_k * (u - t_k)); u affine in the weight bits
        ue = u[out.l]
        c_lvl = net.objective_coefs() - slopes * out.t[None, :, :-1]
        c = np.zeros(n)
        np.add.at(c, Dout.ravel(), (c_lvl + slopes * ue.const.reshape(N, out.d_out)[:, :, None]).ravel())
        rows_to_nj = ue.lin  # rows r = n*d_out + j
        qr, qc, qv = [], [], []
        for r, v, cf in rows_to_nj:
            nn, jj = np.divmod(r, out.d_out)
            for k in range(out.K):
                qr.append(Dout[nn, jj, k])
                qc.append(v)
                qv.append(cf * slopes[nn, jj, k])
        Qr, Qc, Qv = np.concatenate(qr), np.concatenate(qc), np.concatenate(qv)
    Q = sp.coo_matrix((Qv, (np.minimum(Qr, Qc), np.maximum(Qr, Qc))), shape=(n, n))

    lr, lv, lc = _cat(b.lin, 0).astype(np.int64), _cat(b.lin, 1).astype(np.int64), _cat(b.lin, 2)
    qr, qi, qj, qv = (_cat(b.quad, 0).astype(np.int64), _cat(b.quad, 1).astype(np.int64),
                      _cat(b.quad, 2).astype(np.int64), _cat(b.quad, 3))
    lb = np.concatenate(b.lb) if b.lb else np.zeros(0)
    ub = np.concatenate(b.ub) if b.ub else np.zeros(0)
    nonneg = np.concatenate(b.nonneg) if b.nonneg else np.zeros(0, bool)
    # A row left with no variable (all-zero inputs, no bias) is trivially true: drop it, as the
    # Pyomo model skips it (Constraint.Feasible). A trivially false one would be a modelling bug.
    used = np.zeros(b.m, bool)
    used[lr[lc != 0]] = True
    used[qr[qv != 0]] = True
    if not used.all():
        empty = ~used
        assert np.all((lb[empty] <= 1e-9) & (ub[empty] >= -1e-9)), "trivially infeasible constraint"
        new_row = np.cumsum(used) - 1
        keep_l, keep_q = used[lr], used[qr]
        lr, lv, lc = new_row[lr[keep_l]], lv[keep_l], lc[keep_l]
        qr, qi, qj, qv = new_row[qr[keep_q]], qi[keep_q], qj[keep_q], qv[keep_q]
        lb, ub, nonneg = lb[used], ub[used], nonneg[used]
        b.names = [nm for nm, u in zip(b.names, used) if u]
        b.family = [f for f, u in zip(b.family, used) if u]
    A = sp.coo_matrix((lc, (lr, lv)), shape=(len(lb), n))
    qcbo = QCBO(lay.names(), Q, c, const, A, qr, qi, qj, qv, lb, ub, b.names, b.family, nonneg=nonneg,
                groups=lay.groups(), meta=model_meta(net, lay))
    qcbo.meta["build_time_s"] = time.perf_counter() - t0
    return qcbo


def model_meta(net: FIPNetwork, lay: Layout) -> dict:
    spec = net.spec
    return {"form": lay.form, "spec": spec.to_dict(), "N": net.N,
            "n_weight_bits": lay.n_weight_bits, "n_indicator_bits": lay.n_indicator_bits,
            "n_slack_bits": lay.n_slack_bits, "n_aux_bits": lay.n_aux_bits,
            "spin_count_formula": spin_count_formula(net),
            "avg_bits_per_weight": spec.avg_bits_per_weight}


def spin_count_formula(net: FIPNetwork) -> int:
    """P*B + N * sum_l d_l K_l: weight bits (biases included) plus one indicator per (n, l, j, k)."""
    spec = net.spec
    return int(spec.n_weight_bits(include_bias=True)
               + net.N * sum(spec.widths[l] * spec.intervals[l - 1] for l in range(1, spec.n_layers + 1)))
