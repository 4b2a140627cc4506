"""``janus_core.portable``: accuracy against independent references (math, scipy), the same bits as
a scalar pure-Python evaluation, and the samplers' distributions."""

from __future__ import annotations

import math
import struct

import numpy as np
import pytest
import reference_market as ref
from scipy import special, stats

from janus_core.data import portable


def bits(x: float) -> bytes:
    return struct.pack("<d", x)


@pytest.fixture(scope="module")
def inputs():
    rng = np.random.default_rng(7)
    return {
        "exp": np.concatenate([rng.uniform(-700, 700, 20000), rng.uniform(-2, 2, 20000), [0.0, -0.0, 1e-300]]),
        "log": np.concatenate([np.exp(rng.uniform(-700, 700, 20000)), rng.uniform(0.5, 2.0, 20000), [1.0, 2.0]]),
        "ndtri": np.concatenate([portable.uniform(np.random.PCG64(3), 40000), [2.0**-53, 0.5, 1 - 2.0**-53]]),
    }


def test_pure_python_pcg64_gives_numpy_raw_bits():
    """The raw bits are integer arithmetic only: a Python-int PCG64 reproduces numpy's stream, and
    its jump-ahead lands on the same draw as stepping."""
    seq = np.random.SeedSequence(20260221).spawn(2)[1]
    raw = np.random.PCG64(seq).random_raw(1000).tolist()
    state = np.random.PCG64(seq).state["state"]
    mine = ref.Pcg64(state["state"], state["inc"])
    assert mine.take(1000) == raw
    assert [mine.at(i) for i in (0, 1, 499, 999)] == [raw[0], raw[1], raw[499], raw[999]]


def test_exp_log_within_a_few_ulp_of_libm(inputs):
    x = inputs["exp"]
    want = np.array([math.exp(v) for v in x])
    assert np.max(np.abs(portable.exp(x) - want) / np.spacing(want)) <= 2
    y = inputs["log"]
    want = np.array([math.log(v) for v in y])
    got = portable.log(y)
    assert got[-2] == 0.0
    err = np.abs(got - want) / np.maximum(np.spacing(np.abs(want)), np.spacing(1.0) * 1e-300)
    assert np.max(err[:-2]) <= 4


def test_ndtri_matches_scipy(inputs):
    u = inputs["ndtri"]
    got, want = portable.ndtri(u), special.ndtri(u)
    assert got[-2] == 0.0
    nonzero = want != 0
    assert np.max(np.abs(got[nonzero] - want[nonzero]) / np.abs(want[nonzero])) < 5e-15
    assert np.all(np.diff(portable.ndtri(np.sort(u))) >= 0)  # monotone


@pytest.mark.parametrize("name", ["exp", "log", "ndtri"])
def test_vectorised_functions_equal_scalar_python_bit_for_bit(inputs, name):
    x = inputs[name]
    vector = getattr(portable, name)(x)
    scalar = [getattr(ref, name)(float(v)) for v in x]
    assert [bits(v) for v in vector.tolist()] == [bits(v) for v in scalar]


def test_uniform_grid_open_interval_and_layout():
    u = portable.uniform(np.random.PCG64(11), (400, 3))
    raw = np.random.PCG64(11).random_raw(1200).tolist()
    assert u.shape == (400, 3) and [bits(v) for v in u.ravel().tolist()] == [bits(ref.u_of(r)) for r in raw]
    assert 0.0 < u.min() and u.max() < 1.0
    k = u.ravel() * 2.0**53
    assert np.all(k == np.floor(k)) and np.all(k % 2 == 1)  # odd multiples of 2^-53


def test_sampler_distributions_have_the_known_moments():
    n = 200_000
    z = portable.standard_normal(np.random.PCG64(1), n)
    assert abs(z.mean()) < 5 / math.sqrt(n) and abs(z.std() - 1) < 0.01
    assert stats.kstest(z, "norm").pvalue > 1e-4
    t = portable.student_t(np.random.PCG64(2), 5, n)
    assert stats.kstest(t, stats.t(5).cdf).pvalue > 1e-4
    g = portable.erlang(np.random.PCG64(3), 2, n)
    assert stats.kstest(g, stats.gamma(2).cdf).pvalue > 1e-4
    geo = portable.geometric(np.random.PCG64(4), 1 / 3, n)
    assert geo.min() == 1 and abs(geo.mean() - 3) < 0.03
    assert abs(np.mean(geo == 1) - 1 / 3) < 0.005 and abs(np.mean(geo == 2) - 2 / 9) < 0.005
    cat = portable.categorical(np.random.PCG64(5), (0.2, 0.0, 0.8), n)
    share = np.bincount(cat, minlength=3) / n
    assert share[1] == 0 and abs(share[0] - 0.2) < 0.005
    ints = portable.integers(np.random.PCG64(6), 7, n)
    assert set(np.unique(ints)) == set(range(7))


def test_student_t_and_erlang_layout():
    """``dof + 1`` (``k``) raw draws per variate, numerator first, in C order."""
    t = portable.student_t(np.random.PCG64(8), 4, (2, 3))
    z = portable.standard_normal(np.random.PCG64(8), (2, 3, 5))
    chi2 = z[..., 1] ** 2 + z[..., 2] ** 2 + z[..., 3] ** 2 + z[..., 4] ** 2
    assert np.allclose(t, z[..., 0] / np.sqrt(chi2 / 4), rtol=1e-14)
    g = portable.erlang(np.random.PCG64(9), 3, 4)
    u = portable.uniform(np.random.PCG64(9), (4, 3))
    assert np.allclose(g, -np.log(u).sum(axis=1), rtol=1e-14)


def test_domain_errors():
    with pytest.raises(ValueError, match="outside"):
        portable.exp(np.array([800.0]))
    with pytest.raises(ValueError, match="positive normal"):
        portable.log(np.array([0.0]))
    with pytest.raises(ValueError, match="sum to zero"):
        portable.categorical(np.random.PCG64(1), (0.0, 0.0), 3)
    with pytest.raises(ValueError, match="p must be"):
        portable.geometric(np.random.PCG64(1), 0.0, 3)
