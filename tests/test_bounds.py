"""The theory's bounds against measurements: approximation error, spin count, sample complexity, TTS."""
import json
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from qcbo_model.assemble import assemble
from qcbo_model.fip import FIPNetwork
from qcbo_model.forward import codes_from_bits
from qcbo_model.spec import NetworkSpec
from validation import bounds as B


def _data(N, d, seed):
    rng = np.random.default_rng(seed)
    X = rng.random((N, d))
    y = np.where(np.arange(N) % 2 == 0, 1, -1)
    return X, y


specs = st.fixed_dictionaries({
    "d": st.integers(2, 5),
    "N": st.integers(2, 6),
    "hidden": st.lists(st.integers(1, 3), min_size=0, max_size=2),
    "act": st.sampled_from(["tanh", "sigmoid", "relu", "hardtanh", "gelu", "silu", "identity", "sign"]),
    "loss": st.sampled_from(["logistic", "squared_hinge", "mse"]),
    "bits": st.sampled_from(["1", "2", "t"]),
    "K": st.integers(1, 5),
    "grid": st.sampled_from([None, 1, 2, 3]),
    "bias": st.booleans(),
    "bp": st.sampled_from(["uniform", "quantile"]),
    "seed": st.integers(0, 1000),
})


def _net(p):
    L = len(p["hidden"]) + 1
    X, y = _data(p["N"], p["d"], p["seed"])
    spec = NetworkSpec(input_dim=p["d"], hidden=p["hidden"], activation=p["act"], loss=p["loss"],
                       bits=(p["bits"],) * L, intervals=(p["K"],) * L, input_bits=p["grid"], bias=p["bias"],
                       breakpoints=p["bp"], seed=p["seed"])
    return FIPNetwork(spec, X, y)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs)
def test_measured_deviation_never_exceeds_bounds(p):
    """For random specs and 64 weight assignments: measured <= a-posteriori bound <= worst-case bound."""
    net = _net(p)
    wc = B.approximation_bound(net)
    codes = codes_from_bits(net, B.random_weight_bits(net, 64, seed=p["seed"]))
    dz, dl = B.measured_deviation(net, codes)
    bz, bl = B.assignment_bound(net, codes)
    tol = B.FLOAT_TOL
    assert np.all(dz <= bz * (1 + tol) + tol)
    assert np.all(dl <= bl * (1 + tol) + tol)
    assert np.all(bz <= wc.z_out_per_sample[None] * (1 + tol) + tol)
    assert np.all(bl <= wc.loss_per_sample[None] * (1 + tol) + tol)


def test_bound_is_attained_for_one_hidden_layer_sign_network():
    """Sign activations with one hidden layer: the worst case is reached by extreme weights, so a
    correct bound is tight (tightness 1) and a bound that forgot any term would be exceeded."""
    X, y = _data(6, 3, 0)
    spec = NetworkSpec(input_dim=3, hidden=(2,), activation="sign", bits=(1, 1), intervals=(1, 2), input_bits=1)
    net = FIPNetwork(spec, X, y)
    chk = B.check_approximation(net, n_cases=300, seed=0)
    assert chk["bound_holds"] and chk["a_posteriori_holds"]
    assert chk["tightness"] == pytest.approx(1.0)


def test_check_detects_an_understated_spline_error():
    """Shrinking the spline errors makes the claimed bound false: the check must notice."""
    X, y = _data(6, 3, 1)
    spec = NetworkSpec(input_dim=3, hidden=(3,), bits=(1, 2), intervals=(3, 4), input_bits=2)
    net = FIPNetwork(spec, X, y)
    assert B.check_approximation(net, 100, seed=0)["bound_holds"]
    net.layers[0].errors = 0.3 * net.layers[0].errors
    assert not B.check_approximation(net, 100, seed=0)["bound_holds"]


def test_second_sign_layer_gives_infinite_bound():
    X, y = _data(5, 3, 2)
    spec = NetworkSpec(input_dim=3, hidden=(2, 2), activation="sign", bits=(1,), intervals=(1, 2, 2), input_bits=1)
    b = B.approximation_bound(FIPNetwork(spec, X, y))
    assert b.per_layer[1]["dev_z_max"] == "inf" or b.per_layer[1]["dev_z_max"] > 0
    assert math.isinf(b.z_out) and any("discontinuous" in n for n in b.notes)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs)
def test_spin_count_closed_form(p):
    net = _net(p)
    assert B.spin_count_closed_form(net, "interval")["total"] == assemble(net, "interval").n
    sc = B.spin_count_closed_form(net, "interval")
    assert sc["total"] == sc["terms"]["weight_bits"] + net.N * sum(
        net.spec.widths[l] * net.spec.intervals[l - 1] for l in range(1, net.spec.n_layers + 1))
    if net.spec.on_grid:
        q = assemble(net, "exact")
        ex = B.spin_count_closed_form(net, "exact")
        assert ex["total"] == q.n
        assert ex["terms"]["slack_bits"] == q.meta["n_slack_bits"]
        assert ex["terms"]["aux_bits"] == q.meta["n_aux_bits"]
    else:
        with pytest.raises(B.BoundsError):
            B.spin_count_closed_form(net, "exact")


@pytest.mark.parametrize("pb,eps,delta,M", [(210, 0.05, 0.05, 3.1), (10, 0.1, 0.01, 1.0), (1, 0.5, 0.5, 2.0)])
def test_sample_complexity_is_the_smallest_n_of_the_union_bound(pb, eps, delta, M):
    s = B.sample_complexity(pb, eps, delta, M)

    def failure(n):  # union bound over 2^pb networks of Hoeffding at deviation eps/2
        return 2.0 ** pb * 2.0 * math.exp(-2.0 * n * (eps / 2) ** 2 / M ** 2)

    assert failure(s["N"]) <= delta * (1 + 1e-12)
    assert failure(s["N"] - 1) > delta
    u = s["uniform_deviation_N"]
    assert 2.0 ** pb * 2.0 * math.exp(-2.0 * u * eps ** 2 / M ** 2) <= delta * (1 + 1e-12)


def test_hoeffding_holds_in_simulation():
    """Monte Carlo with one hypothesis (|H| = 1): the deviation probability at N(eps, delta) <= delta."""
    rng = np.random.default_rng(0)
    eps, delta, M = 0.2, 0.1, 1.0
    N = B.sample_complexity(0, eps, delta, M)["N"]
    means = rng.binomial(N, 0.3, size=20000) / N        # losses in {0, 1}
    assert np.mean(np.abs(means - 0.3) >= eps / 2) <= delta


def test_bad_inputs_raise_typed_errors():
    with pytest.raises(B.BoundsError):
        B.sample_complexity(10, 0.0, 0.1, 1.0)
    with pytest.raises(B.BoundsError):
        B.sample_complexity(10, 0.1, 1.5, 1.0)
    with pytest.raises(B.BoundsError):
        B.tts(1.0, 1.2)
    with pytest.raises(B.BoundsError):
        B.qcgd_time_to_solution([])
    with pytest.raises(B.BoundsError):
        B.qcgd_time_to_solution([{"success": True}])


def test_tts_formula_and_simulation():
    assert B.tts99(2.0, 1.0) == 2.0
    assert math.isinf(B.tts99(2.0, 0.0))
    assert B.tts99(1.0, 0.5) == pytest.approx(math.log(0.01) / math.log(0.5))
    assert B.tts99(1.0, 0.999) == 1.0                   # at least one call
    # the 99th percentile of calls-to-first-success of Bernoulli(p) is ~ ln(0.01)/ln(1-p)
    rng = np.random.default_rng(1)
    p = 0.1
    calls = rng.geometric(p, size=200000)
    assert np.quantile(calls, 0.99) == pytest.approx(B.tts99(1.0, p), rel=0.03)


def test_qcgd_time_to_solution_from_trace():
    trace = [{"oracle_time_s": 0.5, "success": i % 2 == 0} for i in range(10)]
    r = B.qcgd_time_to_solution(trace, wall_time_s=8.0)
    assert r["success_probability"] == 0.5 and r["t_call_s"] == 0.5
    assert r["predicted_total_s"] == pytest.approx(10 * 0.5 * math.log(0.01) / math.log(0.5))
    assert r["measured_oracle_s"] == 5.0
    r2 = B.qcgd_time_to_solution([(0.5, True), (0.5, False)])
    assert r2["success_probability"] == 0.5
    r3 = B.qcgd_time_to_solution([{"time_s": 1.0, "successes": 3, "reads": 4}])
    assert r3["success_probability"] == 0.75 and r3["t_call_s"] == 0.25


def test_bounds_cli(tmp_path, fashion, capsys):
    from qcbo_qnn.cli import main
    out = tmp_path / "b.json"
    trace = tmp_path / "trace.json"
    trace.write_text(json.dumps([{"oracle_time_s": 0.1, "success": True}, {"oracle_time_s": 0.1, "success": False}]))
    rc = main(["bounds", "--classes", "0,1", "--n-train", "8", "--hidden", "2", "--cases", "40",
               "--trace", str(trace), "--json", str(out)])
    assert rc == 0
    r = json.loads(out.read_text())
    for k in ("approx_error_bound", "measured_max_deviation", "spin_count", "spin_count_formula",
              "sample_complexity", "spin_bound", "tightness", "time_to_solution"):
        assert k in r
    assert r["measured_max_deviation"] <= r["approx_error_bound"] * (1 + 1e-9) + 1e-9
    assert r["spin_count"] == r["spin_count_formula"]
    assert r["sample_complexity"]["epsilon"] == 0.05 and r["sample_complexity"]["delta"] == 0.05
    text = capsys.readouterr().out
    assert "measured max deviation" in text and "N(eps, delta)" in text


def test_qcgd_trace_with_cumulative_time_and_success_callable():
    """solvers.qcgd traces carry cumulative ``time_s`` and no success flag."""
    trace = [{"iteration": t, "time_s": 0.2 * t, "oracle_energy": -1.0 if t % 4 else 0.0} for t in range(1, 9)]
    with pytest.raises(B.BoundsError):
        B.qcgd_time_to_solution(trace)
    r = B.qcgd_time_to_solution(trace, success=lambda e: e["oracle_energy"] <= -1.0)
    assert r["t_call_s"] == pytest.approx(0.2) and r["success_probability"] == 0.75
    assert r["measured_oracle_s"] == pytest.approx(1.6)
