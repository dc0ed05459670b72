"""Placing cells taken from another run (placement pattern `from_run`).

Reads the source run's last snapshot (its agents table), keeps the cells of the entry's type (and
states), draws which of them are placed and where, and returns the carried columns translated to
this model: a state is carried by name, so runs of models with other state orders chain safely.
Deterministic from (run seed, placement index), like the other patterns, and the same on every
backend (it runs on the host before the first step).
"""
from __future__ import annotations

import hashlib
import math
from pathlib import Path

import numpy as np

from ...errors import OutputError
from .patterns import scatter


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_source(path: Path, key: str, lattice: bool = False):
    """(agents of the last snapshot, type names, state names by type) of a completed run, and with
    `lattice` its (shape, dx_um) too."""
    from ...io.reader import Run

    try:
        with Run(path) as run:
            if not run.completed:
                status = run.attrs.get("status", "unknown")
                raise ValueError(f"{key}.file: {path} is not a completed run (status {status}); finish it first "
                                 f"(abm run --resume {path})")
            found = run.snapshot()["agents"], run.cell_types, run.cell_states
            return (*found, run.lattice_shape, run.dx_um) if lattice else found
    except OutputError as error:
        raise ValueError(f"{key}.file: {error}") from None


def candidates(entry, agents, types, states, key) -> np.ndarray:
    """Rows of the source's agents table that the entry may take, in id order."""
    if entry.cell_type not in types:
        raise ValueError(f"{key}.file: the source run has no cell type {entry.cell_type!r}")
    rows = agents["cell_type"] == types.index(entry.cell_type)
    if entry.states is not None:
        names = states[entry.cell_type]
        codes = [names.index(s) for s in entry.states if s in names]
        rows &= np.isin(agents["state"], codes)
    return np.nonzero(rows)[0]


def clonal_sites(shape, dx_um, block_um, count, taken, rng) -> np.ndarray:
    """Up to `count` sites, one per block of block_um: the centres of as many blocks, chosen at
    random, as there are cells (centres, so that neighbouring colonies are a block apart and do
    not merge early); a centre already taken is skipped."""
    side = max(1, int(round(block_um / dx_um)))
    per_axis = [n // side for n in shape]
    blocks = rng.permutation(math.prod(per_axis))[:count]
    centre = np.stack(np.unravel_index(blocks, per_axis), axis=1) * side + side // 2
    sites = np.ravel_multi_index(tuple(centre.T), shape).astype(np.int64)
    return sites[~np.isin(sites, taken)]


def carried_columns(entry, agents, rows, states, spec, key) -> dict:
    """The entry's columns for the chosen rows, in this model's codes and dtypes."""
    columns = {}
    for name in entry.columns:
        values = agents[name][rows]
        if name == "state":  # by name: the source's state codes need not be ours
            source_names = states[entry.cell_type]
            ours = spec.state[entry.cell_type]
            missing = sorted({source_names[v] for v in values if source_names[v] not in ours})
            if missing:
                raise ValueError(f"{key}.columns: states {missing} of the source have no counterpart in this model")
            values = np.array([ours[source_names[v]] for v in values], dtype=np.int8)
        columns[name] = values.astype(spec.columns[name].numpy_dtype)
    return columns


def from_run(config, entry, index, seed, taken, rng):
    """(sites, carried columns, provenance) of one from_run entry."""
    key = f"placement.{index}"
    path = entry.source(seed)
    agents, types, states = read_source(path, key)
    rows = candidates(entry, agents, types, states, key)
    shape, dx_um = tuple(config.lattice.shape), config.lattice.dx_um
    count = min(len(rows), entry.cells(config.lattice))
    if entry.layout == "scatter":
        sites = scatter(shape, dx_um, count, taken, rng, entry.center_um, entry.inner_radius_um, entry.outer_radius_um)
    else:
        sites = clonal_sites(shape, dx_um, entry.block_um, count, taken, rng)
    chosen = np.sort(rng.permutation(rows)[: len(sites)])  # which source cells: at random, in id order
    order = rng.permutation(len(sites))  # which cell goes where: at random
    sites = sites[order]
    by_site = np.argsort(sites, kind="stable")  # placed in site order, like the other patterns
    columns = carried_columns(entry, agents, chosen, states, config.spec, key)
    columns = {name: values[by_site] for name, values in columns.items()}
    provenance = {"placement": index, "file": str(path), "sha256": file_sha256(path), "cells": int(len(sites))}
    return sites[by_site], columns, provenance
