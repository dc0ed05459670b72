"""The tumor cell's configuration: every key a scenario or the parameter set may give a tumor cell,
with its units (abm/cells/tumor.py holds the rules that read it)."""
from __future__ import annotations

from pydantic import Field

from ..configtypes import HillExponent, NonNegative, Positive, Probability, Strict


class TumorConfig(Strict):
    division_rate_per_h: NonNegative = Field(
        0.03, description="division rate into a free neighbouring site, 1/h (none without a free site)")
    death_rate_per_h: NonNegative = Field(0.0, description="baseline apoptosis rate, 1/h")
    isolated_death_rate_per_h: NonNegative = Field(
        0.0, description="extra apoptosis (anoikis) of a cell touching no tumor cell and no bound escort, 1/h")
    caspase_duration_min: NonNegative = Field(
        0.0, description="time an apoptotic (caspase+) cell stays before it is removed, min (0: removed at once)")
    ki67_window_h: Positive = Field(24.0, description="a cell counts as proliferating (Ki67+) this long after dividing, h")
    exposed_nk_division_boost_per_h: NonNegative = Field(
        0.0, description="rise per hour, per touching tumor-exposed NK cell, of a cell's heritable division boost "
                         "(extra division rate as a multiple of the base rate); assumed: Chan 2020 give no mechanism")
    max_division_boost: NonNegative = Field(
        1.0, description="largest heritable division boost, as a multiple of the base division rate")
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
    activating_ligand_shedding_per_h: NonNegative = Field(
        0.0, description="rate at which an arrested cell sheds its activating NK ligand (CD155, cleaved by "
                         "thrombin at the arrest site), 1/h; an NK contact kills in proportion to what is left")
    # Neutrophil cytokines (IL-6/IL-1beta) shorten the cycle.
    cytokine_division_boost: NonNegative = Field(
        0.0, description="extra division rate at saturating neutrophil cytokine, as a multiple of the base rate")
    cytokine_half_max: Positive = Field(1.0, description="neutrophil cytokine giving half the boost")
    chemoattractant_secretion_per_min: NonNegative = Field(
        0.0, description="tumor-derived chemoattractant added at the cell's site, per min")
