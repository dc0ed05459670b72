"""The `from_run` placement's `groups` layout: whole groups of touching cells carried from another
run's last snapshot, each moved as a unit.

It is how circulating clusters reach an organ: the clusters a suspension assay formed (tumor cells
with the escorts touching them) arrive whole, at random places, in the same arrangement. Groups
are drawn in random order and taken while the tumor cells placed (the entry's type) stay within
`count`, so every arm seeds the same number of cells however they are grouped. Escorts arrive
free, beside their partners, and bind again by their own rule. Deterministic from (run seed,
placement index); host code before the first step.
"""
from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

from .from_run import candidates, carried_columns, file_sha256, read_source


def groups_from_run(config, entry, index, seed, taken, rng):
    """([(cell type, sites, carried columns)] for the entry's type and each escort type, provenance)."""
    key = f"placement.{index}"
    path = entry.source(seed)
    agents, types, states, source_shape, source_dx = read_source(path, key, lattice=True)
    if not math.isclose(source_dx, config.lattice.dx_um) or len(source_shape) != len(config.lattice.shape):
        raise ValueError(f"{key}.file: groups keep their arrangement only between lattices of one spacing and "
                         f"dimension (source {source_dx:g} um, {len(source_shape)}D)")
    unknown = [name for name in entry.escorts if name not in types]
    if unknown:
        raise ValueError(f"{key}.escorts: the source run has no cell type {unknown[0]!r}")
    main = candidates(entry, agents, types, states, key)
    escort = np.nonzero(np.isin(agents["cell_type"], [types.index(name) for name in entry.escorts]))[0]
    rows = np.concatenate([main, escort])
    group = _group_of(agents["site"][rows], source_shape)
    members = np.bincount(group[: len(main)], minlength=group.max(initial=0) + 1)
    chosen, total = [], 0
    for g in rng.permutation(np.nonzero(members)[0]):  # whole groups while the cells stay within count
        if total + members[g] <= entry.count:
            chosen.append(g)
            total += members[g]
    occupied = np.zeros(math.prod(config.lattice.shape), dtype=bool)
    occupied[taken] = True
    target = np.full(len(rows), -1, dtype=np.int64)
    centres = []
    for g in chosen:
        in_group = np.nonzero(group == g)[0]
        target[in_group] = _place_group(agents["site"][rows[in_group]], source_shape, config, entry, occupied,
                                        centres, rng, key)
    placed = []
    for code, picked in [(types.index(entry.cell_type), np.arange(len(main)))] + [
            (types.index(name), len(main) + np.nonzero(agents["cell_type"][escort] == types.index(name))[0])
            for name in entry.escorts]:
        picked = picked[target[picked] >= 0]
        by_site = np.argsort(target[picked], kind="stable")
        columns = carried_columns(entry, agents, rows[picked], states, config.spec, key) if code == types.index(
            entry.cell_type) else {}
        placed.append((types[code], target[picked][by_site], {n: v[by_site] for n, v in columns.items()}))
    provenance = {"placement": index, "file": str(path), "sha256": file_sha256(path), "cells": int(total),
                  "groups": len(chosen)}
    return placed, provenance


def _group_of(sites, shape) -> np.ndarray:
    """Label of each site's group of touching sites (any direction), from 1."""
    mask = np.zeros(math.prod(shape), dtype=bool)
    mask[sites] = True
    labels, _ = ndimage.label(mask.reshape(shape), structure=np.ones((3,) * len(shape)))
    return labels.ravel()[sites]


def _place_group(sites, source_shape, config, entry, occupied, centres, rng, key) -> np.ndarray:
    """The group's sites moved to a random free spot whose centre is min_spacing_um from the others'."""
    shape = np.array(config.lattice.shape)
    offsets = np.stack(np.unravel_index(sites, source_shape), axis=1)
    offsets -= offsets.min(axis=0)
    extent = offsets.max(axis=0) + 1
    spacing = entry.min_spacing_um / config.lattice.dx_um
    if (extent > shape).any():
        raise ValueError(f"{key}: a group of {len(sites)} cells does not fit the lattice")
    for _attempt in range(10_000):
        corner = (rng.random(len(shape)) * (shape - extent + 1)).astype(np.int64)
        cells = np.ravel_multi_index(tuple((offsets + corner).T), tuple(shape))
        centre = corner + (extent - 1) / 2.0
        if not occupied[cells].any() and all(np.linalg.norm(centre - c) >= spacing for c in centres):
            occupied[cells] = True
            centres.append(centre)
            return cells
    raise ValueError(f"{key}: no room for the groups {entry.min_spacing_um:g} um apart")
