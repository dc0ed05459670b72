"""The read-outs of each study (readouts.py builds them): the table `abm sensitivity` measures.

Criterion names are those of abm/validate/criteria.py (and mechanisms.py, which gives their kind).
"""
from __future__ import annotations

from ..validate.criteria import CXCR4_DOSE_ARMS
from ..validate.metrics import colonies
from .readouts import (Readout, above, arm_mean, at_least, below, claim, difference, dose_rho,
                       grew_out, largest_ever, nk_fell_before_outgrowth, paired_difference, ratio, share,
                       time_to_outgrowth, within)


def chan2020(validation) -> list[Readout]:
    none, healthy, exposed, blocked = "no_nk", "healthy_nk", "exposed_nk", "exposed_nk_tigit_klrg1_block"
    return [
        Readout("caspase_any no_nk", (none,), arm_mean(none, "caspase_any")),
        Readout("caspase_any healthy_nk", (healthy,), arm_mean(healthy, "caspase_any")),
        Readout("caspase_any healthy_nk - no_nk", (healthy, none), difference(healthy, none, "caspase_any"),
                (claim("healthy NK: more organoids with a caspase+ cell than without NK",
                       "organoids with a caspase+ cell, with healthy NK", above(0)),)),
        Readout("inverse_circularity healthy_nk - no_nk", (healthy, none),
                difference(healthy, none, "inverse_circularity"),
                (claim("healthy NK lower inverse circularity than no NK",
                       "healthy NK lower invasion (inverse circularity)", below(0)),)),
        Readout("inverse_circularity exposed_nk / no_nk", (exposed, none), ratio(exposed, none, "inverse_circularity"),
                (claim("tumor-exposed NK: inverse circularity within 20 % of no NK",
                       "tumor-exposed NK: invasion equivalent to no NK (inverse circularity)", within(0.8, 1.2)),)),
        Readout("colonies healthy_nk - no_nk", (healthy, none), difference(healthy, none, colonies),
                (claim("healthy NK: fewer colonies than no NK", "colonies: no NK > healthy NK", below(0)),)),
        Readout("colonies exposed_nk - no_nk", (exposed, none), difference(exposed, none, colonies),
                (claim("tumor-exposed NK: more colonies than no NK", "colonies: tumor-exposed NK > no NK", above(0)),)),
        Readout("colonies blocked - exposed_nk", (blocked, exposed), difference(blocked, exposed, colonies),
                (claim("TIGIT/KLRG1 block: fewer colonies than exposed NK",
                       "TIGIT/KLRG1 block lowers the exposed-NK colony count", below(0)),)),
    ]


def lo2020(validation) -> list[Readout]:
    return [
        Readout("kill per contact clustered - single (with_nk)", ("with_nk",),
                paired_difference("with_nk", "kill_probability_clustered", "kill_probability_single"),
                (claim("clustered targets: lower kill probability per contact than single ones",
                       "per-contact kill probability: clustered < single", below(0)),)),
        Readout("polyclonal share with_nk - nk_depleted", ("with_nk", "nk_depleted"),
                difference("with_nk", "nk_depleted", share("polyclonal_lesions", "lesions")),
                (claim("NK cells raise the polyclonal share of lesions",
                       "polyclonal share of lesions higher with NK than NK-depleted", above(0)),)),
    ]


def correia2021(validation) -> list[Readout]:
    act = "stellate_activation"
    rows = [
        Readout("largest lesion ever baseline", ("baseline",), largest_ever("baseline"),
                (claim("baseline: every lesion stays below the outgrowth size",
                       "baseline: every lesion stays below the outgrowth size", below(validation.outgrowth_cells)),)),
        Readout("lesions stellate_activation", (act,), arm_mean(act, "lesions")),
        Readout("outgrowth share stellate_activation", (act,), arm_mean(act, grew_out),
                (claim("stellate activation leads to outgrowth", "stellate activation leads to outgrowth",
                       at_least(0.8)),)),
        Readout("NK fell before outgrowth stellate_activation", (act,), arm_mean(act, nk_fell_before_outgrowth),
                (claim("after activation the NK count falls before the first lesion",
                       "after activation the NK count falls before the first lesion", at_least(0.9)),)),
    ]
    for arm, label in (("il15", "IL-15"), ("cxcr4_block", "CXCR4 block")):
        rows.append(Readout(f"lesions {arm} - {act}", (arm, act), difference(arm, act, "lesions"),
                            (claim(f"{label}: fewer lesions than activation alone",
                                   f"{label}: fewer lesions than activation alone", below(0)),)))
        rows.append(Readout(f"time to outgrowth (h) {arm} - {act}", (arm, act), difference(arm, act, time_to_outgrowth),
                            (claim(f"{label}: later outgrowth than activation alone",
                                   f"{label}: later outgrowth than activation alone (log-rank, no outgrowth = "
                                   "censored)", above(0)),)))
    rows.append(Readout("CXCR4 dose rank vs lesions (Spearman rho)", CXCR4_DOSE_ARMS, dose_rho,
                        (claim("lesions fall as the CXCR4 block's efficiency rises",
                               "CXCR4 block dose-response: lesions fall as the block efficiency rises", below(0)),)))
    return rows


def szczerba2019(validation) -> list[Readout]:
    singles, tumor, neutro, vcam1 = "single_cells", "tumor_clusters", "neutrophil_clusters", "vcam1_knockout"
    return [
        Readout("ki67 neutrophil_clusters - single_cells", (neutro, singles),
                difference(neutro, singles, "ki67_all_24h"),
                (claim("neutrophil clusters: more Ki67+ cells than single cells",
                       "proliferating (Ki67+) fraction at 24 h: neutrophil-cluster arm > single-cell arm", above(0)),)),
        Readout("lesion burden neutrophil_clusters - tumor_clusters", (neutro, tumor),
                difference(neutro, tumor, "lesion_burden"),
                (claim("neutrophil clusters: more lesion burden than tumor-only clusters",
                       "lesion burden: neutrophil clusters > tumor-only clusters", above(0)),)),
        Readout("lesion burden tumor_clusters - single_cells", (tumor, singles),
                difference(tumor, singles, "lesion_burden"),
                (claim("tumor-only clusters: more lesion burden than single cells",
                       "lesion burden: tumor-only clusters > single cells", above(0)),)),
        Readout("lesion burden vcam1_knockout - neutrophil_clusters", (vcam1, neutro),
                difference(vcam1, neutro, "lesion_burden"),
                (claim("VCAM1 knockout lowers lesion burden", "VCAM1 knockout lowers lesion burden", below(0)),)),
        Readout("ki67 vcam1_knockout - neutrophil_clusters", (vcam1, neutro), difference(vcam1, neutro, "ki67_all_24h"),
                (claim("VCAM1 knockout lowers the proliferating fraction",
                       "VCAM1 knockout lowers the proliferating fraction", below(0)),)),
    ]


def nw2025_seeding(validation) -> list[Readout]:
    criterion = "metastatic efficiency per seeded cell, clusters vs single cells"
    per_cell = share("lesions", "seeded_tumor_cells")
    return [
        Readout("lesions per seeded cell clusters - single_cells", ("clusters", "single_cells"),
                difference("clusters", "single_cells", per_cell),
                (claim("clusters seed more lesions per seeded cell than single cells", criterion, above(0)),)),
        Readout("lesions per seeded cell clusters / single_cells", ("clusters", "single_cells"),
                ratio("clusters", "single_cells", per_cell),
                (claim("clusters seed 23-50x more lesions per seeded cell", criterion, within(23, 50)),)),
    ]


def nw2025_clustering(validation) -> list[Readout]:
    rows = []
    for arm, label in (("plxnb2_knockout", "PLXNB2 knockout"), ("anti_vla4", "anti-VLA-4")):
        rows.append(Readout(f"clusters {arm} - wild_type", (arm, "wild_type"),
                            difference(arm, "wild_type", "clusters_final"),
                            (claim(f"{label} lowers cluster counts", f"{label} lowers cluster counts", below(0)),)))
        rows.append(Readout(f"lesion burden {arm} - wild_type", (arm, "wild_type"),
                            difference(arm, "wild_type", "lesion_burden"),
                            (claim(f"{label} lowers lesions", f"{label} lowers lesions", below(0)),)))
    return rows


READOUTS = {"chan2020": chan2020, "lo2020": lo2020, "correia2021": correia2021, "szczerba2019": szczerba2019,
            "nw2025_seeding": nw2025_seeding, "nw2025_clustering": nw2025_clustering}


def needed_arms(readouts: list[Readout]) -> list[str]:
    """The arms the read-outs need, in first-use order (only these are run)."""
    return list(dict.fromkeys(arm for readout in readouts for arm in readout.arms))
