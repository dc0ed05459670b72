"""The findings of the five studies as checks on measured outcomes (see seeds/*.md).

Each study function takes {arm: [metrics of each run]} and returns Checks (checks.py). Every test
takes one value per run and compares runs (no pooling of counts over runs); every arm of a
comparison is read with the same metric on the same population. A check states its target, its
test and an effect size with a bootstrap CI, beside the study's own figure where it gave one.
`quick` says whether it is expected to hold with the few seeds and small runs of `--quick`.
"""
from __future__ import annotations

import numpy as np
from scipy.stats import spearmanr

from .checks import Check, Effect, decided_by_p, equivalent, less, not_tested, ratio_effect  # noqa: F401 (re-exported)
from .metrics import colonies
from .stats import (bootstrap_ci, difference_of_means, logrank_later, mann_whitney_less, mean, mean_of, paired,
                    ratio_of_means, values, wilcoxon_less)

# Chan 2020's "not different from no NK" as equivalence: within +/- 20 % of the no-NK mean, the
# 80-125 % convention of bioequivalence; the study gives no invasion effect size to set it from.
INVASION_MARGIN = 0.20


def _share(numerator, denominator):
    """Per-run numerator / denominator (NaN where the denominator is 0: that run has no share)."""
    return lambda run: run[numerator] / run[denominator] if run[denominator] > 0 else float("nan")


def _fraction_check(study, criterion, runs, key, target, source, quick=True) -> Check:
    v = values(runs, key)
    effect = Effect("share of runs", *bootstrap_ci(mean_of, [v]), study=(target, target), source=source)
    return not_tested(study, criterion, f"{v.mean():.2f} of {len(v)}", f"{target:.2f} +/- 0.10",
                      abs(v.mean() - target) <= 0.10, quick=quick, effect=effect)


def chan2020(r) -> list[Check]:
    s = "Chan 2020"
    none, healthy, exposed, blocked = r["no_nk"], r["healthy_nk"], r["exposed_nk"], r["exposed_nk_tigit_klrg1_block"]
    checks = [_fraction_check(s, "organoids with a caspase+ cell, without NK", none, "caspase_any", 0.43,
                              "Chan 2020", quick=False),
              _fraction_check(s, "organoids with a caspase+ cell, with healthy NK", healthy, "caspase_any", 0.85,
                              "Chan 2020", quick=False)]
    # Invasion is read as shape (the study's inverse circularity), not outline area, which tracks cell count.
    invasion = less(s, "healthy NK lower invasion (inverse circularity)", healthy, none, "inverse_circularity",
                    "healthy NK", "no NK", quick=False)
    invasion.measured += "; secondary, not tested: " + _secondary(healthy, none)
    checks.append(invasion)
    checks.append(equivalent(s, "tumor-exposed NK: invasion equivalent to no NK (inverse circularity)", exposed,
                             none, "inverse_circularity", "exposed NK", "no NK", INVASION_MARGIN,
                             "bioequivalence convention; the study gives no effect size", quick=False))
    checks.append(less(s, "colonies: no NK > healthy NK", healthy, none, colonies, "healthy NK", "no NK"))
    more = less(s, "colonies: tumor-exposed NK > no NK", none, exposed, colonies, "no NK", "exposed NK")
    more.effect = ratio_effect("exposed / healthy NK", values(exposed, colonies), values(healthy, colonies),
                               study=(2.0, 2.0), source="Chan 2020, 'about 2x'")
    checks.append(more)
    checks.append(less(s, "TIGIT/KLRG1 block lowers the exposed-NK colony count", blocked, exposed, colonies,
                       "blocked", "exposed NK"))
    return checks


def _secondary(healthy, none) -> str:
    return (f"area fold change {_mean_or_nan(healthy, 'area_fold_change'):.3g} vs "
            f"{_mean_or_nan(none, 'area_fold_change'):.3g}, "
            f"cells outside the organoid {_mean_or_nan(healthy, 'cells_outside_organoid'):.3g} vs "
            f"{_mean_or_nan(none, 'cells_outside_organoid'):.3g}")


def _mean_or_nan(runs, key) -> float:
    return mean(runs, key) if runs and key in runs[0] else float("nan")


def lo2020(r) -> list[Check]:
    s = "Lo 2020"
    with_nk, depleted, emt = r["with_nk"], r["nk_depleted"], r["emt_with_nk"]
    clustered, single = paired(with_nk, "kill_probability_clustered", "kill_probability_single")
    checks = [decided_by_p(s, "per-contact kill probability: clustered < single",
                     f"clustered {_m(clustered):.3f} vs single {_m(single):.3f} (per-run kills per contact, "
                     f"{len(clustered)} runs with both)", "clustered < single in the same run",
                     "one-sided Wilcoxon signed-rank, paired by run", wilcoxon_less(clustered, single),
                     effect=Effect("clustered / single", *bootstrap_ci(ratio_of_means, [clustered, single],
                                                                       paired_samples=True)))]
    share = _share("polyclonal_lesions", "lesions")
    checks.append(less(s, "polyclonal share of lesions higher with NK than NK-depleted", depleted, with_nk, share,
                       "NK-depleted", "with NK", quick=False))
    after = values(emt, "kill_probability_clustered")
    before, singles = values(with_nk, "kill_probability_clustered"), values(with_nk, "kill_probability_single")
    restored = _m(after) >= 0.8 * _m(singles)
    checks.append(decided_by_p(s, "EMT restores the sensitivity of clustered cells",
                         f"clustered after EMT {_m(after):.3f}; single {_m(singles):.3f}; clustered {_m(before):.3f} "
                         "(per-run kills per contact)",
                         ">= 0.8 x single, and above clustered without EMT", "one-sided Mann-Whitney",
                         mann_whitney_less(before, after), holds=restored,
                         effect=ratio_effect("clustered after EMT / single", after, singles)))
    return checks


def _m(v) -> float:
    return float(np.mean(v)) if len(v) else float("nan")


def correia2021(r, outgrowth_cells) -> list[Check]:
    s = "Correia 2021"
    base, act = r["baseline"], r["stellate_activation"]
    largest = max(x["largest_lesion_ever"] for x in base)
    checks = [not_tested(s, "baseline: every lesion stays below the outgrowth size", f"largest {largest:.0f} cells",
                         f"< {outgrowth_cells} cells in every run", largest < outgrowth_cells)]
    for arm, label in (("nk_depleted", "NK depletion"), ("stellate_activation", "stellate activation"),
                       ("ifng_blind", "IFN-gamma-blind tumor cells despite NK")):
        grew = np.array([not np.isnan(x["first_outgrowth_h"]) for x in r[arm]], dtype=float)
        checks.append(not_tested(s, f"{label} leads to outgrowth", f"{grew.mean():.2f} of runs grew out",
                                 ">= 0.8 of runs", grew.mean() >= 0.8, quick=arm != "stellate_activation",
                                 effect=Effect("share of runs", *bootstrap_ci(mean_of, [grew]))))
    fell = [x["nk_at_first_outgrowth"] < x["nk_initial"] for x in act if not np.isnan(x["first_outgrowth_h"])]
    frac = float(np.mean(fell)) if fell else float("nan")
    checks.append(not_tested(s, "after activation the NK count falls before the first lesion",
                             f"{frac:.2f} of grown-out runs", ">= 0.9 of runs with outgrowth", frac >= 0.9))
    for arm, label in (("il15", "IL-15"), ("cxcr4_block", "CXCR4 block")):
        checks.append(less(s, f"{label}: fewer lesions than activation alone", r[arm], act, "lesions", label,
                           "activation", quick=False))
        checks.append(_later_outgrowth(s, label, r[arm], act))
    checks.append(cxcr4_dose_response(s, r))
    return checks


def _later_outgrowth(study, label, runs, activation) -> Check:
    """Time to the first outgrowth, runs without one right-censored at their end: log-rank."""
    times, events = _time_to_outgrowth(runs)
    times_act, events_act = _time_to_outgrowth(activation)
    effect = Effect(f"restricted mean time to outgrowth (h), {label} - activation",
                    *bootstrap_ci(difference_of_means, [times, times_act]))
    return decided_by_p(study, f"{label}: later outgrowth than activation alone (log-rank, no outgrowth = censored)",
                  f"grew out in {events.sum()}/{len(events)} ({label}) vs {events_act.sum()}/{len(events_act)} "
                  f"(activation) runs", f"{label} later than activation",
                  "one-sided log-rank, censored at the run's end", logrank_later(times_act, events_act, times, events),
                  quick=False, effect=effect)


def _time_to_outgrowth(runs) -> tuple[np.ndarray, np.ndarray]:
    first = np.array([x["first_outgrowth_h"] for x in runs], dtype=float)
    end = np.array([x["end_h"] for x in runs], dtype=float)
    events = ~np.isnan(first)
    return np.where(events, first, end), events


# The CXCR4 block arms of correia2021 in increasing block efficiency (0, 0.5, 0.9, 0.99 in the config;
# only their order enters the rank test, and tests check the config keeps it).
CXCR4_DOSE_ARMS = ("stellate_activation", "cxcr4_block_50", "cxcr4_block", "cxcr4_block_99")


def cxcr4_dose_response(study: str, r) -> Check:
    """Lesions fall with the CXCR4 block's efficiency: Spearman rank correlation of the dose rank
    with the lesions of each run (one value per run), one-sided."""
    doses, lesions = [], []
    for rank, arm in enumerate(CXCR4_DOSE_ARMS):
        runs = values(r[arm], "lesions")
        doses += [rank] * len(runs)
        lesions += list(runs)
    rho, p = spearmanr(doses, lesions, alternative="less") if np.ptp(lesions) > 0 else (float("nan"), float("nan"))
    means = " / ".join(f"{mean(r[arm], 'lesions'):.2g}" for arm in CXCR4_DOSE_ARMS)
    return decided_by_p(study, "CXCR4 block dose-response: lesions fall as the block efficiency rises",
                        f"mean lesions {means}; Spearman rho = {rho:.2f}", "rho < 0 (one value per run)",
                        "one-sided Spearman rank correlation with the dose rank", p, quick=False)


def szczerba2019(r) -> list[Check]:
    s = "Szczerba 2019"
    singles, tumor_clusters, neutro = r["single_cells"], r["tumor_clusters"], r["neutrophil_clusters"]
    # Same metric, same population in both arms: Ki67+ share of all viable tumor cells of the arm at
    # 24 h (each arm seeds one class, so the arm is the class the study sampled).
    checks = [less(s, "proliferating (Ki67+) fraction at 24 h: neutrophil-cluster arm > single-cell arm", singles,
                   neutro, "ki67_all_24h", "single cells", "neutrophil clusters")]
    checks.append(less(s, "lesion burden: neutrophil clusters > tumor-only clusters", tumor_clusters, neutro,
                       "lesion_burden", "tumor clusters", "neutrophil clusters"))
    checks.append(less(s, "lesion burden: tumor-only clusters > single cells", singles, tumor_clusters,
                       "lesion_burden", "single cells", "tumor clusters", quick=False))
    for arm, label in (("vcam1_knockout", "VCAM1 knockout"), ("neutrophil_depletion", "neutrophil depletion")):
        checks.append(less(s, f"{label} lowers lesion burden", r[arm], neutro, "lesion_burden", label,
                           "neutrophil clusters"))
        checks.append(less(s, f"{label} lowers the proliferating fraction", r[arm], neutro, "ki67_all_24h", label,
                           "neutrophil clusters"))
    return checks


def northwestern2025_seeding(r) -> list[Check]:
    s = "2025 study (seeding)"
    per_cell = _share("lesions", "seeded_tumor_cells")
    clusters, singles = values(r["clusters"], per_cell), values(r["single_cells"], per_cell)
    effect = ratio_effect("clusters / single cells", clusters, singles, study=(23.0, 50.0), source="Aceto 2014")
    inside = 23 <= effect.estimate <= 50 and bool(effect.covers_study)
    return [not_tested(s, "metastatic efficiency per seeded cell, clusters vs single cells",
                       f"{effect.estimate:.1f}x (lesions per seeded cell, mean of runs: clusters {_m(clusters):.4f}, "
                       f"singles {_m(singles):.4f})", "between 23x and 50x, and its 95 % CI meeting that range",
                       inside, quick=False, effect=effect)]


def northwestern2025_clustering(r) -> list[Check]:
    s = "2025 study (clustering)"
    wt = r["wild_type"]
    checks = []
    for arm, label in (("plxnb2_knockout", "PLXNB2 knockout"), ("anti_vla4", "anti-VLA-4")):
        checks.append(less(s, f"{label} lowers cluster counts", r[arm], wt, "clusters_final", label, "wild type",
                           quick=arm == "plxnb2_knockout"))
        checks.append(less(s, f"{label} lowers lesions", r[arm], wt, "lesion_burden", label, "wild type"))
    return checks
