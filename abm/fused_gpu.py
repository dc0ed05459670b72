"""The fused step of the minimal rule set on a GPU: abm/fused.py's step, in CUDA kernels.

Same model, same result bit for bit (tests/test_fused_gpu_on_host.py runs it on the CPU through
the host harness and compares with the CPU run): tumor cells divide into a free site and die,
NK cells conjugate with a touching tumor cell, may kill it, and walk. Where the general GPU step
launches many small CuPy kernels and reads values back to the host, here one step is

    stats.fill(0)       a memset of the step's tallies and histogram
    fm_decide           proposals, NK updates, contacts, kill claims
    fm_apply_kills      own apoptosis and kills (one winner per victim)
    fm_claim_sites      moves and divisions of the survivors claim their targets
    fm_move_and_divide  one winner per target moves in or divides
    cumsum(born)        daughters' ranks in their mothers' slot order (CuPy's scan, 1-3 launches)
    fm_finish           daughters written, the dead become holes, clocks advance, cells counted
    stats -> host       THE ONE device-to-host copy (synchronises): tallies, births, deaths and
                        the histogram that model.collect needs anyway

and nothing else reads a device value: the host knows n (it adds births after the copy), and
the agents' capacity is reserved for 2n - holes slots before the step (as many daughters as
live cells at most, or as many as free sites), so births are only needed afterwards.

State carried between steps, as on the CPU: the category grid (int8 per site, on the device;
rebuilt after anyone outside looked at the cells) and holes (dead cells' slots, compacted by
`settle` when they reach 1/16 of the slots or when `model.cells` is read; compaction is a
comparison, a scan and one kernel, no host sync: the host knows how many cells stay).
"""
from __future__ import annotations

import types

import numpy as np

from .fastpath import FUSED_COLUMNS, FusedEvents, minimal_rule_parameters
from .kernels.fused_minimal import HOLE, NO_CLAIM

# fused_minimal_resolve.cu copies the agent columns by name (kernels/fused_minimal_cuda.py COLUMNS,
# checked in FusedMinimalStepGPU) and resets these at birth: a change here must be made there.
RESET_IN_CUDA = {"state_age_min": 0.0, "cycle_clock_min": 0.0, "partner": -1, "partner_site": -1,
                 "heading": -1, "kills": 0}
assert HOLE == -1 and NO_CLAIM == np.uint64(2**64 - 1)  # the .cu files' HOLE and NO_CLAIM


class FusedMinimalStepGPU:
    """Prepared parameters and device arrays of the fused step for one model on the GPU backend.

    Interface of abm/fused.py's FusedMinimalStep: ``self(model) -> FusedEvents``, ``settle``,
    ``holes``, and the phases ``sense_and_decide``, ``resolve``, ``remove_and_age`` (timed by
    `abm bench`). At most one host synchronisation per step (the stats copy); see the module doc.
    """

    def __init__(self, model):
        from .kernels import fused_minimal_cuda as launch  # imports CuPy: the GPU backend only

        if launch.COLUMNS != tuple(model._cells.columns) or launch.COLUMNS != FUSED_COLUMNS:
            raise RuntimeError("kernels/fused_minimal_resolve.cu does not copy every agent column: "
                               f"{sorted(set(model._cells.columns) ^ set(launch.COLUMNS))}")
        if model._cells.reset_at_birth != RESET_IN_CUDA:
            raise RuntimeError("fused_minimal_resolve.cu resets other columns at birth than the spec")
        self.launch, self.xp, self.backend = launch, model.backend.xp, model.backend
        xp = self.xp
        # The CPU fused step's parameters (thresholds as float64 integers), uploaded once.
        tumor_params, nk_params, self.caspase_duration_min = minimal_rule_parameters(model)
        self.tumor_params, self.nk_params = xp.asarray(tumor_params), xp.asarray(nk_params)
        lattice = model.lattice
        self.shape = (tuple(lattice.shape) + (1, 1))[:3]
        self.offsets = xp.ascontiguousarray(lattice.offsets_device, dtype=xp.int64)  # (n_offsets, 3)
        self.grid = xp.full(lattice.n_sites, -1, dtype=xp.int8)  # what neighbours see per site, -1 empty
        self.grid_stale = True
        self.n_bins = model.spec.n_types * model.spec.max_states
        self.max_states = model.spec.max_states
        self.stats = xp.zeros(len(launch.STATS) + self.n_bins, dtype=xp.uint64)
        self.holes = 0  # slots of dead cells not yet compacted away
        self._capacity = 0
        self._spare: dict = {}
        self.work = types.SimpleNamespace()

    def _per_cell(self, n):
        if n > self._capacity:
            xp, capacity = self.xp, max(n, 2 * self._capacity, 1024)
            w = self.work
            w.proposal = xp.empty(capacity, dtype=xp.int8)
            w.target = xp.empty(capacity, dtype=xp.int64)
            w.kill_site = xp.empty(capacity, dtype=xp.int64)
            w.contact = xp.empty(capacity, dtype=xp.int8)
            w.stopped = xp.empty(capacity, dtype=xp.int8)
            w.born = xp.empty(capacity, dtype=xp.int8)
            self._capacity = capacity

    # ------------------------------------------------------------------ removal, lazily

    def settle(self, model, looked_at: bool = True) -> None:
        """Compact the holes left by cells that died (order, and so ids, preserved), as
        FusedMinimalStep.settle: lazily, or at once when anyone reads `model.cells`.
        Device work only: the number of cells that stay is known on the host."""
        cells = model._cells
        self.grid_stale = self.grid_stale or looked_at  # whoever looks at the cells may change them
        if not self.holes:
            return
        for name, column in cells.columns.items():
            spare = self._spare.get(name)
            if spare is None or spare.shape != column.shape:
                self._spare[name] = self.xp.empty_like(column)
        self.launch.compact(cells.n, cells.columns, self._spare, model.lattice.occupancy)
        for name in cells.columns:
            cells.columns[name], self._spare[name] = self._spare[name], cells.columns[name]
        cells.n -= self.holes
        self.holes = 0

    # ------------------------------------------------------------------ the step

    def __call__(self, model) -> FusedEvents:
        cells = model._cells
        if cells.max_capacity is not None and 2 * cells.n - self.holes > cells.max_capacity:
            self.settle(model, looked_at=False)  # births could need the holes' slots
        n = cells.n
        # Room for every possible daughter before the step: at most one per live cell, and at
        # most one per free site (after settling, n + births <= sites = max_capacity).
        needed = 2 * n - self.holes
        cells.reserve(needed if cells.max_capacity is None else min(needed, cells.max_capacity))
        if n:
            self._per_cell(n)
            self.stats.fill(0)
            self.sense_and_decide(model, cells, model.lattice)
            self.resolve(model, cells, model.lattice)
            self.remove_and_age(model, cells, model.lattice)
            stats = np.array(self.backend.to_host(self.stats), dtype=np.int64)  # the step's one sync
        else:
            stats = np.zeros(len(self.launch.STATS) + self.n_bins, dtype=np.int64)
        tallies = {name: int(value) for name, value in zip(self.launch.STATS, stats)}
        births, deaths = tallies["births"], tallies["deaths"]
        cells.n += births
        cells.next_id += births
        self.holes += deaths
        if 16 * self.holes > cells.n:
            self.settle(model, looked_at=False)
        return FusedEvents(tallies=tallies, histogram=stats[len(self.launch.STATS):])

    # The three phases (methods, so that `abm bench` can time each; on a GPU it synchronises).

    def sense_and_decide(self, model, cells, lattice) -> None:
        if self.grid_stale:  # first step, or the cells were looked at (and maybe changed) from outside
            self.grid.fill(-1)
            self.launch.categorise(cells.columns, cells.n, self.grid)
            self.grid_stale = False
        self.launch.decide(model.seed, model.steps, cells.n, cells.columns, self.grid, lattice.occupancy,
                           self.shape, self.offsets, self.tumor_params, self.nk_params, self.work,
                           model._claim_scratch, self.stats)

    def resolve(self, model, cells, lattice) -> None:
        self.launch.resolve(model.seed, model.steps, cells.n, cells.columns, lattice.occupancy, self.grid,
                            self.work, model._claim_scratch, self.stats)

    def remove_and_age(self, model, cells, lattice) -> None:
        """Daughters appended (slots n.., ids next_id..), the dead left as holes, clocks, counts.
        cells.n, next_id and holes are advanced by the caller once the stats are on the host."""
        self.launch.finish(cells.n, cells.next_id, model.dt_min, self.caspase_duration_min, self.max_states,
                           self.n_bins, cells.columns, lattice.occupancy, self.grid, model._claim_scratch,
                           self.work, self.stats)


__all__ = ["FusedMinimalStepGPU"]
