"""Running a type's composed phases inside the step: what its cells decided (Decisions).

A type's per-cell rules (cell_rules.CellRule) are composed into one kernel per phase when the
model is built; each step the kernel runs over the type's cells and writes, at their slots, what
each decided: new column values, claims, tallies, secretions. Resolution reads them
(abm/core/resolution.py).
"""
from __future__ import annotations

import dataclasses

import numpy as np

from . import targets
from .compose import compose
from .params import params_record, params_tuple
from .targets import compile_program


class CompiledType:
    """One type's decide and secrete programs, composed from its scheduled rules."""

    def __init__(self, spec, schedule_type, config):
        name, declared = schedule_type.name, schedule_type.declared
        fields = tuple(config.fields)
        self.name, self.declared = name, declared
        self.code = spec.type_code[name]
        self.programs = {phase: compose(spec, name, declared, rules, schedule_type.grammar, fields, phase)
                         for phase, rules in (("decide", schedule_type.decide), ("secrete", schedule_type.secrete))
                         if rules}
        self._params: dict = {}

    def _p(self, ctx, program, record: bool):
        """The type's parameters as a named tuple, or as a one-element record array (the CPU's)."""
        params = ctx.params[self.name]
        key = (program.phase, id(params), frozenset(ctx.in_force), record)
        if key not in self._params:
            values = params_tuple(self.name, self.declared, params, program.grammar, ctx.dt_min, ctx.in_force)
            self._params[key] = (params, params_record(values) if record else values)
        return self._params[key][1]

    def _other(self, ctx, type_name: str, record: bool):
        """Another type's parameters (no grammar constants: its signals are its own)."""
        params = ctx.params[type_name]
        key = ("other", type_name, id(params), record)
        if key not in self._params:
            declared = ctx.spec.types[type_name]
            values = params_tuple(type_name, declared, params, [], ctx.dt_min, ctx.in_force)
            self._params[key] = (params, params_record(values) if record else values)
        return self._params[key][1]

    def _tables(self, ctx) -> dict:
        """The type's parameter arrays (lookup tables) on the backend, uploaded once per parameter set."""
        params = ctx.params[self.name]
        key = ("tables", id(params), id(ctx.xp))
        if key not in self._params:
            self._params[key] = (params, {f"p_{f.name}": ctx.xp.asarray(getattr(params, f.name))
                                          for f in dataclasses.fields(params)
                                          if isinstance(getattr(params, f.name), np.ndarray)})
        return self._params[key][1]

    def arguments(self, ctx, phase: str, decisions=None, target: str | None = None) -> tuple:
        """A phase kernel's arguments this step for `target` (default: the backend's), its outputs
        last: the step's arrays over all cells, which this type's kernel writes at its own cells' slots."""
        program = self.programs[phase]
        xp = ctx.xp
        record = (target or targets.target_of(xp)) == "cpu"
        if decisions is None:
            decisions = Decisions(xp, ctx.agents.n)
        tissue, tables = arrays(ctx), self._tables(ctx)  # disjoint names: p_<parameter> are the tables
        return (ctx.agents.n, np.uint64(ctx.seed & 0xFFFFFFFF), np.uint64((ctx.seed >> 32) & 0xFFFFFFFF),
                np.uint64(ctx.step & 0xFFFFFFFF), np.float64(ctx.dt_min), self._p(ctx, program, record),
                *(self._other(ctx, name, record) for name in program.other_params),
                *(tables[name] if name in tables else tissue[name] for name in program.arrays),
                *(decisions.buffer(o.name, o.dtype) for o in program.outputs))

    def run(self, ctx, phase: str, decisions) -> None:
        """Run a phase's kernel over the type's cells; its outputs land in `decisions`."""
        if phase not in self.programs or ctx.agents.n == 0:
            return
        program = self.programs[phase]
        target = targets.target_of(ctx.xp)
        arguments = self.arguments(ctx, phase, decisions, target)
        targets.launch(compile_program(program, target), target, arguments, ctx.agents.n, ctx.xp)
        decisions.produced(self.code, program)
        if any(o.name == "move_turn" for o in program.outputs):
            take_turns(ctx, self.code, decisions.arrays, target)


class Decisions:
    """What the cells decided this step: one array per output name over all cells (slots [0, n)),
    written by the types that produce it at their own cells' slots (other entries are undefined),
    and, per output name, the type codes that wrote it (resolution reads only those)."""

    def __init__(self, xp, n: int, pool: dict | None = None):
        """`pool`: arrays kept from step to step (name -> array of at least n entries), so that a
        step allocates none; a Decisions is then valid until the next one made with that pool."""
        self.xp, self.n, self.pool = xp, n, pool
        self.arrays: dict = {}
        self.by_type: dict = {}  # output name -> [type code]
        self.order: dict = {}  # type code -> its outputs, in its rules' order

    def buffer(self, name: str, dtype):
        if name not in self.arrays:
            if self.pool is None:
                self.arrays[name] = self.xp.empty(self.n, dtype=dtype)
            else:
                kept = self.pool.get(name)
                if kept is None or kept.shape[0] < self.n or kept.dtype != dtype:
                    kept = self.pool[name] = self.xp.empty(max(self.n, 1024, 0 if kept is None else 2 * kept.shape[0]),
                                                           dtype=dtype)
                self.arrays[name] = kept[:self.n]
        return self.arrays[name]

    def produced(self, code: int, program) -> None:
        self.order.setdefault(code, []).extend(o.name for o in program.outputs)
        for output in program.outputs:
            self.by_type.setdefault(output.name, []).append(code)

    def get(self, name: str, dtype):
        """The array of an output (a 0-length one where no type produced it: never read then)."""
        return self.arrays[name] if name in self.arrays else self.xp.empty(0, dtype=dtype)


def contact_table(offsets) -> np.ndarray:
    """uint32 per offset o: bit q set where the site at offset q neighbours the site at offset o."""
    neighbourhood = {tuple(int(v) for v in o) for o in offsets}
    table = np.zeros(len(offsets), dtype=np.uint32)
    for o, a in enumerate(offsets):
        for q, b in enumerate(offsets):
            if tuple(int(v) for v in a - b) in neighbourhood:
                table[o] |= np.uint32(1 << q)
    return table


def take_turns(ctx, code: int, out, target: str) -> None:
    """Moves that take turns (a cluster member walking, rules/cohesion.py): a move stands only if its
    key (priority word, id) is below that of every held neighbour that also takes such a move this
    step, so two touching members never move together. Needs every cell's decision: a second pass
    (resolve_kernels.turn_contenders, take_turns)."""
    from .step_kernels import launch_fixed

    xp, n, lattice = ctx.xp, ctx.agents.n, ctx.lattice
    offsets, shape = arrays(ctx)["offsets"], arrays(ctx)["lattice_shape"]
    contender = xp.empty(n, dtype=xp.uint64)
    launch_fixed("turn_contenders", target, n, (n, code, ctx.agents["cell_type"], ctx.agents["id"], out["move_turn"],
                                                 out["move_turn_word"], contender), xp)
    launch_fixed("take_turns", target, n, (n, code, ctx.agents["cell_type"], ctx.agents["site"], out["move_turn"],
                                           out["move_holds"], contender, lattice.occupancy, offsets, shape,
                                           lattice.offsets.shape[0], out["move_to"]), xp)


SENSED = (("categories", "category"), ("neighbour_counts", "neighbour_counts"), ("neighbour_masks", "neighbour_masks"))


def arrays(ctx, earlier=None) -> dict:
    """The tissue's arrays a compiled rule may read, by the names the kernels take (once per phase).
    `earlier`: a context of the same step whose cells and fields are still these (the secrete
    phase's): its arrays are taken with what sensing added."""
    cached = getattr(ctx, "_arrays", None)
    if cached is not None:
        return cached
    known = getattr(earlier, "_arrays", None)
    if known is not None and earlier.agents is ctx.agents and earlier.agents.n == ctx.agents.n:
        values = dict(known)
        values.update((name, getattr(ctx, attribute)) for name, attribute in SENSED
                      if getattr(ctx, attribute) is not None)
        ctx._arrays = values
        return values
    xp, spec, agents, lattice = ctx.xp, ctx.spec, ctx.agents, ctx.lattice
    n_columns = spec.n_categories + 1
    values = {f"col_{name}": agents[name] for name in agents.columns}
    values["occupancy"] = lattice.occupancy
    if not hasattr(lattice, "kernel_tables"):  # uploaded once per lattice
        lattice.kernel_tables = (lattice.offsets_device.astype(xp.int64),
                                 xp.asarray(list(lattice.shape) + [1] * (3 - len(lattice.shape)), dtype=xp.int64),
                                 xp.asarray(contact_table(lattice.offsets)))
        # what a kernel reads where the step has none yet (the secrete phase runs before sensing)
        lattice.no_arrays = {"categories": xp.zeros(0, dtype=xp.int8),
                             "neighbour_counts": xp.zeros((0, n_columns), dtype=xp.int32),
                             "neighbour_masks": xp.zeros((0, n_columns), dtype=xp.uint32),
                             "no_field": xp.zeros(0, dtype=xp.float32)}  # a field the config does not simulate
    values.update(lattice.no_arrays)
    values.update((name, getattr(ctx, attribute)) for name, attribute in SENSED if getattr(ctx, attribute) is not None)
    values["offsets"], values["lattice_shape"], values["contact_table"] = lattice.kernel_tables
    for name, flat in ctx.fields_flat.items():
        values[f"field_{name}"] = flat
    ctx._arrays = values
    return values
