import numpy as np
import pytest

from solvers.ising.cim import CIMOracle, quantize
from solvers.ising import ExactOracle, OracleError
from solvers.ising.problems import QUBO, Ising

from tests.conftest import ISING as BENCH


@pytest.mark.parametrize("i", range(10))
def test_cim_agrees_with_exact_on_sk20(i):
    I = Ising.from_coupling_file(f"{BENCH}/sk/SK1_N=20_{i}.npy")
    exact = ExactOracle().sample(I).best_energy
    ss = CIMOracle().sample(I, num_reads=32, seed=i)
    assert ss.best_energy == exact
    assert np.allclose(ss.energies, I.energy(ss.spins))


def test_cim_with_fields_qubo():
    # random QUBOs have strong linear terms -> auxiliary spin path
    for k in range(5):
        rng = np.random.default_rng(10 + k)
        q = QUBO(rng.normal(size=(14, 14)))
        exact = ExactOracle().sample(q).best_energy
        ss = CIMOracle().sample(q, num_reads=16, seed=k)
        assert ss.info["auxiliary_field_spin"]
        assert ss.best_energy == pytest.approx(exact)


def test_target_stop_and_success_flags():
    I = Ising.from_coupling_file(f"{BENCH}/sk/SK1_N=40_0.npy")
    ref = ExactOracle  # noqa: F841 (n=40 too big; use a long run as reference)
    long = CIMOracle().sample(I, num_reads=32, seed=0)
    target = long.best_energy
    any_ = CIMOracle(stop_when="any").sample(I, num_reads=32, seed=0, target_energy=target)
    assert any_.info["stop_reason"] == "target"
    assert any_.info["success"].any()
    assert any_.info["steps"] <= long.info["steps"]
    all_ = CIMOracle(stop_when="all").sample(I, num_reads=32, seed=0, target_energy=target)
    assert all_.info["success_probability"] >= any_.info["success_probability"]
    rs = all_.info["reached_step"]
    assert np.all((rs >= 0) == all_.info["success"])


def test_time_limit_and_trajectory():
    I = Ising.from_coupling_file(f"{BENCH}/maxcut50/MC50_N=300_1.npz", maxcut=True)
    ss = CIMOracle(num_steps=10 ** 7, time_limit=0.3, return_trajectory=True).sample(I, num_reads=4, seed=0)
    assert ss.info["stop_reason"] == "time_limit"
    assert ss.info["wall_time_s"] < 2.0
    traj = ss.info["trajectory"]
    assert traj.shape == (ss.info["steps"], 4)
    # best read-out equals the min over the recorded trajectory
    assert np.allclose(ss.energies, traj.min(axis=0))


def test_sparse_and_dense_paths_agree():
    g = Ising.from_coupling_file(f"{BENCH}/gset/G1.txt", maxcut=True)
    dense = Ising(None, g.dense_J())
    a = CIMOracle(num_steps=300, dense_threshold=1.0).sample(g, num_reads=2, seed=0)
    b = CIMOracle(num_steps=300, dense_threshold=0.0, split_mode=False).sample(dense, num_reads=2, seed=0)
    assert a.info["sparse"] and not b.info["sparse"]
    assert np.allclose(a.energies, g.energy(a.spins))
    # float32 sums in different order may diverge late; early dynamics identical
    assert abs(a.best_energy - b.best_energy) < 0.05 * abs(a.best_energy)


def test_precision_bits_and_noise():
    I = Ising.from_coupling_file(f"{BENCH}/sk/SK1_N=20_3.npy")
    exact = ExactOracle().sample(I).best_energy
    ss = CIMOracle(precision_bits=2, noise=0.05).sample(I, num_reads=16, seed=0)
    assert ss.best_energy == exact      # +-1 couplings survive 2-bit rounding
    w = np.array([0.1, 0.6, -1.0])
    assert np.allclose(quantize(w, 2, 1.0), [0.0, 1.0, -1.0])
    assert np.allclose(quantize(w, 3, 1.0), [0.0, 0.66666667, -1.0])


def test_ahc_scheme_runs():
    I = Ising.from_coupling_file(f"{BENCH}/sk/SK1_N=20_0.npy")
    exact = ExactOracle().sample(I).best_energy
    ss = CIMOracle(scheme="ahc").sample(I, num_reads=16, seed=0)
    assert ss.info["scheme"] == "ahc"
    assert ss.best_energy <= exact + 4


def test_bad_parameters():
    with pytest.raises(OracleError):
        CIMOracle(scheme="xyz")
    with pytest.raises(OracleError):
        CIMOracle(stop_when="sometimes")
    with pytest.raises(OracleError):
        CIMOracle().sample(QUBO(np.eye(3)), bogus=1)


def test_split_mode_dense_maxcut():
    """Dense MaxCut: the dominant (negative) mode is integrated implicitly, dt is no longer stiff."""
    mc = Ising.from_coupling_file(f"{BENCH}/maxcut50/MC50_N=100_1.npy", maxcut=True)
    ref = float(np.load(f"{BENCH}/maxcut50/MC50_N=100_ground_energies.npy")[0])
    on = CIMOracle(return_trajectory=True).sample(mc, num_reads=16, seed=0)
    off = CIMOracle(num_steps=50, split_mode=False).sample(mc, num_reads=2, seed=0)
    assert on.info["split_mode"] and not off.info["split_mode"]
    assert on.info["params"]["dt"] == 0.1 and off.info["params"]["dt"] < 0.05
    # internal energy (split field + lam1 (s.u)^2 term) equals the exact energy of the read-out
    assert np.allclose(on.energies, on.info["trajectory"].min(axis=0), atol=1e-3)
    assert np.allclose(on.energies, mc.energy(on.spins))
    assert on.best_energy == ref
    sk = Ising.from_coupling_file(f"{BENCH}/sk/SK1_N=20_0.npy")
    assert not CIMOracle(num_steps=10).sample(sk, num_reads=2, seed=0).info["split_mode"]
