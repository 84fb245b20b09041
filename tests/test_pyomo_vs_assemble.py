"""The explicit Pyomo model (extracted through pyomo.repn) and the direct assembler give the same QCBO."""
import numpy as np
import pytest
from hypothesis import given, settings, HealthCheck, strategies as st

from qcbo_model.assemble import assemble
from qcbo_model.extract import from_pyomo
from qcbo_model.fip import FIPNetwork
from qcbo_model.pyomo_model import build_pyomo, show_constraint
from qcbo_model.qcbo import QCBO
from qcbo_model.spec import NetworkSpec
from tests.conftest import tiny_data

TOL = 1e-12


def assert_same(a: QCBO, b: QCBO, rng, cases=64):
    d = a.compare(b)
    assert d["lb_inf_match"] and d["ub_inf_match"]
    for k in ("Q", "c", "const", "A", "P"):
        assert d[k] <= TOL, (k, d[k])
    for k in ("lb", "ub"):
        assert d[k] <= 1e-10, (k, d[k])
    X = rng.integers(0, 2, (cases, a.n))
    np.testing.assert_allclose(a.objective(X), b.objective(X), atol=1e-10)
    np.testing.assert_allclose(a.constraint_values(X), b.constraint_values(X), atol=1e-9)


@st.composite
def specs(draw):
    n_hidden = draw(st.integers(0, 2))
    hidden = tuple(draw(st.integers(1, 3)) for _ in range(n_hidden))
    L = n_hidden + 1
    bits = tuple(draw(st.sampled_from(["1", "2", "t"])) for _ in range(L))
    intervals = tuple(draw(st.integers(1, 4)) for _ in range(L))
    input_bits = draw(st.sampled_from([None, 1, 2]))
    act = draw(st.sampled_from(["tanh", "sign", "relu", "sigmoid", "gelu", "silu", "hardtanh"]))
    loss = draw(st.sampled_from(["logistic", "squared_hinge", "mse"]))
    bias = draw(st.booleans())
    brk = draw(st.sampled_from(["uniform", "quantile"]))
    out_lin = n_hidden == 0 and draw(st.booleans())
    N = draw(st.integers(2, 4))
    d = draw(st.integers(1, 3))
    seed = draw(st.integers(0, 1000))
    spec = NetworkSpec(input_dim=d, hidden=hidden, bits=bits, intervals=intervals, input_bits=input_bits,
                       activation=act, loss=loss, bias=bias, breakpoints=brk,
                       output_spline="linear" if out_lin else "constant", seed=seed)
    return spec, N, seed


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs())
def test_pyomo_equals_assembler(case):
    spec, N, seed = case
    X, y = tiny_data(N=N, d=spec.input_dim, seed=seed)
    net = FIPNetwork(spec, X, y)
    rng = np.random.default_rng(seed)
    for form in ("interval", "exact") if spec.on_grid else ("interval",):
        a = assemble(net, form)
        b = from_pyomo(build_pyomo(net, form))
        assert a.var_names == b.var_names
        assert a.con_names == b.con_names
        assert list(a.con_family) == list(b.con_family)
        assert np.array_equal(a.nonneg, b.nonneg)
        assert_same(a, b, rng)


def test_fashion_mnist_build_agrees(fashion):
    from qcbo_model.problem import build_problem
    X, y = fashion
    spec = NetworkSpec(input_dim=X.shape[1], hidden=(3,), bits=(1, 2), intervals=(4, 8), input_bits=2)
    for form in ("interval", "exact"):
        p = build_problem(X, y, spec, form)
        assert_same(p.qcbo, from_pyomo(p.pyomo_model()), np.random.default_rng(1))
        assert p.qcbo.n == p.layout.n


def test_show_constraint_by_indices(tiny_net):
    q = assemble(tiny_net)
    m = build_pyomo(tiny_net)
    r = q.find("interval_upper", 1, 2, 1)
    assert q.con_names[r] == "interval_upper[1,2,1]"
    text = q.show(r)
    assert text.startswith("interval_upper[1,2,1]:") and "<=" in text and "delta[1,2,1,1]" in text
    assert "interval_upper[1,2,1]" in show_constraint(m, "interval_upper", 1, 2, 1)


def test_save_load_roundtrip(tmp_path, tiny_net):
    q = assemble(tiny_net)
    q.save(tmp_path / "q.npz")
    q2 = QCBO.load(tmp_path / "q.npz")
    assert_same(q, q2, np.random.default_rng(0))
    assert q2.meta["form"] == "interval"
    assert set(q2.groups) == set(q.groups)


def test_lp_and_latex_export(tmp_path, tiny_net):
    from qcbo_model.pyomo_model import to_latex
    m = build_pyomo(tiny_net)
    m.write(str(tmp_path / "m.lp"), io_options={"symbolic_solver_labels": True})
    txt = (tmp_path / "m.lp").read_text()
    assert "interval_upper" in txt and "binary" in txt.lower()
    tex = to_latex(m)
    assert "\\begin{" in tex and "delta" in tex
