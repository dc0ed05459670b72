"""Neighbour scans on the occupancy lattice: NumPy reference of neighbours.cu and neighbours_numba.py.

Lattices are stored flat in C order. A 2D lattice (nx, ny) is handled as (nx, ny, 1), so one
code path serves 2D and 3D. Neighbourhoods: von Neumann (4 in 2D, 6 in 3D) and Moore (8 / 26).
Offsets come in a fixed order, bit j of a neighbour mask refers to offsets[j]; that order is the
contract between the NumPy, numba and CUDA versions of the scan and the per-cell rules, which pick
a neighbour from a mask and find its site with abm/engine/scalar.py (pick_from_mask,
site_at_offset).
"""
from __future__ import annotations

import itertools

import numpy as np

EMPTY = -1


def neighbour_offsets(ndim: int, kind: str) -> np.ndarray:
    """Offsets (n, 3) in a fixed order; kind is 'von_neumann' or 'moore'."""
    if ndim not in (2, 3):
        raise ValueError(f"ndim must be 2 or 3, got {ndim}")
    if kind not in ("von_neumann", "moore"):
        raise ValueError(f"unknown neighbourhood {kind!r}")
    rows = []
    for delta in itertools.product((-1, 0, 1), repeat=ndim):
        manhattan = sum(abs(d) for d in delta)
        if manhattan == 0 or (kind == "von_neumann" and manhattan != 1):
            continue
        rows.append(tuple(delta) + (0,) * (3 - ndim))
    return np.array(rows, dtype=np.int64)


def shape3(shape) -> tuple[int, int, int]:
    shape = tuple(int(s) for s in shape)
    return shape + (1,) * (3 - len(shape))


def site_to_coords(sites, shape, xp=np):
    nx, ny, nz = shape3(shape)
    z = sites % nz
    y = (sites // nz) % ny
    x = sites // (ny * nz)
    return x, y, z


def neighbour_site(sites, offset, shape, xp=np):
    """Flat site of the neighbour at one offset, or -1 where it falls outside the lattice."""
    nx, ny, nz = shape3(shape)
    x, y, z = site_to_coords(sites, shape, xp)
    qx, qy, qz = x + int(offset[0]), y + int(offset[1]), z + int(offset[2])
    inside = (qx >= 0) & (qx < nx) & (qy >= 0) & (qy < ny) & (qz >= 0) & (qz < nz)
    return xp.where(inside, (qx * ny + qy) * nz + qz, EMPTY)


def scan_neighbours_numpy(occupancy, slot_type, sites, shape, offsets, n_types):
    """Count neighbours by cell type and record which offsets hold which type.

    occupancy: flat int32 lattice, agent slot or -1; slot_type: int8 type per agent slot;
    sites: int64 sites of the agents to scan. Returns (counts, masks), both (n, n_types + 1);
    column n_types stands for an empty site. Sites outside the lattice count as nothing.
    """
    n = sites.shape[0]
    counts = np.zeros((n, n_types + 1), dtype=np.int32)
    masks = np.zeros((n, n_types + 1), dtype=np.uint32)
    rows = np.arange(n)
    for j, offset in enumerate(offsets):
        neighbour = neighbour_site(sites, offset, shape, np)
        inside = neighbour >= 0
        occupant = np.where(inside, occupancy[np.where(inside, neighbour, 0)], EMPTY)
        kind = np.where(occupant >= 0, slot_type[np.maximum(occupant, 0)].astype(np.int64), n_types)
        r, k = rows[inside], kind[inside]
        counts[r, k] += 1
        masks[r, k] |= np.uint32(1 << j)
    return counts, masks


def _compiled():
    """The numba twin when the compiled CPU path is on, else None."""
    from . import _numba

    if not _numba.enabled():
        return None
    from . import neighbours_numba

    return neighbours_numba


def scan_neighbours(occupancy, slot_type, sites, shape, offsets, n_types, xp=np):
    if xp is np:
        compiled = _compiled()
        if compiled is not None:
            return compiled.scan_neighbours(occupancy, slot_type, sites, shape3(shape), offsets, n_types)
        return scan_neighbours_numpy(occupancy, slot_type, sites, shape, offsets, n_types)
    from . import _cuda

    return _cuda.scan_neighbours(occupancy, slot_type, sites, shape, offsets, n_types)

