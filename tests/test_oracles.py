"""The oracle registry and one conformance test that every registered oracle passes."""
import itertools
import time

import numpy as np
import pytest

from solvers.ising import ExactOracle, OracleError, SampleSet, available_oracles, get_oracle, oracle_defaults
from solvers.ising.problems import QUBO, Ising
from tests.conftest import ISING as BENCH

SAMPLERS = [n for n in available_oracles() if n != "dimod"]   # dimod wraps a sampler; tested below


def brute_min(problem, n):
    X = np.array(list(itertools.product([0, 1], repeat=n)), dtype=np.uint8)
    if isinstance(problem, QUBO):
        return problem.energy(X).min()
    return problem.energy(2 * X.astype(int) - 1).min()


def _oracle(name):
    if name == "dimod":
        from dwave.samplers import SimulatedAnnealingSampler
        return get_oracle("dimod", sampler=SimulatedAnnealingSampler(), num_sweeps=100)
    return get_oracle(name)


CONFORMANCE = SAMPLERS + ["dimod"]


@pytest.mark.parametrize("name", CONFORMANCE)
def test_conformance_energy_convention(name):
    rng = np.random.default_rng(3)
    q = QUBO(rng.normal(size=(8, 8)), 1.0)
    o = _oracle(name)
    ss = o.sample(q, num_reads=4, seed=1)
    assert isinstance(ss, SampleSet) and ss.samples.dtype == np.uint8
    assert np.allclose(ss.energies, q.energy(ss.samples))            # QUBO energies for a QUBO, offset included
    I = q.to_ising()
    ssi = o.sample(I, num_reads=4, seed=1)
    assert np.allclose(ssi.energies, I.energy(ssi.spins))             # Ising energies for an Ising
    assert np.array_equal(ssi.spins, 2 * ssi.samples.astype(int) - 1)
    assert ssi.info["oracle"].split(":")[0] == o.name.split(":")[0]
    assert ssi.to_dict()["best_energy"] == ssi.best_energy


@pytest.mark.parametrize("name", CONFORMANCE)
def test_conformance_seed_reproduces_bitwise(name):
    I = Ising.from_coupling_file(f"{BENCH}/sk/SK1_N=40_0.npy")
    o = _oracle(name) if name != "exact" else None
    if o is None:
        I = Ising.from_coupling_file(f"{BENCH}/sk/SK1_N=20_0.npy")
        o = get_oracle("exact")
    a = o.sample(I, num_reads=6, seed=123)
    b = o.sample(I, num_reads=6, seed=np.random.default_rng(123))
    assert np.array_equal(a.samples, b.samples)
    assert np.array_equal(a.energies, b.energies)


@pytest.mark.parametrize("name", CONFORMANCE)
def test_conformance_num_reads_honoured(name):
    q = QUBO(np.random.default_rng(0).normal(size=(10, 10)))
    for r in (1, 3, 7):
        assert _oracle(name).sample(q, num_reads=r, seed=0).num_reads == r
    with pytest.raises(OracleError):
        _oracle(name).sample(q, num_reads=0)


@pytest.mark.parametrize("name", [n for n in CONFORMANCE if n != "exact"])
def test_conformance_time_limit_returns_best_so_far(name):
    I = Ising.from_coupling_file(f"{BENCH}/sk/SK1_N=40_0.npy")
    t0 = time.perf_counter()
    if name == "cim":      # replicas run in parallel: all of them return their best state so far
        ss = get_oracle("cim", num_steps=10 ** 8).sample(I, num_reads=16, seed=0, time_limit=0.2)
        assert ss.num_reads == 16
    else:                  # reads run one after another: the ones finished in time return
        ss = _oracle(name).sample(I, num_reads=100_000, seed=0, time_limit=0.2)
        assert 1 <= ss.num_reads < 100_000
    wall = time.perf_counter() - t0
    assert ss.info["stop_reason"] == "time_limit"
    assert wall < 10.0                       # generous: a shared machine; the point is that it stopped
    assert np.allclose(ss.energies, I.energy(ss.spins))


def test_exact_time_limit_stops_enumeration():
    q = QUBO(np.random.default_rng(1).normal(size=(22, 22)))
    ss = ExactOracle().sample(q, num_reads=1, time_limit=1e-3)
    assert ss.info["stop_reason"] == "time_limit" and not ss.info["exhaustive"]
    assert np.allclose(ss.energies, q.energy(ss.samples))


@pytest.mark.parametrize("name", CONFORMANCE)
def test_conformance_target_energy_stops_early(name):
    I = Ising.from_coupling_file(f"{BENCH}/sk/SK1_N=20_0.npy")
    target = ExactOracle().sample(I).best_energy + 40.0          # easy: every read reaches it quickly
    ss = _oracle(name).sample(I, num_reads=400, seed=0, target_energy=target)
    assert ss.info["stop_reason"] == "target"
    assert ss.info["success"].any() and ss.num_reads <= 400
    if name not in ("cim", "exact"):     # cim stops all replicas together; exact keeps its lowest states
        assert ss.num_reads < 400


@pytest.mark.parametrize("n", [1, 4, 9, 13])
def test_exact_matches_bruteforce(n):
    rng = np.random.default_rng(n)
    q = QUBO(rng.normal(size=(n, n)), 0.3)
    ss = ExactOracle().sample(q, num_reads=3)
    assert ss.best_energy == pytest.approx(brute_min(q, n))
    assert np.all(np.diff(ss.energies) >= -1e-12)
    ssi = ExactOracle().sample(q.to_ising())
    assert ssi.best_energy == pytest.approx(ss.best_energy)


def test_exact_size_limit():
    with pytest.raises(OracleError, match="n=25"):
        ExactOracle().sample(QUBO(np.zeros((25, 25))))


def test_sa_finds_ground_state_small():
    rng = np.random.default_rng(5)
    q = QUBO(rng.normal(size=(12, 12)))
    ss = get_oracle("sa", num_sweeps=300).sample(q, num_reads=8, seed=0)
    assert ss.best_energy == pytest.approx(brute_min(q, 12))


def test_greedy_is_local_minimum():
    I = Ising.from_coupling_file(f"{BENCH}/sk/SK1_N=40_0.npy")
    ss = get_oracle("greedy").sample(I, num_reads=5, seed=0)
    for s in ss.spins:
        flips = np.tile(s, (I.n, 1))
        flips[np.arange(I.n), np.arange(I.n)] *= -1
        assert np.all(I.energy(flips) >= I.energy(s)[0] - 1e-9)


def test_random_local_flips_around_center():
    q = QUBO(np.zeros((30, 30)))
    c = np.random.default_rng(0).integers(0, 2, 30)
    ss = get_oracle("random-local", max_flips=3).sample(q, num_reads=20, seed=0, center=c)
    d = (ss.samples != c).sum(axis=1)
    assert np.all((d >= 1) & (d <= 3))


def test_registry_defaults_and_bad_inputs():
    assert oracle_defaults("sa")["num_sweeps"] == 300
    assert oracle_defaults("cim")["num_steps"] is None            # automatic: max(8000, 100 n)
    with pytest.raises(OracleError, match="unknown oracle"):
        get_oracle("nope")
    with pytest.raises(OracleError, match="unknown option"):
        get_oracle("sa", num_steps=10)
    with pytest.raises(OracleError):
        get_oracle("cim", num_steps=0)
    with pytest.raises(OracleError):
        get_oracle("sa").sample(object())
    with pytest.raises(OracleError):
        get_oracle("sa").sample(QUBO(np.eye(3)), seed="x")
    with pytest.raises(OracleError):
        get_oracle("sa").sample(QUBO(np.eye(3)), seed=-1)
    with pytest.raises(OracleError, match="unknown sample"):
        get_oracle("sa").sample(QUBO(np.eye(3)), center=[0, 1, 0])


def test_target_success_flags():
    q = QUBO(np.diag([-1.0, -1.0]))
    ss = get_oracle("exact").sample(q, num_reads=4, target_energy=-2.0)
    assert ss.info["success"].tolist() == [True, False, False, False]
    assert ss.info["success_probability"] == 0.25


def test_to_bqm_roundtrip_and_dimod_oracle():
    from solvers.ising.sa import to_bqm
    rng = np.random.default_rng(2)
    q = QUBO(rng.normal(size=(6, 6)), 0.7)
    bqm = to_bqm(q)
    X = np.array(list(itertools.product([0, 1], repeat=6)), dtype=np.uint8)
    assert np.allclose(bqm.energies((X, range(6))), q.energy(X))
    bqm_s = to_bqm(q.to_ising())
    assert np.allclose(bqm_s.energies((2 * X.astype(int) - 1, range(6))), q.energy(X))
    ss = _oracle("dimod").sample(q, num_reads=5, seed=0)
    assert ss.best_energy == pytest.approx(brute_min(q, 6))
    with pytest.raises(OracleError, match="sampler"):
        get_oracle("dimod")
