"""The tissue state: lattice, agents (structure of arrays) and cytokine fields.

All arrays live on one backend (NumPy or CuPy) for the whole run. The agent arrays hold the
live cells in slots [0, n), in increasing id order; births are appended with new ids, dead
cells are compacted away, so slot order always equals id order.
"""
from __future__ import annotations

import math

import numpy as np

from ..kernels.neighbours import neighbour_offsets

EMPTY = -1

class InvariantError(AssertionError):
    """The lattice and the agent table disagree: a bug, never a user error."""


class Lattice:
    """Regular 2D or 3D lattice of sites, spacing dx_um, one cell per site at most."""

    def __init__(self, shape, dx_um: float, neighbourhood: str, xp=np):
        self.shape = tuple(int(n) for n in shape)
        self.ndim = len(self.shape)
        self.dx_um = float(dx_um)
        self.neighbourhood = neighbourhood
        self.n_sites = math.prod(self.shape)
        self.offsets = neighbour_offsets(self.ndim, neighbourhood)  # host array, (n_offsets, 3)
        self.offsets_device = xp.asarray(self.offsets)  # the same table on the backend, uploaded once
        self.occupancy = xp.full(self.n_sites, EMPTY, dtype=xp.int32)  # site -> agent slot


class Agents:
    """Structure of arrays with spare capacity: appending does not reallocate every step."""

    def __init__(self, xp=np, capacity: int = 1024, max_capacity: int | None = None, columns: dict | None = None):
        """`columns`: name -> spec.Column (default: the built-in model's columns)."""
        if columns is None:
            from ..config.plugins import builtin_spec

            columns = builtin_spec().columns
        self.xp = xp
        self.n = 0
        self.next_id = 0
        self.max_capacity = max_capacity
        self.capacity = max(1, capacity if max_capacity is None else min(capacity, max_capacity))
        self.defaults = {name: c.default for name, c in columns.items() if c.default != 0}
        self.columns = {name: xp.zeros(self.capacity, dtype=c.numpy_dtype) for name, c in columns.items()}

    def __getitem__(self, name):
        """Live part of one column (a view)."""
        return self.columns[name][: self.n]

    def reserve(self, needed: int):
        """Capacity for `needed` cells (grows by doubling, up to max_capacity)."""
        if needed <= self.capacity:
            return
        new_capacity = max(needed, 2 * self.capacity)
        if self.max_capacity is not None:
            new_capacity = min(new_capacity, self.max_capacity)
        for name, column in self.columns.items():
            grown = self.xp.zeros(new_capacity, dtype=column.dtype)
            grown[: self.n] = column[: self.n]
            self.columns[name] = grown
        self.capacity = new_capacity

    def spare(self) -> dict:
        """A second set of columns of the same capacity: what a compaction writes into (swap_in)."""
        if getattr(self, "_spare", None) is None or next(iter(self._spare.values())).shape[0] != self.capacity:
            self._spare = {name: self.xp.empty(self.capacity, dtype=c.dtype) for name, c in self.columns.items()}
        return self._spare

    def swap_in(self, columns: dict) -> None:
        """Make `columns` (from spare()) the live columns; the old ones become the spare set.
        The caller sets n (the number of cells they hold)."""
        self._spare, self.columns = self.columns, columns

    def append(self, **values) -> slice:
        """Add cells (one array per column; 'id' is assigned). Returns their slots."""
        count = int(len(values["site"]))
        self.reserve(self.n + count)
        slots = slice(self.n, self.n + count)
        self.columns["id"][slots] = self.xp.arange(self.next_id, self.next_id + count, dtype=self.xp.int64)
        for name, column in self.columns.items():
            if name == "id":
                continue
            column[slots] = values[name] if name in values else self.defaults.get(name, 0)
        self.n += count
        self.next_id += count
        return slots

    def table(self, to_host) -> dict[str, np.ndarray]:
        """Host copy of every live column."""
        return {name: to_host(column[: self.n]) for name, column in self.columns.items()}


def check_invariants(lattice: Lattice, agents: Agents, to_host=np.asarray) -> None:
    """Each live cell sits on exactly one site, that site points back to it, no site holds two.

    Raises InvariantError naming the first violation. Copies to the host: a debug check.
    """
    occupancy = to_host(lattice.occupancy)
    sites = to_host(agents["site"])
    ids = to_host(agents["id"])
    n = agents.n
    if n and (sites.min() < 0 or sites.max() >= lattice.n_sites):
        raise InvariantError("an agent sits outside the lattice")
    if len(np.unique(sites)) != n:
        raise InvariantError("two agents share a site")
    if n and not np.array_equal(occupancy[sites], np.arange(n, dtype=occupancy.dtype)):
        bad = int(np.nonzero(occupancy[sites] != np.arange(n))[0][0])
        raise InvariantError(f"site {sites[bad]} of agent id {ids[bad]} does not point back to it")
    if int((occupancy != EMPTY).sum()) != n:
        raise InvariantError(f"{int((occupancy != EMPTY).sum())} occupied sites for {n} live agents")
    if n > 1 and not np.all(np.diff(ids) > 0):
        raise InvariantError("agent ids are not strictly increasing in slot order")
    if n and ids.max() >= agents.next_id:
        raise InvariantError("an agent id is not below next_id")
