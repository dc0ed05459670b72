"""What the step hands its phases: the step's context (StepContext).

The rules themselves are per-cell functions (abm/engine/cell_rules.py); the modules of this package
hold rules shared by several cell types (walking, bonds, escorts, cohesion, conjugates).
Nothing is applied during decisions: every cell decides from the same snapshot of the tissue,
and contested intents are resolved afterwards (claim-then-resolve, abm/core/resolution.py).
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class StepContext:
    """What every rule may read during the decision phase of one step."""

    xp: object
    spec: object  # the ModelSpec: type, state and category codes, purposes
    seed: int
    step: int
    dt_min: float
    time_min: float  # at the start of the step
    lattice: object
    agents: object
    fields_flat: dict  # field name -> flat field array (simulated fields only)
    local_concentration: object  # field name -> concentration at each live cell's site (zeros if absent)
    category: object  # (n,) int8: what neighbours see of each cell (spec.categories)
    neighbour_counts: object  # (n, n_categories + 1) int32, last column: empty sites
    neighbour_masks: object  # (n, n_categories + 1) uint32, bit j: offsets[j] holds that category
    in_force: dict  # interventions active this step
    params: dict  # cell type -> its prepared parameters
    # type code -> live cells at the start of the step, as the host counted them with the last step's
    # statistics (no extra copy); types with none have no kernel to run. None: not known
    cells_by_type: dict | None = None

    def slots_of(self, cell_type: str):
        """Slots of the cells of a type, ascending (for tools and tests: the step itself never
        needs them, each type's kernel runs over all cells and skips the others)."""
        return self.xp.nonzero(self.agents["cell_type"] == self.spec.type_code[cell_type])[0]
