"""Turning the step's decisions into changes of the tissue: claim-then-resolve, then apply.

Order within a step (each a kernel over all cells: abm/engine/resolve_kernels.py, and the kernels
generated for this model's spec: abm/engine/step_kernels.py):
1. updates: each cell's changes to itself (state, receptors, bonds), in its rules' order; the
   rules' tallies;
2. kills: one winner per target cell (the lowest (priority, id) key); the target enters its
   type's dying state (a tumor cell turns caspase+), or is removed if its type has none;
3. entries into the dying state and removals decided by the cells themselves (and by a depleting
   therapy);
4. moves and divisions of cells that are still viable compete for free target sites (one winner
   per site, the others stay put). Every target was free at the start of the step. A cell claims
   at most one site to move to and one to divide into (its first proposal in rule order), and a
   division into the site its own move claims is dropped, so no cell can win twice. Then
   followers whose leader moved (a bound escort and its tumor partner) step into the site the
   leader left;
5. births: daughters in mother id order, so ids do not depend on the backend;
6. leaving: cells removed, or in their dying state for its duration, free their sites; the
   agent arrays are compacted (order, and so ids, kept) and the others' clocks run on.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..engine import targets
from ..engine.step_kernels import apply_program, births_program, compact_program, launch_fixed, launch_step_kernel
from ..errors import ConfigError
from ..kernels._numba import njit
from ..spec import FRAMEWORK_PURPOSES
from .state import EMPTY

# The tallies array: these first, in the order resolve_kernels.py numbers them, then the rules' events.
RESOLUTION_EVENTS = ("births", "deaths", "kills", "moves", "kills_single", "kills_clustered")
INTENTS = {"kill_site": np.int64, "kill_clustered": np.bool_, "starts_dying": np.bool_, "dies": np.bool_,
           "move_to": np.int64, "divide_into": np.int64, "daughter_state": np.int8, "follows": np.int64}


@dataclass
class StepEvents:
    """The step's statistics in one device array, which the host reads in one copy (model.collect):
    the tallies in `names` order, the births, the cells after the step, then the cells per
    (type, state) (flat index type * max_states + state)."""

    statistics: object
    names: tuple

    def part(self, name: str):
        k = len(self.names)
        start, stop = {"tallies": (0, k), "births": (k, k + 1), "n_cells": (k + 1, k + 2), "histogram": (k + 2, None)}[name]
        return self.statistics[start:stop]


class Resolution:
    """Built once per model: the spec's tables and generated kernels, and the step's buffers."""

    def __init__(self, spec, config, schedule, xp):
        self.spec, self.xp = spec, xp
        self.names = RESOLUTION_EVENTS + tuple(e for e in spec.events if e not in RESOLUTION_EVENTS)
        index = {name: k for k, name in enumerate(self.names)}
        produced = {spec.type_code[name]: _outputs(t) for name, t in schedule.types.items()}
        updates, tallies = {}, {}
        for code, outputs in produced.items():
            updates[code] = [o[4:] for o in outputs if o.startswith("new_")]
            tallies[code] = [o[6:] for o in outputs if o.startswith("tally_")]
            undeclared = sorted(set(tallies[code]) - set(spec.events))
            if undeclared:  # a tally no cell type declared (CellType.events) would vanish from the outputs
                raise ConfigError(f"rules tally {undeclared}, which no cell type declares in its events")
        self.apply = apply_program(spec, updates, tallies, index)
        self.births = births_program(spec)
        self.compaction = compact_program(spec)
        self.produced = produced
        self.dying_state = np.full(spec.n_types, -1, dtype=np.int8)
        self.leave_state = np.full(spec.n_types, -1, dtype=np.int8)
        self.leave_after_min = np.zeros(spec.n_types, dtype=np.float32)
        for name, declared in spec.types.items():
            if declared.dying is not None:
                code, state = spec.type_code[name], spec.state[name][declared.dying.state]
                self.dying_state[code] = self.leave_state[code] = state
                self.leave_after_min[code] = float(getattr(getattr(config.cells, name), declared.dying.after_key))
        self._tables: dict = {}
        self._buffers: dict = {}

    def tables(self, depleted: frozenset) -> dict:
        """Per type code: which intents its cells made (a depleted type's rules do not run), uploaded
        once per set of depleted types."""
        if depleted not in self._tables:
            xp, codes = self.xp, range(self.spec.n_types)
            made = {name: xp.asarray(np.array([name in self.produced.get(c, ()) and c not in depleted for c in codes],
                                              dtype=np.bool_)) for name in INTENTS}
            made["depleted"] = xp.asarray(np.array([c in depleted for c in codes], dtype=np.bool_))
            for name in ("dying_state", "leave_state", "leave_after_min"):
                made[name] = xp.asarray(getattr(self, name))
            self._tables[depleted] = made
        return self._tables[depleted]

    def _dtype(self, output: str):
        return self.spec.columns[output[4:]].numpy_dtype if output.startswith("new_") else np.int64

    def buffer(self, name: str, dtype, n: int):
        """A work array of at least n entries, kept across steps (grown by doubling)."""
        array = self._buffers.get(name)
        if array is None or array.shape[0] < n:
            array = self.xp.empty(max(n, 2 * (0 if array is None else array.shape[0]), 1024), dtype=dtype)
            self._buffers[name] = array
        return array[:n]

    def running_count(self, flags, name: str):
        """How many flags are set up to and including each entry (int64). On the CPU a compiled loop
        into a kept buffer (NumPy's cumsum allocates, and costs more host time than the counting)."""
        if targets.target_of(self.xp) != "cpu":
            return self.xp.cumsum(flags, dtype=self.xp.int64)
        out = self.buffer(name, np.int64, flags.shape[0])
        _running_count(flags, out)
        return out

    def __call__(self, seed, step, dt_min, lattice, agents, decisions, scratch, depleted) -> tuple:
        """Apply the decisions; returns (StepEvents, keep mask over slots [0, n + births))."""
        xp, n = self.xp, agents.n
        events = StepEvents(xp.zeros(len(self.names) + 2 + self.spec.n_types * self.spec.max_states, dtype=xp.int64),
                            self.names)
        if n == 0:
            return events, xp.zeros(0, dtype=bool)
        agents.reserve(2 * n)  # room for every cell's daughter: the host need not know how many are born
        target = targets.target_of(xp)
        seeds = (np.uint64(seed & 0xFFFFFFFF), np.uint64((seed >> 32) & 0xFFFFFFFF), np.uint64(step & 0xFFFFFFFF),
                 np.uint64(FRAMEWORK_PURPOSES["claim_priority"]))
        tables = self.tables(depleted)
        tallies = events.part("tallies")
        col, occupancy = agents.columns, lattice.occupancy
        cell_type, ids = col["cell_type"], col["id"]
        get = {name: decisions.get(name, dtype) for name, dtype in INTENTS.items()}
        b = {name: self.buffer(name, dtype, n) for name, dtype in (
            ("kill_key", np.uint64), ("victim", np.bool_), ("site_key", np.uint64), ("claim_move", np.int64),
            ("claim_birth", np.int64), ("removed", np.bool_), ("stopped", np.bool_), ("start_site", np.int64),
            ("moved", np.bool_), ("born", np.bool_), ("follow_to", np.int64), ("follow_key", np.uint64))}
        if self.apply is not None:
            arguments = (n, cell_type, tables["depleted"], tallies, *(
                col[a[4:]] if a.startswith("col_") else decisions.get(a, self._dtype(a)) for a in self.apply.arrays[4:]))
            launch_step_kernel(self.apply, target, n, arguments, xp)
        kills = col["kills"] if "kills" in col else xp.zeros(0, dtype=xp.int64)
        launch_fixed("claim_kills", target, n, (n, *seeds, cell_type, ids, get["kill_site"], tables["kill_site"],
                                                scratch, b["kill_key"], b["victim"]), xp)
        launch_fixed("kill", target, n, (n, cell_type, get["kill_site"], get["kill_clustered"], b["kill_key"],
                                         scratch, occupancy, kills, "kills" in col, b["victim"], tallies), xp)
        launch_fixed("dying_and_claims", target, n, (
            n, *seeds, cell_type, ids, col["state"], col["state_age_min"], col["partner"], get["kill_site"],
            b["kill_key"], b["victim"], get["starts_dying"], tables["starts_dying"], get["dies"], tables["dies"],
            tables["depleted"], tables["dying_state"], get["move_to"], tables["move_to"], get["divide_into"],
            tables["divide_into"], scratch, b["site_key"], b["claim_move"], b["claim_birth"], b["removed"],
            b["stopped"]), xp)
        launch_fixed("move", target, n, (n, col["site"], occupancy, b["claim_move"], b["claim_birth"], b["site_key"],
                                         scratch, b["start_site"], b["moved"], b["born"], tallies), xp)
        launch_fixed("claim_follows", target, n, (
            n, *seeds, cell_type, ids, get["follows"], tables["follows"], b["moved"], b["stopped"], b["start_site"],
            b["claim_move"], b["claim_birth"], b["site_key"], scratch, b["follow_to"], b["follow_key"]), xp)
        launch_fixed("follow", target, n, (n, col["site"], occupancy, b["follow_to"], b["follow_key"], scratch,
                                           tallies), xp)
        born_before = self._births(target, agents, occupancy, b, get["daughter_state"], events.part("births"))
        bound = min(2 * n, agents.capacity)  # births never outnumber the cells
        keep = self.buffer("keep", np.bool_, bound)
        launch_fixed("leaving", target, bound, (
            bound, n, born_before, col["cell_type"], col["state"], col["state_age_min"], col["cycle_clock_min"],
            col["site"], occupancy, b["removed"], tables["leave_state"], tables["leave_after_min"], b["follow_to"],
            scratch, keep, np.float64(dt_min), tallies), xp)
        return events, keep

    def _births(self, target, agents, occupancy, b, daughter_state, births):
        """Daughters at slots n + rank (rank: mothers before it, in slot order), ids next_id + rank;
        their number lands in `births` on the device (the host reads it with the step's statistics).
        Returns the running count of mothers (inclusive), which the leaving kernel reads."""
        xp, n = self.xp, agents.n
        born_before = self.running_count(b["born"], "born_before")
        col = agents.columns
        arguments = (n, np.int64(agents.next_id), b["born"], born_before, b["claim_birth"], daughter_state, occupancy,
                     births, *(col[name] for name in self.spec.columns))
        launch_step_kernel(self.births, target, n, arguments, xp)
        return born_before

    def compact(self, agents, lattice, keep, events) -> None:
        """The cells that stay, in order, at slots [0, kept), counted per (type, state); their number
        lands in the step's statistics."""
        xp, bound = self.xp, keep.shape[0]
        if bound == 0:
            return
        kept_before = self.running_count(keep, "kept_before")
        target = targets.target_of(xp)
        in_place = target in ("cpu", "python")  # one thread walks the cells in order: no spare columns
        to = agents.columns if in_place else agents.spare()
        arguments = (bound, keep, kept_before, lattice.occupancy, events.part("histogram"), events.part("n_cells"),
                     np.int64(self.spec.max_states), np.bool_(in_place),
                     *(agents.columns[name] for name in self.spec.columns), *(to[name] for name in self.spec.columns))
        launch_step_kernel(self.compaction, target, bound, arguments, xp)
        if not in_place:
            agents.swap_in(to)


@njit(cache=True, _nrt=False)
def _running_count(flags, out):
    total = 0
    for i in range(flags.shape[0]):
        total += flags[i]
        out[i] = total


def _outputs(schedule_type) -> tuple:
    compiled = schedule_type.compiled
    if compiled is None or "decide" not in compiled.programs:
        return ()
    return tuple(o.name for o in compiled.programs["decide"].outputs)


__all__ = ["Resolution", "StepEvents", "EMPTY"]
