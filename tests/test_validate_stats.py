"""The validation's statistics (abm/validate/stats.py, checks.py) against known values and library
references, and criteria fed synthetic per-run metrics whose truth is known."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as scipy_stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.weightstats import ttost_ind

from abm.validate import criteria
from abm.validate.checks import Check, adjust_holm, decided_by_p
from abm.validate.stats import (bootstrap_ci, holm, logrank_later, ratio_of_means, tost_welch, wilcoxon_less)
from validate_helpers import synthetic_study

# Freireich et al. 1963, 6-MP vs placebo remission times (weeks), the textbook log-rank example
# (Kleinbaum & Klein, Survival Analysis, ch. 2: log-rank chi-square 16.79).
SIX_MP_EVENTS = [6, 6, 6, 7, 10, 13, 16, 22, 23]
SIX_MP_CENSORED = [6, 9, 10, 11, 17, 19, 20, 25, 32, 32, 34, 35]
PLACEBO = [1, 1, 2, 2, 3, 4, 4, 5, 5, 8, 8, 8, 8, 11, 11, 12, 12, 15, 17, 22, 23]


# ------------------------------------------------------------------ helpers against references

def test_tost_shows_equivalence_of_equal_samples_and_rejects_it_for_different_ones():
    rng = np.random.default_rng(1)
    a, b = rng.normal(10, 1, 40), rng.normal(10, 1.5, 30)
    same = tost_welch(a, b, margin=1.0)
    reference = ttost_ind(a, b, -1.0, 1.0, usevar="unequal")[0]
    assert same.p == pytest.approx(reference, rel=1e-9) and same.p < 0.01
    assert same.low < same.difference < same.high and -1.0 < same.low and same.high < 1.0
    apart = tost_welch(a + 3.0, b, margin=1.0)  # means 3 margins apart
    assert apart.p == pytest.approx(ttost_ind(a + 3.0, b, -1.0, 1.0, usevar="unequal")[0], rel=1e-9)
    assert apart.p > 0.99 and apart.low > 1.0


def test_tost_without_power_does_not_claim_equivalence():
    """The old criterion (two-sided p >= 0.05) passed whenever samples were too small to tell."""
    rng = np.random.default_rng(2)
    a, b = rng.normal(10, 3, 4), rng.normal(10, 3, 4)
    assert scipy_stats.mannwhitneyu(a, b).pvalue >= 0.05
    assert tost_welch(a, b, margin=1.0).p > 0.05


def test_logrank_matches_the_textbook_example_and_is_one_sided():
    six_mp_times = np.array(SIX_MP_EVENTS + SIX_MP_CENSORED, float)
    six_mp_events = np.array([True] * len(SIX_MP_EVENTS) + [False] * len(SIX_MP_CENSORED))
    placebo_times, placebo_events = np.array(PLACEBO, float), np.ones(len(PLACEBO), bool)
    p = logrank_later(placebo_times, placebo_events, six_mp_times, six_mp_events)  # 6-MP relapses later
    assert p == pytest.approx(scipy_stats.norm.sf(np.sqrt(16.79)), rel=0.01)
    assert logrank_later(six_mp_times, six_mp_events, placebo_times, placebo_events) > 0.99


def test_logrank_counts_censored_runs_as_still_at_risk_not_as_events():
    """Runs without outgrowth censored at the end: many censored runs make 'later' significant,
    events at the same times in both arms do not."""
    times_a, events_a = np.arange(10, 110, 10.0), np.ones(10, bool)
    assert logrank_later(times_a, events_a, np.full(10, 120.0), np.zeros(10, bool)) < 1e-3
    assert logrank_later(times_a, events_a, times_a.copy(), events_a.copy()) == pytest.approx(0.5, abs=1e-6)
    assert np.isnan(logrank_later(times_a, np.zeros(10, bool), times_a, np.zeros(10, bool)))  # no event anywhere


def test_holm_matches_the_textbook_and_statsmodels():
    p = [0.01, 0.04, 0.03, 0.005]
    assert holm(p) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    rng = np.random.default_rng(3)
    many = rng.uniform(0, 0.2, 25)
    assert holm(many) == pytest.approx(multipletests(many, method="holm")[1])
    with_nan = holm([0.01, np.nan, 0.02])
    assert np.isnan(with_nan[1]) and with_nan[[0, 2]] == pytest.approx([0.02, 0.02])


def test_bootstrap_ci_is_reproducible_and_covers_the_true_ratio():
    rng = np.random.default_rng(4)
    covered = 0
    for _ in range(40):
        a, b = rng.normal(20, 4, 30), rng.normal(10, 2, 30)  # true ratio of means: 2
        estimate, low, high = bootstrap_ci(ratio_of_means, [a, b])
        assert (estimate, low, high) == bootstrap_ci(ratio_of_means, [a, b])  # fixed seed
        covered += low <= 2.0 <= high
    assert covered >= 34  # a 95 % interval: about 38 of 40; fewer than 34 would be 3 SD off


def test_wilcoxon_is_paired_by_run():
    single = np.array([0.30, 0.25, 0.35, 0.28, 0.32, 0.27, 0.31, 0.29])
    assert wilcoxon_less(single - 0.1, single) < 0.01
    assert wilcoxon_less(single, single) == 1.0  # no run differs: no evidence
    assert wilcoxon_less(single + 0.1, single) > 0.99


# ------------------------------------------------------------------ criteria on synthetic runs

def _check(checks, start) -> Check:
    return next(c for c in checks if c.criterion.startswith(start))


def _lo(outlier: bool):
    """with_nk runs where clustered targets are killed less per contact, or (outlier) nine runs
    where they are killed more and one run with 100x the contacts where they are killed far less."""
    def with_nk(rng, i):
        if outlier and i == 0:
            return dict(kill_probability_clustered=0.02, kill_probability_single=0.6, kills_clustered_n=200.0,
                        contacts_clustered_n=10000.0, kills_single_n=6000.0, contacts_single_n=10000.0)
        clustered = 0.35 if outlier else 0.1 + 0.01 * i
        return dict(kill_probability_clustered=clustered, kill_probability_single=0.3,
                    kills_clustered_n=clustered * 100, contacts_clustered_n=100.0, kills_single_n=30.0,
                    contacts_single_n=100.0)
    return synthetic_study("lo2020", n=10, with_nk=with_nk)


def test_kill_probability_is_read_per_run_so_one_outlier_run_does_not_decide():
    good = _check(criteria.lo2020(_lo(outlier=False)), "per-contact kill probability")
    assert good.passed and good.test.startswith("one-sided Wilcoxon signed-rank")
    runs = _lo(outlier=True)["with_nk"]
    pooled_clustered = sum(r["kills_clustered_n"] for r in runs) / sum(r["contacts_clustered_n"] for r in runs)
    pooled_single = sum(r["kills_single_n"] for r in runs) / sum(r["contacts_single_n"] for r in runs)
    assert pooled_clustered < 0.1 * pooled_single  # the pool says clustered << single ...
    per_run = _check(criteria.lo2020(_lo(outlier=True)), "per-contact kill probability")
    assert not per_run.passed  # ... 9 of the 10 runs do not


def test_polyclonal_share_is_per_run():
    def nk(rng, i):  # one run with 1000 lesions all polyclonal; the others 0.2
        return dict(lesions=1000.0, polyclonal_lesions=1000.0) if i == 0 else dict(lesions=10.0,
                                                                                   polyclonal_lesions=2.0)
    r = synthetic_study("lo2020", n=15, with_nk=nk,
                        nk_depleted=lambda rng, i: dict(lesions=10.0, polyclonal_lesions=4.0))
    share = _check(criteria.lo2020(r), "polyclonal share")
    assert not share.passed and share.p > 0.5
    r["with_nk"] = [{**run, "lesions": 10.0, "polyclonal_lesions": 7.0} for run in r["with_nk"]]
    assert _check(criteria.lo2020(r), "polyclonal share").passed


def _chan(exposed_shift, seed=0):
    """Invasion (inverse circularity) ~ N(5, 0.3) without NK; exposed NK shifted by exposed_shift."""
    def invasion(mean):
        return lambda rng, i: dict(inverse_circularity=float(rng.normal(mean, 0.3)))
    return synthetic_study("chan2020", n=30, seed=seed, no_nk=invasion(5.0), healthy_nk=invasion(4.0),
                           exposed_nk=invasion(5.0 + exposed_shift))


def test_exposed_nk_invasion_equivalence_is_tost_with_the_stated_margin():
    margin = criteria.INVASION_MARGIN * 5.0
    same = _check(criteria.chan2020(_chan(0.0)), "tumor-exposed NK: invasion equivalent")
    assert same.passed and same.test.startswith("TOST") and "20%" in same.target
    apart = _check(criteria.chan2020(_chan(3 * margin)), "tumor-exposed NK: invasion equivalent")
    assert not apart.passed and apart.p > 0.99
    assert _check(criteria.chan2020(_chan(0.0)), "healthy NK lower invasion").passed


def test_effect_size_is_compared_with_the_study_figure():
    def colonies(mean):
        return lambda rng, i: dict(colonies=float(rng.normal(mean, 1.0)))
    r = synthetic_study("chan2020", n=30, healthy_nk=colonies(20.0), no_nk=colonies(30.0), exposed_nk=colonies(40.0))
    effect = _check(criteria.chan2020(r), "colonies: tumor-exposed NK > no NK").effect
    assert effect.estimate == pytest.approx(2.0, rel=0.05) and effect.covers_study
    r["exposed_nk"] = [{**run, "colonies": run["colonies"] - 15.0} for run in r["exposed_nk"]]
    effect = _check(criteria.chan2020(r), "colonies: tumor-exposed NK > no NK").effect
    assert effect.estimate < 1.5 and effect.covers_study is False and "outside CI" in effect.study_text()


def test_later_outgrowth_uses_censored_times():
    def act(rng, i):
        return dict(first_outgrowth_h=float(100 + 5 * i))
    def late(rng, i):  # half never grow out (censored at the end), the rest late
        return dict(first_outgrowth_h=float("nan") if i % 2 else float(250 + 5 * i))
    r = synthetic_study("correia2021", n=12, stellate_activation=act, il15=late, cxcr4_block=act)
    checks = criteria.correia2021(r, outgrowth_cells=25)
    il15, cxcr4 = _check(checks, "IL-15: later outgrowth"), _check(checks, "CXCR4 block: later outgrowth")
    assert il15.passed and il15.test.startswith("one-sided log-rank") and il15.effect.estimate > 100
    assert not cxcr4.passed


def test_seeding_ratio_is_per_run_and_its_ci_meets_the_study_range():
    def per_cell(mean):
        return lambda rng, i: dict(lesions=float(rng.poisson(mean * 200)), seeded_tumor_cells=200.0)
    r = synthetic_study("nw2025_seeding", n=30, clusters=per_cell(0.2), single_cells=per_cell(0.2 / 30))
    ratio = criteria.northwestern2025_seeding(r)[0]
    assert ratio.passed and 23 <= ratio.effect.estimate <= 50
    r["single_cells"] = [{**run, "lesions": run["lesions"] * 0 + 2.0} for run in r["single_cells"]]  # 4x
    assert not criteria.northwestern2025_seeding(r)[0].passed


def test_holm_decides_predictions_together_and_leaves_other_kinds_alone():
    checks = [decided_by_p("s", name, "", "", "t", p) for name, p in (("a", 0.001), ("b", 0.03), ("c", 0.2))]
    built_in = decided_by_p("s", "d", "", "", "t", 0.03)
    built_in.kind = "built-in"
    assert checks[1].passed  # raw p 0.03 < 0.05 ...
    adjust_holm(checks + [built_in])
    assert [c.p_adjusted for c in checks] == pytest.approx([0.003, 0.06, 0.2])
    assert [c.passed for c in checks] == [True, False, False]  # ... Holm 0.06 is not
    assert built_in.p_adjusted is None and built_in.passed
    held = decided_by_p("s", "e", "", "", "t", 0.001, holds=False)  # a condition besides the p fails
    adjust_holm([held])
    assert not held.passed


def test_ki67_is_read_on_the_same_population_in_both_arms():
    """Only the all-viable-cells fraction counts: the neutrophil-cluster subset does not enter."""
    r = synthetic_study("szczerba2019", n=12,
                        single_cells=lambda rng, i: dict(ki67_all_24h=0.7 + 0.001 * i, ki67_single_24h=0.1),
                        neutrophil_clusters=lambda rng, i: dict(ki67_all_24h=0.7 + 0.001 * i,
                                                                ki67_neutrophil_clusters_24h=0.99))
    assert not _check(criteria.szczerba2019(r), "proliferating (Ki67+) fraction at 24 h").passed
