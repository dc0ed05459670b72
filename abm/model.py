"""TissueModel: a Mesa model whose cells live in arrays on one backend (NumPy or CuPy).

One step is a short list of named phases, each a function of the state:
intervene -> sort_by_type -> secrete_and_uptake -> diffuse -> sense -> decide -> resolve -> remove -> collect.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import mesa
import numpy as np

from . import placement
from .backend import select_backend
from .celltypes import CELL_STATES, MAX_STATES, N_CATEGORIES, N_TYPES, TYPE_CODE, count_columns
from .config import Config, load_config
from .errors import ConfigError
from .fused import FusedEvents, fused_step_for
from .interventions import active
from .kernels.claims import new_scratch
from .kernels.counts import count_codes
from .kernels.diffusion import DiffusionOperator, apply_sources_and_uptake
from .kernels.neighbours import scan_neighbours
from .resolution import remove_cells, removal_mask, resolve
from .rules import Intents, StepContext, nk, neutrophil, slots_by_type, stellate, tcell, tumor
from .sensing import categorise, initial_traits
from .state import AGENT_COLUMNS, Agents, Lattice, check_invariants

RULES = {"tumor": tumor, "nk": nk, "stellate": stellate, "neutrophil": neutrophil, "tcell": tcell}
FIELD_NAMES = ("ifng", "cxcl12", "neutrophil_cytokine", "il15", "chemoattractant")
EVENTS = ("births", "deaths", "kills", "moves", "contacts_single", "contacts_clustered", "kills_single",
          "kills_clustered")


class TissueModel(mesa.Model):
    """A lattice tissue: tumor and immune cells as agents in arrays, cytokines as fields.

    ``TissueModel(config, device=..., overrides={...}, seed=...)``; keyword arguments with dotted
    names (``**{"cells.nk.kill_probability_per_contact": 0.2}``) are overrides too, so
    ``mesa.batch_run(TissueModel, {"config": path, "cells.nk...": [0.1, 0.5]})`` works.
    """

    def __init__(self, config: str | dict | Config = "configs/default.yaml", *, device: str | None = None,
                 overrides: dict[str, Any] | None = None, seed: int | None = None, rng: Any = None,
                 arm: str | None = None, **dotted_overrides):
        overrides = {**(overrides or {}), **dotted_overrides}
        self.config, self.config_source = load_config(config, overrides, arm=arm)
        self.arm = arm
        if seed is None and isinstance(rng, (int, np.integer)):
            seed = int(rng)  # batch_run passes rng=...; an integer acts as the seed
        self.seed = int(self.config.seed if seed is None else seed)
        super().__init__(seed=self.seed)

        self.backend = select_backend(device or self.config.device)
        self.xp = xp = self.backend.xp
        self.dt_min = self.config.time.dt_min
        self.total_steps = self.config.time.steps
        self._check_memory()

        lattice_config = self.config.lattice
        self.lattice = Lattice(lattice_config.shape, lattice_config.dx_um, lattice_config.neighbourhood, xp)
        self._cells = Agents(xp, capacity=1024, max_capacity=self.lattice.n_sites)
        self.fused_step = None
        self.fields = {name: xp.full(self.lattice.shape, fc.initial_value, dtype=xp.float32)
                       for name, fc in self.config.fields.present()}
        self.diffusion = {
            name: DiffusionOperator(self.lattice.shape, lattice_config.dx_um, self.dt_min,
                                    fc.diffusion_um2_per_min, fc.decay_per_min, fc.boundary, fc.boundary_value)
            for name, fc in self.config.fields.present()
        }
        self._params_cache: dict = {}
        self._claim_scratch = new_scratch(self.lattice.n_sites, xp)
        self._place_cells()
        self.fused_step = fused_step_for(self)  # None unless only the minimal rule set runs (abm/fused.py)

        self.totals = {event: 0 for event in EVENTS}
        self.last_events = {key: 0 for key in self.totals}
        self.in_force, self.params = {}, {}
        self.observers: list[Callable[[TissueModel], None]] = []  # called after every step (output)
        self.counts = self._count_cells()
        self.datacollector = mesa.DataCollector(model_reporters=self._reporters())
        self.datacollector.collect(self)
        self.running = self.steps < self.total_steps

    @property
    def cells(self) -> Agents:
        """The live cells, slots [0, n) in id order. (The fused step leaves dead cells as holes
        for a few steps and compacts them lazily: here, before anyone else looks.)"""
        if self.fused_step is not None:
            self.fused_step.settle(self)
        return self._cells

    @property
    def n_cells(self) -> int:
        """Number of live cells, without compacting."""
        return self._cells.n - (self.fused_step.holes if self.fused_step is not None else 0)

    @classmethod
    def from_config(cls, path_or_dict, device: str | None = None, **kwargs) -> "TissueModel":
        return cls(path_or_dict, device=device, **kwargs)

    # ------------------------------------------------------------------ the step

    def step(self) -> None:
        """One time step of dt_min minutes (Mesa increments self.steps before calling this)."""
        if self.fused_step is not None:  # the minimal rule set: these phases fused (abm/fused.py)
            self.collect(self.fused_step(self))
            return
        self.intervene()
        by_type = self.sort_by_type()  # valid until resolve: cells keep their types and slots till then
        self.secrete_and_uptake(by_type)
        self.diffuse()
        context = self.sense(by_type)
        intents = self.decide(context)
        events = self.resolve(intents)
        self.remove(events)
        self.collect(events)

    @property
    def step_start_min(self) -> float:
        """Time at the start of the step being computed (self.steps counts it already)."""
        return (self.steps - 1) * self.dt_min

    def intervene(self) -> None:
        """Interventions in force: the rules' parameters, and cell properties a therapy sets."""
        in_force = active(self.config.interventions, self.step_start_min)
        key = frozenset(in_force)
        if key not in self._params_cache:  # rates -> thresholds once per set of interventions
            self._params_cache[key] = {name: module.prepare(self.config.cells, self.dt_min, in_force)
                                       for name, module in RULES.items()}
        self.in_force, self.params = in_force, self._params_cache[key]
        cells = self.cells
        tumor_cells = cells["cell_type"] == TYPE_CODE["tumor"]
        for switch, column, value in (("vcam1_knockout", "vcam1", 0), ("plxnb2_knockout", "plxnb2", 0),
                                      ("emt_induction", "mesenchymal", 1)):
            if switch in in_force:
                cells.columns[column][: cells.n][tumor_cells] = value

    def _context(self, by_type=None, counts=None, masks=None, category=None) -> StepContext:
        xp, cells = self.xp, self.cells
        flat = {name: field.reshape(-1) for name, field in self.fields.items()}
        zeros = xp.zeros(cells.n, dtype=xp.float32)
        local = {name: flat[name][cells["site"]] if name in flat else zeros for name in FIELD_NAMES}
        return StepContext(xp=xp, seed=self.seed, step=self.steps, dt_min=self.dt_min,
                           time_min=self.step_start_min, lattice=self.lattice, agents=cells, fields_flat=flat,
                           local_concentration=local, category=category, neighbour_counts=counts,
                           neighbour_masks=masks, in_force=self.in_force, params=self.params,
                           slots_by_type=self.sort_by_type() if by_type is None else by_type)

    @staticmethod
    def _rules_with_cells(context):
        """The rule modules of the cell types present: a type's rules act on its own cells only, and
        skipping absent types saves their array operations (each a kernel launch on a GPU)."""
        return [(name, module) for name, module in RULES.items() if context.slots_of(name).shape[0]]

    def sort_by_type(self) -> dict:
        """Slots of the cells of each type (the rules' working sets), from one sort."""
        return slots_by_type(self.xp, self.cells["cell_type"], self.backend.to_host)

    def secrete_and_uptake(self, by_type=None) -> None:
        """Cells add cytokine at their own site and consume some; uniform production (stroma, therapy)."""
        xp = self.xp
        context = self._context(by_type)
        by_field: dict[str, list] = {}
        for name, module in self._rules_with_cells(context):
            for secretion in module.secretion(context, self.params[name]):
                by_field.setdefault(secretion.field, []).append(secretion)
        for name, items in by_field.items():
            sites = xp.concatenate([item.sites for item in items])
            secreted = xp.concatenate([item.secreted for item in items]).astype(xp.float32)
            keep = xp.concatenate([item.keep for item in items]).astype(xp.float32)
            apply_sources_and_uptake(self.fields[name].reshape(-1), sites, secreted, keep, xp=xp)
        for name, field_config in self.config.fields.present():
            production = field_config.production_per_min
            therapy = {"il15": "il15", "ifng": "ifng_therapy"}.get(name)
            if therapy in self.in_force:
                production += self.in_force[therapy].production_per_min
            if production > 0:
                self.fields[name] += xp.float32(production * self.dt_min)

    def diffuse(self) -> None:
        for name, field in self.fields.items():
            self.diffusion[name].step(field, xp=self.xp)

    def sense(self, by_type=None) -> StepContext:
        """What each cell perceives: local concentrations and its neighbours by category."""
        xp, cells, lattice = self.xp, self.cells, self.lattice
        category = categorise(xp, cells)
        counts, masks = scan_neighbours(lattice.occupancy, category, cells["site"],
                                        lattice.shape, lattice.offsets, N_CATEGORIES, xp=xp)
        return self._context(by_type, counts, masks, category)

    def decide(self, context: StepContext) -> Intents:
        intents = Intents()
        for name, module in self._rules_with_cells(context):
            intents.extend(module.decide(context, self.params[name]))
        return intents

    def resolve(self, intents: Intents):
        return resolve(self.xp, self.seed, self.steps, self.lattice, self.cells, intents, self._claim_scratch)

    def remove(self, events) -> None:
        xp = self.xp
        leaving = removal_mask(xp, self.cells, events.removed, self.config.cells.tumor.caspase_duration_min)
        events.tallies["deaths"] = leaving.sum()
        remove_cells(xp, self.lattice, self.cells, leaving)
        # Clocks run for the cells that stay.
        for column in ("state_age_min", "cycle_clock_min"):
            self.cells.columns[column][: self.cells.n] += xp.float32(self.dt_min)

    def collect(self, events) -> None:
        xp = self.xp
        names = list(EVENTS)
        if isinstance(events, FusedEvents):  # tallies already host integers: no round trip to the device
            self.last_events = {name: int(events.tallies.get(name, 0)) for name in names}
            histogram = events.histogram
        else:  # the device tallies and the cell counts in one copy to the host; host tallies stay there
            on_host = {name: int(value) for name, value in events.tallies.items() if isinstance(value, int | np.integer)}
            on_device = [name for name in names if name in events.tallies and name not in on_host]
            tallies = [xp.stack([events.tallies[name].astype(xp.int64) for name in on_device])] if on_device else []
            values = self.backend.to_host(xp.concatenate([*tallies, self._histogram()]))
            read = dict(zip(on_device, (int(v) for v in values[: len(on_device)])))
            self.last_events = {name: on_host.get(name, read.get(name, 0)) for name in names}
            histogram = values[len(on_device):]
        for key, value in self.last_events.items():
            self.totals[key] += value
        self.counts = self._count_cells(histogram)
        self.datacollector.collect(self)
        if self.config.debug.check_invariants:
            self.check_invariants()
        for observer in self.observers:
            observer(self)
        self.running = self.steps < self.total_steps

    # ------------------------------------------------------------------ running and reading

    def run(self, steps: int | None = None) -> None:
        """Advance `steps` steps, or to the end of the configured duration."""
        target = self.total_steps if steps is None else self.steps + int(steps)
        while self.steps < target:
            self.step()

    def check_invariants(self) -> None:
        check_invariants(self.lattice, self.cells, self.backend.to_host)

    def count(self, cell_type: str, state: str | None = None) -> int:
        if state is None:
            return sum(self.counts[(cell_type, s)] for s in CELL_STATES[cell_type])
        return self.counts[(cell_type, state)]

    def agents_table(self) -> dict[str, np.ndarray]:
        """Host copy of the live agent table (one array per column)."""
        return self.cells.table(self.backend.to_host)

    def lattice_snapshot(self) -> tuple[np.ndarray, np.ndarray]:
        """(cell type, cell state) per site, lattice-shaped int8 host arrays; -1 where empty."""
        xp = self.xp
        cell_type = xp.full(self.lattice.n_sites, -1, dtype=xp.int8)
        cell_state = xp.full(self.lattice.n_sites, -1, dtype=xp.int8)
        cell_type[self.cells["site"]] = self.cells["cell_type"]
        cell_state[self.cells["site"]] = self.cells["state"]
        to_host = self.backend.to_host
        return to_host(cell_type).reshape(self.lattice.shape), to_host(cell_state).reshape(self.lattice.shape)

    def field_snapshot(self) -> dict[str, np.ndarray]:
        return {name: self.backend.to_host(field) for name, field in self.fields.items()}

    @property
    def time_min(self) -> float:
        return self.steps * self.dt_min

    # ------------------------------------------------------------------ setup helpers

    def _place_cells(self) -> None:
        xp = self.xp
        try:
            placed = placement.place_all(self.config, self.seed)
        except ValueError as error:
            raise ConfigError(f"{self.config_source}: placement: {error}") from None
        for cell_type, sites in placed:
            if len(sites) == 0:
                continue
            slots = self.cells.append(site=xp.asarray(sites, dtype=xp.int64),
                                      **initial_traits(xp, self.config, cell_type, len(sites)))
            self.cells.columns["clone"][slots] = self.cells.columns["id"][slots]  # each placed cell founds a clone
            self.lattice.occupancy[xp.asarray(sites)] = xp.arange(slots.start, slots.stop, dtype=xp.int32)

    def _count_cells(self, histogram=None) -> dict[tuple[str, str], int]:
        """Cells per (type, state); `histogram` (host, flat type * MAX_STATES + state) if already counted."""
        if histogram is None:
            histogram = self.backend.to_host(self._histogram())
        return {(cell_type, state): int(histogram[flat]) for cell_type, state, flat in count_columns()}

    def _histogram(self):
        """Cells per (type, state) on the device, flat index type * MAX_STATES + state (int64)."""
        xp = self.xp
        code = self.cells["cell_type"].astype(xp.int64) * MAX_STATES + self.cells["state"]
        return count_codes(code, N_TYPES * MAX_STATES, xp=xp)

    def _reporters(self) -> dict[str, Callable]:
        reporters = {cell_type: (lambda m, t=cell_type: m.count(t)) for cell_type in CELL_STATES}
        for cell_type, state, _ in count_columns():
            reporters[f"{cell_type}.{state}"] = lambda m, t=cell_type, s=state: m.count(t, s)
        for key in self.totals:
            reporters[key] = lambda m, k=key: m.last_events[k]
        return reporters

    def _check_memory(self) -> None:
        """Refuse, before allocating, a lattice that cannot fit on the chosen device."""
        n_sites = math.prod(self.config.lattice.shape)
        n_fields = len(self.config.fields.present())
        bytes_per_site = 4 + 8 + 4 * n_fields + 2  # occupancy, claim scratch, fields, snapshot type/state
        bytes_per_agent = sum(d.itemsize for d in AGENT_COLUMNS.values()) * 2 + (N_CATEGORIES + 1) * 8 + 256
        expected_agents = sum(p.cells(self.config.lattice) for p in self.config.placement) * 4 + 1024
        needed = n_sites * bytes_per_site + expected_agents * bytes_per_agent
        available = self.backend.available_memory_bytes()
        if needed > 0.8 * available:
            shape = "x".join(str(n) for n in self.config.lattice.shape)
            raise ConfigError(
                f"{self.config_source}: lattice.shape: a {shape} lattice needs about {needed / 2**30:.1f} GiB "
                f"but the {self.backend.name} has {available / 2**30:.1f} GiB available")
