"""TissueModel: a Mesa model whose cells live in arrays on one backend (NumPy or CuPy).

One step is a short list of named phases, each a function of the state:
secrete_and_uptake -> diffuse -> sense -> decide -> resolve -> remove -> collect.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import mesa
import numpy as np

from . import placement
from .backend import select_backend
from .celltypes import CELL_STATES, MAX_STATES, N_TYPES, TYPE_CODE, count_columns
from .config import Config, load_config
from .errors import ConfigError
from .kernels.claims import new_scratch
from .kernels.diffusion import DiffusionOperator, apply_sources_and_uptake
from .kernels.neighbours import scan_neighbours
from .resolution import remove_dead, resolve
from .rules import Intents, StepContext, nk, tumor
from .state import AGENT_COLUMNS, Agents, Lattice, check_invariants

RULES = {"tumor": tumor, "nk": nk}  # cell type -> rule module, in decision order


class TissueModel(mesa.Model):
    """A lattice tissue: tumor and immune cells as agents in arrays, cytokines as fields.

    ``TissueModel(config, device=..., overrides={...}, seed=...)``; keyword arguments with dotted
    names (``**{"cells.nk.kill_probability_per_contact": 0.2}``) are overrides too, so
    ``mesa.batch_run(TissueModel, {"config": path, "cells.nk...": [0.1, 0.5]})`` works.
    """

    def __init__(self, config: str | dict | Config = "configs/default.yaml", *, device: str | None = None,
                 overrides: dict[str, Any] | None = None, seed: int | None = None, rng: Any = None,
                 **dotted_overrides):
        overrides = {**(overrides or {}), **dotted_overrides}
        self.config, self.config_source = load_config(config, overrides)
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
        self.cells = Agents(xp, capacity=1024, max_capacity=self.lattice.n_sites)
        self.fields = {name: xp.full(self.lattice.shape, fc.initial_value, dtype=xp.float32)
                       for name, fc in self.config.fields}
        self.diffusion = {
            name: DiffusionOperator(self.lattice.shape, lattice_config.dx_um, self.dt_min,
                                    fc.diffusion_um2_per_min, fc.decay_per_min, fc.boundary, fc.boundary_value)
            for name, fc in self.config.fields
        }
        self.params = {name: module.prepare(getattr(self.config.cells, name), self.dt_min)
                       for name, module in RULES.items()}
        self._claim_scratch = new_scratch(self.lattice.n_sites, xp)
        self._place_cells()

        self.totals = {"births": 0, "deaths": 0, "kills": 0, "moves": 0}
        self.last_events = {key: 0 for key in self.totals}
        self.observers: list[Callable[[TissueModel], None]] = []  # called after every step (output)
        self.counts = self._count_cells()
        self.datacollector = mesa.DataCollector(model_reporters=self._reporters())
        self.datacollector.collect(self)
        self.running = self.steps < self.total_steps

    @classmethod
    def from_config(cls, path_or_dict, device: str | None = None, **kwargs) -> "TissueModel":
        return cls(path_or_dict, device=device, **kwargs)

    # ------------------------------------------------------------------ the step

    def step(self) -> None:
        """One time step of dt_min minutes (Mesa increments self.steps before calling this)."""
        self.secrete_and_uptake()
        self.diffuse()
        context = self.sense()
        intents = self.decide(context)
        events = self.resolve(intents)
        self.remove(events)
        self.collect(events)

    def secrete_and_uptake(self) -> None:
        """Active NK cells add IFN-gamma at their own site."""
        xp = self.xp
        sites = nk.secretion_sites(self.cells, xp)
        amount = xp.full(sites.shape[0], self.params["nk"].ifng_secreted_per_step, dtype=xp.float32)
        keep = xp.ones(sites.shape[0], dtype=xp.float32)
        apply_sources_and_uptake(self.fields["ifng"].reshape(-1), sites, amount, keep, xp=xp)

    def diffuse(self) -> None:
        for name, field in self.fields.items():
            self.diffusion[name].step(field, xp=self.xp)

    def sense(self) -> StepContext:
        """Local concentrations and neighbours by type, for every live cell."""
        xp, cells, lattice = self.xp, self.cells, self.lattice
        counts, masks = scan_neighbours(lattice.occupancy, cells["cell_type"], cells["site"],
                                        lattice.shape, lattice.offsets, N_TYPES, xp=xp)
        local = {name: field.reshape(-1)[cells["site"]] for name, field in self.fields.items()}
        return StepContext(xp=xp, seed=self.seed, step=self.steps, dt_min=self.dt_min, lattice=lattice,
                           agents=cells, local_concentration=local, neighbour_counts=counts,
                           neighbour_masks=masks)

    def decide(self, context: StepContext) -> Intents:
        intents = Intents()
        for name, module in RULES.items():
            intents.extend(module.decide(context, self.params[name]))
        return intents

    def resolve(self, intents: Intents):
        return resolve(self.xp, self.backend.to_host, self.seed, self.steps, self.lattice, self.cells,
                       intents, self._claim_scratch)

    def remove(self, events) -> None:
        remove_dead(self.xp, self.lattice, self.cells, events.dead, events.deaths)

    def collect(self, events) -> None:
        self.last_events = {key: getattr(events, key) for key in self.totals}
        for key, value in self.last_events.items():
            self.totals[key] += value
        self.counts = self._count_cells()
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
            slots = self.cells.append(
                cell_type=xp.full(len(sites), TYPE_CODE[cell_type], dtype=xp.int8),
                state=xp.zeros(len(sites), dtype=xp.int8),
                site=xp.asarray(sites, dtype=xp.int64),
            )
            self.lattice.occupancy[xp.asarray(sites)] = xp.arange(slots.start, slots.stop, dtype=xp.int32)

    def _count_cells(self) -> dict[tuple[str, str], int]:
        xp = self.xp
        code = self.cells["cell_type"].astype(xp.int64) * MAX_STATES + self.cells["state"]
        histogram = self.backend.to_host(xp.bincount(code, minlength=N_TYPES * MAX_STATES))
        return {(cell_type, state): int(histogram[flat]) for cell_type, state, flat in count_columns()}

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
        n_fields = len(type(self.config.fields).model_fields)
        bytes_per_site = 4 + 8 + 4 * n_fields + 2  # occupancy, claim scratch, fields, snapshot type/state
        bytes_per_agent = sum(d.itemsize for d in AGENT_COLUMNS.values()) * 2 + (N_TYPES + 1) * 8 + 64
        expected_agents = sum(p.count for p in self.config.placement) * 4 + 1024
        needed = n_sites * bytes_per_site + expected_agents * bytes_per_agent
        available = self.backend.available_memory_bytes()
        if needed > 0.8 * available:
            shape = "x".join(str(n) for n in self.config.lattice.shape)
            raise ConfigError(
                f"{self.config_source}: lattice.shape: a {shape} lattice needs about {needed / 2**30:.1f} GiB "
                f"but the {self.backend.name} has {available / 2**30:.1f} GiB available")
