"""Exhaustive checks on tiny specs: forward completion is feasible, its objective is the spline loss,
and every other indicator choice violates a membership constraint (except at breakpoint ties)."""
import itertools

import numpy as np
import pytest

from qcbo_model.assemble import assemble
from qcbo_model.fip import FIPNetwork
from qcbo_model.forward import codes_from_bits, fip_forward, forward_completion
from qcbo_model.layout import Layout
from qcbo_model.spec import NetworkSpec
from tests.conftest import tiny_data

SPECS = [
    (dict(hidden=(), bits=(2,), intervals=(4,)), None),
    (dict(hidden=(), bits=(2,), intervals=(4,), output_spline="linear"), None),
    (dict(hidden=(2,), bits=(1, 1), intervals=(2, 3)), None),
    (dict(hidden=(2,), bits=(1, 2), intervals=(3, 2), activation="sigmoid", loss="mse"), None),
    (dict(hidden=(1,), bits=("t", 1), intervals=(3, 3), activation="relu", loss="squared_hinge"), None),
    (dict(hidden=(2,), bits=(1, 1), intervals=(2, 4), activation="sign"), 1),
    (dict(hidden=(2,), bits=(1, 2), intervals=(3, 3), breakpoints="quantile"), 2),
    (dict(hidden=(1, 1), bits=(1, 1, 1), intervals=(2, 2, 3), activation=("tanh", "hardtanh")), 2),
]


def all_weight_bits(n_w):
    return np.array(list(itertools.product((0, 1), repeat=n_w)), dtype=np.uint8)


def _cases():
    for kw, ib in SPECS:
        forms = ["interval"] + (["exact"] if ib is not None else [])
        for form in forms:
            yield kw, ib, form


@pytest.mark.parametrize("kw,input_bits,form", list(_cases()))
def test_completion_feasible_and_objective(kw, input_bits, form):
    X, y = tiny_data(N=3, d=2)
    net = FIPNetwork(NetworkSpec(input_dim=2, input_bits=input_bits, **kw), X, y)
    q = assemble(net, form)
    n_w = net.spec.n_weight_bits()
    assert n_w <= 14
    W = all_weight_bits(n_w)
    x = forward_completion(net, W, form)
    assert q.violations(x).max() <= 1e-9
    fp = fip_forward(net, codes_from_bits(net, W))
    np.testing.assert_allclose(q.objective(x), fp.loss, rtol=0, atol=1e-12)


@pytest.mark.parametrize("kw,input_bits,form", list(_cases()))
def test_other_indicator_choices_violate(kw, input_bits, form):
    X, y = tiny_data(N=3, d=2)
    net = FIPNetwork(NetworkSpec(input_dim=2, input_bits=input_bits, **kw), X, y)
    q = assemble(net, form)
    lay = Layout(net, form)
    W = all_weight_bits(net.spec.n_weight_bits())
    x = forward_completion(net, W, form, lay)
    fp = fip_forward(net, codes_from_bits(net, W))
    checked = ties = 0
    for ly, u, k in zip(net.layers, fp.u, fp.k):
        for n, j in itertools.product(range(net.N), range(ly.d_out)):
            D = lay.delta[ly.l][n, j]
            for kk in range(ly.K):
                alt = x.copy()
                mask = k[:, n, j] != kk
                if not mask.any():
                    continue
                alt = alt[mask]
                alt[:, D] = 0
                alt[:, D[kk]] = 1
                if form == "exact":
                    # best slack for the wrong interval: clip into the encodable range
                    coefs = lay.slack_coefs[ly.l]
                    from qcbo_model.layout import encode_slack
                    S = lay.slack[ly.l][n, j]
                    ui = np.rint(u[mask, n, j])
                    s0 = np.clip(ui - ly.lo[j, kk], 0, coefs.sum())
                    alt[:, S[0]] = encode_slack(s0, coefs)
                    if S.shape[0] == 2:
                        alt[:, S[1]] = encode_slack(np.clip(ly.hi[j, kk] - ui, 0, coefs.sum()), coefs)
                viol = q.violations(alt).max(axis=1)
                # ties: u on the boundary of interval kk (interval form, off the grid)
                uu = u[mask, n, j]
                tie = (np.abs(uu - ly.t[j, kk]) < 1e-9) | (np.abs(uu - ly.t[j, kk + 1]) < 1e-9)
                assert np.all((viol > 1e-9) | tie), (ly.l, n, j, kk)
                checked += int(mask.sum())
                ties += int((tie & (viol <= 1e-9)).sum())
    assert checked > 0
