"""Cell types, their states, and the neighbour categories cells sense.

Codes are small integers (int8). Names travel with every output file (attributes
``cell_types`` and ``cell_states``), so a reader never needs this module to decode a run.
"""
from __future__ import annotations

CELL_TYPES: tuple[str, ...] = ("tumor", "nk", "stellate", "neutrophil", "tcell")

# States per cell type, in code order (state codes are per type, starting at 0).
CELL_STATES: dict[str, tuple[str, ...]] = {
    # proliferating: epithelial, cycling; invasive: leader cell migrating into the matrix;
    # dormant: quiescent under IFN-gamma; apoptotic: caspase+ until removed.
    "tumor": ("proliferating", "invasive", "dormant", "apoptotic"),
    # conjugated: bound to a target cell; exposed: inhibitory receptors past the threshold
    # (educated by tumor contact); exhausted: kill budget spent; quiescent: suppressed by CXCL12.
    "nk": ("active", "conjugated", "exposed", "exhausted", "quiescent"),
    "stellate": ("quiescent", "activated"),
    "neutrophil": ("free", "bound"),
    "tcell": ("free", "bound"),  # CD4/CD8 double-positive T cells
}

TYPE_CODE = {name: code for code, name in enumerate(CELL_TYPES)}
N_TYPES = len(CELL_TYPES)
MAX_STATES = max(len(states) for states in CELL_STATES.values())
STATE = {cell_type: {state: code for code, state in enumerate(states)} for cell_type, states in CELL_STATES.items()}

# What a cell sees of a neighbour: finer than its type (an epithelial tumor cell is not a
# caspase+ one; a bound T cell is not a free one). Column N_CATEGORIES of the neighbour
# tables counts empty sites.
CATEGORIES: tuple[str, ...] = (
    "tumor_epithelial",  # viable tumor cell with epithelial character (proliferating or dormant)
    "tumor_mesenchymal",  # viable tumor cell without it (invasive leader, or after EMT)
    "tumor_apoptotic",
    "nk",
    "nk_exposed",  # NK cell whose inhibitory receptors passed the exposure threshold
    "stellate",
    "neutrophil_free",
    "neutrophil_bound",
    "tcell_free",
    "tcell_bound",
)
CATEGORY = {name: code for code, name in enumerate(CATEGORIES)}
N_CATEGORIES = len(CATEGORIES)
EMPTY_CATEGORY = N_CATEGORIES


def state_code(cell_type: str, state: str) -> int:
    return STATE[cell_type][state]


def count_columns() -> list[tuple[str, str, int]]:
    """(cell type, state, flat index type * MAX_STATES + state) for every valid pair."""
    return [
        (cell_type, state, TYPE_CODE[cell_type] * MAX_STATES + code)
        for cell_type in CELL_TYPES
        for code, state in enumerate(CELL_STATES[cell_type])
    ]
