"""Cell types and their states: the codes stored in agent arrays, lattices and HDF5 files.

Codes are small integers (int8). Their names travel with every output file (attributes
``cell_types`` and ``cell_states``), so a reader never needs this module to decode a run.
"""
from __future__ import annotations

CELL_TYPES: tuple[str, ...] = ("tumor", "nk")

# States per cell type, in code order (state codes are per type, starting at 0).
CELL_STATES: dict[str, tuple[str, ...]] = {
    "tumor": ("proliferating",),
    "nk": ("active",),
}

TYPE_CODE = {name: code for code, name in enumerate(CELL_TYPES)}
N_TYPES = len(CELL_TYPES)
MAX_STATES = max(len(states) for states in CELL_STATES.values())


def state_code(cell_type: str, state: str) -> int:
    return CELL_STATES[cell_type].index(state)


def count_columns() -> list[tuple[str, str, int]]:
    """(cell type, state, flat index type * MAX_STATES + state) for every valid pair."""
    return [
        (cell_type, state, TYPE_CODE[cell_type] * MAX_STATES + code)
        for cell_type in CELL_TYPES
        for code, state in enumerate(CELL_STATES[cell_type])
    ]
