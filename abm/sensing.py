"""What a cell perceives of its neighbours: categories, from each type's declared categories."""
from __future__ import annotations


def categorise(xp, cells, spec, present=None):
    """Category code of every live cell (spec.categories), -1 for none.

    A type's cells are sorted into its categories in declared order (a later one wins).
    `present`: type names with cells (others are skipped: no cell to sort, no kernel to launch).
    """
    cell_type = cells["cell_type"]
    category = xp.full(cells.n, -1, dtype=xp.int8)
    for type_name, declared in spec.types.items():
        if present is not None and type_name not in present:
            continue
        of_type = cell_type == spec.type_code[type_name]
        for item in declared.categories:
            mask = of_type if item.where is None else of_type & item.where(xp, cells)
            category = xp.where(mask, xp.int8(spec.category[item.name]), category)
    return category
