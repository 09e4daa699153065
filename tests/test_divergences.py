import math

import numpy as np
import pytest
from scipy import integrate, stats

import gan_tutor as gt


def gaussian_kl(m1, s1, m2, s2):
    return math.log(s2 / s1) + (s1**2 + (m1 - m2) ** 2) / (2 * s2**2) - 0.5


@pytest.mark.parametrize("m1,s1,m2,s2", [(0, 1, 1, 1), (0, 1, 0, 2), (-1, 0.5, 2, 1.5)])
def test_kl_of_gaussians_on_a_grid_matches_closed_form(m1, s1, m2, s2):
    # wide enough that the tails are negligible, narrow enough that no density underflows to 0
    x = np.linspace(-14, 14, 200_001)
    p, q = stats.norm.pdf(x, m1, s1), stats.norm.pdf(x, m2, s2)
    assert p.min() > 0 and q.min() > 0
    assert gt.kl(p, q, x=x) == pytest.approx(gaussian_kl(m1, s1, m2, s2), abs=1e-7)
    assert gt.kl(q, p, x=x) == pytest.approx(gaussian_kl(m2, s2, m1, s1), abs=1e-7)


def test_kl_is_infinite_where_supports_disagree():
    assert gt.kl([0.5, 0.5, 0.0], [1.0, 0.0, 0.0]) == math.inf
    # the other direction is finite: Q's support lies inside P's
    assert gt.kl([1.0, 0.0, 0.0], [0.5, 0.5, 0.0]) == pytest.approx(math.log(2))


def test_js_of_disjoint_supports_is_log2_and_tv_is_one():
    x = np.linspace(-3, 3, 6001)
    p = ((x > -2) & (x < -1)).astype(float)
    q = ((x > 1) & (x < 2)).astype(float)
    p, q = p / np.trapezoid(p, x), q / np.trapezoid(q, x)
    assert gt.js(p, q, x=x) == pytest.approx(math.log(2), abs=1e-12)
    assert gt.tv(p, q, x=x) == pytest.approx(1.0, abs=1e-9)
    assert gt.js([1, 0], [0, 1]) == pytest.approx(math.log(2))


def test_discrete_values_by_hand():
    p, q = [0.5, 0.25, 0.25], [0.25, 0.5, 0.25]
    kl = 0.5 * math.log(2) + 0.25 * math.log(0.5)
    assert gt.kl(p, q) == pytest.approx(kl)
    m = [0.375, 0.375, 0.25]
    js = 0.5 * sum(a * math.log(a / b) for a, b in zip(p, m))
    js += 0.5 * sum(a * math.log(a / b) for a, b in zip(q, m))
    assert gt.js(p, q) == pytest.approx(js)
    assert gt.js(p, q) == pytest.approx(gt.js(q, p))
    assert gt.tv(p, q) == pytest.approx(0.25)
    assert gt.entropy([0.5, 0.5]) == pytest.approx(math.log(2))
    assert gt.kl(p, p) == 0 and gt.js(p, p) == 0


def test_bad_input_is_explained():
    with pytest.raises(ValueError, match="sums to"):
        gt.kl([0.5, 0.6], [0.5, 0.5])
    with pytest.raises(ValueError, match="same shape"):
        gt.js([1.0], [0.5, 0.5])
    with pytest.raises(ValueError, match="non-negative"):
        gt.tv([1.5, -0.5], [0.5, 0.5])
    with pytest.raises(ValueError, match="increasing grid"):
        gt.kl([1, 1], [1, 1], x=[1, 0])


def js_by_quad(p, q, lo, hi):
    """JS between two scipy densities by adaptive quadrature (no grid)."""
    def integrand(t):
        a, b = p.pdf(t), q.pdf(t)
        m = 0.5 * (a + b)
        return 0.5 * (a * math.log(a / m) if a > 0 else 0.0) + 0.5 * (b * math.log(b / m) if b > 0 else 0.0)

    val, err = integrate.quad(integrand, lo, hi, points=[0.0, 1.0], limit=400, epsabs=1e-13, epsrel=1e-12)
    assert err < 1e-10
    return val


@pytest.mark.parametrize("m2,s2", [(1.0, 1.0), (1.0, 1.5), (4.0, 0.3)])
def test_js_of_gaussians_matches_quadrature(m2, s2):
    x = np.linspace(-15, 15, 150_001)
    p, q = stats.norm(0, 1), stats.norm(m2, s2)
    truth = js_by_quad(p, q, -15, 15)
    assert 0 < truth < math.log(2)
    assert gt.js(p.pdf(x), q.pdf(x), x=x) == pytest.approx(truth, abs=1e-9)


def test_tv_and_entropy_of_gaussians_closed_form():
    x = np.linspace(-14, 16, 150_001)
    for mu in (0.5, 2.0, 5.0):  # equal variances: TV = 2 Phi(mu / 2) - 1
        tv = gt.tv(stats.norm.pdf(x), stats.norm.pdf(x, mu), x=x)
        assert tv == pytest.approx(2 * stats.norm.cdf(mu / 2) - 1, abs=1e-8)  # |p - q| has a kink
    for s in (0.3, 1.0, 2.0):  # differential entropy 0.5 log(2 pi e s^2)
        h = gt.entropy(stats.norm.pdf(x, 1.0, s), x=x)
        assert h == pytest.approx(0.5 * math.log(2 * math.pi * math.e * s**2), abs=1e-9)


def test_density_that_does_not_integrate_to_one_is_refused():
    x = np.linspace(-2, 2, 4001)  # misses 4.6% of N(0, 1)
    p = stats.norm.pdf(x)
    for fn in (gt.kl, gt.js, gt.tv):
        with pytest.raises(ValueError, match=r"density p integrates to 0\.9545 on the grid x \[-2, 2\]"):
            fn(p, p / np.trapezoid(p, x), x=x)
    with pytest.raises(ValueError, match="widen the grid"):
        gt.entropy(p, x=x)
    wide = np.linspace(-10, 10, 4001)
    with pytest.raises(ValueError, match=r"density q integrates to 2 .*normalise it"):
        gt.kl(stats.norm.pdf(wide), 2 * stats.norm.pdf(wide), x=wide)
    with pytest.raises(ValueError, match=r"integrates to 1\.99.*refine it"):  # narrower than the step
        gt.entropy(stats.norm.pdf(wide, 0, 1e-3), x=wide)
    # the tolerance: 0.1% of missing or extra mass
    g = stats.norm.pdf(wide)
    gt.kl(g * (1 + 0.9e-3), g, x=wide)
    with pytest.raises(ValueError, match="tolerance 0.001"):
        gt.kl(g * (1 + 1.1e-3), g, x=wide)


def test_js_is_clamped_only_for_rounding():
    x = np.linspace(-3, 3, 6001)
    p = ((x > -2) & (x < -1)).astype(float)
    q = ((x > 1) & (x < 2)).astype(float)
    p, q = p / np.trapezoid(p, x), q / np.trapezoid(q, x)
    assert gt.js(p, p, x=x) == 0.0
    # disjoint densities carrying 0.09% too much mass (inside the mass tolerance): the raw JS is
    # log 2 * 1.0009, which a clamp would hide
    with pytest.raises(ValueError, match=r"lies outside \[0, log 2"):
        gt.js(1.0009 * p, 1.0009 * q, x=x)
    # probability vectors within the sum tolerance (float32 rounding) are normalised first
    p32 = np.array([0.5000004, 0.5, 0.0, 0.0])
    assert gt.js(p32, [0.0, 0.0, 0.5, 0.5]) == pytest.approx(math.log(2), abs=1e-15)
    assert gt.kl(p32, [0.25] * 4) == pytest.approx(math.log(2), abs=1e-12)


def test_grid_must_be_finite_and_increasing():
    with pytest.raises(ValueError, match="increasing grid"):
        gt.kl([0.5, 0.5], [0.5, 0.5], x=[0.0, np.nan])
    with pytest.raises(ValueError, match="increasing grid"):
        gt.kl([0.5, 0.5], [0.5, 0.5], x=[0.0, 1.0, 2.0])
