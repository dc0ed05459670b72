"""What an NK cell sees of its target: the target's NK ligands and the effector share they leave,
read by the contact kill and by IFN-gamma release (abm/cells/nk.py)."""
from __future__ import annotations

import numpy as np

from ..engine.cell_rules import cell_function


@cell_function
def target_ligands(target, categories, neighbour_counts, all_activating_ligand_left, epithelial, p):
    """(activating, inhibitory, engaged) NK ligands of a tumor cell: the more epithelial tumor
    neighbours an epithelial cell has, the fewer activating and the more inhibitory ligands (Lo 2020;
    after EMT a cell looks single); engaged: the share of activating ligand (CD155) not yet shed."""
    clustering = np.float32(0.0)
    if categories[target] == epithelial:
        n_epithelial = np.float32(neighbour_counts[target, epithelial])
        clustering = np.float32(n_epithelial / np.float32(n_epithelial + np.float32(p.epithelial_neighbours_half)))
    activating = np.float32(np.float32(p.activating_ligand_single) * np.float32(
        np.float32(1.0) - np.float32(np.float32(p.activating_ligand_cluster_loss) * clustering)))
    inhibitory = np.float32(np.float32(p.inhibitory_ligand_single)
                            + np.float32(np.float32(p.inhibitory_ligand_cluster_gain) * clustering))
    return activating, inhibitory, all_activating_ligand_left[target]


@cell_function
def effector_share(activating, inhibitory, weight, receptors):
    """A / (A + I + w R): the share of its effector function an NK cell keeps against a target with
    activating ligand A and inhibitory ligand I, through its inhibitory receptors R of weight w."""
    return np.float32(activating / np.float32(np.float32(activating + inhibitory)
                                              + np.float32(np.float32(weight) * receptors)))
