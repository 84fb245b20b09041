"""qcbo_qnn.CIMSampler is a dimod Sampler: dimod's own conformance tests plus seeds and options."""
import unittest

import dimod
import dimod.testing
import numpy as np
import pytest

from qcbo_qnn import CIMSampler
from solvers.ising.base import OracleError


def _fast():
    return CIMSampler(num_steps=300)


@dimod.testing.load_sampler_bqm_tests(_fast)
class TestCIMSamplerConformance(unittest.TestCase):
    def test_api(self):
        dimod.testing.assert_sampler_api(CIMSampler())


def test_ground_state_seed_and_labels():
    bqm = dimod.generators.ran_r(1, 12, seed=3)
    bqm.relabel_variables({v: f"q{v}" for v in bqm.variables})
    ref = dimod.ExactSolver().sample(bqm).first.energy
    a = CIMSampler().sample(bqm, num_reads=8, seed=5)
    b = CIMSampler().sample(bqm, num_reads=8, seed=5)
    assert a.first.energy == pytest.approx(ref)
    assert np.array_equal(a.record.sample, b.record.sample)
    assert set(a.variables) == set(bqm.variables) and len(a) == 8
    dimod.testing.assert_sampleset_energies(a, bqm)


def test_binary_offsets_options_and_errors():
    bqm = dimod.BQM({"a": 1.0, "b": -2.0}, {("a", "b"): 3.0}, 0.5, "BINARY")
    ss = CIMSampler(num_steps=200).sample(bqm, num_reads=4, seed=0, scheme="ahc", precision_bits="qboson-8")
    assert ss.vartype is dimod.BINARY and ss.first.energy == pytest.approx(-1.5)
    ss = CIMSampler().sample(bqm, num_reads=3, seed=0, target_energy=-1.5, time_limit=5.0)
    assert ss.info["stop_reason"] == "target"
    assert "num_steps" in CIMSampler().parameters and "time_limit" in CIMSampler().parameters
    with pytest.raises(OracleError):
        CIMSampler().sample(bqm, bogus=1)
    with pytest.raises(OracleError):
        CIMSampler(backend="nope")
