"""Running a type's composed phases inside the step: what its cells decided, as the step's intents.

A type whose rules are all per-cell rules (cell_rules.CellRule) is composed into one kernel per
phase when the model is built; each step the kernel runs over the type's cells and its outputs
become the same intents and secretions an array rule would propose, so resolution is shared.
"""
from __future__ import annotations

import numpy as np

from ..rules import Secretion
from .compose import compose
from .params import params_tuple
from .targets import compile_program


def target_of(xp) -> str:
    """The compile target of a backend's arrays: numba on NumPy (plain Python with ABM_NUMBA=0), CUDA
    on CuPy, the CUDA simulator on the GPU code path run on the host (its array module says so)."""
    if xp is np:
        from ..kernels import _numba
        return "cpu" if _numba.enabled() else "python"
    return getattr(xp, "compile_target", "cuda")


class CompiledType:
    """One type's decide and secrete programs, composed from its scheduled rules."""

    def __init__(self, spec, schedule_type, config):
        name, declared = schedule_type.name, schedule_type.declared
        fields = tuple(config.fields)
        self.name, self.declared = name, declared
        self.programs = {phase: compose(spec, name, declared, rules, schedule_type.grammar, fields, phase)
                         for phase, rules in (("decide", schedule_type.decide), ("secrete", schedule_type.secrete))
                         if rules}
        self._params: dict = {}

    def _p(self, ctx, program):
        params = ctx.params[self.name]
        key = (program.phase, id(params), frozenset(ctx.in_force))
        if key not in self._params:
            self._params[key] = (params, params_tuple(self.name, self.declared, params, program.grammar,
                                                      ctx.dt_min, ctx.in_force))
        return self._params[key][1]

    def arguments(self, ctx, phase: str, slots) -> tuple:
        """A phase kernel's arguments this step (its outputs last, allocated here)."""
        program = self.programs[phase]
        xp, n = ctx.xp, int(slots.shape[0])
        available = arrays(ctx)
        return (slots, np.uint64(ctx.seed & 0xFFFFFFFF), np.uint64((ctx.seed >> 32) & 0xFFFFFFFF),
                np.uint64(ctx.step & 0xFFFFFFFF), np.float64(ctx.dt_min), self._p(ctx, program),
                *(available[name] for name in program.arrays),
                *(xp.empty(n, dtype=o.dtype) for o in program.outputs))

    def _run(self, ctx, phase: str, slots) -> dict:
        """Run a phase's kernel over the type's cells; its outputs by name, one value per cell."""
        program = self.programs[phase]
        arguments = self.arguments(ctx, phase, slots)
        target = target_of(ctx.xp)
        launch(compile_program(program, target), target, arguments, int(slots.shape[0]), ctx.xp)
        outputs = arguments[len(arguments) - len(program.outputs):]
        return {o.name: values for o, values in zip(program.outputs, outputs)}

    def decide(self, ctx, slots, intents) -> None:
        if "decide" not in self.programs:
            return
        out = self._run(ctx, "decide", slots)
        as_intents(ctx.xp, slots, out, intents)

    def secrete(self, ctx, slots) -> list:
        if "secrete" not in self.programs:
            return []
        out = self._run(ctx, "secrete", slots)
        xp, produced = ctx.xp, []
        sites = ctx.agents["site"][slots]
        for name, values in out.items():
            if name.startswith("secrete_"):
                field = name[8:]
                keep = out.get(f"keep_{field}")
                produced.append(Secretion(field, sites, values,
                                          xp.ones(slots.shape[0], dtype=xp.float32) if keep is None else keep))
            elif name.startswith("keep_") and f"secrete_{name[5:]}" not in out:
                produced.append(Secretion(name[5:], sites, xp.zeros(slots.shape[0], dtype=xp.float32), values))
        return produced


def launch(function, target: str, arguments: tuple, n: int, xp) -> None:
    """One kernel launch over n cells. On CuPy arrays: CuPy's current stream, and no wait for the
    arrays' streams (numba would otherwise synchronise on each array it is handed)."""
    if target in ("cuda", "cudasim"):
        threads = 128
        blocks = max(1, min((n + threads - 1) // threads, 4096))
        if target == "cuda":
            from numba import cuda
            stream = cuda.external_stream(xp.cuda.get_current_stream().ptr)
            arguments = tuple(cuda.as_cuda_array(a, sync=False) if hasattr(a, "__cuda_array_interface__") else a
                              for a in arguments)
            function[blocks, threads, stream](*arguments)
        else:
            function[blocks, threads](*arguments)
        return
    # numba takes plain arrays: a subclass (a test's counting array) is passed as a view of its data
    function(*(np.asarray(a) if isinstance(a, np.ndarray) else a for a in arguments))


def as_intents(xp, slots, out, intents) -> None:
    """A type's per-cell outputs as the step's intents (masks keep the arrays' lengths)."""
    for name, values in out.items():
        if name.startswith("new_"):
            intents.update(name[4:], slots, values)
        elif name == "move_to":
            intents.move(slots, values, where=values >= 0)
        elif name == "divide_into":
            intents.divide(slots, values, out["daughter_state"], where=values >= 0)
        elif name == "kill_site":
            intents.kill(slots, values, out["kill_clustered"], where=values >= 0)
        elif name == "follows":
            intents.follow(slots, values, where=values >= 0)
        elif name == "dies":
            intents.die(slots, where=values)
        elif name == "starts_dying":
            intents.start_dying(slots, where=values)
        elif name.startswith("tally_"):
            intents.tally(name[6:], values.sum())


def arrays(ctx) -> dict:
    """The tissue's arrays a compiled rule may read, by the names the kernels take (once per phase)."""
    cached = getattr(ctx, "_arrays", None)
    if cached is not None:
        return cached
    xp, spec, agents, lattice = ctx.xp, ctx.spec, ctx.agents, ctx.lattice
    n_columns = spec.n_categories + 1
    values = {f"col_{name}": agents[name] for name in agents.columns}
    values["occupancy"] = lattice.occupancy
    values["categories"] = ctx.category if ctx.category is not None else xp.zeros(0, dtype=xp.int8)
    values["neighbour_counts"] = ctx.neighbour_counts if ctx.neighbour_counts is not None else xp.zeros(
        (0, n_columns), dtype=xp.int32)
    values["neighbour_masks"] = ctx.neighbour_masks if ctx.neighbour_masks is not None else xp.zeros(
        (0, n_columns), dtype=xp.uint32)
    if not hasattr(lattice, "kernel_tables"):  # uploaded once per lattice
        lattice.kernel_tables = (lattice.offsets_device.astype(xp.int64),
                                 xp.asarray(list(lattice.shape) + [1] * (3 - len(lattice.shape)), dtype=xp.int64))
    values["offsets"], values["lattice_shape"] = lattice.kernel_tables
    for name, flat in ctx.fields_flat.items():
        values[f"field_{name}"] = flat
    values["no_field"] = xp.zeros(0, dtype=xp.float32)
    ctx._arrays = values
    return values
