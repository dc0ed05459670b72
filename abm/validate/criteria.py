"""The findings of the five studies as checks on measured outcomes (see seeds/*.md).

Each study function takes {arm: [metrics of each seed]} and returns Checks. A check states
its target and test; `quick` says whether it is expected to hold with the few seeds and small
runs of `--quick` (statistical tests with 6 seeds often cannot).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .stats import (fisher_greater, mann_whitney_less, mann_whitney_two_sided, mean, pooled_ratio,
                    two_proportion_less, values)


@dataclass
class Check:
    study: str
    criterion: str
    measured: str
    target: str
    passed: bool
    quick: bool = True  # expected to hold under --quick
    mechanism: tuple = field(default=())  # rules it rests on (mechanisms.py)
    control_passed: bool | None = None  # passes with those rules ablated too (None: not run)
    control_measured: str = ""
    kind: str = "prediction"  # or "calibrated" / "built-in" (mechanisms.KINDS): not counted as validation
    why: str = ""

    @property
    def status(self) -> str:
        """FAIL; calibrated or built-in (not counted); validated (passes with its mechanism, fails
        without); passes without its mechanism; or PASS (no control run)."""
        if not self.passed:
            return "FAIL"
        if self.kind != "prediction":
            return f"{self.kind} (not counted)"
        if self.control_passed is None:
            return "PASS"
        return "passes without its mechanism" if self.control_passed else "validated"


def _less(study, criterion, runs_a, runs_b, key, label_a, label_b, quick=True):
    a, b = values(runs_a, key), values(runs_b, key)
    p = mann_whitney_less(a, b)
    return Check(study, criterion, f"{label_a} {np.mean(a):.3g} vs {label_b} {np.mean(b):.3g}; p = {p:.3g}",
                 f"{label_a} < {label_b}, one-sided Mann-Whitney p < 0.05", bool(p < 0.05), quick)


def chan2020(r) -> list[Check]:
    s = "Chan 2020"
    none, healthy, exposed, blocked = r["no_nk"], r["healthy_nk"], r["exposed_nk"], r["exposed_nk_tigit_klrg1_block"]
    checks = []
    for runs, target, label in ((none, 0.43, "without NK"), (healthy, 0.85, "with healthy NK")):
        f = mean(runs, "caspase_any")
        checks.append(Check(s, f"organoids with a caspase+ cell, {label}", f"{f:.2f} of {len(runs)}",
                            f"{target:.2f} +/- 0.10", abs(f - target) <= 0.10, quick=False))
    checks.append(_less(s, "healthy NK lower invasion (area fold change)", healthy, none, "area_fold_change",
                        "healthy NK", "no NK"))
    p = mann_whitney_two_sided(values(exposed, "area_fold_change"), values(none, "area_fold_change"))
    checks.append(Check(s, "tumor-exposed NK: invasion not different from no NK",
                        f"{mean(exposed, 'area_fold_change'):.3g} vs {mean(none, 'area_fold_change'):.3g}; p = {p:.3g}",
                        "two-sided Mann-Whitney p >= 0.05", bool(p >= 0.05), quick=False))
    checks.append(_less(s, "colonies: no NK > healthy NK", healthy, none, "colonies", "healthy NK", "no NK"))
    checks.append(_less(s, "colonies: tumor-exposed NK > no NK", none, exposed, "colonies", "no NK", "exposed NK"))
    checks.append(_less(s, "TIGIT/KLRG1 block lowers the exposed-NK colony count", blocked, exposed, "colonies",
                        "blocked", "exposed NK"))
    return checks


def lo2020(r) -> list[Check]:
    s = "Lo 2020"
    with_nk, depleted, emt = r["with_nk"], r["nk_depleted"], r["emt_with_nk"]
    p_single, k_s, n_s = pooled_ratio(with_nk, "kills_single_n", "contacts_single_n")
    p_cluster, k_c, n_c = pooled_ratio(with_nk, "kills_clustered_n", "contacts_clustered_n")
    p = two_proportion_less(k_c, n_c, k_s, n_s)
    checks = [Check(s, "per-contact kill probability: clustered < single",
                    f"clustered {p_cluster:.3f} ({k_c}/{n_c}) vs single {p_single:.3f} ({k_s}/{n_s}); p = {p:.2g}",
                    "one-sided two-proportion test p < 0.05", bool(p < 0.05))]
    share = {}
    for name, runs in (("NK", with_nk), ("NK-depleted", depleted)):
        share[name] = (int(np.nansum([x["polyclonal_lesions"] for x in runs])), int(np.nansum([x["lesions"] for x in runs])))
    (k1, n1), (k2, n2) = share["NK"], share["NK-depleted"]
    p = fisher_greater(k1, n1, k2, n2)
    checks.append(Check(s, "polyclonal share of lesions higher with NK than NK-depleted",
                        f"{k1}/{n1} = {k1 / max(n1, 1):.2f} vs {k2}/{n2} = {k2 / max(n2, 1):.2f}; p = {p:.2g}",
                        "one-sided Fisher exact p < 0.05", bool(p < 0.05), quick=False))
    p_emt, k_e, n_e = pooled_ratio(emt, "kills_clustered_n", "contacts_clustered_n")
    restored = p_emt >= 0.8 * p_single and two_proportion_less(k_c, n_c, k_e, n_e) < 0.05
    checks.append(Check(s, "EMT restores the sensitivity of clustered cells",
                        f"clustered after EMT {p_emt:.3f} ({k_e}/{n_e}); single {p_single:.3f}; clustered {p_cluster:.3f}",
                        ">= 0.8 x single, and above clustered without EMT (p < 0.05)", bool(restored)))
    return checks


def correia2021(r, outgrowth_cells) -> list[Check]:
    s = "Correia 2021"
    base = r["baseline"]
    checks = []
    largest = max(x["largest_lesion_ever"] for x in base)
    checks.append(Check(s, "baseline: every lesion stays below the outgrowth size", f"largest {largest:.0f} cells",
                        f"< {outgrowth_cells} cells in every run", largest < outgrowth_cells))
    for arm, label in (("nk_depleted", "NK depletion"), ("stellate_activation", "stellate activation"),
                       ("ifng_blind", "IFN-gamma-blind tumor cells despite NK")):
        grew = np.mean([not np.isnan(x["first_outgrowth_h"]) for x in r[arm]])
        checks.append(Check(s, f"{label} leads to outgrowth", f"{grew:.2f} of runs grew out", ">= 0.8 of runs",
                            grew >= 0.8, quick=arm != "stellate_activation"))
    act = r["stellate_activation"]
    fell = [x["nk_at_first_outgrowth"] < x["nk_initial"] for x in act if not np.isnan(x["first_outgrowth_h"])]
    frac = float(np.mean(fell)) if fell else float("nan")
    checks.append(Check(s, "after activation the NK count falls before the first lesion",
                        f"{frac:.2f} of grown-out runs", ">= 0.9 of runs with outgrowth", bool(frac >= 0.9)))
    end = max(x["end_h"] for x in act)
    for arm, label in (("il15", "IL-15"), ("cxcr4_block", "CXCR4 block")):
        checks.append(_less(s, f"{label}: fewer lesions than activation alone", r[arm], act, "lesions", label,
                            "activation", quick=False))
        later = [x if not np.isnan(x["first_outgrowth_h"]) else {**x, "first_outgrowth_h": end + 1} for x in r[arm]]
        act_c = [x if not np.isnan(x["first_outgrowth_h"]) else {**x, "first_outgrowth_h": end + 1} for x in act]
        checks.append(_less(s, f"{label}: later outgrowth than activation alone (no outgrowth = censored at the end)",
                            act_c, later, "first_outgrowth_h", "activation", label, quick=False))
    return checks


def szczerba2019(r) -> list[Check]:
    s = "Szczerba 2019"
    singles, tumor_clusters, neutro = r["single_cells"], r["tumor_clusters"], r["neutrophil_clusters"]
    a, b = values(singles, "ki67_all_24h"), values(neutro, "ki67_neutrophil_clusters_24h")
    p = mann_whitney_less(a, b)
    checks = [Check(s, "proliferating (Ki67+) fraction: tumor cells in neutrophil clusters > single cells",
                    f"neutrophil clusters {np.mean(b):.2f} vs single cells {np.mean(a):.2f} at 24 h; p = {p:.2g}",
                    "one-sided Mann-Whitney p < 0.05", bool(p < 0.05))]
    checks.append(_less(s, "lesion burden: neutrophil clusters > tumor-only clusters", tumor_clusters, neutro,
                        "lesion_burden", "tumor clusters", "neutrophil clusters"))
    checks.append(_less(s, "lesion burden: tumor-only clusters > single cells", singles, tumor_clusters,
                        "lesion_burden", "single cells", "tumor clusters", quick=False))
    for arm, label in (("vcam1_knockout", "VCAM1 knockout"), ("neutrophil_depletion", "neutrophil depletion")):
        checks.append(_less(s, f"{label} lowers lesion burden", r[arm], neutro, "lesion_burden", label, "neutrophil clusters"))
        checks.append(_less(s, f"{label} lowers the proliferating fraction", r[arm], neutro, "ki67_all_24h", label,
                            "neutrophil clusters"))
    return checks


def northwestern2025_seeding(r) -> list[Check]:
    s = "2025 study (seeding)"
    single, _, n1 = pooled_ratio(r["single_cells"], "lesions", "seeded_tumor_cells")
    cluster, _, n2 = pooled_ratio(r["clusters"], "lesions", "seeded_tumor_cells")
    ratio = cluster / single if single > 0 else float("inf")
    return [Check(s, "metastatic efficiency per seeded cell, clusters vs single cells",
                  f"{ratio:.1f}x (clusters {cluster:.4f}/cell of {n2}, singles {single:.4f}/cell of {n1})",
                  "between 23x and 50x (Aceto 2014)", bool(23 <= ratio <= 50), quick=False)]


def northwestern2025_clustering(r) -> list[Check]:
    s = "2025 study (clustering)"
    wt = r["wild_type"]
    checks = []
    for arm, label in (("plxnb2_knockout", "PLXNB2 knockout"), ("anti_vla4", "anti-VLA-4")):
        checks.append(_less(s, f"{label} lowers cluster counts", r[arm], wt, "clusters_final", label, "wild type",
                            quick=arm == "plxnb2_knockout"))
        checks.append(_less(s, f"{label} lowers lesions", r[arm], wt, "lesion_burden", label, "wild type"))
    return checks
