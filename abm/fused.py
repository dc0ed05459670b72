"""A fused CPU step for the minimal rule set: the same model, in a few compiled passes.

When a run uses only the minimal rules (tumor cells divide and die, NK cells conjugate, kill
and walk; no fields, no interventions, no other cell types, instant conjugates), the model's
general step spends most of its time in interpreter overhead and temporary arrays. This module
then runs kernels/fused_minimal.py (decide) and fused_minimal_resolve.py (claims, removal)
instead: bit-identical results (tests/test_fused.py compares every column, the lattice and the
tallies with the general step), several times faster.

State it carries between steps, which the general step does not: the category grid (what
neighbours see, kept current; rebuilt after anyone outside looks at the cells) and holes (dead
cells not yet compacted; `settle`, called by `model.cells`, compacts them).

Whether a run may take it is abm/fastpath.py's allow-list; the model then builds this step, or on
a GPU its CUDA twin FusedMinimalStepGPU (abm/fused_gpu.py), and records the reason when it does
not in `model.fused_reason` (a config outside the list, numba missing on the CPU, ABM_FUSED=0).
"""
from __future__ import annotations

import numpy as np

from .fastpath import FusedEvents, minimal_rule_parameters
from .kernels import _numba
from .kernels import fused_minimal as kernel
from .kernels import fused_minimal_resolve as after

class FusedMinimalStep:
    """Prepared parameters and scratch arrays of the fused step for one model (CPU)."""

    def __init__(self, model):
        self.tumor_params, self.nk_params, self.caspase_duration_min = minimal_rule_parameters(model)
        self.scratch = model._claim_scratch
        self._capacity = 0
        self._spare: dict = {}
        self.holes, self.first_hole = 0, -1  # slots of dead cells not yet compacted away
        lattice = model.lattice
        self.grid = np.full(lattice.n_sites, -1, dtype=np.int8)  # what neighbours see per site, -1 empty
        self.grid_stale = True
        nx, ny, nz = (tuple(lattice.shape) + (1, 1))[:3]
        self.flat_offsets = ((lattice.offsets[:, 0] * ny + lattice.offsets[:, 1]) * nz
                             + lattice.offsets[:, 2]).astype(np.int64)

    def _per_cell(self, n):
        if n > self._capacity:
            capacity = max(n, 2 * self._capacity, 1024)
            # decide's per-block lists of the cells that act (see kernels/fused_minimal.decide)
            self.acting = np.empty(capacity + kernel.DECIDE_BLOCK, dtype=np.int64)
            self.act_proposal = np.empty(capacity + kernel.DECIDE_BLOCK, dtype=np.int8)
            self.act_target = np.empty(capacity + kernel.DECIDE_BLOCK, dtype=np.int64)
            self.act_kill = np.empty(capacity + kernel.DECIDE_BLOCK, dtype=np.int64)
            self.act_clustered = np.empty(capacity + kernel.DECIDE_BLOCK, dtype=np.bool_)
            self.act_contact = np.empty(capacity + kernel.DECIDE_BLOCK, dtype=np.int8)
            self.keys = np.empty(capacity + kernel.DECIDE_BLOCK, dtype=np.uint64)  # indexed like acting
            self.born_parents = np.empty(capacity, dtype=np.int64)
            self.born_sites = np.empty(capacity, dtype=np.int64)
            self.kept = np.empty(capacity, dtype=np.int64)
            self._capacity = capacity

    # ------------------------------------------------------------------ removal, lazily

    def settle(self, model, looked_at: bool = True) -> None:
        """Compact the holes left by cells that died (order, and so ids, preserved).

        Compaction moves every column of every cell: on a 2-core machine it costs as much as a
        whole step. Holes are therefore left for a few steps (the passes skip them) and
        compacted when they reach 1/16 of the slots, or at once when anyone outside the fused
        step reads `model.cells` (outputs, checkpoints, the general step's helpers).
        """
        cells = model._cells
        self.grid_stale = self.grid_stale or looked_at  # whoever looks at the cells may change them
        if not self.holes:
            return
        self._per_cell(cells.n)
        with _numba.threads_for(cells.n):
            n_kept = after.kept_slots(cells["cell_type"], self.kept)
            by_dtype: dict = {}
            for name, column in cells.columns.items():
                spare = self._spare.get(name)
                if spare is None or spare.shape != column.shape:
                    spare = np.empty_like(column)
                by_dtype.setdefault(column.dtype, []).append((name, column, spare))
            for group in by_dtype.values():  # one gather into spare buffers per dtype, then swap
                after.gather(tuple(c for _, c, _ in group), tuple(s for _, _, s in group), self.kept, n_kept, 0)
                for name, column, spare in group:
                    cells.columns[name], self._spare[name] = spare, column
            cells.n = n_kept
            after.reindex(model.lattice.occupancy, cells["site"], self.first_hole, n_kept)
        self.holes, self.first_hole = 0, -1

    def _append_daughters(self, cells, lattice, births) -> None:
        """Agents.append_daughters for the born_parents (slots, in id order), without temporaries:
        each daughter a copy of its mother but for the columns reset at birth."""
        start = cells.n
        cells.reserve(start + births)
        by_dtype: dict = {}
        for name, column in cells.columns.items():
            if name not in ("id", "site", "state") and name not in cells.reset_at_birth:
                by_dtype.setdefault(column.dtype, []).append(column)
        for group in by_dtype.values():
            after.copy_rows(tuple(group), self.born_parents, births, start)
        daughters = slice(start, start + births)
        columns = cells.columns
        for name, value in cells.reset_at_birth.items():
            columns[name][daughters] = value
        columns["id"][daughters] = np.arange(cells.next_id, cells.next_id + births, dtype=np.int64)
        columns["site"][daughters] = self.born_sites[:births]
        columns["state"][daughters] = kernel.T_PROLIFERATING
        cells.n += births
        cells.next_id += births
        lattice.occupancy[self.born_sites[:births]] = np.arange(start, start + births, dtype=np.int32)

    # ------------------------------------------------------------------ the step

    def __call__(self, model) -> FusedEvents:
        cells = model._cells
        if 2 * cells.n - self.holes > cells.max_capacity:  # births could need the holes' slots
            self.settle(model, looked_at=False)
        with _numba.threads_for(cells.n):
            return self._step(model, cells, model.lattice)

    def _step(self, model, cells, lattice) -> FusedEvents:
        n = cells.n
        self._per_cell(n)
        live = {name: column[:n] for name, column in cells.columns.items()}
        block_acting = np.empty((n + kernel.DECIDE_BLOCK - 1) // kernel.DECIDE_BLOCK, dtype=np.int64)
        self.sense_and_decide(model, live, lattice, block_acting)
        counts = np.zeros(6, dtype=np.int64)  # kills, kills_single, kills_clustered, moves, contacts
        births = self.resolve(model, live, lattice, block_acting, counts)
        if births:
            self._append_daughters(cells, lattice, births)
        histogram = np.zeros(model.spec.n_types * model.spec.max_states, dtype=np.int64)
        deaths = self.remove_and_age(model, cells, lattice, histogram)

        names = ("kills", "kills_single", "kills_clustered", "moves", "contacts_single", "contacts_clustered")
        tallies = {name: int(value) for name, value in zip(names, counts)}
        tallies.update(births=int(births), deaths=int(deaths))
        return FusedEvents(tallies=tallies, histogram=histogram)

    # The three phases (methods, so that `abm bench` can time each).

    def sense_and_decide(self, model, live, lattice, block_acting) -> None:
        if self.grid_stale:  # first step, or the cells were looked at (and maybe changed) from outside
            self.grid.fill(-1)
            kernel.categorise(live["cell_type"], live["state"], live["mesenchymal"], live["site"], self.grid)
            self.grid_stale = False
        nx, ny, nz = (tuple(lattice.shape) + (1, 1))[:3]
        kernel.decide(model.seed, model.steps, live["id"], live["cell_type"], live["state"], live["site"],
                      live["partner"], live["partner_site"], live["inhibitory_receptors"], live["state_age_min"],
                      self.grid, lattice.occupancy, nx, ny, nz, lattice.offsets, self.flat_offsets,
                      self.tumor_params, self.nk_params, self.acting, self.act_proposal, self.act_target,
                      self.act_kill, self.act_clustered, self.act_contact, block_acting)

    def resolve(self, model, live, lattice, block_acting, counts) -> int:
        return after.resolve(model.seed, model.steps, live["id"], live["state"], live["site"], live["state_age_min"],
                             live["partner"], live["kills"], live["cycle_clock_min"], lattice.occupancy, self.grid,
                             self.scratch, self.born_parents, self.born_sites, counts, self.acting,
                             self.act_proposal, self.act_target, self.act_kill, self.act_clustered,
                             self.act_contact, block_acting, self.keys)

    def remove_and_age(self, model, cells, lattice, histogram) -> int:
        """Leaving cells become holes (compacted lazily: see settle); clocks advance; cells counted."""
        n_blocks = (cells.n + kernel.BLOCK - 1) // kernel.BLOCK
        block_histogram = np.zeros((n_blocks, histogram.shape[0]), dtype=np.int64)
        block_leaving = np.empty((n_blocks, 2), dtype=np.int64)
        after.remove_and_age(cells["cell_type"], cells["state"], cells["state_age_min"], cells["cycle_clock_min"],
                             cells["site"], self.caspase_duration_min, model.dt_min, lattice.occupancy, self.grid,
                             model.spec.max_states, block_histogram, block_leaving)
        histogram += block_histogram.sum(axis=0)
        deaths = int(block_leaving[:, 0].sum())
        if deaths:
            first = int(block_leaving[block_leaving[:, 1] >= 0, 1].min())
            self.holes += deaths
            self.first_hole = first if self.first_hole < 0 else min(self.first_hole, first)
        if 16 * self.holes > cells.n:
            self.settle(model, looked_at=False)
        return deaths


__all__ = ["FusedMinimalStep"]
