import math

import numpy as np
import pytest
from scipy import stats

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
    js = 0.5 * sum(a * math.log(a / b) for a, b in zip(p, m)) + 0.5 * sum(a * math.log(a / b) for a, b in zip(q, m))
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
