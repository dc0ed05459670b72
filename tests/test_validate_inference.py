"""The validation's tests and intervals (abm/validate/inference.py, power.py) against textbook
values and the libraries that define them, and their error rates on data whose truth is known."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as scipy_stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.weightstats import ttost_ind

from abm.validate import inference, power
from abm.validate.stats import holm

# Freireich et al. 1963, 6-MP vs placebo remission times (weeks), the textbook log-rank example
# (Kleinbaum & Klein, Survival Analysis, ch. 2: log-rank chi-square 16.79).
SIX_MP_EVENTS = [6, 6, 6, 7, 10, 13, 16, 22, 23]
SIX_MP_CENSORED = [6, 9, 10, 11, 17, 19, 20, 25, 32, 32, 34, 35]
PLACEBO = [1, 1, 2, 2, 3, 4, 4, 5, 5, 8, 8, 8, 8, 11, 11, 12, 12, 15, 17, 22, 23]


def test_logrank_matches_the_textbook_example_and_is_one_sided():
    six_mp_times = np.array(SIX_MP_EVENTS + SIX_MP_CENSORED, float)
    six_mp_events = np.array([True] * len(SIX_MP_EVENTS) + [False] * len(SIX_MP_CENSORED))
    placebo_times, placebo_events = np.array(PLACEBO, float), np.ones(len(PLACEBO), bool)
    later = inference.logrank(six_mp_times, six_mp_events, placebo_times, placebo_events, "later")
    assert later.p == pytest.approx(scipy_stats.norm.sf(np.sqrt(16.79)), rel=0.01)
    assert inference.logrank(placebo_times, placebo_events, six_mp_times, six_mp_events, "later").p > 0.99
    none = np.zeros(5, bool)
    assert not inference.logrank(np.ones(5), none, np.ones(5), none, "later").defined  # no event anywhere


def test_holm_matches_the_textbook_and_statsmodels():
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    many = np.random.default_rng(3).uniform(0, 0.2, 25)
    assert holm(many) == pytest.approx(multipletests(many, method="holm")[1])


def test_equivalence_is_tost_on_the_log_scale():
    rng = np.random.default_rng(1)
    a, b = rng.lognormal(1.0, 0.2, 30), rng.lognormal(1.0, 0.25, 30)
    result = inference.equivalence_log(a, b, margin_log=0.2)
    reference = ttost_ind(np.log(a), np.log(b), -0.2, 0.2, usevar="unequal")[0]
    assert result.p == pytest.approx(reference, rel=1e-9) and result.p < 0.05
    assert inference.equivalence_log(a * 1.5, b, margin_log=0.2).p > 0.5  # 1.5x apart: not equivalent
    small = inference.equivalence_log(a[:3], b[:3], margin_log=0.2)
    assert small.p > 0.05  # no power: no claim of equivalence


def test_count_equivalence_is_tost_on_the_count_models_log_rate_ratio():
    rng = np.random.default_rng(2)
    a, b = rng.poisson(5.0, 30), rng.poisson(5.0, 30)
    result = inference.equivalence_count(a, b, margin_log=0.5)
    fitted = inference._negative_binomial(a, b)
    coef, se = fitted[:2] if fitted is not None else inference._poisson_glm(a, b)
    expected = max(scipy_stats.norm.sf((coef + 0.5) / se), scipy_stats.norm.cdf((coef - 0.5) / se))
    assert result.p == pytest.approx(expected) and result.p < 0.05
    assert result.low < result.estimate < result.high and "90 % CI" in result.effect
    assert inference.equivalence_count(rng.poisson(15.0, 30), b, margin_log=0.5).p > 0.5  # 3x apart
    assert inference.equivalence_count(a[:4], b[:4], margin_log=0.1).p > 0.05  # no power, no claim
    none = inference.equivalence_count(np.zeros(30), b, margin_log=0.5)
    assert none.p is None or not np.isfinite(none.p)  # an arm without events: undefined, not a verdict


def test_count_model_is_a_negative_binomial_glm_with_a_sound_error_rate():
    """Under the null (same NB in both arms) one-sided p < 0.05 in about 5 % of 200 studies of 30 vs
    30 runs; with a true rate ratio of 0.5 nearly always."""
    rng = np.random.default_rng(5)

    def draw(mean, n=30, alpha=0.5):
        return rng.negative_binomial(1 / alpha, 1 / (1 + alpha * mean), n).astype(float)

    null = [inference.count_model(draw(4), draw(4), "less").p for _ in range(200)]
    assert np.mean(np.array(null) < 0.05) < 0.10
    halved = [inference.count_model(draw(2), draw(4), "less") for _ in range(20)]
    assert np.mean([h.p < 0.05 for h in halved]) > 0.8
    assert all("negative binomial" in h.effect for h in halved)
    covered = np.mean([h.low <= 0.5 <= h.high for h in halved])
    assert covered >= 0.8


def test_count_model_falls_back_to_the_exact_poisson_test_when_an_arm_has_no_event():
    zero, some = np.zeros(10), np.full(10, 3.0)
    result = inference.count_model(zero, some, "less")
    assert "exact conditional Poisson" in result.effect and result.p < 1e-6
    assert result.estimate == 0 and result.high < 1
    both_zero = inference.count_model(zero, zero, "less")
    assert both_zero.p == pytest.approx(1.0) and not both_zero.defined


def test_fisher_and_binomial_match_scipy():
    a, b = np.array([1] * 8 + [0] * 2, bool), np.array([1] * 2 + [0] * 8, bool)
    result = inference.fisher(a, b, "greater")
    assert result.p == pytest.approx(scipy_stats.fisher_exact([[8, 2], [2, 8]], alternative="greater").pvalue)
    assert result.estimate == pytest.approx(0.6) and result.low < 0.6 < result.high
    share = inference.binomial(np.zeros(30, bool), 0.5, "less")
    assert share.p == pytest.approx(0.5**30) and share.high == pytest.approx(1 - 0.025 ** (1 / 30))


def test_bca_interval_is_reproducible_and_covers_the_true_ratio():
    rng = np.random.default_rng(4)
    covered = 0
    for _ in range(40):
        a, b = rng.normal(20, 4, 30), rng.normal(10, 2, 30)  # true ratio of means: 2
        result = inference.mann_whitney(a, b, "greater")
        assert (result.low, result.high) == inference.bca(inference.ratio_of_means, [a, b])  # fixed seed
        covered += result.low <= 2.0 <= result.high
    assert covered >= 34  # a 95 % interval: about 38 of 40; fewer than 34 would be 3 SD off


def test_a_ratio_with_a_zero_mean_is_undefined_not_a_number():
    result = inference.mann_whitney(np.ones(5), np.zeros(5), "greater")
    assert not result.defined and "mean is 0" in result.text()


def test_wilcoxon_is_paired_by_run_and_spearman_reads_the_dose_order():
    single = np.array([0.30, 0.25, 0.35, 0.28, 0.32, 0.27, 0.31, 0.29])
    assert inference.wilcoxon_paired(single - 0.1, single, "less").p < 0.01
    assert inference.wilcoxon_paired(single, single, "less").p == 1.0
    doses = np.repeat(np.arange(4), 10)
    falling = 10 - 2 * doses + np.random.default_rng(6).normal(0, 1, 40)
    result = inference.spearman_dose(doses, falling, "less")
    assert result.p < 1e-6 and result.high < 0


def test_minimum_detectable_effect_is_the_normal_power_solution():
    """The Mann-Whitney MDE is the two-sample z-test's effect size over the rank test's efficiency."""
    rng = np.random.default_rng(7)
    a, b = rng.normal(10, 2, 30), rng.normal(10, 2, 30)
    d = NormalIndPower().solve_power(nobs1=30, alpha=0.01, power=0.8, alternative="larger")
    text = power.mde_text("mann_whitney", 0.01, [a, b])
    assert f"d = {d / np.sqrt(3 / np.pi):.2f} SD" in text
    few, many = (power.mde_text("count_model", 0.01, [np.full(n, 4.0), np.full(n, 4.0)], 0.3) for n in (8, 30))
    assert float(few.split()[2]) < float(many.split()[2]) < 1  # more seeds: a smaller detectable drop
