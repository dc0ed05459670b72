"""What every rule reads during a step: the step's context (StepContext), and the cells of each type.

The rules themselves are per-cell functions (abm/engine/cell_rules.py); the modules of this package
hold rules shared by several cell types (walking, bonds, escorts, cohesion, conjugates).
Nothing is applied during decisions: every cell decides from the same snapshot of the tissue,
and contested intents are resolved afterwards (claim-then-resolve, abm/resolution.py).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..kernels.counts import count_codes


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

    def slots_of(self, cell_type: str):
        """Slots of the cells of a type, ascending (for tools and tests: the step itself never
        needs them, each type's kernel runs over all cells and skips the others)."""
        return self.xp.nonzero(self.agents["cell_type"] == self.spec.type_code[cell_type])[0]

    def state(self, cell_type: str, state: str) -> int:
        """Code of a state of a type."""
        return self.spec.state[cell_type][state]


def slots_by_type(xp, cell_type, to_host, n_types: int) -> dict:
    """Type code -> slots of the cells of that type, ascending (as nonzero would give them).

    All types from one stable sort and one host read of the counts: on a GPU, one wait for the
    host instead of one per type.
    """
    order = xp.argsort(cell_type, kind="stable")  # stable: slots stay ascending within a type
    counts = to_host(count_codes(cell_type, n_types, xp=xp))
    bounds = np.concatenate([[0], np.cumsum(counts)])
    return {code: order[bounds[code]:bounds[code + 1]] for code in range(n_types)}
