import itertools

import numpy as np
import pytest
import scipy.sparse as sp

from solvers.ising.problems import QUBO, Ising, ProblemError, load_coupling_matrix

from tests.conftest import ISING as BENCH


def all_x(n):
    return np.array(list(itertools.product([0, 1], repeat=n)), dtype=np.uint8)


def brute_qubo(Q, off, X):
    return np.einsum("ij,jk,ik->i", X, Q, X) + off


@pytest.mark.parametrize("n", [1, 2, 5, 10])
@pytest.mark.parametrize("sparse", [False, True])
def test_qubo_ising_roundtrip_exhaustive(n, sparse):
    rng = np.random.default_rng(n)
    Q = rng.normal(size=(n, n))
    off = rng.normal()
    X = all_x(n)
    ref = brute_qubo(Q, off, X)
    q = QUBO(sp.csr_matrix(Q) if sparse else Q, off)
    assert q.is_sparse == sparse
    assert np.allclose(q.energy(X), ref)
    ising = q.to_ising()
    assert np.allclose(ising.energy(2 * X.astype(int) - 1), ref)
    assert np.allclose(ising.to_qubo().energy(X), ref)
    # stored forms follow the convention
    Qd = q.dense()
    assert np.allclose(Qd, np.triu(Qd))
    Jd = ising.dense_J()
    assert np.allclose(Jd, np.triu(Jd, 1))


@pytest.mark.parametrize("n", [3, 8])
def test_ising_convention_and_diag_folding(n):
    rng = np.random.default_rng(7)
    J = rng.normal(size=(n, n))
    h = rng.normal(size=n)
    I = Ising(h, J, 0.5)
    S = 2 * all_x(n).astype(int) - 1
    # E = s^T J s + h.s + off for the full (non-triangular) input matrix
    ref = np.einsum("ij,jk,ik->i", S, J, S) + S @ h + 0.5
    assert np.allclose(I.energy(S), ref)
    assert np.allclose(I.to_qubo().to_ising().energy(S), ref)


def test_single_row_and_shape_errors():
    q = QUBO(np.eye(3))
    assert q.energy(np.array([1, 0, 1])).shape == (1,)
    with pytest.raises(ProblemError):
        q.energy(np.ones((2, 4)))
    with pytest.raises(ProblemError):
        QUBO(np.ones((2, 3)))
    with pytest.raises(ProblemError):
        Ising(np.zeros(2), np.array([[0, np.nan], [0, 0]]))
    with pytest.raises(ProblemError):
        Ising(np.zeros(3), np.zeros((2, 2)))
    assert issubclass(ProblemError, ValueError)


def test_file_convention_sk():
    J_file = np.load(f"{BENCH}/sk/SK1_N=20_0.npy")
    I = Ising.from_coupling_file(f"{BENCH}/sk/SK1_N=20_0.npy")
    rng = np.random.default_rng(0)
    S = rng.choice([-1, 1], size=(50, 20))
    assert np.allclose(I.energy(S), -0.5 * np.einsum("ij,jk,ik->i", S, J_file, S))
    assert np.allclose(I.dense_J(), -np.triu(J_file, 1))


def test_maxcut_cut_formula(tmp_path):
    # 4-cycle, unit weights: best cut 4
    p = tmp_path / "c4.txt"
    p.write_text("4 4\n1 2 1\n2 3 1\n3 4 1\n4 1 1\n")
    I = Ising.from_coupling_file(str(p), maxcut=True)
    assert I.info["total_weight"] == 4
    s = np.array([1, -1, 1, -1])
    assert I.cut(I.energy(s))[0] == 4
    s = np.ones(4)
    assert I.cut(I.energy(s))[0] == 0
    # explicit cut count agrees for random states
    A = load_coupling_matrix(str(p)).toarray()
    rng = np.random.default_rng(1)
    S = rng.choice([-1, 1], size=(10, 4))
    cuts = np.array([(A * (si[:, None] != si[None, :])).sum() / 2 for si in S])
    assert np.allclose(I.cut(I.energy(S)), cuts)


def test_loaders_npz_and_gset():
    I = Ising.from_coupling_file(f"{BENCH}/maxcut50/MC50_N=200_1.npz", maxcut=True)
    assert I.n == 200
    g = Ising.from_coupling_file(f"{BENCH}/gset/G1.txt", maxcut=True)
    assert g.n == 800 and g.info["total_weight"] == 19176 and g.is_sparse
    with pytest.raises(ProblemError):
        Ising.from_coupling_file(f"{BENCH}/does_not_exist.npy")
