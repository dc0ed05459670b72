"""The rules each criterion rests on: its negative control runs the study's arms with them
switched off (`ablate`). A criterion counts as validated only if it passes with its mechanism
and fails without it; one that also passes without it does not test that mechanism.

The mapping is a scientific statement, written per criterion (study -> criterion -> rules):
what in the model is supposed to produce the finding.
"""
from __future__ import annotations

MECHANISMS: dict[str, dict[str, tuple[str, ...]]] = {
    "chan2020": {
        "organoids with a caspase+ cell, without NK": ("tumor.apoptosis",),
        "organoids with a caspase+ cell, with healthy NK": ("nk.contact_kill",),
        "healthy NK lower invasion (inverse circularity)": ("nk.contact_kill",),
        # Exposed NK cells are made in the pre-culture (chan2020_preculture.yaml): their receptors rise
        # by education; without it they arrive as healthy NK cells and kill.
        "tumor-exposed NK: invasion equivalent to no NK (inverse circularity)": ("nk.education",),
        # Colonies are counted in the colony assay (chan2020_colony_assay.yaml) of the organoid's
        # surviving cells: fewer survivors after NK kills; faster-dividing ones after exposed NK contact.
        "colonies: no NK > healthy NK": ("nk.contact_kill",),
        "colonies: tumor-exposed NK > no NK": ("tumor.exposed_nk_division_boost",),
        "TIGIT/KLRG1 block lowers the exposed-NK colony count": ("nk.contact_kill",),
    },
    "lo2020": {
        "per-contact kill probability: clustered < single": ("nk.contact_kill",),
        "polyclonal share of lesions higher with NK than NK-depleted": ("nk.contact_kill",),
        "EMT restores the sensitivity of clustered cells": ("nk.contact_kill",),
    },
    "correia2021": {
        "baseline: every lesion stays below the outgrowth size": ("tumor.ifng_dormancy",),
        "NK depletion leads to outgrowth": ("tumor.ifng_dormancy",),
        "stellate activation leads to outgrowth": ("nk.cxcl12_quiescence",),
        "IFN-gamma-blind tumor cells despite NK leads to outgrowth": ("tumor.ifng_dormancy",),
        "after activation the NK count falls before the first lesion": ("nk.cxcl12_quiescence",),
        "IL-15: fewer lesions than activation alone": ("nk.il15_proliferation",),
        "IL-15: later outgrowth than activation alone (log-rank, no outgrowth = censored)": ("nk.il15_proliferation",),
        "CXCR4 block: fewer lesions than activation alone": ("nk.cxcl12_quiescence",),
        "CXCR4 block: later outgrowth than activation alone (log-rank, no outgrowth = censored)":
            ("nk.cxcl12_quiescence",),
        "CXCR4 block dose-response: lesions fall as the block efficiency rises":
            ("nk.cxcl12_quiescence",),
    },
    "szczerba2019": {
        "proliferating (Ki67+) fraction at 24 h: neutrophil-cluster arm > single-cell arm":
            ("neutrophil.cytokine_secretion",),
        "lesion burden: neutrophil clusters > tumor-only clusters": ("neutrophil.cytokine_secretion",),
        "lesion burden: tumor-only clusters > single cells": ("tumor.anoikis",),
        "VCAM1 knockout lowers lesion burden": ("neutrophil.vcam1_binding",),
        "VCAM1 knockout lowers the proliferating fraction": ("neutrophil.vcam1_binding",),
        "neutrophil depletion lowers lesion burden": ("neutrophil.cytokine_secretion",),
        "neutrophil depletion lowers the proliferating fraction": ("neutrophil.cytokine_secretion",),
    },
    "nw2025_seeding": {
        "metastatic efficiency per seeded cell, clusters vs single cells": ("tumor.anoikis",),
    },
    "nw2025_clustering": {
        "PLXNB2 knockout lowers cluster counts": ("tumor.suspension_walk",),
        "PLXNB2 knockout lowers lesions": ("tumor.suspension_walk",),
        "anti-VLA-4 lowers cluster counts": ("tcell.vcam1_binding",),
        "anti-VLA-4 lowers lesions": ("tcell.vcam1_binding",),
    },
}


# Criteria that are not predictions (issue 12's review): shown in the report, not counted as
# validation. "calibrated": `abm calibrate` fitted parameters to this target (on its own seeds,
# configs/calibration.yaml); "built-in": true by construction of the model or of the metric.
KINDS: dict[tuple[str, str], tuple[str, str]] = {
    ("chan2020", "organoids with a caspase+ cell, without NK"):
        ("calibrated", "tumor death rate fitted to this fraction (abm calibrate, seeds 1000-1009)"),
    ("chan2020", "organoids with a caspase+ cell, with healthy NK"):
        ("calibrated", "a calibration target: tumor death rate fitted against it and the NK-free share "
                       "(abm calibrate, seeds 1000-1009); the measured kill probability does not reach it"),
    ("lo2020", "per-contact kill probability: clustered < single"):
        ("built-in", "restates the ligand formula (fewer activating ligands in clusters)"),
    ("lo2020", "EMT restores the sensitivity of clustered cells"):
        ("built-in", "after EMT a cell has no epithelial context: it equals a single cell by construction"),
    ("correia2021", "NK depletion leads to outgrowth"):
        ("built-in", "NK cells are the only IFN-gamma source: without them nothing holds dormancy"),
    ("correia2021", "IFN-gamma-blind tumor cells despite NK leads to outgrowth"):
        ("built-in", "IFN-gamma-blind cells skip dormancy by definition"),
    ("szczerba2019", "neutrophil depletion lowers lesion burden"):
        ("built-in", "neutrophils are the only source of the cytokine"),
    ("szczerba2019", "neutrophil depletion lowers the proliferating fraction"):
        ("built-in", "neutrophils are the only source of the cytokine"),
    ("nw2025_seeding", "metastatic efficiency per seeded cell, clusters vs single cells"):
        ("calibrated", "anoikis rate fitted to the 23-50x ratio (abm calibrate, seeds 1000-1009)"),
}


def kind(study: str, criterion: str) -> tuple[str, str]:
    """("prediction", "") or ("calibrated" | "built-in", why)."""
    return KINDS.get((study, criterion), ("prediction", ""))


def mechanism(study: str, criterion: str) -> tuple[str, ...]:
    return MECHANISMS.get(study, {}).get(criterion, ())


def control_sets(study: str) -> list[tuple[str, ...]]:
    """The distinct rule sets of a study's criteria: one set of control runs each."""
    return list(dict.fromkeys(rules for rules in MECHANISMS.get(study, {}).values() if rules))
