import numpy as np

from qcbo_model.forward import codes_from_bits, fip_forward
from solvers import solve
from solvers.methods.decomposition import subnetwork
from tests.test_baselines import small_problem


def test_batch_objectives_add_up_to_full_objective():
    prob = small_problem(n=30)
    net = prob.net
    bits = np.random.default_rng(0).integers(0, 2, (5, prob.n_weight_bits))
    full = fip_forward(net, codes_from_bits(net, bits)).loss
    parts = np.array_split(np.random.default_rng(1).permutation(30), 4)
    tot = sum(len(b) / 30 * fip_forward(subnetwork(net, b), codes_from_bits(net, bits)).loss for b in parts)
    assert np.allclose(full, tot)


def test_progressive_hedging_feasible_and_reproducible():
    prob = small_problem(bits=(1, 1), hidden=(2,), intervals=(2, 3), n=16, d=3, seed=2)
    kw = dict(batch_size=8, max_iter=3, sweeps=10, reads=4, seed=0)
    a = solve(prob, "progressive-hedging", workers=1, **kw)
    b = solve(prob, "progressive-hedging", workers=2, **kw)
    assert a.feasible and prob.qcbo.is_feasible(a.x[None])[0]
    assert np.isclose(a.objective, prob.qcbo.objective(a.x[None])[0])
    assert a.objective == b.objective and np.array_equal(a.wbits, b.wbits)   # processes change nothing
    assert a.info["n_batches"] == 2 and len(a.info["disagreement"]) == a.info["iterations"]
