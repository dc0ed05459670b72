"""TissueModel: a Mesa model whose cells live in arrays on one backend (NumPy or CuPy).

One step is a short list of named phases, each a function of the state:
intervene -> secrete_and_uptake -> diffuse -> sense -> decide -> resolve -> remove -> collect.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import mesa
import numpy as np

from . import placement
from .backend import select_backend
from ..config.sections import Config, load_config
from ..errors import ConfigError
from ..interventions import active
from ..kernels.claims import new_scratch
from ..kernels.counts import count_codes
from ..kernels.diffusion import DiffusionOperator, diffuse_fields
from ..kernels.neighbours import scan_neighbours
from ..engine.compiled_type import Decisions, arrays as tissue_arrays
from ..engine.secretion import Secretion
from .resolution import Resolution, StepEvents
from ..rules import StepContext
from .schedule import Schedule
from .sensing import categorise
from .collector import DataCollector
from .state import Agents, Lattice, check_invariants
from ..config.therapy_check import warn_about_idle_therapies


class TissueModel(mesa.Model):
    """A lattice tissue: tumor and immune cells as agents in arrays, cytokines as fields.

    ``TissueModel(config, device=..., overrides={...}, seed=...)``; keyword arguments with dotted
    names (``**{"cells.nk.kill_probability_per_contact": 0.2}``) are overrides too, so
    ``mesa.batch_run(TissueModel, {"config": path, "cells.nk...": [0.1, 0.5]})`` works.
    """

    def __init__(self, config: str | dict | Config = "configs/default.yaml", *, device: str | None = None,
                 overrides: dict[str, Any] | None = None, seed: int | None = None, rng: Any = None,
                 arm: str | None = None, ablate: list[str] | tuple = (), **kwargs):
        # Named `kwargs` because Mesa's SolaraViz accepts only a `**kwargs` catch-all for extra
        # model_params (mesa.visualization.solara_viz._check_model_params): dotted overrides.
        overrides = {**(overrides or {}), **kwargs}
        self.config, self.config_source = load_config(config, overrides, arm=arm, ablate=ablate)
        self.spec = self.config.spec  # cell types, rules, fields and therapies of this model (abm/spec.py)
        self.schedule = Schedule(self.spec, self.config)  # the rules that run, in order (minus `ablate`)
        warn_about_idle_therapies(self.spec, self.config, self.config_source)  # an arm that is no arm
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
        self._cells = Agents(xp, capacity=1024, max_capacity=self.lattice.n_sites, columns=self.spec.columns)
        self.fields = {name: xp.full(self.lattice.shape, fc.initial_value, dtype=xp.float32)
                       for name, fc in self.config.fields.items()}
        self.diffusion = {
            name: DiffusionOperator(self.lattice.shape, lattice_config.dx_um, self.dt_min,
                                    fc.diffusion_um2_per_min, fc.decay_per_min, fc.boundary, fc.boundary_value)
            for name, fc in self.config.fields.items()
        }
        try:
            self.resolution = Resolution(self.spec, self.config, self.schedule, xp)
        except ConfigError as error:  # a rule's tally no type declares
            raise ConfigError(f"{self.config_source}: {error}") from None
        self.secretion = Secretion(self.spec, self.config, self.schedule, self.config_source)
        self._params_cache: dict = {}
        self._claim_scratch = new_scratch(self.lattice.n_sites, xp)
        self._secrete_context = None  # this step's, until sensing reuses its arrays
        self._count_columns = self.spec.count_columns()  # (type, state, flat index): the spec is fixed now
        self._place_cells()

        self.totals = {event: 0 for event in self.spec.events}
        self.last_events = {key: 0 for key in self.totals}
        self.in_force, self.params = {}, {}
        self.observers: list[Callable[[TissueModel], None]] = []  # called after every step (output)
        self.counts = self._count_cells()
        self._cells_by_type = (None, {})
        self.datacollector = DataCollector(model_reporters=self._reporters())  # mesa's, safe to read while stepping
        self.datacollector.collect(self)
        self.running = self.steps < self.total_steps

    @property
    def cells(self) -> Agents:
        """The live cells, slots [0, n) in id order."""
        return self._cells

    @property
    def n_cells(self) -> int:
        """Number of live cells."""
        return self._cells.n

    @classmethod
    def from_config(cls, path_or_dict, device: str | None = None, **kwargs) -> "TissueModel":
        return cls(path_or_dict, device=device, **kwargs)

    # ------------------------------------------------------------------ the step

    def step(self) -> None:
        """One time step of dt_min minutes (Mesa increments self.steps before calling this)."""
        self.intervene()
        self.secrete_and_uptake()
        self.diffuse()
        context = self.sense()
        decisions = self.decide(context)
        events = self.remove(self.resolve(decisions))
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
            self._params_cache[key] = {name: t.prepare(self.config.cells, self.dt_min, in_force)
                                       for name, t in self.spec.types.items()}
        self.in_force, self.params = in_force, self._params_cache[key]
        cells = self.cells
        for name in in_force:
            type_name, therapy = self.spec.therapies[name]
            if therapy.sets is not None:  # a cell property of the type's cells (a knockout, EMT)
                column, value = therapy.sets
                of_type = cells["cell_type"] == self.spec.type_code[type_name]
                cells.columns[column][: cells.n][of_type] = value

    def _context(self, counts=None, masks=None, category=None) -> StepContext:
        xp, cells = self.xp, self.cells
        flat = {name: field.reshape(-1) for name, field in self.fields.items()}
        return StepContext(xp=xp, spec=self.spec, seed=self.seed, step=self.steps, dt_min=self.dt_min,
                           time_min=self.step_start_min, lattice=self.lattice, agents=cells, fields_flat=flat,
                           local_concentration=LocalConcentrations(xp, flat, cells), category=category,
                           neighbour_counts=counts, neighbour_masks=masks, in_force=self.in_force,
                           params=self.params, cells_by_type=self.cells_by_type)

    def secrete_and_uptake(self) -> None:
        """Cells add cytokine at their own site and consume some; uniform production (stroma, therapy)."""
        xp = self.xp
        context = self._secrete_context = self._context()
        decisions = self.schedule.secrete(context)
        self.secretion.apply(context, decisions)
        for name, field_config in self.config.fields.items():
            production = field_config.production_per_min
            for therapy, switch in self.in_force.items():
                if self.spec.therapies[therapy][1].adds_production == name:
                    production += switch.production_per_min
            if production > 0:
                self.fields[name] += xp.float32(production * self.dt_min)

    def diffuse(self) -> None:
        """Every field one implicit step (on a GPU, one launch per axis for all fields)."""
        if self.fields:
            diffuse_fields(list(self.fields.values()), [self.diffusion[name].axes for name in self.fields], xp=self.xp)

    def sense(self) -> StepContext:
        """What each cell perceives: local concentrations and its neighbours by category."""
        xp, cells, lattice = self.xp, self.cells, self.lattice
        category = categorise(xp, cells, self.spec)
        counts, masks = scan_neighbours(lattice.occupancy, category, cells["site"],
                                        lattice.shape, lattice.offsets, self.spec.n_categories, xp=xp)
        context = self._context(counts, masks, category)
        earlier, self._secrete_context = self._secrete_context, None
        if earlier is not None and earlier.step == context.step:
            tissue_arrays(context, earlier)  # the secrete phase's arrays, with what sensing added
        return context

    def decide(self, context: StepContext) -> Decisions:
        """Each type's rules, in order, for its own cells (types without cells are skipped)."""
        return self.schedule.decide(context)

    def resolve(self, decisions: Decisions):
        """Claims compete, winners act, daughters are born; returns (events, cells that stay)."""
        return self.resolution(self.seed, self.steps, self.dt_min, self.lattice, self.cells, decisions,
                               self._claim_scratch, self.schedule.depleted(self.in_force))

    def remove(self, resolved) -> StepEvents:
        """Cells that left are compacted away (order, and so ids, kept); cells per (type, state) are
        counted on the way. The number of cells is known to the host after collect."""
        events, keep = resolved
        self.resolution.compact(self._cells, self.lattice, keep, events)
        return events

    def collect(self, events) -> None:
        names = list(self.spec.events)
        # The tallies, the births, the cell counts and the number of cells: one copy to the host.
        values = self.backend.to_host(events.statistics)
        k = len(events.names)
        read = dict(zip(events.names, (int(v) for v in values[:k])))
        read["births"] = births = int(values[k])
        self._cells.n, self._cells.next_id = int(values[k + 1]), self._cells.next_id + births
        self.last_events = {name: read.get(name, 0) for name in names}
        histogram = values[k + 2:]
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

    @property
    def cells_by_type(self) -> dict[int, int]:
        """Type code -> live cells, from the host's counts (self.counts, read with each step's statistics)."""
        if self._cells_by_type[0] is not self.counts:
            by_code = {code: 0 for code in range(self.spec.n_types)}
            for (cell_type, _), count in self.counts.items():
                by_code[self.spec.type_code[cell_type]] += count
            self._cells_by_type = (self.counts, by_code)
        return self._cells_by_type[1]

    def count(self, cell_type: str, state: str | None = None) -> int:
        if state is None:
            return sum(self.counts[(cell_type, s)] for s in self.spec.states[cell_type])
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
            placed, self.placement_sources = placement.place(self.config, self.seed)
        except ValueError as error:
            where = "" if str(error).startswith("placement.") else "placement: "  # from_run names its entry
            raise ConfigError(f"{self.config_source}: {where}{error}") from None
        for cell_type, sites, carried in placed:
            if len(sites) == 0:
                continue
            columns = {**self._initial_columns(cell_type, len(sites)),
                       **{name: xp.asarray(values) for name, values in carried.items()}}
            slots = self.cells.append(site=xp.asarray(sites, dtype=xp.int64), **columns)
            self.cells.columns["clone"][slots] = self.cells.columns["id"][slots]  # each placed cell founds a clone
            self.lattice.occupancy[xp.asarray(sites)] = xp.arange(slots.start, slots.stop, dtype=xp.int32)

    def _initial_columns(self, cell_type: str, count: int) -> dict:
        """Columns of newly placed cells: their type, first state and the type's own traits."""
        xp, declared = self.xp, self.spec.types[cell_type]
        columns = {"cell_type": xp.full(count, self.spec.type_code[cell_type], dtype=xp.int8),
                   "state": xp.zeros(count, dtype=xp.int8)}
        if declared.initial_columns is not None:
            columns.update(declared.initial_columns(xp, getattr(self.config.cells, cell_type), count))
        return columns

    def _count_cells(self, histogram=None) -> dict[tuple[str, str], int]:
        """Cells per (type, state); `histogram` (host, flat type * MAX_STATES + state) if already counted."""
        if histogram is None:
            histogram = self.backend.to_host(self._histogram())
        return {(cell_type, state): int(histogram[flat]) for cell_type, state, flat in self._count_columns}

    def _histogram(self):
        """Cells per (type, state) on the device, flat index type * MAX_STATES + state (int64)."""
        xp = self.xp
        code = self.cells["cell_type"].astype(xp.int64) * self.spec.max_states + self.cells["state"]
        return count_codes(code, self.spec.n_types * self.spec.max_states, xp=xp)

    def _reporters(self) -> dict[str, Callable]:
        reporters = {cell_type: (lambda m, t=cell_type: m.count(t)) for cell_type in self.spec.type_names}
        for cell_type, state, _ in self.spec.count_columns():
            reporters[f"{cell_type}.{state}"] = lambda m, t=cell_type, s=state: m.count(t, s)
        for key in self.totals:
            reporters[key] = lambda m, k=key: m.last_events[k]
        return reporters

    def _check_memory(self) -> None:
        """Refuse, before allocating, a lattice that cannot fit on the chosen device."""
        n_sites = math.prod(self.config.lattice.shape)
        shape = "x".join(str(n) for n in self.config.lattice.shape)
        if n_sites >= 2**32 and self.xp is np:  # the CPU neighbour scan's 32-bit coordinates
            raise ConfigError(f"{self.config_source}: lattice.shape: a {shape} lattice has 2^32 sites or more, "
                              f"which the CPU step does not take (run it on a GPU)")
        n_fields = len(self.config.fields)
        bytes_per_site = 4 + 8 + 4 * n_fields + 2  # occupancy, claim scratch, fields, snapshot type/state
        bytes_per_agent = sum(d.itemsize for d in self.spec.column_dtypes.values()) * 2 + (
            self.spec.n_categories + 1) * 8 + 256
        expected_agents = sum(p.cells(self.config.lattice) for p in self.config.placement) * 4 + 1024
        needed = n_sites * bytes_per_site + expected_agents * bytes_per_agent
        available = self.backend.available_memory_bytes()
        if needed > 0.8 * available:
            raise ConfigError(
                f"{self.config_source}: lattice.shape: a {shape} lattice needs about {needed / 2**30:.1f} GiB "
                f"but the {self.backend.name} has {available / 2**30:.1f} GiB available")


class LocalConcentrations(dict):
    """Field name -> concentration at each live cell's site, gathered on first use (a field the
    config does not simulate reads as zeros)."""

    def __init__(self, xp, flat_fields: dict, cells):
        super().__init__()
        self._xp, self._flat, self._cells = xp, flat_fields, cells
        self._zeros = None

    def __missing__(self, name):
        if name in self._flat:
            value = self._flat[name][self._cells["site"]]
        else:
            if self._zeros is None:
                self._zeros = self._xp.zeros(self._cells.n, dtype=self._xp.float32)
            value = self._zeros
        self[name] = value
        return value
