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

`fused_step_for(model)` returns a FusedMinimalStep, on a GPU its CUDA twin FusedMinimalStepGPU
(abm/fused_gpu.py), or None with the reason recorded in `model.fused_reason` (a config outside
the minimal set, numba missing on the CPU, or `ABM_FUSED=0` in the environment).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from .kernels import _numba
from .kernels import fused_minimal as kernel
from .kernels import fused_minimal_resolve as after

# What the fused kernels implement: an allow-list. A run qualifies only if every rule that runs
# is listed, every key those rules read has a value the kernels honour, and the types, columns,
# codes and random purposes are the ones the kernels were written for. Anything else takes the
# general step, with the reason in `model.fused_reason`.
FUSED_TYPES = ("tumor", "nk")
FUSED_RULES = (
    "tumor.anoikis", "tumor.apoptosis", "tumor.division",
    "tumor.dormancy",  # acts only on what drives dormancy: fields or grammar rules, both outside the list
    "nk.conjugation", "nk.education", "nk.contact_kill", "nk.release", "nk.patrol", "nk.tumor_exposure",
)
ANY = object()
# Keys read by the listed rules: any value, or the only value the kernels implement.
FUSED_KEYS = {
    "tumor.isolated_death_rate_per_h": ANY, "tumor.death_rate_per_h": ANY, "tumor.caspase_duration_min": ANY,
    "tumor.division_rate_per_h": ANY,
    "tumor.cytokine_division_boost": ANY, "tumor.cytokine_half_max": ANY,  # need a field: inert here
    "nk.conjugation_time_min": 0.0, "nk.inhibitory_receptor_gain_per_contact": ANY,
    "nk.kill_probability_per_contact": ANY, "nk.inhibitory_receptor_weight": ANY,
    "tumor.activating_ligand_single": ANY, "tumor.activating_ligand_cluster_loss": ANY,
    "tumor.inhibitory_ligand_single": ANY, "tumor.inhibitory_ligand_cluster_gain": ANY,
    "tumor.epithelial_neighbours_half": ANY,
    "tcell.nk_suppression": ANY,  # acts through bound T cells, which a run of tumor and NK cells has none of
    "nk.move_rate_per_h": ANY, "nk.chemotaxis_bias": ANY,  # the bias needs a field: inert here
    "nk.exposed_threshold": ANY,
}
FUSED_COLUMNS = ("id", "cell_type", "state", "site", "state_age_min", "cycle_clock_min", "clone", "partner",
                 "partner_site", "heading", "mesenchymal", "vcam1", "plxnb2", "clonogenicity",
                 "inhibitory_receptors", "kills")
FUSED_PURPOSES = {"claim_priority": kernel.P_CLAIM, "tumor.division": kernel.P_DIVISION,
                  "nk.move": kernel.P_NK_MOVE, "nk.kill": kernel.P_NK_KILL, "tumor.death": kernel.P_DEATH}


def _setting(config, key):
    type_name, _, name = key.partition(".")
    return getattr(getattr(config.cells, type_name), name)


def _codes_differ(spec) -> str | None:
    """The kernels' constants must be the spec's codes."""
    expected = {"type tumor": (spec.type_code.get("tumor"), kernel.TUMOR),
                "type nk": (spec.type_code.get("nk"), kernel.NK),
                "tumor apoptotic": (spec.state["tumor"]["apoptotic"], kernel.T_APOPTOTIC),
                "nk exposed": (spec.state["nk"]["exposed"], kernel.NK_EXPOSED),
                "category tumor_epithelial": (spec.category.get("tumor_epithelial"), kernel.C_EPITHELIAL),
                "category tumor_mesenchymal": (spec.category.get("tumor_mesenchymal"), kernel.C_MESENCHYMAL),
                "category nk_exposed": (spec.category.get("nk_exposed"), kernel.C_NK_EXPOSED)}
    expected.update({f"purpose {k}": (spec.purposes.get(k), v) for k, v in FUSED_PURPOSES.items()})
    wrong = [name for name, (ours, theirs) in expected.items() if ours != theirs]
    return f"codes differ from the kernels': {', '.join(wrong)}" if wrong else None


def why_not_fused(config, backend_name: str) -> str | None:
    """None if the fused step reproduces this config's general step, else the reason it does not."""
    from .schedule import Schedule

    spec = config.spec
    if os.environ.get("ABM_FUSED", "1") == "0":
        return "switched off by ABM_FUSED=0"
    if backend_name == "cpu" and not _numba.enabled():  # the GPU's fused step (abm/fused_gpu.py) is CUDA
        return f"numba unavailable ({_numba.WHY_NOT})"
    if config.fields:
        return "fields are simulated"
    if any(switch is not None for _, switch in config.interventions):
        return "interventions are configured"
    if config.rules:
        return "grammar rules are configured"
    ablated = [name for name in config.ablate if name in FUSED_RULES]
    if ablated:  # the kernels run all of their rules
        return f"rules the fused step runs are ablated: {', '.join(ablated)}"
    types = {p.cell_type for p in config.placement} | {
        p.escort_type for p in config.placement if getattr(p, "escort_type", None)}
    if not types <= set(FUSED_TYPES):
        return f"cell types beyond tumor and NK: {sorted(types - set(FUSED_TYPES))}"
    if tuple(spec.columns) != FUSED_COLUMNS:
        return f"agent columns beyond the fused step's: {sorted(set(spec.columns) ^ set(FUSED_COLUMNS))}"
    reason = _codes_differ(spec)
    if reason:
        return reason
    running = [name for name in Schedule(spec, config).rule_names() if name.partition(".")[0] in types]
    beyond = [name for name in running if name not in FUSED_RULES]
    if beyond:
        return f"rules beyond the fused step's: {', '.join(beyond)}"
    for name in running:
        for key in spec.rules[name][1].reads:
            allowed = FUSED_KEYS.get(key)
            if allowed is None:
                return f"rule {name} reads {key}, which the fused step does not cover"
            if allowed is not ANY and _setting(config, key) != allowed:
                return f"{key} = {_setting(config, key)} (the fused step covers only {allowed})"
    return None


def minimal_rule_parameters(model) -> tuple[np.ndarray, np.ndarray, float]:
    """(tumor_params, nk_params, caspase+ duration in minutes) of the fused kernels, from the
    general rules' own preparation (so both steps use the same thresholds).

    tumor_params: float64[death threshold, isolated death threshold, division threshold];
    nk_params: float64[move threshold, receptor gain, kill probability, activating single,
    activating cluster loss, inhibitory single, inhibitory cluster gain, epithelial half,
    receptor weight, exposed threshold]. Thresholds are integers below 2**33, exact in float64.
    """
    from .cells import nk as nk_rules
    from .cells import tumor as tumor_rules

    cells, dt = model.config.cells, model.dt_min
    tumor = tumor_rules.prepare(cells, dt, {})
    nk = nk_rules.prepare(cells, dt, {})
    division = np.float32(tumor.division_probability)  # as the general rule: float32, then * 2**32
    tumor_params = np.array([tumor.death_threshold, tumor.isolated_death_threshold,
                             int(np.float64(division) * 2.0**32)], dtype=np.float64)
    c, t = cells.nk, cells.tumor
    nk_params = np.array([
        nk.move_threshold, c.inhibitory_receptor_gain_per_contact, nk.kill_probability,
        t.activating_ligand_single, t.activating_ligand_cluster_loss, t.inhibitory_ligand_single,
        t.inhibitory_ligand_cluster_gain, t.epithelial_neighbours_half, nk.receptor_weight,
        c.exposed_threshold], dtype=np.float64)
    return tumor_params, nk_params, t.caspase_duration_min


@dataclass
class FusedEvents:
    """The step's tallies as host integers (what model.collect reads)."""

    tallies: dict = field(default_factory=dict)
    histogram: np.ndarray | None = None  # cells per (type, state), flat as celltypes.count_columns


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


def fused_step_for(model):
    """FusedMinimalStep (CPU) or FusedMinimalStepGPU (abm/fused_gpu.py), or None with the reason in
    `model.fused_reason`."""
    model.fused_reason = why_not_fused(model.config, model.backend.name)
    if model.fused_reason is not None:
        return None
    if model.backend.name == "gpu":
        from .fused_gpu import FusedMinimalStepGPU  # imports the CuPy launchers: on the GPU only
        return FusedMinimalStepGPU(model)
    return FusedMinimalStep(model)


__all__ = ["FusedMinimalStep", "fused_step_for", "why_not_fused"]
