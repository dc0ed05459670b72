"""Config sections of the cell types: every rate, level and threshold a rule reads.

Defaults switch each extra mechanism off, so a config that sets only the spine's keys runs the
minimal biology. Values used by the scenarios, with sources, are in seeds/parameters.md.
"""
from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Probability = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
HillExponent = Annotated[int, Field(ge=1, le=8)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


class TumorConfig(Strict):
    division_rate_per_h: NonNegative = Field(
        0.03, description="division rate into a free neighbouring site, 1/h (none without a free site)")
    death_rate_per_h: NonNegative = Field(0.0, description="baseline apoptosis rate, 1/h")
    isolated_death_rate_per_h: NonNegative = Field(
        0.0, description="extra apoptosis (anoikis) of a cell touching no tumor cell and no bound escort, 1/h")
    caspase_duration_min: NonNegative = Field(
        0.0, description="time an apoptotic (caspase+) cell stays before it is removed, min (0: removed at once)")
    ki67_window_h: Positive = Field(24.0, description="a cell counts as proliferating (Ki67+) this long after dividing, h")
    colony_forming_probability: Probability = Field(
        0.2, description="chance that a viable cell forms a colony when plated (colony assay read-out)")
    # Invasion: leader cells at an organoid's rim migrate into the matrix.
    leader_rate_per_h: NonNegative = Field(
        0.0, description="rate at which an epithelial cell with a free neighbouring site becomes an invasive leader, 1/h")
    leader_revert_rate_per_h: NonNegative = Field(0.0, description="rate at which a leader returns to epithelial, 1/h")
    invasive_move_rate_per_h: NonNegative = Field(0.0, description="migration rate of invasive leaders, 1/h")
    invasive_persistence: Probability = Field(
        0.8, description="chance per move that a leader keeps its direction when the site ahead is free")
    # Single-cell motility, for tumor cells in suspension (circulating cells); 0 in tissue.
    motility_rate_per_h: NonNegative = Field(0.0, description="random-walk rate of non-invasive tumor cells, 1/h")
    adhesion_per_contact: Probability = Field(
        0.0, description="fraction of moves prevented per adhesive contact (PLXNB2+ tumor neighbour, bound escort)")
    vcam1_positive: bool = Field(True, description="cells express VCAM1 (bind neutrophils and VLA-4+ T cells)")
    plxnb2_positive: bool = Field(True, description="cells express Plexin-B2 (homotypic adhesion)")
    # Dormancy under IFN-gamma.
    ifng_responsive: bool = Field(True, description="cells sense IFN-gamma (false: IFN-gamma receptor knocked out)")
    dormancy_entry_rate_per_h: NonNegative = Field(
        0.0, description="rate of entering dormancy at saturating IFN-gamma, 1/h (scaled by the Hill response)")
    dormancy_exit_rate_per_h: NonNegative = Field(
        0.0, description="rate of re-entering the cycle without IFN-gamma, 1/h (scaled by 1 - Hill response)")
    ifng_dormancy_half_max: Positive = Field(1.0, description="IFN-gamma giving half-maximal dormancy response")
    ifng_dormancy_hill_n: HillExponent = Field(2, description="Hill exponent of the dormancy response")
    ifng_uptake_per_min: NonNegative = Field(0.0, description="IFN-gamma consumed at the cell's site, 1/min")
    # NK ligands: clustered epithelial cells show fewer activating and more inhibitory ligands (Lo 2020).
    activating_ligand_single: Positive = Field(1.0, description="activating NK-ligand level of an isolated cell")
    activating_ligand_cluster_loss: Probability = Field(
        0.0, description="fraction of activating ligand lost when surrounded by epithelial tumor cells")
    inhibitory_ligand_single: NonNegative = Field(0.0, description="inhibitory NK-ligand level of an isolated cell")
    inhibitory_ligand_cluster_gain: NonNegative = Field(
        0.0, description="inhibitory ligand added when surrounded by epithelial tumor cells")
    epithelial_neighbours_half: Positive = Field(
        2.0, description="epithelial tumor neighbours giving half the clustering effect on ligands")
    # Neutrophil cytokines (IL-6/IL-1beta) shorten the cycle.
    cytokine_division_boost: NonNegative = Field(
        0.0, description="extra division rate at saturating neutrophil cytokine, as a multiple of the base rate")
    cytokine_half_max: Positive = Field(1.0, description="neutrophil cytokine giving half the boost")
    chemoattractant_secretion_per_min: NonNegative = Field(
        0.0, description="tumor-derived chemoattractant added at the cell's site, per min")


class NKConfig(Strict):
    move_rate_per_h: NonNegative = Field(
        6.0, description="rate of random-walk steps to a free neighbouring site, 1/h (none while conjugated)")
    chemotaxis_bias: Probability = Field(
        0.0, description="chance that a move goes to the free neighbour with the most chemoattractant")
    kill_probability_per_contact: Probability = Field(
        description="kill probability of a contact with an isolated target (no ligand or receptor inhibition)")
    conjugation_time_min: NonNegative = Field(
        0.0, description="duration of an NK-target conjugate before the kill is decided, min")
    max_kills: Annotated[int, Field(ge=0)] = Field(0, description="kills before exhaustion (0: unlimited)")
    inhibitory_receptor_weight: NonNegative = Field(
        1.0, description="weight of the NK cell's inhibitory receptors against the target's activating ligands")
    inhibitory_receptor_gain_per_contact: NonNegative = Field(
        0.0, description="TIGIT/KLRG1 increase per tumor contact (education)")
    initial_inhibitory_receptors: NonNegative = Field(
        0.0, description="inhibitory receptor level at the start (tumor-exposed NK: high)")
    exposed_threshold: Positive = Field(1.0, description="inhibitory receptor level from which an NK cell is tumor-exposed")
    exposed_colony_support_per_h: NonNegative = Field(
        0.0, description="rise per hour of a touching tumor cell's colony-forming probability next to an exposed NK cell "
                         "(Chan 2020; mechanism unknown, a stated parameter)")
    ifng_secretion_per_min: NonNegative = Field(0.0, description="IFN-gamma added at the site of an active NK cell, per min")
    ifng_secretion_in_contact_per_min: NonNegative | None = Field(
        None, description="IFN-gamma secretion while conjugated, per min (default: as when active)")
    cxcl12_quiescence_threshold: Positive | None = Field(
        None, description="local CXCL12 above which the NK cell is quiescent: no secretion, no killing, no division "
                          "(Correia 2021; none: never)")
    il15_quiescence_resistance: NonNegative = Field(
        0.0, description="IL-15 raises the CXCL12 level needed for quiescence by this factor at saturation (assumed)")
    proliferation_rate_per_h: NonNegative = Field(
        0.0, description="division rate at saturating IL-15 into a free site, 1/h")
    il15_half_max: Positive = Field(1.0, description="IL-15 giving half-maximal proliferation and survival effects")
    il15_survival_gain: Probability = Field(0.0, description="fraction of the death rate removed at saturating IL-15")
    il15_uptake_per_min: NonNegative = Field(0.0, description="IL-15 consumed at the NK cell's site, 1/min")
    death_rate_per_h: NonNegative = Field(0.0, description="death rate without IL-15, 1/h")


class StellateConfig(Strict):
    activation_rate_per_h: NonNegative = Field(
        0.0, description="activation rate at saturating inflammation, 1/h")
    inflammation_level: NonNegative = Field(0.0, description="tissue inflammation level (0: none); see interventions")
    inflammation_half_max: Positive = Field(1.0, description="inflammation giving half-maximal activation rate")
    cxcl12_secretion_per_min: NonNegative = Field(0.0, description="CXCL12 added at an activated cell's site, per min")


class NeutrophilConfig(Strict):
    move_rate_per_h: NonNegative = Field(6.0, description="random-walk rate of free neutrophils, 1/h")
    chemotaxis_bias: Probability = Field(0.0, description="chance that a move goes up the chemoattractant")
    binding_probability_per_contact: Probability = Field(
        0.0, description="chance per step that a free neutrophil binds a touching VCAM1+ tumor cell")
    unbinding_rate_per_h: NonNegative = Field(0.0, description="rate at which a bond breaks, 1/h")
    cytokine_secretion_per_min: NonNegative = Field(
        0.0, description="IL-6/IL-1beta-like cytokine added at a free neutrophil's site, per min")
    cytokine_secretion_bound_per_min: NonNegative = Field(
        0.0, description="cytokine secretion while bound to a tumor cell, per min")
    lifespan_h: Positive | None = Field(None, description="mean lifespan, h (none: immortal)")


class TCellConfig(Strict):
    move_rate_per_h: NonNegative = Field(6.0, description="random-walk rate of free double-positive T cells, 1/h")
    binding_probability_per_contact: Probability = Field(
        0.0, description="chance per step that a free T cell binds a touching VCAM1+ tumor cell (VLA-4/VCAM1)")
    unbinding_rate_per_h: NonNegative = Field(0.0, description="rate at which a bond breaks, 1/h")
    nk_suppression: Probability = Field(
        0.0, description="fraction of NK kill probability removed for a target touching a bound T cell")
    lifespan_h: Positive | None = Field(None, description="mean lifespan, h (none: immortal)")


class CellsConfig(Strict):
    tumor: TumorConfig = TumorConfig()
    nk: NKConfig
    stellate: StellateConfig = StellateConfig()
    neutrophil: NeutrophilConfig = NeutrophilConfig()
    tcell: TCellConfig = TCellConfig()
