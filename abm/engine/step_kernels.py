"""The step's kernels that are not a type's rules, for every target.

- The claim-then-resolve kernels (resolve_kernels.py): one fixed source, compiled per target.
- Kernels written for this model's spec (which columns a type updates, which columns a daughter
  copies, which fields a type secretes into): their source is generated here, once per model,
  and compiled like a type's rules (targets.compile_program). Reading `.source` shows them.
"""
from __future__ import annotations

import inspect
from functools import lru_cache

import numpy as np

from . import resolve_kernels, targets
from .compose import Program
from .targets import compile_program, for_target

FIXED = ("turn_contenders", "take_turns", "claim_kills", "kill", "dying_and_claims", "move", "claim_follows", "follow", "leaving")


def fixed_sources(target: str) -> dict:
    """name -> the resolve kernel's Python function written for `target` (not yet compiled)."""
    from numba import cuda
    namespace = dict(vars(resolve_kernels))
    namespace["cuda"] = cuda
    exec(compile(for_target(inspect.getsource(resolve_kernels), target), "<resolve kernels>", "exec"), namespace)
    return {name: namespace[name] for name in FIXED}


@lru_cache(maxsize=None)
def fixed_kernels(target: str) -> dict:
    """name -> the resolve kernel compiled for `target` (numba caches the CPU ones on disk)."""
    if target == "python":
        return {name: getattr(resolve_kernels, name) for name in FIXED}
    if target == "cpu":
        from numba import njit
        return {name: njit(cache=True, _nrt=False)(getattr(resolve_kernels, name)) for name in FIXED}
    from numba import cuda
    targets.without_contraction()
    functions = fixed_sources(target)
    if target == "cudasim":
        from numba.cuda.simulator import api as simulator
        return {name: simulator.jit(function) for name, function in functions.items()}
    return {name: cuda.jit(function) for name, function in functions.items()}


def _program(name: str, lines: list[str], signature: list[str]) -> Program:
    source = "\n".join([f"def {name}({', '.join(signature)}):", *lines]) + "\n"
    return Program("step", name, source, name, {}, [], tuple(signature), serial=True)


def apply_program(spec, updates_by_type: dict, tallies_by_type: dict, event_index: dict) -> Program | None:
    """Each cell's changes to itself, in its type's rule order (a new state restarts the state
    clock), and the rules' tallies. updates_by_type: type code -> [column]; tallies: -> [event];
    event_index: event -> its entry in the step's tallies array."""
    if not any(updates_by_type.values()) and not any(tallies_by_type.values()):
        return None
    columns = sorted({c for cs in updates_by_type.values() for c in cs} | ({"state_age_min"} if any(
        "state" in cs for cs in updates_by_type.values()) else set()))
    events = sorted({e for es in tallies_by_type.values() for e in es})
    lines = ["    for i in SERIAL(n):", "        t = cell_type[i]"]
    for code in sorted(set(updates_by_type) | set(tallies_by_type)):
        lines.append(f"        if t == {code} and not depleted[{code}]:")
        for column in updates_by_type.get(code, ()):
            if column == "state":
                lines += ["            if col_state[i] != new_state[i]:",
                          "                col_state_age_min[i] = np.float32(0.0)"]
            lines.append(f"            col_{column}[i] = new_{column}[i]")
        for event in tallies_by_type.get(code, ()):
            lines.append(f"            atomic_add(tallies, {event_index[event]}, tally_{event}[i])")
        if lines[-1].endswith(":"):
            lines.append("            pass")
    signature = (["n", "cell_type", "depleted", "tallies"] + [f"col_{c}" for c in columns]
                 + [f"new_{c}" for c in sorted({c for cs in updates_by_type.values() for c in cs})]
                 + [f"tally_{e}" for e in events])
    return _program("apply_decisions", lines, signature)


def births_program(spec) -> Program:
    """Daughters of the cells whose division won its site: copies of their mothers (the mother's
    cycle clock restarts first) except the columns reset at birth, in the state the division
    named, at slots n + rank in mother order (born_before: mothers up to and including a cell),
    with ids next_id + rank; births[0]: how many."""
    lines = ["    for i in SERIAL(n):", "        if i == n - 1:", "            births[0] = born_before[i]",
             "        if born[i]:", "            rank = born_before[i] - 1", "            d = n + rank",
             "            col_cycle_clock_min[i] = np.float32(0.0)"]
    for name, column in spec.columns.items():
        if name in ("id", "site", "state"):
            continue
        if column.at_birth == "inherit":
            lines.append(f"            col_{name}[d] = col_{name}[i]")
        else:
            lines.append(f"            col_{name}[d] = {_literal(column.numpy_dtype, column.at_birth)}")
    lines += ["            col_site[d] = claim_birth[i]", "            col_state[d] = daughter_state[i]",
              "            col_id[d] = next_id + rank", "            occupancy[claim_birth[i]] = d"]
    signature = ["n", "next_id", "born", "born_before", "claim_birth", "daughter_state", "occupancy", "births"] + [
        f"col_{name}" for name in spec.columns]
    return _program("births", lines, signature)


def compact_program(spec) -> Program:
    """The cells that stay, moved to slots [0, kept) in order (kept_before: kept cells up to and
    including a cell), into the `to_` columns; their sites point to their new slots; cells per
    (type, state) counted; n_cells[0]: how many stay. `in_place`: the `to_` columns are the cells'
    own, which a serial loop may do (a cell only moves down, to a slot already read), and a cell
    that keeps its slot is not copied; threads in parallel write into spare columns."""
    lines = ["    for i in SERIAL(bound):", "        if i == bound - 1:", "            n_cells[0] = kept_before[i]",
             "        if keep[i]:", "            d = kept_before[i] - 1", "            if d != i or not in_place:"]
    lines += [f"                to_{name}[d] = col_{name}[i]" for name in spec.columns]
    lines += ["            occupancy[col_site[i]] = d",
              "            atomic_add(histogram, np.int64(col_cell_type[i]) * max_states + np.int64(col_state[i]), 1)"]
    signature = ["bound", "keep", "kept_before", "occupancy", "histogram", "n_cells", "max_states", "in_place"] + [
        f"col_{name}" for name in spec.columns] + [f"to_{name}" for name in spec.columns]
    return _program("compact", lines, signature)


def secretion_program(secretions_by_type: dict) -> Program | None:
    """c <- (c + secreted) * keep at each secreting cell's site (one cell per site: no two cells
    meet). secretions_by_type: type code -> [(field, secretes?, keeps?)]."""
    if not any(secretions_by_type.values()):
        return None
    fields = sorted({f for items in secretions_by_type.values() for f, _, _ in items})
    outputs = []
    lines = ["    for i in LOOP(n):", "        t = cell_type[i]"]
    for code, items in sorted(secretions_by_type.items()):
        if not items:
            continue
        lines += [f"        if t == {code}:", "            s = site[i]"]
        for field, secretes, keeps in items:
            added = f"secrete_{field}[i]" if secretes else "np.float32(0.0)"
            kept = f"keep_{field}[i]" if keeps else "np.float32(1.0)"
            lines.append(f"            field_{field}[s] = np.float32(np.float32(field_{field}[s] + {added}) * {kept})")
            outputs += [f"secrete_{field}"] * secretes + [f"keep_{field}"] * keeps
    signature = ["n", "cell_type", "site"] + [f"field_{f}" for f in fields] + sorted(set(outputs))
    program = _program("secrete_into_fields", lines, signature)
    program.serial = False
    return program


def launch_step_kernel(program: Program, target: str, n: int, arguments: tuple, xp) -> None:
    targets.launch(compile_program(program, target), target, arguments, n, xp)


def launch_fixed(name: str, target: str, n: int, arguments: tuple, xp) -> None:
    targets.launch(fixed_kernels(target)[name], target, arguments, n, xp)


def _literal(dtype, value) -> str:
    """A typed constant in generated source (numba keeps the column's type exactly)."""
    name = np.dtype(dtype).name
    return f"np.{'bool_' if name == 'bool' else name}({value!r})"
