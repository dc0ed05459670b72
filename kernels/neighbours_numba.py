"""The neighbour scan compiled for the CPU with numba: twin of neighbours.py (and neighbours.cu).

Same contract as the NumPy references: flat C-order lattice, 2D handled as (nx, ny, 1), bit j
of a mask is offsets[j]. One pass over the agents with no temporaries; each agent's row is
written by one iteration only, so results do not depend on the thread count.
"""
from __future__ import annotations

import numpy as np

from ._numba import njit, prange, threads_for


@njit(cache=True, parallel=True)
def _scan(occupancy, slot_type, sites, nx, ny, nz, offsets, n_types, counts, masks):
    for i in prange(sites.shape[0]):
        site = sites[i]
        z = site % nz
        y = (site // nz) % ny
        x = site // (ny * nz)
        for j in range(offsets.shape[0]):
            qx, qy, qz = x + offsets[j, 0], y + offsets[j, 1], z + offsets[j, 2]
            if qx < 0 or qx >= nx or qy < 0 or qy >= ny or qz < 0 or qz >= nz:
                continue
            occupant = occupancy[(qx * ny + qy) * nz + qz]
            kind = np.int64(slot_type[occupant]) if occupant >= 0 else np.int64(n_types)
            counts[i, kind] += 1
            masks[i, kind] |= np.uint32(1) << np.uint32(j)


def scan_neighbours(occupancy, slot_type, sites, shape3, offsets, n_types):
    """(counts, masks), each (n, n_types + 1), as neighbours.scan_neighbours_numpy."""
    n = sites.shape[0]
    counts = np.zeros((n, n_types + 1), dtype=np.int32)
    masks = np.zeros((n, n_types + 1), dtype=np.uint32)
    nx, ny, nz = shape3
    with threads_for(n):
        _scan(occupancy, slot_type, np.ascontiguousarray(sites, dtype=np.int64), nx, ny, nz,
              np.ascontiguousarray(offsets, dtype=np.int64), n_types, counts, masks)
    return counts, masks

