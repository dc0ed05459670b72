"""Initial placement of cells: organoid balls, scattered cells, cells in a shell around a centre,
clusters (patterns.py), cells carried from another run (from_run.py), whole groups of touching cells
carried from another run (groups.py).

Runs once on the host before the first step. Random choices use NumPy's generator seeded
from (run seed, placement index), so a placement is the same on every backend.
"""
from __future__ import annotations

import numpy as np

from .from_run import from_run
from .groups import groups_from_run
from .patterns import ball, clusters, scatter


def place_all(config, seed: int):
    """Sites of every placement entry, in order: list of (cell_type, sites)."""
    return [(cell_type, sites) for cell_type, sites, _ in place(config, seed)[0]]


def place(config, seed: int):
    """Every placement entry, in order: ([(cell_type, sites, carried columns)], provenance of the
    runs that from_run entries read)."""
    shape, dx_um = tuple(config.lattice.shape), config.lattice.dx_um
    taken = np.empty(0, dtype=np.int64)
    placed, sources = [], []
    for index, entry in enumerate(config.placement):
        rng = np.random.default_rng([seed, index])
        columns = {}
        if entry.pattern == "ball":
            sites = ball(shape, dx_um, entry.count, taken, entry.center_um)
        elif entry.pattern == "scatter":
            sites = scatter(shape, dx_um, entry.cells(config.lattice), taken, rng, entry.center_um,
                            entry.inner_radius_um, entry.outer_radius_um)
        elif entry.pattern == "from_run" and entry.layout == "groups":
            groups, provenance = groups_from_run(config, entry, index, seed, taken, rng)
            sources.append(provenance)
            for cell_type, sites, columns in groups:
                taken = np.concatenate([taken, sites])
                placed.append((cell_type, sites, columns))
            continue
        elif entry.pattern == "from_run":
            sites, columns, provenance = from_run(config, entry, index, seed, taken, rng)
            sources.append(provenance)
        else:
            sites, escorts = clusters(shape, dx_um, entry, taken, rng)
            taken = np.concatenate([taken, sites, escorts])
            placed.append((entry.cell_type, sites, {}))
            if len(escorts):
                placed.append((entry.escort_type, escorts, {}))
            continue
        taken = np.concatenate([taken, sites])
        placed.append((entry.cell_type, sites, columns))
    return placed, sources
