import itertools

import numpy as np
import pytest

from solvers.oracle import ExactOracle, OracleError, SampleSet, get_oracle
from solvers.problems import QUBO, Ising


def brute_min(problem, n):
    X = np.array(list(itertools.product([0, 1], repeat=n)), dtype=np.uint8)
    if isinstance(problem, QUBO):
        return problem.energy(X).min()
    return problem.energy(2 * X.astype(int) - 1).min()


@pytest.mark.parametrize("n", [1, 4, 9, 13])
def test_exact_matches_bruteforce(n):
    rng = np.random.default_rng(n)
    q = QUBO(rng.normal(size=(n, n)), 0.3)
    ss = ExactOracle().sample(q, num_reads=3)
    assert ss.best_energy == pytest.approx(brute_min(q, n))
    assert np.all(np.diff(ss.energies) >= -1e-12)
    assert np.allclose(ss.energies, q.energy(ss.samples))
    assert ss.samples.dtype == np.uint8
    I = q.to_ising()
    ssi = ExactOracle().sample(I)
    assert ssi.best_energy == pytest.approx(ss.best_energy)
    assert np.array_equal(ssi.spins, 2 * ssi.samples.astype(int) - 1)


def test_exact_size_limit():
    with pytest.raises(OracleError, match="n=25"):
        ExactOracle().sample(QUBO(np.zeros((25, 25))))


@pytest.mark.parametrize("name", ["sa", "greedy", "cim", "exact"])
def test_registry_and_energy_convention(name):
    rng = np.random.default_rng(3)
    q = QUBO(rng.normal(size=(8, 8)), 1.0)
    o = get_oracle(name)
    ss = o.sample(q, num_reads=4, seed=1)
    assert isinstance(ss, SampleSet)
    assert np.allclose(ss.energies, q.energy(ss.samples))   # QUBO energies for a QUBO
    I = q.to_ising()
    ssi = o.sample(I, num_reads=4, seed=1)
    assert np.allclose(ssi.energies, I.energy(ssi.spins))   # Ising energies for an Ising
    assert ssi.info["oracle"].startswith(o.name.split(":")[0])
    d = ssi.to_dict()
    assert d["best_energy"] == ssi.best_energy


@pytest.mark.parametrize("name", ["sa", "greedy", "cim"])
def test_same_seed_bitwise_identical(name):
    I = Ising.from_coupling_file("/work/shared/benchmarks/ising/sk/SK1_N=40_0.npy")
    o = get_oracle(name)
    a = o.sample(I, num_reads=6, seed=123)
    b = o.sample(I, num_reads=6, seed=np.random.default_rng(123))
    assert np.array_equal(a.samples, b.samples)
    assert np.array_equal(a.energies, b.energies)


def test_sa_finds_ground_state_small():
    rng = np.random.default_rng(5)
    q = QUBO(rng.normal(size=(12, 12)))
    ss = get_oracle("sa", num_sweeps=300).sample(q, num_reads=8, seed=0)
    assert ss.best_energy == pytest.approx(brute_min(q, 12))


def test_greedy_is_local_minimum():
    I = Ising.from_coupling_file("/work/shared/benchmarks/ising/sk/SK1_N=40_0.npy")
    ss = get_oracle("greedy").sample(I, num_reads=5, seed=0)
    for s in ss.spins:
        flips = np.tile(s, (I.n, 1))
        flips[np.arange(I.n), np.arange(I.n)] *= -1
        assert np.all(I.energy(flips) >= I.energy(s)[0] - 1e-9)


def test_bad_inputs():
    with pytest.raises(OracleError):
        get_oracle("nope")
    with pytest.raises(OracleError):
        get_oracle("sa").sample(QUBO(np.eye(3)), num_reads=0)
    with pytest.raises(OracleError):
        get_oracle("sa").sample(object())
    with pytest.raises(OracleError):
        get_oracle("sa").sample(QUBO(np.eye(3)), seed="x")


def test_target_success_flags():
    q = QUBO(np.diag([-1.0, -1.0]))
    ss = get_oracle("exact").sample(q, num_reads=4, target_energy=-2.0)
    assert ss.info["success"].tolist() == [True, False, False, False]
    assert ss.info["success_probability"] == 0.25


def test_dimod_adapter_roundtrip():
    pytest.importorskip("dimod")
    from solvers.dimod_adapter import DimodOracle, to_bqm
    rng = np.random.default_rng(2)
    q = QUBO(rng.normal(size=(6, 6)), 0.7)
    bqm = to_bqm(q)
    X = np.array(list(itertools.product([0, 1], repeat=6)), dtype=np.uint8)
    assert np.allclose(bqm.energies((X, range(6))), q.energy(X))
    I = q.to_ising()
    bqm_s = to_bqm(I)
    assert np.allclose(bqm_s.energies((2 * X.astype(int) - 1, range(6))), q.energy(X))
    ss = DimodOracle().sample(q, num_reads=5, seed=0)
    assert ss.best_energy == pytest.approx(brute_min(q, 6))
