"""What a cell perceives of its neighbours: categories, from each type's declared categories.

One kernel over all cells (generated for the spec, compiled like the rules): a type's cells are
sorted into its categories in declared order, a later one winning; -1 for a cell in none.
"""
from __future__ import annotations

from ..engine import targets
from ..engine.compose import Program
from ..engine.step_kernels import launch_step_kernel


def categorise_program(spec) -> Program:
    lines = ["    for i in LOOP(n):", "        t = col_cell_type[i]", "        c = np.int8(-1)"]
    namespace, columns = {}, {"cell_type"}
    for type_name, declared in spec.types.items():
        lines.append(f"        if t == {spec.type_code[type_name]}:")
        for item in declared.categories:
            code = spec.category[item.name]
            if item.where is None:
                lines.append(f"            c = np.int8({code})")
                continue
            key = f"where_{item.name}"
            namespace[key] = item.where
            columns.update(item.inputs)
            lines += [f"            if {key}({', '.join(f'col_{name}[i]' for name in item.inputs)}):",
                      f"                c = np.int8({code})"]
    lines.append("        category[i] = c")
    signature = ["n", "category"] + [f"col_{name}" for name in sorted(columns)]
    source = "\n".join([f"def categorise({', '.join(signature)}):", *lines]) + "\n"
    return Program("step", "categorise", source, "categorise", namespace, [], tuple(signature))


def categorise(xp, cells, spec):
    """Category code of every live cell (spec.categories), -1 for none."""
    program = getattr(spec, "_categorise", None)
    if program is None:
        program = spec._categorise = categorise_program(spec)
    category = xp.empty(cells.n, dtype=xp.int8)
    if cells.n:
        arguments = (cells.n, category, *(cells[name[4:]] for name in program.arrays[2:]))
        launch_step_kernel(program, targets.target_of(xp), cells.n, arguments, xp)
    return category
